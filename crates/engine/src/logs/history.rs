//! The part of a log that exists when a reader starts: every record of the
//! rotated files and of the live file, or only the last `tail` ones, read
//! backwards from the end so that a short tail of a long log costs little.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::{log_files, parse_line, Parsed};

/// Bytes read at a time when reading backwards.
const CHUNK: u64 = 64 * 1024;

/// The history and where a follower continues in the live file.
pub(super) struct History {
    pub entries: Vec<Parsed>,
    /// The end of the live file's last complete line.
    pub live_offset: u64,
}

/// Reads the history of the log at `path`; `live` is the live file as the
/// follower opened it (its lines are read from that open file).
pub(super) fn read_history(
    path: &Path,
    tail: Option<usize>,
    live: Option<&File>,
) -> io::Result<History> {
    let mut files = Vec::new();
    for file in log_files(path) {
        let is_live = file == path;
        let f = match (is_live, live) {
            (true, Some(l)) => l.try_clone()?,
            _ => match File::open(&file) {
                Ok(f) => f,
                // Rotated away meanwhile: its lines are in the next one.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            },
        };
        let end = complete_len(&f)?;
        files.push((f, end, is_live));
    }
    if files.is_empty() {
        if let Some(l) = live {
            files.push((l.try_clone()?, complete_len(l)?, true));
        }
    }
    let live_offset = files
        .iter()
        .find(|(_, _, is_live)| *is_live)
        .map_or(0, |(_, end, _)| *end);
    let entries = match tail {
        Some(n) => {
            let mut back = Vec::new();
            for (f, end, _) in files.iter().rev() {
                if back.len() >= n {
                    break;
                }
                read_back(f, *end, n, &mut back)?;
            }
            back.reverse();
            back
        }
        None => {
            let mut all = VecDeque::new();
            for (f, end, _) in &files {
                read_forward(f, *end, &mut all)?;
            }
            all.into()
        }
    };
    Ok(History {
        entries,
        live_offset,
    })
}

/// Every record of `f` up to `end`.
fn read_forward(f: &File, end: u64, out: &mut VecDeque<Parsed>) -> io::Result<()> {
    let mut r = BufReader::new(f.try_clone()?);
    r.seek(SeekFrom::Start(0))?;
    let mut r = r.take(end);
    let mut line = Vec::new();
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        out.extend(parse_line(&line));
    }
}

/// Records of `f` before `end`, newest first, until `out` holds `want`.
fn read_back(f: &File, end: u64, want: usize, out: &mut Vec<Parsed>) -> io::Result<()> {
    let mut pos = end;
    // The start of a line whose beginning is in an earlier chunk.
    let mut carry: Vec<u8> = Vec::new();
    while pos > 0 && out.len() < want {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0; (pos - start) as usize];
        f.read_exact_at(&mut buf, start)?;
        buf.extend_from_slice(&carry);
        // buf[..line_end] is whole lines, the last one ending in '\n'.
        let mut line_end = buf.len();
        while line_end > 0 && out.len() < want {
            let search = &buf[..line_end - 1];
            match search.iter().rposition(|&b| b == b'\n') {
                Some(i) => {
                    out.extend(parse_line(&buf[i + 1..line_end]));
                    line_end = i + 1;
                }
                None if start == 0 => {
                    out.extend(parse_line(&buf[..line_end]));
                    line_end = 0;
                }
                None => break,
            }
        }
        carry = buf[..line_end].to_vec();
        pos = start;
    }
    Ok(())
}

/// The length of `f` up to its last newline (a line being written is left
/// for the follower).
pub(super) fn complete_len(f: &File) -> io::Result<u64> {
    let len = f.metadata()?.len();
    let mut pos = len;
    while pos > 0 {
        let start = pos.saturating_sub(CHUNK);
        let mut buf = vec![0; (pos - start) as usize];
        f.read_exact_at(&mut buf, start)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        pos = start;
    }
    Ok(0)
}
