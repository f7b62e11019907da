//! The container's process end to end: args, env, cwd, user, umask, the
//! five capability sets, rlimits, no_new_privs, oom_score_adj, seccomp, the
//! terminal, and the create options (`--pid-file`, `--preserve-fds`,
//! `--no-pivot`, `--no-new-keyring`), mounts and a read-only root. Runs
//! `wharf runtime`; `WHARF_TEST_RUNTIME=/usr/sbin/runc` runs them on runc.

use std::time::Duration;

use serde_json::{json, Value};
use wharf_testkit::caps::cap_mask;
use wharf_testkit::console::read_master_until;
use wharf_testkit::host::{edit_spec, seccomp_mount_errno, MOUNT_ERRNO};
use wharf_testkit::{
    action_in, assert_no_leaks, report_in, ActionResult, Bundle, CapSet, Report, Runtime,
};

/// Every JSON line of the output, in order.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn action(v: &Value) -> ActionResult {
    serde_json::from_value(v.clone()).expect("action result")
}

fn caps(names: &[&str]) -> Value {
    json!(names)
}

#[test]
fn args_env_and_a_missing_cwd_created() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["args"] = json!([
            "/bin/sh",
            "-c",
            "echo \"[$0][$1][$2]\"; exec /bin/wharf-probe report",
            "zero",
            "one",
            "two words"
        ]);
        v["process"]["env"] = json!(["PATH=/bin", "GREETING=hello world", "EMPTY="]);
        v["process"]["cwd"] = json!("/home/test/not/yet");
    })
    .expect("config");
    let stdout = rt.run_clean(&bundle, "args", &[]);
    assert!(
        stdout.contains("[zero][one][two words]"),
        "args: {stdout:?}"
    );
    let r = report_in(&stdout);
    assert_eq!(r.env_var("GREETING"), Some("hello world"));
    assert_eq!(r.env_var("EMPTY"), Some(""));
    assert_eq!(r.env_var("PATH"), Some("/bin"));
    assert_eq!(r.cwd, "/home/test/not/yet", "missing cwd created");
}

#[test]
fn user_ids_additional_gids_and_umask() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["user"] = json!({
            "uid": 1000, "gid": 1000, "additionalGids": [100, 5], "umask": 0o027
        });
        v["process"]["cwd"] = json!("/home/test");
    })
    .expect("config");
    let r = report_in(&rt.run_clean(&bundle, "user", &[]));
    assert_eq!((r.uid, r.euid, r.gid, r.egid), (1000, 1000, 1000, 1000));
    let mut groups = r.groups.clone();
    groups.sort();
    assert_eq!(groups, [5, 100], "additional gids only");
    assert_eq!(r.umask, Some(0o027));
}

const BOUNDING: [&str; 6] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_RAW",
    "CAP_SETUID",
];

fn set_caps(v: &mut Value) {
    v["process"]["capabilities"] = json!({
        "bounding": caps(&BOUNDING),
        "permitted": caps(&["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]),
        "effective": caps(&["CAP_KILL", "CAP_NET_BIND_SERVICE"]),
        "inheritable": caps(&["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]),
        "ambient": caps(&["CAP_NET_BIND_SERVICE"]),
    });
}

#[test]
fn five_capability_sets_for_a_non_root_user() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        set_caps(v);
        v["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
    })
    .expect("config");
    let r = report_in(&rt.run_clean(&bundle, "caps-user", &[]));
    // execve(2) by a non-root user without file capabilities: permitted
    // and effective become the ambient set (capabilities(7)).
    let amb = cap_mask(["CAP_NET_BIND_SERVICE"]);
    assert_eq!(r.caps.bounding, CapSet::from_mask(cap_mask(BOUNDING)));
    assert_eq!(
        r.caps.inheritable,
        CapSet::from_mask(cap_mask(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"]))
    );
    assert_eq!(r.caps.ambient, CapSet::from_mask(amb));
    assert_eq!(r.caps.permitted, CapSet::from_mask(amb));
    assert_eq!(r.caps.effective, CapSet::from_mask(amb));
}

#[test]
fn five_capability_sets_for_root() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, set_caps).expect("config");
    let r = report_in(&rt.run_clean(&bundle, "caps-root", &[]));
    // For uid 0 the kernel treats the file's sets as full, so execve(2)
    // would raise permitted to inheritable | bounding; no_new_privs (set by
    // the default spec) caps the gain at the old permitted set, and
    // effective follows permitted (capabilities(7)).
    let permitted = cap_mask([
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_RAW",
    ]);
    assert_eq!(r.caps.bounding, CapSet::from_mask(cap_mask(BOUNDING)));
    assert_eq!(
        r.caps.inheritable.mask,
        cap_mask(["CAP_NET_BIND_SERVICE", "CAP_NET_RAW"])
    );
    assert_eq!(r.caps.ambient.mask, cap_mask(["CAP_NET_BIND_SERVICE"]));
    assert_eq!(r.caps.permitted, CapSet::from_mask(permitted));
    assert_eq!(r.caps.effective, CapSet::from_mask(permitted));
}

#[test]
fn rlimits_nofile_and_core() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["rlimits"] = json!([
            { "type": "RLIMIT_NOFILE", "soft": 256, "hard": 512 },
            { "type": "RLIMIT_CORE", "soft": 4096, "hard": 8192 },
        ]);
    })
    .expect("config");
    let r = report_in(&rt.run_clean(&bundle, "rlimit", &[]));
    let nofile = r.rlimits["RLIMIT_NOFILE"];
    assert_eq!((nofile.soft, nofile.hard), (Some(256), Some(512)));
    let core = r.rlimits["RLIMIT_CORE"];
    assert_eq!((core.soft, core.hard), (Some(4096), Some(8192)));
}

