//! Classic BPF as the kernel's seccomp filter mode understands it: the
//! instruction type, the opcodes Wharf emits, the layout of `struct
//! seccomp_data` and the `SECCOMP_RET_*` return values (see `seccomp(2)` and
//! `Documentation/userspace-api/seccomp_filter.rst`).

/// One classic BPF instruction, laid out like the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SockFilter {
    /// Opcode: class, size/operation and source bits.
    pub code: u16,
    /// Forward offset taken when a conditional jump is true.
    pub jt: u8,
    /// Forward offset taken when a conditional jump is false.
    pub jf: u8,
    /// Immediate operand (offset, constant, return value, or `ja` distance).
    pub k: u32,
}

impl SockFilter {
    /// An instruction without jump targets.
    pub const fn stmt(code: u16, k: u32) -> Self {
        Self {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    /// A conditional jump.
    pub const fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Self {
        Self { code, jt, jf, k }
    }
}

impl From<SockFilter> for libc::sock_filter {
    fn from(i: SockFilter) -> Self {
        libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        }
    }
}

/// Converts a program to the `libc` representation `wharf_sys::seccomp` loads.
pub fn to_libc(program: &[SockFilter]) -> Vec<libc::sock_filter> {
    program.iter().map(|&i| i.into()).collect()
}

/// Instruction class: load into the accumulator.
pub const BPF_LD: u16 = 0x00;
/// Instruction class: arithmetic on the accumulator.
pub const BPF_ALU: u16 = 0x04;
/// Instruction class: jumps.
pub const BPF_JMP: u16 = 0x05;
/// Instruction class: return.
pub const BPF_RET: u16 = 0x06;
/// Size: 32-bit word (the only size seccomp allows).
pub const BPF_W: u16 = 0x00;
/// Mode: absolute offset into `seccomp_data`.
pub const BPF_ABS: u16 = 0x20;
/// ALU operation: bitwise and.
pub const BPF_AND: u16 = 0x50;
/// Jump: unconditional, 32-bit distance in `k`.
pub const BPF_JA: u16 = 0x00;
/// Jump if equal.
pub const BPF_JEQ: u16 = 0x10;
/// Jump if greater (unsigned).
pub const BPF_JGT: u16 = 0x20;
/// Jump if greater or equal (unsigned).
pub const BPF_JGE: u16 = 0x30;
/// Jump if any bit of `k` is set.
pub const BPF_JSET: u16 = 0x40;
/// Source: the immediate `k`.
pub const BPF_K: u16 = 0x00;

/// The kernel's limit on a filter's length (`BPF_MAXINSNS`).
pub const MAX_INSNS: usize = 4096;

/// Offset of `seccomp_data.nr`.
pub const DATA_NR: u32 = 0;
/// Offset of `seccomp_data.arch`.
pub const DATA_ARCH: u32 = 4;
/// Size of `struct seccomp_data`.
pub const DATA_SIZE: u32 = 64;

/// Offset of the low 32 bits of argument `index` (little-endian layout).
pub const fn data_arg_lo(index: u8) -> u32 {
    16 + 8 * index as u32
}

/// Offset of the high 32 bits of argument `index` (little-endian layout).
pub const fn data_arg_hi(index: u8) -> u32 {
    data_arg_lo(index) + 4
}

/// Kill the whole process (`SECCOMP_RET_KILL_PROCESS`).
pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
/// Kill the calling thread (`SECCOMP_RET_KILL_THREAD`, formerly `KILL`).
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
/// Send `SIGSYS` (`SECCOMP_RET_TRAP`).
pub const RET_TRAP: u32 = 0x0003_0000;
/// Fail with the errno in the low 16 bits (`SECCOMP_RET_ERRNO`).
pub const RET_ERRNO: u32 = 0x0005_0000;
/// Hand the call to the user-space listener (`SECCOMP_RET_USER_NOTIF`).
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
/// Notify a ptrace tracer (`SECCOMP_RET_TRACE`).
pub const RET_TRACE: u32 = 0x7ff0_0000;
/// Allow after logging (`SECCOMP_RET_LOG`).
pub const RET_LOG: u32 = 0x7ffc_0000;
/// Allow (`SECCOMP_RET_ALLOW`).
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// The action part of a return value.
pub const RET_ACTION_FULL: u32 = 0xffff_0000;
/// The data part of a return value (errno or trace message).
pub const RET_DATA: u32 = 0x0000_ffff;
