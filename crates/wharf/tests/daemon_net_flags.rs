//! `wharf daemon`'s networking settings reach the engine: `--bridge`,
//! `--bip`, `--default-address-pool` and `--nft-table` (and the same keys in
//! daemon.json) decide the default bridge's device and subnet, the subnet of
//! a new network and the nftables table. Each daemon runs as root in a
//! network namespace of its own (`nsenter --net`), with unique names, and
//! is killed by pid, its namespace and directory removed, on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

const WHARF: &str = env!("CARGO_BIN_EXE_wharf");

/// A daemon in its own namespace, with its directory.
struct Daemon {
    netns: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `wharf daemon` with `flags` and `config` (daemon.json).
    fn start(tag: &str, flags: &[&str], config: &str) -> Daemon {
        let netns = format!("wh6-{tag}-{}", std::process::id());
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ok = Command::new("ip").args(["netns", "add", &netns]).status();
        assert!(ok.is_ok_and(|s| s.success()), "ip netns add {netns}");
        let mut d = Daemon {
            netns,
            dir,
            child: None,
        };
        std::fs::write(d.path("daemon.json"), config).expect("daemon.json");
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", d.netns))
            .arg(WHARF)
            .arg("daemon")
            .arg("--config-file")
            .arg(d.path("daemon.json"))
            .arg("--data-root")
            .arg(d.path("data"))
            .arg("--exec-root")
            .arg(d.path("exec"))
            .arg("--pidfile")
            .arg(d.path("wharf.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.path("wharf.sock").display()))
            .args(flags)
            .stdout(std::fs::File::create(d.path("log")).expect("log"))
            .stderr(std::fs::File::create(d.path("log.err")).expect("log"))
            .spawn()
            .expect("nsenter wharf daemon");
        d.child = Some(child);
        // A hang guard, not a time limit on the test.
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.client(&["version"]).status.success() {
            let exited = d.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "the daemon did not answer: {}",
                std::fs::read_to_string(d.path("log.err")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        d
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `wharf -H <socket> args…`.
    fn client(&self, args: &[&str]) -> Output {
        Command::new(WHARF)
            .arg("-H")
            .arg(format!("unix://{}", self.path("wharf.sock").display()))
            .args(args)
            .output()
            .expect("wharf runs")
    }

    /// The client's stdout; panics with its stderr unless it succeeds.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.client(args);
        assert!(
            out.status.success(),
            "wharf {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `args` run inside the daemon's namespace; its stdout.
    fn in_netns(&self, args: &[&str]) -> String {
        let out = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .args(args)
            .output()
            .expect("nsenter runs");
        assert!(
            out.status.success(),
            "{args:?} in {}: {}",
            self.netns,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.netns])
            .status();
        unmount_below(self.dir.path());
    }
}

/// Detaches whatever the daemon left mounted below `dir` (namespace
/// files), so the directory can go.
fn unmount_below(dir: &Path) {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mounts.lines() {
        let Some(point) = line.split(' ').nth(4) else {
            continue;
        };
        if Path::new(point).starts_with(dir) {
            let _ = Command::new("umount").args(["-l", point]).status();
        }
    }
}

/// What the daemon made of its settings.
fn check(d: &Daemon, bridge: &str, table: &str) {
    let bridge_net = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{json .IPAM.Config}} {{index .Options \"com.docker.network.bridge.name\"}}",
        "bridge",
    ]);
    assert_eq!(
        bridge_net,
        format!(r#"[{{"Subnet":"10.212.0.0/24","Gateway":"10.212.0.1"}}] {bridge}"#)
    );
    assert!(
        d.in_netns(&["ip", "-br", "addr", "show", bridge])
            .contains("10.212.0.1/24"),
        "the bridge device has the --bip address"
    );
    d.ok(&["network", "create", "pooled"]);
    let pooled = d.ok(&[
        "network",
        "inspect",
        "-f",
        "{{json .IPAM.Config}}",
        "pooled",
    ]);
    assert_eq!(
        pooled,
        r#"[{"Subnet":"10.213.0.0/24","Gateway":"10.213.0.1"}]"#
    );
    let tables = d.in_netns(&["nft", "list", "tables"]);
    assert!(
        tables.lines().any(|l| l == format!("table ip {table}")),
        "the rules' table: {tables}"
    );
}

#[test]
fn flags_set_the_bridge_pools_and_table() {
    let bridge = format!("whf{}", std::process::id() % 100_000);
    let table = format!("wharf_f{}", std::process::id());
    let d = Daemon::start(
        "f",
        &[
            "--bridge",
            &bridge,
            "--bip",
            "10.212.0.1/24",
            "--default-address-pool",
            "base=10.213.0.0/16,size=24",
            "--nft-table",
            &table,
        ],
        "{}\n",
    );
    check(&d, &bridge, &table);
}

#[test]
fn config_file_keys_set_the_same() {
    let bridge = format!("whc{}", std::process::id() % 100_000);
    let table = format!("wharf_c{}", std::process::id());
    let config = serde_json::json!({
        "bridge": bridge,
        "bip": "10.212.0.1/24",
        "default-address-pools": [{"base": "10.213.0.0/16", "size": 24}],
        "nft-table": table,
    });
    let d = Daemon::start("c", &[], &config.to_string());
    check(&d, &bridge, &table);
}

#[test]
fn bridge_none_means_no_default_bridge_network() {
    let d = Daemon::start("n", &["--bridge", "none"], "{}\n");
    assert_eq!(
        d.ok(&["network", "ls", "--format", "{{.Name}}"]),
        "host\nnone"
    );
    let out = d.client(&["network", "inspect", "bridge"]);
    assert_eq!(out.status.code(), Some(1), "no network named bridge");
}
