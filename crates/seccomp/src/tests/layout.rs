//! Program layout: long jumps, the length limit, and the cost of the search.

use serde_json::{json, Value};

use super::*;
use crate::bpf::{BPF_JA, BPF_JMP, BPF_RET, RET_ERRNO};
use crate::{table, CompileError, SubArch};

/// One conditional rule per x86_64 syscall: errno = nr when arg0 == nr.
fn per_syscall_rules(count: usize) -> Value {
    let rules: Vec<Value> = table::X86_64
        .iter()
        .take(count)
        .map(|(name, nr)| {
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": nr + 1,
                   "args": [{"index": 0, "value": nr + 1000, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules})
}

#[test]
fn long_program_uses_long_jumps() {
    let f = filter(per_syscall_rules(300));
    assert!(
        f.program.len() > 1000,
        "program has {} instructions",
        f.program.len()
    );
    let trampolines = f
        .program
        .windows(2)
        .filter(|w| {
            w[0].code & 0x07 == BPF_JMP
                && w[0].code != BPF_JMP | BPF_JA
                && (w[0].jt == 0 || w[0].jf == 0)
        })
        .filter(|w| w[1].code == BPF_JMP | BPF_JA || w[1].code == BPF_RET)
        .count();
    assert!(trampolines > 0, "expected far jumps through trampolines");
    for (name, nr) in table::X86_64.iter().take(300) {
        let n = u64::from(*nr);
        assert_eq!(
            call(&f, SubArch::X86_64, name, &[n + 1000]),
            RET_ERRNO | (nr + 1),
            "{name}"
        );
        assert_eq!(
            call(&f, SubArch::X86_64, name, &[n + 1001]),
            ALLOW,
            "{name}"
        );
        assert_eq!(
            call(&f, SubArch::X86_64, name, &[(n + 1000) | 1 << 40]),
            ALLOW,
            "{name}"
        );
    }
}

#[test]
fn program_over_4096_instructions_is_an_error() {
    let rules: Vec<Value> = table::X86_64
        .iter()
        .map(|(name, _)| {
            let args: Vec<Value> = (0..6)
                .map(|i| json!({"index": i, "value": 0x1234_5678_9abcu64 + i, "op": "SCMP_CMP_GT"}))
                .collect();
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "args": args})
        })
        .collect();
    let p = profile(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
    match crate::compile(&p) {
        Err(CompileError::TooLong { len }) => assert!(len > 4096),
        other => panic!("expected TooLong, got {other:?}"),
    }
}

#[test]
fn allow_list_is_a_binary_search() {
    let names: Vec<&str> = table::X86_64
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.len() % 3 != 0)
        .collect();
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": names, "action": "SCMP_ACT_ALLOW"}]
    }));
    let max = names
        .iter()
        .filter_map(|n| SubArch::X86_64.syscall_nr(n))
        .max()
        .unwrap();
    let mut worst = 0;
    for (name, nr) in table::X86_64 {
        let (verdict, steps) =
            interp::run_counted(&f.program, &interp::Data::new(X86_64, *nr, &[]));
        let want = match (name.len() % 3 != 0, *nr > max) {
            (true, _) => ALLOW,
            (false, false) => EPERM,
            (false, true) => ENOSYS,
        };
        assert_eq!(verdict, want, "{name}");
        worst = worst.max(steps);
    }
    // A few hundred syscalls in ~100 intervals: about log2(100) + 4 steps.
    assert!(worst <= 16, "worst path {worst} instructions");
}
