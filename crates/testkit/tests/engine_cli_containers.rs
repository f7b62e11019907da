//! The docker CLI 28 managing containers against a private daemon: ps,
//! exec, logs, stop/start/restart/kill/rm, inspect, cp, top, stats, port,
//! rename, wait, events. Each scenario runs against Debian's dockerd
//! (proving the expectations) and against `wharf daemon`.

use std::fs;
use std::thread::sleep;
use std::time::Duration;

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;
use wharf_testkit::{explain, stdout_text};

const IMG: &str = "wharf-test/busybox:latest";

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(String::from).collect();
    v.sort();
    v
}

/// `ps` with -a, -q, --filter, --format and `table`.
fn ps(e: &dyn Engine) {
    e.import_busybox(IMG);
    let up = e.docker_ok(&[
        "run", "-d", "--name", "up1", "--label", "k=v", IMG, "sleep", "1000",
    ]);
    let done = e.docker(&["run", "--name", "done1", IMG, "sh", "-c", "exit 2"]);
    assert_eq!(done.status.code(), Some(2), "{}", explain(&done));
    e.docker_ok(&["create", "--name", "new1", IMG, "true"]);

    let header = e.docker_ok(&["ps"]);
    let first = header.lines().next().unwrap_or("");
    for col in [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ] {
        assert!(first.contains(col), "ps header {first:?} lacks {col}");
    }
    assert_eq!(header.lines().count(), 2, "{header}");
    assert!(header.contains("Up "), "{header}");
    assert!(header.contains("\"sleep 1000\""), "{header}");

    assert_eq!(
        e.docker_ok(&["ps", "-q"]),
        format!("{}\n", &up.trim()[..12])
    );
    assert_eq!(
        e.docker_ok(&["ps", "-q", "--no-trunc"]),
        format!("{}\n", up.trim())
    );
    assert_eq!(e.docker_ok(&["ps", "-a", "-q"]).lines().count(), 3);
    let all = e.docker_ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    let all = sorted_lines(&all);
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[0].starts_with("done1 Exited (2) "), "{all:?}");
    assert_eq!(all[1], "new1 Created");
    assert!(all[2].starts_with("up1 Up "), "{all:?}");

    let f = |filter: &str| e.docker_ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
    assert_eq!(f("status=exited"), "done1\n");
    assert_eq!(f("status=created"), "new1\n");
    assert_eq!(f("status=running"), "up1\n");
    assert_eq!(f("name=new"), "new1\n");
    assert_eq!(f("label=k=v"), "up1\n");
    assert_eq!(f("exited=2"), "done1\n");
    assert_eq!(f(&format!("id={}", &up.trim()[..12])), "up1\n");
    assert_eq!(sorted_lines(&f(&format!("ancestor={IMG}"))).len(), 3);

    let table = e.docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "name=up1",
        "--format",
        "table {{.Names}}\t{{.Image}}",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 2, "{table}");
    assert!(lines[0].starts_with("NAMES"), "{table}");
    assert!(lines[0].contains("IMAGE"), "{table}");
    assert!(
        lines[1].starts_with("up1 ") && lines[1].ends_with(IMG),
        "{table}"
    );
    let json = e.docker_ok(&["ps", "--format", "{{json .Names}}"]);
    assert_eq!(json, "\"up1\"\n");
    let latest = e.docker_ok(&["ps", "-l", "--format", "{{.Names}}"]);
    assert_eq!(latest, "new1\n");
    e.docker_ok(&["rm", "-f", "up1", "done1", "new1"]);
}

