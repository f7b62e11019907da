//! Root tests of the firewall rules on the real kernel, each run once per
//! backend (nftables, iptables as installed, iptables-legacy). Each test
//! builds its own lab of scratch network namespaces (made with `ip netns`,
//! named after the test, the backend and the pid, deleted on drop even
//! when the test fails): a "host" namespace holding the bridges and the
//! daemon's rules, and "container" namespaces joined to a bridge by a veth
//! pair, each serving a greeting over TCP port 80. Packet counters of a
//! probe table (nft, at priorities around the filter hook's) tell what the
//! forward rules dropped; both iptables flavours hook at that priority too.

use std::fs::File;
use std::io::{self, Read};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use wharf_net::firewall::{Backend, Firewall, NetRules, Published};
use wharf_net::ports::{self, PortSpec, Proto};

/// A network namespace from `ip netns add`, deleted on drop.
struct Ns {
    name: String,
}

impl Ns {
    fn new(test: &str, role: &str) -> Ns {
        let name = format!("wh2-{test}-{role}-{}", std::process::id());
        sh(&["ip", "netns", "add", &name]);
        let ns = Ns { name };
        ns.ip("link set lo up");
        ns
    }

    /// `ip -n <ns> <args>`, which must succeed.
    fn ip(&self, args: &str) {
        let mut argv = vec!["ip", "-n", &self.name];
        argv.extend(args.split_whitespace());
        sh(&argv);
    }

    /// Runs `f` on a thread inside the namespace.
    fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                enter(&path);
                f()
            })
            .join()
            .expect("thread in netns")
        })
    }

    fn sysctl(&self, key: &str, value: &str) {
        let file = format!("/proc/sys/net/{}", key.replace('.', "/"));
        self.run(|| std::fs::write(&file, value)).expect("sysctl");
    }

    /// Serves `greeting` on TCP port 80 from a thread inside the
    /// namespace, for as long as the test process lives; returns once
    /// the socket listens.
    fn serve(&self, greeting: &'static str) {
        let path = format!("/run/netns/{}", self.name);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            enter(&path);
            let l = TcpListener::bind("0.0.0.0:80").expect("bind :80");
            tx.send(()).unwrap();
            for c in l.incoming().flatten() {
                let peer = c
                    .peer_addr()
                    .map(|a| a.ip().to_string())
                    .unwrap_or_default();
                let _ = io::Write::write_all(&mut &c, format!("{greeting} {peer}").as_bytes());
            }
        });
        rx.recv().expect("listener up");
    }
}

impl Ns {
    /// Answers each UDP datagram on `port` with `"<greeting> <peer ip>"`.
    fn serve_udp(&self, port: u16, greeting: &'static str) {
        let path = format!("/run/netns/{}", self.name);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            enter(&path);
            let sock = UdpSocket::bind(("0.0.0.0", port)).expect("bind udp");
            tx.send(()).unwrap();
            let mut buf = [0u8; 512];
            while let Ok((_, peer)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(format!("{greeting} {}", peer.ip()).as_bytes(), peer);
            }
        });
        rx.recv().expect("udp listener up");
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn enter(path: &str) {
    let f = File::open(path).expect("open netns");
    wharf_sys::process::setns(f.as_fd(), libc::CLONE_NEWNET).expect("setns");
}

