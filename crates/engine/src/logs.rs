//! Reading json-file logs, the format the shim writes (and Docker's
//! `json-file` driver): one JSON object per line,
//! `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`,
//! in `<id>-json.log`, rotated to `<id>-json.log.1` … `.N` (`.N` oldest).
//!
//! As in Docker, `tail` counts the last lines of the whole log, before
//! `since`/`until` and the stream selection are applied; `since` keeps
//! lines at or after it, a line after `until` ends the stream. `follow`
//! keeps reading the live file, across rotations (the file being read is
//! renamed to `.1` and a new one created), until the container is no
//! longer running and the file holds nothing more.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::error::{EngineError, Result};
use crate::model::{LogEntry, LogsOptions, Status};
use crate::Engine;

mod history;
use history::read_history;

/// How often a followed log is checked for new lines and rotation.
const POLL: Duration = Duration::from_millis(100);

/// Polls with nothing new after the container stopped before the stream
/// ends (the shim drains the last output after the exit is recorded).
const DRAIN_POLLS: u32 = 3;

/// Entries buffered between the reader and the client.
const CHANNEL: usize = 256;

/// Docker's message for a container whose log driver keeps nothing.
pub const NOT_READABLE: &str = "configured logging driver does not support reading";

impl Engine {
    /// Streams the logs of a container. The reader runs on a blocking
    /// thread; it stops when the receiver is dropped.
    pub async fn logs(
        &self,
        name_or_id: &str,
        opts: LogsOptions,
    ) -> Result<mpsc::Receiver<Result<LogEntry>>> {
        let c = self.container(name_or_id)?;
        let driver = c.options.host.log_config.driver.as_str();
        if !(driver.is_empty() || driver == "json-file") {
            return Err(EngineError::new(crate::Kind::System, NOT_READABLE));
        }
        let state = if opts.follow {
            Some(self.watch_state(&c.id)?)
        } else {
            None
        };
        let (tx, rx) = mpsc::channel(CHANNEL);
        let path = c.log_path.clone();
        tokio::task::spawn_blocking(move || {
            let running = move || {
                state
                    .as_ref()
                    .is_some_and(|s| matches!(s.borrow().status, Status::Running | Status::Paused))
            };
            read_logs(&path, &opts, running, &tx);
        });
        Ok(rx)
    }
}

/// One line of a json-file log.
#[derive(Deserialize)]
struct Record {
    log: String,
    stream: String,
    time: String,
}

/// A parsed record with its time in nanoseconds.
struct Parsed {
    entry: LogEntry,
    nanos: i64,
}

/// Parses one log line; `None` for a line that is not a record (a torn
/// write or garbage is skipped, as Docker's decoder resynchronises).
fn parse_line(line: &[u8]) -> Option<Parsed> {
    let r: Record = serde_json::from_slice(line).ok()?;
    let nanos = parse_time(&r.time)?;
    let stream = match r.stream.as_str() {
        "stderr" => 2,
        _ => 1,
    };
    Some(Parsed {
        entry: LogEntry {
            stream,
            time: format_time(nanos),
            line: r.log.into_bytes(),
        },
        nanos,
    })
}

/// Nanoseconds since the epoch of an RFC 3339 time.
pub fn parse_time(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

/// Docker's fixed-width RFC 3339 with nanoseconds in UTC
/// (`2006-01-02T15:04:05.000000000Z`), what `logs -t` prints.
pub fn format_time(nanos: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.nanosecond()
    )
}

/// The log files of `path`, oldest first: `.N` … `.1`, then `path`
/// (missing files are left out).
pub fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    for n in 1.. {
        let p = rotated_path(path, n);
        if !p.exists() {
            break;
        }
        rotated.push(p);
    }
    rotated.reverse();
    if path.exists() {
        rotated.push(path.to_path_buf());
    }
    rotated
}

