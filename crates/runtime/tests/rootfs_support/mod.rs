//! Support for the rootfs root tests: each test runs its body in a child
//! process started through util-linux `unshare` (new mount namespace, plus
//! whatever namespaces the test asks for) — the child is the test binary
//! itself, re-run with `--exact <test>` — so that prepare/pivot/finalize act
//! on a throw-away mount namespace. The fixture directory lives under /tmp
//! and is removed by a Drop guard after the child is gone; all mounts die
//! with the child's namespace.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use oci_spec::runtime::Spec;
use wharf_runtime::rootfs::{CgroupMount, RootfsConfig};

const CHILD_ENV: &str = "WHARF_ROOTFS_TEST_DIR";
/// Env var with the pid of the test process (the host side).
pub const PARENT_ENV: &str = "WHARF_ROOTFS_TEST_PARENT";

/// The fixture: `<dir>/rootfs` (a busybox root) and `<dir>/host` (host-side
/// files that must stay untouched).
pub struct Fixture {
    pub dir: PathBuf,
    /// Extra cleanup run before the directory is removed (host mounts).
    pub unmount: Vec<PathBuf>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for m in self.unmount.iter().rev() {
            let _ = wharf_sys::mount::unmount(m, true);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn host(&self) -> PathBuf {
        self.dir.join("host")
    }
}

fn build_fixture(test: &str) -> Fixture {
    let dir = PathBuf::from(format!("/tmp/wharf-rootfs-{test}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let fx = Fixture {
        dir,
        unmount: Vec::new(),
    };
    let root = fx.rootfs();
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "run"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::create_dir_all(fx.host()).unwrap();
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    fs::set_permissions(root.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
    fs::write(root.join("marker"), "inside").unwrap();
    fs::write(fx.host().join("marker"), "host").unwrap();
    fx
}

/// Runs `child` in a new mount namespace (plus `unshare_args`) and asserts
/// that it succeeded. `setup` prepares the fixture on the host side first;
/// `after` checks the host side once the child is gone.
pub fn in_child(
    test: &str,
    unshare_args: &[&str],
    setup: impl FnOnce(&mut Fixture),
    child: impl FnOnce(&Path),
    after: impl FnOnce(&Fixture),
) {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        println!("WHARF-CHILD-OK");
        return;
    }
    let mut fx = build_fixture(test);
    setup(&mut fx);
    let out = Command::new("unshare")
        .arg("--mount")
        .args(unshare_args)
        .args(["--propagation", "unchanged", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &fx.dir)
        .env(PARENT_ENV, std::process::id().to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("WHARF-CHILD-OK"),
        "child failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    after(&fx);
}

/// A spec with these mounts and `linux` section.
pub fn spec(mounts: serde_json::Value, linux: serde_json::Value) -> Spec {
    serde_json::from_value(serde_json::json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs"},
        "mounts": mounts,
        "linux": linux,
    }))
    .unwrap()
}

/// A config over the fixture in `dir`.
pub fn config<'a>(spec: &'a Spec, dir: &'a Path, rootfs: &'a Path) -> RootfsConfig<'a> {
    RootfsConfig {
        spec,
        rootfs,
        bundle: dir,
        no_pivot: false,
        in_user_ns: false,
        cgroup_ns: false,
        cgroup_mounts: &[] as &[CgroupMount],
    }
}

/// One mountinfo line: mount point, per-mount options, optional fields,
/// fstype, super options.
#[derive(Debug, Clone)]
pub struct Mnt {
    pub point: String,
    pub opts: String,
    pub optional: String,
    pub fstype: String,
    pub sopts: String,
}

/// Parses a mountinfo file.
pub fn mounts_of(path: &str) -> Vec<Mnt> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let (pre, post) = l.split_once(" - ").unwrap();
            let pre: Vec<&str> = pre.split(' ').collect();
            let post: Vec<&str> = post.split(' ').collect();
            Mnt {
                point: pre[4].to_owned(),
                opts: pre[5].to_owned(),
                optional: pre[6..].join(" "),
                fstype: post[0].to_owned(),
                sopts: post.get(2).unwrap_or(&"").to_string(),
            }
        })
        .collect()
}

/// Our own mounts.
pub fn mounts() -> Vec<Mnt> {
    mounts_of("/proc/self/mountinfo")
}

/// The topmost mount at `point`.
pub fn mount_at(point: &str) -> Option<Mnt> {
    mounts().into_iter().rev().find(|m| m.point == point)
}

/// Asserts that writing a file at `path` fails with EROFS.
pub fn assert_erofs(path: &str) {
    let err = fs::write(path, "x").expect_err(path);
    assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{path}: {err}");
}
