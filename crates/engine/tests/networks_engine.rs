//! The engine's networks on the real kernel: each test moves its thread
//! into a network namespace of its own before its runtime starts, so the
//! engine's bridges, nftables table, published ports and veth pairs live
//! and die with the test process. Root only.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::process::Command;
use std::sync::Arc;

use support::{opts, until, Roots};
use wharf_engine::{
    CreateOptions, EndpointOptions, Engine, IpamPool, Kind, NetworkCreate, PortBinding, Status,
    WaitCondition,
};

/// Moves the calling thread into a new network namespace with `lo` up;
/// threads and processes it starts from now on share it.
fn private_netns() {
    wharf_sys::process::unshare(libc::CLONE_NEWNET).unwrap();
    let ok = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Roots whose engine has the default bridge.
fn roots() -> Roots {
    let mut roots = Roots::new();
    roots.config.network = wharf_engine::NetworkConfig::default();
    roots
}

/// Runs `f` on an engine of its own runtime; the runtime and the engine's
/// tasks are dropped after, as a killed daemon's.
fn daemon<T>(roots: &Roots, f: impl AsyncFnOnce(Arc<Engine>) -> T) -> T {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let out = rt.block_on(async {
        let engine = roots.open().await;
        f(engine).await
    });
    rt.shutdown_background();
    out
}

/// Options running `cmd` on `network`.
fn on(network: &str, name: &str, cmd: &[&str]) -> CreateOptions {
    let mut o = opts(Some(name), cmd);
    o.host.network_mode = network.into();
    o
}

/// A user network `name` on `subnet`.
fn user_net(name: &str, subnet: &str) -> NetworkCreate {
    NetworkCreate {
        name: name.into(),
        ipam: vec![IpamPool {
            subnet: subnet.into(),
            ..IpamPool::default()
        }],
        ..NetworkCreate::default()
    }
}

/// The interfaces enslaved to `bridge` (`ip -o link show master`).
fn ports_of(bridge: &str) -> Vec<String> {
    let out = Command::new("ip")
        .args(["-o", "link", "show", "master", bridge])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(": ").nth(1))
        .map(|n| n.split('@').next().unwrap_or(n).to_string())
        .collect()
}

/// The body of `GET path` on 127.0.0.1:`port`, once the server in the
/// container listens (a start does not wait for that; a minute is the
/// hang guard).
fn get(port: u16, path: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
            Ok(mut s) => {
                s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
                    .unwrap();
                let mut body = String::new();
                s.read_to_string(&mut body).unwrap();
                return body;
            }
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("127.0.0.1:{port} never answered: {e}"),
        }
    }
}

