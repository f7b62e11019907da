//! `docker network create/ls/inspect/rm/prune` with the docker CLI 28,
//! against a dockerd with its default bridge (proving what Docker prints)
//! and against `wharf daemon`: outputs, exit codes, the containers inspect
//! lists, the first default pool after the bridge's, and the raw API's
//! status codes for refusals.

use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_net_tests;
use wharf_testkit::net_scenario::{docker_refused, import_net_image, stderr_text, NET_IMG};

fn names(e: &dyn Engine) -> Vec<String> {
    let out = e.docker_ok(&["network", "ls", "--format", "{{.Name}}"]);
    out.lines().map(String::from).collect()
}

/// create (an id), ls (the predefined networks and the new one, sorted by
/// name), inspect (IPAM, labels, flags, containers), rm refused while a
/// container is attached, rm, prune (only unused networks).
fn network_lifecycle(e: &dyn Engine) {
    import_net_image(e);
    let id = e.docker_ok(&[
        "network",
        "create",
        "--subnet",
        "10.95.0.0/24",
        "--gateway",
        "10.95.0.1",
        "--label",
        "team=a",
        "lan1",
    ]);
    let id = id.trim();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "create on {}: {id:?}",
        e.kind()
    );
    let ls = e.docker_ok(&[
        "network",
        "ls",
        "--format",
        "{{.Name}} {{.Driver}} {{.Scope}}",
    ]);
    assert_eq!(
        ls,
        "bridge bridge local\nhost host local\nlan1 bridge local\nnone null local\n",
        "on {}",
        e.kind()
    );
    let table = e.docker_ok(&["network", "ls"]);
    let head = table.lines().next().unwrap_or("");
    assert_eq!(
        head,
        "NETWORK ID     NAME      DRIVER    SCOPE",
        "on {}",
        e.kind()
    );
    assert!(
        table.contains(&format!("{}   lan1      bridge    local", &id[..12])),
        "on {}: {table}",
        e.kind()
    );
    let filtered = e.docker_ok(&["network", "ls", "-q", "--filter", "name=lan1"]);
    assert_eq!(filtered.trim(), &id[..12], "on {}", e.kind());

    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "lan1",
        NET_IMG,
        "sleep",
        "1000",
    ]);
    let shown = e.docker_ok(&[
        "network",
        "inspect",
        "lan1",
        "-f",
        "{{.Name}} {{.Driver}} {{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} \
         {{.Labels.team}} {{.Internal}} {{.Attachable}} {{range $id, $c := .Containers}}{{$c.Name}} \
         {{$c.IPv4Address}} {{$c.MacAddress}}{{end}}",
    ]);
    assert_eq!(
        shown.trim(),
        "lan1 bridge 10.95.0.0/24 10.95.0.1 a false false c1 10.95.0.2/24 02:42:0a:5f:00:02",
        "on {}",
        e.kind()
    );
    let members = e.docker_ok(&["network", "inspect", "lan1", "-f", "{{json .Containers}}"]);
    let c1 = e.docker_ok(&["inspect", "-f", "{{.Id}}", "c1"]);
    assert!(
        members.contains(c1.trim()),
        "keyed by id on {}: {members}",
        e.kind()
    );

    let busy = e.docker(&["network", "rm", "lan1"]);
    assert_eq!(busy.status.code(), Some(1), "on {}", e.kind());
    let first = stderr_text(&busy);
    assert_eq!(
        first.lines().next().unwrap_or(""),
        format!(
            "Error response from daemon: error while removing network: network lan1 id {id} has \
             active endpoints"
        ),
        "on {}",
        e.kind()
    );

    // A network without a subnet takes the first default pool after the
    // bridge's.
    e.docker_ok(&["network", "create", "lan2"]);
    let ipam = e.docker_ok(&["network", "inspect", "lan2", "-f", "{{json .IPAM.Config}}"]);
    assert_eq!(
        ipam.trim(),
        r#"[{"Subnet":"172.18.0.0/16","Gateway":"172.18.0.1"}]"#,
        "on {}",
        e.kind()
    );
    e.docker_ok(&["network", "create", "lan3"]);
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "c3",
        "--network",
        "lan3",
        NET_IMG,
        "sleep",
        "1000",
    ]);
    let pruned = e.docker_ok(&["network", "prune", "-f"]);
    assert_eq!(pruned, "Deleted Networks:\nlan2\n\n", "on {}", e.kind());
    assert_eq!(
        names(e),
        ["bridge", "host", "lan1", "lan3", "none"],
        "on {}",
        e.kind()
    );
    e.docker_ok(&["rm", "-f", "c1", "c3"]);
    assert_eq!(
        e.docker_ok(&["network", "rm", "lan1", "lan3"]),
        "lan1\nlan3\n",
        "on {}",
        e.kind()
    );
    assert_eq!(names(e), ["bridge", "host", "none"], "on {}", e.kind());
}

