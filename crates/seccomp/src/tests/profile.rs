//! Actions, defaults, allow lists, architectures and name resolution.

use serde_json::json;

use super::*;
use crate::bpf::*;
use crate::{
    CompileError, SubArch, FLAG_LOG, FLAG_NEW_LISTENER, FLAG_TSYNC, FLAG_TSYNC_ESRCH,
    X32_SYSCALL_BIT,
};

#[test]
fn default_action_applies_to_everything() {
    let f = filter(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 42}));
    for nr in [0, 1, 39, 300, 469, 1000, 0x3fff_ffff] {
        assert_eq!(raw(&f, X86_64, nr, &[]), RET_ERRNO | 42, "nr {nr}");
    }
    let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert_eq!(call(&f, SubArch::X86_64, "mount", &[]), ALLOW);
}

#[test]
fn allow_list_with_default_errno() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["read", "write", "getpid", "exit_group"], "action": "SCMP_ACT_ALLOW"}]
    }));
    for name in ["read", "write", "getpid", "exit_group"] {
        assert_eq!(call(&f, SubArch::X86_64, name, &[]), ALLOW, "{name}");
    }
    // Unlisted below the highest listed number (exit_group = 231): default EPERM.
    assert_eq!(call(&f, SubArch::X86_64, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X86_64, "open", &[]), EPERM);
    // Above it: runc's -ENOSYS patch.
    assert_eq!(call(&f, SubArch::X86_64, "openat", &[]), ENOSYS);
    assert_eq!(raw(&f, X86_64, 5000, &[]), ENOSYS);
}

#[test]
fn enosys_patch_skipped_for_permissive_defaults() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_LOG",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "read", &[]), EPERM);
    assert_eq!(raw(&f, X86_64, 5000, &[]), RET_LOG);
}

#[test]
fn errno_values_per_rule() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["getppid"], "action": "SCMP_ACT_TRACE", "errnoRet": 7},
            {"names": ["uname"], "action": "SCMP_ACT_TRAP"},
            {"names": ["kill"], "action": "SCMP_ACT_KILL"},
            {"names": ["tkill"], "action": "SCMP_ACT_KILL_PROCESS"},
            {"names": ["tgkill"], "action": "SCMP_ACT_KILL_THREAD"},
            {"names": ["sync"], "action": "SCMP_ACT_LOG"},
            {"names": ["syncfs"], "action": "SCMP_ACT_NOTIFY"}
        ]
    }));
    let x = SubArch::X86_64;
    assert_eq!(call(&f, x, "getpid", &[]), RET_ERRNO | 42);
    assert_eq!(call(&f, x, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, x, "mkdirat", &[]), EPERM);
    assert_eq!(call(&f, x, "getppid", &[]), RET_TRACE | 7);
    assert_eq!(call(&f, x, "uname", &[]), RET_TRAP);
    assert_eq!(call(&f, x, "kill", &[]), RET_KILL_THREAD);
    assert_eq!(call(&f, x, "tkill", &[]), RET_KILL_PROCESS);
    assert_eq!(call(&f, x, "tgkill", &[]), RET_KILL_THREAD);
    assert_eq!(call(&f, x, "sync", &[]), RET_LOG);
    assert_eq!(call(&f, x, "syncfs", &[]), RET_USER_NOTIF);
    assert_eq!(call(&f, x, "read", &[]), ALLOW);
    assert!(f.needs_listener());
}

#[test]
fn notify_restrictions_and_flags() {
    let err = compile(&profile(json!({"defaultAction": "SCMP_ACT_NOTIFY"}))).unwrap_err();
    assert!(matches!(err, CompileError::NotifyDefault));
    let err = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]
    })))
    .unwrap_err();
    assert!(matches!(err, CompileError::NotifyWrite));
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
    }));
    assert_eq!(
        f.flags,
        FLAG_LOG | FLAG_TSYNC | FLAG_NEW_LISTENER | FLAG_TSYNC_ESRCH
    );
    let f = filter(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}),
    );
    assert_eq!(f.flags, 0);
}

#[test]
fn bad_values_are_rejected() {
    let err = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]
    })))
    .unwrap_err();
    assert!(matches!(err, CompileError::ArgIndex { index: 6, .. }));
    let err = compile(&profile(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000}),
    ))
    .unwrap_err();
    assert!(matches!(
        err,
        CompileError::ErrnoOutOfRange { errno: 70000 }
    ));
    let err = compile(&profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": [""], "action": "SCMP_ACT_ERRNO"}]
    })))
    .unwrap_err();
    assert!(matches!(err, CompileError::EmptyName));
}

