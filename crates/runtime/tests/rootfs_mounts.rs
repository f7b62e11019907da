//! Root tests of the rootfs setup on the real kernel: mount types, binds,
//! devices, pivot_root and no-pivot, sysctls, cgroup mounts, the console,
//! user namespaces. Each body runs in a child in fresh namespaces.

mod rootfs_support;

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use rootfs_support::*;
use serde_json::json;
use wharf_runtime::rootfs::{self, CgroupMount};

fn standard_mounts() -> serde_json::Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]}
    ])
}

fn all_phases(cfg: &rootfs::RootfsConfig<'_>) {
    rootfs::prepare(cfg).unwrap();
    rootfs::pivot(cfg).unwrap();
    rootfs::finalize(cfg).unwrap();
}

fn check_node(path: &str, block: bool, major: u64, minor: u64, perm: u32, uid: u32, gid: u32) {
    let md = fs::symlink_metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let ft = md.file_type();
    assert!(
        if block {
            ft.is_block_device()
        } else {
            ft.is_char_device()
        },
        "{path} kind"
    );
    let rdev = md.rdev();
    assert_eq!(
        (libc::major(rdev) as u64, libc::minor(rdev) as u64),
        (major, minor),
        "{path} numbers"
    );
    assert_eq!(md.permissions().mode() & 0o7777, perm, "{path} mode");
    assert_eq!((md.uid(), md.gid()), (uid, gid), "{path} owner");
}

#[test]
fn mount_types_devices_and_pivot() {
    in_child(
        "mount_types_devices_and_pivot",
        &["--pid", "--fork", "--net", "--ipc"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = spec(
                standard_mounts(),
                json!({"devices": [
                    {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 7,
                     "fileMode": 0o600, "uid": 1000, "gid": 1001},
                    {"path": "/dev/sub/blk", "type": "b", "major": 7, "minor": 0, "fileMode": 0o640}
                ]}),
            );
            all_phases(&config(&spec, dir, &rootfs));

            let m =
                |p: &str| mount_at(p).unwrap_or_else(|| panic!("no mount at {p}: {:#?}", mounts()));
            assert_eq!(m("/proc").fstype, "proc");
            let dev = m("/dev");
            assert_eq!(dev.fstype, "tmpfs");
            assert!(
                dev.sopts.contains("size=65536k") && dev.sopts.contains("mode=755"),
                "{dev:?}"
            );
            assert!(
                dev.opts.contains("nosuid") && !dev.opts.contains("relatime"),
                "{dev:?}"
            );
            let pts = m("/dev/pts");
            assert_eq!(pts.fstype, "devpts");
            assert!(
                pts.sopts.contains("ptmxmode=666") && pts.sopts.contains("gid=5"),
                "{pts:?}"
            );
            assert!(pts.opts.contains("noexec"), "{pts:?}");
            assert!(m("/dev/shm").opts.contains("nodev"));
            assert_eq!(m("/dev/mqueue").fstype, "mqueue");
            let sys = m("/sys");
            assert_eq!(sys.fstype, "sysfs");
            assert!(sys.opts.starts_with("ro,"), "{sys:?}");
            assert_erofs("/sys/kernel/wharf-test");

            check_node("/dev/null", false, 1, 3, 0o666, 0, 0);
            check_node("/dev/urandom", false, 1, 9, 0o666, 0, 0);
            check_node("/dev/tty", false, 5, 0, 0o666, 0, 0);
            check_node("/dev/mydev", false, 1, 7, 0o600, 1000, 1001);
            check_node("/dev/sub/blk", true, 7, 0, 0o640, 0, 0);
            for (link, target) in [
                ("/dev/fd", "/proc/self/fd"),
                ("/dev/stdin", "/proc/self/fd/0"),
                ("/dev/stderr", "/proc/self/fd/2"),
                ("/dev/core", "/proc/kcore"),
                ("/dev/ptmx", "pts/ptmx"),
            ] {
                assert_eq!(fs::read_link(link).unwrap(), Path::new(target), "{link}");
            }
            // pivot_root: the old root is gone. Only the container's own
            // mounts are listed, and the host fixture is unreachable.
            let points: Vec<String> = mounts().into_iter().map(|m| m.point).collect();
            for p in &points {
                assert!(
                    [
                        "/",
                        "/proc",
                        "/dev",
                        "/dev/pts",
                        "/dev/shm",
                        "/dev/mqueue",
                        "/sys"
                    ]
                    .contains(&p.as_str()),
                    "unexpected mount {p} in {points:?}"
                );
            }
            assert_eq!(fs::read_to_string("/marker").unwrap(), "inside");
            assert!(!dir.join("host/marker").exists());
            assert!(Command::new("/bin/busybox")
                .arg("true")
                .status()
                .unwrap()
                .success());
            assert_eq!(std::env::current_dir().unwrap(), Path::new("/"));
        },
        |_| {},
    );
}

