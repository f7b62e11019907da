//! Unit tests of the wire format and of the answering rules, including
//! hostile messages (pointer loops, cut messages, huge counts).

use std::net::Ipv4Addr;

use super::answer::{decide, failure, name_text, reverse_address, Action};
use super::wire::{self, parse_query, Query, Rdata, Reject};
use super::{upstreams_from_resolv_conf, Names};

/// A query for `name` of type `qtype`, RD set, optionally with an OPT record.
fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns.is_some())]);
    m.extend_from_slice(&wire::encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&wire::CLASS_IN.to_be_bytes());
    if let Some(size) = edns {
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&size.to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    }
    m
}

/// A header with one question, followed by `rest` as the question.
fn raw(rest: &[u8]) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(rest);
    m
}

struct Fixed;

impl Names for Fixed {
    fn lookup(&self, asker: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        match (asker, name) {
            ("a", "alpha") => Some(vec![Ipv4Addr::new(10, 77, 0, 3)]),
            ("a", "many") => Some((0..60).map(|i| Ipv4Addr::new(10, 0, 0, i)).collect()),
            _ => None,
        }
    }

    fn reverse(&self, asker: &str, ip: Ipv4Addr) -> Option<String> {
        (asker == "a" && ip == Ipv4Addr::new(10, 77, 0, 3)).then(|| "alpha.usernet".to_string())
    }
}

