//! Root tests of the embedded DNS server on the real kernel: each test
//! makes a scratch network namespace, starts the server on 127.0.0.11:53
//! inside it, and asks from inside (std sockets on a thread in the
//! namespace, and busybox's nslookup under nsenter). Upstream servers are
//! fakes on 127.0.0.1 in the test's own namespace.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;
use wharf_net::dns::{wire, DnsServer, Names, DNS_ADDR};
use wharf_net::netns::NetNs;

/// Hang guard of every client read (the server's own upstream timeout is 3 s).
const READ_GUARD: Duration = Duration::from_secs(20);

/// A scratch namespace in a temporary directory; dropped, it removes the
/// namespace file and the private mount `NetNs::create` made of the directory.
struct Scratch {
    dir: tempfile::TempDir,
    ns: NetNs,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = NetNs::create(&dir.path().join("ns")).expect("create netns");
        Scratch { dir, ns }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("ns")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = NetNs::remove(&self.path());
        let _ = wharf_sys::mount::unmount(self.dir.path(), true);
    }
}

/// Container "alpha" (10.77.0.3) on network "usernet", seen only by "a".
struct TestNames;

impl Names for TestNames {
    fn lookup(&self, asker: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        (asker == "a" && name == "alpha").then(|| vec![Ipv4Addr::new(10, 77, 0, 3)])
    }

    fn reverse(&self, asker: &str, ip: Ipv4Addr) -> Option<String> {
        (asker == "a" && ip == Ipv4Addr::new(10, 77, 0, 3)).then(|| "alpha.usernet".to_string())
    }
}

/// A runtime, a scratch namespace and a server in it, for `asker`.
fn serving(asker: &str, upstreams: Vec<SocketAddr>) -> (Runtime, Scratch, DnsServer) {
    let rt = Runtime::new().expect("runtime");
    let scratch = Scratch::new();
    let server = start(&rt, &scratch, asker, upstreams);
    (rt, scratch, server)
}

fn start(rt: &Runtime, scratch: &Scratch, asker: &str, upstreams: Vec<SocketAddr>) -> DnsServer {
    let _entered = rt.enter();
    DnsServer::start(
        &scratch.ns,
        asker.to_string(),
        Arc::new(TestNames),
        upstreams,
    )
    .expect("start dns server")
}

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&wire::encode_name(name));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&wire::CLASS_IN.to_be_bytes());
    m
}

/// A reply's id, response code and answers (type, TTL, data).
#[derive(Debug)]
struct Reply {
    id: u16,
    rcode: u8,
    answers: Vec<(u16, u32, Vec<u8>)>,
}

fn parse_reply(msg: &[u8]) -> Reply {
    assert!(
        msg.len() >= 12 && msg[2] & 0x80 != 0,
        "not a reply: {msg:?}"
    );
    let be = |i: usize| u16::from_be_bytes([msg[i], msg[i + 1]]);
    let mut pos = wire::read_name(msg, 12).expect("question").1 + 4;
    let mut answers = Vec::new();
    for _ in 0..be(6) {
        pos = wire::read_name(msg, pos).expect("answer name").1;
        let ttl = u32::from_be_bytes(msg[pos + 4..pos + 8].try_into().unwrap());
        let len = usize::from(be(pos + 8));
        answers.push((be(pos), ttl, msg[pos + 10..pos + 10 + len].to_vec()));
        pos += 10 + len;
    }
    Reply {
        id: be(0),
        rcode: msg[3] & 0xF,
        answers,
    }
}

/// Sends `msg` over UDP from inside the namespace, returns the reply.
fn ask_udp(ns: &NetNs, msg: &[u8]) -> Reply {
    let raw = ns
        .run(|| {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind client");
            socket.set_read_timeout(Some(READ_GUARD)).unwrap();
            socket.send_to(msg, (DNS_ADDR, 53)).expect("send");
            let mut buf = vec![0; 65535];
            let n = socket.recv(&mut buf).expect("reply over udp");
            buf.truncate(n);
            buf
        })
        .expect("run in netns");
    parse_reply(&raw)
}

/// Sends `msg` over TCP from inside the namespace, returns the reply.
fn ask_tcp(ns: &NetNs, msg: &[u8]) -> Reply {
    ask_tcp_all(ns, &[msg]).remove(0)
}