#[test]
fn bind_mounts_ro_rbind_file_and_propagation_option() {
    in_child(
        "bind_mounts_ro_rbind_file_and_propagation_option",
        &["--pid", "--fork"],
        |fx| {
            fs::create_dir_all(fx.host().join("data/sub")).unwrap();
            fs::write(fx.host().join("data/f"), "data").unwrap();
            fs::write(fx.host().join("file.txt"), "file").unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            // A submount on the host side, to see rbind carry it along.
            let sub = wharf_sys::mount::fs_mount("tmpfs", Some("subtmp"), &[], 0).unwrap();
            let at = fs::File::open(dir.join("host/data/sub")).unwrap();
            wharf_sys::mount::attach(
                std::os::fd::AsFd::as_fd(&sub),
                std::os::fd::AsFd::as_fd(&at),
            )
            .unwrap();
            let host = dir.join("host");
            let spec = spec(
                json!([
                    {"destination": "/proc", "type": "proc", "source": "proc"},
                    {"destination": "/ro", "type": "bind", "source": host.join("data"), "options": ["rbind", "ro", "nosuid"]},
                    {"destination": "/rw", "type": "none", "source": "host/data", "options": ["bind"]},
                    {"destination": "/etc/new/file.txt", "source": host.join("file.txt"), "options": ["bind", "ro"]},
                    {"destination": "/shared", "type": "bind", "source": host.join("data"), "options": ["bind", "shared"]}
                ]),
                json!({}),
            );
            all_phases(&config(&spec, dir, &rootfs));
            assert_erofs("/ro/new");
            assert_eq!(fs::read_to_string("/ro/f").unwrap(), "data");
            let ro = mount_at("/ro").unwrap();
            assert!(
                ro.opts.starts_with("ro,") && ro.opts.contains("nosuid"),
                "{ro:?}"
            );
            // rbind took the submount; plain ro applies to the top mount only.
            let sub = mount_at("/ro/sub").expect("rbind carries submounts");
            assert_eq!(sub.fstype, "tmpfs");
            assert!(
                mount_at("/rw/sub").is_none(),
                "bind without r must not carry submounts"
            );
            fs::write("/rw/written", "ok").unwrap();
            assert_eq!(fs::read_to_string("/etc/new/file.txt").unwrap(), "file");
            assert_erofs("/etc/new/file.txt");
            assert!(mount_at("/shared").unwrap().optional.contains("shared:"));
        },
        |fx| {
            assert_eq!(
                fs::read_to_string(fx.host().join("data/written")).unwrap(),
                "ok"
            )
        },
    );
}

#[test]
fn no_pivot_moves_root_and_chroots() {
    in_child(
        "no_pivot_moves_root_and_chroots",
        &["--pid", "--fork"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = spec(
                json!([{"destination": "/proc", "type": "proc", "source": "proc"}]),
                json!({}),
            );
            let mut cfg = config(&spec, dir, &rootfs);
            cfg.no_pivot = true;
            all_phases(&cfg);
            assert_eq!(fs::read_to_string("/marker").unwrap(), "inside");
            assert!(!dir.join("host/marker").exists());
            assert!(mount_at("/proc").is_some());
            assert!(mount_at("/sys").is_none(), "the host's /sys is not visible");
            assert!(Command::new("/bin/busybox")
                .arg("true")
                .status()
                .unwrap()
                .success());
        },
        |_| {},
    );
}

