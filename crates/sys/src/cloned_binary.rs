//! Running the runtime from a sealed in-memory copy of itself, so that no
//! process in a container can overwrite the binary on the host through
//! `/proc/<pid>/exe` (CVE-2019-5736).
//!
//! The attack: a container makes its entrypoint a script whose interpreter
//! is `/proc/self/exe`. When the runtime's init (or an `exec`) executes it,
//! the kernel runs the runtime binary again, inside the container; another
//! container process opens that process's `/proc/<pid>/exe` and, once the
//! binary is no longer busy, writes to it. If the runtime runs from a
//! memfd sealed against writes (memfd_create(2), fcntl(2) F_ADD_SEALS),
//! `/proc/<pid>/exe` is that memfd, and writing to it fails with EPERM.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process runs from a sealed memfd.
pub fn running_from_sealed_copy() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    // SAFETY: F_GET_SEALS only reads flags of a descriptor we own.
    let seals = unsafe { libc::fcntl(exe.as_raw_fd(), libc::F_GET_SEALS) };
    seals != -1 && seals & SEALS == SEALS
}

/// Copies the running executable into a sealed memfd.
pub fn sealed_copy() -> io::Result<OwnedFd> {
    let mut exe = File::open("/proc/self/exe")?;
    // SAFETY: the name is a valid C string; the flags are plain integers.
    let fd = unsafe {
        libc::memfd_create(
            c"wharf".as_ptr(),
            libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
        )
    };
    if fd == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: memfd_create returned a new descriptor that nothing else owns.
    let memfd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut out = File::from(memfd);
    io::copy(&mut exe, &mut out)?;
    // SAFETY: F_ADD_SEALS takes an integer flag set.
    let ret = unsafe { libc::fcntl(out.as_raw_fd(), libc::F_ADD_SEALS, SEALS) };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(out.into())
}

/// Re-executes this process from a sealed copy of its binary, with the
/// same arguments and environment, unless it already runs from one.
/// Returns only on failure.
pub fn reexec_from_sealed_copy() -> io::Result<()> {
    if running_from_sealed_copy() {
        return Ok(());
    }
    let memfd = sealed_copy()?;
    let cstrings = |v: Vec<OsString>| -> io::Result<Vec<CString>> {
        v.into_iter()
            .map(|s| {
                CString::new(s.into_vec())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
            })
            .collect()
    };
    let args = cstrings(std::env::args_os().collect())?;
    let env = cstrings(
        std::env::vars_os()
            .map(|(k, v)| {
                let mut kv = k;
                kv.push("=");
                kv.push(v);
                kv
            })
            .collect(),
    )?;
    Err(crate::process::fexecve(memfd.as_fd(), &args, &env))
}
