//! Device access rules: `devices.allow`/`devices.deny` on v1, a generated
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program on v2.
//!
//! Both start from "deny everything" and then apply the OCI rules in order,
//! so a later rule overrides an earlier one. In the v2 program the rules are
//! tested last to first and the first match decides; no match denies. An
//! allow rule matches when every requested access bit is in the rule, a deny
//! rule when any requested bit is in the rule.

use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use wharf_sys::bpf::{self, BpfInsn};

use crate::error::{CgroupError, Result};
use crate::files::{self, invalid};

/// `BPF_DEVCG_ACC_MKNOD`, `_READ`, `_WRITE` from `<linux/bpf.h>`.
pub const ACC_MKNOD: u32 = 1;
/// Read access bit.
pub const ACC_READ: u32 = 2;
/// Write access bit.
pub const ACC_WRITE: u32 = 4;
/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR` from `<linux/bpf.h>`.
pub const DEV_BLOCK: u32 = 1;
/// Character device type.
pub const DEV_CHAR: u32 = 2;

/// Kind of device a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// Block and character devices.
    All,
    /// Block devices.
    Block,
    /// Character devices.
    Char,
}

/// One validated device rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    /// Allow (true) or deny.
    pub allow: bool,
    /// Which device kind it covers.
    pub kind: DeviceKind,
    /// Major number; `None` matches any.
    pub major: Option<u32>,
    /// Minor number; `None` matches any.
    pub minor: Option<u32>,
    /// Access bits (`ACC_*`), never 0.
    pub access: u32,
}

/// Validates OCI device rules. FIFO rules (`p`) are dropped: the device
/// controller does not police FIFOs.
pub fn rules(oci: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    let mut out = Vec::new();
    for (i, r) in oci.iter().enumerate() {
        let res = format!("devices[{i}]");
        let kind = match r.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
            LinuxDeviceType::P => continue,
        };
        let num = |n: Option<i64>| match n {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None), // runc's wildcard (-1)
            Some(n) if n <= i32::MAX as i64 => Ok(Some(n as u32)),
            Some(n) => Err(invalid(&res, format!("device number {n} out of range"))),
        };
        let mut access = 0;
        for ch in r.access().as_deref().unwrap_or("rwm").chars() {
            access |= match ch {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => return Err(invalid(&res, format!("unknown access {ch:?}"))),
            };
        }
        if access == 0 {
            access = ACC_READ | ACC_WRITE | ACC_MKNOD;
        }
        out.push(DeviceRule {
            allow: r.allow(),
            kind,
            major: num(r.major())?,
            minor: num(r.minor())?,
            access,
        });
    }
    Ok(out)
}

fn access_str(a: u32) -> String {
    [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')]
        .iter()
        .filter(|(b, _)| a & b != 0)
        .map(|(_, c)| c)
        .collect()
}

/// The v1 writes, in order, as (file, line): first `a` to `devices.deny`,
/// then each rule. A rule for every kind with numbers or partial access is
/// written as a `b` and a `c` rule (v1's `a` ignores numbers and access).
pub fn v1_writes(rules: &[DeviceRule]) -> Vec<(&'static str, String)> {
    let mut out = vec![("devices.deny", "a".to_string())];
    for r in rules {
        let file = if r.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let line = |t: char| {
            format!(
                "{t} {}:{} {}",
                num(r.major),
                num(r.minor),
                access_str(r.access)
            )
        };
        match r.kind {
            DeviceKind::All if r.major.is_none() && r.minor.is_none() && r.access == 7 => {
                out.push((file, "a".into()))
            }
            DeviceKind::All => out.extend([(file, line('b')), (file, line('c'))]),
            DeviceKind::Block => out.push((file, line('b'))),
            DeviceKind::Char => out.push((file, line('c'))),
        }
    }
    out
}

/// Applies `rules` in a v1 `devices` cgroup directory.
pub(crate) fn apply_v1(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    for (file, line) in v1_writes(rules) {
        files::write(dir, file, &line)?;
    }
    Ok(())
}

/// Loads the program for `rules`, attaches it to the v2 cgroup `dir` and
/// then detaches the programs attached before, so that some filter is in
/// place at every moment (attached programs must all allow an access).
pub(crate) fn apply_v2(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let insns = program(rules);
    let cg = File::open(dir).map_err(|source| CgroupError::Read {
        path: dir.into(),
        source,
    })?;
    let prog = bpf::load_cgroup_device_prog(&insns, c"Apache-2.0").map_err(|source| {
        CgroupError::BpfLoad {
            path: dir.into(),
            source,
        }
    })?;
    let err = |op| {
        move |source| CgroupError::Bpf {
            op,
            path: dir.into(),
            source,
        }
    };
    let old = bpf::prog_query(cg.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(err("query"))?;
    bpf::prog_attach(
        cg.as_fd(),
        prog.as_fd(),
        bpf::ATTACH_CGROUP_DEVICE,
        bpf::F_ALLOW_MULTI,
    )
    .map_err(err("attach"))?;
    for id in old {
        let fd = bpf::prog_fd_by_id(id).map_err(err("open"))?;
        bpf::prog_detach(cg.as_fd(), fd.as_fd(), bpf::ATTACH_CGROUP_DEVICE)
            .map_err(err("detach"))?;
    }
    Ok(())
}

/// Detaches every device program from the v2 cgroup `dir`. Best effort: the
/// kernel also drops them when the cgroup is removed.
pub(crate) fn detach(dir: &Path) -> Result<()> {
    if let Ok(cg) = File::open(dir) {
        let _ = bpf::detach_all(&cg, bpf::ATTACH_CGROUP_DEVICE);
    }
    Ok(())
}

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND64_K: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
const RSH64_K: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

/// The device filter program for `rules`. Its context (r1) is
/// `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
/// where `access_type` is `access << 16 | type`. It returns 1 to allow.
pub fn program(rules: &[DeviceRule]) -> Vec<BpfInsn> {
    let i = BpfInsn::new;
    let mut p = vec![
        i(LDX_W, 2, 1, 0, 0),
        i(AND64_K, 2, 0, 0, 0xffff), // r2 = type
        i(LDX_W, 3, 1, 0, 0),
        i(RSH64_K, 3, 0, 0, 16), // r3 = access
        i(LDX_W, 4, 1, 4, 0),    // r4 = major
        i(LDX_W, 5, 1, 8, 0),    // r5 = minor
    ];
    for r in rules.iter().rev() {
        // Each jump is emitted with `off` = 0 and patched to skip the block.
        let mut block = Vec::new();
        match r.kind {
            DeviceKind::All => {}
            DeviceKind::Block => block.push(i(JNE_K, 2, 0, 0, DEV_BLOCK as i32)),
            DeviceKind::Char => block.push(i(JNE_K, 2, 0, 0, DEV_CHAR as i32)),
        }
        if r.allow && r.access != 7 {
            block.push(i(MOV32_X, 1, 3, 0, 0));
            block.push(i(AND32_K, 1, 0, 0, (!r.access & 7) as i32));
            block.push(i(JNE_K, 1, 0, 0, 0));
        } else if !r.allow && r.access != 7 {
            block.push(i(MOV32_X, 1, 3, 0, 0));
            block.push(i(AND32_K, 1, 0, 0, r.access as i32));
            block.push(i(JEQ_K, 1, 0, 0, 0));
        }
        if let Some(m) = r.major {
            block.push(i(JNE_K, 4, 0, 0, m as i32));
        }
        if let Some(m) = r.minor {
            block.push(i(JNE_K, 5, 0, 0, m as i32));
        }
        let catch_all = block.is_empty();
        block.push(i(MOV64_K, 0, 0, 0, r.allow as i32));
        block.push(i(EXIT, 0, 0, 0, 0));
        let n = block.len();
        for (j, insn) in block.iter_mut().enumerate() {
            if insn.code == JNE_K || insn.code == JEQ_K {
                insn.off = (n - j - 1) as i16;
            }
        }
        p.extend(block);
        if catch_all {
            // Anything after would be unreachable, which the verifier refuses.
            return p;
        }
    }
    p.push(i(MOV64_K, 0, 0, 0, 0));
    p.push(i(EXIT, 0, 0, 0, 0));
    p
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
