//! Regression tests for rootfs escapes: symlinks in the image used as mount
//! destinations (CVE-2021-30465 class), masked/readonly paths replaced by
//! symlinks and a fake `/dev/null` (CVE-2025-31133), mounts propagating to
//! the host, and masked/readonly paths doing their job.

mod rootfs_support;

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt};
use std::path::Path;

use rootfs_support::*;
use serde_json::json;
use wharf_runtime::rootfs;

#[test]
fn symlink_destination_escape() {
    in_child(
        "symlink_destination_escape",
        &["--pid", "--fork"],
        |fx| {
            // Symlinks in the image aiming out of the rootfs, absolute and relative.
            symlink(fx.host(), fx.rootfs().join("evil_abs")).unwrap();
            symlink("../host", fx.rootfs().join("evil_rel")).unwrap();
            symlink("../../../../../../../../etc", fx.rootfs().join("evil_etc")).unwrap();
            fs::write(fx.host().join("file.txt"), "bind me").unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let host = dir.join("host");
            let etc_before = mounts()
                .iter()
                .filter(|m| m.point.starts_with("/etc"))
                .count();
            let spec = spec(
                json!([
                    {"destination": "/evil_abs/mnt", "type": "tmpfs", "source": "tmpfs"},
                    {"destination": "/evil_rel", "type": "tmpfs", "source": "tmpfs"},
                    {"destination": "/evil_etc/passwd", "type": "bind", "source": host.join("file.txt"), "options": ["bind"]},
                    {"destination": "/evil_rel/../../escape", "type": "tmpfs", "source": "tmpfs"}
                ]),
                json!({}),
            );
            rootfs::prepare(&config(&spec, dir, &rootfs)).unwrap();
            // Nothing landed on the host side...
            assert!(!host.join("mnt").exists(), "mkdir escaped the rootfs");
            assert!(!dir.join("escape").exists() && !Path::new("/escape").exists());
            let all = mounts();
            let host_s = host.to_str().unwrap();
            assert!(
                !all.iter()
                    .any(|m| m.point == host_s || m.point.starts_with(&format!("{host_s}/"))),
                "a mount escaped onto the host dir: {all:#?}"
            );
            assert_eq!(
                all.iter().filter(|m| m.point.starts_with("/etc")).count(),
                etc_before
            );
            assert_ne!(
                fs::read_to_string("/etc/passwd").unwrap_or_default(),
                "bind me"
            );
            // ...everything landed inside, where the container sees it.
            let r = rootfs.to_str().unwrap();
            for inside in [
                format!("{r}{host_s}/mnt"),
                format!("{r}/host"),
                format!("{r}/etc/passwd"),
                format!("{r}/escape"),
            ] {
                assert!(
                    all.iter().any(|m| m.point == inside),
                    "no mount at {inside}: {all:#?}"
                );
            }
            assert_eq!(
                fs::read_to_string(rootfs.join("etc/passwd")).unwrap(),
                "bind me"
            );
        },
        |fx| {
            let names: Vec<_> = fs::read_dir(fx.host())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names.len(), 2, "host dir changed: {names:?}");
        },
    );
}

#[test]
fn mounts_do_not_propagate_to_the_host() {
    in_child(
        "mounts_do_not_propagate_to_the_host",
        &[],
        |fx| {
            // Make the fixture a shared mount on the host: without the rslave
            // step, every mount below it in the child would show up here.
            wharf_sys::mount::bind_recursive(&fx.dir, &fx.dir).unwrap();
            fx.unmount.push(fx.dir.clone());
            wharf_sys::mount::set_propagation(
                &fx.dir,
                wharf_sys::mount::Propagation::Shared,
                false,
            )
            .unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = spec(
                json!([{"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}]),
                json!({}),
            );
            rootfs::prepare(&config(&spec, dir, &rootfs)).unwrap();
            let inside = format!("{}/tmp", rootfs.display());
            assert!(
                mounts().iter().any(|m| m.point == inside),
                "mount missing in the child"
            );
            let parent = std::env::var(PARENT_ENV).unwrap();
            let host = mounts_of(&format!("/proc/{parent}/mountinfo"));
            assert!(
                host.iter().any(|m| m.point == dir.to_str().unwrap()),
                "host view lacks the fixture"
            );
            let leaked: Vec<_> = host
                .iter()
                .filter(|m| m.point.starts_with(rootfs.to_str().unwrap()))
                .collect();
            assert!(leaked.is_empty(), "propagated to the host: {leaked:#?}");
        },
        |_| {},
    );
}

fn base_mounts() -> serde_json::Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["mode=755"]}
    ])
}