fn reply(action: Action) -> Vec<u8> {
    match action {
        Action::Reply(bytes) => bytes,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// The reply over UDP to a query asked by "a".
fn ask(msg: &[u8]) -> Vec<u8> {
    reply(decide(msg, "a", &Fixed, false, 0))
}

fn counts(msg: &[u8]) -> [u16; 4] {
    [4, 6, 8, 10].map(|i| u16::from_be_bytes([msg[i], msg[i + 1]]))
}

#[test]
fn parses_a_query_and_its_edns_size() {
    let q = parse_query(&query(7, "Alpha.", wire::TYPE_A, Some(4096))).unwrap();
    assert_eq!(q.id, 7);
    assert_eq!(q.labels, vec![b"Alpha".to_vec()]);
    assert_eq!(
        (q.qtype, q.qclass, q.edns_size),
        (wire::TYPE_A, wire::CLASS_IN, Some(4096))
    );
}

#[test]
fn follows_backward_pointers() {
    // "b.a" at 0, then "c" + pointer to "a" (at 2), then a pointer to "c.a".
    let msg = [1, b'b', 1, b'a', 0, 1, b'c', 0xC0, 2, 0xC0, 5];
    let (labels, end) = wire::read_name(&msg, 5).unwrap();
    assert_eq!((labels, end), (vec![b"c".to_vec(), b"a".to_vec()], 9));
    let (labels, end) = wire::read_name(&msg, 9).unwrap();
    assert_eq!((labels.len(), end), (2, 11));
    // Pointing back into a run that led to the pointer is a loop.
    assert!(wire::read_name(&[1, b'c', 0xC0, 0], 0).is_err());
    assert!(
        wire::read_name(&[0, 1, b'c', 0xC0, 1, 0xC0, 3], 5).is_err(),
        "chain that climbs back"
    );
}

#[test]
fn rejects_pointer_loops() {
    // Pointer to itself, pointer forward, and label-then-pointer-back cycle.
    for name in [&[0xC0, 12][..], &[0xC0, 14, 0], &[1, b'a', 0xC0, 12]] {
        assert_eq!(
            parse_query(&raw(name)),
            Err(Reject::Rcode(wire::RCODE_FORMERR))
        );
    }
}

#[test]
fn rejects_cut_and_oversized_messages() {
    let full = query(1, "alpha.example", wire::TYPE_A, Some(1232));
    for n in 0..full.len() {
        let expected = if n < wire::HEADER_LEN {
            Reject::Drop
        } else {
            Reject::Rcode(1)
        };
        assert_eq!(parse_query(&full[..n]), Err(expected), "cut at {n}");
    }
    let long: Vec<u8> = (0..5)
        .flat_map(|_| std::iter::once(63).chain([b'a'; 63]))
        .collect();
    assert!(parse_query(&raw(&[&long[..], &[0, 0, 1, 0, 1]].concat())).is_err());
    assert!(
        parse_query(&raw(&[0x40, 0, 0, 1, 0, 1])).is_err(),
        "extended label type"
    );
    // Counts far beyond the message end with FORMERR, not a long loop.
    let mut m = query(1, "a", wire::TYPE_A, None);
    m[6..12].copy_from_slice(&[0xFF; 6]);
    assert_eq!(parse_query(&m), Err(Reject::Rcode(wire::RCODE_FORMERR)));
}

#[test]
fn responses_and_odd_queries_are_not_answered_as_queries() {
    let mut m = query(1, "alpha", wire::TYPE_A, None);
    m[2] |= 0x80;
    assert_eq!(parse_query(&m), Err(Reject::Drop), "a response");
    m[2] = 0x28; // opcode 5 (UPDATE)
    assert_eq!(parse_query(&m), Err(Reject::Rcode(wire::RCODE_NOTIMP)));
    let mut m = query(1, "alpha", wire::TYPE_A, None);
    m[5] = 2;
    assert_eq!(parse_query(&m), Err(Reject::Rcode(wire::RCODE_FORMERR)));
    let formerr = reply(decide(&m, "a", &Fixed, false, 0));
    assert_eq!(&formerr[..4], &[0, 1, 0x81, 0x81]);
    assert_eq!(counts(&formerr), [0; 4]);
    assert_eq!(decide(&[1, 2, 3], "a", &Fixed, false, 0), Action::Drop);
}

#[test]
fn answers_a_known_name_case_insensitively() {
    let r = ask(&query(9, "ALPHA.", wire::TYPE_A, None));
    assert_eq!(&r[..4], &[0, 9, 0x81, 0x80], "QR RD RA, not AA, NOERROR");
    assert_eq!(counts(&r), [1, 1, 0, 0]);
    assert_eq!(&r[12..19], b"\x05ALPHA\x00", "question case kept");
    let answer = &r[23..];
    assert_eq!(
        answer,
        &[0xC0, 12, 0, 1, 0, 1, 0, 0, 0x02, 0x58, 0, 4, 10, 77, 0, 3]
    );
}

#[test]
fn aaaa_of_a_known_name_is_empty_noerror() {
    let r = ask(&query(3, "alpha", wire::TYPE_AAAA, Some(1232)));
    assert_eq!(r[3] & 0xF, 0);
    assert_eq!(counts(&r), [1, 0, 0, 1], "no answer, our OPT record");
}

#[test]
fn ptr_of_a_known_address() {
    let r = ask(&query(4, "3.0.77.10.in-addr.arpa", wire::TYPE_PTR, None));
    assert_eq!(counts(&r), [1, 1, 0, 0]);
    assert!(r.ends_with(b"\x05alpha\x07usernet\x00"));
    let other = query(4, "4.0.77.10.in-addr.arpa", wire::TYPE_PTR, None);
    assert_eq!(decide(&other, "a", &Fixed, false, 0), Action::Forward);
}

#[test]
fn unknown_names_and_other_askers_are_forwarded() {
    for (asker, name, qtype) in [
        ("b", "alpha", wire::TYPE_A),
        ("a", "example.com", wire::TYPE_A),
        ("a", "example.com", 16),
        ("a", "", wire::TYPE_A),
    ] {
        assert_eq!(
            decide(&query(1, name, qtype, None), asker, &Fixed, false, 0),
            Action::Forward
        );
    }
    let mut chaos = query(1, "alpha", wire::TYPE_A, None);
    let len = chaos.len();
    chaos[len - 1] = 3;
    assert_eq!(decide(&chaos, "a", &Fixed, false, 0), Action::Forward);
}

#[test]
fn udp_answers_are_truncated_to_the_client_size() {
    let plain = ask(&query(1, "many", wire::TYPE_A, None));
    assert!(
        plain.len() <= 512 && plain[2] & 0x02 != 0,
        "TC without EDNS"
    );
    let edns = ask(&query(1, "many", wire::TYPE_A, Some(4096)));
    assert_eq!(counts(&edns)[1], 60, "all fit in 1232 bytes");
    assert_eq!(edns[2] & 0x02, 0);
    let tcp = reply(decide(
        &query(1, "many", wire::TYPE_A, None),
        "a",
        &Fixed,
        true,
        0,
    ));
    assert_eq!(counts(&tcp)[1], 60);
}

#[test]
fn servfail_echoes_the_question() {
    let q = query(5, "example.com", wire::TYPE_A, None);
    let r = failure(&q, wire::RCODE_SERVFAIL, false).unwrap();
    assert_eq!(&r[..4], &[0, 5, 0x81, 0x82]);
    assert_eq!(&r[12..], &q[12..]);
    assert_eq!(failure(&[0; 4], wire::RCODE_SERVFAIL, false), None);
    let mut checking_disabled = q.clone();
    checking_disabled[3] |= 0x10;
    let r = failure(&checking_disabled, wire::RCODE_REFUSED, false).unwrap();
    assert_eq!(&r[2..4], &[0x81, 0x95], "RD and CD echoed, RA, REFUSED");
}

#[test]
fn names_and_reverse_names() {
    assert_eq!(
        name_text(&[b"My-App".to_vec(), b"Net".to_vec()]).as_deref(),
        Some("my-app.net")
    );
    assert_eq!(name_text(&[b"a.b".to_vec()]), None);
    assert_eq!(name_text(&[b"a b".to_vec()]), None);
    assert_eq!(name_text(&[]), None);
    assert_eq!(
        reverse_address("4.3.2.1.in-addr.arpa"),
        Some(Ipv4Addr::new(1, 2, 3, 4))
    );
    for bad in [
        "3.2.1.in-addr.arpa",
        "256.3.2.1.in-addr.arpa",
        "+4.3.2.1.in-addr.arpa",
        "5.4.3.2.1.in-addr.arpa",
    ] {
        assert_eq!(reverse_address(bad), None, "{bad}");
    }
    assert_eq!(wire::encode_name("a..b."), b"\x01a\x01b\x00");
}

#[test]
fn encoded_replies_parse_back() {
    let q = Query {
        id: 1,
        flags: 0,
        labels: vec![b"x".to_vec()],
        qtype: 1,
        qclass: 1,
        edns_size: None,
    };
    let r = wire::encode_reply(&q, 0, &[Rdata::A(Ipv4Addr::LOCALHOST)], 512);
    let mut as_query = r.clone();
    as_query[2] &= 0x7F;
    as_query[6..8].copy_from_slice(&[0, 0]);
    let back = parse_query(&as_query[..r.len() - 16]).unwrap();
    assert_eq!(back.labels, q.labels);
}

#[test]
fn resolv_conf_nameservers() {
    let text = "# generated\nsearch example.com\nnameserver 127.0.0.53\nnameserver  10.0.0.1 \n\
                nameserver fe80::1%eth0\nnameserver ::1\nnameserver 10.0.0.1\nnameserver\n; x\n";
    let got: Vec<String> = upstreams_from_resolv_conf(text)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(got, ["127.0.0.53:53", "10.0.0.1:53", "[::1]:53"]);
}

#[test]
fn several_addresses_take_turns() {
    let q = query(1, "many", wire::TYPE_A, Some(1232));
    let first = |turn| {
        let r = reply(decide(&q, "a", &Fixed, false, turn));
        let answer = 12 + 6 + 4;
        r[answer + 12..answer + 16].to_vec()
    };
    assert_eq!(first(0), [10, 0, 0, 0]);
    assert_eq!(first(1), [10, 0, 0, 1]);
    assert_eq!(first(61), [10, 0, 0, 1]);
}
