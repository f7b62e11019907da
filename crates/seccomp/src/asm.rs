//! A small classic-BPF assembler with symbolic labels.
//!
//! Conditional jumps carry 8-bit forward offsets (at most 255 instructions);
//! `ja` carries a 32-bit one. When a conditional target is too far, the
//! assembler places a trampoline right after the jump: a `ja` to the target,
//! or a copy of the `ret` when the target is a return instruction. Layout is
//! recomputed until no jump changes from near to far, which terminates
//! because jumps only ever become far.

use std::collections::HashMap;

use crate::bpf::{self, SockFilter};
use crate::CompileError;

/// A position in the program, bound with [`Asm::bind`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Label(usize);

#[derive(Clone, Copy, Debug)]
enum Item {
    Bind(Label),
    Stmt(SockFilter),
    Jump {
        op: u16,
        k: u32,
        jt: Label,
        jf: Label,
    },
    Ja(Label),
}

/// Collects instructions, then lays them out.
#[derive(Debug, Default)]
pub(crate) struct Asm {
    items: Vec<Item>,
    labels: usize,
    /// Labels bound to a single `ret`, with its value, for inline trampolines.
    rets: HashMap<Label, u32>,
    ret_labels: HashMap<u32, Label>,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    /// The label of the shared `ret value` instruction (emitted by `finish`).
    pub fn ret(&mut self, value: u32) -> Label {
        if let Some(l) = self.ret_labels.get(&value) {
            return *l;
        }
        let l = self.label();
        self.ret_labels.insert(value, l);
        self.rets.insert(l, value);
        l
    }

    pub fn bind(&mut self, l: Label) {
        self.items.push(Item::Bind(l));
    }

    /// `ld [offset]` from `seccomp_data`.
    pub fn load(&mut self, offset: u32) {
        self.items.push(Item::Stmt(SockFilter::stmt(
            bpf::BPF_LD | bpf::BPF_W | bpf::BPF_ABS,
            offset,
        )));
    }

    /// `and #k`.
    pub fn and(&mut self, k: u32) {
        self.items.push(Item::Stmt(SockFilter::stmt(
            bpf::BPF_ALU | bpf::BPF_AND | bpf::BPF_K,
            k,
        )));
    }

    /// A conditional jump (`op` is `BPF_JEQ`, `BPF_JGT`, `BPF_JGE` or `BPF_JSET`).
    pub fn jump(&mut self, op: u16, k: u32, jt: Label, jf: Label) {
        self.items.push(Item::Jump { op, k, jt, jf });
    }

    /// An unconditional jump.
    pub fn ja(&mut self, target: Label) {
        self.items.push(Item::Ja(target));
    }

    /// Places the `ret` instructions requested so far here, close to the
    /// code that jumps to them; later requests get new ones. The caller must
    /// make sure control cannot fall through into them (the previous
    /// instruction is a jump or a `ret`).
    pub fn flush_rets(&mut self) {
        let mut rets: Vec<(u32, Label)> = self.ret_labels.drain().collect();
        rets.sort();
        for (v, l) in rets {
            self.items.push(Item::Bind(l));
            self.items
                .push(Item::Stmt(SockFilter::stmt(bpf::BPF_RET | bpf::BPF_K, v)));
        }
    }

    /// Emits the remaining `ret` instructions and resolves every label.
    pub fn finish(mut self) -> Result<Vec<SockFilter>, CompileError> {
        self.flush_rets();
        let mut far = vec![(false, false); self.items.len()];
        let (addr, labels) = loop {
            let (addr, labels) = self.layout(&far)?;
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { jt, jf, .. } = *item {
                    let next = addr[i] + 1;
                    let (ft, ff) = &mut far[i];
                    for (target, is_far) in [(jt, ft), (jf, ff)] {
                        let dist = labels[target.0] - next;
                        if !*is_far && dist > u8::MAX as usize {
                            *is_far = true;
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break (addr, labels);
            }
        };
        let mut out = Vec::with_capacity(addr.last().copied().unwrap_or(0) + 1);
        for (i, item) in self.items.iter().enumerate() {
            match *item {
                Item::Bind(_) => {}
                Item::Stmt(s) => out.push(s),
                Item::Ja(t) => {
                    let k = labels[t.0] - (addr[i] + 1);
                    out.push(SockFilter::stmt(bpf::BPF_JMP | bpf::BPF_JA, k as u32));
                }
                Item::Jump { op, k, jt, jf } => {
                    let (ft, ff) = far[i];
                    let next = addr[i] + 1;
                    let near = |t: Label| (labels[t.0] - next) as u8;
                    let jt_off = if ft { 0 } else { near(jt) };
                    let jf_off = if ff { u8::from(ft) } else { near(jf) };
                    out.push(SockFilter::jump(
                        bpf::BPF_JMP | op | bpf::BPF_K,
                        k,
                        jt_off,
                        jf_off,
                    ));
                    let mut here = next;
                    for (t, is_far) in [(jt, ft), (jf, ff)] {
                        if is_far {
                            out.push(self.trampoline(t, labels[t.0] - (here + 1)));
                            here += 1;
                        }
                    }
                }
            }
        }
        if out.len() > bpf::MAX_INSNS {
            return Err(CompileError::TooLong { len: out.len() });
        }
        Ok(out)
    }

    fn trampoline(&self, target: Label, dist: usize) -> SockFilter {
        match self.rets.get(&target) {
            Some(v) => SockFilter::stmt(bpf::BPF_RET | bpf::BPF_K, *v),
            None => SockFilter::stmt(bpf::BPF_JMP | bpf::BPF_JA, dist as u32),
        }
    }

    /// Address of every item and of every label, given which jumps are far.
    fn layout(&self, far: &[(bool, bool)]) -> Result<(Vec<usize>, Vec<usize>), CompileError> {
        let mut addr = Vec::with_capacity(self.items.len());
        let mut labels = vec![usize::MAX; self.labels];
        let mut pc = 0usize;
        for (i, item) in self.items.iter().enumerate() {
            addr.push(pc);
            pc += match item {
                Item::Bind(l) => {
                    labels[l.0] = pc;
                    0
                }
                Item::Stmt(_) | Item::Ja(_) => 1,
                Item::Jump { .. } => 1 + usize::from(far[i].0) + usize::from(far[i].1),
            };
        }
        // Every referenced label must be bound, and after the reference.
        for (i, item) in self.items.iter().enumerate() {
            let targets = match *item {
                Item::Jump { jt, jf, .. } => [Some(jt), Some(jf)],
                Item::Ja(t) => [Some(t), None],
                _ => [None, None],
            };
            for t in targets.into_iter().flatten() {
                if labels[t.0] == usize::MAX {
                    return Err(CompileError::UnboundLabel);
                }
                if labels[t.0] <= addr[i] {
                    return Err(CompileError::BackwardJump);
                }
            }
        }
        Ok((addr, labels))
    }
}
