//! The event bus: every change emits an [`Event`]; `/events` streams them,
//! with a bounded history so that `since` can replay what already happened.
//!
//! Emitting and subscribing take the same lock, so a subscriber sees every
//! event exactly once: either in the history it is handed or on its
//! receiver, never both and never neither.

use std::collections::VecDeque;
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::model::Event;

/// How many events a slow subscriber may fall behind before it loses some
/// (it then sees `RecvError::Lagged`).
const CHANNEL_CAPACITY: usize = 1024;

/// The bus.
#[derive(Debug)]
pub struct Events {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    history: VecDeque<Event>,
    keep: usize,
    sender: broadcast::Sender<Event>,
    /// The last stamp given, so stamps are strictly increasing.
    last_nano: i64,
}

impl Events {
    /// A bus keeping the last `history` events.
    pub fn new(history: usize) -> Events {
        let (sender, _) = broadcast::channel(CHANNEL_CAPACITY);
        Events {
            inner: Mutex::new(Inner {
                history: VecDeque::with_capacity(history.min(4096)),
                keep: history,
                sender,
                last_nano: 0,
            }),
        }
    }

    /// Publishes (stamps `time_nano` with the current time when 0).
    pub fn emit(&self, mut event: Event) {
        let mut inner = self.lock();
        if event.time_nano == 0 {
            let now = now_nano().max(inner.last_nano + 1);
            event.time_nano = now;
        }
        inner.last_nano = inner.last_nano.max(event.time_nano);
        if inner.keep > 0 {
            if inner.history.len() >= inner.keep {
                inner.history.pop_front();
            }
            inner.history.push_back(event.clone());
        }
        // No receiver is not an error: nobody is listening right now.
        let _ = inner.sender.send(event);
    }

    /// The kept history and a receiver of what comes next, taken atomically.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let inner = self.lock();
        let history = inner.history.iter().cloned().collect();
        (history, inner.sender.subscribe())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the history consistent
        // (every mutation is a single push/pop), so a poisoned lock is used.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Nanoseconds since the epoch.
pub(crate) fn now_nano() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(action: &str) -> Event {
        Event {
            kind: "container".into(),
            action: action.into(),
            id: "abc".into(),
            ..Event::default()
        }
    }

    #[test]
    fn history_is_bounded_and_ordered() {
        let bus = Events::new(3);
        for a in ["create", "start", "die", "destroy"] {
            bus.emit(ev(a));
        }
        let (hist, _rx) = bus.subscribe();
        let actions: Vec<_> = hist.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["start", "die", "destroy"]);
        assert!(hist.windows(2).all(|w| w[0].time_nano < w[1].time_nano));
    }

    #[test]
    fn subscriber_sees_later_events_once() {
        let bus = Events::new(10);
        bus.emit(ev("create"));
        let (hist, mut rx) = bus.subscribe();
        assert_eq!(hist.len(), 1);
        bus.emit(ev("start"));
        let got = rx.try_recv().expect("event after subscribe");
        assert_eq!(got.action, "start");
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn given_time_is_kept() {
        let bus = Events::new(0);
        let (hist, mut rx) = bus.subscribe();
        assert!(hist.is_empty());
        bus.emit(Event {
            time_nano: 42,
            ..ev("x")
        });
        assert_eq!(rx.try_recv().unwrap().time_nano, 42);
        assert!(bus.subscribe().0.is_empty());
    }
}
