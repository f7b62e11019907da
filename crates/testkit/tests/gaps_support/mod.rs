//! Helpers of the engine_gaps, engine_init_ipc and engine_ws_auth
//! scenarios: inspect polled with a hang guard; the head of a hijacked
//! (upgraded) response.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::net::UnixStream;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use wharf_testkit::daemon::Engine;

/// The hang guard of the polls (never a pass/fail timing).
pub const GUARD: Duration = Duration::from_secs(120);

/// Polls inspect of `name` until `ok` holds; returns that inspect.
pub fn inspect_until(e: &dyn Engine, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + GUARD;
    loop {
        let v = e.inspect(name);
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

/// Reads the head of an upgraded response (up to the blank line), in
/// lower case.
pub fn read_head(s: &mut UnixStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).expect("a response head");
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).to_ascii_lowercase()
}
