//! Restart policies: no, on-failure[:N], always, unless-stopped, with
//! Docker's back-off: 100 ms after the first exit, doubling with each
//! restart up to one minute, back to 100 ms once a run lasted 10 seconds.

use std::time::Duration;

use crate::error::{EngineError, Result};
use crate::model::RestartPolicy;

/// The first delay.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// The longest delay.
const MAX_DELAY: Duration = Duration::from_secs(60);
/// A run this long resets the delay.
const RESET_AFTER: Duration = Duration::from_secs(10);

/// Checks a policy as Docker does (400 with its wording).
pub fn validate(p: &RestartPolicy) -> Result<()> {
    match p.name.as_str() {
        "" | "no" | "always" | "unless-stopped" if p.maximum_retry_count != 0 => {
            Err(EngineError::invalid(
                "invalid restart policy: maximum retry count can only be used with 'on-failure'",
            ))
        }
        "" | "no" | "always" | "unless-stopped" => Ok(()),
        "on-failure" if p.maximum_retry_count < 0 => Err(EngineError::invalid(
            "invalid restart policy: maximum retry count cannot be negative",
        )),
        "on-failure" => Ok(()),
        other => Err(EngineError::invalid(format!(
            "invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'"
        ))),
    }
}

/// Whether the policy is anything but `no`.
pub fn is_set(p: &RestartPolicy) -> bool {
    !matches!(p.name.as_str(), "" | "no")
}

/// The back-off of one container, kept in memory (a daemon restart starts
/// it again at 100 ms, as Docker's does).
#[derive(Debug, Clone, Default)]
pub struct Backoff {
    delay: Option<Duration>,
}

impl Backoff {
    /// Decides after an exit: the delay before the next start, or None.
    /// `restart_count` counts the restarts the policy made so far;
    /// `manually_stopped` is set by stop/kill through the API; `ran` is how
    /// long the run lasted.
    pub fn next(
        &mut self,
        p: &RestartPolicy,
        exit_code: i32,
        restart_count: i64,
        manually_stopped: bool,
        ran: Duration,
    ) -> Option<Duration> {
        if !is_set(p) {
            return None;
        }
        if ran >= RESET_AFTER {
            self.delay = None;
        }
        let delay = match self.delay {
            None => FIRST_DELAY,
            Some(d) => (d * 2).min(MAX_DELAY),
        };
        if !should_restart(p, exit_code, restart_count, manually_stopped) {
            return None;
        }
        self.delay = Some(delay);
        Some(delay)
    }

    /// Forgets the back-off (a manual start).
    pub fn reset(&mut self) {
        self.delay = None;
    }
}

/// Docker's decision, without the delay: `always` always (a stop through
/// the API cancels the restart before it comes here), `unless-stopped`
/// unless stopped by the user, `on-failure` on a non-zero exit while the
/// retries last.
pub fn should_restart(
    p: &RestartPolicy,
    exit_code: i32,
    restart_count: i64,
    manually_stopped: bool,
) -> bool {
    match p.name.as_str() {
        "always" => true,
        "unless-stopped" => !manually_stopped,
        "on-failure" => {
            let max = p.maximum_retry_count;
            exit_code != 0 && !manually_stopped && (max == 0 || restart_count < max)
        }
        _ => false,
    }
}

/// Whether a daemon that starts finds `p` asking to start a container that
/// is not running: `always` even after a manual stop, `unless-stopped`
/// unless stopped by the user, `on-failure` after a failure.
pub fn start_on_boot(
    p: &RestartPolicy,
    exit_code: i32,
    restart_count: i64,
    manually_stopped: bool,
) -> bool {
    match p.name.as_str() {
        "always" => true,
        _ => should_restart(p, exit_code, restart_count, manually_stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pol(name: &str, max: i64) -> RestartPolicy {
        RestartPolicy {
            name: name.into(),
            maximum_retry_count: max,
        }
    }

    #[test]
    fn backoff_doubles_and_resets() {
        let p = pol("always", 0);
        let mut b = Backoff::default();
        let short = Duration::from_millis(5);
        let got: Vec<_> = (0..4).map(|_| b.next(&p, 0, 0, false, short)).collect();
        let ms = |v: u64| Some(Duration::from_millis(v));
        assert_eq!(got, vec![ms(100), ms(200), ms(400), ms(800)]);
        assert_eq!(b.next(&p, 0, 0, false, Duration::from_secs(11)), ms(100));
        for _ in 0..20 {
            b.next(&p, 0, 0, false, short);
        }
        assert_eq!(b.next(&p, 0, 0, false, short), Some(MAX_DELAY));
    }

    #[test]
    fn policies_decide_like_docker() {
        let mut b = Backoff::default();
        let d = Duration::ZERO;
        assert_eq!(b.next(&pol("no", 0), 1, 0, false, d), None);
        assert_eq!(b.next(&pol("", 0), 1, 0, false, d), None);
        assert!(b.next(&pol("always", 0), 0, 0, false, d).is_some());
        assert!(b.next(&pol("always", 0), 0, 0, true, d).is_some());
        assert!(b.next(&pol("unless-stopped", 0), 0, 0, true, d).is_none());
        assert!(b.next(&pol("on-failure", 0), 0, 0, false, d).is_none());
        assert!(b.next(&pol("on-failure", 0), 1, 99, false, d).is_some());
        assert!(b.next(&pol("on-failure", 2), 1, 1, false, d).is_some());
        assert!(b.next(&pol("on-failure", 2), 1, 2, false, d).is_none());
        assert!(start_on_boot(&pol("always", 0), 0, 0, true));
        assert!(!start_on_boot(&pol("unless-stopped", 0), 0, 0, true));
        assert!(start_on_boot(&pol("unless-stopped", 0), 0, 0, false));
    }

    #[test]
    fn validation_wording() {
        assert!(validate(&pol("on-failure", 3)).is_ok());
        assert!(validate(&pol("always", 0)).is_ok());
        let e = validate(&pol("sometimes", 0)).unwrap_err();
        assert!(e.message.contains("unknown policy 'sometimes'"), "{e}");
        assert!(validate(&pol("always", 2)).is_err());
    }
}
