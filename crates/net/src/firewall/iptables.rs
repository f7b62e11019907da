//! The iptables text of the daemon's chains, pure: what
//! [`super::Firewall`] feeds to `iptables-restore --noflush` when `nft` is
//! missing, computed from what `iptables-save` printed ([`Listing`]), so
//! that every change deletes exactly the rules it means (by the text
//! iptables printed for them) and adds only what is missing.
//!
//! The chains, named `<table>-<part>` after the daemon's table name, and
//! the same semantics as the nftables rules ([`super::rules`] says why
//! each is needed):
//! - nat `PREROUTING` and `OUTPUT` jump to `-DNAT` for local destinations
//!   (`-m addrtype --dst-type LOCAL`, 127.0.0.1 included); it holds one
//!   DNAT rule per published port, those for one host address first.
//! - nat `POSTROUTING` jumps to `-POST`: per network, masquerade of 127/8
//!   sources leaving by its bridge, hairpin (its subnet leaving by its own
//!   bridge after a DNAT) and, unless internal, its subnet leaving by any
//!   other interface (outbound NAT).
//! - filter `FORWARD` jumps to `-FWD`, fixed: `-NET` (per network: icc
//!   off, traffic staying on the bridge, internal networks neither left
//!   nor entered), then published ports (`--ctstate DNAT`) accepted, then
//!   `-ISO1`/`-ISO2` (from one wharf bridge to another: dropped, the
//!   two-stage form Docker uses), then `-OUT` (per network: out accepted,
//!   in only replies).
//!
//! Per-network rules name the bridge (`-i`/`-o`), so a network's rules are
//! all the rules of these chains naming it.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::{FirewallError, NetRules, Published};

/// iptables' longest chain name (`XT_EXTENSION_MAXNAMELEN` - 1).
pub const MAX_CHAIN: usize = 28;

/// The parts of the chain names, with their table.
const PARTS: [(Table, &str); 7] = [
    (Table::Nat, "DNAT"),
    (Table::Nat, "POST"),
    (Table::Filter, "FWD"),
    (Table::Filter, "NET"),
    (Table::Filter, "ISO1"),
    (Table::Filter, "ISO2"),
    (Table::Filter, "OUT"),
];

/// The longest table name the chain names can be made of.
pub const MAX_TABLE: usize = MAX_CHAIN - "-DNAT".len();

/// An iptables table the daemon's chains live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    /// `nat`.
    Nat,
    /// `filter`.
    Filter,
}

impl Table {
    /// Its name.
    pub fn as_str(self) -> &'static str {
        match self {
            Table::Nat => "nat",
            Table::Filter => "filter",
        }
    }
}

/// The names of the daemon's chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chains {
    prefix: String,
}

impl Chains {
    /// The chains of `table` (already a valid nftables name, see
    /// [`super::rules::check_table`]), at most [`MAX_TABLE`] long.
    pub fn new(table: &str) -> Result<Chains, FirewallError> {
        super::rules::check_table(table)?;
        if table.len() > MAX_TABLE {
            return Err(FirewallError::TableTooLong {
                name: table.to_string(),
                max: MAX_TABLE,
            });
        }
        Ok(Chains {
            prefix: table.to_string(),
        })
    }

    /// The chain of `part` (`DNAT`, `POST`, `FWD`, …).
    pub fn name(&self, part: &str) -> String {
        format!("{}-{part}", self.prefix)
    }

    /// Every chain with its table.
    pub fn all(&self) -> impl Iterator<Item = (Table, String)> + '_ {
        PARTS.iter().map(|(t, p)| (*t, self.name(p)))
    }

    /// True when `chain` is one of ours.
    fn ours(&self, chain: &str) -> bool {
        PARTS.iter().any(|(_, p)| chain == self.name(p))
    }

    /// The jumps from the built-in chains into ours.
    fn jumps(&self) -> [(Table, &'static str, String); 4] {
        let local = format!("-m addrtype --dst-type LOCAL -j {}", self.name("DNAT"));
        [
            (Table::Nat, "PREROUTING", local.clone()),
            (Table::Nat, "OUTPUT", local),
            (
                Table::Nat,
                "POSTROUTING",
                format!("-j {}", self.name("POST")),
            ),
            (Table::Filter, "FORWARD", format!("-j {}", self.name("FWD"))),
        ]
    }
}