/// Waits until `bridge` has no port left (the engine deletes veth pairs
/// on a thread of its own; a minute is the hang guard).
fn until_no_ports(bridge: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ports_of(bridge).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "veths left: {:?}",
            ports_of(bridge)
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

async fn run(engine: &Arc<Engine>, o: CreateOptions) -> String {
    let c = engine.create(o).await.unwrap();
    engine.start(&c.id).await.unwrap();
    c.id
}

async fn exit_code(engine: &Arc<Engine>, id: &str) -> i32 {
    let w = engine.wait(id, WaitCondition::NotRunning).await.unwrap();
    w.result().await.unwrap().exit_code
}

#[test]
fn addresses_are_unique_across_restarts_and_freed_at_stop() {
    private_netns();
    let roots = roots();
    let (a, b, bridge) = daemon(&roots, async |engine| {
        let n = engine
            .network_create(user_net("un", "10.91.0.0/29"))
            .unwrap();
        let a = run(&engine, on("un", "ca", &["sleep", "1000"])).await;
        let b = run(&engine, on("un", "cb", &["sleep", "1000"])).await;
        let ip = |id: &str| {
            engine.container(id).unwrap().network.endpoints["un"]
                .ip_address
                .clone()
        };
        assert_eq!(ip(&a), "10.91.0.2");
        assert_eq!(ip(&b), "10.91.0.3");
        (a, b, n.bridge)
    });
    assert_eq!(ports_of(&bridge).len(), 2, "one veth per container");
    daemon(&roots, async |engine| {
        // Restored: both still connected; a new one gets neither address.
        for id in [&a, &b] {
            let c = engine.container(id).unwrap();
            assert_eq!(c.state.status, Status::Running);
            assert!(c.network.sandbox_key.exists());
        }
        let c = run(&engine, on("un", "cc", &["sleep", "1000"])).await;
        let ep = &engine.container(&c).unwrap().network.endpoints["un"];
        assert_eq!(ep.ip_address, "10.91.0.4");
        // A stop frees the address, the veth and the namespace.
        let key = engine.container(&a).unwrap().network.sandbox_key;
        engine.stop(&a, Some(0), None).await.unwrap();
        let stopped = engine.container(&a).unwrap();
        assert!(stopped.network.endpoints.is_empty() && stopped.network.ports.is_empty());
        assert_eq!(
            stopped.network.sandbox_key, key,
            "inspect keeps the last sandbox"
        );
        assert!(!key.exists(), "{} left", key.display());
        // Addresses are handed out in turn (Docker's serial allocation):
        // the freed .2 comes back once the end of the /29 is reached.
        let mut more = Vec::new();
        for (name, want) in [
            ("cd", "10.91.0.5"),
            ("ce", "10.91.0.6"),
            ("cf", "10.91.0.2"),
        ] {
            let id = run(&engine, on("un", name, &["sleep", "1000"])).await;
            assert_eq!(
                engine.container(&id).unwrap().network.endpoints["un"].ip_address,
                want
            );
            more.push(id);
        }
        let e = engine
            .start(&engine.create(on("un", "full", &["true"])).await.unwrap().id)
            .await
            .unwrap_err();
        assert!(
            e.full_message().contains("no available IPv4 addresses"),
            "{}",
            e.full_message()
        );
        engine.remove("full", true, false).await.unwrap();
        for id in [&b, &c].into_iter().chain(&more) {
            engine.remove(id, true, false).await.unwrap();
        }
        engine.remove(&a, true, false).await.unwrap();
        until_no_ports(&bridge);
        engine.network_remove("un").unwrap();
    });
    let out = Command::new("ip")
        .args(["link", "show", &bridge])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "bridge {bridge} left after network rm"
    );
}

#[test]
fn a_published_port_reaches_the_container_and_a_taken_one_leaves_nothing() {
    private_netns();
    let roots = roots();
    daemon(&roots, async |engine| {
        let mut o = on("bridge", "web", &["httpd", "-f", "-p", "80", "-h", "/etc"]);
        o.host.port_bindings.insert(
            "80/tcp".into(),
            vec![PortBinding {
                host_ip: "127.0.0.1".into(),
                host_port: "18080".into(),
            }],
        );
        let web = run(&engine, o.clone()).await;
        let c = engine.container(&web).unwrap();
        assert_eq!(c.network.ports.len(), 1);
        assert_eq!(c.network.ports[0].host_port, 18080);
        let body = tokio::task::spawn_blocking(|| get(18080, "/hostname"))
            .await
            .unwrap();
        assert!(body.contains(&web[..12]), "{body}");

        // The same host port again: the start fails and leaves nothing.
        let bridge = engine.network("bridge").unwrap().bridge;
        let before = ports_of(&bridge);
        o.name = Some("web2".into());
        let c2 = engine.create(o).await.unwrap();
        let e = engine.start(&c2.id).await.unwrap_err();
        assert!(
            e.full_message()
                .contains("Bind for 127.0.0.1:18080 failed: port is already allocated"),
            "{}",
            e.full_message()
        );
        let c2 = engine.container(&c2.id).unwrap();
        assert!(c2.network.endpoints.is_empty() && c2.network.ports.is_empty());
        // Its veth pair goes away (on a thread of the engine's).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while ports_of(&bridge) != before {
            assert!(
                std::time::Instant::now() < deadline,
                "a veth of the failed start is left"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(!roots
            .config
            .exec_root
            .join("netns")
            .join(&c2.id[..12])
            .exists());
        // The next container gets the next address (the failed start's is
        // not handed out again at once).
        let next = run(&engine, on("bridge", "next", &["sleep", "100"])).await;
        let ip = engine.container(&next).unwrap().network.endpoints["bridge"]
            .ip_address
            .clone();
        assert!(ip.ends_with(".0.4"), "{ip}");
        // Removing the container frees its port.
        engine.remove(&web, true, false).await.unwrap();
        std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 18080)).unwrap();
        engine.remove(&next, true, false).await.unwrap();
    });
}