fn rotated_path(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// What to do with a record: send it, skip it, or end the stream.
enum Verdict {
    Send,
    Skip,
    Stop,
}

fn judge(p: &Parsed, opts: &LogsOptions) -> Verdict {
    if opts.until.is_some_and(|u| p.nanos > u) {
        return Verdict::Stop;
    }
    if opts.since.is_some_and(|s| p.nanos < s) {
        return Verdict::Skip;
    }
    let wanted = match p.entry.stream {
        2 => opts.stderr,
        _ => opts.stdout,
    };
    if wanted {
        Verdict::Send
    } else {
        Verdict::Skip
    }
}

/// Reads the log at `path` (and its rotations) as `opts` asks and sends the
/// entries to `tx`; blocking. With `opts.follow`, keeps reading while
/// `running()` says the container runs. Returns when done, when `until` is
/// passed or when the receiver is gone. A file that cannot be read is sent
/// as one error.
pub fn read_logs(
    path: &Path,
    opts: &LogsOptions,
    running: impl Fn() -> bool,
    tx: &mpsc::Sender<Result<LogEntry>>,
) {
    let mut send = |p: Parsed| -> bool {
        match judge(&p, opts) {
            Verdict::Send => tx.blocking_send(Ok(p.entry)).is_ok(),
            Verdict::Skip => true,
            Verdict::Stop => false,
        }
    };
    // As in Docker, a container that does not run is not followed.
    let follow = opts.follow && running();
    // The live file is opened first: whatever it holds later is read by
    // the follower from where the history ended.
    let mut live = if follow { File::open(path).ok() } else { None };
    let history = match read_history(path, opts.tail, live.as_ref()) {
        Ok(h) => h,
        Err(e) => {
            let _ = tx.blocking_send(Err(EngineError::system(
                format!("failed to read log {}", path.display()),
                e,
            )));
            return;
        }
    };
    for p in history.entries {
        if !send(p) {
            return;
        }
    }
    if !follow {
        return;
    }
    let mut reader = live.take().map(|f| {
        let mut r = BufReader::new(f);
        let _ = r.seek(SeekFrom::Start(history.live_offset));
        r
    });
    let mut idle = 0;
    let mut partial = Vec::new();
    loop {
        if tx.is_closed() {
            return;
        }
        let got = match reader.as_mut() {
            Some(r) => match drain(r, &mut partial, &mut send) {
                Some(n) => n,
                None => return,
            },
            None => 0,
        };
        // Rotated (or created): finish the old file, read the files
        // rotated after it (several rotations may fit between two polls),
        // then take the new one.
        if let Ok(meta) = std::fs::metadata(path) {
            let old = reader
                .as_ref()
                .and_then(|r| r.get_ref().metadata().ok())
                .map(|m| (m.dev(), m.ino()));
            if old != Some((meta.dev(), meta.ino())) {
                if let Some(r) = reader.as_mut() {
                    if drain(r, &mut partial, &mut send).is_none() {
                        return;
                    }
                }
                partial.clear();
                if let Some(old) = old {
                    for f in rotated_after(path, old) {
                        let Ok(file) = File::open(&f) else { continue };
                        let mut r = BufReader::new(file);
                        let mut rest = Vec::new();
                        if drain(&mut r, &mut rest, &mut send).is_none() {
                            return;
                        }
                    }
                }
                reader = File::open(path).ok().map(BufReader::new);
                continue;
            }
        }
        if got > 0 {
            idle = 0;
        } else if !running() {
            idle += 1;
            if idle > DRAIN_POLLS {
                return;
            }
        }
        std::thread::sleep(POLL);
    }
}

/// The rotated files newer than the file `old` (dev, ino), oldest first:
/// those after it when it is still among them, else all of them (it was
/// rotated away entirely).
fn rotated_after(path: &Path, old: (u64, u64)) -> Vec<PathBuf> {
    let mut files = log_files(path);
    files.retain(|f| f != path);
    let id = |f: &PathBuf| std::fs::metadata(f).ok().map(|m| (m.dev(), m.ino()));
    match files.iter().position(|f| id(f) == Some(old)) {
        Some(i) => files.split_off(i + 1),
        None => files,
    }
}

/// Reads the complete lines available in `r` and passes each record to
/// `send`; `partial` keeps a line whose end is not written yet. The number
/// of lines read, or `None` when `send` asked to stop.
fn drain(
    r: &mut BufReader<File>,
    partial: &mut Vec<u8>,
    send: &mut impl FnMut(Parsed) -> bool,
) -> Option<usize> {
    let mut n = 0;
    loop {
        match r.read_until(b'\n', partial) {
            Ok(0) | Err(_) => return Some(n),
            Ok(_) if partial.last() != Some(&b'\n') => {
                // A line still being written: keep it for the next poll.
                return Some(n);
            }
            Ok(_) => {
                n += 1;
                let line = std::mem::take(partial);
                if let Some(p) = parse_line(&line) {
                    if !send(p) {
                        return None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_fixed_width_utc() {
        let n = parse_time("2024-01-02T03:04:05.1Z").unwrap();
        assert_eq!(format_time(n), "2024-01-02T03:04:05.100000000Z");
        let n = parse_time("2024-01-02T04:04:05.000000001+01:00").unwrap();
        assert_eq!(format_time(n), "2024-01-02T03:04:05.000000001Z");
    }

    #[test]
    fn bad_lines_are_skipped() {
        assert!(parse_line(b"{\"log\":\"x\"").is_none());
        assert!(parse_line(b"{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"nope\"}").is_none());
        let p = parse_line(
            b"{\"log\":\"hi\\n\",\"stream\":\"stderr\",\"time\":\"2024-01-02T03:04:05Z\"}\n",
        )
        .unwrap();
        assert_eq!(p.entry.stream, 2);
        assert_eq!(p.entry.line, b"hi\n");
    }
}
