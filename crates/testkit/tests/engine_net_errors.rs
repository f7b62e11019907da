//! Bad network input to `docker run` with the docker CLI 28, against a
//! dockerd with its default bridge (proving Docker's exit codes and words)
//! and against `wharf daemon`: an unknown network, `--ip` outside the
//! subnet or on the default bridge, a host port already in use. Docker
//! creates the container and fails its start, so it stays `created` (a
//! refusal at create is accepted too); what the failed start held (a link,
//! a rule, an address, a port) must be gone.

use wharf_testkit::daemon::{Engine, Following};
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{
    address_on, docker_refused, fetch_until, import_net_image, inspect_format, serve, stderr_text,
    NET_IMG,
};
use wharf_testkit::netns::host_command;

/// Runs `docker run args…`, expecting exit 125 and `want` as the first line
/// of stderr; then the container `name` is `created` (dockerd creates it
/// and fails its start) or absent (refused at create), never running.
fn run_fails(e: &dyn Engine, name: &str, args: &[&str], want: &str) {
    let mut all = vec!["run", "-d", "--name", name];
    all.extend_from_slice(args);
    docker_refused(e, &all, 125, want);
    let state = e.docker(&["inspect", "-f", "{{.State.Status}}", name]);
    let state = String::from_utf8_lossy(&state.stdout).trim().to_string();
    assert!(
        state == "created" || state.is_empty(),
        "{name} on {}: {state}",
        e.kind()
    );
}

/// Runs `docker run args…` (container `name`), expecting exit 125 and a
/// failure to program the endpoint's ports for `cause`, as the first line
/// of stderr.
fn start_refused(e: &dyn Engine, args: &[&str], name: &str, cause: &str) {
    let out = e.docker(args);
    assert_eq!(out.status.code(), Some(125), "on {}", e.kind());
    let err = stderr_text(&out);
    let first = err.lines().next().unwrap_or("");
    let head = format!(
        "docker: Error response from daemon: driver failed programming external connectivity on \
         endpoint {name} ("
    );
    assert!(
        first.starts_with(&head) && first.ends_with(&format!("): {cause}")),
        "on {}: {err}",
        e.kind()
    );
}

/// Unknown network, `--ip` outside the subnet, `--ip` on the default
/// bridge: each refused at start, nothing left but the created container;
/// the address asked for outside stays free for a right request.
fn run_refusals(e: &dyn Engine) {
    import_net_image(e);
    e.docker_ok(&["network", "create", "--subnet", "10.99.0.0/24", "ipn"]);
    let before = e.net_leftovers();
    run_fails(
        e,
        "nonet1",
        &["--network", "nonet", NET_IMG, "true"],
        "docker: Error response from daemon: network nonet not found",
    );
    run_fails(
        e,
        "ipout",
        &["--network", "ipn", "--ip", "10.100.0.5", NET_IMG, "true"],
        "docker: Error response from daemon: Invalid address 10.100.0.5: It does not belong to \
         any of this network's subnets",
    );
    run_fails(
        e,
        "ipbr",
        &["--ip", "172.17.0.50", NET_IMG, "true"],
        "docker: Error response from daemon: user specified IP address is supported on user \
         defined networks only",
    );
    e.docker_ok(&["create", "--name", "base0", NET_IMG]);
    let hostname = [
        "run",
        "--rm",
        "--network",
        "container:base0",
        "--hostname",
        "x",
    ];
    docker_refused(
        e,
        &[&hostname[..], &[NET_IMG, "true"]].concat(),
        125,
        "docker: Error response from daemon: conflicting options: hostname and the network mode",
    );
    assert_eq!(
        e.net_leftovers(),
        before,
        "what refusals left on {}",
        e.kind()
    );

    // A right address is handed out and released.
    let ok = [
        "run",
        "-d",
        "--name",
        "ipok",
        "--network",
        "ipn",
        "--ip",
        "10.99.0.5",
    ];
    e.docker_ok(&[&ok[..], &[NET_IMG, "sleep", "1000"]].concat());
    assert_eq!(address_on(e, "ipok", "ipn"), "10.99.0.5", "on {}", e.kind());
    e.docker_ok(&["rm", "-f", "ipok"]);
    let ok = [
        "run",
        "-d",
        "--name",
        "ipok2",
        "--network",
        "ipn",
        "--ip",
        "10.99.0.5",
    ];
    e.docker_ok(&[&ok[..], &[NET_IMG, "sleep", "1000"]].concat());
    assert_eq!(
        address_on(e, "ipok2", "ipn"),
        "10.99.0.5",
        "on {}",
        e.kind()
    );
}

