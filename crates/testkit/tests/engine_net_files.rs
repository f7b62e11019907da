//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` as Docker writes
//! them, with the docker CLI 28 against a dockerd with its default bridge
//! (proving the text) and against `wharf daemon`: the default bridge,
//! `--hostname`/`--add-host`/`--dns*`, `--network none`, a user network,
//! `--network host` (the host's files, a generated hosts file with
//! `--add-host`) and `--network container:<name>`. The container's
//! short id and address are put in the expected text.

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{
    address_on, host_nameservers, import_net_image, inspect_format, sleeper, NET_IMG,
};
use wharf_testkit::netns::link_names;

/// The lines every generated `/etc/hosts` starts with.
const HOSTS_HEAD: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
fe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Prints the three files and `hostname`, separated by `---` lines.
const SHOW: &str = "cat /etc/hosts; echo ---; cat /etc/hostname; echo ---; \
                    cat /etc/resolv.conf; echo ---; hostname";

/// What `SHOW` prints in a container run detached as `name` with `opts`
/// (it keeps running, for its id and address).
fn files_of(e: &dyn Engine, name: &str, opts: &[&str]) -> String {
    sleeper(e, name, opts);
    e.docker_ok(&["exec", name, "sh", "-c", SHOW])
}

fn short_id(e: &dyn Engine, name: &str) -> String {
    inspect_format(e, name, "{{.Id}}")[..12].to_string()
}

/// The `nameserver` lines a container on a bridge gets from the host's
/// resolv.conf, in the form [`nameservers`] gives.
fn host_ns_lines() -> String {
    host_nameservers()
        .iter()
        .map(|ns| format!("nameserver {ns}\n"))
        .collect()
}

/// Only the nameserver lines of a resolv.conf section, one space after
/// the keyword.
fn nameservers(resolv: &str) -> String {
    resolv
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .map(|ns| format!("nameserver {}\n", ns.trim()))
        .collect()
}

/// Splits `SHOW`'s output into (hosts, hostname, resolv.conf, hostname).
fn sections(out: &str) -> Vec<String> {
    out.split("---\n").map(String::from).collect()
}

/// The default bridge, the DNS and host options, `none` and a user network.
fn etc_files(e: &dyn Engine) {
    import_net_image(e);
    let out = files_of(e, "fb", &[]);
    let (id, ip) = (short_id(e, "fb"), address_on(e, "fb", "bridge"));
    let s = sections(&out);
    assert_eq!(s[0], format!("{HOSTS_HEAD}{ip}\t{id}\n"), "on {}", e.kind());
    assert_eq!(s[1], format!("{id}\n"), "on {}", e.kind());
    assert_eq!(nameservers(&s[2]), host_ns_lines(), "on {}", e.kind());
    assert_eq!(s[3], format!("{id}\n"), "on {}", e.kind());

    let opts = [
        "--hostname",
        "myhost",
        "--add-host",
        "foo:1.2.3.4",
        "--add-host",
        "bar:5.6.7.8",
        "--dns",
        "9.9.9.9",
        "--dns-search",
        "example.com",
        "--dns-option",
        "ndots:2",
    ];
    let out = files_of(e, "fo", &opts);
    let ip = address_on(e, "fo", "bridge");
    let want = format!(
        "{HOSTS_HEAD}1.2.3.4\tfoo\n5.6.7.8\tbar\n{ip}\tmyhost\n---\nmyhost\n---\n\
         search example.com\nnameserver 9.9.9.9\noptions ndots:2\n---\nmyhost\n"
    );
    assert_eq!(out, want, "on {}", e.kind());

    let out = files_of(e, "fn", &["--network", "none"]);
    let id = short_id(e, "fn");
    let s = sections(&out);
    assert_eq!(s[0], HOSTS_HEAD, "on {}", e.kind());
    assert_eq!(s[1], format!("{id}\n"), "on {}", e.kind());
    assert_eq!(nameservers(&s[2]), host_ns_lines(), "on {}", e.kind());

    // A user network: the embedded server, whatever --dns says (it
    // forwards there).
    e.docker_ok(&["network", "create", "--subnet", "10.89.0.0/24", "fnet"]);
    let opts = ["--network", "fnet", "--dns", "9.9.9.9", "--hostname", "h1"];
    let out = files_of(e, "fu", &opts);
    let want = format!(
        "{HOSTS_HEAD}10.89.0.2\th1\n---\nh1\n---\nnameserver 127.0.0.11\noptions ndots:0\n---\nh1\n"
    );
    assert_eq!(out, want, "on {}", e.kind());
}

engine_net_tests!(etc_files => engine_net_files_etc_dockerd,
    engine_net_files_etc_wharf);

/// `--network host`: the daemon's namespace's interfaces and the host's
/// name, a generated hosts file with `--add-host`; `--network
/// container:<name>`: the other container's files, name and interfaces.
fn shared_namespaces(e: &dyn Engine) {
    import_net_image(e);
    let out = files_of(e, "fh", &["--network", "host", "--add-host", "foo:1.2.3.4"]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let s = sections(&out);
    assert_eq!(
        s[0],
        format!("{HOSTS_HEAD}1.2.3.4\tfoo\n"),
        "on {}",
        e.kind()
    );
    assert_eq!(s[1], host, "on {}", e.kind());
    assert_eq!(nameservers(&s[2]), host_ns_lines(), "on {}", e.kind());
    // Without --add-host: a copy of the host's files.
    let plain = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        NET_IMG,
        "sh",
        "-c",
        "cat /etc/hosts /etc/resolv.conf",
    ]);
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    assert_eq!(plain, format!("{hosts}{resolv}"), "on {}", e.kind());
    let links = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        NET_IMG,
        "ip",
        "-o",
        "link",
    ]);
    let ours = wharf_testkit::stdout_text(&e.host_cmd(&["ip", "-o", "link"]));
    assert_eq!(link_names(&links), link_names(&ours), "on {}", e.kind());

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "base",
        "--hostname",
        "basehost",
        NET_IMG,
        "sleep",
        "1000",
    ]);
    let ip = address_on(e, "base", "bridge");
    let out = files_of(e, "fc", &["--network", "container:base"]);
    let want = format!(
        "{HOSTS_HEAD}{ip}\tbasehost\n---\nbasehost\n---\n{}---\nbasehost\n",
        host_ns_lines()
    );
    let s = sections(&out);
    let got = format!(
        "{}---\n{}---\n{}---\n{}",
        s[0],
        s[1],
        nameservers(&s[2]),
        s[3]
    );
    assert_eq!(got, want, "on {}", e.kind());
    let inside = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "container:base",
        NET_IMG,
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "dev",
        "eth0",
    ]);
    assert!(
        inside.contains(&format!("inet {ip}/")),
        "on {}: {inside}",
        e.kind()
    );
    assert_eq!(
        inspect_format(e, "fc", "{{.HostConfig.NetworkMode}}"),
        format!("container:{}", inspect_format(e, "base", "{{.Id}}")),
        "on {}",
        e.kind()
    );
}

engine_net_tests!(shared_namespaces => engine_net_files_shared_dockerd,
    engine_net_files_shared_wharf);
