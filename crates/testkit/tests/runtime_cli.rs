//! The runc-compatible command line end to end: the `wharf-runc` name,
//! `run` (exit status, `--detach`), `kill` (names, numbers, `--all`),
//! `list`, `ps`, `state` through the lifecycle, `pause`/`resume`, `spec`,
//! `features`, `--log`, `--systemd-cgroup` and `delete`. Runs `wharf
//! runtime`; `WHARF_TEST_RUNTIME=/usr/sbin/runc` runs them on runc.

use std::fs;
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use serde_json::{json, Value};
use wharf_testkit::caps::docker_default_caps;
use wharf_testkit::host::{edit_spec, wait_for};
use wharf_testkit::{assert_no_leaks, report_in, wharf_path, Bundle, Runtime};

fn stderr_of(rt: &Runtime, args: &[&str]) -> String {
    let out = rt.run(args).expect("runtime");
    assert!(!out.status.success(), "`{}` should fail", args.join(" "));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn pid_alive(pid: i64) -> bool {
    // A zombie still has a /proc entry: only a live process counts.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(") ").map(|(_, r)| r.chars().next());
            state != Some(Some('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn wharf_runc_symlink_is_the_runtime() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("wharf-runc");
    std::os::unix::fs::symlink(wharf_path().expect("wharf"), &link).expect("symlink");
    let rt = Runtime::with_command(&link, &[]).expect("runtime");
    let out = rt.run_ok(&["--version"]).expect("--version");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.contains("wharf"), "{version}");
    let bundle = Bundle::new().expect("bundle");
    let id = rt.unique_id("runc-name");
    let out = rt.run_container(&bundle, &id).expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report_in(&String::from_utf8_lossy(&out.stdout)).pid, 1);
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn run_exits_with_the_containers_status() {
    let rt = Runtime::new().expect("runtime");
    for (args, want) in [
        (vec!["/bin/wharf-probe", "exit", "0"], 0),
        (vec!["/bin/wharf-probe", "exit", "42"], 42),
        (vec!["/bin/sh", "-c", "exit 3"], 3),
    ] {
        let mut bundle = Bundle::new().expect("bundle");
        bundle.set_args(&args).expect("config");
        let id = rt.unique_id("status");
        let out = rt.run_container(&bundle, &id).expect("run");
        assert_eq!(out.status.code(), Some(want), "{args:?}");
        assert_no_leaks(&id, Some(bundle.path()));
    }
}

#[test]
fn run_of_a_killed_container_exits_128_plus_the_signal() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("signalled");
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| rt.run_container(&bundle, &id));
        // init ignores signals it has no handler for, except SIGKILL from
        // outside its pid namespace (pid_namespaces(7)): kill it from here.
        let running = wait_for(Duration::from_secs(30), || {
            rt.state(&id).ok().filter(|s| s.status == "running")
        });
        rt.run_ok(&["kill", &id, "KILL"]).expect("kill");
        assert!(running.is_some(), "container running");
        run.join().expect("run thread").expect("run")
    });
    assert_eq!(
        out.status.code(),
        Some(128 + 9),
        "as a shell reports SIGKILL"
    );
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn run_detach_returns_with_the_container_running() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("detach");
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    rt.run_ok(&["run", "--detach", "--bundle", &b, &id])
        .expect("run --detach");
    let state = rt.state(&id).expect("state");
    assert_eq!(state.status, "running");
    assert!(pid_alive(i64::from(state.pid.expect("pid"))));
    rt.run_ok(&["kill", &id, "KILL"]).expect("kill");
    rt.wait_status(&id, "stopped").expect("stopped");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn kill_by_name_prefixed_name_and_number() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    for signal in ["KILL", "SIGKILL", "9"] {
        let id = rt.unique_id("kill");
        rt.create_ok(&bundle, &id).expect("create");
        rt.run_ok(&["start", &id]).expect("start");
        let pid = rt.state(&id).expect("state").pid.expect("pid");
        rt.run_ok(&["kill", &id, signal]).expect("kill");
        rt.wait_status(&id, "stopped").expect("stopped");
        assert!(!pid_alive(i64::from(pid)), "killed with {signal}");
        rt.run_ok(&["delete", &id]).expect("delete");
        assert_no_leaks(&id, Some(bundle.path()));
    }
    let id = rt.unique_id("badsig");
    rt.create_ok(&bundle, &id).expect("create");
    let err = stderr_of(&rt, &["kill", &id, "NOSUCHSIGNAL"]);
    assert!(!err.trim().is_empty(), "an unknown signal is named");
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
}

