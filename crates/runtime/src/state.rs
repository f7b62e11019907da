//! A container's persistent state: `<root>/<id>/state.json`, written
//! atomically, and the status derived from the live system.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file that holds the container's init blocked until `start`.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";
/// The copy of config.json taken at create, used by exec, kill and delete.
pub const CONFIG_COPY: &str = "config.json";

/// The lifecycle status of the OCI runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being created.
    Creating,
    /// Created, init waits for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen by `pause`.
    Paused,
    /// Init has exited.
    Stopped,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        })
    }
}

/// What the runtime remembers of a container between commands.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The root filesystem on the host.
    pub rootfs: PathBuf,
    /// Host pid of the container's init process.
    pub pid: i32,
    /// Start time of `pid` (field 22 of /proc/<pid>/stat): tells a reused
    /// pid from our process.
    pub pid_start: u64,
    /// Creation time, RFC 3339.
    pub created: String,
    /// linux.cgroupsPath as config.json gave it (`None`: the default).
    pub cgroups_path: Option<String>,
    /// Annotations from config.json.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// Whether the container has its own pid namespace: killing init then
    /// kills everything in it.
    pub own_pid_ns: bool,
    /// The poststart hooks, run by `start` (kept here so that `start` need
    /// not parse config.json again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<oci_spec::runtime::Hook>,
    /// The poststop hooks, run by `delete`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<oci_spec::runtime::Hook>,
}

/// The state JSON the `state` command prints (the runtime spec's fields plus
/// runc's `rootfs`, `created` and `owner`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    /// Spec version.
    pub oci_version: &'a str,
    /// Container id.
    pub id: &'a str,
    /// Host pid of init (0 once stopped).
    pub pid: i32,
    /// Lifecycle status.
    pub status: Status,
    /// Bundle path.
    pub bundle: &'a Path,
    /// Root filesystem path.
    pub rootfs: &'a Path,
    /// Creation time.
    pub created: &'a str,
    /// Owner (runc prints an empty string).
    pub owner: &'a str,
    /// Annotations.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: &'a HashMap<String, String>,
}

/// The OCI runtime spec version Wharf implements.
pub const OCI_VERSION: &str = "1.2.0";

impl ContainerState {
    /// The state document for `state` and for hooks' stdin.
    pub fn oci(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: OCI_VERSION,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: "",
            annotations: &self.annotations,
        }
    }

    /// Reads `<dir>/state.json`.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let data = fs::read(dir.join(STATE_FILE))?;
        serde_json::from_slice(&data).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Writes `<dir>/state.json` atomically (temporary file, rename).
    pub fn save(&self, dir: &Path) -> io::Result<()> {
        let data = serde_json::to_vec(self).map_err(io::Error::other)?;
        write_atomic(&dir.join(STATE_FILE), &data)
    }

    /// Whether init still runs: the pid exists, is not a zombie, and has the
    /// start time recorded at create.
    pub fn init_alive(&self) -> bool {
        match proc_stat(self.pid) {
            Some((state, start)) => state != 'Z' && state != 'X' && start == self.pid_start,
            None => false,
        }
    }
}

/// Writes a file atomically: a temporary file beside it, then rename, so a
/// reader sees the old or the new content, never a part. There is no fsync:
/// runtime state lives under /run and does not outlive a reboot, so
/// surviving a power cut buys nothing (runc does the same).
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.{}", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// The state letter and start time of a process, from `/proc/<pid>/stat`.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start
    // after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    // starttime is field 22 overall, the 20th after "pid (comm)".
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// Formats the current time as RFC 3339 with nanoseconds, in UTC.
pub fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_nanos()
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn own_process_is_alive() {
        let pid = std::process::id() as i32;
        let (state, start) = proc_stat(pid).unwrap();
        assert_ne!(state, 'Z');
        let st = ContainerState {
            id: "x".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            pid,
            pid_start: start,
            created: now_rfc3339(),
            cgroups_path: None,
            annotations: HashMap::new(),
            own_pid_ns: true,
            poststart: Vec::new(),
            poststop: Vec::new(),
        };
        assert!(st.init_alive());
        let reused = ContainerState {
            pid_start: start + 1,
            ..st
        };
        assert!(!reused.init_alive());
    }
}
