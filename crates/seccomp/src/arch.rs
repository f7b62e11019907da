//! The system-call ABIs an x86_64 kernel reports in `seccomp_data`, and how
//! the OCI architecture names map onto them.
//!
//! An x86_64 kernel runs three ABIs: native x86_64 (`AUDIT_ARCH_X86_64`), i386
//! through `int 0x80` and compat entry points (`AUDIT_ARCH_I386`), and x32,
//! which reports `AUDIT_ARCH_X86_64` but sets `__X32_SYSCALL_BIT` (bit 30) in
//! the syscall number. Other architectures a profile names (AArch64, ARM,
//! MIPS, …) are accepted, as libseccomp accepts them, but never occur on this
//! kernel, so no code is generated for them.

use oci_spec::runtime::Arch;

use crate::table;

/// `AUDIT_ARCH_X86_64` (EM_X86_64 | 64BIT | LE).
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// `AUDIT_ARCH_I386` (EM_386 | LE).
pub const AUDIT_ARCH_I386: u32 = 0x4000_0003;
/// `__X32_SYSCALL_BIT`: set in the syscall number of x32 calls.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// One syscall ABI of an x86_64 kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubArch {
    /// Native 64-bit calls.
    X86_64,
    /// x32 calls: 64-bit registers, 32-bit pointers, numbers with bit 30 set.
    X32,
    /// 32-bit i386 calls.
    I386,
}

impl SubArch {
    /// All ABIs, in the order their sections appear in a program.
    pub const ALL: [SubArch; 3] = [SubArch::X86_64, SubArch::X32, SubArch::I386];

    /// The `seccomp_data.arch` value the kernel reports for this ABI.
    pub const fn audit_arch(self) -> u32 {
        match self {
            SubArch::X86_64 | SubArch::X32 => AUDIT_ARCH_X86_64,
            SubArch::I386 => AUDIT_ARCH_I386,
        }
    }

    /// Whether argument comparisons use all 64 bits. libseccomp treats x32
    /// and i386 as 32-bit ABIs and compares only the low word there.
    pub const fn compares_64bit(self) -> bool {
        matches!(self, SubArch::X86_64)
    }

    /// The range of syscall numbers `[start, end]` that belongs to this ABI
    /// once `seccomp_data.arch` has been matched.
    pub const fn nr_range(self) -> (u32, u32) {
        match self {
            SubArch::X86_64 => (0, X32_SYSCALL_BIT - 1),
            SubArch::X32 => (X32_SYSCALL_BIT, u32::MAX),
            SubArch::I386 => (0, u32::MAX),
        }
    }

    /// The syscall number of `name` in this ABI, if the ABI has it.
    pub fn syscall_nr(self, name: &str) -> Option<u32> {
        let table = match self {
            SubArch::X86_64 => table::X86_64,
            SubArch::X32 => table::X32,
            SubArch::I386 => table::I386,
        };
        table
            .binary_search_by(|(n, _)| (*n).cmp(name))
            .ok()
            .map(|i| table[i].1)
    }

    /// The name of syscall `nr` in this ABI (slow; for diagnostics and tests).
    pub fn syscall_name(self, nr: u32) -> Option<&'static str> {
        let table = match self {
            SubArch::X86_64 => table::X86_64,
            SubArch::X32 => table::X32,
            SubArch::I386 => table::I386,
        };
        table.iter().find(|(_, n)| *n == nr).map(|(name, _)| *name)
    }

    /// Maps an OCI architecture to the ABI it names on an x86_64 kernel.
    /// `None` for architectures that cannot occur here (accepted, ignored).
    pub fn from_oci(arch: Arch) -> Option<SubArch> {
        match arch {
            Arch::ScmpArchNative | Arch::ScmpArchX86_64 => Some(SubArch::X86_64),
            Arch::ScmpArchX32 => Some(SubArch::X32),
            Arch::ScmpArchX86 => Some(SubArch::I386),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        for t in [table::X86_64, table::X32, table::I386] {
            assert!(t.windows(2).all(|w| w[0].0 < w[1].0));
        }
    }

    #[test]
    fn well_known_numbers() {
        assert_eq!(SubArch::X86_64.syscall_nr("read"), Some(0));
        assert_eq!(SubArch::X86_64.syscall_nr("getpid"), Some(39));
        assert_eq!(SubArch::X86_64.syscall_nr("clone3"), Some(435));
        assert_eq!(SubArch::I386.syscall_nr("getpid"), Some(20));
        assert_eq!(SubArch::I386.syscall_nr("socketcall"), Some(102));
        assert_eq!(SubArch::X86_64.syscall_nr("socketcall"), None);
        assert_eq!(SubArch::X32.syscall_nr("read"), Some(X32_SYSCALL_BIT));
        assert_eq!(
            SubArch::X32.syscall_nr("execve"),
            Some(X32_SYSCALL_BIT | 520)
        );
        assert_eq!(
            SubArch::X32.syscall_nr("mseal"),
            Some(X32_SYSCALL_BIT | 462)
        );
        assert_eq!(SubArch::X86_64.syscall_nr("no_such_call"), None);
    }
}