/// A container whose init (a shell) has two more probes as children.
fn family(rt: &Runtime, bundle: &mut Bundle, tag: &str) -> (String, Vec<i64>) {
    bundle
        .set_args(&[
            "/bin/sh",
            "-c",
            "/bin/wharf-probe sleep 60 & /bin/wharf-probe sleep 60 & wait",
        ])
        .expect("config");
    let id = rt.unique_id(tag);
    rt.create_ok(bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    let pids = wait_for(Duration::from_secs(30), || {
        let out = rt.run_ok(&["ps", "--format", "json", &id]).ok()?;
        let pids: Vec<i64> = serde_json::from_slice(&out.stdout).expect("ps json");
        (pids.len() == 3).then_some(pids)
    })
    .expect("three processes");
    (id, pids)
}

#[test]
fn kill_all_signals_every_process() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    let (id, pids) = family(&rt, &mut bundle, "killall");
    rt.run_ok(&["kill", "--all", &id, "KILL"])
        .expect("kill --all");
    rt.wait_status(&id, "stopped").expect("stopped");
    let alive = wait_for(Duration::from_secs(10), || {
        (!pids.iter().any(|p| pid_alive(*p))).then_some(())
    });
    assert!(alive.is_some(), "every process of {pids:?} killed");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn ps_json_and_table() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    let (id, pids) = family(&rt, &mut bundle, "ps");
    let init = i64::from(rt.state(&id).expect("state").pid.expect("pid"));
    assert!(pids.contains(&init), "init {init} in {pids:?}");
    assert!(pids.iter().all(|p| pid_alive(*p)));
    let out = rt.run_ok(&["ps", &id]).expect("ps");
    let table = String::from_utf8_lossy(&out.stdout);
    let mut lines = table.lines();
    let header = lines.next().expect("header");
    assert!(header.split_whitespace().any(|h| h == "PID"), "{table}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{table}");
    for pid in &pids {
        assert!(
            rows.iter()
                .any(|r| r.split_whitespace().any(|f| f == pid.to_string())),
            "pid {pid} in {table}"
        );
    }
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn list_table_json_and_quiet() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let a = rt.unique_id("list-a");
    let b = rt.unique_id("list-b");
    rt.create_ok(&bundle, &a).expect("create");
    rt.create_ok(&bundle, &b).expect("create");
    rt.run_ok(&["start", &b]).expect("start");

    let quiet = rt.run_ok(&["list", "-q"]).expect("list -q");
    let mut ids: Vec<String> = String::from_utf8_lossy(&quiet.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    ids.sort();
    assert_eq!(ids, [a.clone(), b.clone()]);

    let json = rt.run_ok(&["list", "--format", "json"]).expect("list json");
    let docs: Vec<Value> = serde_json::from_slice(&json.stdout).expect("json array");
    assert_eq!(docs.len(), 2, "{docs:?}");
    for (id, status) in [(&a, "created"), (&b, "running")] {
        let doc = docs.iter().find(|d| d["id"] == json!(id)).expect("listed");
        assert_eq!(doc["status"], json!(status), "{doc}");
        assert!(doc["pid"].as_i64().unwrap_or(0) > 0, "{doc}");
        assert_eq!(
            Path::new(doc["bundle"].as_str().unwrap_or("")),
            bundle.path()
        );
    }

    let table = rt.run_ok(&["list"]).expect("list");
    let text = String::from_utf8_lossy(&table.stdout);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split_whitespace().collect();
    assert_eq!(&header[..3], ["ID", "PID", "STATUS"], "{text}");
    for (id, status) in [(&a, "created"), (&b, "running")] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(id.as_str()) && l.contains(status)),
            "{id} {status} in {text}"
        );
    }
    for id in [&a, &b] {
        rt.run_ok(&["delete", "--force", id]).expect("delete");
        assert_no_leaks(id, Some(bundle.path()));
    }
}

