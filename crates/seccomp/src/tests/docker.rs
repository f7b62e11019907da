//! Docker's default profile, run through the interpreter.

use oci_spec::runtime::{Arch, LinuxSeccompAction};

use super::*;
use crate::bpf::RET_ERRNO;
use crate::{docker_default, SubArch};

const CLONE_NEWUSER: u64 = 0x1000_0000;
const CLONE_NEWNS: u64 = 0x0002_0000;
/// What glibc's pthread_create passes.
const THREAD_FLAGS: u64 = 0x003d_0f00;

fn docker() -> Filter {
    let f = compile(&docker_default()).expect("docker profile compiles");
    interp::check(&f.program);
    f
}

#[test]
fn profile_shape() {
    let p = docker_default();
    assert_eq!(p.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(p.default_errno_ret(), Some(1));
    assert_eq!(
        p.architectures().as_deref(),
        Some(&[Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32][..])
    );
    let names: usize = p
        .syscalls()
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.names().len())
        .sum();
    assert!(names > 380, "{names} syscall names");
}

#[test]
fn common_calls_allowed_privileged_denied() {
    let f = docker();
    let x = SubArch::X86_64;
    for name in [
        "read",
        "write",
        "openat",
        "execve",
        "futex",
        "mmap",
        "exit_group",
        "getpid",
        "arch_prctl",
        "chroot",
    ] {
        assert_eq!(call(&f, x, name, &[]), ALLOW, "{name}");
    }
    for name in [
        "mount",
        "umount2",
        "unshare",
        "setns",
        "reboot",
        "init_module",
        "bpf",
        "kexec_load",
        "open_tree",
        "io_uring_setup",
    ] {
        assert_eq!(call(&f, x, name, &[]), EPERM, "{name}");
    }
}

#[test]
fn clone_flags_and_clone3() {
    let f = docker();
    let x = SubArch::X86_64;
    assert_eq!(call(&f, x, "clone", &[THREAD_FLAGS]), ALLOW);
    assert_eq!(call(&f, x, "clone", &[0x11 /* SIGCHLD */]), ALLOW);
    assert_eq!(call(&f, x, "clone", &[CLONE_NEWUSER | 0x11]), EPERM);
    assert_eq!(call(&f, x, "clone", &[CLONE_NEWNS]), EPERM);
    assert_eq!(call(&f, x, "clone3", &[]), ENOSYS);
    assert_eq!(call(&f, SubArch::I386, "clone", &[CLONE_NEWUSER]), EPERM);
    assert_eq!(call(&f, SubArch::I386, "clone", &[0x11]), ALLOW);
}

#[test]
fn personality_and_socket_arguments() {
    let f = docker();
    let x = SubArch::X86_64;
    for v in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(call(&f, x, "personality", &[v]), ALLOW, "{v:#x}");
    }
    assert_eq!(call(&f, x, "personality", &[0x1234]), EPERM);
    assert_eq!(call(&f, x, "personality", &[0x1_0000_0000]), EPERM);
    for family in [1, 2, 10, 16, 17, 39, 45] {
        assert_eq!(call(&f, x, "socket", &[family, 1, 0]), ALLOW, "AF {family}");
    }
    for family in [12, 38, 40, 46] {
        assert_eq!(call(&f, x, "socket", &[family, 1, 0]), EPERM, "AF {family}");
    }
    assert_eq!(call(&f, SubArch::I386, "socketcall", &[]), ALLOW);
}

#[test]
fn newer_syscalls_get_enosys() {
    let f = docker();
    // file_setattr (469) is newer than every syscall the profile names.
    assert_eq!(call(&f, SubArch::X86_64, "file_setattr", &[]), ENOSYS);
    assert_eq!(raw(&f, X86_64, 1000, &[]), ENOSYS);
    assert_eq!(raw(&f, I386, 1000, &[]), ENOSYS);
    // Unlisted and older: EPERM.
    assert_eq!(call(&f, SubArch::X86_64, "swapon", &[]), EPERM);
}

#[test]
fn x32_and_i386_are_filtered() {
    let f = docker();
    assert_eq!(call(&f, SubArch::X32, "read", &[]), ALLOW);
    assert_eq!(call(&f, SubArch::X32, "mount", &[]), EPERM);
    assert_eq!(call(&f, SubArch::I386, "read", &[]), ALLOW);
    assert_eq!(call(&f, SubArch::I386, "mount", &[]), EPERM);
    assert_eq!(raw(&f, 0xc000_00b7, 63, &[]), KILL, "foreign arch");
}

#[test]
fn hot_path_is_short() {
    let f = docker();
    assert!(
        f.program.len() < 700,
        "program has {} instructions",
        f.program.len()
    );
    for name in ["read", "write", "futex", "epoll_wait", "recvfrom", "close"] {
        let nr = SubArch::X86_64.syscall_nr(name).unwrap();
        let (v, steps) = interp::run_counted(&f.program, &interp::Data::new(X86_64, nr, &[]));
        assert_eq!(v, ALLOW);
        assert!(steps <= 14, "{name} takes {steps} instructions");
    }
    assert_eq!(RET_ERRNO | 1, EPERM);
}
#[test]
fn capabilities_widen_the_profile() {
    let mut caps: Vec<&str> = crate::DOCKER_DEFAULT_CAPS.to_vec();
    caps.extend(["CAP_SYS_ADMIN", "CAP_SYS_PTRACE"]);
    let f = compile(&crate::docker_profile(&caps)).unwrap();
    interp::check(&f.program);
    let x = SubArch::X86_64;
    for name in [
        "mount", "unshare", "setns", "clone3", "ptrace", "kcmp", "bpf",
    ] {
        assert_eq!(call(&f, x, name, &[]), ALLOW, "{name}");
    }
    assert_eq!(call(&f, x, "clone", &[CLONE_NEWUSER]), ALLOW);
    assert_eq!(call(&f, x, "reboot", &[]), EPERM);

    let none: [&str; 0] = [];
    let f = compile(&crate::docker_profile(&none)).unwrap();
    assert_eq!(call(&f, x, "chroot", &[]), EPERM);
    assert_eq!(call(&f, x, "read", &[]), ALLOW);
    assert_eq!(call(&f, x, "clone", &[CLONE_NEWUSER]), EPERM);
}