#[test]
fn masked_and_readonly_paths() {
    in_child(
        "masked_and_readonly_paths",
        &["--pid", "--fork"],
        |fx| {
            let r = fx.rootfs();
            fs::write(r.join("etc/secret"), "s3cret").unwrap();
            fs::create_dir_all(r.join("secretdir")).unwrap();
            fs::write(r.join("secretdir/key"), "k").unwrap();
            fs::create_dir_all(r.join("ro_dir/sub")).unwrap();
            fs::write(r.join("ro_dir/file"), "read me").unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let mut mounts = base_mounts();
            mounts
                .as_array_mut()
                .unwrap()
                .push(json!({"destination": "/ro_dir/sub", "type": "tmpfs", "source": "tmpfs"}));
            let spec = spec(
                mounts,
                json!({
                    "maskedPaths": ["/etc/secret", "/secretdir", "/missing/path", "/proc/keys", "/proc/acpi", "/etc/secret/notdir"],
                    "readonlyPaths": ["/ro_dir", "/proc/sys", "/missing2"]
                }),
            );
            let cfg = config(&spec, dir, &rootfs);
            rootfs::prepare(&cfg).unwrap();
            rootfs::pivot(&cfg).unwrap();
            rootfs::finalize(&cfg).unwrap();
            assert_eq!(fs::read_to_string("/etc/secret").unwrap(), "");
            assert!(
                fs::read_dir("/secretdir").unwrap().next().is_none(),
                "masked dir must be empty"
            );
            assert_erofs("/secretdir/new");
            assert!(fs::metadata("/proc/keys")
                .unwrap()
                .file_type()
                .is_char_device());
            assert_eq!(mount_at("/proc/acpi").unwrap().fstype, "tmpfs");
            assert_eq!(fs::read_to_string("/ro_dir/file").unwrap(), "read me");
            assert_erofs("/ro_dir/new");
            assert_erofs("/ro_dir/sub/new"); // recursive: the submount too
            assert_erofs("/proc/sys/kernel/hostname");
        },
        |_| {},
    );
}

#[test]
fn masked_path_symlink_does_not_redirect() {
    in_child(
        "masked_path_symlink_does_not_redirect",
        &["--pid", "--fork"],
        |fx| {
            let r = fx.rootfs();
            fs::write(r.join("etc/victim"), "keep").unwrap();
            symlink("/etc/victim", r.join("etc/evil")).unwrap();
            symlink(fx.host().join("marker"), r.join("etc/evil_host")).unwrap();
            fs::create_dir_all(r.join("realdir")).unwrap();
            symlink("/realdir", r.join("linkdir")).unwrap();
            // A /dev whose "null" is a symlink to a file the attacker wants
            // to get a writable bind of.
            fs::create_dir_all(fx.host().join("fakedev")).unwrap();
            symlink("/etc/victim", fx.host().join("fakedev/null")).unwrap();
            fs::write(r.join("etc/plain"), "plain").unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let ok = spec(base_mounts(), json!({}));
            let cfg = config(&ok, dir, &rootfs);
            rootfs::prepare(&cfg).unwrap();
            // Bind the fake /dev over the real one afterwards (as if the
            // image or a volume provided it).
            let fake = wharf_sys::mount::clone_path(&dir.join("host/fakedev"), false).unwrap();
            let dev = fs::File::open(rootfs.join("dev")).unwrap();
            wharf_sys::mount::attach(
                std::os::fd::AsFd::as_fd(&fake),
                std::os::fd::AsFd::as_fd(&dev),
            )
            .unwrap();
            rootfs::pivot(&cfg).unwrap();
            let try_finalize = |linux: serde_json::Value| {
                let s = spec(base_mounts(), linux);
                rootfs::finalize(&config(&s, dir, &rootfs))
                    .unwrap_err()
                    .to_string()
            };
            for linux in [
                json!({"maskedPaths": ["/etc/evil"]}),
                json!({"maskedPaths": ["/etc/evil_host"]}),
                json!({"readonlyPaths": ["/etc/evil"]}),
                json!({"maskedPaths": ["/linkdir"]}),
                json!({"readonlyPaths": ["/linkdir/"]}),
            ] {
                let err = try_finalize(linux.clone());
                assert!(err.contains("symlink"), "{linux}: {err}");
            }
            let err = try_finalize(json!({"maskedPaths": ["/etc/plain"]}));
            assert!(err.contains("not the null device"), "{err}");
            // Nothing was mounted over the victims.
            let all = mounts();
            for p in [
                "/etc/victim",
                "/etc/evil",
                "/etc/plain",
                "/realdir",
                "/linkdir",
            ] {
                assert!(
                    !all.iter().any(|m| m.point == p),
                    "{p} got a mount: {all:#?}"
                );
            }
            assert_eq!(fs::read_to_string("/etc/victim").unwrap(), "keep");
            fs::write("/etc/victim", "still writable").unwrap();
        },
        |fx| {
            assert_eq!(
                fs::read_to_string(fx.host().join("marker")).unwrap(),
                "host"
            )
        },
    );
}

#[test]
fn symlink_into_procfs_is_refused() {
    in_child(
        "symlink_into_procfs_is_refused",
        &["--pid", "--fork"],
        |fx| {
            symlink("/proc", fx.rootfs().join("foo")).unwrap();
            fs::write(fx.host().join("pattern"), "|/tmp/evil").unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let pattern = dir.join("host/pattern");
            for m in [
                json!({"destination": "/foo/sys/kernel/core_pattern", "type": "bind", "source": pattern, "options": ["bind"]}),
                json!({"destination": "/foo/sys", "type": "tmpfs", "source": "tmpfs"}),
            ] {
                let s = spec(
                    json!([{"destination": "/proc", "type": "proc", "source": "proc"}, m]),
                    json!({}),
                );
                let err = rootfs::prepare(&config(&s, dir, &rootfs))
                    .unwrap_err()
                    .to_string();
                assert!(err.contains("resolves into procfs"), "{err}");
            }
            let r = rootfs.to_str().unwrap();
            let all = mounts();
            assert!(
                !all.iter()
                    .any(|m| m.point.starts_with(&format!("{r}/proc/sys"))),
                "a mount landed in procfs: {all:#?}"
            );
        },
        |_| {},
    );
}