fn sh(argv: &[&str]) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .output()
        .expect(argv[0]);
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Connects and reads what the server says (`"<greeting> <peer ip>"`).
/// The time limits only guard against a hang.
fn fetch(addr: &str) -> io::Result<String> {
    let addr: SocketAddrV4 = addr.parse().unwrap();
    let mut s = TcpStream::connect_timeout(&addr.into(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    Ok(text)
}

/// A host namespace with forwarding on and a bridge per network.
struct Lab {
    host: Ns,
    test: String,
    table: String,
    backend: Backend,
}

impl Lab {
    fn new(test: &str, backend: Backend) -> Lab {
        let test = format!("{test}{}", tag(backend));
        let host = Ns::new(&test, "host");
        host.sysctl("ipv4.ip_forward", "1");
        Lab {
            host,
            test,
            table: format!("wharf_t{}", std::process::id()),
            backend,
        }
    }

    fn open(&self) -> Firewall {
        let fw = self
            .host
            .run(|| Firewall::open_with(&self.table, self.backend))
            .expect("open");
        assert_eq!(fw.backend(), self.backend);
        fw
    }

    /// A bridge `bridge` with `gw/24`, up, with `route_localnet` as
    /// `link::ensure_bridge` sets it.
    fn bridge(&self, bridge: &str, gw: &str) {
        self.host.ip(&format!("link add {bridge} type bridge"));
        self.host.ip(&format!("addr add {gw}/24 dev {bridge}"));
        self.host.ip(&format!("link set {bridge} up"));
        self.host
            .sysctl(&format!("ipv4.conf.{bridge}.route_localnet"), "1");
    }

    /// A container namespace on `bridge` with address `ip/24` and a
    /// default route via `gw`.
    fn container(&self, role: &str, bridge: &str, ip: &str, gw: &str) -> Ns {
        let c = Ns::new(&self.test, role);
        let veth = format!("v{role}");
        self.host.ip(&format!(
            "link add {veth} type veth peer name eth0 netns {}",
            c.name
        ));
        self.host.ip(&format!("link set {veth} master {bridge} up"));
        // As `link::attach` does: with br_netfilter, a container's packet to
        // its own published port is DNATed on the bridge path and sent back
        // out of the port it came in by.
        self.host
            .ip(&format!("link set {veth} type bridge_slave hairpin on"));
        c.ip(&format!("addr add {ip}/24 dev eth0"));
        c.ip("link set eth0 up");
        c.ip(&format!("route add default via {gw}"));
        c
    }

    fn nft(&self, args: &str) -> String {
        let mut argv = vec!["ip", "netns", "exec", &self.host.name, "nft"];
        argv.extend(args.split_whitespace());
        let out = Command::new("ip").args(&argv[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "nft {args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

fn rules(bridge: &str, subnet: &str, internal: bool) -> NetRules {
    NetRules {
        bridge: bridge.into(),
        subnet: subnet.parse().unwrap(),
        internal,
        icc: true,
    }
}

fn port(host_ip: Option<[u8; 4]>, host_port: u16, container: [u8; 4], bridge: &str) -> Published {
    Published {
        proto: Proto::Tcp,
        host_ip: host_ip.map(Ipv4Addr::from),
        host_port,
        container_ip: Ipv4Addr::from(container),
        container_port: 80,
        bridge: bridge.into(),
    }
}

/// Sends a datagram from `from` (a local address) to `to` and reads the
/// answer; the time limit only guards against a hang.
fn ask_udp(from: &str, to: &str) -> io::Result<String> {
    let sock = UdpSocket::bind((from, 0))?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    sock.send_to(b"?", to)?;
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Holds host port `port` in `host`'s namespace, as the engine does before
/// publishing it.
fn hold(host: &Ns, proto: Proto, port: u16) -> ports::Reservation {
    let spec = PortSpec {
        proto,
        host_ip: None,
        host_port: port,
        container_port: 80,
    };
    host.run(|| ports::reserve(&spec, (1, 2))).unwrap().1
}

fn refused(r: io::Result<String>) -> bool {
    matches!(&r, Err(e) if e.kind() == io::ErrorKind::ConnectionRefused)
}

fn published_port_reaches_the_container_until_unpublished(backend: Backend) {
    let lab = Lab::new("pub", backend);
    lab.bridge("wbr0", "10.201.0.1");
    let a = lab.container("a", "wbr0", "10.201.0.2", "10.201.0.1");
    a.serve("a");
    let fw = lab.open();
    let net = rules("wbr0", "10.201.0.0/24", false);
    lab.host.run(|| fw.add_network(&net)).unwrap();
    assert!(
        refused(lab.host.run(|| fetch("127.0.0.1:8080"))),
        "nothing published yet"
    );

    let held = hold(&lab.host, Proto::Tcp, 8080);
    let p = port(None, 8080, [10, 201, 0, 2], "wbr0");
    lab.host.run(|| fw.publish(&p)).unwrap();
    let only_lo = port(Some([127, 0, 0, 1]), 8081, [10, 201, 0, 2], "wbr0");
    lab.host.run(|| fw.publish(&only_lo)).unwrap();

    // From the host: 127.0.0.1 (route_localnet, the 127/8 masquerade: the
    // container sees the bridge's address) and the gateway address.
    assert_eq!(
        lab.host.run(|| fetch("127.0.0.1:8080")).unwrap(),
        "a 10.201.0.1"
    );
    assert_eq!(
        lab.host.run(|| fetch("10.201.0.1:8080")).unwrap(),
        "a 10.201.0.1"
    );
    assert_eq!(
        lab.host.run(|| fetch("127.0.0.1:8081")).unwrap(),
        "a 10.201.0.1"
    );
    assert!(
        refused(lab.host.run(|| fetch("10.201.0.1:8081"))),
        "8081 is 127.0.0.1's only"
    );
    // Hairpin: the container reaches its own published port.
    assert_eq!(a.run(|| fetch("10.201.0.1:8080")).unwrap(), "a 10.201.0.1");

    lab.host.run(|| fw.unpublish(&p)).unwrap();
    drop(held);
    assert!(refused(lab.host.run(|| fetch("127.0.0.1:8080"))));
    assert!(refused(lab.host.run(|| fetch("10.201.0.1:8080"))));
    lab.host
        .run(|| fw.unpublish(&p))
        .expect("unpublish twice is fine");
    assert_eq!(
        lab.host.run(|| fetch("127.0.0.1:8081")).unwrap(),
        "a 10.201.0.1"
    );
}

impl Lab {
    /// Counts forwarded packets from bridge `from` to `to` twice, in chains
    /// of a table of its own that run before (priority -10) and after
    /// (+10) the daemon's forward chain (priority 0): a packet counted
    /// early but not late was dropped by the daemon's rules.
    fn probe(&self, name: &str, from: &str, to: &str) {
        let batch = format!(
            "add table ip {name}\n\
             add chain ip {name} early {{ type filter hook forward priority -10; }}\n\
             add chain ip {name} late {{ type filter hook forward priority 10; }}\n\
             add rule ip {name} early iifname \"{from}\" oifname \"{to}\" counter\n\
             add rule ip {name} late iifname \"{from}\" oifname \"{to}\" counter\n"
        );
        let path = std::env::temp_dir().join(format!("{name}-{}.nft", std::process::id()));
        std::fs::write(&path, batch).unwrap();
        self.nft(&format!("-f {}", path.display()));
        let _ = std::fs::remove_file(path);
    }

    /// The (early, late) packet counts of probe `name`.
    fn counted(&self, name: &str) -> (u64, u64) {
        let n = |chain: &str| {
            let text = self.nft(&format!("list chain ip {name} {chain}"));
            let at = text.find("packets ").expect("a counter") + "packets ".len();
            text[at..]
                .split(' ')
                .next()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        };
        (n("early"), n("late"))
    }
}

/// Tries to connect, for at most a second (the outcome is not asserted:
/// the probe counters say what happened to the packets).
fn knock(ns: &Ns, addr: &str) {
    let addr: SocketAddrV4 = addr.parse().unwrap();
    let _ = ns.run(|| TcpStream::connect_timeout(&addr.into(), Duration::from_secs(1)));
}

/// Bridges wbr1 (10.201.0.0/24) and wbr2 (10.202.0.0/24), with container
/// a on the first and b on the second, both serving.
fn two_bridges(test: &str, backend: Backend) -> (Lab, Ns, Ns) {
    let lab = Lab::new(test, backend);
    lab.bridge("wbr1", "10.201.0.1");
    lab.bridge("wbr2", "10.202.0.1");
    let a = lab.container("a", "wbr1", "10.201.0.2", "10.201.0.1");
    let b = lab.container("b", "wbr2", "10.202.0.2", "10.202.0.1");
    a.serve("a");
    b.serve("b");
    (lab, a, b)
}

fn two_networks_are_isolated_but_published_ports_cross(backend: Backend) {
    let (lab, a, _b) = two_bridges("iso", backend);
    let fw = lab.open();
    assert_eq!(
        a.run(|| fetch("10.202.0.2:80")).unwrap(),
        "b 10.201.0.2",
        "routed before"
    );

    let (n1, n2) = (
        rules("wbr1", "10.201.0.0/24", false),
        rules("wbr2", "10.202.0.0/24", false),
    );
    lab.host
        .run(|| fw.add_network(&n1).and(fw.add_network(&n2)))
        .unwrap();
    lab.probe("p12", "wbr1", "wbr2");
    knock(&a, "10.202.0.2:80");
    let (early, late) = lab.counted("p12");
    assert!(early >= 1, "the SYN was routed");
    assert_eq!(late, 0, "and dropped by the isolation rule");

    // A published port is reachable from another network (through the
    // host's address, masqueraded to the target bridge's address).
    let p = port(None, 9090, [10, 202, 0, 2], "wbr2");
    lab.host.run(|| fw.publish(&p)).unwrap();
    assert_eq!(a.run(|| fetch("10.201.0.1:9090")).unwrap(), "b 10.202.0.1");

    lab.host
        .run(|| fw.remove_network(&n1).and(fw.remove_network(&n2)))
        .unwrap();
    lab.host
        .run(|| fw.remove_network(&n2))
        .expect("removing twice is fine");
    assert_eq!(
        a.run(|| fetch("10.202.0.2:80")).unwrap(),
        "b 10.201.0.2",
        "rules gone"
    );
}

fn internal_network_neither_leaves_nor_is_entered(backend: Backend) {
    let (lab, a, b) = two_bridges("int", backend);
    let fw = lab.open();
    let internal = rules("wbr1", "10.201.0.0/24", true);
    // wbr2 is not a wharf network here: only the internal rules apply.
    lab.host.run(|| fw.add_network(&internal)).unwrap();
    lab.probe("out", "wbr1", "wbr2");
    lab.probe("in", "wbr2", "wbr1");
    knock(&a, "10.202.0.2:80");
    knock(&b, "10.201.0.2:80");
    let (before, _) = lab.counted("in");
    // Not even through a published port.
    let p = port(None, 7070, [10, 201, 0, 2], "wbr1");
    lab.host.run(|| fw.publish(&p)).unwrap();
    knock(&b, "10.202.0.1:7070");
    let (after, late) = lab.counted("in");
    assert!(
        after > before && late == 0,
        "published: {before} {after} {late}"
    );
    for probe in ["out", "in"] {
        let (early, late) = lab.counted(probe);
        assert!(early >= 1 && late == 0, "{probe}: {early} {late}");
    }
    // The host itself still reaches it (not forwarded).
    assert_eq!(
        lab.host.run(|| fetch("10.201.0.2:80")).unwrap(),
        "a 10.201.0.1"
    );
}

fn no_inter_container_traffic_when_icc_is_off(backend: Backend) {
    let lab = Lab::new("icc", backend);
    lab.bridge("wbr0", "10.201.0.1");
    let a = lab.container("a", "wbr0", "10.201.0.2", "10.201.0.1");
    let b = lab.container("b", "wbr0", "10.201.0.3", "10.201.0.1");
    b.serve("b");
    let fw = lab.open();
    assert_eq!(
        a.run(|| fetch("10.201.0.3:80")).unwrap(),
        "b 10.201.0.2",
        "bridged before"
    );
    let mut n = rules("wbr0", "10.201.0.0/24", false);
    n.icc = false;
    lab.host.run(|| fw.add_network(&n)).unwrap();
    // br_netfilter hands bridged IPv4 to the ip hooks, with the bridge as
    // both interfaces.
    lab.probe("icc", "wbr0", "wbr0");
    knock(&a, "10.201.0.3:80");
    let (early, late) = lab.counted("icc");
    assert!(early >= 1 && late == 0, "{early} {late}");
}

fn outbound_traffic_is_masqueraded(backend: Backend) {
    let lab = Lab::new("masq", backend);
    lab.bridge("wbr0", "10.201.0.1");
    let a = lab.container("a", "wbr0", "10.201.0.2", "10.201.0.1");
    // "The internet": a namespace on a link of the host, with no route
    // back to the containers' subnet.
    let o = Ns::new(&lab.test, "out");
    lab.host.ip(&format!(
        "link add vout type veth peer name eth0 netns {}",
        o.name
    ));
    lab.host.ip("addr add 192.0.2.1/24 dev vout");
    lab.host.ip("link set vout up");
    o.ip("addr add 192.0.2.2/24 dev eth0");
    o.ip("link set eth0 up");
    o.serve("o");
    let fw = lab.open();
    lab.host
        .run(|| fw.add_network(&rules("wbr0", "10.201.0.0/24", false)))
        .unwrap();
    assert_eq!(a.run(|| fetch("192.0.2.2:80")).unwrap(), "o 192.0.2.1");
}

impl Lab {
    /// `iptables-save` (of the backend's flavour) of the host namespace.
    fn iptables_save(&self) -> String {
        let save = match self.backend {
            Backend::IptablesLegacy => "iptables-legacy-save",
            _ => "iptables-save",
        };
        let out = Command::new("ip")
            .args(["netns", "exec", &self.host.name, save])
            .output()
            .unwrap();
        assert!(out.status.success(), "{save}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// The daemon's rules as text: nft's table, or the iptables rules
    /// without comments and chain counters.
    fn rules_text(&self) -> String {
        let t = &self.table;
        if self.backend == Backend::Nftables {
            return self.nft(&format!("list table ip {t}"));
        }
        let text = self.iptables_save();
        let lines = text.lines().filter(|l| !l.starts_with(['#', ':']));
        lines.map(|l| format!("{l}\n")).collect()
    }

    /// The published ports as text (see [`Lab::mapping`]).
    fn mappings(&self) -> String {
        let t = &self.table;
        if self.backend == Backend::Nftables {
            let any = self.nft(&format!("list map ip {t} ports_any"));
            let ip = self.nft(&format!("list map ip {t} ports_ip"));
            return format!("{any}{ip}");
        }
        let text = self.iptables_save();
        let dnat = format!("-A {t}-DNAT ");
        let lines = text.lines().filter(|l| l.starts_with(&dnat));
        lines.map(|l| format!("{l}\n")).collect()
    }

    /// How one published port shows in [`Lab::mappings`].
    fn mapping(&self, host_ip: Option<&str>, proto: &str, port: u16, to: &str) -> String {
        match (self.backend, host_ip) {
            (Backend::Nftables, None) => format!("{proto} . {port} : {to} . 80"),
            (Backend::Nftables, Some(ip)) => format!("{ip} . {proto} . {port} : {to} . 80"),
            (_, host) => {
                let d = host.map(|ip| format!("-d {ip}/32 ")).unwrap_or_default();
                format!("{d}-p {proto} -m {proto} --dport {port} -j DNAT --to-destination {to}:80")
            }
        }
    }

    /// True when the network's subnet is masqueraded out of other links.
    fn masquerades(&self, subnet: &str, bridge: &str) -> bool {
        let t = &self.table;
        if self.backend == Backend::Nftables {
            let set = self.nft(&format!("list set ip {t} nets"));
            return set.contains(&format!("{subnet} . \"{bridge}\""));
        }
        let rule = format!("-A {t}-POST -s {subnet} ! -o {bridge} -j MASQUERADE\n");
        self.rules_text().contains(&rule)
    }

    /// True when nothing of the daemon's rules is left.
    fn nothing_left(&self) -> bool {
        let t = &self.table;
        match self.backend {
            Backend::Nftables => !self.nft("list tables").contains(t),
            _ => !self.iptables_save().contains(t),
        }
    }
}

fn open_again_keeps_elements_and_destroy_leaves_no_table(backend: Backend) {
    let lab = Lab::new("keep", backend);
    let fw = lab.open();
    let t = lab.table.clone();
    let n = rules("wbr0", "10.201.0.0/24", false);
    let p = port(None, 8080, [10, 201, 0, 2], "wbr0");
    lab.host
        .run(|| fw.add_network(&n).and(fw.publish(&p)))
        .unwrap();
    let before = lab.rules_text();

    // A restarted daemon opens again and publishes its live containers'
    // ports again.
    let again = lab.open();
    assert_eq!(again.table(), t);
    lab.host
        .run(|| again.add_network(&n).and(again.publish(&p)))
        .unwrap();
    assert_eq!(lab.rules_text(), before, "rules not doubled");
    let m = lab.mappings();
    assert!(
        m.contains(&lab.mapping(None, "tcp", 8080, "10.201.0.2")),
        "{m}"
    );
    assert!(
        lab.masquerades("10.201.0.0/24", "wbr0"),
        "{}",
        lab.rules_text()
    );

    // A host port left to a container that is gone is taken over; the
    // stale one's unpublish then leaves the new mapping alone.
    let q = port(None, 8080, [10, 201, 0, 3], "wbr0");
    lab.host.run(|| again.publish(&q)).unwrap();
    lab.host.run(|| again.unpublish(&p)).unwrap();
    let m = lab.mappings();
    let new = lab.mapping(None, "tcp", 8080, "10.201.0.3");
    assert!(
        m.matches(&new).count() == 1 && !m.contains("10.201.0.2"),
        "{m}"
    );

    // Removing the network takes its rules whatever flags it had.
    let mut other = n.clone();
    other.internal = true;
    lab.host.run(|| again.remove_network(&other)).unwrap();
    assert!(!lab.rules_text().contains("wbr0"), "{}", lab.rules_text());

    lab.host.run(|| again.destroy()).unwrap();
    assert!(lab.nothing_left(), "{}", lab.rules_text());
    lab.host
        .run(|| Firewall::destroy_table_with(&t, backend))
        .expect("a missing table is fine");
    drop(fw);
}

fn published_udp_port_reaches_the_container(backend: Backend) {
    let lab = Lab::new("udp", backend);
    lab.bridge("wbr0", "10.201.0.1");
    let a = lab.container("a", "wbr0", "10.201.0.2", "10.201.0.1");
    a.serve_udp(53, "u");
    let fw = lab.open();
    lab.host
        .run(|| fw.add_network(&rules("wbr0", "10.201.0.0/24", false)))
        .unwrap();
    // The held socket is bound to the port, yet the datagrams go to the
    // container: the DNAT comes before the socket lookup.
    let _held = hold(&lab.host, Proto::Udp, 5353);
    let mut p = port(None, 5353, [10, 201, 0, 2], "wbr0");
    p.proto = Proto::Udp;
    p.container_port = 53;
    lab.host.run(|| fw.publish(&p)).unwrap();
    let got = lab
        .host
        .run(|| ask_udp("127.0.0.1", "127.0.0.1:5353"))
        .unwrap();
    assert_eq!(got, "u 10.201.0.1");
    let got = lab
        .host
        .run(|| ask_udp("10.201.0.1", "10.201.0.1:5353"))
        .unwrap();
    assert_eq!(got, "u 10.201.0.1");
}

fn a_containers_ports_in_one_batch(backend: Backend) {
    let lab = Lab::new("batch", backend);
    let fw = lab.open();
    let maps = || lab.mappings();
    let mapping = |ip, proto, port, to| lab.mapping(ip, proto, port, to);
    let p1 = port(None, 8080, [10, 201, 0, 2], "wbr0");
    let mut p2 = port(Some([127, 0, 0, 1]), 8081, [10, 201, 0, 2], "wbr0");
    p2.proto = Proto::Udp;
    lab.host
        .run(|| fw.publish_all(&[p1.clone(), p2.clone()]))
        .unwrap();
    let m = maps();
    assert!(m.contains(&mapping(None, "tcp", 8080, "10.201.0.2")), "{m}");
    let lo = mapping(Some("127.0.0.1"), "udp", 8081, "10.201.0.2");
    assert!(m.contains(&lo), "{m}");

    // 8080 left to a container that is gone: taken over.
    let q1 = port(None, 8080, [10, 201, 0, 3], "wbr0");
    let q2 = port(None, 8082, [10, 201, 0, 3], "wbr0");
    lab.host
        .run(|| fw.publish_all(&[q1.clone(), q2.clone()]))
        .unwrap();
    let m = maps();
    assert!(m.contains(&mapping(None, "tcp", 8080, "10.201.0.3")), "{m}");
    assert!(m.contains(&mapping(None, "tcp", 8082, "10.201.0.3")), "{m}");

    lab.host.run(|| fw.unpublish_all(&[p1, p2])).unwrap();
    let m = maps();
    assert!(
        !m.contains("10.201.0.2") && m.contains(&mapping(None, "tcp", 8080, "10.201.0.3")),
        "{m}"
    );
    lab.host.run(|| fw.unpublish_all(&[q1, q2])).unwrap();
    assert!(!maps().contains("10.201.0.3"), "{}", maps());
    lab.host.run(|| fw.unpublish_all(&[])).unwrap();

    let bad = port(None, 9999, [10, 201, 0, 4], "bad name");
    let e = lab.host.run(|| fw.publish_all(&[bad])).unwrap_err();
    assert_eq!(e.to_string(), "invalid interface name \"bad name\"");
}

/// Containers started at once publish from several threads through one
/// `Firewall` (the engine shares it); every mapping lands, once.
fn concurrent_publishes_all_land(backend: Backend) {
    let lab = Lab::new("conc", backend);
    let fw = lab.open();
    let ports: Vec<Published> = (0..8)
        .map(|i| port(None, 8100 + i, [10, 201, 0, 2 + i as u8], "wbr0"))
        .collect();
    lab.host.run(|| {
        // Threads made here share the namespace of the thread making them.
        std::thread::scope(|s| {
            for p in &ports {
                let fw = &fw;
                s.spawn(move || fw.publish_all(std::slice::from_ref(p)).unwrap());
            }
        })
    });
    let m = lab.mappings();
    for (i, p) in ports.iter().enumerate() {
        let one = lab.mapping(None, "tcp", p.host_port, &format!("10.201.0.{}", 2 + i));
        assert_eq!(m.matches(&one).count(), 1, "{one} in {m}");
    }
}

#[test]
fn open_uses_the_backend_wharf_firewall_names() {
    // nextest runs each test in a process of its own: the variable is
    // this test's (a daemon started with it does the same).
    std::env::set_var(Backend::ENV, "iptables");
    let lab = Lab::new("env", Backend::Iptables);
    let fw = lab.host.run(|| Firewall::open(&lab.table)).unwrap();
    assert_eq!(fw.backend(), Backend::Iptables);
    let fwd = format!("-A FORWARD -j {}-FWD\n", lab.table);
    assert!(lab.rules_text().contains(&fwd), "{}", lab.rules_text());
    lab.host.run(|| fw.destroy()).unwrap();
    assert!(lab.nothing_left(), "{}", lab.rules_text());
}

/// The short name of a backend in namespace names.
fn tag(b: Backend) -> &'static str {
    match b {
        Backend::Nftables => "n",
        Backend::Iptables => "i",
        Backend::IptablesLegacy => "l",
    }
}

/// A module per test body, with one test per backend.
macro_rules! per_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;
            #[test]
            fn nftables() {
                super::$name(Backend::Nftables);
            }
            #[test]
            fn iptables() {
                super::$name(Backend::Iptables);
            }
            #[test]
            fn iptables_legacy() {
                super::$name(Backend::IptablesLegacy);
            }
        }
    )*};
}

per_backend!(
    published_port_reaches_the_container_until_unpublished,
    two_networks_are_isolated_but_published_ports_cross,
    internal_network_neither_leaves_nor_is_entered,
    no_inter_container_traffic_when_icc_is_off,
    outbound_traffic_is_masqueraded,
    open_again_keeps_elements_and_destroy_leaves_no_table,
    published_udp_port_reaches_the_container,
    a_containers_ports_in_one_batch,
    concurrent_publishes_all_land,
);
