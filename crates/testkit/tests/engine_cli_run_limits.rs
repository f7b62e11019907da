//! The docker CLI 28 driving `docker run`'s resource, security, network
//! and health flags against a private daemon: cgroup limits read from the
//! host, capabilities, ulimits, no-new-privileges, devices, `--network
//! none|host`, health checks in inspect and ps. Each scenario runs against
//! Debian's dockerd (proving the expectations) and against `wharf daemon`.

use std::fs;
use std::thread::sleep;
use std::time::{Duration, Instant};

use wharf_testkit::caps::DOCKER_DEFAULT_CAP_MASK;
use wharf_testkit::daemon::Engine;
use wharf_testkit::engine_tests;
use wharf_testkit::{explain, stdout_text};

const IMG: &str = "wharf-test/busybox:latest";

/// The cgroup directory of `pid` in the v1 hierarchy of `controller`.
fn cgroup_file(pid: &str, controller: &str, file: &str) -> String {
    let text = fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, path) = (parts.next(), parts.next(), parts.next());
        if ctrls.is_some_and(|c| c.split(',').any(|c| c == controller)) {
            let dir = format!("/sys/fs/cgroup/{controller}{}", path.unwrap_or(""));
            return fs::read_to_string(format!("{dir}/{file}"))
                .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"))
                .trim()
                .to_string();
        }
    }
    panic!("pid {pid} has no {controller} cgroup:\n{text}");
}

/// A status line of the container's init (`CapEff`, `NoNewPrivs`).
fn status_field(e: &dyn Engine, args: &[&str], field: &str) -> String {
    let mut full = vec!["run", "--rm"];
    full.extend(args);
    full.extend([IMG, "grep", field, "/proc/self/status"]);
    let out = e.docker_ok(&full);
    out.split_whitespace().nth(1).unwrap_or("").to_string()
}

/// --memory, --cpus, --cpuset-cpus, --pids-limit, --cpu-shares, seen in
/// the container's cgroups from the host; `update` changes them live.
fn limits(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "lim1",
        "--memory",
        "48m",
        "--cpus",
        "0.5",
        "--cpuset-cpus",
        "0",
        "--pids-limit",
        "21",
        "--cpu-shares",
        "256",
        IMG,
        "sleep",
        "1000",
    ]);
    let pid = e.docker_ok(&["inspect", "-f", "{{.State.Pid}}", "lim1"]);
    let pid = pid.trim();
    assert_eq!(
        cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        (48u64 << 20).to_string()
    );
    assert_eq!(cgroup_file(pid, "cpu", "cpu.cfs_quota_us"), "50000");
    assert_eq!(cgroup_file(pid, "cpu", "cpu.cfs_period_us"), "100000");
    assert_eq!(cgroup_file(pid, "cpu", "cpu.shares"), "256");
    assert_eq!(cgroup_file(pid, "cpuset", "cpuset.cpus"), "0");
    assert_eq!(cgroup_file(pid, "pids", "pids.max"), "21");
    let got = e.docker_ok(&[
        "inspect",
        "-f",
        "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.CpusetCpus}} {{.HostConfig.PidsLimit}}",
        "lim1",
    ]);
    assert_eq!(got, format!("{} 500000000 0 21\n", 48u64 << 20));
    e.docker_ok(&[
        "update",
        "--memory",
        "96m",
        "--memory-swap",
        "-1",
        "--pids-limit",
        "42",
        "lim1",
    ]);
    assert_eq!(
        cgroup_file(pid, "memory", "memory.limit_in_bytes"),
        (96u64 << 20).to_string()
    );
    assert_eq!(cgroup_file(pid, "pids", "pids.max"), "42");
    // The pids limit holds inside: a fork bomb in miniature fails.
    let forks = e.docker(&[
        "run",
        "--rm",
        "--pids-limit",
        "5",
        IMG,
        "sh",
        "-c",
        "for i in 1 2 3 4 5 6 7 8; do sleep 30 & done; wait",
    ]);
    assert!(
        String::from_utf8_lossy(&forks.stderr).contains("can't fork"),
        "{}",
        explain(&forks)
    );
    e.docker_ok(&["rm", "-f", "lim1"]);
}

