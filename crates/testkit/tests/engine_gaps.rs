//! Differences from dockerd found after the engine was built, each pinned
//! by a scenario that runs against Debian's dockerd (proving what Docker
//! does) and against `wharf daemon`: `ExecIDs` in inspect, the default
//! `MemorySwap`, `noprune`, the container's `Shell` for health checks and
//! the end of an attach when its client half-closes, and exec events.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;

use serde_json::{json, Value};
use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;

mod gaps_support;
use gaps_support::{inspect_until, read_head, GUARD};

const IMG: &str = "wharf-test/busybox:latest";

fn create(e: &dyn Engine, name: &str, body: Value) -> String {
    let r = e.api(
        "POST",
        &format!("/containers/create?name={name}"),
        Some(body.to_string().as_bytes()),
    );
    assert_eq!(r.status, 201, "create {name} on {}: {}", e.kind(), r.text());
    r.json()["Id"].as_str().unwrap().to_string()
}

/// `ExecIDs`: null without execs; the ids of execs created and not started
/// or still running; an exec that ended leaves the list; the container's
/// end empties it.
fn exec_ids(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&["run", "-d", "--name", "ex1", IMG, "sleep", "1000"]);
    assert_eq!(e.inspect("ex1")["ExecIDs"], Value::Null);
    e.docker_ok(&["exec", "ex1", "true"]);
    inspect_until(e, "ex1", "no exec ids after an exec ended", |v| {
        v["ExecIDs"].is_null()
    });
    let body = json!({"Cmd": ["sleep", "1000"]}).to_string();
    let created = e.api("POST", "/containers/ex1/exec", Some(body.as_bytes()));
    assert_eq!(created.status, 201, "{}", created.text());
    let idle = created.json()["Id"].as_str().unwrap().to_string();
    assert_eq!(e.inspect("ex1")["ExecIDs"], json!([idle.clone()]));
    let created = e.api("POST", "/containers/ex1/exec", Some(body.as_bytes()));
    let running = created.json()["Id"].as_str().unwrap().to_string();
    let start = e.api(
        "POST",
        &format!("/exec/{running}/start"),
        Some(br#"{"Detach":true}"#),
    );
    assert!(start.status < 300, "{}", start.text());
    let ids = e.inspect("ex1")["ExecIDs"].clone();
    let mut ids: Vec<String> = serde_json::from_value(ids).unwrap();
    ids.sort();
    let mut want = vec![idle.clone(), running.clone()];
    want.sort();
    assert_eq!(ids, want, "on {}", e.kind());
    e.docker_ok(&["kill", "ex1"]);
    inspect_until(e, "ex1", "no exec ids once it stopped", |v| {
        v["State"]["Running"] == json!(false) && v["ExecIDs"].is_null()
    });
    // The execs went with the run.
    let gone = e.api("GET", &format!("/exec/{idle}/json"), None);
    assert_eq!(gone.status, 404, "{}", gone.text());
}

engine_tests!(exec_ids => engine_gaps_exec_ids_dockerd, engine_gaps_exec_ids_wharf);

/// A memory limit without a swap limit: MemorySwap is twice the memory in
/// inspect and in the cgroup the container sees; -1 and an explicit value
/// stay; no limit stays 0.
fn memory_swap_default(e: &dyn Engine) {
    e.import_busybox(IMG);
    let swap = |name: &str| e.inspect(name)["HostConfig"]["MemorySwap"].clone();
    e.docker_ok(&["create", "--name", "ms1", "--memory", "64m", IMG]);
    assert_eq!(swap("ms1"), json!(128i64 << 20));
    e.docker_ok(&[
        "create",
        "--name",
        "ms2",
        "--memory",
        "64m",
        "--memory-swap",
        "-1",
        IMG,
    ]);
    assert_eq!(swap("ms2"), json!(-1));
    e.docker_ok(&[
        "create",
        "--name",
        "ms3",
        "-m",
        "64m",
        "--memory-swap",
        "100m",
        IMG,
    ]);
    assert_eq!(swap("ms3"), json!(100i64 << 20));
    e.docker_ok(&["create", "--name", "ms4", IMG]);
    assert_eq!(swap("ms4"), json!(0));
    // Through the API without the CLI's help.
    create(
        e,
        "ms5",
        json!({"Image": IMG, "HostConfig": {"Memory": 64i64 << 20}}),
    );
    assert_eq!(swap("ms5"), json!(128i64 << 20));
    // Update: a memory limit alone stays under the swap limit already set
    // (none and -1 count as below any), else 409 in moby's words.
    let update = |name: &str, body: Value| {
        let r = e.api(
            "POST",
            &format!("/containers/{name}/update"),
            Some(body.to_string().as_bytes()),
        );
        (r.status, r.message())
    };
    assert_eq!(update("ms1", json!({"Memory": 32i64 << 20})).0, 200);
    assert_eq!(swap("ms1"), json!(128i64 << 20));
    for name in ["ms1", "ms2", "ms4"] {
        let id = e.inspect(name)["Id"].as_str().unwrap().to_string();
        assert_eq!(
            update(name, json!({"Memory": 300i64 << 20})),
            (
                409,
                format!(
                    "Cannot update container {id}: Memory limit should be smaller than already \
                     set memoryswap limit, update the memoryswap at the same time"
                )
            ),
            "{name} on {}",
            e.kind()
        );
    }
    let both = json!({"Memory": 300i64 << 20, "MemorySwap": 600i64 << 20});
    assert_eq!(update("ms4", both).0, 200);
    let memsw = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes";
    if std::path::Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() {
        let out = e.docker_ok(&["run", "--rm", "-m", "64m", IMG, "cat", memsw]);
        assert_eq!(out.trim(), (128u64 << 20).to_string(), "on {}", e.kind());
    }
}

