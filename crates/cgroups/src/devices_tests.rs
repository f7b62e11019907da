//! Device rules: v1 write order, and the v2 program run by a small eBPF
//! interpreter that understands exactly the instructions the generator uses.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType};
use wharf_sys::bpf::BpfInsn;

use super::*;

fn rule(
    allow: bool,
    typ: LinuxDeviceType,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(allow)
        .typ(typ)
        .access(access);
    if let Some(m) = major {
        b = b.major(m);
    }
    if let Some(m) = minor {
        b = b.minor(m);
    }
    b.build().unwrap()
}

/// Runs `prog` on `bpf_cgroup_dev_ctx { access << 16 | type, major, minor }`.
fn run(prog: &[BpfInsn], typ: u32, access: u32, major: u32, minor: u32) -> u64 {
    let ctx = [(access << 16) | typ, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    for _ in 0..10_000 {
        let i = prog[pc];
        let (dst, src, imm) = (i.dst() as usize, i.src() as usize, i.imm as i64 as u64);
        pc += 1;
        match i.code {
            LDX_W => {
                assert_eq!(src, 1, "loads only from the context");
                r[dst] = u64::from(ctx[i.off as usize / 4]);
            }
            AND64_K => r[dst] &= imm,
            RSH64_K => r[dst] >>= imm,
            MOV64_K => r[dst] = imm,
            MOV32_X => r[dst] = r[src] & 0xffff_ffff,
            AND32_K => r[dst] = (r[dst] & imm) & 0xffff_ffff,
            JEQ_K | JNE_K => {
                if (r[dst] == imm) == (i.code == JEQ_K) {
                    pc += i.off as usize;
                }
            }
            EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
    panic!("program did not exit");
}

const RWM: u32 = ACC_READ | ACC_WRITE | ACC_MKNOD;

#[test]
fn device_rules_v1_order() {
    let oci = [
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        rule(false, LinuxDeviceType::C, Some(1), Some(3), "w"),
        rule(true, LinuxDeviceType::A, None, Some(7), "r"),
        rule(true, LinuxDeviceType::P, None, None, "rwm"),
        rule(true, LinuxDeviceType::B, Some(8), None, ""),
    ];
    let w = v1_writes(&rules(&oci).unwrap());
    let got: Vec<String> = w.iter().map(|(f, l)| format!("{f}: {l}")).collect();
    assert_eq!(
        got,
        [
            "devices.deny: a",
            "devices.allow: c 1:3 rwm",
            "devices.deny: c 1:3 w",
            "devices.allow: b *:7 r",
            "devices.allow: c *:7 r",
            "devices.allow: b 8:* rwm",
        ]
    );
}

#[test]
fn device_rules_reject_bad_access_and_numbers() {
    assert!(rules(&[rule(true, LinuxDeviceType::C, Some(1), Some(3), "rx")]).is_err());
    assert!(rules(&[rule(true, LinuxDeviceType::C, Some(1 << 40), Some(3), "r")]).is_err());
}

#[test]
fn bpf_default_denies_everything() {
    let p = program(&[]);
    assert_eq!(run(&p, DEV_CHAR, ACC_READ, 1, 3), 0);
    assert_eq!(run(&p, DEV_BLOCK, RWM, 8, 0), 0);
}

#[test]
fn bpf_typical_container_rules() {
    // What a runtime sends: deny all, then the default devices, then a
    // user rule taking write access to /dev/null away again.
    let oci = [
        rule(false, LinuxDeviceType::A, None, None, "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "rwm"),
        rule(true, LinuxDeviceType::C, Some(1), Some(5), "rwm"),
        rule(true, LinuxDeviceType::C, Some(136), None, "rw"),
        rule(true, LinuxDeviceType::B, Some(8), Some(0), "r"),
        rule(false, LinuxDeviceType::C, Some(1), Some(5), "w"),
    ];
    let p = program(&rules(&oci).unwrap());
    let cases = [
        (DEV_CHAR, ACC_READ | ACC_WRITE, 1, 3, 1), // /dev/null
        (DEV_CHAR, ACC_MKNOD, 1, 3, 1),
        (DEV_BLOCK, ACC_READ, 1, 3, 0), // right numbers, wrong type
        (DEV_CHAR, ACC_READ, 1, 5, 1),  // /dev/zero read
        (DEV_CHAR, ACC_WRITE, 1, 5, 0), // …write taken away by the last rule
        (DEV_CHAR, ACC_READ | ACC_WRITE, 1, 5, 0),
        (DEV_CHAR, ACC_WRITE, 136, 42, 1), // any pty
        (DEV_CHAR, ACC_MKNOD, 136, 42, 0), // but not mknod
        (DEV_BLOCK, ACC_READ, 8, 0, 1),
        (DEV_BLOCK, ACC_WRITE, 8, 0, 0),
        (DEV_BLOCK, ACC_READ, 8, 1, 0),
        (DEV_CHAR, ACC_READ, 10, 200, 0), // /dev/net/tun: not listed
    ];
    for (typ, acc, maj, min, want) in cases {
        assert_eq!(
            run(&p, typ, acc, maj, min),
            want,
            "type {typ} access {acc} {maj}:{min}"
        );
    }
}

#[test]
fn bpf_allow_all_then_deny() {
    let oci = [
        rule(true, LinuxDeviceType::A, None, None, "rwm"),
        rule(false, LinuxDeviceType::B, None, None, "m"),
    ];
    let p = program(&rules(&oci).unwrap());
    assert_eq!(run(&p, DEV_BLOCK, ACC_MKNOD, 8, 0), 0);
    assert_eq!(run(&p, DEV_BLOCK, ACC_READ, 8, 0), 1);
    assert_eq!(run(&p, DEV_CHAR, RWM, 4, 4), 1);
    // A catch-all rule ends the program: nothing unreachable follows it.
    assert_eq!(p.last().unwrap().code, EXIT);
    assert_eq!(p[p.len() - 2], BpfInsn::new(MOV64_K, 0, 0, 0, 1));
}

#[test]
fn bpf_jumps_stay_inside_the_program() {
    let oci = [
        rule(true, LinuxDeviceType::C, Some(1), Some(3), "r"),
        rule(false, LinuxDeviceType::A, None, None, "w"),
    ];
    let p = program(&rules(&oci).unwrap());
    for (pc, i) in p.iter().enumerate() {
        if i.code == JNE_K || i.code == JEQ_K {
            assert!(
                pc + 1 + (i.off as usize) < p.len(),
                "jump at {pc} leaves the program"
            );
        }
    }
}