#[test]
fn no_new_privileges_true_and_false() {
    let rt = Runtime::new().expect("runtime");
    for want in [true, false] {
        let mut bundle = Bundle::new().expect("bundle");
        edit_spec(&mut bundle, |v| {
            v["process"]["noNewPrivileges"] = json!(want)
        })
        .expect("config");
        let r = report_in(&rt.run_clean(&bundle, "nnp", &[]));
        assert_eq!(r.no_new_privs, want, "noNewPrivileges {want}");
    }
}

#[test]
fn oom_score_adj_raised() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| v["process"]["oomScoreAdj"] = json!(500)).expect("config");
    let r = report_in(&rt.run_clean(&bundle, "oom", &[]));
    assert_eq!(r.oom_score_adj, Some(500));
}

#[test]
fn seccomp_filter_denies_with_the_configured_errno() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe report; /bin/wharf-probe mount-tmpfs /tmp; \
             /bin/wharf-probe write /dev/null ok",
        ])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        v["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                { "names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": MOUNT_ERRNO }
            ]
        });
    })
    .expect("config");
    let lines = json_lines(&rt.run_clean(&bundle, "seccomp", &[]));
    assert_eq!(lines.len(), 3, "{lines:?}");
    let r: Report = serde_json::from_value(lines[0].clone()).expect("report");
    assert_eq!(r.seccomp, Some(2), "filter mode");
    let mount = action(&lines[1]);
    assert!(!mount.ok);
    // Without the filter the missing CAP_SYS_ADMIN would give EPERM.
    assert_eq!(mount.errno, Some(MOUNT_ERRNO as i32), "{mount:?}");
    assert!(action(&lines[2]).ok, "other syscalls allowed");
}

#[test]
fn terminal_through_the_console_socket() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["tty"]).expect("config");
    edit_spec(&mut bundle, |v| v["process"]["terminal"] = json!(true)).expect("config");
    let id = rt.unique_id("tty");
    let master = wharf_testkit::console::create_with_console(&rt, &bundle, &id);
    rt.run_ok(&["start", &id]).expect("start");
    // Keep a copy of the master open until the container stops: closing
    // the last one hangs up the terminal, and SIGHUP would end the process.
    let keep = master.try_clone().expect("dup master");
    let text = read_master_until(master, "}", Duration::from_secs(30));
    let tty = action_in(&text);
    assert_eq!(tty.data["stdin"], json!(true), "{text:?}");
    assert_eq!(tty.data["stdout"], json!(true));
    assert_eq!(tty.data["stderr"], json!(true));
    rt.wait_status(&id, "stopped").expect("stopped");
    drop(keep);
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn pid_file_holds_the_init_pid() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("init.pid");
    let id = rt.unique_id("pidfile");
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    let p = pid_file.to_string_lossy().into_owned();
    rt.run_ok(&["create", "--bundle", &b, "--pid-file", &p, &id])
        .expect("create");
    let state = rt.state(&id).expect("state");
    let written = std::fs::read_to_string(&pid_file).expect("pid file");
    assert_eq!(written.trim().parse::<i32>().ok(), state.pid);
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn preserve_fds_passes_an_extra_descriptor() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::new().expect("bundle");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("passed-in.txt");
    std::fs::write(&file, "hello").expect("file");
    let id = rt.unique_id("fds");
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    let cmd = rt.command(&["run", "--bundle", &b, "--preserve-fds", "1", &id]);
    wharf_testkit::host::check_fd3_passed(&cmd, &file);
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn no_pivot_still_hides_the_host() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::new().expect("bundle");
    let r = report_in(&rt.run_clean(&bundle, "nopivot", &["--no-pivot"]));
    assert_eq!(r.pid, 1);
    assert_eq!(r.cwd, "/");
    assert!(r.mount("/").is_some(), "a root mount: {:?}", r.mounts);
    assert!(
        !r.mounts
            .iter()
            .any(|m| m.mount_point.contains("wharf-bundle")),
        "host paths visible: {:?}",
        r.mounts
    );
}

