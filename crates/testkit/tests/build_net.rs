//! The network of `docker build`'s `RUN` steps with the classic builder
//! (`DOCKER_BUILDKIT=0`), against a private dockerd with networking and
//! against `wharf daemon`: by default a step is on the default `bridge`
//! network (an `eth0` with an address of its subnet, a default route
//! through the bridge, a TCP server on the daemon's side reached through
//! the gateway, the host's resolv.conf without loopback servers);
//! `--network none` gives only `lo`; a build that ends or is cancelled
//! leaves no link, rule, namespace file or address.

use std::io::BufRead;
use std::net::{Ipv4Addr, TcpListener};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::time::Duration;

use wharf_testkit::daemon::{Engine, Following, WharfDaemon};
use wharf_testkit::engine_net_tests;
use wharf_testkit::host::wait_for;
use wharf_testkit::net_scenario::{host_nameservers, import_net_image, NET_IMG};
use wharf_testkit::netns::link_names;
use wharf_testkit::output::explain;

/// A hang guard, not a time the test asserts.
const GUARD: Duration = Duration::from_secs(120);

/// A context directory in the engine's scratch space holding `dockerfile`.
fn context(e: &dyn Engine, name: &str, dockerfile: &str) -> PathBuf {
    let dir = e.scratch().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

/// `docker build` with the classic builder; its output, which must
/// succeed.
fn build_ok(e: &dyn Engine, dir: &std::path::Path, extra: &[&str]) -> String {
    let mut args = vec!["build", "--no-cache"];
    args.extend_from_slice(extra);
    args.push(dir.to_str().unwrap());
    let out = e.docker_env(&args, &[("DOCKER_BUILDKIT", "0")]);
    assert!(
        out.status.success(),
        "build on {}: {}",
        e.kind(),
        explain(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP listener on every address of the daemon's network namespace
/// (bound by a thread that joined it; the socket stays there).
fn listen_in(netns: Option<PathBuf>) -> TcpListener {
    std::thread::spawn(move || {
        if let Some(ns) = netns {
            let f = std::fs::File::open(&ns).expect("the daemon's namespace file");
            rustix::thread::move_into_link_name_space(
                f.as_fd(),
                Some(rustix::thread::LinkNameSpaceType::Network),
            )
            .expect("setns into the daemon's namespace");
        }
        TcpListener::bind("0.0.0.0:0").expect("a listener")
    })
    .join()
    .unwrap()
}

/// The default bridge's subnet.
fn bridge_subnet(e: &dyn Engine) -> (Ipv4Addr, u8) {
    let subnet = e.docker_ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{(index .IPAM.Config 0).Subnet}}",
    ]);
    parse_cidr(&subnet)
}

/// `172.18.0.0/16` as (network, prefix).
fn parse_cidr(s: &str) -> (Ipv4Addr, u8) {
    let (a, p) = s.trim().split_once('/').expect("a CIDR");
    (a.parse().unwrap(), p.parse().unwrap())
}

fn contains((net, prefix): (Ipv4Addr, u8), ip: Ipv4Addr) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    u32::from(net) & mask == u32::from(ip) & mask
}

/// Waits until what networking leaves equals `before`, then checks it.
fn nothing_left(e: &dyn Engine, before: &[String], what: &str) {
    let _ = wait_for(GUARD, || (e.net_leftovers() == before).then_some(()));
    assert_eq!(
        e.net_leftovers(),
        before,
        "what {what} left on {}",
        e.kind()
    );
}

/// A step on the default bridge: its address, route, the daemon's side
/// reached through the gateway, its resolv.conf; nothing left after.
fn steps_on_the_bridge(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    let subnet = bridge_subnet(e);
    let listener = listen_in(e.netns());
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(s).read_line(&mut line).unwrap();
        line
    });
    let dockerfile = format!(
        "FROM {NET_IMG}\n\
         RUN echo \"addr: $(ip -4 -o addr show eth0 | awk '{{print $4}}')\" \
         && echo \"gw: $(ip route | awk '/^default/ {{print $3}}')\" \
         && echo from-a-step | nc $(ip route | awk '/^default/ {{print $3}}') {port} \
         && sed 's/^/resolv: /' /etc/resolv.conf && sed 's/^/hosts: /' /etc/hosts\n"
    );
    let out = build_ok(e, &context(e, "bridge", &dockerfile), &[]);
    assert_eq!(server.join().unwrap(), "from-a-step\n", "on {}", e.kind());
    let field = |key: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.strip_prefix(key))
            .map(|v| v.trim().to_string())
            .collect()
    };
    let addr = field("addr: ");
    let ip: Ipv4Addr = addr[0].split('/').next().unwrap().parse().unwrap();
    assert!(contains(subnet, ip), "{addr:?} not in {subnet:?}: {out}");
    assert!(addr[0].ends_with(&format!("/{}", subnet.1)), "{out}");
    let gw: Ipv4Addr = field("gw: ")[0].parse().unwrap();
    assert!(contains(subnet, gw), "gateway {gw} on {}: {out}", e.kind());
    let servers: Vec<String> = field("resolv: ")
        .iter()
        .filter_map(|l| l.strip_prefix("nameserver").map(|s| s.trim().to_string()))
        .collect();
    assert_eq!(servers, host_nameservers(), "on {}: {out}", e.kind());
    let hosts = field("hosts: ");
    assert!(
        hosts.iter().any(|l| l.starts_with(&format!("{ip}\t"))),
        "its address in /etc/hosts on {}: {hosts:?}",
        e.kind()
    );
    nothing_left(e, &before, "a build");
}