/// Sends all `msgs` at once on one TCP connection, returns the replies.
fn ask_tcp_all(ns: &NetNs, msgs: &[&[u8]]) -> Vec<Reply> {
    let raw = ns
        .run(|| {
            let mut stream = TcpStream::connect((DNS_ADDR, 53)).expect("connect");
            stream.set_read_timeout(Some(READ_GUARD)).unwrap();
            let mut framed = Vec::new();
            for msg in msgs {
                framed.extend_from_slice(&(msg.len() as u16).to_be_bytes());
                framed.extend_from_slice(msg);
            }
            stream.write_all(&framed).unwrap();
            let mut replies = Vec::new();
            for _ in msgs {
                let mut len = [0; 2];
                stream.read_exact(&mut len).expect("reply length");
                let mut buf = vec![0; usize::from(u16::from_be_bytes(len))];
                stream.read_exact(&mut buf).expect("reply over tcp");
                replies.push(buf);
            }
            replies
        })
        .expect("run in netns");
    raw.iter().map(|r| parse_reply(r)).collect()
}

#[test]
fn answers_container_names_over_udp_and_tcp() {
    let (rt, scratch, server) = serving("a", Vec::new());
    let alpha = (wire::TYPE_A, 600, vec![10, 77, 0, 3]);

    for name in ["alpha", "ALPHA.", "Alpha"] {
        let r = ask_udp(&scratch.ns, &query(11, name, wire::TYPE_A));
        assert_eq!(
            (r.id, r.rcode, r.answers),
            (11, 0, vec![alpha.clone()]),
            "{name}"
        );
    }
    let (q1, q2) = (
        query(12, "alpha", wire::TYPE_A),
        query(15, "alpha.", wire::TYPE_A),
    );
    let replies = ask_tcp_all(&scratch.ns, &[&q1, &q2]);
    let got: Vec<_> = replies
        .into_iter()
        .map(|r| (r.id, r.rcode, r.answers))
        .collect();
    assert_eq!(
        got,
        [(12, 0, vec![alpha.clone()]), (15, 0, vec![alpha])],
        "two queries, one connection"
    );

    let r = ask_udp(&scratch.ns, &query(13, "alpha", wire::TYPE_AAAA));
    assert_eq!(
        (r.rcode, r.answers.len()),
        (0, 0),
        "AAAA: NOERROR, no answers"
    );

    let r = ask_udp(
        &scratch.ns,
        &query(14, "3.0.77.10.in-addr.arpa", wire::TYPE_PTR),
    );
    let name = wire::encode_name("alpha.usernet");
    assert_eq!((r.rcode, r.answers), (0, vec![(wire::TYPE_PTR, 600, name)]));
    rt.block_on(server.stop());
}

#[test]
fn busybox_nslookup_inside_the_namespace() {
    let (rt, scratch, server) = serving("a", Vec::new());
    let nslookup = |arg: &str| {
        let out = Command::new("nsenter")
            .arg(format!("--net={}", scratch.path().display()))
            .args(["busybox", "nslookup", arg, "127.0.0.11"])
            .output()
            .expect("run nsenter busybox nslookup");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let out = nslookup("alpha");
    assert!(out.contains("Name:\talpha\nAddress: 10.77.0.3"), "{out}");
    let out = nslookup("10.77.0.3");
    assert!(out.contains("name = alpha.usernet"), "{out}");
    rt.block_on(server.stop());
}

/// A fake upstream on 127.0.0.1 (the test's namespace) answering one UDP
/// or TCP query with 192.0.2.1 and `rcode`; hands back the query it received.
fn fake_upstream(udp: bool, rcode: u8) -> (SocketAddr, std::thread::JoinHandle<Vec<u8>>) {
    let answer = move |q: &[u8]| {
        let mut r = q.to_vec();
        r[2] |= 0x80;
        r[3] = 0x80 | rcode;
        r[7] = 1;
        r.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 192, 0, 2, 1]);
        r
    };
    if udp {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket.set_read_timeout(Some(READ_GUARD)).unwrap();
        let addr = socket.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let mut buf = vec![0; 4096];
            let (n, peer) = socket.recv_from(&mut buf).expect("upstream query");
            socket.send_to(&answer(&buf[..n]), peer).unwrap();
            buf[..n].to_vec()
        });
        return (addr, handle);
    }
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("upstream connection");
        stream.set_read_timeout(Some(READ_GUARD)).unwrap();
        let mut len = [0; 2];
        stream.read_exact(&mut len).unwrap();
        let mut q = vec![0; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut q).unwrap();
        let r = answer(&q);
        let mut framed = (r.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&r);
        stream.write_all(&framed).unwrap();
        q
    });
    (addr, handle)
}

