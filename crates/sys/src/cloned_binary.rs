//! Running the runtime from a copy of itself that cannot be written, so
//! that no process in a container can overwrite the binary on the host
//! through `/proc/<pid>/exe` (CVE-2019-5736).
//!
//! The attack: a container makes its entrypoint a script whose interpreter
//! is `/proc/self/exe`. When the runtime's init (or an `exec`) executes it,
//! the kernel runs the runtime binary again, inside the container; another
//! container process opens that process's `/proc/<pid>/exe` and, once the
//! binary is no longer busy, writes to it.
//!
//! The defence: re-execute through a read-only bind mount of the binary
//! that is attached nowhere (open_tree(2) with `OPEN_TREE_CLONE`, then
//! mount_setattr(2) `MOUNT_ATTR_RDONLY`, then execveat(2) on the mount's
//! descriptor). `/proc/<pid>/exe` then leads through that mount, so opening
//! it for writing fails with EROFS, and since the mount is in no mount
//! namespace, nobody can make it writable again. This costs one exec and no
//! copy. Where the mount API is refused (no CAP_SYS_ADMIN), the runtime
//! falls back to a memfd copy sealed against writes (memfd_create(2),
//! fcntl(2) F_ADD_SEALS), as runc 1.1 did: a few milliseconds per command.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;

const SEALS: libc::c_int =
    libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;

/// Whether this process's executable cannot be written through
/// `/proc/self/exe`: it is on a read-only mount, or a sealed memfd.
pub fn running_from_sealed_copy() -> bool {
    let Ok(exe) = File::open("/proc/self/exe") else {
        return false;
    };
    if rustix::fs::fstatvfs(&exe)
        .is_ok_and(|st| st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
    {
        return true;
    }
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
    let image = match read_only_mount() {
        Ok(fd) => fd,
        Err(_) => sealed_copy()?,
    };
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
    Err(crate::process::fexecve(image.as_fd(), &args, &env))
}

/// A read-only bind mount of the running executable, attached nowhere.
pub fn read_only_mount() -> io::Result<OwnedFd> {
    let tree = crate::mount::clone_path(std::path::Path::new("/proc/self/exe"), false)?;
    crate::mount::set_attr(tree.as_fd(), false, crate::mount::attr::RDONLY, 0, None)?;
    Ok(tree)
}
