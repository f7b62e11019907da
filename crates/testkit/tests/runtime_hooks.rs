//! OCI hooks end to end: every kind runs with the state JSON on stdin, in
//! the order of the lifecycle; createContainer runs in the container's
//! mount namespace before pivot_root (host paths work), startContainer
//! inside the container (its path is the rootfs's busybox); a failing or
//! timed-out createRuntime hook fails `create` and leaves nothing behind.
//! Runs `wharf runtime`; `WHARF_TEST_RUNTIME=/usr/sbin/runc` runs them on
//! runc.

use std::fs;
use std::path::Path;

use serde_json::{json, Value};
use wharf_testkit::bundle::BUSYBOX;
use wharf_testkit::host::edit_spec;
use wharf_testkit::{assert_no_leaks, Bundle, Runtime};

/// Where container-side hooks see the output directory.
const INSIDE: &str = "/hooks-out";

/// A hook that appends its name to `order` and saves its stdin as
/// `<name>.json` in `out` (a path as the hook sees it).
fn recording_hook(name: &str, busybox: &str, out: &str) -> Value {
    json!({
        "path": busybox,
        "args": [
            "busybox", "sh", "-c",
            format!("echo {name} >> {out}/order && /bin/busybox cat > {out}/{name}.json"),
        ],
        "env": ["PATH=/bin:/usr/bin"],
    })
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}: {text:?}", path.display()))
}

#[test]
fn every_hook_kind_runs_in_order_with_the_state() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["exit", "0"]).expect("config");
    let out_dir = bundle.path().join("hooks-out");
    fs::create_dir(&out_dir).expect("out dir");
    let host = out_dir.to_string_lossy().into_owned();
    edit_spec(&mut bundle, |v| {
        v["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": INSIDE, "type": "bind", "source": host, "options": ["rbind", "rw"]
        }));
        v["hooks"] = json!({
            "prestart": [recording_hook("prestart", BUSYBOX, &host)],
            "createRuntime": [recording_hook("createRuntime", BUSYBOX, &host)],
            "createContainer": [recording_hook("createContainer", BUSYBOX, &host)],
            // Runs after pivot_root: the path and the directory are the
            // container's.
            "startContainer": [recording_hook("startContainer", "/bin/busybox", INSIDE)],
            "poststart": [recording_hook("poststart", BUSYBOX, &host)],
            "poststop": [recording_hook("poststop", BUSYBOX, &host)],
        });
    })
    .expect("config");

    let id = rt.unique_id("hooks");
    rt.create_ok(&bundle, &id).expect("create");
    let pid = rt.state(&id).expect("state").pid.expect("pid");
    let order = || fs::read_to_string(out_dir.join("order")).unwrap_or_default();
    // (runc 1.1 also runs poststart here, against the runtime spec.)
    assert_eq!(
        order().lines().collect::<Vec<_>>(),
        ["prestart", "createRuntime", "createContainer"],
        "hooks run by create"
    );
    rt.run_ok(&["start", &id]).expect("start");
    rt.wait_status(&id, "stopped").expect("stopped");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));

    let all = order();
    let lines: Vec<&str> = all.lines().collect();
    assert_eq!(lines.len(), 6, "each hook once: {lines:?}");
    assert_eq!(
        &lines[..3],
        ["prestart", "createRuntime", "createContainer"]
    );
    // startContainer (in init, after `start` opened the fifo) and
    // poststart (in `start`) run concurrently; poststop comes last.
    let mut middle = lines[3..5].to_vec();
    middle.sort();
    assert_eq!(middle, ["poststart", "startContainer"]);
    assert_eq!(lines[5], "poststop");

    for name in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let state = read_json(&out_dir.join(format!("{name}.json")));
        assert_eq!(state["id"], json!(id), "{name}: {state}");
        assert!(
            state["ociVersion"]
                .as_str()
                .is_some_and(|v| v.starts_with("1.")),
            "{name}: {state}"
        );
        assert_eq!(
            Path::new(state["bundle"].as_str().unwrap_or("")),
            bundle.path(),
            "{name}: {state}"
        );
        if name != "poststop" {
            assert_eq!(
                state["pid"].as_i64(),
                Some(i64::from(pid)),
                "{name}: {state}"
            );
        }
    }
    let poststart = read_json(&out_dir.join("poststart.json"));
    assert_eq!(poststart["status"], json!("running"));
    let poststop = read_json(&out_dir.join("poststop.json"));
    assert_eq!(poststop["status"], json!("stopped"));
}

