//! A classic-BPF interpreter for seccomp programs, used to run compiled
//! filters on synthetic `seccomp_data` without the kernel. It checks what
//! the kernel's `seccomp_check_filter` checks (only the instructions seccomp
//! allows, aligned loads inside `seccomp_data`, jumps inside the program, a
//! `ret` at the end) and panics on anything else.

use crate::bpf::*;

/// Synthetic `struct seccomp_data`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub ip: u64,
    pub args: [u64; 6],
}

impl Data {
    pub fn new(arch: u32, nr: u32, args: &[u64]) -> Self {
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        Data {
            nr,
            arch,
            ip: 0x7fff_1234_5678,
            args: a,
        }
    }

    fn bytes(&self) -> [u8; 64] {
        let mut b = [0u8; 64];
        b[0..4].copy_from_slice(&self.nr.to_le_bytes());
        b[4..8].copy_from_slice(&self.arch.to_le_bytes());
        b[8..16].copy_from_slice(&self.ip.to_le_bytes());
        for (i, a) in self.args.iter().enumerate() {
            b[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_le_bytes());
        }
        b
    }
}

/// Checks the program the way the kernel does before accepting it.
pub fn check(prog: &[SockFilter]) {
    assert!(
        !prog.is_empty() && prog.len() <= MAX_INSNS,
        "length {}",
        prog.len()
    );
    for (pc, i) in prog.iter().enumerate() {
        let next = pc + 1;
        match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                assert!(i.k % 4 == 0 && i.k < DATA_SIZE, "bad load at {pc}: {i:?}")
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => {}
            c if c == BPF_RET | BPF_K => {}
            c if c == BPF_JMP | BPF_JA => {
                assert!(
                    next + (i.k as usize) < prog.len(),
                    "ja out of range at {pc}"
                )
            }
            c if [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET].contains(&(c & !BPF_JMP))
                && c & 0x07 == BPF_JMP =>
            {
                assert!(
                    next + (i.jt as usize) < prog.len(),
                    "jt out of range at {pc}"
                );
                assert!(
                    next + (i.jf as usize) < prog.len(),
                    "jf out of range at {pc}"
                );
            }
            _ => panic!("instruction seccomp does not allow at {pc}: {i:?}"),
        }
    }
    assert_eq!(
        prog.last().map(|i| i.code),
        Some(BPF_RET | BPF_K),
        "program must end with ret"
    );
}

/// Runs the program; returns the `SECCOMP_RET_*` value and the number of
/// instructions executed.
pub fn run_counted(prog: &[SockFilter], d: &Data) -> (u32, usize) {
    let data = d.bytes();
    let (mut pc, mut a, mut steps) = (0usize, 0u32, 0usize);
    loop {
        let i = prog[pc];
        steps += 1;
        let next = pc + 1;
        let cond = |taken: bool| next + usize::from(if taken { i.jt } else { i.jf });
        pc = match i.code {
            c if c == BPF_LD | BPF_W | BPF_ABS => {
                let k = i.k as usize;
                a = u32::from_le_bytes(data[k..k + 4].try_into().unwrap());
                next
            }
            c if c == BPF_ALU | BPF_AND | BPF_K => {
                a &= i.k;
                next
            }
            c if c == BPF_JMP | BPF_JA => next + i.k as usize,
            c if c == BPF_JMP | BPF_JEQ | BPF_K => cond(a == i.k),
            c if c == BPF_JMP | BPF_JGT | BPF_K => cond(a > i.k),
            c if c == BPF_JMP | BPF_JGE | BPF_K => cond(a >= i.k),
            c if c == BPF_JMP | BPF_JSET | BPF_K => cond(a & i.k != 0),
            c if c == BPF_RET | BPF_K => return (i.k, steps),
            _ => panic!("unknown instruction at {pc}: {i:?}"),
        };
    }
}

/// Runs the program and returns its verdict.
pub fn run(prog: &[SockFilter], d: &Data) -> u32 {
    run_counted(prog, d).0
}
