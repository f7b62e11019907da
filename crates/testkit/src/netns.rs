//! A network namespace of a test fixture: every private daemon that does
//! networking runs in one of its own, so that parallel daemons never share
//! a bridge name, a firewall table or a subnet, and whatever a daemon
//! leaves there goes when the namespace is deleted.
//!
//! The namespace is made with `ip netns add` (a file under `/run/netns`)
//! and entered with `nsenter --net=<file>`, never `ip netns exec`: that
//! one also mounts a new `/sys`, which hides the cgroup hierarchies a
//! daemon needs. [`FixtureNetns::leftovers`] lists what networking left
//! in the namespace (links, firewall rules and elements, namespace files),
//! for "nothing leaks" checks that compare two moments.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::leaks::host_mounts;
use crate::runtime::output_with_timeout;

/// Where `ip netns add` puts its files.
pub const NETNS_DIR: &str = "/run/netns";

/// How long one command in the namespace may run (a hang guard).
const HOST_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Errors making the namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    /// `ip` could not be run.
    #[error("failed to run ip to set up the network namespace {name}")]
    Spawn {
        /// The namespace.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// `ip` refused.
    #[error("ip failed to set up the network namespace {name}: {stderr}")]
    Refused {
        /// The namespace.
        name: String,
        /// What ip said.
        stderr: String,
    },
}

/// A network namespace `/run/netns/<name>` with `lo` up; deleted on drop.
#[derive(Debug)]
pub struct FixtureNetns {
    name: String,
}

