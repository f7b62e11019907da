//! Faults and load against a private daemon: 50 containers created and
//! started concurrently over the API, restart policies (counts, restarts
//! after the process is killed, the restarted process back in its cgroup
//! with its limits), live restore across a SIGKILL of the daemon, and
//! SIGKILLs of the daemon during loops of create/start/remove.
//!
//! The first two run against Debian's dockerd too (proving the
//! expectations); the SIGKILL scenarios need a daemon the fixture can kill
//! and restart, which only [`WharfDaemon`] offers.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread::{self, sleep};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wharf_testkit::daemon::{Engine, WharfDaemon};
use wharf_testkit::engine_tests;

const IMG: &str = "wharf-test/busybox:latest";
/// How long a poll for a state may take (a hang guard, not a measurement).
const POLL: Duration = Duration::from_secs(90);

fn body(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Polls `inspect` of `name` until `ok` holds; panics with the last state
/// after [`POLL`].
fn wait_state(e: &dyn Engine, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + POLL;
    loop {
        let r = e.api("GET", &format!("/containers/{name}/json"), None);
        let v = r.json();
        if r.status == 200 && ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "{name} never became {what}: {}",
            v["State"]
        );
        sleep(Duration::from_millis(50));
    }
}

fn kill_host_pid(pid: i64) {
    let pid = rustix::process::Pid::from_raw(pid as i32).expect("a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
}

fn alive(pid: i64) -> bool {
    pid > 0
        && fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(false)
}

/// The cgroup directory of `pid` in the v1 hierarchy of `controller`.
fn cgroup_dir(pid: i64, controller: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next(), parts.next());
        if ctrls.is_some_and(|c| c.split(',').any(|c| c == controller)) {
            return format!("/sys/fs/cgroup/{controller}{}", path.unwrap_or(""));
        }
    }
    panic!("pid {pid} has no {controller} cgroup:\n{text}");
}

/// 50 containers created and started at once over the API all succeed.
fn concurrent_50(e: &dyn Engine) {
    e.import_busybox(IMG);
    let results: Mutex<Vec<(usize, u16, u16, String)>> = Mutex::new(Vec::new());
    thread::scope(|s| {
        for i in 0..50 {
            let results = &results;
            s.spawn(move || {
                let cfg = json!({"Image": IMG, "Cmd": ["sleep", "1000"]});
                let c = e.api(
                    "POST",
                    &format!("/containers/create?name=par{i}"),
                    Some(&body(&cfg)),
                );
                let st = e.api("POST", &format!("/containers/par{i}/start"), None);
                results.lock().unwrap().push((
                    i,
                    c.status,
                    st.status,
                    format!("{} {}", c.text(), st.text()),
                ));
            });
        }
    });
    let results = results.into_inner().unwrap();
    let failed: Vec<_> = results
        .iter()
        .filter(|r| r.1 != 201 || r.2 != 204)
        .collect();
    assert!(failed.is_empty(), "failed creates/starts: {failed:?}");
    let running = e.docker_ok(&["ps", "-q", "--no-trunc"]);
    let ids: BTreeSet<&str> = running.lines().collect();
    assert_eq!(ids.len(), 50, "{running}");
    let pids = e.docker_ok(&["inspect", "-f", "{{.State.Pid}}", &format!("par{}", 7)]);
    assert!(alive(pids.trim().parse().unwrap()));
    thread::scope(|s| {
        for i in 0..50 {
            s.spawn(move || {
                let r = e.api("DELETE", &format!("/containers/par{i}?force=1"), None);
                assert_eq!(r.status, 204, "rm par{i}: {}", r.text());
            });
        }
    });
    assert_eq!(e.docker_ok(&["ps", "-a", "-q"]), "");
}