/// `exec` with -e, -w, -u, -i, -d and its exit code.
fn exec(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&[
        "run", "-d", "--name", "ex1", "-e", "BASE=1", IMG, "sleep", "1000",
    ]);
    assert_eq!(e.docker_ok(&["exec", "ex1", "echo", "hi"]), "hi\n");
    assert_eq!(
        e.docker_ok(&["exec", "-e", "X=2", "ex1", "sh", "-c", "echo $BASE$X"]),
        "12\n"
    );
    assert_eq!(e.docker_ok(&["exec", "-w", "/tmp", "ex1", "pwd"]), "/tmp\n");
    assert_eq!(
        e.docker_ok(&["exec", "-u", "nobody", "ex1", "id", "-u"]),
        "65534\n"
    );
    let code = e.docker(&["exec", "ex1", "sh", "-c", "exit 5"]);
    assert_eq!(code.status.code(), Some(5), "{}", explain(&code));
    // Docker 20.10 says 126 for an exec of a missing binary, later ones 127.
    let missing = e.docker(&["exec", "ex1", "/no/such"]);
    assert!(
        matches!(missing.status.code(), Some(126 | 127)),
        "{}",
        explain(&missing)
    );
    let out = e.docker_input(&["exec", "-i", "ex1", "cat"], b"piped\n");
    assert_eq!(stdout_text(&out), "piped\n", "{}", explain(&out));
    e.docker_ok(&["exec", "-d", "ex1", "sh", "-c", "echo bg > /tmp/bg"]);
    let mut seen = String::new();
    for _ in 0..100 {
        seen = stdout_text(&e.docker(&["exec", "ex1", "cat", "/tmp/bg"]));
        if seen == "bg\n" {
            break;
        }
        sleep(Duration::from_millis(100));
    }
    assert_eq!(seen, "bg\n");
    // exec sees the container's pid namespace: sleep is pid 1.
    assert_eq!(
        e.docker_ok(&["exec", "ex1", "cat", "/proc/1/cmdline"]),
        "sleep\u{0}1000\u{0}"
    );
    e.docker_ok(&["stop", "-t", "1", "ex1"]);
    e.docker_fails(&["exec", "ex1", "true"], "is not running");
    e.docker_ok(&["rm", "ex1"]);
}

/// `logs` with --tail, -t, --since, and -f following until the exit.
fn logs(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&[
        "run",
        "--name",
        "lg1",
        IMG,
        "sh",
        "-c",
        "echo one; echo two >&2; echo three",
    ]);
    let out = e.docker(&["logs", "lg1"]);
    assert_eq!(stdout_text(&out), "one\nthree\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "two\n");
    e.docker_ok(&[
        "run",
        "--name",
        "lg3",
        IMG,
        "sh",
        "-c",
        "echo 1; echo 2; echo 3",
    ]);
    assert_eq!(e.docker_ok(&["logs", "--tail", "1", "lg3"]), "3\n");
    assert_eq!(e.docker_ok(&["logs", "-n", "2", "lg3"]), "2\n3\n");
    assert_eq!(e.docker_ok(&["logs", "--tail", "all", "lg3"]), "1\n2\n3\n");
    let stamped = e.docker_ok(&["logs", "-t", "lg1"]);
    let line = stamped.lines().next().unwrap_or("");
    let (stamp, rest) = line.split_once(' ').unwrap_or(("", ""));
    assert_eq!(rest, "one");
    assert!(
        stamp.ends_with('Z') && stamp.contains('T') && stamp.len() >= 20,
        "{stamp}"
    );
    let none = e.docker(&["logs", "--since", "2099-01-01T00:00:00Z", "lg1"]);
    assert_eq!(stdout_text(&none), "");

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "lg2",
        IMG,
        "sh",
        "-c",
        "echo a; sleep 2; echo b",
    ]);
    let follow = e.docker(&["logs", "-f", "lg2"]);
    assert!(follow.status.success(), "{}", explain(&follow));
    assert_eq!(
        stdout_text(&follow),
        "a\nb\n",
        "logs -f returns once the container exits"
    );
    e.docker_ok(&["rm", "lg1", "lg2", "lg3"]);
}

/// stop, start, restart, kill, rm (-f, -v), pause/unpause and wait.
fn lifecycle(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&["create", "--name", "lc1", IMG, "sleep", "1000"]);
    let st = |n: &str| e.docker_ok(&["inspect", "-f", "{{.State.Status}}", n]);
    assert_eq!(st("lc1"), "created\n");
    assert_eq!(e.docker_ok(&["start", "lc1"]), "lc1\n");
    assert_eq!(st("lc1"), "running\n");
    let started = e.docker_ok(&["inspect", "-f", "{{.State.StartedAt}}", "lc1"]);
    // `start` of a running container succeeds and changes nothing.
    e.docker_ok(&["start", "lc1"]);
    assert_eq!(e.docker_ok(&["stop", "-t", "1", "lc1"]), "lc1\n");
    assert_eq!(
        e.docker_ok(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "lc1"
        ]),
        "exited 137\n"
    );
    e.docker_ok(&["start", "lc1"]);
    e.docker_ok(&["restart", "-t", "1", "lc1"]);
    assert_eq!(st("lc1"), "running\n");
    let restarted = e.docker_ok(&["inspect", "-f", "{{.State.StartedAt}}", "lc1"]);
    assert_ne!(started, restarted);

    e.docker_ok(&["pause", "lc1"]);
    assert_eq!(st("lc1"), "paused\n");
    e.docker_ok(&["unpause", "lc1"]);
    assert_eq!(st("lc1"), "running\n");

    let rm = e.docker_fails(&["rm", "lc1"], "cannot remove");
    assert_eq!(rm.status.code(), Some(1), "{}", explain(&rm));
    assert_eq!(e.docker_ok(&["kill", "-s", "TERM", "lc1"]), "lc1\n");
    e.docker_ok(&["kill", "lc1"]);
    assert_eq!(e.docker_ok(&["wait", "lc1"]), "137\n");

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "lc2",
        IMG,
        "sh",
        "-c",
        "sleep 1; exit 7",
    ]);
    assert_eq!(e.docker_ok(&["wait", "lc2"]), "7\n");
    e.docker_ok(&["run", "-d", "--name", "lc3", IMG, "sleep", "1000"]);
    assert_eq!(e.docker_ok(&["rm", "-f", "lc3"]), "lc3\n");
    e.docker_ok(&["rm", "lc1", "lc2"]);
    assert_eq!(e.docker_ok(&["ps", "-a", "-q"]), "");
    let gone = e.docker_fails(&["inspect", "lc1"], "No such object: lc1");
    assert_eq!(gone.status.code(), Some(1), "{}", explain(&gone));
}

