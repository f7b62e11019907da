//! The engine's spec against real Docker (root, needs docker.io): the same
//! busybox root filesystem run by a private dockerd with `docker run`
//! flags, and by `wharf runtime` with the spec the engine makes from the
//! same options, report the same capabilities, security state, identity,
//! limits, mounts and devices from inside.

mod spec_support;

use std::io::Write;
use std::process::Stdio;

use spec_support::{opts, Fixture};
use wharf_engine::{CreateOptions, DeviceMapping, Ulimit};
use wharf_testkit::dockerd::Dockerd;

/// What the container reports: lines that do not depend on where its files
/// live (mount sources are cut off).
const PROBE: &str = "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' \
    /proc/self/status; id; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; \
    cat /proc/sys/net/ipv4/ip_forward; \
    mount | grep -E ' on /(dev/shm|sys|proc/sys|run|dev/mqueue|dev/pts|proc) ' | cut -d' ' -f2-; \
    ls -l /dev/mynull 2>/dev/null | cut -c1-10; touch /x 2>/dev/null || echo read-only; \
    echo $(hostname | wc -c); cd /sys/fs/cgroup 2>/dev/null && \
    cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes \
    memory/memory.soft_limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
    cpu/cpu.shares cpuset/cpuset.cpus 2>/dev/null; \
    for n in net ipc pid uts; do readlink /proc/self/ns/$n; done; true";

struct Case {
    flags: &'static [&'static str],
    opts: fn(&mut CreateOptions),
}

const CASES: &[Case] = &[
    Case {
        flags: &[],
        opts: |_| {},
    },
    Case {
        flags: &["--cap-add", "NET_ADMIN", "--cap-drop", "chown"],
        opts: |o| {
            o.host.cap_add = vec!["NET_ADMIN".into()];
            o.host.cap_drop = vec!["chown".into()];
        },
    },
    Case {
        flags: &["--user", "nobody", "--group-add", "123"],
        opts: |o| {
            o.user = Some("nobody".into());
            o.host.group_add = vec!["123".into()];
        },
    },
    Case {
        flags: &[
            "--read-only",
            "--tmpfs",
            "/run:size=1m",
            "--shm-size",
            "128m",
        ],
        opts: |o| {
            o.host.read_only = true;
            o.host.tmpfs.insert("/run".into(), "size=1m".into());
            o.host.shm_size = Some(128 << 20);
        },
    },
    Case {
        flags: &["--security-opt", "no-new-privileges", "--cap-drop", "ALL"],
        opts: |o| {
            o.host.security_opt = vec!["no-new-privileges".into()];
            o.host.cap_drop = vec!["ALL".into()];
        },
    },
    Case {
        flags: &[
            "--ulimit",
            "nofile=100:200",
            "--oom-score-adj",
            "500",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--device",
            "/dev/null:/dev/mynull:rw",
        ],
        opts: |o| {
            o.host.ulimits = vec![Ulimit {
                name: "nofile".into(),
                soft: 100,
                hard: 200,
            }];
            o.host.oom_score_adj = 500;
            o.host
                .sysctls
                .insert("net.ipv4.ip_forward".into(), "1".into());
            o.host.devices = vec![DeviceMapping {
                path_on_host: "/dev/null".into(),
                path_in_container: "/dev/mynull".into(),
                cgroup_permissions: "rw".into(),
            }];
        },
    },
    Case {
        flags: &[
            "--memory",
            "64m",
            "--memory-reservation",
            "32m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
        ],
        opts: |o| {
            let r = &mut o.host.resources;
            r.memory = 64 << 20;
            r.memory_reservation = 32 << 20;
            r.pids_limit = Some(50);
            r.nano_cpus = 500_000_000;
            r.cpu_shares = 512;
            r.cpuset_cpus = "0".into();
        },
    },
    Case {
        flags: &["--network", "host"],
        opts: |o| o.host.network_mode = "host".into(),
    },
    Case {
        flags: &["--ipc", "host", "--pid", "host", "--uts", "host"],
        opts: |o| {
            o.host.ipc_mode = "host".into();
            o.host.pid_mode = "host".into();
            o.host.uts_mode = "host".into();
        },
    },
];

/// `net:[4026531840]` lines become `net:host` or `net:private`: a new
/// namespace's number differs from run to run.
fn namespaces_named(out: &str) -> String {
    out.lines()
        .map(|l| match l.split_once(':') {
            Some((kind, _)) if l.ends_with(']') && ["net", "ipc", "pid", "uts"].contains(&kind) => {
                let host = std::fs::read_link(format!("/proc/self/ns/{kind}")).unwrap();
                if host.to_string_lossy() == l {
                    format!("{kind}:host\n")
                } else {
                    format!("{kind}:private\n")
                }
            }
            _ => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn spec_matches_docker_run() {
    let docker = Dockerd::start().expect("dockerd starts");
    let mut import = docker.command(&["import", "-c", "CMD [\"sh\"]", "-", "wharf-spec-bb"]);
    let mut child = import
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&wharf_testkit::images::busybox_rootfs_tar())
        .unwrap();
    assert!(child.wait().unwrap().success(), "docker import");
    let f = Fixture::new();
    for case in CASES {
        let mut args = vec!["run", "--rm"];
        if !case.flags.contains(&"--network") {
            args.extend(["--network", "none"]);
        }
        args.extend(case.flags);
        args.extend(["wharf-spec-bb", "sh", "-c", PROBE]);
        let theirs = namespaces_named(&docker.docker_ok(&args));
        let mut o = opts();
        (case.opts)(&mut o);
        let (code, ours, err) = f.sh(o, vec![], PROBE);
        let ours = namespaces_named(&ours);
        assert_eq!(code, 0, "{err}");
        assert_eq!(ours, theirs, "docker run {}", case.flags.join(" "));
    }
}