#[test]
fn state_json_through_created_running_stopped() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("state");
    rt.create_ok(&bundle, &id).expect("create");
    let raw = |rt: &Runtime| -> Value {
        let out = rt.run_ok(&["state", &id]).expect("state");
        serde_json::from_slice(&out.stdout).expect("state json")
    };
    let created = raw(&rt);
    assert!(
        created["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{created}"
    );
    assert_eq!(created["id"], json!(id));
    assert_eq!(created["status"], json!("created"));
    let pid = created["pid"].as_i64().expect("pid");
    assert!(pid > 0 && pid_alive(pid));
    assert_eq!(
        Path::new(created["bundle"].as_str().expect("bundle")),
        bundle.path()
    );

    rt.run_ok(&["start", &id]).expect("start");
    let running = raw(&rt);
    assert_eq!(running["status"], json!("running"));
    assert_eq!(running["pid"].as_i64(), Some(pid), "same init");

    rt.run_ok(&["kill", &id, "KILL"]).expect("kill");
    rt.wait_status(&id, "stopped").expect("stopped");
    let stopped = raw(&rt);
    assert_eq!(stopped["status"], json!("stopped"));
    assert_eq!(stopped["id"], json!(id));
    assert!(
        stopped["pid"].as_i64().unwrap_or(0) == 0,
        "no pid once stopped: {stopped}"
    );
    rt.run_ok(&["delete", &id]).expect("delete");
    let err = stderr_of(&rt, &["state", &id]);
    assert!(err.contains(&id), "the error names the container: {err}");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn pause_freezes_and_resume_thaws() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_probe_args(&["count", "/tmp/count"])
        .expect("config");
    edit_spec(&mut bundle, |v| v["root"]["readonly"] = json!(false)).expect("config");
    let counter = bundle.rootfs().join("tmp/count");
    let read = || fs::read_to_string(&counter).unwrap_or_default();
    let number = || read().trim().parse::<u64>().ok();
    let id = rt.unique_id("pause");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    wait_for(Duration::from_secs(30), number).expect("counting");

    rt.run_ok(&["pause", &id]).expect("pause");
    assert_eq!(rt.state(&id).expect("state").status, "paused");
    let first = read();
    sleep(Duration::from_millis(300));
    assert_eq!(read(), first, "a paused process makes no progress");
    let err = stderr_of(&rt, &["pause", &id]);
    assert!(!err.trim().is_empty(), "pausing twice is refused");

    rt.run_ok(&["resume", &id]).expect("resume");
    assert_eq!(rt.state(&id).expect("state").status, "running");
    let base = first.trim().parse::<u64>().unwrap_or(0);
    wait_for(Duration::from_secs(30), || number().filter(|n| *n > base))
        .expect("counting again after resume");
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn spec_writes_a_runnable_config_with_docker_defaults() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    let config = bundle.path().join("config.json");
    let b = bundle.path().to_string_lossy().into_owned();
    let err = stderr_of(&rt, &["spec", "--bundle", &b]);
    assert!(err.contains("config.json"), "refuses to overwrite: {err}");
    fs::remove_file(&config).expect("remove config");
    rt.run_ok(&["spec", "--bundle", &b]).expect("spec");

    let spec = oci_spec::runtime::Spec::load(&config).expect("a valid spec");
    let v = serde_json::to_value(&spec).expect("json");
    let bounding: Vec<&str> = v["process"]["capabilities"]["bounding"]
        .as_array()
        .expect("bounding")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut want = docker_default_caps();
    want.sort();
    let mut got = bounding.clone();
    got.sort();
    assert_eq!(got, want, "Docker's default capabilities");
    let ns: Vec<&str> = v["linux"]["namespaces"]
        .as_array()
        .expect("namespaces")
        .iter()
        .filter_map(|n| n["type"].as_str())
        .collect();
    for t in ["pid", "network", "ipc", "uts", "mount"] {
        assert!(ns.contains(&t), "{t} in {ns:?}");
    }
    assert_eq!(v["process"]["noNewPrivileges"], json!(true));
    let masked = v["linux"]["maskedPaths"].as_array().expect("masked");
    assert!(masked.contains(&json!("/proc/kcore")));
    let readonly = v["linux"]["readonlyPaths"].as_array().expect("readonly");
    assert!(readonly.contains(&json!("/proc/sys")));

    // It runs: only the process changes.
    *bundle.spec_mut() = spec;
    bundle.set_probe_args(&["report"]).expect("config");
    // `spec` asks for a terminal, as runc's does; this run has no socket.
    edit_spec(&mut bundle, |v| v["process"]["terminal"] = json!(false)).expect("config");
    let id = rt.unique_id("spec");
    let out = rt.run_container(&bundle, &id).expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = report_in(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(r.pid, 1);
    assert!(r.no_new_privs);
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn spec_rootless_maps_the_caller() {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_string_lossy().into_owned();
    rt.run_ok(&["spec", "--rootless", "--bundle", &d])
        .expect("spec --rootless");
    let spec = oci_spec::runtime::Spec::load(dir.path().join("config.json")).expect("valid");
    let v = serde_json::to_value(&spec).expect("json");
    let ns = v["linux"]["namespaces"].as_array().expect("namespaces");
    assert!(ns.iter().any(|n| n["type"] == json!("user")), "{ns:?}");
    let uid = rustix::process::getuid().as_raw();
    let maps = v["linux"]["uidMappings"].as_array().expect("uidMappings");
    assert_eq!(maps.len(), 1);
    assert_eq!(maps[0]["hostID"], json!(uid));
    assert_eq!(maps[0]["containerID"], json!(0));
    assert!(v["linux"]["gidMappings"]
        .as_array()
        .is_some_and(|m| m.len() == 1));
}

#[test]
fn features_json() {
    let rt = Runtime::new().expect("runtime");
    let out = rt.run_ok(&["features"]).expect("features");
    let f: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(f["ociVersionMin"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    assert!(f["ociVersionMax"]
        .as_str()
        .is_some_and(|v| v.starts_with("1.")));
    let hooks = f["hooks"].as_array().expect("hooks");
    for h in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        assert!(hooks.contains(&json!(h)), "hook {h}");
    }
    let ns = f["linux"]["namespaces"].as_array().expect("namespaces");
    for t in ["cgroup", "ipc", "mount", "network", "pid", "user", "uts"] {
        assert!(ns.contains(&json!(t)), "namespace {t}");
    }
    let caps = f["linux"]["capabilities"].as_array().expect("caps");
    assert!(caps.contains(&json!("CAP_SYS_ADMIN")));
    assert!(f["mountOptions"]
        .as_array()
        .is_some_and(|m| m.contains(&json!("rbind"))));
    assert_eq!(f["linux"]["seccomp"]["enabled"], json!(true));
}

#[test]
fn log_file_gets_a_json_error_line() {
    let rt = Runtime::new().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("runtime.log");
    let l = log.to_string_lossy().into_owned();
    let missing = rt.unique_id("missing");
    let err = stderr_of(
        &rt,
        &["--log", &l, "--log-format", "json", "state", &missing],
    );
    assert!(err.contains(&missing), "{err}");
    let text = fs::read_to_string(&log).expect("log written");
    let line = text.lines().last().expect("a line");
    let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(entry["level"], json!("error"), "{entry}");
    assert!(
        entry["msg"].as_str().is_some_and(|m| m.contains(&missing)),
        "{entry}"
    );
    assert!(entry["time"].is_string(), "{entry}");
}

#[test]
fn systemd_cgroup_gives_a_clear_error() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::new().expect("bundle");
    let id = rt.unique_id("systemd");
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    let err = stderr_of(&rt, &["--systemd-cgroup", "create", "--bundle", &b, &id]);
    assert!(err.contains("systemd"), "{err}");
    assert!(rt.state(&id).is_err(), "nothing created");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn delete_of_a_running_container_needs_force() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("delete");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    let err = stderr_of(&rt, &["delete", &id]);
    assert!(err.contains(&id), "the error names the container: {err}");
    assert_eq!(rt.state(&id).expect("still there").status, "running");
    rt.run_ok(&["delete", "--force", &id])
        .expect("delete --force");
    assert!(rt.state(&id).is_err());
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn delete_of_a_created_container_needs_no_force() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("delete-created");
    rt.create_ok(&bundle, &id).expect("create");
    let pid = rt.state(&id).expect("state").pid.expect("pid");
    rt.run_ok(&["delete", &id])
        .expect("delete a created container");
    assert!(rt.state(&id).is_err());
    assert!(!pid_alive(i64::from(pid)), "init {pid} killed");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn kill_of_a_created_container_stops_it() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("kill-created");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["kill", &id, "KILL"])
        .expect("kill a created container");
    rt.wait_status(&id, "stopped").expect("stopped");
    let err = stderr_of(&rt, &["start", &id]);
    assert!(err.contains(&id), "start of a stopped container: {err}");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn state_sees_an_init_killed_from_the_host() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("hostkill");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    let pid = rt.state(&id).expect("state").pid.expect("pid");
    let pid = rustix::process::Pid::from_raw(pid).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
    rt.wait_status(&id, "stopped").expect("stopped");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn exec_into_a_paused_container_is_refused() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("exec-paused");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    rt.run_ok(&["pause", &id]).expect("pause");
    let err = stderr_of(&rt, &["exec", &id, "/bin/wharf-probe", "exit", "0"]);
    assert!(err.contains("paused"), "says why: {err}");
    rt.run_ok(&["resume", &id]).expect("resume");
    rt.run_ok(&["exec", &id, "/bin/wharf-probe", "exit", "0"])
        .expect("exec after resume");
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn delete_force_of_a_paused_container() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("delete-paused");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    rt.run_ok(&["pause", &id]).expect("pause");
    rt.run_ok(&["delete", "--force", &id])
        .expect("delete --force");
    assert!(rt.state(&id).is_err());
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn create_of_an_existing_id_is_refused_and_keeps_the_first() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("twice");
    rt.create_ok(&bundle, &id).expect("create");
    let first = rt.state(&id).expect("state").pid;
    let out = rt.create(&bundle, &id).expect("create again");
    assert!(!out.status.success(), "a second create with the same id");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&id), "names the id: {err}");
    let state = rt.state(&id).expect("first still there");
    assert_eq!((state.status.as_str(), state.pid), ("created", first));
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn invalid_container_ids_are_refused() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let b = bundle.path().to_string_lossy().into_owned();
    for id in ["../escape", "a/b", "", ".."] {
        let out = rt.run(&["create", "--bundle", &b, id]).expect("create");
        assert!(!out.status.success(), "id {id:?} accepted");
    }
    assert!(
        !rt.root().parent().expect("dir").join("escape").exists(),
        "nothing written outside the state root"
    );
    let list = rt.run_ok(&["list", "-q"]).expect("list");
    assert!(String::from_utf8_lossy(&list.stdout).trim().is_empty());
}

