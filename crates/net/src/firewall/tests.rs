use super::backend::find_in;
use super::rules::*;
use super::*;

pub(super) fn net(bridge: &str, subnet: &str, internal: bool, icc: bool) -> NetRules {
    NetRules {
        bridge: bridge.into(),
        subnet: subnet.parse().unwrap(),
        internal,
        icc,
    }
}

pub(super) fn published(host_ip: Option<[u8; 4]>) -> Published {
    Published {
        proto: Proto::Udp,
        host_ip: host_ip.map(Ipv4Addr::from),
        host_port: 8081,
        container_ip: Ipv4Addr::new(10, 5, 0, 2),
        container_port: 53,
        bridge: "br-x".into(),
    }
}

#[test]
fn open_batch_names_the_table_everywhere() {
    let b = open_batch("wharf");
    assert!(b.starts_with("add table ip wharf\n"));
    for line in b.lines() {
        assert!(line.split(' ').nth(3) == Some("wharf"), "{line}");
        assert!(!line.contains("{T}"), "{line}");
    }
    assert!(b.contains("add rule ip wharf publish meta l4proto { tcp, udp, sctp } dnat ip to meta l4proto . th dport map @ports_any\n"));
    let flushes = b.lines().filter(|l| l.starts_with("flush chain")).count();
    let chains = b.lines().filter(|l| l.starts_with("add chain")).count();
    assert_eq!(flushes, chains, "every chain's rules are written afresh");
    assert!(
        !b.contains("flush set") && !b.contains("flush map"),
        "elements are kept"
    );
}

#[test]
fn open_batch_is_accepted_by_nft() {
    let Some(nft) = nft_path() else {
        panic!("nft is part of the test machine");
    };
    // `-c`: parse and check against the kernel, commit nothing.
    let out = run_with_input(&nft, &["-c", "-f", "-"], &open_batch("wharf_check")).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn network_elements_follow_the_flags() {
    let plain = network_elements(&net("wharf0", "172.17.0.5/16", false, true), false);
    let text = element_lines("add", "t", &plain);
    assert_eq!(
        text,
        "add element ip t bridges { \"wharf0\" }\n\
         add element ip t same_bridge { \"wharf0\" . \"wharf0\" }\n\
         add element ip t nets { 172.17.0.0/16 . \"wharf0\" }\n\
         add element ip t masq_nets { 172.17.0.0/16 }\n"
    );
    let internal = network_elements(&net("br-i", "10.9.0.0/24", true, false), false);
    let sets: Vec<&str> = internal.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        sets,
        ["bridges", "same_bridge", "nets", "icc_off", "internal"]
    );
    let all = network_elements(&net("br-i", "10.9.0.0/24", true, false), true);
    assert_eq!(all.len(), 6, "removal covers every set");
}

#[test]
fn port_elements_by_host_address() {
    let (map, e, key) = port_element(&published(None));
    assert_eq!(
        (map, e.as_str(), key.as_str()),
        ("ports_any", "udp . 8081 : 10.5.0.2 . 53", "udp . 8081")
    );
    let (map, _, _) = port_element(&published(Some([0, 0, 0, 0])));
    assert_eq!(map, "ports_any", "0.0.0.0 is every address");
    let (map, e, key) = port_element(&published(Some([127, 0, 0, 1])));
    assert_eq!(map, "ports_ip");
    assert_eq!(e, "127.0.0.1 . udp . 8081 : 10.5.0.2 . 53");
    assert_eq!(key, "127.0.0.1 . udp . 8081");
}

#[test]
fn names_that_could_inject_are_refused() {
    for ok in ["wharf0", "br-3a716fec03d8", "a", "eth0.100", "x_y"] {
        check_ifname(ok).unwrap();
    }
    for bad in [
        "",
        ".",
        "..",
        "br0\" accept",
        "br0 }",
        "br0;",
        "br0\n",
        "a/b",
        "0123456789abcdef",
        "é",
    ] {
        let e = check_ifname(bad).unwrap_err();
        assert_eq!(e.to_string(), format!("invalid interface name {bad:?}"));
    }
    for ok in ["wharf", "wharf-test_1.2", "W"] {
        check_table(ok).unwrap();
    }
    for bad in [
        "",
        "1wharf",
        "-x",
        "wharf test",
        "w;flush ruleset",
        &"x".repeat(65),
    ] {
        assert!(check_table(bad).is_err(), "{bad}");
    }
    let e = Firewall::open("bad name").unwrap_err();
    assert_eq!(e.to_string(), "invalid nftables table name \"bad name\"");
}

#[test]
fn nft_errors_print_each_cause_once() {
    let e = FirewallError::Nft {
        action: "publish a port",
        table: "wharf".into(),
        source: NftError {
            stderr: "Error: Could not process rule: No such file or directory".into(),
        },
    };
    assert_eq!(
        e.to_string(),
        "failed to publish a port in nftables table ip wharf"
    );
    assert!(nft::exists(&FirewallError::Nft {
        action: "x",
        table: "t".into(),
        source: NftError {
            stderr: "Error: Could not process rule: File exists".into()
        }
    }));
}

#[test]
fn nft_is_looked_up_in_the_given_directories() {
    let dir = tempfile::tempdir().unwrap();
    let dirs = || [PathBuf::from("/nonexistent"), dir.path().to_path_buf()].into_iter();
    assert_eq!(find_in("nft", dirs()), None);
    let nft = dir.path().join("nft");
    std::fs::write(&nft, "#!/bin/sh\n").unwrap();
    assert_eq!(find_in("nft", dirs()), None, "not executable");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&nft, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(find_in("nft", dirs()), Some(nft));
    assert_eq!(
        FirewallError::NftMissing.to_string(),
        "nft not found: the nftables rules of networks need the nft command (package nftables)"
    );
}

#[test]
fn backends_by_name() {
    for b in [
        Backend::Nftables,
        Backend::Iptables,
        Backend::IptablesLegacy,
    ] {
        assert_eq!(b.as_str().parse::<Backend>().unwrap(), b);
    }
    assert_eq!("nft".parse::<Backend>().unwrap(), Backend::Nftables);
    let e = "ipfw".parse::<Backend>().unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid WHARF_FIREWALL value \"ipfw\": expected nftables, iptables or iptables-legacy"
    );
    assert_eq!(
        FirewallError::IptablesMissing {
            command: "iptables-restore"
        }
        .to_string(),
        "iptables-restore not found: the iptables rules of networks need it (package iptables)"
    );
    let e = Firewall::open_with("bad name", Backend::Iptables).unwrap_err();
    assert_eq!(e.to_string(), "invalid nftables table name \"bad name\"");
}

#[test]
fn wharf_firewall_forces_the_backend() {
    // nextest runs each test in a process of its own: the variable is
    // this test's.
    std::env::set_var(Backend::ENV, "iptables-legacy");
    assert_eq!(Backend::detect().unwrap(), Backend::IptablesLegacy);
    std::env::set_var(Backend::ENV, "auto");
    assert_eq!(
        Backend::detect().unwrap(),
        Backend::Nftables,
        "nft is part of the test machine"
    );
    std::env::set_var(Backend::ENV, "ipfw");
    assert!(matches!(
        Backend::detect(),
        Err(FirewallError::InvalidBackend { .. })
    ));
    std::env::remove_var(Backend::ENV);
    assert_eq!(Backend::detect().unwrap(), Backend::Nftables);
}
