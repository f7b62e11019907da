//! runc-style logging: `--log FILE` and `--log-format text|json`. Errors
//! always go to stderr too; engines such as containerd read the last error
//! from the JSON log file, podman reads stderr.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The log format (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `time="…" level=error msg="…"`.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Debug)]
struct Sink {
    path: Option<PathBuf>,
    format: Format,
    debug: bool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// Sets where log lines go.
pub fn init(path: Option<PathBuf>, format: Format, debug: bool) {
    let _ = SINK.set(Sink {
        path,
        format,
        debug,
    });
}

/// Logs a debug line (only with `--debug`).
pub fn debug(msg: &str) {
    if SINK.get().is_some_and(|s| s.debug) {
        write("debug", msg);
    }
}

/// Logs an error: to stderr, and to the log file when there is one.
pub fn error(msg: &str) {
    eprintln!("wharf: {msg}");
    write("error", msg);
}

fn write(level: &str, msg: &str) {
    let Some(sink) = SINK.get() else { return };
    let Some(path) = &sink.path else { return };
    let time = wharf_runtime::state::now_rfc3339();
    let line = match sink.format {
        Format::Json => serde_json::json!({ "level": level, "msg": msg, "time": time }).to_string(),
        Format::Text => format!("time={time:?} level={level} msg={msg:?}"),
    };
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}
