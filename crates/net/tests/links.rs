//! Root tests on the real kernel: network namespaces kept as files, and the
//! bridge and veth links of a container's network. Every test works inside
//! scratch namespaces it makes itself, under unique names, and removes them
//! (and their mounts) even when it fails.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wharf_net::link::{
    attach, delete_link, detach, ensure_bridge, link_exists, link_state, mac_from_ip, Attachment,
    LinkError,
};
use wharf_net::netns::{NetNs, NetnsError};

/// A temporary directory for namespace files; on drop it removes every
/// namespace file in it and the private bind mount `NetNs::create` made of it.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let _ = NetNs::remove(&entry.path());
            }
        }
        let _ = wharf_sys::mount::unmount(self.dir.path(), true);
    }
}

/// Mount points of the calling process that are `path` or under it.
fn mounts_under(path: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let path = path.to_str().expect("utf-8 path");
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|mp| mp.starts_with(path))
        .map(str::to_owned)
        .collect()
}

/// The inode of the calling thread's network namespace.
fn thread_netns() -> u64 {
    fs::metadata("/proc/thread-self/ns/net")
        .expect("ns file")
        .ino()
}

#[test]
fn netns_create_run_remove_leaves_nothing() {
    let scratch = Scratch::new();
    let path = scratch.path("ns1");
    let ns = NetNs::create(&path).expect("create");
    assert_eq!(ns.path(), path);
    assert_eq!(mounts_under(&path), vec![path.display().to_string()]);

    let before = thread_netns();
    let file_ino = fs::metadata(&path).expect("ns file").ino();
    let (inside, echoed) = ns
        .run(|| {
            // lo is up: a loopback connection works inside.
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
            let (mut server, _) = listener.accept().expect("accept");
            client.write_all(b"ping").unwrap();
            let mut buf = [0u8; 4];
            server.read_exact(&mut buf).unwrap();
            (thread_netns(), buf)
        })
        .expect("run");
    assert_eq!(&echoed, b"ping");
    assert_eq!(inside, file_ino, "run's thread is in the namespace");
    assert_ne!(inside, before);
    assert_eq!(thread_netns(), before, "the caller did not move");

    let reopened = NetNs::open(&path).expect("open");
    assert_eq!(reopened.run(thread_netns).expect("run"), file_ino);
    drop((ns, reopened));

    NetNs::remove(&path).expect("remove");
    assert!(!path.exists());
    assert!(mounts_under(&path).is_empty(), "{:?}", mounts_under(&path));
    NetNs::remove(&path).expect("a second remove is fine");
}

#[test]
fn netns_create_on_existing_file_keeps_it() {
    let scratch = Scratch::new();
    let path = scratch.path("taken");
    fs::write(&path, "mine").unwrap();
    let err = NetNs::create(&path).expect_err("the file exists");
    assert!(matches!(err, NetnsError::Create { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
    assert!(mounts_under(&path).is_empty());
}

#[test]
fn netns_open_refuses_a_plain_file() {
    let scratch = Scratch::new();
    let path = scratch.path("plain");
    fs::write(&path, "").unwrap();
    let err = NetNs::open(&path).expect_err("not a namespace");
    assert!(matches!(err, NetnsError::NotNamespace { .. }), "{err:?}");
    let err = NetNs::open(&scratch.path("missing")).expect_err("missing");
    assert!(matches!(err, NetnsError::Open { .. }), "{err:?}");
}

#[test]
fn netns_dir_is_a_private_mount() {
    let scratch = Scratch::new();
    let _ns = NetNs::create(&scratch.path("a")).expect("create");
    let _ns2 = NetNs::create(&scratch.path("b")).expect("create");
    let dir = scratch.dir.path().to_str().unwrap().to_owned();
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(dir.as_str()))
        .collect();
    assert_eq!(lines.len(), 1, "one bind of the directory: {lines:?}");
    let optional: Vec<&str> = lines[0]
        .split(" - ")
        .next()
        .unwrap()
        .split(' ')
        .skip(6)
        .collect();
    assert!(
        !optional
            .iter()
            .any(|o| o.starts_with("shared:") || o.starts_with("master:")),
        "private: {optional:?}"
    );
}

/// A test's world: a "host" namespace (where the bridge lives) and
/// container namespaces, all under one scratch directory; names carry the
/// test process's pid.
struct World {
    host: NetNs,
    scratch: Scratch,
    tag: String,
}

impl World {
    fn new() -> World {
        let scratch = Scratch::new();
        let host = NetNs::create(&scratch.path("host")).expect("host ns");
        World {
            host,
            scratch,
            tag: format!("{:x}", std::process::id() & 0xff_ffff),
        }
    }

    fn container(&self, name: &str) -> NetNs {
        NetNs::create(&self.scratch.path(name)).expect("container ns")
    }

    /// A link name unique to this test process (at most 15 bytes).
    fn name(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.tag)
    }

    /// Runs `f` in the host namespace.
    fn host<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.host.run(f).expect("run in host ns")
    }
}

