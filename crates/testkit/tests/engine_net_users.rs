//! User-defined networks with the docker CLI 28, against a dockerd with its
//! default bridge and against `wharf daemon`: containers on one network
//! resolve each other by name and alias through the embedded DNS server
//! (127.0.0.11); a container on another network can neither resolve nor
//! reach them; the default bridge resolves no names; `network connect` and
//! `disconnect` on a running container add and take away `eth1`.

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{
    address_on, exec_sh, exec_until, import_net_image, serve, sleeper, stderr_text, NET_IMG,
};
use wharf_testkit::{explain, stdout_text};

/// Two containers on `front` find each other by name and by alias, with
/// the addresses inspect gives; `back` and the default bridge do not.
fn names_on_user_networks(e: &dyn Engine) {
    import_net_image(e);
    let create = ["network", "create", "--subnet", "10.91.0.0/24"];
    e.docker_ok(&[&create[..], &["--gateway", "10.91.0.1", "front"]].concat());
    e.docker_ok(&["network", "create", "--subnet", "10.92.0.0/24", "back"]);
    serve(
        e,
        "alpha",
        &["--network", "front", "--network-alias", "www"],
    );
    sleeper(e, "beta", &["--network", "front"]);
    let alpha = address_on(e, "alpha", "front");
    assert!(alpha.starts_with("10.91.0."), "on {}: {alpha}", e.kind());

    for name in ["alpha", "www"] {
        let out = exec_until(e, "beta", &format!("nslookup {name}"));
        assert!(
            out.contains("Server:\t\t127.0.0.11") && out.contains(&format!("Address: {alpha}")),
            "nslookup {name} on {}: {out}",
            e.kind()
        );
        let page = exec_until(e, "beta", &format!("wget -qO- http://{name}/"));
        assert_eq!(page.trim(), "hello from alpha", "on {}", e.kind());
    }
    // By name the other way round, with ping (the address of beta).
    let beta = address_on(e, "beta", "front");
    let ping = exec_until(e, "alpha", "ping -c1 -W5 beta");
    assert!(
        ping.contains(&format!("({beta})")),
        "on {}: {ping}",
        e.kind()
    );

    // Another network: no name, no route to the address.
    sleeper(e, "gamma", &["--network", "back"]);
    let out = exec_sh(e, "gamma", "nslookup alpha");
    assert!(
        !out.status.success() && !stdout_text(&out).contains(&alpha),
        "gamma resolved alpha on {}: {}",
        e.kind(),
        explain(&out)
    );
    let out = exec_sh(e, "gamma", &format!("ping -c1 -W2 {alpha}"));
    assert!(!out.status.success(), "gamma reached alpha on {}", e.kind());
    let out = exec_sh(e, "gamma", &format!("wget -T3 -qO- http://{alpha}/"));
    assert!(
        !out.status.success(),
        "gamma fetched alpha's page on {}",
        e.kind()
    );

    // The default bridge: no embedded DNS, no names of its peers.
    serve(e, "delta", &[]);
    sleeper(e, "epsilon", &[]);
    let resolv = exec_sh(e, "epsilon", "cat /etc/resolv.conf");
    let resolv = String::from_utf8_lossy(&resolv.stdout);
    assert!(!resolv.contains("127.0.0.11"), "on {}: {resolv}", e.kind());
    // (nslookup, not wget: a failed lookup crashes the static busybox's
    // getaddrinfo.)
    let delta = e.docker_ok(&["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "delta"]);
    let out = exec_sh(e, "epsilon", "nslookup delta");
    assert!(
        !out.status.success() && !stdout_text(&out).contains(delta.trim()),
        "delta by name on {}: {}",
        e.kind(),
        explain(&out)
    );
}

engine_net_tests!(names_on_user_networks => engine_net_user_dns_dockerd,
    engine_net_user_dns_wharf);

/// `network connect` gives a running container `eth1` with an address on
/// the network, through which it resolves and reaches a peer there;
/// `disconnect` takes it away; a second connect and a disconnect of a
/// container not connected fail in Docker's words.
fn connect_disconnect_live(e: &dyn Engine) {
    import_net_image(e);
    e.docker_ok(&["network", "create", "--subnet", "10.93.0.0/24", "first"]);
    e.docker_ok(&["network", "create", "--subnet", "10.94.0.0/24", "side"]);
    sleeper(e, "mover", &["--network", "first"]);
    serve(e, "peer", &["--network", "side"]);
    let no_eth1 = exec_sh(e, "mover", "ip -o -4 addr show dev eth1");
    assert!(
        !no_eth1.status.success(),
        "eth1 before connect on {}",
        e.kind()
    );

    e.docker_ok(&["network", "connect", "side", "mover"]);
    let address = address_on(e, "mover", "side");
    assert!(
        address.starts_with("10.94.0."),
        "on {}: {address}",
        e.kind()
    );
    let eth1 = exec_until(e, "mover", "ip -o -4 addr show dev eth1");
    assert!(
        eth1.contains(&format!("inet {address}/24")),
        "eth1 on {}: {eth1}",
        e.kind()
    );
    let page = exec_until(e, "mover", "wget -qO- http://peer/");
    assert_eq!(page.trim(), "hello from peer", "on {}", e.kind());
    let members = e.docker_ok(&[
        "network",
        "inspect",
        "side",
        "-f",
        "{{range .Containers}}{{.Name}} {{end}}",
    ]);
    let mut members: Vec<&str> = members.split_whitespace().collect();
    members.sort();
    assert_eq!(members, ["mover", "peer"], "on {}", e.kind());

    let again = e.docker(&["network", "connect", "side", "mover"]);
    assert_eq!(again.status.code(), Some(1), "on {}", e.kind());
    assert_eq!(
        stderr_text(&again),
        "Error response from daemon: endpoint with name mover already exists in network side",
        "on {}",
        e.kind()
    );

    e.docker_ok(&["network", "disconnect", "side", "mover"]);
    let gone = exec_sh(e, "mover", "ip -o -4 addr show dev eth1");
    assert!(
        !gone.status.success(),
        "eth1 after disconnect on {}",
        e.kind()
    );
    let networks = e.docker_ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "mover",
    ]);
    assert_eq!(networks.trim(), "first", "on {}", e.kind());
    let id = e.docker_ok(&["inspect", "-f", "{{.Id}}", "mover"]);
    let not = e.docker(&["network", "disconnect", "side", "mover"]);
    assert_eq!(not.status.code(), Some(1), "on {}", e.kind());
    assert_eq!(
        stderr_text(&not),
        format!(
            "Error response from daemon: container {} is not connected to network side",
            id.trim()
        ),
        "on {}",
        e.kind()
    );
}

