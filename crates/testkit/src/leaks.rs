//! Checks that a container left nothing on the host: no cgroup directory,
//! no mount, no process.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::mount::{unmount, UnmountFlags};

use crate::report::MountEntry;

/// How deep below each cgroup hierarchy's root [`leaks`] looks.
const CGROUP_DEPTH: usize = 6;

/// The host's mounts, as this process sees them.
pub fn host_mounts() -> Vec<MountEntry> {
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(MountEntry::parse)
        .collect()
}

/// Everything `id` (a container id) or `bundle` left behind: cgroup
/// directories whose name contains the id, host mounts under the bundle or
/// naming the id, and processes whose command line or cgroup names the id.
/// Each leak is one line naming what was found.
pub fn leaks(id: &str, bundle: Option<&Path>) -> Vec<String> {
    let mut found = Vec::new();
    let mounts = host_mounts();
    for m in mounts
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
    {
        walk_cgroups(Path::new(&m.mount_point), id, CGROUP_DEPTH, &mut found);
    }
    for m in &mounts {
        let under_bundle = bundle.is_some_and(|b| {
            Path::new(&m.mount_point).starts_with(b) || Path::new(&m.source).starts_with(b)
        });
        if under_bundle || m.mount_point.contains(id) {
            found.push(format!("mount {} ({})", m.mount_point, m.fs_type));
        }
    }
    let me = std::process::id().to_string();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == me {
            continue;
        }
        let dir = entry.path();
        let cmdline = fs::read(dir.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cgroup = fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
        if orphan_zombie(&dir) {
            // Dead, holding nothing but its pid, waiting for pid 1 to reap
            // it (this sandbox's pid 1 reaps about every two seconds).
            continue;
        }
        if cmdline.contains(id) || cgroup.contains(id) {
            found.push(format!("process {name}: {}", cmdline.trim()));
        }
    }
    found
}

/// Whether the process at `dir` (/proc/<pid>) is a zombie whose parent is
/// pid 1.
fn orphan_zombie(dir: &Path) -> bool {
    let Ok(stat) = fs::read_to_string(dir.join("stat")) else {
        return false;
    };
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return false;
    };
    let mut fields = rest.split_whitespace();
    fields.next() == Some("Z") && fields.next() == Some("1")
}

/// Panics listing every leak of [`leaks`]. A process or mount may take a
/// moment to go after the runtime returned (a zombie being reaped), so the
/// check is repeated for up to two seconds before it fails.
pub fn assert_no_leaks(id: &str, bundle: Option<&Path>) {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let found = leaks(id, bundle);
        if found.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            panic!("container {id} left behind:\n  {}", found.join("\n  "));
        }
        sleep(Duration::from_millis(50));
    }
}

fn walk_cgroups(dir: &Path, id: &str, depth: usize, found: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().contains(id) {
            found.push(format!("cgroup {}", path.display()));
        } else if depth > 0 {
            walk_cgroups(&path, id, depth - 1, found);
        }
    }
}

/// Detaches every mount at or below `dir`, deepest first; returns whether
/// none remains. Used before a test directory is removed, so that removing
/// it never reaches through a leaked mount into the host.
pub fn unmount_under(dir: &Path) -> bool {
    let under = |m: &MountEntry| Path::new(&m.mount_point).starts_with(dir);
    let mut points: Vec<PathBuf> = host_mounts()
        .iter()
        .filter(|m| under(m))
        .map(|m| PathBuf::from(&m.mount_point))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for p in &points {
        let _ = unmount(p, UnmountFlags::DETACH);
    }
    !host_mounts().iter().any(under)
}

/// Removes what a broken runtime may have left for container `id`: kills
/// every process whose command line or cgroup names the id, then removes
/// the cgroup directories named after it, deepest first. Best effort; used
/// by [`Runtime`](crate::Runtime)'s drop after `delete --force`.
pub fn remove_leftovers(id: &str) {
    let me = std::process::id().to_string();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == me {
            continue;
        }
        let Ok(pid) = name.parse::<i32>() else {
            continue;
        };
        let dir = entry.path();
        let cmdline = fs::read(dir.join("cmdline")).unwrap_or_default();
        let cgroup = fs::read_to_string(dir.join("cgroup")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(id) || cgroup.contains(id) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            }
        }
    }
    let mut dirs = Vec::new();
    for m in host_mounts()
        .iter()
        .filter(|m| m.fs_type == "cgroup" || m.fs_type == "cgroup2")
    {
        walk_cgroups(Path::new(&m.mount_point), id, CGROUP_DEPTH, &mut dirs);
    }
    for line in dirs {
        let path = PathBuf::from(line.trim_start_matches("cgroup "));
        remove_cgroup_tree(&path);
    }
}

/// Removes a cgroup directory and its children (cgroup directories are
/// removed with rmdir, children first). A cgroup still holding a process
/// may take a moment to empty after SIGKILL, so each rmdir is retried.
fn remove_cgroup_tree(dir: &Path) {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_cgroup_tree(&entry.path());
        }
    }
    for _ in 0..40 {
        if fs::remove_dir(dir).is_ok() || !dir.exists() {
            return;
        }
        sleep(Duration::from_millis(25));
    }
}