engine_tests!(memory_swap_default => engine_gaps_memory_swap_default_dockerd, engine_gaps_memory_swap_default_wharf);

/// `noprune`: deleting an image keeps its untagged parent; without it the
/// parent goes too. The parent is made by commit (whose image's parent is
/// the container's image).
fn noprune_keeps_parents(e: &dyn Engine) {
    let base = e.import_busybox(IMG);
    let parent_of = |child: &str| {
        let r = e.api("GET", &format!("/images/{child}/json"), None);
        r.json()["Parent"].as_str().unwrap_or("").to_string()
    };
    for round in ["np", "p"] {
        let c = format!("{round}-c");
        e.docker_ok(&["run", "--name", &c, IMG, "sh", "-c", "echo 1 > /one"]);
        let mid = e.docker_ok(&["commit", &c, &format!("{round}/mid")]);
        e.docker_ok(&["rm", &c]);
        let c2 = format!("{round}-c2");
        e.docker_ok(&["run", "--name", &c2, &format!("{round}/mid"), "true"]);
        let top = e.docker_ok(&["commit", &c2, &format!("{round}/top")]);
        e.docker_ok(&["rm", &c2]);
        let (mid, top) = (mid.trim().to_string(), top.trim().to_string());
        assert_eq!(parent_of(&top), mid, "on {}", e.kind());
        assert_eq!(parent_of(&mid), base, "on {}", e.kind());
        // The middle image loses its tag and stays as top's parent.
        e.docker_ok(&["rmi", &format!("{round}/mid")]);
        let q = if round == "np" { "?noprune=1" } else { "" };
        let r = e.api("DELETE", &format!("/images/{round}/top{q}"), None);
        assert_eq!(r.status, 200, "{}", r.text());
        let deleted: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x["Deleted"].as_str().map(String::from))
            .collect();
        assert!(deleted.contains(&top), "{deleted:?}");
        let mid_left = e.api("GET", &format!("/images/{mid}/json"), None).status;
        if round == "np" {
            assert!(
                !deleted.contains(&mid),
                "noprune deleted {mid}: {deleted:?}"
            );
            assert_eq!(mid_left, 200, "on {}", e.kind());
            e.docker_ok(&["rmi", &mid]);
        } else {
            assert!(deleted.contains(&mid), "{deleted:?}");
            assert_eq!(mid_left, 404, "on {}", e.kind());
        }
        // The base image is tagged: never pruned.
        assert_eq!(
            e.api("GET", &format!("/images/{IMG}/json"), None).status,
            200
        );
    }
}

engine_tests!(noprune_keeps_parents => engine_gaps_noprune_keeps_parents_dockerd, engine_gaps_noprune_keeps_parents_wharf);