engine_net_tests!(steps_on_the_bridge => build_net_bridge_dockerd, build_net_bridge_wharf);

/// `--network none`: only loopback.
fn steps_without_network(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    let dockerfile = format!("FROM {NET_IMG}\nRUN ip -o link | sed 's/^/link: /'\n");
    let out = build_ok(e, &context(e, "none", &dockerfile), &["--network", "none"]);
    let links: Vec<&str> = out.lines().filter(|l| l.starts_with("link: ")).collect();
    assert_eq!(links.len(), 1, "on {}: {out}", e.kind());
    assert!(links[0].contains(": lo: "), "on {}: {out}", e.kind());
    nothing_left(e, &before, "a build without network");
}

engine_net_tests!(steps_without_network => build_net_none_dockerd, build_net_none_wharf);

/// A build whose client goes away while a step runs leaves nothing.
fn cancelled_build(e: &dyn Engine) {
    import_net_image(e);
    let before = e.net_leftovers();
    let (client, _) = long_build(e, "cancel");
    assert_ne!(e.net_leftovers(), before, "the step's link on {}", e.kind());
    drop(client);
    nothing_left(e, &before, "a cancelled build");
}

engine_net_tests!(cancelled_build => build_net_cancel_dockerd, build_net_cancel_wharf);

/// Starts a build whose step sleeps, and waits until the step runs;
/// the client, and the step's id as printed.
fn long_build(e: &dyn Engine, name: &str) -> (Following, String) {
    let dockerfile = format!("FROM {NET_IMG}\nRUN echo step-runs-now-$((6*7)) && sleep 300\n");
    let dir = context(e, name, &dockerfile);
    let mut cmd = e.command(&["build", "--no-cache", dir.to_str().unwrap()]);
    cmd.env("DOCKER_BUILDKIT", "0");
    let client = Following::spawn(cmd);
    let text = client.wait_until("the RUN step ran", |t| t.contains("step-runs-now-42"));
    let step = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("---> Running in "))
        .expect("the step's id")
        .trim()
        .to_string();
    (client, step)
}

/// A daemon that stops (SIGTERM) while a step runs kills the build, and
/// one killed (SIGKILL) leaves its sandbox, which the next start sweeps
/// (here the step is killed by hand: a builder outlives a daemon killed
/// that way). Each time nothing is left: no link, rule, namespace file or
/// granted address (the leftovers list the engine's address rows).
#[test]
fn build_net_daemon_restart_wharf() {
    let mut e = WharfDaemon::start().expect("a private wharf daemon");
    import_net_image(&e);
    let before = e.net_leftovers();
    for kill in [false, true] {
        let (client, step) = long_build(&e, if kill { "killed" } else { "stopped" });
        let during = e.net_leftovers();
        assert!(
            during
                .iter()
                .any(|l| l.starts_with("netns ") && l.contains("/build-")),
            "the build's namespace file: {during:?}"
        );
        if kill {
            e.kill9();
            wharf_testkit::leaks::remove_leftovers(&step);
        } else {
            e.terminate();
        }
        drop(client);
        e.spawn().expect("the daemon starts again");
        nothing_left(&e, &before, "a build its daemon stopped");
    }
}

/// Wharf's `RUN --network=none|host` in a build on the default bridge.
#[test]
fn build_net_run_flags_wharf() {
    let e = WharfDaemon::start().expect("a private wharf daemon");
    import_net_image(&e);
    let before = e.net_leftovers();
    let dockerfile = format!(
        "FROM {NET_IMG}\n\
         RUN --network=none ip -o link | sed 's/^/none: /'\n\
         RUN --network=host ip -o link | sed 's/^/host: /'\n\
         RUN ip -o link | sed 's/^/default: /'\n"
    );
    let out = build_ok(&e, &context(&e, "flags", &dockerfile), &[]);
    let names = |key: &str| -> Vec<String> {
        let ours: String = out
            .lines()
            .filter_map(|l| l.strip_prefix(key))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut v = link_names(&ours);
        v.sort();
        v
    };
    assert_eq!(names("none: "), ["lo"], "{out}");
    assert_eq!(names("default: "), ["eth0", "lo"], "{out}");
    // The host's (the daemon's namespace): its bridge among them.
    let host = names("host: ");
    let bridge = e.docker_ok(&[
        "network",
        "inspect",
        "bridge",
        "--format",
        "{{index .Options \"com.docker.network.bridge.name\"}}",
    ]);
    assert!(host.contains(&bridge.trim().to_string()), "{host:?} {out}");
    nothing_left(&e, &before, "a build");
}