const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);

fn attachment(w: &World, host_ifname: &str, address: Ipv4Addr) -> Attachment {
    Attachment {
        bridge: w.name("wbr"),
        host_ifname: host_ifname.to_owned(),
        ifname: "eth0".to_owned(),
        address,
        prefix_len: 24,
        gateway: Some(GATEWAY),
        mac: mac_from_ip(address),
        mtu: Some(1450),
    }
}

/// Connects to `to` (the hang guard is not a pass/fail time), sends
/// `ping`, and returns the accepted side's peer address and what it read.
fn exchange(listener: &TcpListener, connect: impl FnOnce() -> TcpStream) -> (Ipv4Addr, Vec<u8>) {
    let mut client = connect();
    client.write_all(b"ping").unwrap();
    let (mut server, peer) = listener.accept().expect("accept");
    let mut buf = vec![0u8; 4];
    server.read_exact(&mut buf).expect("read");
    let std::net::IpAddr::V4(peer) = peer.ip() else {
        panic!("ipv6 peer {peer}")
    };
    (peer, buf)
}

fn connect(to: std::net::SocketAddr) -> TcpStream {
    TcpStream::connect_timeout(&to, std::time::Duration::from_secs(20)).expect("connect")
}

/// The gateway of the default route in the calling thread's namespace.
fn default_gateway() -> Option<Ipv4Addr> {
    let text = fs::read_to_string("/proc/thread-self/net/route").expect("route");
    text.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.get(1) == Some(&"00000000") && f.get(7) == Some(&"00000000"))
            .then(|| u32::from_str_radix(f[2], 16).ok())
            .flatten()
            .map(|gw| Ipv4Addr::from(gw.swap_bytes()))
    })
}

#[test]
fn bridge_is_created_addressed_and_up_once() {
    let w = World::new();
    let br = w.name("wbr");
    let (first, second, state, localnet) = w.host(|| {
        let first = ensure_bridge(&br, GATEWAY, 24, Some(1400)).expect("bridge");
        let second = ensure_bridge(&br, GATEWAY, 24, None).expect("again");
        let state = link_state(&br).expect("state").expect("exists");
        let localnet =
            fs::read_to_string(format!("/proc/sys/net/ipv4/conf/{br}/route_localnet")).unwrap();
        (first, second, state, localnet)
    });
    assert_eq!(first, second);
    assert_eq!(state.index, first);
    assert!(state.up);
    assert_eq!(state.mtu, Some(1400));
    assert_eq!(state.addresses, vec![(GATEWAY, 24)], "one address, not two");
    assert_eq!(localnet.trim(), "1");
    assert!(
        !link_exists(&br),
        "the bridge is in the scratch namespace only"
    );

    w.host(|| {
        delete_link(&br).expect("delete");
        assert!(!link_exists(&br));
        delete_link(&br).expect("a missing link is fine");
    });
}

#[test]
fn attach_configures_the_container_and_traffic_flows_both_ways() {
    let w = World::new();
    let ctr = w.container("ctr");
    let address = Ipv4Addr::new(10, 77, 0, 2);
    let veth = w.name("vt");
    let a = attachment(&w, &veth, address);
    let bridge = w.host(|| ensure_bridge(&a.bridge, GATEWAY, 24, None).expect("bridge"));
    w.host(|| attach(&ctr, &a).expect("attach"));

    let host_end = w
        .host(|| link_state(&veth).expect("state"))
        .expect("host end");
    assert!(host_end.up);
    assert_eq!(host_end.controller, Some(bridge));
    assert!(host_end.hairpin);
    assert_eq!(host_end.mtu, Some(1450));
    assert!(
        !w.host(|| link_exists("eth0")),
        "the peer never lives in the host ns"
    );

    let (inside, gateway) = ctr
        .run(|| (link_state("eth0").expect("state"), default_gateway()))
        .expect("run");
    let inside = inside.expect("eth0 inside");
    assert!(inside.up);
    assert_eq!(inside.mac, Some(mac_from_ip(address)));
    assert_eq!(inside.addresses, vec![(address, 24)]);
    assert_eq!(inside.mtu, Some(1450));
    assert_eq!(inside.controller, None);
    assert_eq!(gateway, Some(GATEWAY));

    // Host → container: a listener made inside the container's namespace
    // (a socket keeps the namespace it was made in).
    let listener = ctr
        .run(|| TcpListener::bind((address, 0)).expect("bind inside"))
        .expect("run");
    let to = listener.local_addr().unwrap();
    let (peer, got) = exchange(&listener, || w.host(|| connect(to)));
    assert_eq!((peer, got.as_slice()), (GATEWAY, &b"ping"[..]));

    // Container → host, to the gateway address.
    let listener = w.host(|| TcpListener::bind((GATEWAY, 0)).expect("bind on host"));
    let to = listener.local_addr().unwrap();
    let (peer, got) = exchange(&listener, || ctr.run(|| connect(to)).expect("run"));
    assert_eq!((peer, got.as_slice()), (address, &b"ping"[..]));

    w.host(|| detach(&veth).expect("detach"));
    assert!(!w.host(|| link_exists(&veth)));
    assert!(
        !ctr.run(|| link_exists("eth0")).expect("run"),
        "the peer went too"
    );
    w.host(|| detach(&veth).expect("a missing link is fine"));
}

