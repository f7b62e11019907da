//! docker-compose (Debian's, 1.29, Python) against the daemon's socket:
//! the two-service app in `tests/compose_app` (web: busybox httpd serving
//! a page from a named volume on a published port; client) comes up on
//! the project's network, web is reached from the daemon's side through
//! 127.0.0.1 and from client by its service name, and `down -v` leaves no
//! container, network, volume, link or rule. Against a dockerd with its
//! default bridge (proving the scenario) and against `wharf daemon`. A
//! second app without networks (`tests/compose_offline`) checks what
//! compose needs besides networking: volumes, labels, exec, logs, stop and
//! start.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::explain;
use wharf_testkit::net_scenario::{fetch_until, import_net_image, inspect_format};
use wharf_testkit::output_with_timeout;

/// Debian's docker-compose.
const COMPOSE: &str = "/usr/bin/docker-compose";

/// The project's name (its containers are `wharfapp_web_1`, ...).
const PROJECT: &str = "wharfapp";

/// The app with a network and a published port.
const APP: &str = "compose_app";
/// The app without networks (`network_mode: none`).
const OFFLINE: &str = "compose_offline";

fn compose_file(app: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{app}/docker-compose.yml"))
}

/// Runs `docker-compose -f <app> -p wharfapp args…` against `e` (its
/// socket in DOCKER_HOST, a private config directory), five minutes at
/// most.
fn compose(e: &dyn Engine, app: &str, args: &[&str]) -> Output {
    assert!(
        Path::new(COMPOSE).exists(),
        "{COMPOSE} not found: install docker-compose (tools/install-deps.sh)"
    );
    let mut cmd = Command::new(COMPOSE);
    cmd.arg("-f")
        .arg(compose_file(app))
        .args(["-p", PROJECT])
        .args(args)
        .env("DOCKER_HOST", e.host())
        .env("DOCKER_CONFIG", e.scratch().join(".docker-compose"))
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("COMPOSE_PROJECT_NAME")
        .env_remove("COMPOSE_FILE")
        .env_remove("COMPOSE_API_VERSION");
    let log = format!("compose-{}", args.first().unwrap_or(&""));
    output_with_timeout(&mut cmd, &e.scratch(), &log, Duration::from_secs(300))
        .unwrap_or_else(|err| panic!("failed to run {COMPOSE} {}: {err}", args.join(" ")))
}

fn compose_ok(e: &dyn Engine, app: &str, args: &[&str]) -> String {
    let out = compose(e, app, args);
    assert!(
        out.status.success(),
        "docker-compose {} against {}: {}",
        args.join(" "),
        e.kind(),
        explain(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker <what> ls` names (containers with -a), one per line.
fn listed(e: &dyn Engine, args: &[&str]) -> Vec<String> {
    let out = e.docker_ok(args);
    let mut v: Vec<String> = out.lines().map(String::from).collect();
    v.sort();
    v
}

/// Nothing of the project is left: no container or volume.
fn assert_gone(e: &dyn Engine) {
    assert!(
        listed(e, &["ps", "-aq"]).is_empty(),
        "containers on {}",
        e.kind()
    );
    assert!(
        listed(e, &["volume", "ls", "-q"]).is_empty(),
        "volumes on {}",
        e.kind()
    );
}

/// up -d, the checks, down -v.
fn two_service_app(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    compose_ok(e, APP, &["up", "-d"]);

    let containers = listed(e, &["ps", "--format", "{{.Names}} {{.Networks}}"]);
    assert_eq!(
        containers,
        [
            "wharfapp_client_1 wharfapp_app",
            "wharfapp_web_1 wharfapp_app"
        ],
        "on {}",
        e.kind()
    );
    let ports = e.docker_ok(&["port", "wharfapp_web_1"]);
    assert_eq!(ports, "80/tcp -> 127.0.0.1:8095\n", "on {}", e.kind());
    let subnet = e.docker_ok(&[
        "network",
        "inspect",
        "wharfapp_app",
        "-f",
        "{{(index .IPAM.Config 0).Subnet}} {{index .Labels \"com.docker.compose.network\"}}",
    ]);
    assert_eq!(subnet.trim(), "10.88.0.0/24 app", "on {}", e.kind());
    let volume = inspect_format(
        e,
        "wharfapp_web_1",
        "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}",
    );
    assert_eq!(volume, "volume wharfapp_site /www", "on {}", e.kind());

    fetch_until(e, "http://127.0.0.1:8095/", "web");
    let page = compose_ok(
        e,
        APP,
        &["exec", "-T", "client", "wget", "-qO-", "http://web/"],
    );
    assert_eq!(page.trim(), "hello from web", "on {}", e.kind());
    let ps = compose_ok(e, APP, &["ps", "--services"]);
    let mut services: Vec<&str> = ps.lines().collect();
    services.sort();
    assert_eq!(services, ["client", "web"], "on {}", e.kind());

    compose_ok(e, APP, &["down", "-v", "-t", "1"]);
    assert_gone(e);
    assert_eq!(
        listed(e, &["network", "ls", "--format", "{{.Name}}"]),
        ["bridge", "host", "none"],
        "on {}",
        e.kind()
    );
    assert_eq!(e.net_leftovers(), before, "what down left on {}", e.kind());
}

engine_net_tests!(two_service_app => compose_two_services_dockerd,
    compose_two_services_wharf);

/// What compose needs besides networking (volumes, labels, depends_on,
/// exec, logs, stop/start), with services that have no network: up -d,
/// the reader sees the writer's file in the shared volume, down -v.
fn offline_app(e: &dyn Engine) {
    import_net_image(e);
    compose_ok(e, OFFLINE, &["up", "-d"]);
    let note = compose_ok(e, OFFLINE, &["exec", "-T", "reader", "cat", "/data/note"]);
    assert_eq!(note, "from writer\n", "on {}", e.kind());
    let labels = inspect_format(
        e,
        "wharfapp_reader_1",
        "{{index .Config.Labels \"com.docker.compose.project\"}} \
         {{index .Config.Labels \"com.docker.compose.service\"}} {{.HostConfig.NetworkMode}}",
    );
    assert_eq!(labels, "wharfapp reader none", "on {}", e.kind());
    let logs = compose_ok(e, OFFLINE, &["logs", "--no-color", "writer"]);
    assert!(logs.contains("written"), "on {}: {logs}", e.kind());
    compose_ok(e, OFFLINE, &["stop", "-t", "1"]);
    let states = listed(e, &["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(
        states,
        ["wharfapp_reader_1 exited", "wharfapp_writer_1 exited"],
        "on {}",
        e.kind()
    );
    compose_ok(e, OFFLINE, &["start"]);
    let note = compose_ok(e, OFFLINE, &["exec", "-T", "reader", "cat", "/data/note"]);
    assert_eq!(note, "from writer\n", "on {}", e.kind());
    compose_ok(e, OFFLINE, &["down", "-v", "-t", "1"]);
    assert_gone(e);
}

engine_net_tests!(offline_app => compose_offline_dockerd, compose_offline_wharf);