/// Whether `/proc/keys` inside shows a keyring named after the id.
fn keyring_named_after_id(no_new_keyring: bool) -> bool {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_probe_args(&["read", "/proc/keys"])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        let masked = v["linux"]["maskedPaths"].as_array_mut().expect("masked");
        masked.retain(|p| p != "/proc/keys");
    })
    .expect("config");
    let id = rt.unique_id("keyring");
    let extra: &[&str] = if no_new_keyring {
        &["--no-new-keyring"]
    } else {
        &[]
    };
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    let mut args = vec!["run", "--bundle", &b];
    args.extend_from_slice(extra);
    args.push(&id);
    let out = rt.run(&args).expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys = action_in(&stdout);
    assert!(keys.ok, "{keys:?}");
    keys.data["value"]
        .as_str()
        .unwrap_or_default()
        .contains(&id)
}

#[test]
fn new_session_keyring_unless_no_new_keyring() {
    assert!(
        keyring_named_after_id(false),
        "a session keyring named after the id"
    );
    assert!(
        !keyring_named_after_id(true),
        "--no-new-keyring keeps the caller's"
    );
}

#[test]
fn bind_and_tmpfs_mounts_are_visible() {
    const EROFS: i32 = 30;
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    let data = bundle.path().join("data");
    std::fs::create_dir(&data).expect("data dir");
    std::fs::write(data.join("hello.txt"), "from the host").expect("data file");
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe report; /bin/wharf-probe read /data/hello.txt; \
             /bin/wharf-probe write /data/new.txt x; /bin/wharf-probe write /scratch/new.txt x",
        ])
        .expect("config");
    let src = data.to_string_lossy().into_owned();
    edit_spec(&mut bundle, |v| {
        let mounts = v["mounts"].as_array_mut().expect("mounts");
        mounts.push(json!({
            "destination": "/data", "type": "bind", "source": src,
            "options": ["rbind", "ro", "nosuid", "nodev"]
        }));
        mounts.push(json!({
            "destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
            "options": ["nosuid", "nodev", "size=1m", "mode=1777"]
        }));
    })
    .expect("config");
    let lines = json_lines(&rt.run_clean(&bundle, "mounts", &[]));
    assert_eq!(lines.len(), 4, "{lines:?}");
    let r: Report = serde_json::from_value(lines[0].clone()).expect("report");
    let bind = r.mount("/data").expect("/data mounted");
    assert!(
        bind.has_option("ro") && bind.has_option("nosuid"),
        "{bind:?}"
    );
    let tmp = r.mount("/scratch").expect("/scratch mounted");
    assert_eq!(tmp.fs_type, "tmpfs");
    assert!(
        tmp.super_options.iter().any(|o| o == "size=1024k"),
        "{tmp:?}"
    );
    let read = action(&lines[1]);
    assert_eq!(read.data["value"], json!("from the host"));
    let write_ro = action(&lines[2]);
    assert_eq!(write_ro.errno, Some(EROFS), "{write_ro:?}");
    assert!(action(&lines[3]).ok, "tmpfs writable");
    assert!(!data.join("new.txt").exists());
}

