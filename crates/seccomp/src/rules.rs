//! From an OCI profile to a per-ABI decision table, following what runc does
//! with libseccomp:
//!
//! - a rule whose action equals the default action is redundant and skipped;
//! - syscall names are resolved per ABI; a name no table knows is skipped
//!   silently (profiles list syscalls of newer kernels);
//! - conditions of one rule are ANDed, several rules for one syscall are ORed;
//!   when a rule compares the same argument twice, runc turns each condition
//!   into a rule of its own (libseccomp refuses two checks of one argument),
//!   so they are ORed too;
//! - a rule without conditions covers the whole syscall: the first such rule
//!   wins and conditional rules for that syscall are dropped (libseccomp's
//!   database keeps the larger rule); otherwise conditional rules are tried in
//!   profile order and the first that matches decides;
//! - x86_64 is always filtered (libseccomp filters contain the native ABI),
//!   x32 and i386 only when listed; calls of other ABIs get the bad-arch
//!   action, `KILL_THREAD`;
//! - runc's `-ENOSYS` patch: unless the default action allows the call, a
//!   syscall numbered above the highest one the profile names for a listed
//!   ABI fails with `ENOSYS`, so that programs fall back from syscalls newer
//!   than the profile instead of seeing `EPERM`.

use std::collections::BTreeMap;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction as Act, LinuxSeccompOperator as Op};

use crate::arch::SubArch;
use crate::bpf;
use crate::CompileError;

const EPERM: u32 = 1;
const ENOSYS: u32 = 38;
const MAX_ARGS: usize = 6;

/// One argument comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cond {
    pub index: u8,
    pub op: Op,
    /// The datum, or the mask for `SCMP_CMP_MASKED_EQ`.
    pub value: u64,
    /// The datum for `SCMP_CMP_MASKED_EQ`.
    pub value_two: u64,
}

/// Conditions that must all hold for `action` to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CondRule {
    pub conds: Vec<Cond>,
    pub action: u32,
}

/// What happens to one syscall number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Always this return value.
    Ret(u32),
    /// The first matching rule's action, else the default action.
    Cond(Vec<CondRule>),
}

/// The decisions for one ABI.
#[derive(Debug)]
pub(crate) struct ArchPlan {
    pub arch: SubArch,
    pub syscalls: BTreeMap<u32, Decision>,
    /// Numbers above this one return `ERRNO(ENOSYS)` (runc's patch).
    pub enosys_above: Option<u32>,
}

/// Everything code generation needs.
#[derive(Debug)]
pub(crate) struct Plan {
    pub default: u32,
    pub bad_arch: u32,
    pub arches: Vec<ArchPlan>,
}

/// The `SECCOMP_RET_*` value of an OCI action; `errno_ret` applies to
/// `SCMP_ACT_ERRNO` and `SCMP_ACT_TRACE` and defaults to `EPERM`, as in runc.
pub fn action_value(action: Act, errno_ret: Option<u32>) -> Result<u32, CompileError> {
    let data = |errno_ret: Option<u32>| -> Result<u32, CompileError> {
        let v = errno_ret.unwrap_or(EPERM);
        if v > bpf::RET_DATA {
            return Err(CompileError::ErrnoOutOfRange { errno: v });
        }
        Ok(v)
    };
    Ok(match action {
        Act::ScmpActKill | Act::ScmpActKillThread => bpf::RET_KILL_THREAD,
        Act::ScmpActKillProcess => bpf::RET_KILL_PROCESS,
        Act::ScmpActTrap => bpf::RET_TRAP,
        Act::ScmpActErrno => bpf::RET_ERRNO | data(errno_ret)?,
        Act::ScmpActTrace => bpf::RET_TRACE | data(errno_ret)?,
        Act::ScmpActLog => bpf::RET_LOG,
        Act::ScmpActNotify => bpf::RET_USER_NOTIF,
        Act::ScmpActAllow => bpf::RET_ALLOW,
    })
}

