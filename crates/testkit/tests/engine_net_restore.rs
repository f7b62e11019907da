//! A daemon restart keeps running containers connected: against a dockerd
//! with its default bridge and `live-restore` (proving what Docker keeps)
//! and against `wharf daemon`, stopped with SIGTERM and with SIGKILL. The
//! published port answers again, names still resolve, addresses stay in
//! inspect and are not handed out twice, and removing everything afterwards
//! leaves what was there before.

use wharf_testkit::daemon::{Engine, WharfDaemon};
use wharf_testkit::dockerd::{Dockerd, DockerdOptions};
use wharf_testkit::net_scenario::{
    address_on, exec_until, fetch_until, import_net_image, serve, sleeper,
};

/// What was there before the containers, and their addresses.
struct Before {
    leftovers: Vec<String>,
    web: String,
    client: String,
}

/// A user network with a published web server and a client.
fn set_up(e: &dyn Engine) -> Before {
    import_net_image(e);
    e.docker_ok(&["network", "create", "--subnet", "10.87.0.0/24", "keep"]);
    let leftovers = e.net_leftovers();
    serve(e, "web", &["--network", "keep", "-p", "127.0.0.1:8096:80"]);
    sleeper(e, "client", &["--network", "keep"]);
    fetch_until(e, "http://127.0.0.1:8096/", "web");
    let page = exec_until(e, "client", "wget -qO- http://web/");
    assert_eq!(page.trim(), "hello from web", "on {}", e.kind());
    Before {
        leftovers,
        web: address_on(e, "web", "keep"),
        client: address_on(e, "client", "keep"),
    }
}

/// After the restart: both still run with their addresses, the port and
/// the name work, a new container gets a new address, and removing all
/// leaves what was there before.
fn check_after(e: &dyn Engine, before: &Before) {
    let running = e.docker_ok(&["ps", "--format", "{{.Names}}"]);
    let mut running: Vec<&str> = running.lines().collect();
    running.sort();
    assert_eq!(running, ["client", "web"], "on {}", e.kind());
    assert_eq!(address_on(e, "web", "keep"), before.web, "on {}", e.kind());
    assert_eq!(
        address_on(e, "client", "keep"),
        before.client,
        "on {}",
        e.kind()
    );
    fetch_until(e, "http://127.0.0.1:8096/", "web");
    let page = exec_until(e, "client", "wget -qO- http://web/");
    assert_eq!(page.trim(), "hello from web", "on {}", e.kind());
    sleeper(e, "late", &["--network", "keep"]);
    let late = address_on(e, "late", "keep");
    assert!(
        late != before.web && late != before.client,
        "an address handed out twice on {}: {late}",
        e.kind()
    );
    let page = exec_until(e, "late", "wget -qO- http://web/");
    assert_eq!(page.trim(), "hello from web", "on {}", e.kind());
    e.docker_ok(&["rm", "-f", "web", "client", "late"]);
    assert_eq!(
        e.net_leftovers(),
        before.leftovers,
        "what the containers left on {}",
        e.kind()
    );
}

#[test]
fn engine_net_restore_dockerd() {
    let mut d = Dockerd::start_with(DockerdOptions {
        network: true,
        live_restore: true,
    })
    .expect("a private dockerd with networking and live restore");
    let before = set_up(&d);
    d.restart().expect("dockerd starts again");
    check_after(&d, &before);
}

/// The scenario against wharf, its daemon stopped by `stop` and started
/// again on the same roots.
fn wharf_restart(stop: fn(&mut WharfDaemon)) {
    let mut d = WharfDaemon::start().expect("a private wharf daemon");
    let before = set_up(&d);
    stop(&mut d);
    d.spawn().expect("the daemon starts again");
    check_after(&d, &before);
}

#[test]
fn engine_net_restore_wharf() {
    wharf_restart(WharfDaemon::terminate);
}

#[test]
fn engine_net_restore_kill9_wharf() {
    wharf_restart(WharfDaemon::kill9);
}
