//! The nft text of the daemon's table, pure: the skeleton of sets, maps,
//! chains and rules that [`super::Firewall::open`] loads, and the element
//! lines that networks and published ports add and delete. Every name put
//! into the text is checked first ([`check_table`], [`check_ifname`]);
//! addresses, ports and protocols are typed values.

use std::fmt::Write as _;

use super::{FirewallError, NetRules, Published};

/// The sets and maps, created if missing and never flushed: their
/// elements are the live state (a daemon restart keeps them).
///
/// - `bridges`: every wharf bridge.
/// - `same_bridge`: `"br" . "br"` per network, so routed (or, with
///   br_netfilter, bridged) traffic that stays on its own bridge is told
///   apart from traffic between two bridges; nft cannot compare two
///   packet fields with each other, a concatenation can.
/// - `icc_off`: the same pairs for networks with inter-container traffic
///   disabled.
/// - `internal`: bridges of internal networks.
/// - `nets`: `subnet . "br"` per network (postrouting: traffic that stays
///   on its network is not masqueraded).
/// - `masq_nets`: subnets of non-internal networks (masqueraded when they
///   leave by any other interface).
/// - `ports_ip` / `ports_any`: published ports, one element each:
///   `host ip . proto . host port` (or `proto . host port` for every host
///   address) to `container ip . container port`.
const OBJECTS: &str = "\
add set ip {T} bridges { type ifname; }
add set ip {T} same_bridge { type ifname . ifname; }
add set ip {T} icc_off { type ifname . ifname; }
add set ip {T} internal { type ifname; }
add set ip {T} nets { type ipv4_addr . ifname; flags interval; }
add set ip {T} masq_nets { type ipv4_addr; flags interval; }
add map ip {T} ports_ip { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }
add map ip {T} ports_any { type inet_proto . inet_service : ipv4_addr . inet_service; }
add chain ip {T} publish
add chain ip {T} prerouting { type nat hook prerouting priority dstnat; policy accept; }
add chain ip {T} output { type nat hook output priority -100; policy accept; }
add chain ip {T} postrouting { type nat hook postrouting priority srcnat; policy accept; }
add chain ip {T} forward { type filter hook forward priority filter; policy accept; }
";

/// The rules, flushed and written again by every open (in the same
/// transaction, so there is no moment without them).
const RULES: &str = "\
flush chain ip {T} publish
flush chain ip {T} prerouting
flush chain ip {T} output
flush chain ip {T} postrouting
flush chain ip {T} forward
add rule ip {T} publish meta l4proto { tcp, udp, sctp } dnat ip to ip daddr . meta l4proto . th dport map @ports_ip
add rule ip {T} publish meta l4proto { tcp, udp, sctp } dnat ip to meta l4proto . th dport map @ports_any
add rule ip {T} prerouting fib daddr type local jump publish
add rule ip {T} output fib daddr type local jump publish
add rule ip {T} postrouting oifname @bridges ip saddr 127.0.0.0/8 masquerade
add rule ip {T} postrouting ip saddr . oifname @nets ct status dnat masquerade
add rule ip {T} postrouting ip saddr . oifname @nets accept
add rule ip {T} postrouting ip saddr @masq_nets masquerade
add rule ip {T} forward iifname . oifname @icc_off drop
add rule ip {T} forward iifname . oifname @same_bridge accept
add rule ip {T} forward iifname @internal drop
add rule ip {T} forward oifname @internal drop
add rule ip {T} forward ct status dnat accept
add rule ip {T} forward iifname @bridges oifname @bridges drop
add rule ip {T} forward iifname @bridges accept
add rule ip {T} forward oifname @bridges ct state established,related accept
add rule ip {T} forward oifname @bridges drop
";

