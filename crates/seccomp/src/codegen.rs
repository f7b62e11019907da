//! Code generation: from a [`Plan`] to a BPF program.
//!
//! ```text
//!   ld arch
//!   jeq AUDIT_ARCH_X86_64 → x86_64 section        (always: the native ABI)
//!   jeq AUDIT_ARCH_I386   → i386 section          (x86 listed)
//!   ret bad-arch action                           (KILL_THREAD, as libseccomp)
//! x86_64 section: ld nr; jge X32_SYSCALL_BIT → x32 dispatch (x32 listed) | bad arch
//!                 else x86_64 dispatch
//! dispatch: a binary search over intervals of syscall numbers, each
//!           followed by the `ret`s it jumps to and the argument checks
//! ```
//!
//! The high bit of x86_64 numbers is tested with `jge`, as libseccomp does:
//! a number with bit 30 set is an x32 call, and so is an invalid number such
//! as -1 (which the kernel would reject with `ENOSYS`).
//!
//! Each ABI's number space is cut into intervals that share one outcome: a
//! fixed return value (merged across neighbouring numbers, so a run of
//! allowed syscalls costs nothing) or one syscall with argument rules. The
//! intervals are searched with `jge` comparisons, so Docker's ~350-syscall
//! allow list is decided in about eight comparisons instead of a linear scan.

use oci_spec::runtime::LinuxSeccompOperator as Op;

use crate::arch::{SubArch, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::asm::{Asm, Label};
use crate::bpf::{self, SockFilter};
use crate::rules::{ArchPlan, Cond, CondRule, Decision, Plan, RET_ENOSYS};
use crate::CompileError;

/// The outcome for an interval of syscall numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaf<'a> {
    Ret(u32),
    Rules(&'a [CondRule]),
}

/// Intervals `[start, next start)` covering `[lo, hi]`, with merged neighbours.
fn intervals<'a>(plan: &'a ArchPlan, default: u32) -> Vec<(u32, Leaf<'a>)> {
    let (lo, hi) = plan.arch.nr_range();
    let gap = |nr: u32| match plan.enosys_above {
        Some(max) if nr > max => Leaf::Ret(RET_ENOSYS),
        _ => Leaf::Ret(default),
    };
    let mut out: Vec<(u32, Leaf<'a>)> = Vec::new();
    let mut push = |start: u32, leaf: Leaf<'a>| {
        if let Some((_, last)) = out.last() {
            if *last == leaf && matches!(leaf, Leaf::Ret(_)) {
                return;
            }
        }
        out.push((start, leaf));
    };
    let mut next = lo;
    for (&nr, decision) in plan.syscalls.range(lo..=hi) {
        if nr > next {
            // The gap below `nr`; the ENOSYS boundary lies above every listed number.
            push(next, gap(next));
        }
        let leaf = match decision {
            Decision::Ret(v) => Leaf::Ret(*v),
            Decision::Cond(rules) => Leaf::Rules(rules),
        };
        push(nr, leaf);
        match nr.checked_add(1) {
            Some(n) => next = n,
            None => return out,
        }
    }
    if next <= hi {
        // Unlisted numbers up to the highest known one, then ENOSYS above it.
        match plan.enosys_above {
            Some(max) if max >= next && max < hi => {
                push(next, Leaf::Ret(default));
                push(max + 1, Leaf::Ret(RET_ENOSYS));
            }
            _ => push(next, gap(next)),
        }
    }
    out
}

struct Gen<'a> {
    asm: Asm,
    default: u32,
    /// Rule blocks still to be emitted after the search trees.
    pending: Vec<(Label, &'a [CondRule], SubArch)>,
}

