//! Network events with the docker CLI 28, against a dockerd with its
//! default bridge (proving what Docker sends) and against `wharf daemon`:
//! a network's create and destroy, and a container's connect and
//! disconnect at start, live, and when it is removed, in order (an event
//! repeated in a row counts once).

use std::time::{SystemTime, UNIX_EPOCH};

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{import_net_image, sleeper};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The network events of a network's life, from `docker events` bounded
/// by `--since` and `--until`.
fn network_events(e: &dyn Engine) {
    import_net_image(e);
    let since = now().saturating_sub(1).to_string();
    e.docker_ok(&["network", "create", "--subnet", "10.84.0.0/24", "ev1"]);
    let id = sleeper(e, "evc", &["--network", "ev1"]);
    e.docker_ok(&["network", "disconnect", "ev1", "evc"]);
    e.docker_ok(&["network", "connect", "ev1", "evc"]);
    e.docker_ok(&["rm", "-f", "evc"]);
    e.docker_ok(&["network", "rm", "ev1"]);
    let until = (now() + 1).to_string();
    let format = "{{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.type}} \
                  {{.Actor.Attributes.container}}";
    let events = e.docker_ok(&[
        "events",
        "--since",
        &since,
        "--until",
        &until,
        "--filter",
        "type=network",
        "--format",
        format,
    ]);
    let want = [
        "create ev1 bridge <no value>".to_string(),
        format!("connect ev1 bridge {id}"),
        format!("disconnect ev1 bridge {id}"),
        format!("connect ev1 bridge {id}"),
        format!("disconnect ev1 bridge {id}"),
        "destroy ev1 bridge <no value>".to_string(),
    ];
    // dockerd 20.10 sends a live disconnect twice (the sandbox's leave and
    // the request's): repeats in a row count once.
    let mut got: Vec<&str> = events.lines().collect();
    got.dedup();
    assert_eq!(got, want, "on {}", e.kind());
}

engine_net_tests!(network_events => engine_net_events_dockerd,
    engine_net_events_wharf);