#[test]
fn sysctl_written_in_new_net_and_ipc_namespaces() {
    let host_forward = fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let host_rmid = fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap();
    in_child(
        "sysctl_written_in_new_net_and_ipc_namespaces",
        &["--pid", "--fork", "--net", "--ipc"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let mounts = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
            let want = if host_forward.trim() == "1" { "0" } else { "1" };
            let want_rmid = if host_rmid.trim() == "1" { "0" } else { "1" };
            let spec = spec(
                mounts.clone(),
                json!({"sysctl": {"net.ipv4.ip_forward": want, "kernel.shm_rmid_forced": want_rmid},
                       "readonlyPaths": ["/proc/sys"]}),
            );
            all_phases(&config(&spec, dir, &rootfs));
            assert_eq!(
                fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                    .unwrap()
                    .trim(),
                want
            );
            assert_eq!(
                fs::read_to_string("/proc/sys/kernel/shm_rmid_forced")
                    .unwrap()
                    .trim(),
                want_rmid
            );
            assert_erofs("/proc/sys/kernel/shm_rmid_forced");
            let bad = spec_with_sysctl(mounts, "net/../../etc");
            let err = rootfs::finalize(&config(&bad, dir, &rootfs)).unwrap_err();
            assert!(err.to_string().contains("invalid sysctl name"), "{err}");
        },
        |_| {
            // The host's values are untouched.
            assert_eq!(
                fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
                host_forward
            );
            assert_eq!(
                fs::read_to_string("/proc/sys/kernel/shm_rmid_forced").unwrap(),
                host_rmid
            );
        },
    );
}

fn spec_with_sysctl(mounts: serde_json::Value, name: &str) -> oci_spec::runtime::Spec {
    spec(mounts, json!({"sysctl": {name: "1"}}))
}

fn hybrid_cgroups(names: [&str; 3]) -> Vec<CgroupMount> {
    vec![
        CgroupMount {
            v2: false,
            name: names[0].into(),
            options: "cpu".into(),
            host_dir: "/sys/fs/cgroup/cpu".into(),
        },
        CgroupMount {
            v2: false,
            name: names[1].into(),
            options: "name=systemd".into(),
            host_dir: "/sys/fs/cgroup/systemd".into(),
        },
        CgroupMount {
            v2: true,
            name: names[2].into(),
            options: String::new(),
            host_dir: "/sys/fs/cgroup/unified".into(),
        },
    ]
}

fn cgroup_spec() -> oci_spec::runtime::Spec {
    spec(
        json!([
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ]),
        json!({}),
    )
}

fn check_cgroup_view(first: &str) {
    let top = mount_at("/sys/fs/cgroup").unwrap();
    assert_eq!(top.fstype, "tmpfs");
    assert!(top.opts.starts_with("ro,"), "{top:?}");
    let cpu = mount_at(&format!("/sys/fs/cgroup/{first}")).unwrap();
    assert_eq!(cpu.fstype, "cgroup");
    assert!(
        cpu.opts.starts_with("ro,") && cpu.opts.contains("nosuid"),
        "{cpu:?}"
    );
    assert_eq!(mount_at("/sys/fs/cgroup/systemd").unwrap().fstype, "cgroup");
    assert_eq!(
        mount_at("/sys/fs/cgroup/unified").unwrap().fstype,
        "cgroup2"
    );
    assert!(Path::new(&format!("/sys/fs/cgroup/{first}/cgroup.procs")).exists());
    assert_erofs("/sys/fs/cgroup/newfile");
}

#[test]
fn cgroup_mount_hybrid_by_bind() {
    in_child(
        "cgroup_mount_hybrid_by_bind",
        &["--pid", "--fork", "--net"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = cgroup_spec();
            let cgroups = hybrid_cgroups(["cpu,cpuacct", "systemd", "unified"]);
            let mut cfg = config(&spec, dir, &rootfs);
            cfg.cgroup_mounts = &cgroups;
            all_phases(&cfg);
            check_cgroup_view("cpu,cpuacct");
            assert_eq!(
                fs::read_link("/sys/fs/cgroup/cpu").unwrap(),
                Path::new("cpu,cpuacct")
            );
            assert_eq!(
                fs::read_link("/sys/fs/cgroup/cpuacct").unwrap(),
                Path::new("cpu,cpuacct")
            );
        },
        |_| {},
    );
}