/// A `CMD-SHELL` health check runs through the container's `Shell`
/// (Config.Shell of the create body; Docker never takes the image's).
fn health_uses_the_containers_shell(e: &dyn Engine) {
    e.import_busybox(IMG);
    let shell = json!(["/bin/env", "VIA_SHELL=yes", "/bin/sh", "-c"]);
    let health = json!({
        "Test": ["CMD-SHELL", "echo shell=$VIA_SHELL"],
        "Interval": 500_000_000i64,
    });
    create(
        e,
        "hs1",
        json!({"Image": IMG, "Cmd": ["sleep", "1000"], "Shell": shell, "Healthcheck": health}),
    );
    create(
        e,
        "hs2",
        json!({"Image": IMG, "Cmd": ["sleep", "1000"], "Healthcheck": health}),
    );
    assert_eq!(e.inspect("hs1")["Config"]["Shell"], shell);
    // Zero durations and retries are left out (Go's omitempty).
    assert_eq!(e.inspect("hs1")["Config"]["Healthcheck"], health);
    assert!(e.inspect("hs2")["Config"].get("Shell").is_none());
    for (name, want, other) in [
        ("hs1", "shell=yes\n", "shell=\n"),
        ("hs2", "shell=\n", "shell=yes\n"),
    ] {
        e.docker_ok(&["start", name]);
        // A probe with the wanted output comes (one that failed to run
        // under load says why instead), and none ran in the other shell.
        let outputs = |v: &Value| -> Vec<Value> {
            let log = v["State"]["Health"]["Log"].as_array().cloned();
            log.unwrap_or_default()
                .iter()
                .map(|p| p["Output"].clone())
                .collect()
        };
        let v = inspect_until(e, name, want, |v| outputs(v).contains(&json!(want)));
        assert!(
            !outputs(&v).contains(&json!(other)),
            "{name} on {}: {v}",
            e.kind()
        );
    }
}

engine_tests!(health_uses_the_containers_shell => engine_gaps_health_shell_dockerd, engine_gaps_health_shell_wharf);

/// Attaches to a new `cat` container (stdin open) with stdin, starts it,
/// sends a line, half-closes; returns what the attach carried until it
/// ended and whether the container still runs afterwards.
fn half_close(e: &dyn Engine, name: &str, tty: bool, stdin_once: bool) -> (Vec<u8>, bool) {
    let id = create(
        e,
        name,
        json!({"Image": IMG, "Cmd": ["cat"], "Tty": tty, "OpenStdin": true,
               "StdinOnce": stdin_once, "AttachStdin": true, "AttachStdout": true,
               "AttachStderr": true}),
    );
    let mut s = UnixStream::connect(e.socket()).unwrap();
    s.set_read_timeout(Some(GUARD)).unwrap();
    write!(
        s,
        "POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\n\
         Host: docker\r\nUpgrade: tcp\r\nConnection: Upgrade\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let head = read_head(&mut s);
    assert!(head.starts_with("http/1.1 101"), "{head}");
    e.docker_ok(&["start", name]);
    s.write_all(b"hello\n").unwrap();
    // cat echoes the line (twice with a tty's echo): the stdin went in.
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    while !out.windows(5).any(|w| w == b"hello") {
        let n = s.read(&mut buf).expect("the attach never carried the line");
        assert!(n > 0, "the attach ended early: {out:?}");
        out.extend_from_slice(&buf[..n]);
    }
    s.shutdown(std::net::Shutdown::Write).unwrap();
    // The attach ends in every case (the guard turns a hang into a failure).
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(err) => panic!("{} never ended the attach of {name}: {err}", e.kind()),
        }
    }
    let running = if !tty && stdin_once {
        // Its stdin closed: cat ends by itself.
        inspect_until(e, name, "the exit", |v| {
            v["State"]["Running"] == json!(false)
        });
        false
    } else {
        e.inspect(name)["State"]["Running"] == json!(true)
    };
    (out, running)
}

/// Docker's rule for an attach whose client half-closes: with StdinOnce
/// and no tty the container's stdin closes (and the attach ends with the
/// process); otherwise the attach ends at once and the container's stdin
/// stays open (it keeps running).
fn attach_half_close(e: &dyn Engine) {
    e.import_busybox(IMG);
    let (out, running) = half_close(e, "hc1", false, true);
    assert!(!running, "on {}", e.kind());
    assert_eq!(out, b"\x01\0\0\0\0\0\0\x06hello\n");
    for (name, tty, once) in [
        ("hc2", false, false),
        ("hc3", true, true),
        ("hc4", true, false),
    ] {
        let (_, running) = half_close(e, name, tty, once);
        assert!(
            running,
            "{name} (tty {tty}, stdin_once {once}) on {}",
            e.kind()
        );
    }
}

engine_tests!(attach_half_close => engine_gaps_attach_half_close_dockerd, engine_gaps_attach_half_close_wharf);