/// inspect --format, rename, top, stats --no-stream, port.
fn inspect_and_friends(e: &dyn Engine) {
    e.import_busybox(IMG);
    let id = e.docker_ok(&[
        "run", "-d", "--name", "in1", "-e", "K=V", IMG, "sleep", "1000",
    ]);
    let id = id.trim();
    let got = e.docker_ok(&[
        "inspect",
        "--format",
        "{{.Name}} {{.State.Running}} {{.Config.Image}} {{json .Config.Cmd}} {{.Path}}",
        "in1",
    ]);
    assert_eq!(got, format!("/in1 true {IMG} [\"sleep\",\"1000\"] sleep\n"));
    let env = e.docker_ok(&["inspect", "-f", "{{json .Config.Env}}", "in1"]);
    assert!(env.contains("\"K=V\""), "{env}");
    let pid = e.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "in1"]);
    let pid: u32 = pid.trim().parse().expect("a pid");
    assert!(fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap()
        .starts_with(b"sleep"));
    let json = e.docker_ok(&["inspect", "in1"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("inspect is JSON");
    assert_eq!(v[0]["Id"], id);
    assert_eq!(v[0]["HostConfig"]["RestartPolicy"]["Name"], "no");
    let typed = e.docker_ok(&["inspect", "--type", "container", "-f", "{{.Id}}", "in1"]);
    assert_eq!(typed.trim(), id);

    assert_eq!(e.docker_ok(&["rename", "in1", "in2"]), "");
    assert_eq!(e.docker_ok(&["inspect", "-f", "{{.Name}}", id]), "/in2\n");
    assert_eq!(e.docker(&["inspect", "in1"]).status.code(), Some(1));

    let top = e.docker_ok(&["top", "in2"]);
    let head = top.lines().next().unwrap_or("");
    assert!(head.contains("PID") && head.contains("CMD"), "{top}");
    assert!(top.lines().any(|l| l.ends_with("sleep 1000")), "{top}");
    let top = e.docker_ok(&["top", "in2", "-o", "pid,comm"]);
    assert!(
        top.lines().any(|l| l.trim_end().ends_with("sleep")),
        "{top}"
    );

    let stats = e.docker_ok(&["stats", "--no-stream", "in2"]);
    let head = stats.lines().next().unwrap_or("");
    for col in [
        "CONTAINER ID",
        "NAME",
        "CPU %",
        "MEM USAGE / LIMIT",
        "MEM %",
        "NET I/O",
        "BLOCK I/O",
        "PIDS",
    ] {
        assert!(head.contains(col), "stats header {head:?} lacks {col}");
    }
    let row = stats.lines().nth(1).unwrap_or("");
    assert!(row.starts_with(&id[..12]) && row.contains("in2"), "{stats}");
    let mem = e.docker_ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}}",
        "in2",
    ]);
    assert_eq!(mem, "in2 1\n");

    assert_eq!(e.docker_ok(&["port", "in2"]), "");
    let port = e.docker_fails(&["port", "in2", "80"], "No public port '80");
    assert_eq!(port.status.code(), Some(1), "{}", explain(&port));
    e.docker_ok(&["rm", "-f", "in2"]);
}

