//! `wharf-probe report`: gathers what the process sees of itself.

use std::collections::BTreeMap;
use std::fs;

use rustix::process::{self, Resource};
use wharf_testkit::{CapSet, CapSets, MountEntry, Report, Rlimit};

/// Every resource limit with its OCI name.
const RLIMITS: [(&str, Resource); 16] = [
    ("RLIMIT_CPU", Resource::Cpu),
    ("RLIMIT_FSIZE", Resource::Fsize),
    ("RLIMIT_DATA", Resource::Data),
    ("RLIMIT_STACK", Resource::Stack),
    ("RLIMIT_CORE", Resource::Core),
    ("RLIMIT_RSS", Resource::Rss),
    ("RLIMIT_NPROC", Resource::Nproc),
    ("RLIMIT_NOFILE", Resource::Nofile),
    ("RLIMIT_MEMLOCK", Resource::Memlock),
    ("RLIMIT_AS", Resource::As),
    ("RLIMIT_LOCKS", Resource::Locks),
    ("RLIMIT_SIGPENDING", Resource::Sigpending),
    ("RLIMIT_MSGQUEUE", Resource::Msgqueue),
    ("RLIMIT_NICE", Resource::Nice),
    ("RLIMIT_RTPRIO", Resource::Rtprio),
    ("RLIMIT_RTTIME", Resource::Rttime),
];

/// The namespace links of `/proc/self/ns`.
const NAMESPACES: [&str; 10] = [
    "cgroup",
    "ipc",
    "mnt",
    "net",
    "pid",
    "pid_for_children",
    "time",
    "time_for_children",
    "user",
    "uts",
];

/// Builds the report; a part that cannot be read is left empty and named
/// in `errors`.
pub fn report() -> Report {
    let mut r = Report {
        pid: process::getpid().as_raw_nonzero().get(),
        ppid: process::getppid().map_or(0, |p| p.as_raw_nonzero().get()),
        uid: process::getuid().as_raw(),
        gid: process::getgid().as_raw(),
        euid: process::geteuid().as_raw(),
        egid: process::getegid().as_raw(),
        hostname: rustix::system::uname()
            .nodename()
            .to_string_lossy()
            .into_owned(),
        env: std::env::vars_os()
            .map(|(k, v)| (k.to_string_lossy().into(), v.to_string_lossy().into()))
            .collect(),
        ..Report::default()
    };
    match process::getgroups() {
        Ok(g) => r.groups = g.iter().map(|g| g.as_raw()).collect(),
        Err(e) => r.errors.push(format!("getgroups: {e}")),
    }
    r.domainname = read_trim("/proc/sys/kernel/domainname", &mut r.errors).unwrap_or_default();
    match std::env::current_dir() {
        Ok(d) => r.cwd = d.to_string_lossy().into_owned(),
        Err(e) => r.errors.push(format!("cwd: {e}")),
    }
    status_fields(&mut r);
    for (name, res) in RLIMITS {
        let l = process::getrlimit(res);
        r.rlimits.insert(
            name.into(),
            Rlimit {
                soft: l.current,
                hard: l.maximum,
            },
        );
    }
    r.oom_score_adj =
        read_trim("/proc/self/oom_score_adj", &mut r.errors).and_then(|s| s.parse().ok());
    for ns in NAMESPACES {
        // A link reads `pid:[4026531836]`; a kernel without the type has
        // no link, which is not an error worth reporting.
        if let Ok(target) = fs::read_link(format!("/proc/self/ns/{ns}")) {
            let t = target.to_string_lossy();
            if let Some(inode) = t
                .split_once('[')
                .and_then(|(_, rest)| rest.trim_end_matches(']').parse().ok())
            {
                r.namespaces.insert(ns.into(), inode);
            }
        }
    }
    if let Some(text) = read_trim("/proc/self/mountinfo", &mut r.errors) {
        r.mounts = text.lines().filter_map(MountEntry::parse).collect();
    }
    if let Some(text) = read_trim("/proc/self/cgroup", &mut r.errors) {
        r.cgroups = text.lines().map(str::to_string).collect();
    }
    r.fds = open_fds(&mut r.errors);
    match fs::read_dir("/dev") {
        Ok(entries) => {
            r.dev = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            r.dev.sort();
        }
        Err(e) => r.errors.push(format!("/dev: {e}")),
    }
    r
}

fn read_trim(path: &str, errors: &mut Vec<String>) -> Option<String> {
    match fs::read_to_string(path) {
        Ok(s) => Some(s.trim_end_matches('\n').to_string()),
        Err(e) => {
            errors.push(format!("{path}: {e}"));
            None
        }
    }
}

/// Umask, capabilities, NoNewPrivs and Seccomp from `/proc/self/status`.
fn status_fields(r: &mut Report) {
    let Some(status) = read_trim("/proc/self/status", &mut r.errors) else {
        return;
    };
    let mut caps = CapSets::default();
    for line in status.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || CapSet::from_mask(u64::from_str_radix(value, 16).unwrap_or(0));
        match key {
            "Umask" => r.umask = u32::from_str_radix(value, 8).ok(),
            "CapInh" => caps.inheritable = hex(),
            "CapPrm" => caps.permitted = hex(),
            "CapEff" => caps.effective = hex(),
            "CapBnd" => caps.bounding = hex(),
            "CapAmb" => caps.ambient = hex(),
            "NoNewPrivs" => r.no_new_privs = value == "1",
            "Seccomp" => r.seccomp = value.parse().ok(),
            _ => {}
        }
    }
    r.caps = caps;
}

/// Open descriptors and their targets, leaving out the one used to list
/// them.
fn open_fds(errors: &mut Vec<String>) -> BTreeMap<i32, String> {
    let mut fds = BTreeMap::new();
    let entries = match fs::read_dir("/proc/self/fd") {
        Ok(e) => e,
        Err(e) => {
            errors.push(format!("/proc/self/fd: {e}"));
            return fds;
        }
    };
    let names: Vec<_> = entries.flatten().map(|e| e.file_name()).collect();
    for name in names {
        let Some(fd) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        // The directory stream is closed by now, so its descriptor no
        // longer resolves.
        if let Ok(target) = fs::read_link(format!("/proc/self/fd/{fd}")) {
            fds.insert(fd, target.to_string_lossy().into_owned());
        }
    }
    fds
}