/// Lines for `iptables-restore --noflush`, by table: chain declarations
/// (which create a missing chain and flush an existing one), then
/// commands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Batch {
    tables: BTreeMap<Table, (Vec<String>, Vec<String>)>,
}

impl Batch {
    /// Declares `chain` (created, or flushed if it exists).
    pub fn declare(&mut self, t: Table, chain: &str) {
        self.tables
            .entry(t)
            .or_default()
            .0
            .push(format!(":{chain} - [0:0]"));
    }

    /// Adds a command line (`-A …`, `-I …`, `-D …`, `-F …`, `-X …`).
    pub fn line(&mut self, t: Table, line: String) {
        self.tables.entry(t).or_default().1.push(line);
    }

    /// True when there is nothing to run.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The restore text: each table's lines between `*table` and `COMMIT`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (t, (decls, lines)) in &self.tables {
            out.push('*');
            out.push_str(t.as_str());
            out.push('\n');
            for l in decls.iter().chain(lines) {
                out.push_str(l);
                out.push('\n');
            }
            out.push_str("COMMIT\n");
        }
        out
    }
}

/// Creates the chains that are missing, writes the fixed ones afresh and
/// puts the jumps first in the built-in chains (deleting any older jump
/// into ours), keeping the rules of networks and published ports.
pub fn open_batch(c: &Chains, l: &Listing) -> Batch {
    let mut b = Batch::default();
    let fwd = c.name("FWD");
    for (t, chain) in c.all() {
        if chain == fwd || !l.has_chain(t, &chain) {
            b.declare(t, &chain);
        }
    }
    delete_jumps(c, l, &mut b);
    for (t, builtin, spec) in c.jumps() {
        b.line(t, format!("-I {builtin} 1 {spec}"));
    }
    for spec in [
        format!("-j {}", c.name("NET")),
        "-m conntrack --ctstate DNAT -j ACCEPT".to_string(),
        format!("-j {}", c.name("ISO1")),
        format!("-j {}", c.name("OUT")),
    ] {
        b.line(Table::Filter, format!("-A {fwd} {spec}"));
    }
    b
}

/// Deletes the jumps into our chains and the chains with their rules.
pub fn destroy_batch(c: &Chains, l: &Listing) -> Batch {
    let mut b = Batch::default();
    delete_jumps(c, l, &mut b);
    let present: Vec<(Table, String)> = c.all().filter(|(t, ch)| l.has_chain(*t, ch)).collect();
    for (t, chain) in &present {
        b.line(*t, format!("-F {chain}"));
    }
    for (t, chain) in &present {
        b.line(*t, format!("-X {chain}"));
    }
    b
}

/// Deletes every rule outside our chains that jumps into one of them.
fn delete_jumps(c: &Chains, l: &Listing, b: &mut Batch) {
    for r in &l.rules {
        let into_ours = r.opt("-j").is_some_and(|(_, j)| c.ours(j));
        if into_ours && !c.ours(&r.chain) {
            b.line(r.table, r.delete_line());
        }
    }
}

/// The rules of network `n`, as `(table, chain, spec)`.
pub fn network_rules(c: &Chains, n: &NetRules) -> Vec<(Table, String, String)> {
    let br = &n.bridge;
    let subnet = n.subnet.trunc();
    let mut net = Vec::new();
    if !n.icc {
        net.push(format!("-i {br} -o {br} -j DROP"));
    }
    net.push(format!("-i {br} -o {br} -j ACCEPT"));
    if n.internal {
        net.push(format!("-i {br} -j DROP"));
        net.push(format!("-o {br} -j DROP"));
    }
    let mut post = vec![
        format!("-s 127.0.0.0/8 -o {br} -j MASQUERADE"),
        format!("-s {subnet} -o {br} -m conntrack --ctstate DNAT -j MASQUERADE"),
    ];
    if !n.internal {
        post.push(format!("-s {subnet} ! -o {br} -j MASQUERADE"));
    }
    let iso1 = vec![format!("-i {br} ! -o {br} -j {}", c.name("ISO2"))];
    let iso2 = vec![format!("-o {br} -j DROP")];
    let out = vec![
        format!("-i {br} -j ACCEPT"),
        format!("-o {br} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
        format!("-o {br} -j DROP"),
    ];
    [
        (Table::Nat, "POST", post),
        (Table::Filter, "NET", net),
        (Table::Filter, "ISO1", iso1),
        (Table::Filter, "ISO2", iso2),
        (Table::Filter, "OUT", out),
    ]
    .into_iter()
    .flat_map(|(t, part, specs)| specs.into_iter().map(move |s| (t, c.name(part), s)))
    .collect()
}

/// Deletes the rules naming `n`'s bridge from our per-network chains and,
/// when `add`, appends the network's rules (so adding again rewrites
/// them, and removal takes whatever flags they were added with).
pub fn network_batch(c: &Chains, l: &Listing, n: &NetRules, add: bool) -> Batch {
    let mut b = Batch::default();
    for r in &l.rules {
        let per_network = c.ours(&r.chain) && r.chain != c.name("DNAT") && r.chain != c.name("FWD");
        let names_it = ["-i", "-o"]
            .iter()
            .any(|o| r.opt(o).is_some_and(|(_, v)| v == n.bridge));
        if per_network && names_it {
            b.line(r.table, r.delete_line());
        }
    }
    if add {
        for (t, chain, spec) in network_rules(c, n) {
            b.line(t, format!("-A {chain} {spec}"));
        }
    }
    b
}

/// A published port's key (one mapping per key, as the nftables maps
/// have) and its target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct PortKey {
    host_ip: Option<Ipv4Addr>,
    proto: String,
    host_port: u16,
}