#[test]
fn containers_resolve_each_other_on_their_user_network_only() {
    private_netns();
    let roots = roots();
    daemon(&roots, async |engine| {
        engine
            .network_create(user_net("front", "10.92.0.0/24"))
            .unwrap();
        engine
            .network_create(user_net("back", "10.93.0.0/24"))
            .unwrap();
        let mut o = on("front", "api", &["sleep", "1000"]);
        o.networks.insert(
            "front".into(),
            EndpointOptions {
                aliases: vec!["svc".into()],
                ..EndpointOptions::default()
            },
        );
        let api = run(&engine, o).await;
        for name in ["api", "svc", &api[..12]] {
            let probe = run(
                &engine,
                on("front", &format!("p-{}", &name[..3]), &["nslookup", name]),
            )
            .await;
            assert_eq!(exit_code(&engine, &probe).await, 0, "{name} not resolved");
        }
        let stranger = run(&engine, on("back", "stranger", &["nslookup", "api"])).await;
        assert_ne!(
            exit_code(&engine, &stranger).await,
            0,
            "resolved across networks"
        );
        let ping = run(
            &engine,
            on("back", "pinger", &["ping", "-c1", "-W1", "10.92.0.2"]),
        )
        .await;
        assert_ne!(
            exit_code(&engine, &ping).await,
            0,
            "reached across networks"
        );

        // Connected live, it resolves and reaches api.
        let late = run(&engine, on("back", "late", &["sleep", "1000"])).await;
        engine
            .network_connect("front", &late, EndpointOptions::default())
            .await
            .unwrap();
        let c = engine.container(&late).unwrap();
        assert_eq!(c.network.endpoints["front"].ifname, "eth1");
        let e = engine
            .network_connect("front", &late, EndpointOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.kind, Kind::Forbidden);
        engine
            .network_disconnect("front", &late, false)
            .await
            .unwrap();
        assert!(!engine
            .container(&late)
            .unwrap()
            .network
            .endpoints
            .contains_key("front"));
        let e = engine.network_remove("front").unwrap_err();
        assert_eq!(e.kind, Kind::Forbidden, "{}", e.message);
        for c in engine.containers(true).unwrap() {
            engine.remove(&c.id, true, false).await.unwrap();
        }
        engine.network_remove("front").unwrap();
        engine.network_remove("back").unwrap();
    });
}

#[test]
fn bad_networks_are_refused_as_docker_refuses_them() {
    private_netns();
    let roots = roots();
    daemon(&roots, async |engine| {
        engine
            .network_create(user_net("one", "10.94.0.0/16"))
            .unwrap();
        let cases = [
            (
                user_net("two", "10.94.1.0/24"),
                Kind::Forbidden,
                "Pool overlaps with other one on this address space",
            ),
            (
                user_net("two", "10.300.0.0/16"),
                Kind::InvalidArgument,
                "invalid network config:\ninvalid subnet 10.300.0.0/16: invalid CIDR block notation",
            ),
            (
                user_net("one", "10.95.0.0/24"),
                Kind::Conflict,
                "network with name one already exists",
            ),
        ];
        for (req, kind, text) in cases {
            let e = engine.network_create(req).unwrap_err();
            assert_eq!(e.kind, kind, "{}", e.message);
            assert!(e.full_message().contains(text), "{}", e.full_message());
        }
        let mut outside = user_net("three", "10.96.0.0/24");
        outside.ipam[0].gateway = "10.97.0.1".into();
        let e = engine.network_create(outside).unwrap_err();
        assert!(
            e.message.contains("invalid gateway 10.97.0.1: parent subnet 10.96.0.0/24 doesn't contain this address"),
            "{}",
            e.message
        );
        let e = engine.network_remove("bridge").unwrap_err();
        assert_eq!(e.kind, Kind::Forbidden);
        let names: Vec<String> = engine
            .networks()
            .unwrap()
            .into_iter()
            .map(|n| n.name)
            .collect();
        assert_eq!(names, ["host", "none", "bridge", "one"]);

        // At create: an unknown network, --ip on the default bridge, an
        // address outside the subnet.
        let e = engine
            .create(on("nonet", "x1", &["true"]))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("network nonet not found"),
            "{}",
            e.message
        );
        let mut o = on("bridge", "x2", &["true"]);
        o.networks.insert(
            "bridge".into(),
            EndpointOptions {
                ipv4_address: Some("172.17.0.9".into()),
                ..EndpointOptions::default()
            },
        );
        let e = engine.create(o).await.unwrap_err();
        assert!(e
            .message
            .contains("user specified IP address is supported on user defined networks only"));
        let mut o = on("one", "x3", &["true"]);
        o.networks.insert(
            "one".into(),
            EndpointOptions {
                ipv4_address: Some("10.1.1.1".into()),
                ..EndpointOptions::default()
            },
        );
        let e = engine.create(o).await.unwrap_err();
        assert!(
            e.message.contains("Invalid address 10.1.1.1"),
            "{}",
            e.message
        );
        assert!(engine.containers(true).unwrap().is_empty());
        // A fixed address is granted once.
        let mut o = on("one", "fixed", &["sleep", "100"]);
        o.networks.insert(
            "one".into(),
            EndpointOptions {
                ipv4_address: Some("10.94.3.3".into()),
                ..EndpointOptions::default()
            },
        );
        let fixed = run(&engine, o.clone()).await;
        o.name = Some("fixed2".into());
        let c = engine.create(o).await.unwrap();
        let e = engine.start(&c.id).await.unwrap_err();
        assert!(
            e.message.contains("Address already in use"),
            "{}",
            e.message
        );
        until(&engine, &fixed, |c| c.state.status == Status::Running).await;
        engine.remove(&fixed, true, false).await.unwrap();
        engine.remove(&c.id, true, false).await.unwrap();
    });
}

