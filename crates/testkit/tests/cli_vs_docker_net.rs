//! The `wharf` client's networking commands against the docker CLI 28,
//! both talking to the same daemon — a dockerd with its default bridge and
//! Wharf's own daemon, each in a network namespace of its own: `network
//! create/ls/inspect/rm/connect/disconnect/prune`, `run -p/-P/--network`,
//! `port` and `ps`'s PORTS column must print the same bytes on stdout and
//! stderr (docker's name replaced by wharf's) and exit with the same code.
//! A command that changes something runs once per client, each time after
//! the same `setup`; ids of objects each run made become `ID`.

use std::path::PathBuf;
use std::process::{Command, Output};

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{import_net_image, serve, NET_IMG};
use wharf_testkit::run_with_input;

/// One daemon and the wharf client.
struct Pair<'a> {
    e: &'a dyn Engine,
    wharf: PathBuf,
}

impl Pair<'_> {
    fn wharf(&self, args: &[&str]) -> Output {
        let mut c = Command::new(&self.wharf);
        c.arg("-H")
            .arg(self.e.host())
            .args(args)
            .env_remove("WHARF_HOST")
            .env_remove("DOCKER_HOST");
        run_with_input(c, &[])
    }

    fn docker(&self, args: &[&str]) {
        self.e.docker_ok(args);
    }

    /// Both clients, same daemon state: the same output and code.
    fn same(&self, args: &[&str]) {
        self.same_after(&|| {}, args);
    }

    /// `setup`, then docker; `setup` again, then wharf.
    fn same_after(&self, setup: &dyn Fn(), args: &[&str]) {
        setup();
        let d = self.e.docker(args);
        setup();
        let w = self.wharf(args);
        let (dout, wout) = (hide_ids(&text(&d.stdout)), hide_ids(&text(&w.stdout)));
        let derr = hide_ids(&as_wharf(&text(&d.stderr)));
        let werr = hide_ids(&as_wharf(&text(&w.stderr)));
        let on = self.e.kind();
        assert_eq!(
            d.status.code(),
            w.status.code(),
            "exit code of {args:?} on {on}\ndocker: {derr}\nwharf: {werr}"
        );
        assert_eq!(dout, wout, "stdout of {args:?} on {on}");
        assert_eq!(derr, werr, "stderr of {args:?} on {on}");
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// docker's stderr as wharf words it (wharf's own passes unchanged),
/// without the daemon's forwarding warning.
fn as_wharf(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("IPv4 forwarding is disabled"))
        .map(|l| {
            l.replace("docker ", "wharf ")
                .replace("docker:", "wharf:")
                .replace("docker'", "wharf'")
                .replace("Docker daemon", "Wharf daemon")
                + "\n"
        })
        .collect()
}

/// Ids (64 hex digits) become `ID`.
fn hide_ids(s: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            run.push(c);
            continue;
        }
        out.push_str(if run.len() == 64 { "ID" } else { &run });
        run.clear();
        out.push(c);
    }
    out.pop();
    out
}

fn pair(e: &dyn Engine) -> Pair<'_> {
    import_net_image(e);
    Pair {
        e,
        wharf: wharf_testkit::wharf_path().expect("the wharf binary"),
    }
}

/// Listing and inspecting networks, `port` and `ps` of published ports.
fn listing_networks_and_ports(e: &dyn Engine) {
    let p = pair(e);
    p.docker(&[
        "network",
        "create",
        "--subnet",
        "10.77.0.0/24",
        "--label",
        "k=v",
        "un",
    ]);
    p.docker(&["network", "create", "--internal", "--attachable", "in2"]);
    serve(
        e,
        "pp",
        &[
            "-p",
            "8080:80",
            "-p",
            "127.0.0.1::81/udp",
            "-p",
            "7000-7001:70-71",
            "-p",
            "6000-6001:6000-6001",
            "--expose",
            "53/udp",
            "--expose",
            "90-92",
        ],
    );
    serve(e, "pa", &["-P", "--expose", "53/udp"]);
    serve(
        e,
        "un1",
        &[
            "--network",
            "un",
            "--network-alias",
            "web",
            "--ip",
            "10.77.0.200",
        ],
    );
    for args in [
        &["network", "ls"][..],
        &["network", "ls", "-q"],
        &["network", "ls", "--no-trunc"],
        &["network", "ls", "--format", "json"],
        &[
            "network",
            "ls",
            "--format",
            "table {{.Name}}\t{{.Internal}}\t{{.Labels}}\t{{.IPv6}}",
        ],
        &[
            "network",
            "ls",
            "--format",
            "{{.Name}} {{.Label \"k\"}} {{.CreatedAt}}",
        ],
        &["network", "ls", "-f", "driver=bridge", "-f", "name=u"],
        &["network", "ls", "-q", "--format", "{{.Name}}"],
        &["network", "ls", "extra"],
        &["network", "inspect", "un"],
        &["network", "inspect", "bridge", "in2"],
        &[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Internal}} {{.Attachable}}",
            "in2",
            "nonet",
            "un",
        ],
        &["network", "inspect", "nonet"],
        &["network", "inspect"],
        &["inspect", "--type", "network", "-f", "{{.Driver}}", "un"],
        &["port", "pp"],
        &["port", "pp", "80"],
        &["port", "pp", "81/udp"],
        &["port", "pp", "82"],
        &["port", "pp", "abc"],
        &["port", "pa"],
        &["port", "un1"],
        &["port", "nope"],
        &["ps", "--format", "{{.Names}}: {{.Ports}} {{.Networks}}"],
        &["ps", "--no-trunc", "--format", "{{.Ports}}"],
    ] {
        p.same(args);
    }
}

