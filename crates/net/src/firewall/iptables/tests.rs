use super::*;
use crate::firewall::tests::{net, published};
use crate::ports::Proto;

fn chains() -> Chains {
    Chains::new("w").unwrap()
}

/// A TCP port published to `container`:80 on bridge br-x.
fn port(host_ip: Option<[u8; 4]>, host_port: u16, container: [u8; 4]) -> Published {
    let mut p = published(host_ip);
    (p.proto, p.host_port) = (Proto::Tcp, host_port);
    (p.container_ip, p.container_port) = (container.into(), 80);
    p
}

/// What iptables-save prints once `w` is open with network br0
/// (10.1.0.0/24) and two published ports.
const LIVE: &str = "\
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
:w-DNAT - [0:0]
:w-POST - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A PREROUTING -m addrtype --dst-type LOCAL -j w-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j w-DNAT
-A POSTROUTING -j w-POST
-A w-DNAT -d 127.0.0.1/32 -p udp -m udp --dport 8081 -j DNAT --to-destination 10.1.0.2:80
-A w-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80
-A w-POST -s 127.0.0.0/8 -o br0 -j MASQUERADE
-A w-POST -s 10.1.0.0/24 ! -o br0 -j MASQUERADE
-A w-POST -s 10.2.0.0/24 ! -o br1 -j MASQUERADE
COMMIT
*filter
:FORWARD DROP [0:0]
:w-FWD - [0:0]
:w-NET - [0:0]
:w-ISO1 - [0:0]
:w-ISO2 - [0:0]
:w-OUT - [0:0]
-A FORWARD -j w-FWD
-A w-FWD -j w-NET
-A w-ISO2 -o br0 -j DROP
-A w-OUT -i br1 -j ACCEPT
COMMIT
";

fn lines(b: &Batch) -> Vec<String> {
    b.text().lines().map(str::to_string).collect()
}

#[test]
fn chain_names_fit_iptables() {
    let c = Chains::new(&"t".repeat(MAX_TABLE)).unwrap();
    for (_, name) in c.all() {
        assert!(name.len() <= MAX_CHAIN, "{name}");
    }
    let long = "t".repeat(MAX_TABLE + 1);
    assert_eq!(
        Chains::new(&long).unwrap_err().to_string(),
        format!("table name {long:?} too long for iptables chain names (at most 23 characters)")
    );
    for bad in ["", "1w", "w x", "w;-F", "-w"] {
        assert!(Chains::new(bad).is_err(), "{bad}");
    }
    assert_eq!(chains().name("DNAT"), "w-DNAT");
}

#[test]
fn first_open_creates_every_chain_and_jump() {
    let b = open_batch(&chains(), &Listing::default());
    assert_eq!(
        b.text(),
        "*nat\n\
         :w-DNAT - [0:0]\n\
         :w-POST - [0:0]\n\
         -I PREROUTING 1 -m addrtype --dst-type LOCAL -j w-DNAT\n\
         -I OUTPUT 1 -m addrtype --dst-type LOCAL -j w-DNAT\n\
         -I POSTROUTING 1 -j w-POST\n\
         COMMIT\n\
         *filter\n\
         :w-FWD - [0:0]\n\
         :w-NET - [0:0]\n\
         :w-ISO1 - [0:0]\n\
         :w-ISO2 - [0:0]\n\
         :w-OUT - [0:0]\n\
         -I FORWARD 1 -j w-FWD\n\
         -A w-FWD -j w-NET\n\
         -A w-FWD -m conntrack --ctstate DNAT -j ACCEPT\n\
         -A w-FWD -j w-ISO1\n\
         -A w-FWD -j w-OUT\n\
         COMMIT\n"
    );
}

#[test]
fn open_again_keeps_networks_and_ports() {
    let got = lines(&open_batch(&chains(), &Listing::parse(LIVE)));
    let decls: Vec<&String> = got.iter().filter(|l| l.starts_with(':')).collect();
    assert_eq!(decls, [":w-FWD - [0:0]"], "only the fixed chain is flushed");
    for old in [
        "-D PREROUTING -m addrtype --dst-type LOCAL -j w-DNAT",
        "-D OUTPUT -m addrtype --dst-type LOCAL -j w-DNAT",
        "-D POSTROUTING -j w-POST",
        "-D FORWARD -j w-FWD",
    ] {
        assert!(got.iter().any(|l| l == old), "{old}: {got:?}");
    }
    assert!(
        !got.iter().any(|l| l.contains("DOCKER")),
        "others' jumps stay"
    );
    assert_eq!(got.iter().filter(|l| l.starts_with("-I ")).count(), 4);
}

