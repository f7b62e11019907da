//! Loading seccomp filters with `seccomp(2)`.
//!
//! A filter may only be installed by a thread that has `no_new_privs` set
//! (`prctl(PR_SET_NO_NEW_PRIVS, 1)`) or holds `CAP_SYS_ADMIN` in its user
//! namespace; otherwise the kernel answers `EACCES`. Filters stack: each call
//! adds one, and the strictest result of all of them applies. A filter is
//! inherited across `fork`, `clone` and `execve` and can never be removed.
//!
//! The kernel checks the program (`seccomp_check_filter`): at most 4096
//! instructions, only loads from `struct seccomp_data`, forward jumps, and a
//! `ret` at the end of every path; a program that fails the check is
//! refused with `EINVAL`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `SECCOMP_SET_MODE_FILTER`.
const SET_MODE_FILTER: libc::c_ulong = 1;
/// `SECCOMP_GET_ACTION_AVAIL`.
const GET_ACTION_AVAIL: libc::c_ulong = 2;
/// `SECCOMP_GET_NOTIF_SIZES`.
const GET_NOTIF_SIZES: libc::c_ulong = 3;
/// `SECCOMP_FILTER_FLAG_TSYNC`.
const FLAG_TSYNC: u32 = 1;
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`.
const FLAG_NEW_LISTENER: u32 = 8;
/// `SECCOMP_FILTER_FLAG_TSYNC_ESRCH`.
const FLAG_TSYNC_ESRCH: u32 = 16;

/// Installs `prog` as a seccomp filter of the calling thread.
///
/// `flags` are `SECCOMP_FILTER_FLAG_*` bits. With
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER` (8) the kernel returns a
/// user-notification fd, handed back as `Some`; it is close-on-exec. With
/// `SECCOMP_FILTER_FLAG_TSYNC` (1) the filter is applied to every thread of
/// the process; if a thread cannot be synchronised the kernel returns its
/// tid, reported as an error.
///
/// The caller must have set `no_new_privs` or hold `CAP_SYS_ADMIN`. When the
/// kernel lacks `seccomp(2)` (before Linux 3.17) and no flag is requested,
/// `prctl(PR_SET_SECCOMP)` is used instead.
pub fn install_filter(prog: &[libc::sock_filter], flags: u32) -> io::Result<Option<OwnedFd>> {
    let len = u16::try_from(prog.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "seccomp program too long"))?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points to `prog`, which outlives the call; the kernel
    // only reads the program (it copies it) and takes no ownership.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            libc::c_ulong::from(flags),
            &fprog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        let err = io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::ENOSYS) && flags == 0 {
            return install_filter_prctl(&fprog);
        }
        return Err(err);
    }
    if flags & FLAG_NEW_LISTENER != 0 {
        let fd = i32::try_from(ret).map_err(|_| io::Error::other("invalid seccomp listener fd"))?;
        // SAFETY: with NEW_LISTENER the kernel returns a fresh fd that
        // nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(fd) }));
    }
    if ret > 0 && flags & FLAG_TSYNC != 0 && flags & FLAG_TSYNC_ESRCH == 0 {
        return Err(io::Error::other(format!(
            "seccomp TSYNC failed: thread {ret} cannot be synchronised"
        )));
    }
    Ok(None)
}

fn install_filter_prctl(fprog: &libc::sock_fprog) -> io::Result<Option<OwnedFd>> {
    // SAFETY: `fprog` and the program it points to stay valid for the call.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            fprog as *const libc::sock_fprog,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(None)
}

/// Sizes of the user-notification structures, from `SECCOMP_GET_NOTIF_SIZES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotifSizes {
    /// `sizeof(struct seccomp_notif)`.
    pub notif: u16,
    /// `sizeof(struct seccomp_notif_resp)`.
    pub resp: u16,
    /// `sizeof(struct seccomp_data)`.
    pub data: u16,
}

/// Asks the kernel how large its notification structures are (Linux 5.0+);
/// a listener agent must size its buffers with these values.
pub fn get_notif_sizes() -> io::Result<NotifSizes> {
    let mut sizes = [0u16; 3];
    // SAFETY: the kernel writes a `struct seccomp_notif_sizes` (three u16)
    // into `sizes`, which is exactly that large and writable.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            GET_NOTIF_SIZES,
            0 as libc::c_ulong,
            sizes.as_mut_ptr(),
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(NotifSizes {
        notif: sizes[0],
        resp: sizes[1],
        data: sizes[2],
    })
}

