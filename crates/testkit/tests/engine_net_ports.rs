//! Published ports with the docker CLI 28, against a dockerd with its
//! default bridge (proving what Docker does) and against `wharf daemon`,
//! each in a network namespace of its own: `-p host_ip:port:port`, `-p
//! port`, `-P`, reached with curl over 127.0.0.1 from the daemon's side and
//! from another container; `port` and `ps`; a removed container frees its
//! port and leaves no link, rule or namespace file.

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{
    exec_until, fetch_until, host_port, import_net_image, inspect_format, port_free, serve,
    sleeper, NET_IMG,
};

/// `-p 127.0.0.1:8081:80`, `-p 80` and `-P`: each page is fetched through
/// 127.0.0.1 from the daemon's side; `port` and `ps` show the mappings;
/// `rm -f` frees the ports and leaves what was there before.
fn publish_and_release(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    serve(e, "pub1", &["-p", "127.0.0.1:8081:80"]);
    fetch_until(e, "http://127.0.0.1:8081/", "pub1");
    assert_eq!(
        e.docker_ok(&["port", "pub1"]),
        "80/tcp -> 127.0.0.1:8081\n",
        "on {}",
        e.kind()
    );
    assert_eq!(
        e.docker_ok(&["port", "pub1", "80"]),
        "127.0.0.1:8081\n",
        "on {}",
        e.kind()
    );
    let ps = e.docker_ok(&["ps", "--filter", "name=pub1", "--format", "{{.Ports}}"]);
    assert_eq!(ps.trim(), "127.0.0.1:8081->80/tcp", "on {}", e.kind());
    // The daemon holds the port while the container runs.
    assert!(!port_free(e, 8081), "8081 is held on {}", e.kind());

    // `-p 80`: a host port from the ephemeral range, on every address.
    serve(e, "pub2", &["-p", "80"]);
    let any = host_port(e, "pub2", "80/tcp");
    assert!(any >= 1024, "a random port on {}: {any}", e.kind());
    fetch_until(e, &format!("http://127.0.0.1:{any}/"), "pub2");
    let port = e.docker_ok(&["port", "pub2", "80/tcp"]);
    assert!(
        port.lines().any(|l| l == format!("0.0.0.0:{any}")),
        "docker port on {}: {port}",
        e.kind()
    );

    // `-P`: the image's EXPOSE 80/tcp.
    serve(e, "pub3", &["-P"]);
    let exposed = host_port(e, "pub3", "80/tcp");
    assert_ne!(exposed, any, "two containers, two ports on {}", e.kind());
    fetch_until(e, &format!("http://127.0.0.1:{exposed}/"), "pub3");
    let ps = e.docker_ok(&["ps", "--filter", "name=pub3", "--format", "{{.Ports}}"]);
    assert!(
        ps.contains(&format!("0.0.0.0:{exposed}->80/tcp")),
        "ps on {}: {ps}",
        e.kind()
    );

    e.docker_ok(&["rm", "-f", "pub1", "pub2", "pub3"]);
    assert!(port_free(e, 8081), "8081 is free again on {}", e.kind());
    assert!(port_free(e, any), "{any} is free again on {}", e.kind());
    // A new container takes the same port.
    serve(e, "pub4", &["-p", "127.0.0.1:8081:80"]);
    fetch_until(e, "http://127.0.0.1:8081/", "pub4");
    e.docker_ok(&["rm", "-f", "pub4"]);
    // A container that ends by itself, removed with it.
    let once = ["run", "--rm", "-p", "127.0.0.1:8083:80", NET_IMG, "true"];
    e.docker_ok(&once);
    assert_eq!(
        e.net_leftovers(),
        before,
        "what removed containers left on {}",
        e.kind()
    );
}

engine_net_tests!(publish_and_release => engine_net_publish_dockerd,
    engine_net_publish_wharf);

/// A container reaches another container's published port through its
/// gateway (the host's address on the bridge) and the container itself at
/// its address; `stop` leaves no link or rule and keeps the mapping in
/// inspect, and `start` serves again.
fn reach_from_container(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    serve(e, "srv", &["-p", "8082:80"]);
    fetch_until(e, "http://127.0.0.1:8082/", "srv");
    sleeper(e, "cli", &[]);
    let through_gateway = "wget -qO- http://$(ip route | awk '/^default/ {print $3}'):8082/";
    let page = exec_until(e, "cli", through_gateway);
    assert_eq!(page.trim(), "hello from srv", "on {}", e.kind());
    let ip = inspect_format(e, "srv", "{{.NetworkSettings.IPAddress}}");
    let page = exec_until(e, "cli", &format!("wget -qO- http://{ip}:80/"));
    assert_eq!(page.trim(), "hello from srv", "on {}", e.kind());

    e.docker_ok(&["stop", "-t", "1", "srv", "cli"]);
    assert_eq!(
        e.net_leftovers(),
        before,
        "what stopped containers left on {}",
        e.kind()
    );
    let bindings = inspect_format(e, "srv", "{{json .HostConfig.PortBindings}}");
    assert_eq!(
        bindings,
        r#"{"80/tcp":[{"HostIp":"","HostPort":"8082"}]}"#,
        "on {}",
        e.kind()
    );
    assert!(
        port_free(e, 8082),
        "a stopped container frees its port on {}",
        e.kind()
    );
    e.docker_ok(&["start", "srv"]);
    fetch_until(e, "http://127.0.0.1:8082/", "srv");
}

engine_net_tests!(reach_from_container => engine_net_reach_dockerd,
    engine_net_reach_wharf);