fn key_of(p: &Published) -> (PortKey, String) {
    let key = PortKey {
        host_ip: p.host_addr(),
        proto: p.proto.as_str().to_string(),
        host_port: p.host_port,
    };
    (key, format!("{}:{}", p.container_ip, p.container_port))
}

/// The key and target of a DNAT rule as iptables-save prints it.
fn rule_key(r: &Rule) -> Option<(PortKey, String)> {
    let host_ip = match r.opt("-d") {
        Some((false, d)) => Some(d.strip_suffix("/32").unwrap_or(d).parse().ok()?),
        Some((true, _)) => return None,
        None => None,
    };
    let key = PortKey {
        host_ip,
        proto: r.opt("-p")?.1.to_string(),
        host_port: r.opt("--dport")?.1.parse().ok()?,
    };
    Some((key, r.opt("--to-destination")?.1.to_string()))
}

/// The DNAT rule of a port: for one host address inserted first, for
/// every address appended.
pub fn port_line(c: &Chains, p: &Published) -> String {
    let chain = c.name("DNAT");
    let (key, to) = key_of(p);
    let m = format!(
        "-p {proto} -m {proto} --dport {port} -j DNAT --to-destination {to}",
        proto = key.proto,
        port = key.host_port
    );
    match key.host_ip {
        Some(ip) => format!("-I {chain} 1 -d {ip}/32 {m}"),
        None => format!("-A {chain} {m}"),
    }
}

/// Adds the ports missing, replacing a mapping of the same host port (and
/// address) to another target; a port already mapped so is left alone.
pub fn publish_batch(c: &Chains, l: &Listing, ps: &[Published]) -> Batch {
    let wanted: BTreeMap<PortKey, &Published> = ps.iter().map(|p| (key_of(p).0, p)).collect();
    let dnat = c.name("DNAT");
    let mut b = Batch::default();
    for (key, p) in wanted {
        let to = key_of(p).1;
        let same: Vec<(&Rule, bool)> = l
            .chain_rules(Table::Nat, &dnat)
            .filter_map(|r| {
                rule_key(r)
                    .filter(|(k, _)| *k == key)
                    .map(|(_, t)| (r, t == to))
            })
            .collect();
        if let [(_, true)] = same.as_slice() {
            continue;
        }
        for (r, _) in same {
            b.line(Table::Nat, r.delete_line());
        }
        b.line(Table::Nat, port_line(c, p));
    }
    b
}

/// Deletes the rules of these ports that still map to these targets.
pub fn unpublish_batch(c: &Chains, l: &Listing, ps: &[Published]) -> Batch {
    let gone: Vec<(PortKey, String)> = ps.iter().map(key_of).collect();
    let dnat = c.name("DNAT");
    let mut b = Batch::default();
    for r in l.chain_rules(Table::Nat, &dnat) {
        if rule_key(r).is_some_and(|kt| gone.contains(&kt)) {
            b.line(Table::Nat, r.delete_line());
        }
    }
    b
}

mod listing;
pub use listing::{Listing, Rule};

#[cfg(test)]
mod tests;
