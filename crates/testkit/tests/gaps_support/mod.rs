//! Helpers of the engine_gaps and engine_init_ipc scenarios: inspect
//! through the raw API, polled with a hang guard.

use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use wharf_testkit::daemon::Engine;

/// The hang guard of the polls (never a pass/fail timing).
pub const GUARD: Duration = Duration::from_secs(120);

/// `GET /containers/{name}/json`, which must answer 200.
pub fn inspect(e: &dyn Engine, name: &str) -> Value {
    let r = e.api("GET", &format!("/containers/{name}/json"), None);
    assert_eq!(
        r.status,
        200,
        "inspect {name} on {}: {}",
        e.kind(),
        r.text()
    );
    r.json()
}

/// Polls inspect of `name` until `ok` holds; returns that inspect.
pub fn inspect_until(e: &dyn Engine, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + GUARD;
    loop {
        let v = inspect(e, name);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{} never showed {what}: {v}",
            e.kind()
        );
        sleep(Duration::from_millis(100));
    }
}