#[test]
fn legacy_links_give_hosts_env_and_private_names() {
    private_netns();
    let roots = roots();
    daemon(&roots, async |engine| {
        let mut db = on("bridge", "db", &["sleep", "1000"]);
        db.exposed_ports = vec!["6379/tcp".into()];
        db.env = vec!["MODE=fast".into()];
        let db = run(&engine, db).await;
        let ip = engine.container(&db).unwrap().network.endpoints["bridge"]
            .ip_address
            .clone();
        let check = format!(
            "grep -q '^{ip}\tdata ' /etc/hosts && [ \"$DATA_PORT_6379_TCP_ADDR\" = {ip} ] \
             && [ \"$DATA_ENV_MODE\" = fast ] && [ \"$DATA_NAME\" = /web/data ]"
        );
        let mut web = on("bridge", "web", &["sh", "-c", &check]);
        web.host.links = vec!["db:data".into()];
        let web = run(&engine, web).await;
        assert_eq!(
            exit_code(&engine, &web).await,
            0,
            "link hosts line or env missing"
        );
        // A rename of the target keeps the link (Docker keeps links by name).
        let mut later = on(
            "bridge",
            "later",
            &["sh", "-c", &check.replace("/web/", "/later/")],
        );
        later.host.links = vec!["db:data".into()];
        let later = engine.create(later).await.unwrap().id;
        engine.rename("db", "database").unwrap();
        engine.start(&later).await.unwrap();
        assert_eq!(
            exit_code(&engine, &later).await,
            0,
            "the link lost its renamed target"
        );
        let mut bad = on("bridge", "bad", &["true"]);
        bad.host.links = vec!["nosuch:x".into()];
        let e = engine.create(bad).await.unwrap_err();
        assert!(
            e.message.contains("could not get container for nosuch"),
            "{}",
            e.message
        );

        // On a user network a link is a name only the linking container resolves.
        engine
            .network_create(user_net("ln", "10.98.0.0/24"))
            .unwrap();
        run(&engine, on("ln", "store", &["sleep", "1000"])).await;
        let mut asker = on("ln", "asker", &["nslookup", "vault"]);
        asker.host.links = vec!["store:vault".into()];
        let asker = run(&engine, asker).await;
        assert_eq!(
            exit_code(&engine, &asker).await,
            0,
            "the link alias did not resolve"
        );
        // A renamed container answers to its new name at once.
        engine.rename("store", "depot").unwrap();
        let renamed = run(&engine, on("ln", "renamed", &["nslookup", "depot"])).await;
        assert_eq!(
            exit_code(&engine, &renamed).await,
            0,
            "the new name did not resolve"
        );
        let other = run(&engine, on("ln", "other", &["nslookup", "vault"])).await;
        assert_ne!(
            exit_code(&engine, &other).await,
            0,
            "another container resolved the alias"
        );
        for c in engine.containers(true).unwrap() {
            engine.remove(&c.id, true, false).await.unwrap();
        }
    });
}