/// Each client makes, connects, disconnects, removes and prunes after the
/// same setup; errors of the client's own and the daemon's.
fn changing_networks(e: &dyn Engine) {
    let p = pair(e);
    p.docker(&["network", "create", "--subnet", "10.78.0.0/24", "un"]);
    serve(e, "c1", &[]);
    let gone = |names: &'static [&'static str]| {
        move || {
            for n in names {
                let _ = e.docker(&["network", "rm", n]);
            }
        }
    };
    let create = [
        "network",
        "create",
        "--subnet",
        "10.79.0.0/24",
        "--gateway",
        "10.79.0.1",
    ];
    p.same_after(
        &gone(&["n1"]),
        &[
            &create[..],
            &["--ip-range", "10.79.0.128/25", "-o", "a=b", "n1"],
        ]
        .concat(),
    );
    p.same_after(
        &gone(&["n1"]),
        &["network", "create", "--internal", "--label", "x=y", "n1"],
    );
    for args in [
        &["network", "create", "un"][..],
        &["network", "create"],
        &["network", "create", "a", "b"],
        &["network", "create", "--subnet", "10.300.0.0/16", "bad"],
        &[
            "network",
            "create",
            "--subnet",
            "10.300.0.0/16",
            "--ip-range",
            "10.1.0.0/24",
            "bad",
        ],
        &["network", "create", "--gateway", "10.1.0.1", "bad"],
        &[
            "network",
            "create",
            "--subnet",
            "10.1.0.0/16",
            "--gateway",
            "10.2.0.1",
            "bad",
        ],
        &[
            "network",
            "create",
            "--subnet",
            "10.1.0.0/16",
            "--subnet",
            "10.1.2.0/24",
            "bad",
        ],
        &["network", "create", "--subnet", "10.78.0.0/16", "bad"],
        &["network", "create", "-z", "bad"],
        &["network", "rm"],
        &["network", "rm", "nonet", "bridge"],
        &["network", "rm", "-f", "nonet"],
        &["network", "connect", "un"],
        &["network", "disconnect"],
        &["network", "connect", "nonet", "c1"],
        &["network", "connect", "host", "c1"],
        &["network", "disconnect", "un", "c1"],
        &["network", "prune", "extra"],
    ] {
        p.same(args);
    }
    p.same_after(&gone(&["n1", "n2"]), &["network", "rm", "nonet", "n1"]);
    let made = |names: &'static [&'static str]| {
        move || {
            for n in names {
                let _ = e.docker(&["network", "rm", n]);
                e.docker_ok(&["network", "create", n]);
            }
        }
    };
    p.same_after(
        &made(&["n1", "n2"]),
        &["network", "rm", "n1", "nonet", "n2"],
    );
    let off = || {
        let _ = e.docker(&["network", "disconnect", "un", "c1"]);
    };
    p.same_after(
        &off,
        &[
            "network",
            "connect",
            "--alias",
            "x",
            "--ip",
            "10.78.0.50",
            "un",
            "c1",
        ],
    );
    p.same(&["network", "connect", "un", "c1"]);
    p.same(&[
        "inspect",
        "-f",
        "{{json .NetworkSettings.Networks.un.Aliases}}",
        "c1",
    ]);
    let on = || {
        let _ = e.docker(&["network", "connect", "un", "c1"]);
    };
    p.same_after(&on, &["network", "disconnect", "-f", "un", "c1"]);
    // One unused network (the daemon deletes several in its own order).
    on();
    p.same_after(&made(&["p1"]), &["network", "prune", "-f"]);
    p.same(&["network", "prune", "-f", "--filter", "label=none"]);
    p.same_after(&made(&["p1"]), &["system", "prune", "-f"]);
}