/// Capabilities (default set, --cap-drop ALL/--cap-add, --privileged),
/// no-new-privileges, ulimits, devices, --read-only with --tmpfs.
fn security(e: &dyn Engine) {
    e.import_busybox(IMG);
    assert_eq!(
        status_field(e, &[], "CapEff"),
        format!("{DOCKER_DEFAULT_CAP_MASK:016x}")
    );
    assert_eq!(
        status_field(e, &["--cap-drop", "ALL", "--cap-add", "NET_RAW"], "CapEff"),
        "0000000000002000"
    );
    assert_eq!(
        status_field(e, &["--cap-drop", "CHOWN"], "CapEff"),
        "00000000a80425fa"
    );
    // --privileged: every capability the daemon has. This host's root
    // lacks CAP_SYS_RESOURCE, and runc (under dockerd) refuses to start a
    // privileged container without it, so only Wharf is asked here.
    if e.kind() == "wharf" {
        let ours = fs::read_to_string("/proc/self/status").unwrap();
        let ours = ours
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim()
            .to_string();
        assert_eq!(status_field(e, &["--privileged"], "CapEff"), ours);
    }
    assert_eq!(status_field(e, &[], "NoNewPrivs"), "0");
    assert_eq!(
        status_field(e, &["--security-opt", "no-new-privileges"], "NoNewPrivs"),
        "1"
    );
    let chown = e.docker(&[
        "run",
        "--rm",
        "--cap-drop",
        "CHOWN",
        IMG,
        "chown",
        "nobody",
        "/tmp",
    ]);
    assert_eq!(chown.status.code(), Some(1), "{}", explain(&chown));

    assert_eq!(
        e.docker_ok(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=100:200",
            IMG,
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn"
        ]),
        "100\n200\n"
    );
    assert_eq!(
        e.docker_ok(&[
            "run",
            "--rm",
            "--device",
            "/dev/null:/dev/mynull",
            IMG,
            "sh",
            "-c",
            "test -c /dev/mynull && echo char"
        ]),
        "char\n"
    );
    // The device cgroup: a node for /dev/mem can be made but not opened.
    e.docker_fails(
        &[
            "run",
            "--rm",
            IMG,
            "sh",
            "-c",
            "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem",
        ],
        "Operation not permitted",
    );
    assert_eq!(
        e.docker_ok(&[
            "run",
            "--rm",
            "--read-only",
            "--tmpfs",
            "/run",
            IMG,
            "sh",
            "-c",
            "touch /run/ok && echo ok"
        ]),
        "ok\n"
    );
    let masked = e.docker_ok(&[
        "run",
        "--rm",
        IMG,
        "sh",
        "-c",
        "cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l",
    ]);
    assert_eq!(
        masked, "0\n0\n",
        "/proc/timer_list and /sys/firmware are masked"
    );
    let shm = e.docker_ok(&[
        "run",
        "--rm",
        "--shm-size",
        "8m",
        IMG,
        "sh",
        "-c",
        "df -k /dev/shm | tail -n 1",
    ]);
    assert_eq!(shm.split_whitespace().nth(1), Some("8192"), "{shm}");
}

/// --network none (loopback only) and host (the host's interfaces and
/// hostname).
fn networks(e: &dyn Engine) {
    e.import_busybox(IMG);
    let ifaces = |out: &str| -> Vec<String> {
        let mut v: Vec<String> = out
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(|n| n.trim().to_string())
            .collect();
        v.sort();
        v
    };
    let none = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        IMG,
        "cat",
        "/proc/net/dev",
    ]);
    assert_eq!(ifaces(&none), ["lo"]);
    let host = e.docker_ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        IMG,
        "cat",
        "/proc/net/dev",
    ]);
    // The daemon's own namespace (a private one for wharf).
    let ours = stdout_text(&e.host_cmd(&["cat", "/proc/self/net/dev"]));
    assert_eq!(ifaces(&host), ifaces(&ours));
    let name = fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(
        e.docker_ok(&["run", "--rm", "--network", "host", IMG, "hostname"]),
        name
    );
    let mode = e.docker_ok(&["run", "--name", "netnone", "--network", "none", IMG, "true"]);
    assert_eq!(mode, "");
    assert_eq!(
        e.docker_ok(&["inspect", "-f", "{{.HostConfig.NetworkMode}}", "netnone"]),
        "none\n"
    );
    e.docker_ok(&["rm", "netnone"]);
}

/// --health-cmd: the status in inspect and in ps, failing checks counted.
fn health(e: &dyn Engine) {
    e.import_busybox(IMG);
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hok",
        "--health-cmd",
        "test -f /tmp/up",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "--health-start-period",
        "0s",
        "--stop-timeout",
        "1",
        IMG,
        "sh",
        "-c",
        "touch /tmp/up; sleep 1000",
    ]);
    e.docker_ok(&[
        "run",
        "-d",
        "--name",
        "hbad",
        "--health-cmd",
        "exit 1",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        IMG,
        "sleep",
        "1000",
    ]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let health = |n: &str| {
        e.docker_ok(&["inspect", "-f", "{{.State.Health.Status}}", n])
            .trim()
            .to_string()
    };
    loop {
        let (ok, bad) = (health("hok"), health("hbad"));
        if ok == "healthy" && bad == "unhealthy" {
            break;
        }
        assert!(Instant::now() < deadline, "hok {ok}, hbad {bad}");
        sleep(Duration::from_millis(200));
    }
    let ps = e.docker_ok(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        ps.lines()
            .any(|l| l.starts_with("hok Up ") && l.ends_with("(healthy)")),
        "{ps}"
    );
    assert!(
        ps.lines()
            .any(|l| l.starts_with("hbad Up ") && l.ends_with("(unhealthy)")),
        "{ps}"
    );
    let filtered = e.docker_ok(&[
        "ps",
        "--filter",
        "health=unhealthy",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(filtered, "hbad\n");
    let streak = e.docker_ok(&["inspect", "-f", "{{.State.Health.FailingStreak}}", "hbad"]);
    assert!(streak.trim().parse::<u32>().unwrap_or(0) >= 2, "{streak}");
    let log = e.docker_ok(&[
        "inspect",
        "-f",
        "{{(index .State.Health.Log 0).ExitCode}}",
        "hbad",
    ]);
    assert_eq!(log, "1\n");
    assert_eq!(
        e.docker_ok(&["inspect", "-f", "{{.Config.StopTimeout}}", "hok"]),
        "1\n"
    );
    e.docker_ok(&["rm", "-f", "hok", "hbad"]);
}

engine_tests!(limits => engine_cli_run_limits_dockerd, engine_cli_run_limits_wharf);
engine_tests!(security => engine_cli_run_security_dockerd, engine_cli_run_security_wharf);
engine_tests!(networks => engine_cli_run_networks_dockerd, engine_cli_run_networks_wharf);
engine_tests!(health => engine_cli_run_health_dockerd, engine_cli_run_health_wharf);