engine_net_tests!(connect_disconnect_live => engine_net_connect_dockerd,
    engine_net_connect_wharf);

/// What docker-compose 1.29 does before it starts a container: the
/// created container is disconnected from its network and connected again
/// with its aliases; it then starts on that network, found by the alias.
fn reconnect_created(e: &dyn Engine) {
    import_net_image(e);
    e.docker_ok(&["network", "create", "--subnet", "10.85.0.0/24", "proj"]);
    let create = ["create", "--name", "made", "--network", "proj"];
    e.docker_ok(&[&create[..], &[NET_IMG, "sleep", "1000"]].concat());
    e.docker_ok(&["network", "disconnect", "proj", "made"]);
    e.docker_ok(&["network", "connect", "--alias", "web", "proj", "made"]);
    e.docker_ok(&["start", "made"]);
    let address = address_on(e, "made", "proj");
    assert!(
        address.starts_with("10.85.0."),
        "on {}: {address}",
        e.kind()
    );
    sleeper(e, "asker", &["--network", "proj"]);
    let out = exec_until(e, "asker", "nslookup web");
    assert!(
        out.contains(&format!("Address: {address}")),
        "nslookup web on {}: {out}",
        e.kind()
    );
}

engine_net_tests!(reconnect_created => engine_net_reconnect_created_dockerd,
    engine_net_reconnect_created_wharf);