impl FixtureNetns {
    /// Makes the namespace `name` (deleting a stale one of that name
    /// first) and brings `lo` up in it.
    pub fn create(name: &str) -> Result<FixtureNetns, NetnsError> {
        remove(name);
        ip(name, &["netns", "add", name])?;
        let ns = FixtureNetns {
            name: name.to_string(),
        };
        ip(name, &["-n", name, "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's file.
    pub fn path(&self) -> PathBuf {
        Path::new(NETNS_DIR).join(&self.name)
    }

    /// `nsenter --net=<file> -- program args…`, not yet run: `program` in
    /// this namespace and in every other namespace of the caller.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
        net_command(&self.path(), program, args)
    }

    /// Runs `args` (a host command) in the namespace and returns its
    /// output (two minutes at most).
    pub fn run(&self, args: &[&str], out_dir: &Path) -> Output {
        run_host(Some(&self.path()), args, out_dir)
    }

    /// What networking left in the namespace and under `exec_root`, one
    /// line each: see [`net_leftovers`].
    pub fn leftovers(&self, exec_root: &Path, out_dir: &Path) -> Vec<String> {
        net_leftovers(Some(&self.path()), exec_root, out_dir)
    }
}

impl Drop for FixtureNetns {
    fn drop(&mut self) {
        remove(&self.name);
    }
}

/// Deletes the namespaces of fixtures whose directory `/tmp/<name>` is
/// gone (a test killed before its drop ran), for names starting with
/// `prefix`, after killing what still runs in them. A fixture makes its
/// directory before its namespace and deletes it first, so a live fixture
/// is never touched.
pub fn sweep_orphans(prefix: &str) {
    for entry in std::fs::read_dir(NETNS_DIR).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(prefix) && !Path::new("/tmp").join(&name).exists() {
            kill_members(&entry.path());
            remove(&name);
        }
    }
}

/// Deletes `/run/netns/<name>` if it exists (a missing one is fine).
pub fn remove(name: &str) {
    if Path::new(NETNS_DIR).join(name).exists() {
        let _ = Command::new("ip").args(["netns", "delete", name]).output();
    }
}

/// SIGKILLs every process (but this one) whose network namespace is the
/// one mounted on `netns` (a daemon's helpers, dockerd's userland proxies).
pub fn kill_members(netns: &Path) {
    let Ok(meta) = std::fs::metadata(netns) else {
        return;
    };
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let same = std::fs::metadata(entry.path().join("ns/net"))
            .is_ok_and(|m| m.ino() == meta.ino() && m.dev() == meta.dev());
        if same && pid != me {
            if let Some(pid) = rustix::process::Pid::from_raw(pid as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
}

/// `nsenter --net=<netns> -- program args…`.
pub fn net_command(netns: &Path, program: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Command {
    let mut cmd = Command::new("nsenter");
    cmd.arg(format!("--net={}", netns.display()))
        .arg("--")
        .arg(program)
        .args(args);
    cmd
}

/// `program args…` in `netns` ([`net_command`]), or in the caller's
/// namespace when None.
pub fn host_command(netns: Option<&Path>, program: &str, args: &[&str]) -> Command {
    match netns {
        Some(ns) => net_command(ns, program, args),
        None => {
            let mut c = Command::new(program);
            c.args(args);
            c
        }
    }
}

/// Runs `args` in `netns` (or in the caller's namespace when None), with
/// the proxy variables removed, two minutes at most; output files go in
/// `out_dir`.
pub fn run_host(netns: Option<&Path>, args: &[&str], out_dir: &Path) -> Output {
    let (program, rest) = args.split_first().expect("a command");
    let mut cmd = host_command(netns, program, rest);
    for var in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    output_with_timeout(
        &mut cmd,
        out_dir,
        &format!("host-{n}"),
        HOST_COMMAND_TIMEOUT,
    )
    .unwrap_or_else(|e| panic!("failed to run {}: {e}", args.join(" ")))
}

/// The addresses a wharf engine grants (`address <ip> <holder>`, from
/// its database, read-only): an address a stopped or removed container
/// kept is a leak like a veth. Empty when there is no database or table.
pub fn address_rows(db: &Path) -> Vec<String> {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = rusqlite::Connection::open_with_flags(db, flags) else {
        return Vec::new();
    };
    let _ = conn.busy_timeout(std::time::Duration::from_secs(30));
    let rows = conn
        .prepare("SELECT address, container_id FROM network_addresses")
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok(format!(
                    "address {} {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ))
            })?
            .collect::<Result<Vec<_>, _>>()
        });
    rows.unwrap_or_default()
}

/// What networking left, one line each, sorted (a daemon that restarts may
/// put the same rules back in another order): every link of
/// `netns` but `lo` (`link <name>`), every rule and set element of its
/// nftables ruleset with counters and handles left out (`nft <line>`),
/// and every namespace file mounted under `exec_root` (`netns <path>`).
/// Compare two calls to see what a step left behind.
pub fn net_leftovers(netns: Option<&Path>, exec_root: &Path, out_dir: &Path) -> Vec<String> {
    let mut left = Vec::new();
    let links = listed(netns, &["ip", "-o", "link", "show"], out_dir);
    for name in link_names(&String::from_utf8_lossy(&links.stdout)) {
        if name != "lo" {
            left.push(format!("link {name}"));
        }
    }
    let nft = listed(netns, &["nft", "list", "ruleset"], out_dir);
    for line in String::from_utf8_lossy(&nft.stdout).lines() {
        let line = normalise_rule(line);
        let structural = line.is_empty()
            || line == "}"
            || line.ends_with('{')
            || line.starts_with("type ")
            || line.starts_with("flags ");
        if !structural {
            left.push(format!("nft {line}"));
        }
    }
    for m in host_mounts() {
        if m.fs_type == "nsfs" && Path::new(&m.mount_point).starts_with(exec_root) {
            left.push(format!("netns {}", m.mount_point));
        }
    }
    left.sort();
    left
}

/// The interface names in `ip -o link` output, in its order (`veth1@if2`
/// gives `veth1`).
pub fn link_names(ip_o_link: &str) -> Vec<String> {
    ip_o_link
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// [`run_host`] of a listing that must succeed: a listing that failed
/// would list nothing, and two empty lists always compare equal.
fn listed(netns: Option<&Path>, args: &[&str], out_dir: &Path) -> Output {
    let out = run_host(netns, args, out_dir);
    assert!(
        out.status.success(),
        "{} failed: {}",
        args.join(" "),
        crate::output::explain(&out)
    );
    out
}

/// A ruleset line without its counters and trailing comment handles.
fn normalise_rule(line: &str) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut it = line.split_whitespace().peekable();
    while let Some(w) = it.next() {
        if w == "counter" && it.peek() == Some(&"packets") {
            // counter packets N bytes M
            for _ in 0..4 {
                it.next();
            }
            continue;
        }
        words.push(w);
    }
    words.join(" ")
}

fn ip(name: &str, args: &[&str]) -> Result<(), NetnsError> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|source| NetnsError::Spawn {
            name: name.to_string(),
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError::Refused {
            name: name.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}