#[test]
fn cgroup_mount_hybrid_in_cgroup_namespace() {
    in_child(
        "cgroup_mount_hybrid_in_cgroup_namespace",
        &["--pid", "--fork", "--net", "--cgroup"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = cgroup_spec();
            let cgroups = hybrid_cgroups(["cpu", "systemd", "unified"]);
            let mut cfg = config(&spec, dir, &rootfs);
            cfg.cgroup_mounts = &cgroups;
            cfg.cgroup_ns = true;
            all_phases(&cfg);
            check_cgroup_view("cpu");
        },
        |_| {},
    );
}

#[test]
fn user_namespace_binds_devices_and_readonly_root() {
    in_child(
        "user_namespace_binds_devices_and_readonly_root",
        &[
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--net",
            "--ipc",
        ],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            // Only uid/gid 0 are mapped: devpts cannot take gid=5 here.
            let mut mounts = standard_mounts();
            let pts = &mut mounts[2]["options"];
            *pts = json!([
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620"
            ]);
            let mut spec = spec(mounts, json!({}));
            spec.set_root(Some(
                serde_json::from_value(json!({"path": "rootfs", "readonly": true})).unwrap(),
            ));
            let mut cfg = config(&spec, dir, &rootfs);
            cfg.in_user_ns = true;
            all_phases(&cfg);
            let null = mount_at("/dev/null").expect("/dev/null is a bind of the host's node");
            assert_eq!(null.fstype, "devtmpfs");
            let md = fs::metadata("/dev/null").unwrap();
            assert_eq!((libc::major(md.rdev()), libc::minor(md.rdev())), (1, 3));
            fs::write("/dev/null", "discarded").unwrap();
            assert_eq!(mount_at("/sys").unwrap().fstype, "sysfs");
            assert_erofs("/newfile");
            fs::write("/dev/shm/ok", "tmpfs stays writable").unwrap();
        },
        |_| {},
    );
}