#[test]
fn attach_failures_leave_nothing_behind() {
    let w = World::new();
    let first = w.container("first");
    let second = w.container("second");
    let veth = w.name("vt");
    let a = attachment(&w, &veth, Ipv4Addr::new(10, 77, 0, 2));
    let eth0_in = |ns: &NetNs| ns.run(|| link_exists("eth0")).expect("run");

    // No bridge yet.
    let err = w.host(|| attach(&first, &a)).expect_err("no bridge");
    assert!(
        matches!(&err, LinkError::NotFound { name } if *name == a.bridge),
        "{err:?}"
    );
    assert!(!w.host(|| link_exists(&veth)));
    assert!(!eth0_in(&first));

    // A failure after the pair exists: a gateway outside the subnet.
    w.host(|| ensure_bridge(&a.bridge, GATEWAY, 24, None).expect("bridge"));
    let bad = Attachment {
        gateway: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..a.clone()
    };
    let err = w
        .host(|| attach(&first, &bad))
        .expect_err("unreachable gateway");
    assert!(
        matches!(&err, LinkError::Netlink { name, .. } if name == "eth0"),
        "{err:?}"
    );
    assert!(!w.host(|| link_exists(&veth)), "the host end was deleted");
    assert!(!eth0_in(&first), "and its peer with it");

    // A host name in use: the existing link is left alone.
    w.host(|| attach(&first, &a).expect("attach"));
    let err = w
        .host(|| attach(&second, &a))
        .expect_err("duplicate host name");
    assert!(
        matches!(&err, LinkError::Exists { name } if *name == veth),
        "{err:?}"
    );
    assert!(w.host(|| link_exists(&veth)), "the first attachment stays");
    assert!(!eth0_in(&second));

    // The container's name in use inside: nothing new on the host.
    let other = Attachment {
        host_ifname: w.name("vu"),
        ..a.clone()
    };
    let err = w.host(|| attach(&first, &other)).expect_err("eth0 taken");
    assert!(
        matches!(&err, LinkError::Exists { name } if name == "eth0"),
        "{err:?}"
    );
    assert!(!w.host(|| link_exists(&other.host_ifname)));

    // A link that is no bridge.
    let err = w
        .host(|| ensure_bridge(&veth, GATEWAY, 24, None))
        .expect_err("a veth");
    assert!(matches!(err, LinkError::NotBridge { .. }), "{err:?}");
}

#[test]
fn two_containers_on_one_bridge_reach_each_other_without_a_gateway() {
    let w = World::new();
    let (one, two) = (w.container("one"), w.container("two"));
    let ip1 = Ipv4Addr::new(10, 77, 0, 2);
    let ip2 = Ipv4Addr::new(10, 77, 0, 3);
    let a1 = Attachment {
        gateway: None,
        ..attachment(&w, &w.name("va"), ip1)
    };
    let a2 = Attachment {
        gateway: None,
        ..attachment(&w, &w.name("vb"), ip2)
    };
    w.host(|| {
        ensure_bridge(&a1.bridge, GATEWAY, 24, None).expect("bridge");
        attach(&one, &a1).expect("attach one");
        attach(&two, &a2).expect("attach two");
    });
    assert_eq!(
        two.run(default_gateway).expect("run"),
        None,
        "internal: no default route"
    );

    let listener = one
        .run(|| TcpListener::bind((ip1, 0)).expect("bind"))
        .expect("run");
    let to = listener.local_addr().unwrap();
    let (peer, got) = exchange(&listener, || two.run(|| connect(to)).expect("run"));
    assert_eq!((peer, got.as_slice()), (ip2, &b"ping"[..]));

    w.host(|| {
        detach(&a1.host_ifname).expect("detach one");
        assert!(link_exists(&a2.host_ifname), "the other attachment stays");
    });
}
