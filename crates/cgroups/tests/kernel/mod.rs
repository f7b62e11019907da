//! Helpers for the root tests on the real kernel: unique names, clean-up
//! guards, a probe child process, and running a test inside the cgroup2
//! guest (`tools/cgroup2-vm.sh`) when this host is not pure cgroup v2.
#![allow(dead_code)]

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use wharf_cgroups::{Cgroup, Layout, Mode};

/// Set inside the guest, so that a test can never start a guest recursively.
const IN_VM: &str = "WHARF_IN_CGROUP2_VM";

pub fn require_root() {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    assert_eq!(
        uid.split_whitespace().nth(2),
        Some("0"),
        "root tests need euid 0"
    );
}

/// A cgroup name no other test or run uses.
pub fn unique(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("wharf-test-{tag}-{}-{nanos}", std::process::id())
}

/// Owns a cgroup and the processes put into it; on drop (also when the test
/// fails) kills the processes by pid and removes the cgroup everywhere.
pub struct Guard {
    pub cg: Cgroup,
    pub children: Vec<Child>,
}

impl Guard {
    pub fn new(cgroups_path: Option<&str>, id: &str) -> Guard {
        require_root();
        let cg = Cgroup::new(Layout::detect().unwrap(), cgroups_path, id).unwrap();
        Guard {
            cg,
            children: Vec::new(),
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.cg.thaw();
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Err(e) = self.cg.destroy() {
            eprintln!("clean-up failed: {e}");
        }
    }
}

/// A shell that, per line on stdin, tries to open /dev/null for reading
/// (`open` → `open-ok`/`open-denied`) or writing (`write` → `write-ok`/
/// `write-denied`); `spin` makes it loop on the CPU forever. `true` is a
/// regular built-in, so a refused redirection does not end the shell.
pub struct Probe {
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
}

pub fn spawn_probe(guard: &mut Guard) -> (i32, Probe) {
    let script = "while read cmd; do case $cmd in \
        open) if true </dev/null; then echo open-ok; else echo open-denied; fi;; \
        write) if true >/dev/null; then echo write-ok; else echo write-denied; fi;; \
        spin) while :; do :; done;; \
        *) exit 0;; esac; done";
    let mut child = Command::new("/bin/sh")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let probe = Probe {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
    };
    guard.children.push(child);
    (pid, probe)
}

impl Probe {
    pub fn ask(&mut self, cmd: &str) -> String {
        writeln!(self.stdin, "{cmd}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        line.trim().to_string()
    }

    pub fn send(&mut self, cmd: &str) {
        writeln!(self.stdin, "{cmd}").unwrap();
    }
}

/// The state letter of `pid` in /proc/<pid>/status (`R`, `S`, `D`, …).
pub fn proc_state(pid: i32) -> String {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("State:"))
        .unwrap()
        .trim()[..1]
        .to_string()
}

/// The first real block device (not loop, ram or zram) as (name, "MAJ:MIN").
pub fn block_device() -> Option<(String, String)> {
    let mut names: Vec<String> = fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let name = names
        .into_iter()
        .find(|n| !["loop", "ram", "zram"].iter().any(|p| n.starts_with(p)))?;
    let dev = fs::read_to_string(format!("/sys/block/{name}/dev"))
        .ok()?
        .trim()
        .to_string();
    Some((name, dev))
}

/// Reads `file` in `cg`'s directory of the hierarchy holding `ctrl` (a v1
/// controller name, else the v2 directory).
pub fn kernel_file(cg: &Cgroup, ctrl: &str, file: &str) -> String {
    let dir = cg
        .dirs()
        .find(|(h, _)| h.version == wharf_cgroups::Version::V1 && h.has(ctrl))
        .map(|(_, d)| d)
        .or_else(|| cg.v2_dir())
        .unwrap();
    let p = dir.join(file);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Whether `cg`'s controller `v1` is on a v1 hierarchy here.
pub fn on_v1(cg: &Cgroup, v1: &str) -> bool {
    cg.layout().v1(v1).is_some()
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs the tests of this test binary matching `filter` inside the cgroup2
/// guest and asserts that they passed.
pub fn run_in_guest(filter: &str, exact: bool) {
    require_root();
    assert!(
        std::env::var_os(IN_VM).is_none(),
        "inside the cgroup2 guest but the layout is not pure v2"
    );
    let root = workspace_root();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(root.join("tools/cgroup2-vm.sh"));
    cmd.arg(&exe).arg(filter);
    if exact {
        cmd.arg("--exact");
    }
    let status = cmd
        .args(["--nocapture", "--test-threads=1"])
        .current_dir(&root)
        .env(IN_VM, "1")
        .env("VM_ENV", format!("{IN_VM} RUST_BACKTRACE"))
        .status()
        .expect("tools/cgroup2-vm.sh could not be started");
    assert!(
        status.success(),
        "tests matching {filter:?} failed in the cgroup2 guest: {status}"
    );
}

/// True when this host is pure cgroup v2 and the test should run here;
/// otherwise runs the test `name` inside the cgroup2 guest, asserts that it
/// passed there, and returns false.
pub fn on_cgroup2(name: &str) -> bool {
    if Layout::detect().unwrap().mode() == Mode::Unified {
        return true;
    }
    run_in_guest(name, true);
    false
}