#[test]
fn unknown_syscall_names_are_skipped() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["no_such_syscall", "read", "future_call_of_linux_9"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "read", &[]), ALLOW);
}

#[test]
fn rule_equal_to_default_is_redundant() {
    // runc skips it, but it still counts for the -ENOSYS boundary.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [
            {"names": ["read"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["openat"], "action": "SCMP_ACT_ERRNO"}
        ]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "openat", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X86_64, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X86_64, "pidfd_open", &[]), ENOSYS);
}

#[test]
fn unconditional_rule_covers_the_syscall() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
             "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6}
        ]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "personality", &[8]), ALLOW);
    assert_eq!(call(&f, SubArch::X86_64, "personality", &[9]), ALLOW);
}

#[test]
fn x86_64_only_kills_x32_and_i386() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X32, "read", &[]), KILL);
    assert_eq!(call(&f, SubArch::I386, "read", &[]), KILL);
    assert_eq!(
        raw(&f, 0xc000_00b7, 0, &[]),
        KILL,
        "aarch64 is a bad arch here"
    );
}

#[test]
fn x32_and_i386_use_their_own_tables() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 17},
            {"names": ["socketcall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97},
            {"names": ["execve"], "action": "SCMP_ACT_ERRNO", "errnoRet": 8}
        ]
    }));
    // mkdir is 83 on x86_64, 39 on i386, 83|bit on x32; 39 is getpid on x86_64.
    assert_eq!(raw(&f, X86_64, 83, &[]), RET_ERRNO | 17);
    assert_eq!(raw(&f, X86_64, 39, &[]), ALLOW);
    assert_eq!(raw(&f, I386, 39, &[]), RET_ERRNO | 17);
    assert_eq!(raw(&f, I386, 83, &[]), ALLOW);
    assert_eq!(raw(&f, X86_64, X32_SYSCALL_BIT | 83, &[]), RET_ERRNO | 17);
    assert_eq!(call(&f, SubArch::I386, "socketcall", &[]), RET_ERRNO | 97);
    // x32's execve is 520, not 59.
    assert_eq!(raw(&f, X86_64, X32_SYSCALL_BIT | 520, &[]), RET_ERRNO | 8);
    assert_eq!(raw(&f, X86_64, X32_SYSCALL_BIT | 59, &[]), ALLOW);
    assert_eq!(raw(&f, X86_64, 59, &[]), RET_ERRNO | 8);
    assert_eq!(raw(&f, I386, 11, &[]), RET_ERRNO | 8);
    assert_eq!(raw(&f, 0xc000_00b7, 0, &[]), KILL);
}

#[test]
fn native_abi_is_always_filtered() {
    // As with libseccomp, whose filters always contain the native ABI.
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X32"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]
    }));
    assert_eq!(call(&f, SubArch::X32, "read", &[]), ALLOW);
    assert_eq!(call(&f, SubArch::X32, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X86_64, "mkdir", &[]), EPERM);
    assert_eq!(call(&f, SubArch::X86_64, "read", &[]), ALLOW);
    assert_eq!(call(&f, SubArch::I386, "read", &[]), KILL);
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]
    }));
    assert_eq!(call(&f, SubArch::X86_64, "read", &[]), ALLOW);
    // runc's -ENOSYS patch only covers listed ABIs.
    assert_eq!(call(&f, SubArch::X86_64, "openat", &[]), EPERM);
}

#[test]
fn features_lists_what_compile_accepts() {
    let feat = crate::features();
    assert_eq!(feat.enabled(), &Some(true));
    assert!(feat.actions().as_ref().unwrap().len() >= 9);
    assert_eq!(feat.operators().as_ref().unwrap().len(), 7);
    assert!(feat
        .known_flags()
        .as_ref()
        .unwrap()
        .contains(&"SECCOMP_FILTER_FLAG_SPEC_ALLOW".to_string()));
    // Kernel 6.x knows all of them.
    assert!(feat
        .supported_flags()
        .as_ref()
        .unwrap()
        .contains(&"SECCOMP_FILTER_FLAG_LOG".to_string()));
}
