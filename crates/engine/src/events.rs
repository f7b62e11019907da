//! The event bus: every change emits an [`Event`]; `/events` streams them
//! (with a bounded history for `since`). (being written: H-io)

use crate::model::Event;

/// The bus.
#[derive(Debug)]
pub struct Events {}

impl Events {
    /// A bus keeping the last `history` events.
    pub fn new(_history: usize) -> Events {
        todo!()
    }

    /// Publishes (stamps `time_nano` when 0).
    pub fn emit(&self, _event: Event) {
        todo!()
    }

    /// The kept history and a receiver of what comes next, taken atomically.
    pub fn subscribe(&self) -> (Vec<Event>, tokio::sync::broadcast::Receiver<Event>) {
        todo!()
    }
}
