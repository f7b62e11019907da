//! The docker CLI 28's following commands against a private daemon:
//! `events` streaming (no --until), `stats` redrawing without
//! --no-stream, `logs -f` with --since/--until/--tail, `wait` on several
//! containers, and `container prune`. Each scenario runs against Debian's
//! dockerd (proving the expectations) and against `wharf daemon`.

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;

const IMG: &str = "wharf-test/busybox:latest";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `docker events` follows: history since a time, then new events as they
/// happen, filtered and formatted.
fn events_follow(e: &dyn Engine) {
    e.import_busybox(IMG);
    let since = (now() - 1).to_string();
    let ev = e.docker_follow(&[
        "events",
        "--since",
        &since,
        "--filter",
        "type=container",
        "--filter",
        "container=fol1",
        "--format",
        "{{.Action}} {{.Actor.Attributes.name}}",
    ]);
    e.docker_ok(&["create", "--name", "fol1", IMG, "true"]);
    ev.wait_until("create", |t| t.contains("create fol1\n"));
    e.docker_ok(&["start", "fol1"]);
    e.docker_ok(&["wait", "fol1"]);
    e.docker_ok(&["rm", "fol1"]);
    let all = ev.wait_until("destroy", |t| t.contains("destroy fol1\n"));
    let actions: Vec<&str> = all
        .lines()
        .map(|l| l.split(' ').next().unwrap_or(""))
        .collect();
    let pos = |a: &str| actions.iter().position(|x| *x == a);
    for a in ["create", "start", "die", "destroy"] {
        assert!(pos(a).is_some(), "no {a} in {all}");
    }
    assert!(
        pos("create") < pos("start") && pos("start") < pos("die") && pos("die") < pos("destroy")
    );
    // Image events go through other filters.
    let img = e.docker_follow(&[
        "events",
        "--since",
        &since,
        "--filter",
        "type=image",
        "--format",
        "{{.Type}} {{.Action}}",
    ]);
    e.docker_ok(&["tag", IMG, "fol/tagged:1"]);
    img.wait_until("an image tag event", |t| t.contains("image tag\n"));
    assert!(!img.text().contains("container"), "{}", img.text());
}

/// `docker stats` without --no-stream keeps printing; `logs -f` follows a
/// running container until it exits, honouring --tail and --since.
fn stats_and_logs_follow(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&["run", "-d", "--name", "fol2", IMG, "sleep", "1000"]);
    let stats = e.docker_follow(&["stats", "--format", "{{.Name}} {{.PIDs}}", "fol2"]);
    stats.wait_until("two samples", |t| t.matches("fol2 1").count() >= 2);
    drop(stats);

    let script = "echo early; while [ ! -f /tmp/go ]; do sleep 0.1; done; echo late; exit 5";
    e.docker_ok(&["run", "-d", "--name", "fol3", IMG, "sh", "-c", script]);
    let logs = e.docker_follow(&["logs", "-f", "--tail", "1", "fol3"]);
    logs.wait_until("early", |t| t.contains("early\n"));
    // Detached: the container may end (and kill the exec with it) before
    // `touch` has exited; only the file matters here.
    e.docker_ok(&["exec", "-d", "fol3", "touch", "/tmp/go"]);
    let (code, out) = logs.wait_exit();
    assert_eq!(code, Some(0), "logs -f exits 0 when the container ends");
    assert_eq!(out, "early\nlate\n");
    let until = e.docker_ok(&["logs", "--until", "2000-01-01T00:00:00Z", "fol3"]);
    assert_eq!(until, "");
    let since = e.docker_ok(&["logs", "--since", "2000-01-01T00:00:00Z", "fol3"]);
    assert_eq!(since, "early\nlate\n");

    // `wait` on several containers prints each status in order.
    e.docker_ok(&["run", "-d", "--name", "fol4", IMG, "sh", "-c", "exit 2"]);
    assert_eq!(e.docker_ok(&["wait", "fol3", "fol4"]), "5\n2\n");
    e.docker_ok(&["rm", "-f", "fol2"]);

    // `container prune` removes the stopped ones only.
    e.docker_ok(&["run", "-d", "--name", "fol5", IMG, "sleep", "1000"]);
    let pruned = e.docker_ok(&["container", "prune", "-f"]);
    assert!(pruned.contains("Deleted Containers:"), "{pruned}");
    assert!(pruned.contains("Total reclaimed space:"), "{pruned}");
    assert_eq!(
        e.docker_ok(&["ps", "-a", "--format", "{{.Names}}"]),
        "fol5\n"
    );
    e.docker_ok(&["rm", "-f", "fol5"]);
}

engine_tests!(events_follow => engine_cli_events_follow_dockerd, engine_cli_events_follow_wharf);
engine_tests!(stats_and_logs_follow => engine_cli_stats_logs_follow_dockerd,
    engine_cli_stats_logs_follow_wharf);