engine_net_tests!(network_lifecycle => engine_net_cli_lifecycle_dockerd,
    engine_net_cli_lifecycle_wharf);

/// Refusals of the network commands: the CLI's exit code and the
/// daemon's words, and the raw API's status codes.
fn network_refusals(e: &dyn Engine) {
    let fails = |args: &[&str], want: &str| docker_refused(e, args, 1, want);
    e.docker_ok(&["network", "create", "--subnet", "10.96.0.0/16", "o1"]);
    fails(
        &["network", "create", "--subnet", "10.96.1.0/24", "o2"],
        "Error response from daemon: Pool overlaps with other one on this address space",
    );
    // dockerd 20.10's words; since API 1.44 (Docker 25+, and wharf, which
    // serves 1.47) the pool is validated before the daemon tries it.
    let bad_cidr = if e.kind() == "dockerd" {
        "Error response from daemon: Invalid subnet 10.300.0.0/16 : invalid CIDR address: \
         10.300.0.0/16"
    } else {
        // (its first line: the fault follows on the next)
        "Error response from daemon: invalid network config:"
    };
    fails(
        &["network", "create", "--subnet", "10.300.0.0/16", "bad"],
        bad_cidr,
    );
    fails(
        &["network", "create", "o1"],
        "Error response from daemon: network with name o1 already exists",
    );
    fails(
        &["network", "rm", "nonet"],
        "Error response from daemon: network nonet not found",
    );
    fails(
        &["network", "inspect", "nonet"],
        "Error response from daemon: network nonet not found",
    );
    fails(
        &["network", "rm", "bridge"],
        "Error response from daemon: bridge is a pre-defined network and cannot be removed",
    );
    assert_eq!(
        names(e),
        ["bridge", "host", "none", "o1"],
        "on {}",
        e.kind()
    );

    let create = |body: &str| {
        let r = e.api("POST", "/networks/create", Some(body.as_bytes()));
        (r.status, r.message())
    };
    assert_eq!(
        create(r#"{"Name":"o3","IPAM":{"Config":[{"Subnet":"10.96.2.0/24"}]}}"#),
        (
            403,
            "Pool overlaps with other one on this address space".into()
        ),
        "on {}",
        e.kind()
    );
    // A bad pool: dockerd 20.10's 500; 400 since API 1.44.
    let bad_pool = if e.kind() == "dockerd" { 500 } else { 400 };
    assert_eq!(
        create(r#"{"Name":"b3","IPAM":{"Config":[{"Subnet":"10.300.0.0/16"}]}}"#).0,
        bad_pool,
        "on {}",
        e.kind()
    );
    let gateway =
        r#"{"Name":"g3","IPAM":{"Config":[{"Subnet":"10.79.0.0/24","Gateway":"10.80.0.1"}]}}"#;
    assert_eq!(create(gateway).0, bad_pool, "on {}", e.kind());
    assert_eq!(
        create(r#"{"Name":"o1","CheckDuplicate":true}"#).0,
        409,
        "on {}",
        e.kind()
    );
    let status = |method: &str, path: &str| e.api(method, path, None).status;
    assert_eq!(status("GET", "/networks/nonet"), 404, "on {}", e.kind());
    assert_eq!(status("DELETE", "/networks/nonet"), 404, "on {}", e.kind());
    assert_eq!(status("DELETE", "/networks/bridge"), 403, "on {}", e.kind());
    assert_eq!(
        names(e),
        ["bridge", "host", "none", "o1"],
        "on {}",
        e.kind()
    );
}

engine_net_tests!(network_refusals => engine_net_cli_refusals_dockerd,
    engine_net_cli_refusals_wharf);
