//! The runtime's command-line contract (runc-compatible), driven as an
//! engine drives it. Runs `wharf runtime`; `WHARF_TEST_RUNTIME=/usr/sbin/runc`
//! runs the same tests against runc.

use wharf_testkit::caps::DOCKER_DEFAULT_CAP_MASK;
use wharf_testkit::{assert_no_leaks, leaks, Bundle, CapSet, Report, Runtime};

/// The probe's JSON line in a container's output.
fn report_in(stdout: &str) -> Report {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no report in output: {stdout:?}"));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn run_gives_the_probe_an_isolated_view() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::new().expect("bundle");
    let id = rt.unique_id("run");
    let out = rt.run_container(&bundle, &id).expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "run failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report_in(&stdout);

    assert_eq!(r.pid, 1, "probe is the pid namespace's init");
    assert_eq!(r.hostname, "wharf-test");
    assert_eq!(r.cwd, "/");
    assert_eq!(r.uid, 0);
    assert!(r.no_new_privs);
    let docker = DOCKER_DEFAULT_CAP_MASK;
    assert_eq!(r.caps.bounding, CapSet::from_mask(docker));
    assert_eq!(r.caps.effective, CapSet::from_mask(docker));
    assert_eq!(r.caps.ambient.mask, 0);
    assert_eq!(r.rlimits["RLIMIT_NOFILE"].soft, Some(1024));

    let host_ns = |t: &str| {
        let link = std::fs::read_link(format!("/proc/self/ns/{t}")).unwrap();
        link.to_string_lossy().into_owned()
    };
    for t in ["pid", "net", "ipc", "uts", "mnt", "cgroup"] {
        let inside = format!("{}:[{}]", t, r.namespaces[t]);
        assert_ne!(inside, host_ns(t), "namespace {t} not unshared");
    }

    let root = r.mount("/").expect("root mount");
    assert!(root.has_option("ro"), "readonly root: {root:?}");
    assert_eq!(r.mount("/proc").map(|m| m.fs_type.as_str()), Some("proc"));
    assert_eq!(r.mount("/dev").map(|m| m.fs_type.as_str()), Some("tmpfs"));
    assert_eq!(
        r.mount("/dev/pts").map(|m| m.fs_type.as_str()),
        Some("devpts")
    );
    assert!(r.mount("/sys").expect("sysfs").has_option("ro"));
    for dev in ["null", "zero", "full", "random", "urandom", "tty", "ptmx"] {
        assert!(r.dev.iter().any(|d| d == dev), "/dev/{dev} in {:?}", r.dev);
    }
    assert!(
        !r.mounts
            .iter()
            .any(|m| m.mount_point.contains("wharf-bundle")),
        "host paths visible: {:?}",
        r.mounts
    );

    // A foreground `run` deletes the container when it exits, as runc does.
    assert!(rt.state(&id).is_err(), "container gone after run");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn create_start_state_kill_delete() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("life");

    rt.create_ok(&bundle, &id).expect("create");
    let created = rt.state(&id).expect("state after create");
    assert_eq!(created.status, "created");
    assert_eq!(created.id, id);
    let pid = created.pid.expect("pid of created container");
    assert!(pid > 0);
    assert!(std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert_eq!(
        std::path::Path::new(&created.bundle),
        bundle.path(),
        "state names the bundle"
    );

    rt.run_ok(&["start", &id]).expect("start");
    assert_eq!(rt.state(&id).expect("state").status, "running");
    // The leak checker sees a live container (so its silence later means
    // something): its process sits in a cgroup named after the id.
    let live = leaks(&id, Some(bundle.path()));
    assert!(
        live.iter().any(|l| l.starts_with("process"))
            && live.iter().any(|l| l.starts_with("cgroup")),
        "live container not seen: {live:?}"
    );
    // A second start of a running container is refused.
    assert!(!rt.start(&id).expect("second start").status.success());
    // delete without --force refuses a running container.
    assert!(!rt
        .delete(&id, false)
        .expect("delete running")
        .status
        .success());

    rt.run_ok(&["kill", &id, "KILL"]).expect("kill");
    rt.wait_status(&id, "stopped")
        .expect("stopped after SIGKILL");
    rt.run_ok(&["delete", &id]).expect("delete stopped");
    assert!(rt.state(&id).is_err(), "state of a deleted container fails");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn exit_status_and_force_delete() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["exit", "7"]).expect("config");
    let id = rt.unique_id("exit");
    let out = rt.run_container(&bundle, &id).expect("run");
    assert_eq!(
        out.status.code(),
        Some(7),
        "run exits with the container's status"
    );
    assert!(rt.state(&id).is_err(), "container gone after run");
    assert_no_leaks(&id, Some(bundle.path()));

    bundle.set_probe_args(&["sleep", "60"]).expect("config");
    let id2 = rt.unique_id("force");
    assert!(rt.create(&bundle, &id2).expect("create").status.success());
    rt.run_ok(&["delete", "--force", &id2])
        .expect("force delete");
    assert!(rt.state(&id2).is_err());
    assert_no_leaks(&id2, Some(bundle.path()));
}

#[test]
fn drop_guard_removes_a_forgotten_container() {
    let bundle = Bundle::sleeper().expect("bundle");
    let id;
    let root;
    {
        let rt = Runtime::new().expect("runtime");
        id = rt.unique_id("forgotten");
        root = rt.root();
        rt.create_ok(&bundle, &id).expect("create");
        rt.run_ok(&["start", &id]).expect("start");
        // Dropped here without delete, as a failing test would.
    }
    assert_no_leaks(&id, Some(bundle.path()));
    assert!(!root.exists(), "runtime root {} removed", root.display());
}
