use super::*;

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn cidr_parses_and_prints_as_given() {
    let n = net("10.1.2.3/16");
    assert_eq!(n.addr(), ip("10.1.2.3"));
    assert_eq!(n.prefix(), 16);
    assert_eq!(n.to_string(), "10.1.2.3/16");
    assert_eq!(n.network(), ip("10.1.0.0"));
    assert_eq!(n.broadcast(), ip("10.1.255.255"));
    assert_eq!(n.trunc().to_string(), "10.1.0.0/16");
    assert_eq!(net("0.0.0.0/0").broadcast(), ip("255.255.255.255"));
    assert_eq!(net("1.2.3.4/32").network(), ip("1.2.3.4"));
}

#[test]
fn bad_cidr_has_gos_wording() {
    for bad in [
        "10.300.0.0/16",
        "10.0.0.0",
        "10.0.0.0/33",
        "10.0.0.0/",
        "10.0.0.0/+8",
        "10.0.0/8",
        "x/8",
        "",
    ] {
        let e = bad.parse::<Ipv4Net>().unwrap_err();
        assert_eq!(e.to_string(), format!("invalid CIDR address: {bad}"));
    }
}

#[test]
fn contains_and_overlaps() {
    let a = net("172.17.0.0/16");
    assert!(a.contains(ip("172.17.255.254")));
    assert!(!a.contains(ip("172.18.0.1")));
    assert!(a.overlaps(&net("172.17.5.0/24")));
    assert!(net("172.17.5.0/24").overlaps(&a));
    assert!(net("172.0.0.0/8").overlaps(&a));
    assert!(!a.overlaps(&net("172.18.0.0/16")));
}

#[test]
fn first_free_skips_network_broadcast_and_reserved() {
    let s = net("10.77.0.0/24");
    let mut used = BTreeSet::new();
    assert_eq!(first_free(s, None, &used), Some(ip("10.77.0.1")));
    used.insert(ip("10.77.0.1"));
    used.insert(ip("10.77.0.2"));
    assert_eq!(first_free(s, None, &used), Some(ip("10.77.0.3")));
    used.remove(&ip("10.77.0.2"));
    assert_eq!(
        first_free(s, None, &used),
        Some(ip("10.77.0.2")),
        "lowest free is reused"
    );
    let full: BTreeSet<_> = s.hosts().collect();
    assert_eq!(full.len(), 254);
    assert_eq!(first_free(s, None, &full), None);
}

#[test]
fn first_free_stays_in_range() {
    let s = net("10.0.0.0/16");
    let r = Some(net("10.0.5.0/30"));
    let mut used = BTreeSet::new();
    assert_eq!(
        first_free(s, r, &used),
        Some(ip("10.0.5.0")),
        "inside the subnet, not its edge"
    );
    used.extend([
        ip("10.0.5.0"),
        ip("10.0.5.1"),
        ip("10.0.5.2"),
        ip("10.0.5.3"),
    ]);
    assert_eq!(first_free(s, r, &used), None);
    let edge = Some(net("10.0.255.252/30"));
    assert_eq!(
        first_free(s, edge, &BTreeSet::new()),
        Some(ip("10.0.255.252"))
    );
    let mut last = BTreeSet::new();
    last.extend([ip("10.0.255.252"), ip("10.0.255.253"), ip("10.0.255.254")]);
    assert_eq!(first_free(s, edge, &last), None, "never the broadcast");
}

#[test]
fn tiny_subnets() {
    assert_eq!(net("10.0.0.0/31").hosts().count(), 2);
    assert_eq!(
        net("10.0.0.7/32").hosts().collect::<Vec<_>>(),
        vec![ip("10.0.0.7")]
    );
    assert_eq!(net("10.0.0.0/30").hosts().count(), 2);
}

#[test]
fn pick_pool_follows_docker_defaults() {
    let pools = default_pools();
    assert_eq!(pools.len(), 16);
    assert_eq!(pools[0], (net("172.17.0.0/16"), 16));
    assert_eq!(pools[14], (net("172.31.0.0/16"), 16));
    assert_eq!(pools[15], (net("192.168.0.0/16"), 20));
    assert_eq!(pick_pool(&pools, &[]), Some(net("172.17.0.0/16")));
    let taken = [net("172.17.0.0/16"), net("172.18.3.0/24")];
    assert_eq!(pick_pool(&pools, &taken), Some(net("172.19.0.0/16")));
    let all172: Vec<_> = (17..=31).map(|b| net(&format!("172.{b}.0.0/16"))).collect();
    assert_eq!(pick_pool(&pools, &all172), Some(net("192.168.0.0/20")));
    let mut more = all172.clone();
    more.push(net("192.168.0.0/24"));
    more.push(net("192.168.17.0/24"));
    assert_eq!(pick_pool(&pools, &more), Some(net("192.168.32.0/20")));
    more.push(net("192.168.0.0/16"));
    assert_eq!(pick_pool(&pools, &more), None);
    assert_eq!(pick_pool(&pools, &[net("0.0.0.0/0")]), None);
}

#[test]
fn routes_parse_little_endian_hex() {
    let text =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        wharf0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
        junk\n";
    let got = parse_routes(text);
    if cfg!(target_endian = "little") {
        assert_eq!(
            got,
            vec![
                ("eth0".to_string(), net("192.0.2.0/24")),
                ("wharf0".to_string(), net("172.17.0.0/16")),
            ]
        );
    }
    assert_eq!(got.len(), 2);
}

#[test]
fn host_routes_reads_this_namespace() {
    let text = std::fs::read_to_string("/proc/net/route").unwrap();
    let want: Vec<Ipv4Net> = parse_routes(&text).into_iter().map(|(_, n)| n).collect();
    assert_eq!(host_routes(), want);
    for n in want {
        assert_eq!(n, n.trunc());
        assert!(n.prefix() > 0);
    }
}

#[test]
fn next_free_goes_on_after_the_last_and_wraps() {
    let s = net("10.77.0.0/29");
    let mut used: BTreeSet<_> = [ip("10.77.0.1")].into();
    assert_eq!(next_free(s, None, &used, None), Some(ip("10.77.0.2")));
    used.insert(ip("10.77.0.2"));
    assert_eq!(
        next_free(s, None, &used, Some(ip("10.77.0.2"))),
        Some(ip("10.77.0.3"))
    );
    // .2 given back: the next one still goes on from .3.
    used.remove(&ip("10.77.0.2"));
    used.insert(ip("10.77.0.3"));
    assert_eq!(
        next_free(s, None, &used, Some(ip("10.77.0.3"))),
        Some(ip("10.77.0.4"))
    );
    // At the end it goes round to the lowest free one.
    assert_eq!(
        next_free(s, None, &used, Some(ip("10.77.0.6"))),
        Some(ip("10.77.0.2"))
    );
    let r = Some(net("10.77.0.4/30"));
    assert_eq!(
        next_free(s, r, &used, Some(ip("10.77.0.5"))),
        Some(ip("10.77.0.6"))
    );
    let full: BTreeSet<_> = s.hosts().collect();
    assert_eq!(next_free(s, None, &full, Some(ip("10.77.0.3"))), None);
}
