//! The json-file log, byte for byte as Docker writes it: one object per
//! line, `{"log":"…","stream":"stdout","time":"…"}`, the text escaped as
//! Docker's jsonlog package does (`<`, `>`, `&` and control bytes as
//! `\u00XX`, invalid UTF-8 as `\ufffd`), the time in Go's RFC3339Nano (UTC,
//! trailing zeros of the fraction dropped). Output is cut at each newline
//! and at 16 KiB; the file rotates at `max_size` into `.1 … .(max_files-1)`,
//! checked before each write as Docker does.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use crate::proto::LogConfig;

/// Docker's copier buffer: a line longer than this is logged in pieces.
pub const MAX_LINE: usize = 16 * 1024;

/// An open json-file log.
#[derive(Debug)]
pub struct JsonLog {
    cfg: LogConfig,
    file: File,
    size: u64,
    buf: Vec<u8>,
}

impl JsonLog {
    /// Opens (appending to) the log file.
    pub fn open(cfg: LogConfig) -> io::Result<JsonLog> {
        if let Some(dir) = cfg.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&cfg.path)?;
        let size = file.metadata()?.len();
        Ok(JsonLog {
            cfg,
            file,
            size,
            buf: Vec::new(),
        })
    }

    /// Writes one entry (`line` already cut: at most 16 KiB, at most one
    /// newline, at its end).
    pub fn write(&mut self, stream: &str, line: &[u8], time: &str) -> io::Result<()> {
        if self.cfg.max_size > 0 && self.size >= self.cfg.max_size {
            self.rotate()?;
        }
        self.buf.clear();
        encode(&mut self.buf, stream, line, time);
        self.file.write_all(&self.buf)?;
        self.size += self.buf.len() as u64;
        if self.buf.capacity() > 2 * MAX_LINE {
            self.buf = Vec::new();
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let path = &self.cfg.path;
        if self.cfg.max_files < 2 {
            self.file.set_len(0)?;
            self.size = 0;
            return Ok(());
        }
        let nth = |n: u32| -> PathBuf {
            let mut p = path.clone().into_os_string();
            p.push(format!(".{n}"));
            p.into()
        };
        for n in (1..self.cfg.max_files - 1).rev() {
            match std::fs::rename(nth(n), nth(n + 1)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        std::fs::rename(path, nth(1))?;
        self.file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        self.size = 0;
        Ok(())
    }
}

/// Appends one log object and its newline to `out`.
pub fn encode(out: &mut Vec<u8>, stream: &str, line: &[u8], time: &str) {
    out.extend_from_slice(b"{");
    if !line.is_empty() {
        out.extend_from_slice(b"\"log\":");
        escape(out, line);
        out.push(b',');
    }
    out.extend_from_slice(b"\"stream\":");
    escape(out, stream.as_bytes());
    out.extend_from_slice(b",\"time\":\"");
    out.extend_from_slice(time.as_bytes());
    out.extend_from_slice(b"\"}\n");
}

/// Docker's string escaping (jsonlog's ffjsonWriteJSONBytesAsString).
fn escape(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let mut rest = s;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(v) => (v, 0),
            Err(e) => {
                let (v, _) = rest.split_at(e.valid_up_to());
                let v = std::str::from_utf8(v).expect("valid prefix");
                (v, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            match c {
                '\\' | '"' => out.extend_from_slice(&[b'\\', c as u8]),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if (c as u32) < 0x20 || matches!(c, '<' | '>' | '&') => {
                    let b = c as u8;
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[(b >> 4) as usize]);
                    out.push(HEX[(b & 0xf) as usize]);
                }
                '\u{2028}' => out.extend_from_slice(b"\\u2028"),
                '\u{2029}' => out.extend_from_slice(b"\\u2029"),
                c => {
                    let mut tmp = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
                }
            }
        }
        // Go decodes an invalid sequence one byte at a time.
        for _ in 0..bad.min(1) {
            out.extend_from_slice(b"\\ufffd");
        }
        rest = &rest[valid.len() + bad.min(1)..];
    }
    out.push(b'"');
}

/// Now in Go's RFC3339Nano, UTC: `2026-11-26T21:00:00.123456789Z` with the
/// fraction's trailing zeros (and an empty fraction) dropped.
pub fn now_rfc3339_nano() -> String {
    format_rfc3339_nano(time::OffsetDateTime::now_utc())
}

/// [`now_rfc3339_nano`] for a given time.
pub fn format_rfc3339_nano(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    let nanos = t.nanosecond();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Cuts a stream of output into log lines: complete lines, and pieces of
/// [`MAX_LINE`] bytes of a longer one.
#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `data`, calling `emit` for each finished line.
    pub fn feed(&mut self, mut data: &[u8], mut emit: impl FnMut(&[u8])) {
        while !data.is_empty() {
            let room = MAX_LINE - self.pending.len();
            let take = data.len().min(room);
            match data[..take].iter().position(|b| *b == b'\n') {
                Some(i) => {
                    self.emit_with(&data[..=i], &mut emit);
                    data = &data[i + 1..];
                }
                None => {
                    if take == room {
                        self.emit_with(&data[..take], &mut emit);
                    } else {
                        self.pending.extend_from_slice(&data[..take]);
                    }
                    data = &data[take..];
                }
            }
        }
        if self.pending.is_empty() && self.pending.capacity() > 4096 {
            self.pending = Vec::new();
        }
    }

    fn emit_with(&mut self, tail: &[u8], emit: &mut impl FnMut(&[u8])) {
        if self.pending.is_empty() {
            emit(tail);
        } else {
            self.pending.extend_from_slice(tail);
            emit(&self.pending);
            self.pending.clear();
        }
    }

    /// Emits what remains (the stream ended without a newline).
    pub fn flush(&mut self, mut emit: impl FnMut(&[u8])) {
        if !self.pending.is_empty() {
            emit(&self.pending);
            self.pending = Vec::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(line: &[u8]) -> String {
        let mut out = Vec::new();
        encode(&mut out, "stdout", line, "T");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_docker() {
        assert_eq!(
            enc(b"a<b>&\"\\\t\x01\r\n"),
            "{\"log\":\"a\\u003cb\\u003e\\u0026\\\"\\\\\\u0009\\u0001\\r\\n\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
        assert_eq!(
            enc(b"\xff\xc3(\xe2\x80\xa8x"),
            "{\"log\":\"\\ufffd\\ufffd(\\u2028x\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
        assert_eq!(
            enc("é".as_bytes()),
            "{\"log\":\"é\",\"stream\":\"stdout\",\"time\":\"T\"}\n"
        );
    }

    #[test]
    fn time_drops_trailing_zeros() {
        let t = time::macros::datetime!(2026-11-26 21:00:00.120 UTC);
        assert_eq!(format_rfc3339_nano(t), "2026-11-26T21:00:00.12Z");
        let t = time::macros::datetime!(2026-11-26 21:00:05 UTC);
        assert_eq!(format_rfc3339_nano(t), "2026-11-26T21:00:05Z");
    }

    #[test]
    fn splits_at_newlines_and_16k() {
        let mut s = LineSplitter::default();
        let mut lines: Vec<Vec<u8>> = Vec::new();
        s.feed(b"ab", |l| lines.push(l.to_vec()));
        s.feed(b"c\nd\n\ne", |l| lines.push(l.to_vec()));
        assert_eq!(
            lines,
            vec![b"abc\n".to_vec(), b"d\n".to_vec(), b"\n".to_vec()]
        );
        lines.clear();
        let big = vec![b'x'; MAX_LINE * 2 + 10];
        s.feed(&big, |l| lines.push(l.to_vec()));
        s.flush(|l| lines.push(l.to_vec()));
        let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![MAX_LINE, MAX_LINE, 11]);
        assert_eq!(lines[0][0], b'e');
    }
}
