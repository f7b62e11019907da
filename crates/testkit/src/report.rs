//! The JSON shapes that `wharf-probe` prints, shared by the probe (which
//! fills them) and the tests (which parse them).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything the probe saw from inside the container (`wharf-probe report`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Report {
    /// `getpid()`: 1 when the probe is a new pid namespace's init.
    pub pid: i32,
    /// `getppid()`: 0 when the parent is outside the pid namespace.
    pub ppid: i32,
    /// Real user id.
    pub uid: u32,
    /// Real group id.
    pub gid: u32,
    /// Effective user id.
    pub euid: u32,
    /// Effective group id.
    pub egid: u32,
    /// Supplementary groups (`getgroups`).
    pub groups: Vec<u32>,
    /// `uname().nodename`.
    pub hostname: String,
    /// `/proc/sys/kernel/domainname`, empty when unreadable.
    pub domainname: String,
    /// Current working directory, empty when unreadable.
    pub cwd: String,
    /// `Umask:` of `/proc/self/status`.
    pub umask: Option<u32>,
    /// The environment, variable name to value.
    pub env: BTreeMap<String, String>,
    /// The five capability sets of `/proc/self/status`.
    pub caps: CapSets,
    /// `NoNewPrivs:` of `/proc/self/status`.
    pub no_new_privs: bool,
    /// `Seccomp:` of `/proc/self/status`: 0 off, 1 strict, 2 filter.
    pub seccomp: Option<u32>,
    /// Every resource limit by its OCI name (`RLIMIT_NOFILE`).
    pub rlimits: BTreeMap<String, Rlimit>,
    /// `/proc/self/oom_score_adj`.
    pub oom_score_adj: Option<i32>,
    /// Namespace inode numbers by type (`pid`, `net`, `mnt`, ...).
    pub namespaces: BTreeMap<String, u64>,
    /// Parsed `/proc/self/mountinfo`, in file order.
    pub mounts: Vec<MountEntry>,
    /// Lines of `/proc/self/cgroup`.
    pub cgroups: Vec<String>,
    /// Open file descriptors and what they point to.
    pub fds: BTreeMap<i32, String>,
    /// Names of the entries of `/dev` (top level only), sorted.
    pub dev: Vec<String>,
    /// Things the probe failed to read, as `what: error` lines.
    pub errors: Vec<String>,
}

impl Report {
    /// The mount whose mount point is `path`; the last one wins, as in the
    /// kernel when mounts are stacked.
    pub fn mount(&self, path: &str) -> Option<&MountEntry> {
        self.mounts.iter().rev().find(|m| m.mount_point == path)
    }

    /// The value of an environment variable.
    pub fn env_var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }
}

/// The five capability sets of a process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapSets {
    /// `CapInh`.
    pub inheritable: CapSet,
    /// `CapPrm`.
    pub permitted: CapSet,
    /// `CapEff`.
    pub effective: CapSet,
    /// `CapBnd`.
    pub bounding: CapSet,
    /// `CapAmb`.
    pub ambient: CapSet,
}

/// One capability set, as a mask and as names (`CAP_CHOWN`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CapSet {
    /// The raw mask: bit n is capability n.
    pub mask: u64,
    /// The names of the bits that are set, lowest bit first.
    pub names: Vec<String>,
}

impl CapSet {
    /// Builds a set from its mask, naming every bit.
    pub fn from_mask(mask: u64) -> Self {
        let names = (0..64)
            .filter(|bit| mask & (1u64 << bit) != 0)
            .map(crate::caps::cap_name)
            .collect();
        CapSet { mask, names }
    }

    /// Whether the set holds the capability with this name (`CAP_SYS_ADMIN`).
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// A soft and a hard limit; `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimit {
    /// The soft (current) limit.
    pub soft: Option<u64>,
    /// The hard (maximum) limit.
    pub hard: Option<u64>,
}

/// One line of `/proc/self/mountinfo` (see proc_pid_mountinfo(5)).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountEntry {
    /// Mount id.
    pub id: u32,
    /// Parent mount id.
    pub parent: u32,
    /// `major:minor` of the filesystem's device.
    pub dev: String,
    /// The root of the mount within its filesystem.
    pub root: String,
    /// The mount point, relative to the process's root.
    pub mount_point: String,
    /// Per-mount options (`ro`, `nosuid`, ...).
    pub options: Vec<String>,
    /// Optional fields: `shared:N`, `master:N`, `propagate_from:N`,
    /// `unbindable`; empty for a private mount.
    pub propagation: Vec<String>,
    /// Filesystem type (`proc`, `tmpfs`, ...).
    pub fs_type: String,
    /// Mount source.
    pub source: String,
    /// Per-superblock options.
    pub super_options: Vec<String>,
}

impl MountEntry {
    /// Parses one mountinfo line; `None` when it is malformed.
    pub fn parse(line: &str) -> Option<Self> {
        let (left, right) = line.split_once(" - ")?;
        let mut l = left.split(' ');
        let id = l.next()?.parse().ok()?;
        let parent = l.next()?.parse().ok()?;
        let dev = l.next()?.to_string();
        let root = unescape(l.next()?);
        let mount_point = unescape(l.next()?);
        let options = split_opts(l.next()?);
        let propagation = l.map(str::to_string).collect();
        let mut r = right.splitn(3, ' ');
        let fs_type = r.next()?.to_string();
        let source = unescape(r.next().unwrap_or(""));
        let super_options = split_opts(r.next().unwrap_or(""));
        Some(MountEntry {
            id,
            parent,
            dev,
            root,
            mount_point,
            options,
            propagation,
            fs_type,
            source,
            super_options,
        })
    }

    /// Whether the per-mount options hold `opt` (`ro`, `nosuid`, ...).
    pub fn has_option(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }
}

fn split_opts(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// Undoes the octal escapes (`\040` for a space) the kernel writes in
/// mountinfo paths.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let oct = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What every other probe command prints: whether it worked, and if not the
/// errno; command-specific fields are in `data`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ActionResult {
    /// The probe command (`write`, `forkbomb`, ...).
    pub action: String,
    /// Whether the action succeeded.
    pub ok: bool,
    /// The OS error number when it failed with one.
    pub errno: Option<i32>,
    /// The error message when it failed.
    pub error: Option<String>,
    /// Command-specific results (`count`, `value`, `entries`, ...).
    #[serde(flatten)]
    pub data: serde_json::Map<String, serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mountinfo_line() {
        let line = "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=continue";
        let m = MountEntry::parse(line).unwrap();
        assert_eq!(m.id, 36);
        assert_eq!(m.parent, 35);
        assert_eq!(m.mount_point, "/mnt x");
        assert_eq!(m.propagation, vec!["master:1", "shared:2"]);
        assert_eq!(m.fs_type, "ext3");
        assert_eq!(m.source, "/dev/root");
        assert!(m.has_option("noatime"));
        assert_eq!(m.super_options, vec!["rw", "errors=continue"]);
    }

    #[test]
    fn names_capability_bits() {
        let set = CapSet::from_mask((1 << 0) | (1 << 21) | (1 << 63));
        assert_eq!(set.names, vec!["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_63"]);
        assert!(set.has("CAP_SYS_ADMIN"));
    }
}
