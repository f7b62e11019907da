//! What the server does with one message: answer it from the container
//! names, forward it, or drop it. Pure: no sockets, so it is unit-tested.
//!
//! As Docker's embedded DNS: an A (or ANY) question for a name the asker
//! may resolve gets its addresses (TTL 600, not authoritative); any other
//! type for such a name gets an empty NOERROR (so AAAA falls back to A, and
//! container names do not leak upstream); a PTR question for an address
//! the asker knows gets the name. Everything else goes upstream verbatim.

use std::net::Ipv4Addr;

use super::wire::{self, Query, Rdata, Reject};
use super::Names;

/// The outcome of one message.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes back to the client.
    Reply(Vec<u8>),
    /// Send the message, unchanged, to the upstream servers.
    Forward,
    /// Send nothing.
    Drop,
}

/// Decides on `msg` from `asker`. A reply over UDP is cut to 512 bytes, or
/// to the client's EDNS size (at most 1232), with TC set; over TCP to 65535.
/// Several addresses are rotated left by `turn` (round robin: Docker
/// shuffles them, so that clients taking the first spread over them).
pub fn decide(msg: &[u8], asker: &str, names: &dyn Names, tcp: bool, turn: usize) -> Action {
    let query = match wire::parse_query(msg) {
        Ok(query) => query,
        Err(Reject::Drop) => return Action::Drop,
        Err(Reject::Rcode(rcode)) => {
            return wire::error_reply(msg, rcode).map_or(Action::Drop, Action::Reply)
        }
    };
    if query.qclass != wire::CLASS_IN {
        return Action::Forward;
    }
    let Some(name) = name_text(&query.labels) else {
        return Action::Forward;
    };
    let answers = if query.qtype == wire::TYPE_PTR {
        let Some(ip) = reverse_address(&name) else {
            return Action::Forward;
        };
        match names.reverse(asker, ip) {
            Some(found) => vec![Rdata::Ptr(found)],
            None => return Action::Forward,
        }
    } else {
        match names.lookup(asker, &name) {
            Some(mut ips) if matches!(query.qtype, wire::TYPE_A | wire::TYPE_ANY) => {
                if !ips.is_empty() {
                    let by = turn % ips.len();
                    ips.rotate_left(by);
                }
                ips.into_iter().map(Rdata::A).collect()
            }
            Some(_) => Vec::new(),
            None => return Action::Forward,
        }
    };
    Action::Reply(wire::encode_reply(
        &query,
        wire::RCODE_NOERROR,
        &answers,
        reply_limit(&query, tcp),
    ))
}

/// The reply to `msg` with no answer and `rcode`, if it is a query:
/// SERVFAIL when no upstream answered, REFUSED when too many are waiting.
pub fn failure(msg: &[u8], rcode: u8, tcp: bool) -> Option<Vec<u8>> {
    match wire::parse_query(msg) {
        Ok(query) => {
            let limit = reply_limit(&query, tcp);
            Some(wire::encode_reply(&query, rcode, &[], limit))
        }
        Err(Reject::Drop) => None,
        Err(Reject::Rcode(_)) => wire::error_reply(msg, rcode),
    }
}

fn reply_limit(query: &Query, tcp: bool) -> usize {
    if tcp {
        return usize::from(u16::MAX);
    }
    let size = query.edns_size.map_or(0, |s| s.min(wire::EDNS_UDP_SIZE));
    usize::from(size).max(wire::PLAIN_UDP_SIZE)
}

/// The question's name as lower-case dotted text without the trailing dot,
/// or None when it is the root or has bytes no container name has (a dot
/// inside a label, spaces, controls, non-ASCII): such names are not ours.
pub fn name_text(labels: &[Vec<u8>]) -> Option<String> {
    if labels.is_empty() {
        return None;
    }
    let mut text = String::new();
    for label in labels {
        if !label.iter().all(|b| b.is_ascii_graphic() && *b != b'.') {
            return None;
        }
        if !text.is_empty() {
            text.push('.');
        }
        text.extend(label.iter().map(|b| char::from(b.to_ascii_lowercase())));
    }
    Some(text)
}

/// The address of a reverse name `d.c.b.a.in-addr.arpa` (lower case).
pub fn reverse_address(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut octets = [0u8; 4];
    let mut parts = rest.split('.');
    for octet in octets.iter_mut().rev() {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    match parts.next() {
        None => Some(Ipv4Addr::from(octets)),
        Some(_) => None,
    }
}