/// on-failure:N counts, `always` restarts a killed process into the same
/// cgroup with the same limits, `unless-stopped` honours a manual stop.
fn restart_policies(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "onfail",
        "--restart",
        "on-failure:2",
        IMG,
        "sh",
        "-c",
        "exit 1",
    ]);
    let v = wait_state(e, "onfail", "exited after 2 restarts", |v| {
        v["RestartCount"] == 2 && v["State"]["Status"] == "exited"
    });
    assert_eq!(v["State"]["ExitCode"], 1);
    assert_eq!(e.docker_ok(&["wait", "onfail"]), "1\n");
    assert_eq!(
        e.docker_ok(&[
            "inspect",
            "-f",
            "{{.RestartCount}} {{.State.Status}}",
            "onfail"
        ]),
        "2 exited\n"
    );

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "always",
        "--restart",
        "always",
        "--memory",
        "64m",
        "--pids-limit",
        "33",
        "--cpu-shares",
        "512",
        IMG,
        "sleep",
        "1000",
    ]);
    let first = wait_state(e, "always", "running", |v| v["State"]["Running"] == true);
    let id = first["Id"].as_str().unwrap().to_string();
    let pid1 = first["State"]["Pid"].as_i64().unwrap();
    let mem1 = cgroup_dir(pid1, "memory");
    assert!(mem1.contains(&id), "{mem1} does not name {id}");
    kill_host_pid(pid1);
    // While it waits to restart Docker says Running and Restarting, pid 0.
    let again = wait_state(e, "always", "restarted", |v| {
        let pid = v["State"]["Pid"].as_i64().unwrap_or(0);
        v["State"]["Running"] == true
            && v["State"]["Restarting"] == false
            && pid > 0
            && pid != pid1
            && v["RestartCount"] == 1
    });
    let pid2 = again["State"]["Pid"].as_i64().unwrap();
    assert!(alive(pid2));
    let mem2 = cgroup_dir(pid2, "memory");
    assert_eq!(mem1, mem2, "the restarted process is in another cgroup");
    let limit = fs::read_to_string(format!("{mem2}/memory.limit_in_bytes")).unwrap();
    assert_eq!(limit.trim(), (64u64 << 20).to_string());
    let pids = fs::read_to_string(format!("{}/pids.max", cgroup_dir(pid2, "pids"))).unwrap();
    assert_eq!(pids.trim(), "33");
    let shares = fs::read_to_string(format!("{}/cpu.shares", cgroup_dir(pid2, "cpu"))).unwrap();
    assert_eq!(shares.trim(), "512");
    let procs = fs::read_to_string(format!("{mem2}/cgroup.procs")).unwrap();
    assert!(procs.lines().any(|p| p == pid2.to_string()), "{procs}");

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "unless",
        "--restart",
        "unless-stopped",
        IMG,
        "sleep",
        "1000",
    ]);
    e.docker_ok(&["stop", "-t", "1", "unless"]);
    assert_eq!(
        e.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.RestartCount}}",
            "unless"
        ]),
        "exited 0\n"
    );
    e.docker_ok(&["rm", "-f", "always", "onfail", "unless"]);
}

engine_tests!(concurrent_50 => engine_faults_concurrent_50_dockerd,
    engine_faults_concurrent_50_wharf);
engine_tests!(restart_policies => engine_faults_restart_policies_dockerd,
    engine_faults_restart_policies_wharf);

/// Live restore: SIGKILL the daemon; the container keeps running, a
/// container whose process dies meanwhile is found exited, and the new
/// daemon lists, execs into and stops the survivor.
#[test]
fn engine_faults_live_restore_wharf() {
    let mut d = WharfDaemon::start().expect("a private wharf daemon");
    d.import_busybox(IMG);
    d.docker_ok(&["run", "-d", "--name", "survivor", IMG, "sleep", "1000"]);
    d.docker_ok(&["run", "-d", "--name", "victim", IMG, "sleep", "1000"]);

    let (survivor, victim) = (state_pid(&d, "survivor"), state_pid(&d, "victim"));
    d.kill9();
    assert!(alive(survivor), "the container died with the daemon");
    kill_host_pid(victim);
    d.spawn().expect("the daemon starts again");
    let v = wait_state(&d, "survivor", "running", |v| v["State"]["Running"] == true);
    assert_eq!(v["State"]["Pid"].as_i64(), Some(survivor));
    let v = wait_state(&d, "victim", "exited", |v| v["State"]["Status"] == "exited");
    assert_eq!(v["State"]["ExitCode"], 137);
    assert_eq!(d.docker_ok(&["ps", "--format", "{{.Names}}"]), "survivor\n");
    assert_eq!(d.docker_ok(&["exec", "survivor", "echo", "back"]), "back\n");
    d.docker_ok(&["stop", "-t", "1", "survivor"]);
    assert!(!alive(survivor));
    assert_eq!(
        d.docker_ok(&["inspect", "-f", "{{.State.Status}}", "survivor"]),
        "exited\n"
    );
    // A graceful restart (SIGTERM) keeps containers too.
    d.docker_ok(&["start", "survivor"]);
    let again = state_pid(&d, "survivor");
    d.terminate();
    assert!(alive(again));
    d.spawn().expect("the daemon starts again");
    wait_state(&d, "survivor", "running", |v| {
        v["State"]["Pid"].as_i64() == Some(again)
    });
    d.docker_ok(&["rm", "-f", "survivor", "victim"]);
    let left = d.stop();
    assert!(left.is_empty(), "left behind: {left:#?}");
}

