//! Host port reservation on the real kernel, each test in a network
//! namespace of its own (the test thread unshares one; it goes away with
//! the thread), so the host's ports play no part.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::process::Command;

use wharf_net::ports::{self, PortError, PortSpec, Proto};

/// Moves the calling thread into a fresh network namespace with `lo` up.
fn scratch_netns() {
    wharf_sys::process::unshare(libc::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
    let st = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(st.success(), "ip link set lo up");
}

fn spec(proto: Proto, host_ip: Option<[u8; 4]>, host_port: u16) -> PortSpec {
    PortSpec {
        proto,
        host_ip: host_ip.map(Ipv4Addr::from),
        host_port,
        container_port: 80,
    }
}

#[test]
fn second_reserve_of_a_port_is_dockers_error() {
    scratch_netns();
    let any = (40000, 40100);
    let (port, first) = ports::reserve(&spec(Proto::Tcp, None, 8080), any).unwrap();
    assert_eq!(port, 8080);
    assert_eq!(first.ip(), Ipv4Addr::UNSPECIFIED);
    let e = ports::reserve(&spec(Proto::Tcp, None, 8080), any).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Bind for 0.0.0.0:8080 failed: port is already allocated"
    );
    let (_, _udp) =
        ports::reserve(&spec(Proto::Udp, None, 8080), any).expect("udp is another port");
    let (_, _lo) = ports::reserve(&spec(Proto::Tcp, Some([127, 0, 0, 1]), 8081), any).unwrap();
    let e = ports::reserve(&spec(Proto::Tcp, Some([127, 0, 0, 1]), 8081), any).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Bind for 127.0.0.1:8081 failed: port is already allocated"
    );
    drop(first);
    let (port, _again) = ports::reserve(&spec(Proto::Tcp, None, 8080), any).expect("freed on drop");
    assert_eq!(port, 8080);
}

#[test]
fn held_port_is_refused_to_other_sockets() {
    scratch_netns();
    let (_, tcp) = ports::reserve(&spec(Proto::Tcp, None, 9000), (1, 2)).unwrap();
    let (_, udp) = ports::reserve(&spec(Proto::Udp, None, 9001), (1, 2)).unwrap();
    // std's TcpListener sets SO_REUSEADDR: still refused, the port has a
    // listener.
    for addr in ["0.0.0.0:9000", "127.0.0.1:9000"] {
        let e = TcpListener::bind(addr).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse, "{addr}");
    }
    let e = UdpSocket::bind("127.0.0.1:9001").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    drop((tcp, udp));
    TcpListener::bind("0.0.0.0:9000").expect("free once dropped");
    UdpSocket::bind("0.0.0.0:9001").expect("free once dropped");
}

#[test]
fn port_held_elsewhere_is_the_kernels_error() {
    scratch_netns();
    let _other = TcpListener::bind("0.0.0.0:9100").unwrap();
    let e = ports::reserve(&spec(Proto::Tcp, None, 9100), (1, 2)).unwrap_err();
    assert_eq!(e.to_string(), "failed to bind host port 0.0.0.0:9100/tcp");
    let PortError::Bind { source, .. } = e else {
        panic!("not a bind error: {e:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn any_port_walks_the_range_after_a_cursor() {
    scratch_netns();
    let range = (41000, 41004);
    let lo = Some([127, 0, 0, 1]);
    let take = |proto| ports::reserve(&spec(proto, lo, 0), range);
    let (p0, r0) = take(Proto::Tcp).unwrap();
    let (u0, _u0) = take(Proto::Udp).unwrap();
    assert_eq!(
        (p0, u0),
        (41000, 41000),
        "the range's start, for tcp and udp alike"
    );
    let (p1, _r1) = take(Proto::Tcp).unwrap();
    assert_eq!(p1, 41001);
    drop(r0);
    let (p2, _r2) = take(Proto::Tcp).unwrap();
    assert_eq!(p2, 41002, "a port just freed is not reused at once");
    let (p3, _r3) = take(Proto::Tcp).unwrap();
    let (p4, _r4) = take(Proto::Tcp).unwrap();
    assert_eq!((p3, p4), (41003, 41004));
    let (p5, _r5) = take(Proto::Tcp).unwrap();
    assert_eq!(p5, 41000, "wraps to the start");
    let e = take(Proto::Tcp).unwrap_err();
    assert!(matches!(e, PortError::Exhausted), "{e:?}");
    assert_eq!(e.to_string(), "all ports are allocated");
}

#[test]
fn any_port_skips_ports_held_elsewhere() {
    scratch_netns();
    let _a = TcpListener::bind("127.0.0.2:42000").unwrap();
    let _b = TcpListener::bind("0.0.0.0:42001").unwrap();
    let (p, r) =
        ports::reserve(&spec(Proto::Tcp, Some([127, 0, 0, 2]), 0), (42000, 42010)).unwrap();
    assert_eq!(p, 42002);
    assert_eq!(r.port(), 42002);
    assert_eq!(r.proto(), Proto::Tcp);
}

#[test]
fn any_port_gives_up_after_ten_busy_ports() {
    scratch_netns();
    let _held: Vec<TcpListener> = (43000..43012)
        .map(|p| TcpListener::bind(("0.0.0.0", p)).unwrap())
        .collect();
    let e = ports::reserve(&spec(Proto::Tcp, None, 0), (43000, 43020)).unwrap_err();
    assert_eq!(e.to_string(), "failed to bind host port 0.0.0.0:43009/tcp");
}

#[test]
fn local_range_is_this_namespaces() {
    scratch_netns();
    std::fs::write("/proc/sys/net/ipv4/ip_local_port_range", "40000 40100").unwrap();
    assert_eq!(ports::ip_local_port_range().unwrap(), (40000, 40100));
}

#[test]
fn bad_range_is_refused() {
    let e = ports::reserve(&spec(Proto::Tcp, None, 0), (5, 4)).unwrap_err();
    assert_eq!(e.to_string(), "invalid port range 5-4");
}