/// `docker import --change` with an instruction Docker does not allow:
/// a 400 in Docker's words, which the CLI receives after sending the
/// whole archive (no broken pipe).
fn import_refuses_a_shell_change(e: &dyn Engine) {
    let tar = wharf_testkit::images::busybox_rootfs_tar();
    let args = [
        "import",
        "--change",
        "SHELL [\"/bin/sh\"]",
        "-",
        "gaps/shell",
    ];
    let out = e.docker_input(&args, &tar);
    assert!(!out.status.success(), "on {}", e.kind());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error response from daemon: shell is not a valid change command"),
        "on {}: {err}",
        e.kind()
    );
}

engine_tests!(import_refuses_a_shell_change => engine_gaps_import_shell_change_dockerd, engine_gaps_import_shell_change_wharf);

/// `--device-cgroup-rule`: in HostConfig, in the container's device cgroup
/// (v1 lists it), and checked at start (500 in moby's words).
fn device_cgroup_rules(e: &dyn Engine) {
    e.import_busybox(IMG);
    let list = "/sys/fs/cgroup/devices/devices.list";
    if std::path::Path::new("/sys/fs/cgroup/devices/devices.list").exists() {
        let out = e.docker_ok(&[
            "run",
            "--rm",
            "--device-cgroup-rule",
            "c 42:* rmw",
            IMG,
            "cat",
            list,
        ]);
        assert!(
            out.lines().any(|l| l == "c 42:* rwm"),
            "on {}: {out}",
            e.kind()
        );
    }
    e.docker_ok(&[
        "create",
        "--name",
        "dcr",
        "--device-cgroup-rule",
        "c 42:* rmw",
        IMG,
    ]);
    let rules = e.inspect("dcr")["HostConfig"]["DeviceCgroupRules"].clone();
    assert_eq!(rules, json!(["c 42:* rmw"]));
    let body = json!({"Image": IMG, "HostConfig": {"DeviceCgroupRules": ["c a:2 r"]}});
    create(e, "dcr-bad", body);
    let r = e.api("POST", "/containers/dcr-bad/start", None);
    assert_eq!(
        (r.status, r.message()),
        (
            500,
            "invalid device cgroup rule format: 'c a:2 r'".to_string()
        ),
        "on {}",
        e.kind()
    );
}

engine_tests!(device_cgroup_rules => engine_gaps_device_cgroup_rules_dockerd, engine_gaps_device_cgroup_rules_wharf);

/// `--mount type=volume,volume-opt=…`: the options of the volume the
/// mount creates (named or anonymous); an existing volume keeps its own.
fn volume_opts(e: &dyn Engine) {
    e.import_busybox(IMG);
    let df = |mount: &str| {
        let out = e.docker_ok(&["run", "--rm", "--mount", mount, IMG, "df", "-k", "/d"]);
        out.lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string()
    };
    let tmpfs = "volume-opt=type=tmpfs,volume-opt=device=tmpfs";
    assert_eq!(
        df(&format!(
            "type=volume,src=vo1,dst=/d,{tmpfs},volume-opt=o=size=1m"
        )),
        "1024"
    );
    let opts = e.docker_ok(&["volume", "inspect", "-f", "{{json .Options}}", "vo1"]);
    assert_eq!(
        opts.trim(),
        r#"{"device":"tmpfs","o":"size=1m","type":"tmpfs"}"#
    );
    assert_eq!(
        df(&format!("type=volume,dst=/d,{tmpfs},volume-opt=o=size=2m")),
        "2048"
    );
    assert_eq!(
        df(&format!(
            "type=volume,src=vo1,dst=/d,{tmpfs},volume-opt=o=size=3m"
        )),
        "1024"
    );
}

engine_tests!(volume_opts => engine_gaps_volume_opts_dockerd, engine_gaps_volume_opts_wharf);