#[test]
fn other_names_are_forwarded_verbatim() {
    let rt = Runtime::new().unwrap();
    let scratch = Scratch::new();
    let upstream = (wire::TYPE_A, 30, vec![192, 0, 2, 1]);

    // A name of no container, over UDP; the first upstream fails (SERVFAIL),
    // so the second is asked, as Docker does.
    let (failing, first) = fake_upstream(true, 2);
    let (addr, second) = fake_upstream(true, 0);
    let server = start(&rt, &scratch, "a", vec![failing, addr]);
    let q = query(21, "example.com", wire::TYPE_A);
    let r = ask_udp(&scratch.ns, &q);
    assert_eq!((r.id, r.rcode, r.answers), (21, 0, vec![upstream.clone()]));
    assert_eq!(first.join().unwrap(), q, "forwarded verbatim");
    assert_eq!(second.join().unwrap(), q);
    rt.block_on(server.stop());

    // A container the asker shares no network with: forwarded, not answered.
    let (addr, fake) = fake_upstream(false, 0);
    let server = start(&rt, &scratch, "b", vec![addr]);
    let q = query(22, "alpha", wire::TYPE_A);
    let r = ask_tcp(&scratch.ns, &q);
    assert_eq!((r.id, r.answers), (22, vec![upstream]));
    assert_eq!(fake.join().unwrap(), q);
    rt.block_on(server.stop());
}

#[test]
fn servfail_when_no_upstream_answers() {
    let rt = Runtime::new().unwrap();
    let scratch = Scratch::new();
    // Bound but silent: the server waits its timeout, then fails.
    let silent = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let server = start(&rt, &scratch, "a", vec![silent.local_addr().unwrap()]);
    let r = ask_udp(&scratch.ns, &query(31, "example.com", wire::TYPE_A));
    assert_eq!((r.id, r.rcode, r.answers.len()), (31, 2, 0));
    let mut buf = [0; 512];
    silent.set_nonblocking(true).unwrap();
    assert!(
        silent.recv(&mut buf).is_ok(),
        "the query reached the silent upstream"
    );
    rt.block_on(server.stop());

    let server = start(&rt, &scratch, "a", Vec::new());
    let r = ask_tcp(&scratch.ns, &query(32, "example.com", wire::TYPE_A));
    assert_eq!((r.id, r.rcode), (32, 2), "no upstream at all");
    rt.block_on(server.stop());
}

#[test]
fn garbage_is_survived() {
    let (rt, scratch, server) = serving("a", Vec::new());
    scratch
        .ns
        .run(|| {
            let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
            for junk in [
                &[][..],
                &[1, 2, 3],
                &[0xFF; 12],
                &[0; 600],
                &query(1, "a", 1)[..15],
            ] {
                socket.send_to(junk, (DNS_ADDR, 53)).unwrap();
            }
            // A compression loop in the question: FORMERR.
            let looped = [0, 9, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
            socket.send_to(&looped, (DNS_ADDR, 53)).unwrap();
            // A TCP length prefix beyond the query cap: the connection is closed.
            let mut stream = TcpStream::connect((DNS_ADDR, 53)).unwrap();
            stream.set_read_timeout(Some(READ_GUARD)).unwrap();
            stream.write_all(&[0xFF, 0xFF, 0, 0]).unwrap();
            assert_eq!(stream.read(&mut [0; 2]).unwrap_or(0), 0, "closed");
        })
        .unwrap();
    let r = ask_udp(&scratch.ns, &query(41, "alpha", wire::TYPE_A));
    assert_eq!((r.id, r.answers.len()), (41, 1), "still serving");
    rt.block_on(server.stop());
}

#[test]
fn stopping_or_dropping_frees_the_address() {
    fn kept_by_the_engine<T: Send + Sync + 'static>() {}
    kept_by_the_engine::<DnsServer>();

    let (rt, scratch, server) = serving("a", Vec::new());
    let _entered = rt.enter();
    let again = DnsServer::start(&scratch.ns, "a".into(), Arc::new(TestNames), Vec::new());
    assert!(again.is_err(), "the address is taken while serving");
    rt.block_on(server.stop());
    let server = start(&rt, &scratch, "a", Vec::new());
    assert_eq!(
        ask_udp(&scratch.ns, &query(51, "alpha", 1)).answers.len(),
        1
    );

    // Dropping aborts the tasks; the runtime closes the sockets right after.
    drop(server);
    let guard = Instant::now() + READ_GUARD;
    let server = loop {
        match DnsServer::start(&scratch.ns, "a".into(), Arc::new(TestNames), Vec::new()) {
            Ok(server) => break server,
            Err(_) if Instant::now() < guard => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("address still taken after drop: {e}"),
        }
    };
    assert_eq!(
        ask_tcp(&scratch.ns, &query(52, "alpha", 1)).answers.len(),
        1
    );
    drop(server);
}