/// Whether the kernel knows the return action `action` (a `SECCOMP_RET_*`
/// value without data), via `SECCOMP_GET_ACTION_AVAIL` (Linux 4.14+).
pub fn action_available(action: u32) -> io::Result<bool> {
    // SAFETY: the kernel reads one u32 from `&action`, valid for the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            GET_ACTION_AVAIL,
            0 as libc::c_ulong,
            &action as *const u32,
        )
    };
    if ret == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EOPNOTSUPP) => Ok(false),
        _ => Err(err),
    }
}

/// Whether the kernel accepts the filter flag `flag`, probed as libseccomp
/// does: `SECCOMP_SET_MODE_FILTER` with a null program fails with `EFAULT`
/// when the flag is known and `EINVAL` when it is not. Nothing is installed.
pub fn flag_supported(flag: u32) -> bool {
    // SAFETY: a null program pointer makes the kernel fail with EFAULT
    // before installing anything; no memory is read or written.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            libc::c_ulong::from(flag),
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// A system call waiting on a seccomp listener for its verdict
/// (`struct seccomp_notif`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Cookie identifying the request; pass it back to [`notif_send`].
    pub id: u64,
    /// The calling thread, in the listener's pid namespace (0 if invisible).
    pub pid: u32,
    /// Syscall number.
    pub nr: i32,
    /// `AUDIT_ARCH_*` of the call.
    pub arch: u32,
    /// Instruction pointer at the call.
    pub instruction_pointer: u64,
    /// Raw arguments.
    pub args: [u64; 6],
}

/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: let the kernel run the call.
const USER_NOTIF_FLAG_CONTINUE: u32 = 1;

/// Waits for the next notification on a listener fd
/// (`SECCOMP_IOCTL_NOTIF_RECV`). Blocks; fails with `ENOENT` when the
/// target died before the notification could be read.
pub fn notif_recv(listener: BorrowedFd<'_>) -> io::Result<Notification> {
    // SAFETY: an all-zero `seccomp_notif` is a valid value (plain integers);
    // the kernel requires the buffer to be zeroed on entry.
    let mut n: libc::seccomp_notif = unsafe { std::mem::zeroed() };
    // SAFETY: `n` is a writable `seccomp_notif`, the size the ioctl number
    // encodes; the fd is borrowed for the duration of the call.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            &mut n as *mut libc::seccomp_notif,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Notification {
        id: n.id,
        pid: n.pid,
        nr: n.data.nr,
        arch: n.data.arch,
        instruction_pointer: n.data.instruction_pointer,
        args: n.data.args,
    })
}

/// The listener's verdict on a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifResponse {
    /// The call returns `val` without running.
    Return(i64),
    /// The call fails with this (positive) errno without running.
    Error(i32),
    /// The kernel runs the call as if no filter had stopped it.
    Continue,
}

/// Answers notification `id` (`SECCOMP_IOCTL_NOTIF_SEND`).
pub fn notif_send(listener: BorrowedFd<'_>, id: u64, response: NotifResponse) -> io::Result<()> {
    let (val, error, flags) = match response {
        NotifResponse::Return(v) => (v, 0, 0),
        NotifResponse::Error(e) => (0, -e, 0),
        NotifResponse::Continue => (0, 0, USER_NOTIF_FLAG_CONTINUE),
    };
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: `resp` is a valid `seccomp_notif_resp` of the size the ioctl
    // number encodes; the kernel reads it during the call only.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether notification `id` is still pending (`SECCOMP_IOCTL_NOTIF_ID_VALID`);
/// an agent checks this after reading the target's memory, which may have
/// been reused if the target died.
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> io::Result<bool> {
    // SAFETY: the kernel reads one u64 from `&id` during the call.
    let ret = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &id as *const u64,
        )
    };
    if ret == 0 {
        return Ok(true);
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOENT) => Ok(false),
        _ => Err(err),
    }
}
