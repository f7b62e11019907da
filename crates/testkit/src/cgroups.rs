//! The host's side of a container's cgroups, for tests: which layout the
//! host has, where a process's cgroup directory is in each hierarchy, and
//! running this test binary again inside the pure cgroup v2 guest
//! (`tools/cgroup2-vm.sh`) when the host is not pure v2.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::leaks::host_mounts;
use crate::paths::{bin_dir, probe_path, wharf_path};

/// Set inside the cgroup2 guest (the same variable `wharf-cgroups`' tests
/// use), so that a test there never starts another guest and knows it must
/// see cgroup v2.
pub const IN_GUEST_ENV: &str = "WHARF_IN_CGROUP2_VM";

/// Whether this process runs inside the cgroup2 guest.
pub fn in_guest() -> bool {
    std::env::var_os(IN_GUEST_ENV).is_some()
}

/// Whether `/sys/fs/cgroup` is itself a cgroup2 mount (pure v2, every
/// controller there), as opposed to hybrid or v1.
pub fn pure_v2() -> bool {
    host_mounts()
        .iter()
        .rev()
        .find(|m| m.mount_point == "/sys/fs/cgroup")
        .is_some_and(|m| m.fs_type == "cgroup2")
}

/// The mount point of the v1 hierarchy holding `controller` (`cpu`,
/// `memory`, `name=systemd`), if any.
pub fn v1_mount(controller: &str) -> Option<PathBuf> {
    host_mounts()
        .into_iter()
        .find(|m| m.fs_type == "cgroup" && m.super_options.iter().any(|o| o == controller))
        .map(|m| PathBuf::from(m.mount_point))
}

/// The mount point of the cgroup2 hierarchy, if any.
pub fn v2_mount() -> Option<PathBuf> {
    host_mounts()
        .into_iter()
        .find(|m| m.fs_type == "cgroup2")
        .map(|m| PathBuf::from(m.mount_point))
}

/// The cgroup path of `pid` (`self` allowed) in the hierarchy of
/// `controller`; `""` means the cgroup2 hierarchy (the `0::` line).
pub fn proc_cgroup(pid: &str, controller: &str) -> Option<String> {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (num, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let hit = if controller.is_empty() {
            num == "0" && ctrls.is_empty()
        } else {
            ctrls.split(',').any(|c| c == controller)
        };
        hit.then(|| path.to_string())
    })
}

/// The host directory of `pid`'s cgroup in the hierarchy of `controller`
/// (`""`: cgroup2).
pub fn cgroup_dir(pid: &str, controller: &str) -> Option<PathBuf> {
    let path = proc_cgroup(pid, controller)?;
    let mount = if controller.is_empty() {
        v2_mount()?
    } else {
        v1_mount(controller)?
    };
    Some(mount.join(path.trim_start_matches('/')))
}

/// The first line of a file, trimmed; `None` when it cannot be read.
pub fn first_line(path: &Path) -> Option<String> {
    let text = fs::read_to_string(path).ok()?;
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// The first real block device (not loop, ram, zram) as (`vda`, `"253:0"`):
/// a whole disk, as blkio throttling wants.
pub fn block_device() -> Option<(String, String)> {
    let mut names: Vec<String> = fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            !["loop", "ram", "zram", "nbd"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    names.sort();
    let name = names.into_iter().next()?;
    let dev = first_line(&Path::new("/sys/block").join(&name).join("dev"))?;
    Some((name, dev))
}

/// The huge page sizes the kernel offers, in the cgroup's spelling
/// (`2MB`, `1GB`), smallest first.
pub fn hugepage_sizes() -> Vec<String> {
    let mut kib: Vec<u64> = fs::read_dir("/sys/kernel/mm/hugepages")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()
        })
        .collect();
    kib.sort_unstable();
    kib.into_iter()
        .map(|k| match k {
            k if k >= 1 << 20 => format!("{}GB", k >> 20),
            k if k >= 1 << 10 => format!("{}MB", k >> 10),
            k => format!("{k}KB"),
        })
        .collect()
}

/// The workspace's root directory (holding `tools/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the running test executable again inside the cgroup2 guest with
/// `args` (a libtest filter and flags), with [`IN_GUEST_ENV`] set there,
/// from the workspace root (the guest's read-write share), and returns
/// what the harness printed and its status (the guest command's).
///
/// The test executable, `wharf` and the probe are copied first into a
/// private directory next to them (removed afterwards) and run from there
/// (`WHARF_BIN`, `WHARF_PROBE`; values already set are passed on as they
/// are, as is `WHARF_TEST_RUNTIME`), so that a build replacing the shared
/// binaries while the slow guest runs cannot pull them from under it.
pub fn run_self_in_guest(args: &[&str]) -> std::io::Result<Output> {
    let root = workspace_root().canonicalize()?;
    let stage = StageDir(
        bin_dir()
            .map_err(io::Error::other)?
            .join(format!("cgroup2-guest-{}", std::process::id())),
    );
    fs::create_dir_all(&stage.0)?;
    let copy = |from: PathBuf, name: &str| -> std::io::Result<PathBuf> {
        let to = stage.0.join(name);
        fs::copy(from, &to)?;
        Ok(to)
    };
    let exe = copy(std::env::current_exe()?, "test")?;
    let mut cmd = Command::new(root.join("tools/cgroup2-vm.sh"));
    for (var, name, path) in [
        ("WHARF_BIN", "wharf", wharf_path()),
        ("WHARF_PROBE", "wharf-probe", probe_path()),
    ] {
        if std::env::var_os(var).is_none() {
            cmd.env(var, copy(path.map_err(io::Error::other)?, name)?);
        }
    }
    cmd.arg(&exe)
        .args(args)
        .current_dir(&root)
        .env(IN_GUEST_ENV, "1")
        .env(
            "VM_ENV",
            format!("{IN_GUEST_ENV} RUST_BACKTRACE WHARF_BIN WHARF_PROBE WHARF_TEST_RUNTIME"),
        )
        .output()
}

/// A directory removed with its contents on drop.
struct StageDir(PathBuf);

impl Drop for StageDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The number of passed and failed tests in libtest's `test result:` line.
pub fn libtest_counts(stdout: &str) -> Option<(u32, u32)> {
    let line = stdout.lines().rev().find(|l| l.contains("test result:"))?;
    let num = |word: &str| -> Option<u32> {
        let before = line.split(&format!(" {word}")).next()?;
        before.rsplit([' ', '.']).next()?.parse().ok()
    };
    Some((num("passed")?, num("failed")?))
}
