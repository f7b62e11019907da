//! Reading and writing cgroup control files.
//!
//! Writes open the file with `O_APPEND` and send `value\n` in one `write(2)`:
//! cgroupfs ignores the offset and accepts the newline (as `echo` sends it),
//! and on the plain-file trees of the seam tests every value written stays
//! visible in order. Files are never created: a missing control file means the
//! kernel does not offer that knob here.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use crate::error::{CgroupError, Result};

/// Writes `value` to `dir/file`.
pub(crate) fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    let path = dir.join(file);
    let res = OpenOptions::new()
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(format!("{value}\n").as_bytes()));
    res.map_err(|source| CgroupError::Write {
        value: value.to_string(),
        path,
        source,
    })
}

/// Writes `value` to `dir/file` for the OCI `resource`: a missing file is
/// reported as an unsupported resource rather than an I/O error.
pub(crate) fn write_res(dir: &Path, file: &str, value: &str, resource: &str) -> Result<()> {
    if !dir.join(file).exists() {
        return Err(unsupported(resource));
    }
    write(dir, file, value)
}

/// The error for a resource this layout cannot enforce.
pub(crate) fn unsupported(resource: &str) -> CgroupError {
    CgroupError::Unsupported {
        resource: resource.to_string(),
    }
}

/// The error for a malformed resource value.
pub(crate) fn invalid(resource: &str, reason: impl Into<String>) -> CgroupError {
    CgroupError::InvalidValue {
        resource: resource.to_string(),
        reason: reason.into(),
    }
}

/// Reads `dir/file` whole.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|source| CgroupError::Read { path, source })
}

/// Reads `dir/file`, or `None` when it does not exist.
pub(crate) fn read_opt(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Ok(s) => Ok(Some(s)),
        Err(CgroupError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// The last non-empty line of `dir/file`, trimmed (the current value on
/// cgroupfs, the last value written on a plain file).
pub(crate) fn read_value(dir: &Path, file: &str) -> Result<Option<String>> {
    Ok(read_opt(dir, file)?.map(|s| {
        s.lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    }))
}

/// A number from a single-value file; `max` and missing files give `None`.
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<Option<u64>> {
    Ok(read_value(dir, file)?.and_then(|v| v.parse().ok()))
}

/// The value of `key` in a flat-keyed file such as `memory.events`
/// (`key value` per line).
pub(crate) fn read_keyed(dir: &Path, file: &str, key: &str) -> Result<Option<u64>> {
    Ok(read_opt(dir, file)?.and_then(|s| {
        s.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(key))
                .then(|| it.next()?.parse().ok())
                .flatten()
        })
    }))
}