/// The batch of [`super::Firewall::open`]: the table and its objects if
/// missing, then the rules afresh.
///
/// Why each rule:
/// - prerouting/output `fib daddr type local jump publish`: a published
///   port answers on every address of the host (or the one asked), for
///   packets from outside (prerouting) and from the host itself (output),
///   127.0.0.1 included. Docker leaves 127/8 to its userland proxy; there
///   is none here, so loopback is DNATed too, which takes two more things:
///   `route_localnet=1` on the bridge (else the kernel refuses to route a
///   packet with a 127/8 source out of a non-loopback device,
///   `__mkroute_output`, and drops the replies, de-NATed back to 127.0.0.1,
///   as martians on input: ip-sysctl.rst, route_localnet), and
/// - postrouting `oifname @bridges ip saddr 127.0.0.0/8 masquerade`: the
///   container must not see 127.0.0.1 as the source (its own loopback);
///   masquerade gives it the bridge's address, conntrack undoes it.
/// - `ct status dnat masquerade` for a subnet leaving by its own bridge:
///   hairpin, a container reaching its own (or a neighbour's) published
///   port through the host; without it the reply would go straight back
///   over the bridge, un-NATed, and the client would drop it.
/// - masquerade of a non-internal subnet leaving by any other interface:
///   outbound NAT.
/// - forward: traffic staying on its bridge is accepted (unless icc is
///   off); internal networks neither leave nor are entered; published
///   ports (`ct status dnat`, both directions of such a connection) are
///   reachable from other networks, as Docker's userland proxy makes them;
///   otherwise two wharf bridges are isolated; containers may go out,
///   only replies and published ports come in. Accept and drop are said
///   explicitly, whatever the chain's policy.
pub fn open_batch(table: &str) -> String {
    let mut out = format!("add table ip {table}\n");
    out.push_str(&OBJECTS.replace("{T}", table));
    out.push_str(&RULES.replace("{T}", table));
    out
}

/// Adds a table and deletes it: nft has no "delete if present" in 1.0.6
/// (`destroy` came later), and adding first makes the delete always find
/// it.
pub fn destroy_batch(table: &str) -> String {
    format!("add table ip {table}\ndelete table ip {table}\n")
}

/// The element lines of a network, as `(set, element)`; `all` gives the
/// lines of every set the network could be in (what removal needs, so a
/// network removed with other flags than it was added with leaves
/// nothing).
pub fn network_elements(n: &NetRules, all: bool) -> Vec<(&'static str, String)> {
    let br = format!("\"{}\"", n.bridge);
    let subnet = n.subnet.trunc();
    let mut out = vec![
        ("bridges", br.clone()),
        ("same_bridge", format!("{br} . {br}")),
        ("nets", format!("{subnet} . {br}")),
    ];
    if all || !n.icc {
        out.push(("icc_off", format!("{br} . {br}")));
    }
    if all || n.internal {
        out.push(("internal", br.clone()));
    }
    if all || !n.internal {
        out.push(("masq_nets", subnet.to_string()));
    }
    out
}

/// The map and the `key : value` of a published port; `key` alone is the
/// second item.
pub fn port_element(p: &Published) -> (&'static str, String, String) {
    let to = format!("{} . {}", p.container_ip, p.container_port);
    match p.host_addr() {
        Some(ip) => {
            let key = format!("{ip} . {} . {}", p.proto, p.host_port);
            ("ports_ip", format!("{key} : {to}"), key)
        }
        None => {
            let key = format!("{} . {}", p.proto, p.host_port);
            ("ports_any", format!("{key} : {to}"), key)
        }
    }
}

/// `verb element ip T set { element }` lines.
pub fn element_lines(verb: &str, table: &str, elements: &[(&str, String)]) -> String {
    let mut out = String::new();
    for (set, e) in elements {
        let _ = writeln!(out, "{verb} element ip {table} {set} {{ {e} }}");
    }
    out
}

/// A table name nft takes unquoted: a letter, then up to 63 letters,
/// digits, `_`, `-` or `.`.
pub fn check_table(name: &str) -> Result<(), FirewallError> {
    let ok = name.len() <= 64 && name.starts_with(|c: char| c.is_ascii_alphabetic()) && plain(name);
    ok.then_some(()).ok_or_else(|| FirewallError::InvalidTable {
        name: name.to_string(),
    })
}

/// An interface name as the kernel takes it (`dev_valid_name`: 1–15
/// bytes, not `.` or `..`), restricted to `[A-Za-z0-9_.-]` so that it can
/// sit in double quotes in nft text without escaping.
pub fn check_ifname(name: &str) -> Result<(), FirewallError> {
    let ok = (1..=15).contains(&name.len()) && name != "." && name != ".." && plain(name);
    ok.then_some(())
        .ok_or_else(|| FirewallError::InvalidIfname {
            name: name.to_string(),
        })
}

/// Only `[A-Za-z0-9_.-]`.
fn plain(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}
