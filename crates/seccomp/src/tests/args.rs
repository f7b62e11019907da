//! Argument comparisons: every operator against a reference on 64-bit values
//! whose high words differ, masks, ANDed conditions and ORed rules.

use serde_json::json;

use super::*;
use crate::bpf::RET_ERRNO;
use crate::SubArch;

/// Values that differ in the high word only, the low word only, or both.
const VALUES: [u64; 12] = [
    0,
    1,
    5,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x1_0000_0005,
    0x5_0000_0005,
    0x7fff_ffff_0000_0000,
    0x8000_0000_0000_0000,
    0xffff_ffff_0000_0000,
    u64::MAX,
];

fn reference(op: &str, arg: u64, value: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => arg != value,
        "SCMP_CMP_LT" => arg < value,
        "SCMP_CMP_LE" => arg <= value,
        "SCMP_CMP_EQ" => arg == value,
        "SCMP_CMP_GE" => arg >= value,
        "SCMP_CMP_GT" => arg > value,
        _ => unreachable!(),
    }
}

fn one_rule(op: &str, index: usize, value: u64) -> Filter {
    filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99,
                      "args": [{"index": index, "value": value, "op": op}]}]
    }))
}

#[test]
fn every_operator_on_64bit_values() {
    for op in [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
    ] {
        for value in VALUES {
            let f = one_rule(op, 3, value);
            for arg in VALUES {
                let want = if reference(op, arg, value) {
                    RET_ERRNO | 99
                } else {
                    ALLOW
                };
                let got = call(&f, SubArch::X86_64, "personality", &[0, 0, 0, arg]);
                assert_eq!(got, want, "{op}: arg {arg:#x} against {value:#x}");
            }
        }
    }
}

#[test]
fn x32_and_i386_compare_the_low_word_only() {
    // libseccomp treats both as 32-bit ABIs.
    for op in [
        "SCMP_CMP_NE",
        "SCMP_CMP_LT",
        "SCMP_CMP_LE",
        "SCMP_CMP_EQ",
        "SCMP_CMP_GE",
        "SCMP_CMP_GT",
    ] {
        for value in VALUES {
            let f = one_rule(op, 0, value);
            for arg in VALUES {
                let want = if reference(op, arg & 0xffff_ffff, value & 0xffff_ffff) {
                    RET_ERRNO | 99
                } else {
                    ALLOW
                };
                for arch in [SubArch::I386, SubArch::X32] {
                    let got = call(&f, arch, "personality", &[arg]);
                    assert_eq!(got, want, "{arch:?} {op}: arg {arg:#x} against {value:#x}");
                }
            }
        }
    }
}

#[test]
fn masked_eq_uses_both_words() {
    let mask = 0x0000_ff00_0000_00ffu64;
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 25,
                      "args": [{"index": 1, "value": mask, "valueTwo": 0x0000_1200_0000_0034u64, "op": "SCMP_CMP_MASKED_EQ"}]}]
    }));
    let check = |arg: u64| call(&f, SubArch::X86_64, "ioctl", &[0, arg]);
    assert_eq!(check(0x0000_1200_0000_0034), RET_ERRNO | 25);
    assert_eq!(check(0xffff_12ff_ffff_ff34), RET_ERRNO | 25);
    assert_eq!(
        check(0x0000_1300_0000_0034),
        ALLOW,
        "high word differs under the mask"
    );
    assert_eq!(
        check(0x0000_1200_0000_0035),
        ALLOW,
        "low word differs under the mask"
    );
    for value in VALUES {
        for m in VALUES {
            let f = filter(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
                              "args": [{"index": 2, "value": m, "valueTwo": value, "op": "SCMP_CMP_MASKED_EQ"}]}]
            }));
            for arg in VALUES {
                let want = if arg & m == value { EPERM } else { ALLOW };
                assert_eq!(
                    call(&f, SubArch::X86_64, "ioctl", &[0, 0, arg]),
                    want,
                    "{arg:#x} & {m:#x} == {value:#x}"
                );
            }
        }
    }
}

#[test]
fn conditions_of_one_rule_are_anded() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                               {"index": 1, "value": 9, "op": "SCMP_CMP_EQ"},
                               {"index": 2, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"}]}]
    }));
    let kill = |a: &[u64]| call(&f, SubArch::X86_64, "kill", a);
    assert_eq!(kill(&[1, 9, 0x1_0000_0000]), RET_ERRNO | 13);
    assert_eq!(kill(&[1, 9, 0xffff_ffff]), ALLOW);
    assert_eq!(kill(&[1, 15, 0x1_0000_0000]), ALLOW);
    assert_eq!(kill(&[2, 9, 0x1_0000_0000]), ALLOW);
}

#[test]
fn rules_for_one_syscall_are_ored_in_order() {
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [
            {"names": ["personality"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3, "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]},
            {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4, "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_GE"}]}
        ]
    }));
    let p = |v: u64| call(&f, SubArch::X86_64, "personality", &[v]);
    assert_eq!(p(0), ALLOW);
    assert_eq!(p(8), RET_ERRNO | 3, "first matching rule decides");
    assert_eq!(p(9), RET_ERRNO | 4);
    assert_eq!(p(7), EPERM);
}

#[test]
fn repeated_argument_in_one_rule_becomes_separate_rules() {
    // runc: conditions on the same argument are added as separate rules (OR).
    let f = filter(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
                      "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_EQ"},
                               {"index": 0, "value": 40, "op": "SCMP_CMP_EQ"}]}]
    }));
    let s = |d: u64| call(&f, SubArch::X86_64, "socket", &[d, 1, 0]);
    assert_eq!(s(38), RET_ERRNO | 97);
    assert_eq!(s(40), RET_ERRNO | 97);
    assert_eq!(s(2), ALLOW);
}