/// Creates a bundle whose createRuntime hook is `script` (busybox sh)
/// with `timeout`; returns the stderr of the failed create.
fn failing_create(script: &str, timeout: Option<i64>) -> String {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    edit_spec(&mut bundle, |v| {
        let mut hook = json!({
            "path": BUSYBOX,
            "args": ["busybox", "sh", "-c", script],
        });
        if let Some(t) = timeout {
            hook["timeout"] = json!(t);
        }
        v["hooks"] = json!({ "createRuntime": [hook] });
    })
    .expect("config");
    let id = rt.unique_id("badhook");
    let out = rt.create(&bundle, &id).expect("create");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "create with a failing hook succeeded"
    );
    assert!(rt.state(&id).is_err(), "no container after a failed create");
    assert_no_leaks(&id, Some(bundle.path()));
    stderr
}

#[test]
fn failing_create_runtime_hook_fails_create_and_leaves_nothing() {
    let stderr = failing_create("echo hook-says-no >&2; exit 3", None);
    assert!(
        stderr.contains("hook-says-no"),
        "the hook's message: {stderr}"
    );
    // Wharf names the hook's kind; runc 1.1 says only "hook #0".
    assert!(
        stderr.contains("createRuntime"),
        "the hook's kind: {stderr}"
    );
}

#[test]
fn hook_timeout_kills_the_hook_and_fails_create() {
    // exec: the shell becomes the sleep, so the kill reaches it.
    let stderr = failing_create("exec /bin/busybox sleep 30", Some(1));
    // wharf says "timed out", runc "ran past specified timeout".
    assert!(
        stderr.contains("time"),
        "the error names the timeout: {stderr}"
    );
}

#[test]
fn failing_start_container_hook_stops_the_container_and_says_why() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::sleeper().expect("bundle");
    edit_spec(&mut bundle, |v| {
        v["hooks"] = json!({ "startContainer": [{
            "path": "/bin/busybox",
            "args": ["busybox", "sh", "-c", "echo start-hook-says-no >&2; exit 4"],
        }]});
    })
    .expect("config");
    let id = rt.unique_id("badstart");
    rt.create_ok(&bundle, &id).expect("create");
    // `start` has returned by the time the hook runs in init (runc's does
    // too); the container stops without running its process (runtime
    // spec, "Lifecycle"), and the hook's message reaches the container's
    // stderr, where an engine reads it.
    let _ = rt.start(&id).expect("start");
    rt.wait_status(&id, "stopped").expect("stopped");
    let stderr = rt.container_stderr(&id);
    assert!(stderr.contains("start-hook-says-no"), "{stderr:?}");
    assert!(
        !rt.container_stdout(&id).contains('{'),
        "the process did not run"
    );
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn hooks_of_a_user_namespace_container() {
    use std::os::unix::fs::PermissionsExt;
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["exit", "0"]).expect("config");
    let out_dir = bundle.path().join("hooks-out");
    fs::create_dir(&out_dir).expect("out dir");
    // Container-side hooks write as the container's root, a mapped uid.
    fs::set_permissions(&out_dir, fs::Permissions::from_mode(0o777)).expect("chmod");
    // Host hooks create it as the host's root: let the mapped one append.
    fs::write(out_dir.join("order"), "").expect("order");
    fs::set_permissions(out_dir.join("order"), fs::Permissions::from_mode(0o666)).expect("chmod");
    // The root filesystem belongs to the host's root, unmapped in the
    // container: the mount point must exist already.
    fs::create_dir(bundle.rootfs().join("hooks-out")).expect("mount point");
    let host = out_dir.to_string_lossy().into_owned();
    edit_spec(&mut bundle, |v| {
        v["linux"]["namespaces"]
            .as_array_mut()
            .expect("namespaces")
            .push(json!({ "type": "user" }));
        let map = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
        v["linux"]["uidMappings"] = map.clone();
        v["linux"]["gidMappings"] = map;
        v["mounts"].as_array_mut().expect("mounts").push(json!({
            "destination": INSIDE, "type": "bind", "source": host, "options": ["rbind", "rw"]
        }));
        v["hooks"] = json!({
            "createRuntime": [recording_hook("createRuntime", BUSYBOX, &host)],
            "createContainer": [recording_hook("createContainer", BUSYBOX, &host)],
            "startContainer": [recording_hook("startContainer", "/bin/busybox", INSIDE)],
            "poststop": [recording_hook("poststop", BUSYBOX, &host)],
        });
    })
    .expect("config");
    let id = rt.unique_id("userns-hooks");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    rt.wait_status(&id, "stopped").expect("stopped");
    rt.run_ok(&["delete", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
    let order = fs::read_to_string(out_dir.join("order")).unwrap_or_default();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        [
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststop"
        ],
        "container stderr: {}",
        rt.container_stderr(&id)
    );
    for name in [
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststop",
    ] {
        let state = read_json(&out_dir.join(format!("{name}.json")));
        assert_eq!(state["id"], json!(id), "{name}: {state}");
    }
}