/// Create answers Docker's warnings for options without effect.
fn create_warnings(e: &dyn Engine) {
    e.import_busybox(IMG);
    let warnings = |host: Value| {
        let body = json!({"Image": IMG, "HostConfig": host});
        let r = e.api(
            "POST",
            "/containers/create",
            Some(body.to_string().as_bytes()),
        );
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["Warnings"].clone()
    };
    let oom = warnings(json!({"OomKillDisable": true}));
    assert!(
        oom.as_array().unwrap().contains(&json!(
            "OOM killer is disabled for the container, but no memory limit is set, this can \
             result in the system running out of resources."
        )),
        "on {}: {oom}",
        e.kind()
    );
    let ports = warnings(json!({"NetworkMode": "host",
        "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}));
    assert_eq!(
        ports,
        json!(["Published ports are discarded when using host network mode"])
    );
}

engine_tests!(create_warnings => engine_gaps_create_warnings_dockerd, engine_gaps_create_warnings_wharf);

/// `top` runs the host's `ps -ef` limited to the container's pids with
/// `-q` (as moby's psPidsArg), so the columns are `-ef`'s.
fn top_columns(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&["run", "-d", "--name", "top1", IMG, "sleep", "1000"]);
    let r = e.api("GET", "/containers/top1/top", None);
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(
        v["Titles"],
        json!(["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"])
    );
    assert_eq!(
        v["Processes"][0][7],
        json!("sleep 1000"),
        "on {}: {v}",
        e.kind()
    );
}

engine_tests!(top_columns => engine_gaps_top_columns_dockerd, engine_gaps_top_columns_wharf);

/// One-shot stats: on cgroup v1, `memory_stats.stats` holds the keys Docker
/// reports (containerd's set), not every line of memory.stat.
fn stats_memory_keys(e: &dyn Engine) {
    if !std::path::Path::new("/sys/fs/cgroup/memory/memory.stat").exists() {
        return;
    }
    e.import_busybox(IMG);
    e.docker_ok(&["run", "-d", "--name", "st1", IMG, "sleep", "1000"]);
    let r = e.api("GET", "/containers/st1/stats?stream=0", None);
    let stats = r.json()["memory_stats"]["stats"].clone();
    let mut keys: Vec<String> = stats.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    // dockerd 20.10's keys: these fifteen, their `total_` forms and the
    // two hierarchical limits.
    let base = "cache rss rss_huge mapped_file dirty writeback pgpgin pgpgout pgfault \
                pgmajfault inactive_anon active_anon inactive_file active_file unevictable";
    let mut want: Vec<String> = base.split_whitespace().map(String::from).collect();
    let totals: Vec<String> = want.iter().map(|k| format!("total_{k}")).collect();
    want.extend(totals);
    want.extend([
        "hierarchical_memory_limit".into(),
        "hierarchical_memsw_limit".into(),
    ]);
    want.sort();
    assert_eq!(keys, want, "on {}", e.kind());
}

engine_tests!(stats_memory_keys => engine_gaps_stats_memory_keys_dockerd, engine_gaps_stats_memory_keys_wharf);

/// Exec events: `exec_create: <cmd> <args…>` and `exec_start: …` with the
/// exec's id, then `exec_die` with its exit code, for attached and
/// detached execs; `event=exec_create` selects by the part before the
/// colon.
fn exec_events(e: &dyn Engine) {
    e.import_busybox(IMG);
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 1;
    e.docker_ok(&["run", "-d", "--name", "xe1", IMG, "sleep", "1000"]);
    e.docker_ok(&["exec", "xe1", "true"]);
    let out = e.docker(&["exec", "xe1", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3), "on {}", e.kind());
    e.docker_ok(&["exec", "-d", "xe1", "sleep", "0.2"]);
    // The history up to a second from now (the CLI waits for it).
    let events = |filter: &str| {
        let since = t0.to_string();
        let until = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1)
        .to_string();
        let format = "{{.Action}}|{{json .Actor.Attributes}}";
        e.docker_ok(&[
            "events", "--since", &since, "--until", &until, "--filter", filter, "--format", format,
        ])
    };
    let deadline = std::time::Instant::now() + GUARD;
    let mut out = events("container=xe1");
    while out.matches("exec_die").count() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "three exec_die in {out}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
        out = events("container=xe1");
    }
    let execs: Vec<(String, Value)> = out
        .lines()
        .filter(|l| l.starts_with("exec_"))
        .map(|l| {
            let (action, attrs) = l.split_once('|').unwrap();
            (action.to_string(), serde_json::from_str(attrs).unwrap())
        })
        .collect();
    let actions: Vec<&str> = execs.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "exec_create: true ",
            "exec_start: true ",
            "exec_die",
            "exec_create: sh -c exit 3",
            "exec_start: sh -c exit 3",
            "exec_die",
            "exec_create: sleep 0.2",
            "exec_start: sleep 0.2",
            "exec_die",
        ],
        "on {}",
        e.kind()
    );
    for (i, code) in [(2, "0"), (5, "3"), (8, "0")] {
        let (_, attrs) = &execs[i];
        assert_eq!(attrs["exitCode"], code, "on {}: {attrs}", e.kind());
        assert_eq!(attrs["execID"], execs[i - 2].1["execID"], "on {}", e.kind());
        assert_eq!(attrs["name"], "xe1");
    }
    let created = events("event=exec_create");
    assert_eq!(created.lines().count(), 3, "on {}: {created}", e.kind());
    e.docker_ok(&["rm", "-f", "xe1"]);
}

engine_tests!(exec_events => engine_gaps_exec_events_dockerd, engine_gaps_exec_events_wharf);