#[test]
fn console_and_tmpcopyup() {
    in_child(
        "console_and_tmpcopyup",
        &["--pid", "--fork"],
        |fx| {
            fs::create_dir_all(fx.rootfs().join("run/sub")).unwrap();
            fs::write(fx.rootfs().join("run/keep"), "kept").unwrap();
            fs::set_permissions(
                fx.rootfs().join("run/keep"),
                fs::Permissions::from_mode(0o640),
            )
            .unwrap();
            fs::write(fx.rootfs().join("run/sub/deep"), "deep").unwrap();
            std::os::unix::fs::symlink("keep", fx.rootfs().join("run/link")).unwrap();
        },
        |dir| {
            let rootfs = dir.join("rootfs");
            let mut mounts = standard_mounts();
            mounts.as_array_mut().unwrap().push(
                json!({"destination": "/run", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid"]}),
            );
            let spec = spec(mounts, json!({}));
            let cfg = config(&spec, dir, &rootfs);
            rootfs::prepare(&cfg).unwrap();
            rootfs::pivot(&cfg).unwrap();
            let master = rustix::pty::openpt(
                rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY,
            )
            .unwrap();
            rustix::pty::unlockpt(&master).unwrap();
            let slave = rustix::pty::ptsname(&master, Vec::new()).unwrap();
            let slave = std::path::PathBuf::from(slave.to_str().unwrap());
            rootfs::mount_console(&slave).unwrap();
            rootfs::finalize(&cfg).unwrap();
            let console = fs::metadata("/dev/console").unwrap();
            let pts = fs::metadata(&slave).unwrap();
            assert!(console.file_type().is_char_device());
            assert_eq!(console.rdev(), pts.rdev());
            assert_eq!(mount_at("/dev/console").unwrap().fstype, "devpts");

            assert_eq!(mount_at("/run").unwrap().fstype, "tmpfs");
            assert_eq!(fs::read_to_string("/run/keep").unwrap(), "kept");
            assert_eq!(
                fs::metadata("/run/keep").unwrap().permissions().mode() & 0o777,
                0o640
            );
            assert_eq!(fs::read_to_string("/run/sub/deep").unwrap(), "deep");
            assert_eq!(fs::read_link("/run/link").unwrap(), Path::new("keep"));
        },
        |_| {},
    );
}

#[test]
fn bad_mounts_fail_with_clear_errors() {
    in_child(
        "bad_mounts_fail_with_clear_errors",
        &["--pid", "--fork"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let fail = |m: serde_json::Value| {
                let s = spec(json!([m]), json!({}));
                let err = rootfs::prepare(&config(&s, dir, &rootfs)).unwrap_err();
                let cause = std::error::Error::source(&err)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                (err.to_string(), cause)
            };
            let (msg, cause) = fail(
                json!({"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": ["mode=zzz"]}),
            );
            assert_eq!(msg, "failed to mount tmpfs on /x (type tmpfs)");
            assert!(cause.contains("tmpfs: Bad value for 'mode'"), "{cause}");
            let (msg, _) = fail(
                json!({"destination": "/y", "type": "bind", "source": "/tmp", "options": ["rbind", "idmap"]}),
            );
            assert_eq!(msg, "mount option \"idmap\" on /y is not supported");
            let (msg, _) = fail(
                json!({"destination": "/proc/self/attr", "type": "bind", "source": "/tmp", "options": ["bind"]}),
            );
            assert!(
                msg.starts_with("refusing to mount on /proc/self/attr"),
                "{msg}"
            );
            let (msg, _) = fail(
                json!({"destination": "/proc", "type": "bind", "source": "/tmp", "options": ["bind"]}),
            );
            assert!(msg.contains("only a procfs"), "{msg}");
            let (msg, cause) =
                fail(json!({"destination": "/z", "type": "nosuchfs", "source": "x"}));
            assert_eq!(msg, "failed to mount x on /z (type nosuchfs)");
            assert!(cause.contains("No such device"), "{cause}");
        },
        |_| {},
    );
}

#[test]
fn rootfs_propagation_applies_to_the_new_root() {
    in_child(
        "rootfs_propagation_applies_to_the_new_root",
        &["--pid", "--fork"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let mounts = json!([{"destination": "/proc", "type": "proc", "source": "proc"}]);
            let shared = spec(mounts.clone(), json!({"rootfsPropagation": "rshared"}));
            all_phases(&config(&shared, dir, &rootfs));
            assert!(
                mount_at("/").unwrap().optional.contains("shared:"),
                "{:?}",
                mount_at("/")
            );
            let private = spec(mounts.clone(), json!({"rootfsPropagation": "rprivate"}));
            rootfs::finalize(&config(&private, dir, &rootfs)).unwrap();
            assert_eq!(mount_at("/").unwrap().optional, "");
            let bad = spec(mounts, json!({"rootfsPropagation": "sideways"}));
            let err = rootfs::finalize(&config(&bad, dir, &rootfs)).unwrap_err();
            assert_eq!(err.to_string(), "invalid rootfs propagation \"sideways\"");
        },
        |_| {},
    );
}

#[test]
fn sysfs_in_user_namespace_without_netns_falls_back_to_ro_rbind() {
    in_child(
        "sysfs_in_user_namespace_without_netns_falls_back_to_ro_rbind",
        &["--user", "--map-root-user", "--pid", "--fork"],
        |_| {},
        |dir| {
            let rootfs = dir.join("rootfs");
            let spec = spec(
                json!([
                    {"destination": "/proc", "type": "proc", "source": "proc"},
                    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev"]}
                ]),
                json!({}),
            );
            let mut cfg = config(&spec, dir, &rootfs);
            cfg.in_user_ns = true;
            rootfs::prepare(&cfg).unwrap();
            rootfs::pivot(&cfg).unwrap();
            rootfs::finalize(&cfg).unwrap();
            let sys = mount_at("/sys").unwrap();
            assert_eq!(sys.fstype, "sysfs");
            assert!(sys.opts.starts_with("ro,"), "{sys:?}");
            // The host's submounts came along, read-only too.
            let cg = mount_at("/sys/fs/cgroup").expect("rbind carries /sys/fs/cgroup");
            assert!(cg.opts.starts_with("ro,"), "{cg:?}");
            assert_erofs("/sys/fs/cgroup/newfile");
        },
        |_| {},
    );
}