engine_net_tests!(run_refusals => engine_net_errors_run_dockerd,
    engine_net_errors_run_wharf);

/// A host port already in use: the second container's start fails in
/// Docker's words, the first keeps serving, and the failed start holds no
/// address (a third container takes the same `--ip`), no link and no rule.
fn port_in_use(e: &dyn Engine) {
    import_net_image(e);
    e.docker_ok(&["network", "create", "--subnet", "10.98.0.0/24", "pnet"]);
    serve(e, "p1", &["-p", "8090:80", "--network", "pnet"]);
    fetch_until(e, "http://127.0.0.1:8090/", "p1");
    let before = e.net_leftovers();

    let mut args = vec![
        "run",
        "-d",
        "--name",
        "p2",
        "-p",
        "8090:80",
        "--network",
        "pnet",
    ];
    args.extend(["--ip", "10.98.0.77", NET_IMG, "sleep", "1000"]);
    start_refused(
        e,
        &args,
        "p2",
        "Bind for 0.0.0.0:8090 failed: port is already allocated",
    );
    assert_eq!(
        inspect_format(e, "p2", "{{.State.Status}}"),
        "created",
        "on {}",
        e.kind()
    );
    fetch_until(e, "http://127.0.0.1:8090/", "p1");
    assert_eq!(
        e.net_leftovers(),
        before,
        "what the failed start left on {}",
        e.kind()
    );

    // Its address was given back.
    let p3 = [
        "run",
        "-d",
        "--name",
        "p3",
        "--network",
        "pnet",
        "--ip",
        "10.98.0.77",
    ];
    e.docker_ok(&[&p3[..], &[NET_IMG, "sleep", "1000"]].concat());
    assert_eq!(address_on(e, "p3", "pnet"), "10.98.0.77", "on {}", e.kind());
    // Once the port is free, the failed container starts.
    e.docker_ok(&["rm", "-f", "p1", "p3"]);
    e.docker_ok(&["start", "p2"]);
    assert_eq!(address_on(e, "p2", "pnet"), "10.98.0.77", "on {}", e.kind());
}

engine_net_tests!(port_in_use => engine_net_errors_port_dockerd,
    engine_net_errors_port_wharf);

/// A host process, not a container, holds the port: the start fails in
/// Docker's words (its userland proxy's bind) and leaves nothing; once the
/// process is gone the container starts with the port.
fn host_process_holds_port(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    let hold = "import socket, time; s = socket.socket(); s.bind(('0.0.0.0', 8091)); \
                s.listen(); print('ready', flush=True); time.sleep(600)";
    let cmd = host_command(e.netns().as_deref(), "python3", &["-c", hold]);
    let holder = Following::spawn(cmd);
    holder.wait_until("the port held", |out| out.contains("ready"));

    let args = [
        "run", "-d", "--name", "hp", "-p", "8091:80", NET_IMG, "sleep", "1000",
    ];
    // dockerd 20.10's userland proxy fails to listen; wharf has no proxy
    // and says what its own bind met (in Docker 28's words).
    let cause = if e.kind() == "dockerd" {
        "Error starting userland proxy: listen tcp4 0.0.0.0:8091: bind: address already in use"
    } else {
        "failed to bind host port 0.0.0.0:8091/tcp: address already in use"
    };
    start_refused(e, &args, "hp", cause);
    assert_eq!(
        e.net_leftovers(),
        before,
        "what the failed start left on {}",
        e.kind()
    );
    drop(holder);
    e.docker_ok(&["start", "hp"]);
    let port = e.docker_ok(&["port", "hp", "80"]);
    assert_eq!(
        port.lines().next(),
        Some("0.0.0.0:8091"),
        "on {}: {port}",
        e.kind()
    );
}

engine_net_tests!(host_process_holds_port => engine_net_errors_host_port_dockerd,
    engine_net_errors_host_port_wharf);