fn state_pid(e: &dyn Engine, name: &str) -> i64 {
    let pid = e.docker_ok(&["inspect", "-f", "{{.State.Pid}}", name]);
    pid.trim().parse().expect("a pid")
}

/// What the client saw of one container in the SIGKILL loops.
#[derive(Debug, Default, Clone)]
struct Seen {
    id: Option<String>,
    /// create answered 201.
    created: bool,
    /// start answered 204.
    started: bool,
    /// delete was sent (whatever came back).
    remove_sent: bool,
    /// delete answered 204.
    removed: bool,
}

/// SIGKILL the daemon while four clients loop over create, start and
/// remove; after each restart no container is lost or doubled and those
/// that were started still run.
#[test]
fn engine_faults_kill9_loops_wharf() {
    kill9_loops(false);
}

/// [`engine_faults_kill9_loops_wharf`], then with every container removed
/// nothing of any container may be left on disk.
#[test]
fn engine_faults_kill9_leaves_no_orphans_wharf() {
    kill9_loops(true);
}

fn kill9_loops(check_disk: bool) {
    let mut d = WharfDaemon::start().expect("a private wharf daemon");
    d.import_busybox(IMG);
    let ledger: Mutex<BTreeMap<String, Seen>> = Mutex::new(BTreeMap::new());
    for round in 0..4 {
        let daemon_pid = i64::from(d.pid().expect("the daemon runs"));
        let ops = AtomicUsize::new(0);
        let down = AtomicBool::new(false);
        thread::scope(|s| {
            for worker in 0..4 {
                let (d, ledger, ops, down) = (&d, &ledger, &ops, &down);
                s.spawn(move || {
                    let mut j = 0;
                    while !down.load(Ordering::SeqCst) {
                        let name = format!("k{round}w{worker}n{j}");
                        j += 1;
                        let cfg = json!({"Image": IMG, "Cmd": ["sleep", "1000"]});
                        let mut seen = Seen::default();
                        let c = d.api(
                            "POST",
                            &format!("/containers/create?name={name}"),
                            Some(&body(&cfg)),
                        );
                        if c.status == 201 {
                            seen.created = true;
                            seen.id = c.json()["Id"].as_str().map(String::from);
                            let st = d.api("POST", &format!("/containers/{name}/start"), None);
                            seen.started = st.status == 204;
                            if j % 2 == 0 && st.status != 0 {
                                seen.remove_sent = true;
                                let rm =
                                    d.api("DELETE", &format!("/containers/{name}?force=1"), None);
                                seen.removed = rm.status == 204;
                            }
                        }
                        ledger.lock().unwrap().insert(name, seen);
                        ops.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            // Kill after a number of operations, not after a time.
            let target = 6 + round * 3;
            let deadline = Instant::now() + POLL;
            while ops.load(Ordering::SeqCst) < target && Instant::now() < deadline {
                sleep(Duration::from_millis(5));
            }
            kill_host_pid(daemon_pid);
            down.store(true, Ordering::SeqCst);
        });
        d.kill9(); // reaps it
        d.spawn().expect("the daemon starts again after SIGKILL");
        check_consistent(&d, &ledger.lock().unwrap());
    }
    let all = d.docker_ok(&["ps", "-a", "-q"]);
    let ids: Vec<&str> = all.lines().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(&ids);
        d.docker_ok(&args);
    }
    assert_eq!(d.docker_ok(&["ps", "-a", "-q"]), "");
    // The store is consistent: with every container removed, nothing of
    // any container is left on disk (snapshots, container dirs, shims,
    // bundles), so no half-made container survived a crash unlisted.
    let subs: &[&str] = if check_disk {
        &[
            "data/containers",
            "data/snapshots",
            "exec/shims",
            "exec/bundles",
        ]
    } else {
        &[]
    };
    for sub in subs {
        let left: Vec<String> = fs::read_dir(d.dir().join(sub))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(left.is_empty(), "{sub} still holds {left:?}");
    }
    let ok = d.docker_ok(&["run", "--rm", IMG, "echo", "still fine"]);
    assert_eq!(ok, "still fine\n");
    let left = d.stop();
    assert!(left.is_empty(), "left behind: {left:#?}");
}

fn check_consistent(d: &WharfDaemon, ledger: &BTreeMap<String, Seen>) {
    let list = d.api("GET", "/containers/json?all=1", None);
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    let list = list.as_array().expect("a list");
    let mut by_name: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for c in list {
        let id = c["Id"].as_str().unwrap_or("").to_string();
        assert!(ids.insert(id.clone()), "container {id} listed twice");
        for n in c["Names"].as_array().into_iter().flatten() {
            let n = n.as_str().unwrap_or("").trim_start_matches('/').to_string();
            by_name.entry(n).or_default().push(c);
        }
        let v = d.api("GET", &format!("/containers/{id}/json"), None);
        assert_eq!(
            v.status,
            200,
            "listed {id} cannot be inspected: {}",
            v.text()
        );
        // A container whose kill was in flight when the daemon died may
        // still be seen running for a moment after its process ended,
        // until its shim reports the exit; it must not stay so (a hang
        // guard, not a time limit: a loaded machine may take long).
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut v = v.json();
        while v["State"]["Running"] == true {
            let pid = v["State"]["Pid"].as_i64().unwrap_or(0);
            if alive(pid) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{id} stays running with a dead pid {pid}"
            );
            sleep(Duration::from_millis(50));
            v = d.api("GET", &format!("/containers/{id}/json"), None).json();
        }
    }
    for (name, list) in &by_name {
        assert_eq!(list.len(), 1, "name {name} listed {} times", list.len());
    }
    // `docker ps -a` agrees with the API's list.
    let ps = d.docker_ok(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}"]);
    let mut from_ps: Vec<&str> = ps.lines().filter_map(|l| l.split(' ').next()).collect();
    from_ps.sort();
    let from_api: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(from_ps, from_api, "docker ps -a and the API disagree");
    for (name, seen) in ledger {
        let found = by_name.get(name).map(|l| l[0]);
        if seen.removed {
            assert!(found.is_none(), "{name} was removed (204) but is listed");
            continue;
        }
        if seen.created && !seen.remove_sent {
            let c = found.unwrap_or_else(|| panic!("{name} was created (201) and is lost"));
            assert_eq!(c["Id"].as_str(), seen.id.as_deref(), "{name} changed id");
            if seen.started {
                assert_eq!(
                    c["State"], "running",
                    "{name} was started and is {}",
                    c["State"]
                );
            }
        }
    }
}

/// The fixture's own guard: stopping a daemon whose containers still run
/// (a test that failed half-way) leaves no process, mount, cgroup or
/// directory behind.
#[test]
fn engine_faults_fixture_cleans_up_running_containers_wharf() {
    let d = WharfDaemon::start().expect("a private wharf daemon");
    d.import_busybox(IMG);
    let bind = d.scratch().join("bind");
    fs::create_dir_all(&bind).unwrap();
    let v = format!("{}:/b", bind.display());
    d.docker_ok(&[
        "run", "-d", "--name", "left1", "-v", &v, IMG, "sleep", "1000",
    ]);
    d.docker_ok(&[
        "run", "-d", "-t", "--name", "left2", "-v", "vol:/v", IMG, "sh",
    ]);
    d.docker_ok(&["exec", "-d", "left1", "sleep", "1000"]);
    let pids: Vec<i64> = ["left1", "left2"]
        .iter()
        .map(|n| state_pid(&d, n))
        .collect();
    let left = d.stop();
    assert!(left.is_empty(), "left behind: {left:#?}");
    for pid in pids {
        assert!(!alive(pid), "container process {pid} survived the fixture");
    }
}

/// A fixture directory whose test process died without dropping it (a
/// test killed on a timeout) is removed, with the processes still using
/// it, by the next fixture that starts.
#[test]
fn engine_faults_fixture_sweeps_stale_dirs_wharf() {
    let stale = tempfile::Builder::new()
        .prefix("wharf-daemon-")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    let mut owner = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    fs::write(stale.join("owner.pid"), owner.id().to_string()).unwrap();
    // A process left running in it, as a shim would be.
    let mut user = std::process::Command::new("sleep")
        .arg("1000")
        .current_dir(&stale)
        .spawn()
        .unwrap();
    let d = WharfDaemon::start().expect("a private wharf daemon");
    assert!(stale.exists(), "a directory whose owner runs was swept");
    owner.kill().unwrap();
    owner.wait().unwrap();
    drop(d);
    let d = WharfDaemon::start().expect("a private wharf daemon");
    assert!(
        !stale.exists(),
        "the stale directory {} stayed",
        stale.display()
    );
    let status = user.wait().unwrap();
    assert!(!status.success(), "the process using it was not killed");
    drop(d);
}