/// `cp` both ways, to and from running and stopped containers, files and
/// directories.
fn cp(e: &dyn Engine) {
    e.import_busybox(IMG);
    let s = e.scratch();
    fs::write(s.join("up.txt"), "to the container\n").unwrap();
    fs::create_dir_all(s.join("tree/sub")).unwrap();
    fs::write(s.join("tree/sub/leaf"), "leaf\n").unwrap();
    let p = |n: &str| s.join(n).to_string_lossy().into_owned();
    e.docker_ok(&["run", "-d", "--name", "cp1", IMG, "sleep", "1000"]);
    e.docker_ok(&["cp", &p("up.txt"), "cp1:/tmp/up.txt"]);
    assert_eq!(
        e.docker_ok(&["exec", "cp1", "cat", "/tmp/up.txt"]),
        "to the container\n"
    );
    e.docker_ok(&["cp", &p("tree"), "cp1:/tmp/"]);
    assert_eq!(
        e.docker_ok(&["exec", "cp1", "cat", "/tmp/tree/sub/leaf"]),
        "leaf\n"
    );

    e.docker_ok(&[
        "exec",
        "cp1",
        "sh",
        "-c",
        "mkdir -p /out/d && echo back > /out/d/f && echo top > /out/t",
    ]);
    e.docker_ok(&["cp", "cp1:/out/t", &p("t.txt")]);
    assert_eq!(fs::read_to_string(s.join("t.txt")).unwrap(), "top\n");
    e.docker_ok(&["cp", "cp1:/out", &p("outdir")]);
    assert_eq!(fs::read_to_string(s.join("outdir/d/f")).unwrap(), "back\n");
    // `-` streams a tar to stdout.
    let tar = e.docker(&["cp", "cp1:/out/t", "-"]);
    assert!(tar.status.success(), "{}", explain(&tar));
    let mut archive = tar::Archive::new(tar.stdout.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|en| en.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["t"]);

    e.docker_ok(&["stop", "-t", "1", "cp1"]);
    e.docker_ok(&["cp", &p("up.txt"), "cp1:/stopped.txt"]);
    e.docker_ok(&["cp", "cp1:/stopped.txt", &p("again.txt")]);
    assert_eq!(
        fs::read_to_string(s.join("again.txt")).unwrap(),
        "to the container\n"
    );
    let missing = e.docker_fails(
        &["cp", "cp1:/no/such", &p("x")],
        "Could not find the file /no/such",
    );
    assert_eq!(missing.status.code(), Some(1), "{}", explain(&missing));
    e.docker_ok(&["rm", "cp1"]);
}

/// Events of a container's life, with --since/--until, --filter and
/// --format.
fn events(e: &dyn Engine) {
    e.import_busybox(IMG);
    let since = e.docker_ok(&["version", "-f", "{{.Server.Version}}"]);
    assert!(!since.trim().is_empty());
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let t0 = now() - 1;
    e.docker_ok(&["run", "--name", "ev1", IMG, "true"]);
    e.docker_ok(&["rm", "ev1"]);
    let until = (now() + 1).to_string();
    let out = e.docker_ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until,
        "--filter",
        "container=ev1",
        "--format",
        "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    for want in ["create", "start", "die", "destroy"] {
        let line = format!("container {want} ev1");
        assert!(lines.contains(&line.as_str()), "no {line:?} in {out}");
    }
    let pos = |a: &str| lines.iter().position(|l| l.ends_with(&format!(" {a} ev1")));
    assert!(
        pos("create") < pos("start") && pos("start") < pos("die") && pos("die") < pos("destroy")
    );
    let json = e.docker_ok(&[
        "events",
        "--since",
        &t0.to_string(),
        "--until",
        &until,
        "--filter",
        "event=die",
        "--format",
        "{{json .}}",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(json.lines().next().unwrap_or("")).expect("JSON");
    assert_eq!(v["Type"], "container");
    assert_eq!(v["Action"], "die");
    assert_eq!(v["Actor"]["Attributes"]["exitCode"], "0");
    assert_eq!(v["scope"], "local");
}

engine_tests!(ps => engine_cli_ps_dockerd,
    engine_cli_ps_wharf);
engine_tests!(exec => engine_cli_exec_dockerd,
    engine_cli_exec_wharf);
engine_tests!(logs => engine_cli_logs_dockerd,
    engine_cli_logs_wharf);
engine_tests!(lifecycle => engine_cli_lifecycle_dockerd,
    engine_cli_lifecycle_wharf);
engine_tests!(inspect_and_friends => engine_cli_inspect_top_stats_dockerd,
    engine_cli_inspect_top_stats_wharf);
engine_tests!(cp => engine_cli_cp_dockerd,
    engine_cli_cp_wharf);
engine_tests!(events => engine_cli_events_dockerd,
    engine_cli_events_wharf);