/// `run`/`create` network flags: docker's parse errors, the daemon's
/// refusals, and what the created container says of its settings.
fn run_network_flags(e: &dyn Engine) {
    let p = pair(e);
    p.docker(&["network", "create", "--subnet", "10.80.0.0/24", "un"]);
    for spec in [
        "99999:80",
        "80:99999",
        "abc",
        "1.2.3:80:80",
        "8000-8002:80-81",
        "80/xyz",
        "127.0.0.1::",
    ] {
        p.same(&["create", "-p", spec, NET_IMG]);
        p.same(&["run", "--rm", "-p", spec, NET_IMG]);
    }
    for expose in ["80:90", "abc", "90-80"] {
        p.same(&["create", "--expose", expose, NET_IMG]);
    }
    for args in [
        &["create", "--mac-address", "zz", NET_IMG][..],
        &["create", "--dns", "x", NET_IMG],
        &["create", "--add-host", "foo", NET_IMG],
        &["run", "--rm", "--add-host", "foo:bar", NET_IMG],
        &["create", "--network", "un", "--network", "host", NET_IMG],
        &["create", "--network-alias", "web", NET_IMG],
        &["run", "--rm", "--network", "nonet", NET_IMG],
        &[
            "run",
            "--rm",
            "--ip",
            "10.80.0.300",
            "--network",
            "un",
            NET_IMG,
        ],
        &["run", "--rm", "--ip", "172.17.0.50", NET_IMG, "true"],
    ] {
        p.same(args);
    }
    let fresh = |name: &'static str| {
        move || {
            let _ = e.docker(&["rm", "-f", name]);
        }
    };
    let made = [
        &[
            "create",
            "--name",
            "m1",
            "-p",
            "127.0.0.1:5000-5001:80-81/udp",
            "-p",
            "8000-8010:90",
            "--expose",
            "70-71",
            "--network",
            "un",
            "--network-alias",
            "a1",
            "--ip",
            "10.80.0.9",
            NET_IMG,
        ][..],
        &[
            "create",
            "--name",
            "m1",
            "-P",
            "--dns",
            "9.9.9.9",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:2",
            "--add-host",
            "foo:1.2.3.4",
            "--add-host=bar=5.6.7.8",
            "-h",
            "myhost",
            NET_IMG,
        ],
        &[
            "create",
            "--name",
            "m1",
            "--network",
            "name=un,alias=x",
            NET_IMG,
        ],
        &["create", "--name", "m1", "--net", "none", NET_IMG],
    ];
    let settings = "{{json .HostConfig.PortBindings}} {{json .Config.ExposedPorts}} {{.HostConfig.NetworkMode}} {{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}} {{json .HostConfig.ExtraHosts}} {{.HostConfig.PublishAllPorts}}";
    for args in made {
        p.same_after(&fresh("m1"), args);
        // `same_after` ran wharf last: make m1 with docker again.
        fresh("m1")();
        e.docker_ok(args);
        let docker_made = e.docker_ok(&["inspect", "-f", settings, "m1"]);
        fresh("m1")();
        let out = p.wharf(args);
        assert!(out.status.success(), "wharf {args:?}: {out:?}");
        let wharf_made = e.docker_ok(&["inspect", "-f", settings, "m1"]);
        assert_eq!(
            docker_made,
            wharf_made,
            "what {args:?} made on {}",
            e.kind()
        );
        fresh("m1")();
    }
    // A port in use: the second container is made, its start refused.
    serve(e, "p1", &["-p", "8085:80"]);
    let script = wharf_testkit::net_scenario::httpd_script("p2");
    p.same_after(
        &fresh("p2"),
        &[
            "run", "-d", "--name", "p2", "-p", "8085:80", NET_IMG, "sh", "-c", &script,
        ],
    );
}

engine_net_tests!(listing_networks_and_ports => listing_networks_and_ports_on_dockerd,
    listing_networks_and_ports_on_wharf);

engine_net_tests!(changing_networks => changing_networks_on_dockerd,
    changing_networks_on_wharf);

engine_net_tests!(run_network_flags => run_network_flags_on_dockerd,
    run_network_flags_on_wharf);