#[test]
fn failing_poststart_and_poststop_hooks_only_warn() {
    // Runtime spec: a failing poststart or poststop hook is logged, and the
    // lifecycle goes on.
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::sleeper().expect("bundle");
    let out_dir = bundle.path().join("hooks-out");
    fs::create_dir(&out_dir).expect("out dir");
    let host = out_dir.to_string_lossy().into_owned();
    let failing = json!({ "path": BUSYBOX, "args": ["busybox", "sh", "-c", "exit 9"] });
    edit_spec(&mut bundle, |v| {
        v["hooks"] = json!({
            "poststart": [failing.clone(), recording_hook("poststart", BUSYBOX, &host)],
            "poststop": [failing, recording_hook("poststop", BUSYBOX, &host)],
        });
    })
    .expect("config");
    let id = rt.unique_id("warn-hooks");
    rt.create_ok(&bundle, &id).expect("create");
    let start = rt.start(&id).expect("start");
    assert!(
        start.status.success(),
        "a failing poststart hook does not fail start: {}",
        String::from_utf8_lossy(&start.stderr)
    );
    assert_eq!(rt.state(&id).expect("state").status, "running");
    // Wharf warns on stderr naming the hook (runc logs it).
    let warning = String::from_utf8_lossy(&start.stderr);
    if std::env::var_os("WHARF_TEST_RUNTIME").is_none() {
        assert!(warning.contains("poststart"), "a warning: {warning:?}");
    }
    rt.run_ok(&["delete", "--force", &id])
        .expect("delete --force runs poststop");
    assert_no_leaks(&id, Some(bundle.path()));
    let order = fs::read_to_string(out_dir.join("order")).unwrap_or_default();
    assert_eq!(
        order.lines().collect::<Vec<_>>(),
        ["poststart", "poststop"],
        "the hooks after a failed one still run"
    );
}

#[test]
fn hooks_get_their_args_argv0_and_env_only() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::new().expect("bundle");
    bundle.set_probe_args(&["exit", "0"]).expect("config");
    let out = bundle.path().join("hook-env.txt");
    let o = out.to_string_lossy().into_owned();
    edit_spec(&mut bundle, |v| {
        v["hooks"] = json!({ "createRuntime": [{
            "path": BUSYBOX,
            // argv[0] "sh" picks busybox's applet; $0 is the next one.
            "args": ["sh", "-c", format!("echo \"$0|$A|${{HOME:-unset}}\" > {o}"), "zero"],
            "env": ["A=from-hook-env"],
        }]});
    })
    .expect("config");
    let id = rt.unique_id("hook-env");
    let run = rt.run_container(&bundle, &id).expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_no_leaks(&id, Some(bundle.path()));
    let text = fs::read_to_string(&out).expect("hook output");
    assert_eq!(
        text.trim(),
        "zero|from-hook-env|unset",
        "the runtime's env is not passed on"
    );
}