/// The ABIs a filter covers, each with whether the profile lists it.
///
/// libseccomp's `seccomp_init` always includes the native ABI, and runc
/// only adds the listed ones to it, so x86_64 is always filtered; the
/// `-ENOSYS` patch, however, only covers the listed ABIs.
fn arches(profile: &LinuxSeccomp) -> Vec<(SubArch, bool)> {
    let listed: Vec<SubArch> = profile
        .architectures()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|a| SubArch::from_oci(*a))
        .collect();
    let mut out: Vec<(SubArch, bool)> = SubArch::ALL
        .into_iter()
        .filter(|a| *a == SubArch::X86_64 || listed.contains(a))
        .map(|a| (a, listed.contains(&a)))
        .collect();
    out.sort();
    out
}

/// The conditions of one OCI rule, split into ORed groups as runc does.
fn cond_groups(
    name: &str,
    args: &[oci_spec::runtime::LinuxSeccompArg],
) -> Result<Vec<Vec<Cond>>, CompileError> {
    let mut counts = [0usize; MAX_ARGS];
    let mut conds = Vec::with_capacity(args.len());
    for a in args {
        if a.index() >= MAX_ARGS {
            return Err(CompileError::ArgIndex {
                syscall: name.to_string(),
                index: a.index(),
            });
        }
        counts[a.index()] += 1;
        conds.push(Cond {
            index: a.index() as u8,
            op: a.op(),
            value: a.value(),
            value_two: a.value_two().unwrap_or(0),
        });
    }
    if counts.iter().any(|&c| c > 1) {
        Ok(conds.into_iter().map(|c| vec![c]).collect())
    } else {
        Ok(vec![conds])
    }
}

/// Builds the decision table of a profile.
pub(crate) fn plan(profile: &LinuxSeccomp) -> Result<Plan, CompileError> {
    let default_act = profile.default_action();
    if default_act == Act::ScmpActNotify {
        return Err(CompileError::NotifyDefault);
    }
    let default = action_value(default_act, profile.default_errno_ret())?;
    let arches = arches(profile);
    // Per ABI and number: unconditional action (first wins) and conditional rules.
    type Entry = (Option<u32>, Vec<CondRule>);
    let mut tables: Vec<BTreeMap<u32, Entry>> = arches.iter().map(|_| BTreeMap::new()).collect();
    let mut max_nr: Vec<Option<u32>> = vec![None; arches.len()];

    for rule in profile.syscalls().as_deref().unwrap_or_default() {
        let action = action_value(rule.action(), rule.errno_ret())?;
        let args = rule.args().as_deref().unwrap_or_default();
        for name in rule.names() {
            if name.is_empty() {
                return Err(CompileError::EmptyName);
            }
            if rule.action() == Act::ScmpActNotify && name == "write" {
                return Err(CompileError::NotifyWrite);
            }
            let groups = cond_groups(name, args)?;
            for (i, (arch, _)) in arches.iter().enumerate() {
                let Some(nr) = arch.syscall_nr(name) else {
                    continue;
                };
                max_nr[i] = max_nr[i].max(Some(nr));
                if action == default {
                    continue;
                }
                let entry = tables[i].entry(nr).or_default();
                if args.is_empty() {
                    entry.0.get_or_insert(action);
                } else {
                    for conds in &groups {
                        entry.1.push(CondRule {
                            conds: conds.clone(),
                            action,
                        });
                    }
                }
            }
        }
    }

    // runc skips its -ENOSYS patch when the default action lets calls through.
    let allowish = matches!(
        default_act,
        Act::ScmpActAllow | Act::ScmpActLog | Act::ScmpActTrace
    );
    let enosys = !allowish && default != bpf::RET_ERRNO | ENOSYS;
    let arches = arches
        .into_iter()
        .zip(tables)
        .zip(max_nr)
        .map(|(((arch, listed), table), max)| ArchPlan {
            arch,
            syscalls: table
                .into_iter()
                .map(|(nr, (uncond, conds))| {
                    let d = match uncond {
                        Some(a) => Decision::Ret(a),
                        None => Decision::Cond(conds),
                    };
                    (nr, d)
                })
                .collect(),
            enosys_above: if enosys && listed { max } else { None },
        })
        .collect();
    Ok(Plan {
        default,
        // libseccomp's default for SCMP_FLTATR_ACT_BADARCH, which runc keeps.
        bad_arch: bpf::RET_KILL_THREAD,
        arches,
    })
}

/// The `SECCOMP_RET_ERRNO | ENOSYS` value used above the highest known syscall.
pub(crate) const RET_ENOSYS: u32 = bpf::RET_ERRNO | ENOSYS;
