//! More probe actions: clocks (time namespaces), the terminal, and a
//! counter that shows whether a process makes progress (pause).

use std::fs;
use std::io;

use rustix::time::{clock_gettime, ClockId};
use serde_json::{json, Map, Value};

use crate::actions::Outcome;

fn data(pairs: Value) -> Map<String, Value> {
    match pairs {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `clock`: CLOCK_MONOTONIC and CLOCK_BOOTTIME in seconds (both shifted by
/// a time namespace's offsets, time_namespaces(7)).
pub fn clock() -> Outcome {
    let secs = |id| {
        let t = clock_gettime(id);
        t.tv_sec
    };
    Ok(data(json!({
        "monotonic": secs(ClockId::Monotonic),
        "boottime": secs(ClockId::Boottime),
    })))
}

/// `tty`: whether stdin, stdout and stderr are terminals, and the name of
/// stdin's terminal.
pub fn tty() -> Outcome {
    let name = rustix::termios::ttyname(rustix::stdio::stdin(), Vec::new())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(data(json!({
        "stdin": rustix::termios::isatty(rustix::stdio::stdin()),
        "stdout": rustix::termios::isatty(rustix::stdio::stdout()),
        "stderr": rustix::termios::isatty(rustix::stdio::stderr()),
        "name": name,
    })))
}

/// `count PATH`: writes 1, 2, 3, ... to PATH, forever; returns only on a
/// write error.
pub fn count(path: &str) -> Outcome {
    let mut n: u64 = 0;
    loop {
        n += 1;
        fs::write(path, n.to_string())?;
        if n == u64::MAX {
            return Err(io::Error::other("counter overflow"));
        }
    }
}