#[test]
fn network_rules_follow_the_flags() {
    let specs = |n: &NetRules| -> Vec<String> {
        network_rules(&chains(), n)
            .into_iter()
            .map(|(t, c, s)| format!("{} {c} {s}", t.as_str()))
            .collect()
    };
    assert_eq!(
        specs(&net("br0", "10.1.0.9/24", false, true)),
        [
            "nat w-POST -s 127.0.0.0/8 -o br0 -j MASQUERADE",
            "nat w-POST -s 10.1.0.0/24 -o br0 -m conntrack --ctstate DNAT -j MASQUERADE",
            "nat w-POST -s 10.1.0.0/24 ! -o br0 -j MASQUERADE",
            "filter w-NET -i br0 -o br0 -j ACCEPT",
            "filter w-ISO1 -i br0 ! -o br0 -j w-ISO2",
            "filter w-ISO2 -o br0 -j DROP",
            "filter w-OUT -i br0 -j ACCEPT",
            "filter w-OUT -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            "filter w-OUT -o br0 -j DROP",
        ]
    );
    let internal = specs(&net("br0", "10.1.0.0/24", true, false));
    assert!(!internal.iter().any(|s| s.contains("! -o br0 -j MASQ")));
    let net_chain: Vec<&String> = internal.iter().filter(|s| s.contains("w-NET")).collect();
    assert_eq!(
        net_chain,
        [
            "filter w-NET -i br0 -o br0 -j DROP",
            "filter w-NET -i br0 -o br0 -j ACCEPT",
            "filter w-NET -i br0 -j DROP",
            "filter w-NET -o br0 -j DROP",
        ]
    );
}

#[test]
fn a_network_is_rewritten_and_removed_by_its_bridge() {
    let l = Listing::parse(LIVE);
    let n = net("br0", "10.1.0.0/24", false, true);
    let removed = lines(&network_batch(&chains(), &l, &n, false));
    assert_eq!(
        removed,
        [
            "*nat",
            "-D w-POST -s 127.0.0.0/8 -o br0 -j MASQUERADE",
            "-D w-POST -s 10.1.0.0/24 ! -o br0 -j MASQUERADE",
            "COMMIT",
            "*filter",
            "-D w-ISO2 -o br0 -j DROP",
            "COMMIT",
        ],
        "br1's rules and the ports stay"
    );
    let added = lines(&network_batch(&chains(), &l, &n, true));
    assert_eq!(added.iter().filter(|l| l.starts_with("-D ")).count(), 3);
    assert_eq!(added.iter().filter(|l| l.starts_with("-A ")).count(), 9);
    let gone = net("br9", "10.9.0.0/24", false, true);
    assert!(network_batch(&chains(), &l, &gone, false).is_empty());
}

#[test]
fn ports_are_added_once_and_taken_over() {
    let l = Listing::parse(LIVE);
    let c = chains();
    let mut lo = port(Some([127, 0, 0, 1]), 8081, [10, 1, 0, 2]);
    lo.proto = Proto::Udp;
    let live = [port(None, 8080, [10, 1, 0, 2]), lo];
    assert!(publish_batch(&c, &l, &live).is_empty(), "already mapped");

    let fresh = [
        port(Some([0, 0, 0, 0]), 9090, [10, 1, 0, 3]),
        port(Some([192, 0, 2, 1]), 9091, [10, 1, 0, 3]),
    ];
    assert_eq!(
        lines(&publish_batch(&c, &l, &fresh)),
        [
            "*nat",
            "-A w-DNAT -p tcp -m tcp --dport 9090 -j DNAT --to-destination 10.1.0.3:80",
            "-I w-DNAT 1 -d 192.0.2.1/32 -p tcp -m tcp --dport 9091 -j DNAT --to-destination 10.1.0.3:80",
            "COMMIT",
        ],
        "0.0.0.0 is every address; one address goes first"
    );

    let stale = [port(None, 8080, [10, 1, 0, 3])];
    assert_eq!(
        lines(&publish_batch(&c, &l, &stale)),
        [
            "*nat",
            "-D w-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.2:80",
            "-A w-DNAT -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.1.0.3:80",
            "COMMIT",
        ]
    );
    assert!(
        unpublish_batch(&c, &l, &stale).is_empty(),
        "8080 is another container's"
    );
    assert_eq!(
        lines(&unpublish_batch(&c, &l, &live)).len(),
        4,
        "*nat, two deletes, COMMIT"
    );
}

#[test]
fn destroy_deletes_jumps_then_chains() {
    let got = lines(&destroy_batch(&chains(), &Listing::parse(LIVE)));
    let at = |l: &str| {
        got.iter()
            .position(|g| g == l)
            .unwrap_or_else(|| panic!("{l}"))
    };
    assert!(at("-D PREROUTING -m addrtype --dst-type LOCAL -j w-DNAT") < at("-X w-DNAT"));
    assert!(
        at("-F w-ISO2") < at("-X w-ISO1"),
        "flushed before any is deleted"
    );
    assert!(!got.iter().any(|l| l.contains("DOCKER")));
    assert_eq!(got.iter().filter(|l| l.starts_with("-X ")).count(), 7);
    assert!(destroy_batch(&chains(), &Listing::default()).is_empty());
}