#[test]
fn readonly_rootfs_true_and_false() {
    const EROFS: i32 = 30;
    let rt = Runtime::new().expect("runtime");
    for readonly in [true, false] {
        let mut bundle = Bundle::new().expect("bundle");
        bundle
            .set_probe_args(&["write", "/written", "x"])
            .expect("config");
        edit_spec(&mut bundle, |v| v["root"]["readonly"] = json!(readonly)).expect("config");
        let id = rt.unique_id("ro");
        let out = rt.run_container(&bundle, &id).expect("run");
        let result = action_in(&String::from_utf8_lossy(&out.stdout));
        if readonly {
            assert_eq!(result.errno, Some(EROFS), "{result:?}");
        } else {
            assert!(result.ok, "{result:?}");
            assert!(bundle.rootfs().join("written").exists());
        }
        assert_no_leaks(&id, Some(bundle.path()));
    }
}

/// Runs a bundle that must fail to start; returns the runtime's stderr.
fn run_fails(rt: &Runtime, bundle: &Bundle, tag: &str) -> String {
    let id = rt.unique_id(tag);
    let out = rt.run_container(bundle, &id).expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{tag} should fail: {stdout}");
    assert!(!stdout.contains('{'), "the process did not run: {stdout}");
    assert!(rt.state(&id).is_err(), "nothing left");
    assert_no_leaks(&id, Some(bundle.path()));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn rlimit_above_the_hard_limit_fails_clearly() {
    // Raising a hard limit needs CAP_SYS_RESOURCE, which root lacks here.
    let host = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    let Some(hard) = host.maximum else {
        return; // unlimited: nothing to exceed
    };
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["rlimits"] = json!([
            { "type": "RLIMIT_NOFILE", "soft": hard + 1, "hard": hard + 1 }
        ]);
    })
    .expect("config");
    let stderr = run_fails(&rt, &bundle, "rlimit-high");
    assert!(stderr.to_lowercase().contains("rlimit"), "{stderr}");
}

#[test]
fn lowering_oom_score_adj_fails_clearly() {
    // Below the caller's value needs CAP_SYS_RESOURCE, which root lacks.
    let now: i32 = std::fs::read_to_string("/proc/self/oom_score_adj")
        .expect("oom_score_adj")
        .trim()
        .parse()
        .expect("a number");
    if now <= -1000 {
        return;
    }
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["oomScoreAdj"] = json!(now - 100)
    })
    .expect("config");
    let stderr = run_fails(&rt, &bundle, "oom-low");
    assert!(stderr.contains("oom_score_adj"), "{stderr}");
}

#[test]
fn seccomp_without_no_new_privileges_and_for_a_non_root_user() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe report; /bin/wharf-probe mount-tmpfs /tmp; exit 0",
        ])
        .expect("config");
    edit_spec(&mut bundle, |v| {
        // Loading a filter without no_new_privs needs CAP_SYS_ADMIN: the
        // runtime must load it before the user's capabilities are set.
        v["process"]["noNewPrivileges"] = json!(false);
        v["process"]["user"] = json!({ "uid": 1000, "gid": 1000 });
        v["linux"]["seccomp"] = seccomp_mount_errno();
    })
    .expect("config");
    let lines = json_lines(&rt.run_clean(&bundle, "seccomp-nnp", &[]));
    assert_eq!(lines.len(), 2, "{lines:?}");
    let r: Report = serde_json::from_value(lines[0].clone()).expect("report");
    assert_eq!(r.seccomp, Some(2));
    assert!(!r.no_new_privs);
    assert_eq!(r.uid, 1000);
    assert_eq!(action(&lines[1]).errno, Some(MOUNT_ERRNO as i32));
}

#[test]
fn personality_scheduler_and_io_priority() {
    let rt = Runtime::new().unwrap();
    let mut bundle = Bundle::new().unwrap();
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "uname -m; grep '^policy' /proc/self/sched | tr -d ' '; cut -d' ' -f19 /proc/self/stat; ionice -p $$",
        ])
        .unwrap();
    edit_spec(&mut bundle, |s| {
        s["linux"]["personality"] = json!({"domain": "LINUX32"});
        s["process"]["scheduler"] = json!({"policy": "SCHED_BATCH", "nice": 5});
        s["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    })
    .unwrap();
    let out = rt.run_clean(&bundle, "sched", &[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("i686"),
        "LINUX32 personality: {out}"
    );
    assert_eq!(
        lines.get(1).copied(),
        Some("policy:3"),
        "SCHED_BATCH: {out}"
    );
    assert_eq!(lines.get(2).copied(), Some("5"), "nice 5: {out}");
    assert_eq!(lines.get(3).copied(), Some("idle"), "idle I/O class: {out}");
}