#[test]
fn run_in_the_foreground_with_a_terminal_proxies_the_pty() {
    // `spec` then `run`, as in runc's README: the spec asks for a terminal
    // and no --console-socket is given, so the runtime holds the pty and
    // copies it to its stdio. (runc does too, but opens /dev/tty, which a
    // test has not.)
    if std::env::var_os("WHARF_TEST_RUNTIME").is_some() {
        return;
    }
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["process"]["terminal"] = json!(true);
        v["process"]["args"] = json!(["/bin/sh", "-c", "/bin/wharf-probe tty; exit 5"]);
    })
    .expect("config");
    let id = rt.unique_id("run-tty");
    let out = rt.run_container(&bundle, &id).expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tty = wharf_testkit::action_in(&stdout);
    assert_eq!(tty.data["stdin"], json!(true), "{stdout:?}");
    assert_eq!(tty.data["stdout"], json!(true));
    assert_no_leaks(&id, Some(bundle.path()));
}

/// Spawns `args` of the runtime with its output in files of `dir`.
fn spawn(rt: &Runtime, args: &[&str], dir: &Path) -> std::process::Child {
    rt.command(args)
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(dir.join("out")).expect("out"))
        .stderr(fs::File::create(dir.join("err")).expect("err"))
        .spawn()
        .expect("spawn runtime")
}