impl<'a> Gen<'a> {
    /// The entry label of a subtree; queues the code it needs.
    fn subtree(&mut self, iv: &[(u32, Leaf<'a>)], arch: SubArch) -> Label {
        match iv {
            [(_, Leaf::Ret(v))] => self.asm.ret(*v),
            [(_, Leaf::Rules(rules))] => {
                let l = self.asm.label();
                self.pending.push((l, rules, arch));
                l
            }
            _ => self.asm.label(),
        }
    }

    /// Emits the binary search over `iv` at `entry` (the accumulator holds `nr`).
    fn tree(&mut self, entry: Label, iv: &[(u32, Leaf<'a>)], arch: SubArch) {
        let mut stack = vec![(entry, iv)];
        while let Some((label, iv)) = stack.pop() {
            let mid = iv.len() / 2;
            let (left, right) = iv.split_at(mid);
            let l = self.subtree(left, arch);
            let r = self.subtree(right, arch);
            self.asm.bind(label);
            self.asm.jump(bpf::BPF_JGE, right[0].0, r, l);
            // Right first on the stack so the left subtree follows immediately.
            if right.len() > 1 {
                stack.push((r, right));
            }
            if left.len() > 1 {
                stack.push((l, left));
            }
        }
    }

    /// Dispatch for one ABI; the accumulator holds `nr` at `entry`.
    fn dispatch(&mut self, entry: Label, plan: &'a ArchPlan) {
        let iv = intervals(plan, self.default);
        match iv.as_slice() {
            [single] => {
                let target = self.subtree(std::slice::from_ref(single), plan.arch);
                self.asm.bind(entry);
                self.asm.ja(target);
            }
            _ => self.tree(entry, &iv, plan.arch),
        }
    }

    /// One ABI's search tree and rule blocks, each followed by the `ret`
    /// instructions it jumps to, so that most jumps stay short.
    fn section(&mut self, entry: Label, plan: &'a ArchPlan) {
        self.dispatch(entry, plan);
        self.asm.flush_rets();
        for (l, rules, arch) in std::mem::take(&mut self.pending) {
            self.rules(l, rules, arch);
        }
        self.asm.flush_rets();
    }

    /// Emits the rules of one syscall, first match wins.
    fn rules(&mut self, entry: Label, rules: &[CondRule], arch: SubArch) {
        self.asm.bind(entry);
        for (i, rule) in rules.iter().enumerate() {
            let fail = if i + 1 == rules.len() {
                self.asm.ret(self.default)
            } else {
                self.asm.label()
            };
            let success = self.asm.ret(rule.action);
            for (j, cond) in rule.conds.iter().enumerate() {
                let ok = if j + 1 == rule.conds.len() {
                    success
                } else {
                    self.asm.label()
                };
                self.cond(cond, arch, ok, fail);
                if ok != success {
                    self.asm.bind(ok);
                }
            }
            if rule.conds.is_empty() {
                self.asm.ja(success);
            }
            if i + 1 != rules.len() {
                self.asm.bind(fail);
            }
        }
    }

    /// One comparison: jumps to `t` when it holds, to `f` otherwise.
    fn cond(&mut self, c: &Cond, arch: SubArch, t: Label, f: Label) {
        // NE, LT and LE are the negations of EQ, GE and GT.
        let (op, t, f) = match c.op {
            Op::ScmpCmpNe => (Op::ScmpCmpEq, f, t),
            Op::ScmpCmpLt => (Op::ScmpCmpGe, f, t),
            Op::ScmpCmpLe => (Op::ScmpCmpGt, f, t),
            op => (op, t, f),
        };
        let (mask, datum) = match op {
            Op::ScmpCmpMaskedEq => (c.value, c.value_two),
            _ => (u64::MAX, c.value),
        };
        let (lo_op, hi_strict) = match op {
            Op::ScmpCmpGe => (bpf::BPF_JGE, true),
            Op::ScmpCmpGt => (bpf::BPF_JGT, true),
            _ => (bpf::BPF_JEQ, false),
        };
        let (mhi, dhi) = ((mask >> 32) as u32, (datum >> 32) as u32);
        if arch.compares_64bit() && mhi == 0 {
            // A mask without high bits: the high word matters only if the
            // datum has high bits, and then nothing can match.
            if dhi != 0 {
                self.asm.ja(f);
                return;
            }
        } else if arch.compares_64bit() {
            // High word first: for GT/GE a larger high word decides at once,
            // an equal one defers to the low word, a smaller one fails.
            let low = self.asm.label();
            self.asm.load(bpf::data_arg_hi(c.index));
            if mhi != u32::MAX {
                self.asm.and(mhi);
            }
            if hi_strict {
                let eq = self.asm.label();
                self.asm.jump(bpf::BPF_JGT, dhi, t, eq);
                self.asm.bind(eq);
            }
            self.asm.jump(bpf::BPF_JEQ, dhi, low, f);
            self.asm.bind(low);
        }
        self.asm.load(bpf::data_arg_lo(c.index));
        if mask as u32 != u32::MAX {
            self.asm.and(mask as u32);
        }
        self.asm.jump(lo_op, datum as u32, t, f);
    }
}

/// Generates the program for a plan.
pub(crate) fn generate(plan: &Plan) -> Result<Vec<SockFilter>, CompileError> {
    let mut g = Gen {
        asm: Asm::default(),
        default: plan.default,
        pending: Vec::new(),
    };
    let find = |a: SubArch| plan.arches.iter().find(|p| p.arch == a);
    let (x86_64, x32, i386) = (
        find(SubArch::X86_64),
        find(SubArch::X32),
        find(SubArch::I386),
    );
    let bad = g.asm.ret(plan.bad_arch);

    g.asm.load(bpf::DATA_ARCH);
    let sect64 = if x86_64.is_some() || x32.is_some() {
        let l = g.asm.label();
        let next = g.asm.label();
        g.asm.jump(bpf::BPF_JEQ, AUDIT_ARCH_X86_64, l, next);
        g.asm.bind(next);
        Some(l)
    } else {
        None
    };
    let sect32 = i386.map(|_| g.asm.label());
    if let Some(l) = sect32 {
        g.asm.jump(bpf::BPF_JEQ, AUDIT_ARCH_I386, l, bad);
    } else {
        g.asm.ja(bad);
    }
    if let Some(l) = sect64 {
        g.asm.bind(l);
        g.asm.load(bpf::DATA_NR);
        let l64 = if x86_64.is_some() { g.asm.label() } else { bad };
        let l32 = if x32.is_some() { g.asm.label() } else { bad };
        g.asm.jump(bpf::BPF_JGE, X32_SYSCALL_BIT, l32, l64);
        if let Some(p) = x86_64 {
            g.section(l64, p);
        }
        if let Some(p) = x32 {
            g.section(l32, p);
        }
    }
    if let (Some(l), Some(p)) = (sect32, i386) {
        g.asm.bind(l);
        g.asm.load(bpf::DATA_NR);
        let d = g.asm.label();
        g.section(d, p);
    }
    g.asm.finish()
}
