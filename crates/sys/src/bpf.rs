//! The `bpf(2)` calls needed to police device access in a cgroup v2
//! hierarchy: load a `BPF_PROG_TYPE_CGROUP_DEVICE` program, attach it to a
//! cgroup directory with `BPF_CGROUP_DEVICE`, list and detach programs.
//!
//! cgroup v2 has no `devices.allow`/`devices.deny` files; instead the kernel
//! runs every program attached to a cgroup (and its ancestors) on each
//! `open(2)`/`mknod(2)` of a device node and denies the access when one of them
//! returns 0 (see `Documentation/admin-guide/cgroup-v2.rst`, "Device
//! controller"). Since Linux 5.11 BPF memory is charged to the memory cgroup,
//! so no `RLIMIT_MEMLOCK` raise is needed.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `BPF_PROG_TYPE_CGROUP_DEVICE` from `<linux/bpf.h>`.
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` attach type from `<linux/bpf.h>`.
pub const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: several programs may be attached to one cgroup.
pub const F_ALLOW_MULTI: u32 = 2;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpfInsn {
    /// Opcode: class | size/op | mode/source.
    pub code: u8,
    /// Destination register in the low nibble, source register in the high one.
    pub regs: u8,
    /// Signed offset (memory access or jump distance in instructions).
    pub off: i16,
    /// Signed immediate.
    pub imm: i32,
}

impl BpfInsn {
    /// Builds an instruction from its fields.
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        BpfInsn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }

    /// The destination register.
    pub const fn dst(&self) -> u8 {
        self.regs & 0x0f
    }

    /// The source register.
    pub const fn src(&self) -> u8 {
        self.regs >> 4
    }
}

/// A program the kernel refused, with the verifier's log.
#[derive(Debug, thiserror::Error)]
#[error("the kernel refused the bpf program: {log}")]
pub struct BpfLoadError {
    /// The verifier log (may be empty).
    pub log: String,
    /// The error `bpf(BPF_PROG_LOAD)` returned.
    #[source]
    pub source: io::Error,
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls `bpf(cmd, attr, sizeof attr)` and returns its non-negative result.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<i64> {
    // SAFETY: `attr` is a live, exclusively borrowed `#[repr(C)]` prefix of
    // `union bpf_attr` for `cmd`; the size passed is exactly its size, and every
    // pointer stored inside it refers to memory that outlives this call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(ret)
}

/// Takes ownership of a file descriptor `bpf(2)` just returned.
fn owned(fd: i64) -> OwnedFd {
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Loads `insns` as a `BPF_PROG_TYPE_CGROUP_DEVICE` program under `license`
/// (use `c"Apache-2.0"` or `c"GPL"`), returning the program's descriptor.
///
/// The first attempt runs without a verifier log (a long program's log could
/// overflow any buffer and fail the load with `ENOSPC`); only a refused
/// program is loaded again with a log, to say why.
pub fn load_cgroup_device_prog(insns: &[BpfInsn], license: &CStr) -> Result<OwnedFd, BpfLoadError> {
    let attr = |log: &mut [u8]| ProgLoadAttr {
        prog_type: PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        ..Default::default()
    };
    let first = match bpf(BPF_PROG_LOAD, &mut attr(&mut [])) {
        Ok(fd) => return Ok(owned(fd)),
        Err(e) => e,
    };
    let mut log = vec![0u8; 256 * 1024];
    match bpf(BPF_PROG_LOAD, &mut attr(&mut log)) {
        Ok(fd) => Ok(owned(fd)),
        Err(_) => {
            let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
            let log = String::from_utf8_lossy(&log[..end]).trim().to_string();
            Err(BpfLoadError { log, source: first })
        }
    }
}

/// Attaches `prog` to the cgroup directory `cgroup` (`BPF_PROG_ATTACH`).
pub fn prog_attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: flags,
        replace_bpf_fd: 0,
    };
    bpf(BPF_PROG_ATTACH, &mut attr).map(drop)
}

/// Detaches `prog` from the cgroup directory `cgroup` (`BPF_PROG_DETACH`).
pub fn prog_detach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        ..Default::default()
    };
    bpf(BPF_PROG_DETACH, &mut attr).map(drop)
}

/// Lists the ids of the programs attached directly to `cgroup` for
/// `attach_type` (`BPF_PROG_QUERY`, not the effective set).
pub fn prog_query(cgroup: BorrowedFd<'_>, attach_type: u32) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        match bpf(BPF_PROG_QUERY, &mut attr) {
            Ok(_) => {
                ids.truncate(attr.prog_cnt as usize);
                return Ok(ids);
            }
            // ENOSPC: more programs than slots; prog_cnt holds the real count.
            Err(e)
                if e.raw_os_error() == Some(libc::ENOSPC) && attr.prog_cnt as usize > ids.len() =>
            {
                ids = vec![0u32; attr.prog_cnt as usize];
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens a descriptor for the loaded program with id `id`.
pub fn prog_fd_by_id(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut attr).map(owned)
}

/// Detaches every program attached directly to `cgroup` for `attach_type`,
/// returning how many were detached.
pub fn detach_all(cgroup: impl AsFd, attach_type: u32) -> io::Result<usize> {
    let cgroup = cgroup.as_fd();
    let ids = prog_query(cgroup, attach_type)?;
    for &id in &ids {
        let prog = prog_fd_by_id(id)?;
        prog_detach(cgroup, prog.as_fd(), attach_type)?;
    }
    Ok(ids.len())
}