/// Waits for a child with a hang guard; kills it if the guard runs out.
fn wait_child(child: &mut std::process::Child) -> Option<i32> {
    let status = wait_for(Duration::from_secs(30), || child.try_wait().ok().flatten());
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status.and_then(|s| s.code())
}

/// Waits until `pid` has a SIGTERM handler (SigCgt of /proc/PID/status),
/// so a signal sent next reaches the trap, not the default action.
fn wait_term_handler(pid: i32) {
    let caught = wait_for(Duration::from_secs(30), || {
        let mask = wharf_testkit::host::status_field(pid, "SigCgt");
        let mask = u64::from_str_radix(mask.first()?, 16).ok()?;
        let term = 1u64 << (rustix::process::Signal::TERM.as_raw() - 1);
        (mask & term != 0).then_some(())
    });
    assert!(caught.is_some(), "{pid} never trapped SIGTERM");
}

/// A shell as init that exits 7 on SIGTERM (init ignores signals it has
/// no handler for).
const TRAP_TERM: &str =
    "trap 'exit 7' TERM; while :; do /bin/wharf-probe sleep 0.1 >/dev/null; done";

#[test]
fn foreground_run_forwards_signals_to_init() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle
        .set_args(&["/bin/sh", "-c", TRAP_TERM])
        .expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let id = rt.unique_id("forward");
    rt.track(&id);
    let b = bundle.path().to_string_lossy().into_owned();
    let mut child = spawn(&rt, &["run", "--bundle", &b, &id], dir.path());
    let running = wait_for(Duration::from_secs(30), || {
        rt.state(&id).ok().filter(|s| s.status == "running")
    });
    let init = running.and_then(|s| s.pid).expect("container running");
    wait_term_handler(init);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal run");
    assert_eq!(
        wait_child(&mut child),
        Some(7),
        "init got SIGTERM and exited 7"
    );
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn foreground_exec_forwards_signals() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("exec-forward");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("exec.pid");
    let p = pid_file.to_string_lossy().into_owned();
    let mut child = spawn(
        &rt,
        &["exec", "--pid-file", &p, &id, "/bin/sh", "-c", TRAP_TERM],
        dir.path(),
    );
    let started = wait_for(Duration::from_secs(30), || {
        fs::read_to_string(&pid_file)
            .ok()
            .filter(|s| !s.trim().is_empty())
    });
    let exec_pid: i32 = started.expect("exec started").trim().parse().expect("pid");
    wait_term_handler(exec_pid);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("signal exec");
    assert_eq!(wait_child(&mut child), Some(7), "the process got SIGTERM");
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn ps_of_a_created_container_lists_its_init() {
    let rt = Runtime::new().expect("runtime");
    let bundle = Bundle::sleeper().expect("bundle");
    let id = rt.unique_id("ps-created");
    rt.create_ok(&bundle, &id).expect("create");
    let init = i64::from(rt.state(&id).expect("state").pid.expect("pid"));
    let out = rt.run_ok(&["ps", "--format", "json", &id]).expect("ps");
    let pids: Vec<i64> = serde_json::from_slice(&out.stdout).expect("ps json");
    assert_eq!(pids, [init]);
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}
