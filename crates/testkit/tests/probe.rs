//! The probe and the bundle builder, checked on the host, so that a runtime
//! test failing later is known to fail because of the runtime.

use std::process::Command;

use wharf_testkit::{ActionResult, Bundle, Report};

fn probe(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wharf-probe"))
        .args(args)
        .output()
        .expect("run wharf-probe");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("utf-8 output"),
    )
}

fn action(args: &[&str]) -> (Option<i32>, ActionResult) {
    let (code, text) = probe(args);
    let result = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (code, result)
}

#[test]
fn report_matches_the_host_view() {
    let (code, text) = probe(&["report"]);
    assert_eq!(code, Some(0));
    let r: Report = serde_json::from_str(&text).expect("report parses");
    assert!(r.pid > 1);
    assert_eq!(r.ppid, std::process::id() as i32);
    assert_eq!(r.uid, rustix::process::getuid().as_raw());
    assert_eq!(
        r.hostname,
        rustix::system::uname().nodename().to_string_lossy()
    );
    assert_eq!(r.cwd, std::env::current_dir().unwrap().to_string_lossy());
    assert!(r.umask.is_some());
    assert_eq!(r.env_var("PATH"), std::env::var("PATH").ok().as_deref());
    let own_pid_ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    assert_eq!(
        format!("pid:[{}]", r.namespaces["pid"]),
        own_pid_ns.to_string_lossy()
    );
    assert!(r.namespaces.contains_key("mnt"));
    assert!(r.mount("/").is_some(), "root mount in {:?}", r.mounts);
    assert!(r.mounts.iter().any(|m| m.fs_type == "proc"));
    assert!(!r.cgroups.is_empty());
    assert_eq!(r.rlimits.len(), 16);
    let nofile = r.rlimits["RLIMIT_NOFILE"];
    assert!(nofile.soft.is_some() && nofile.soft <= nofile.hard || nofile.hard.is_none());
    assert!(r.fds.contains_key(&1), "stdout open: {:?}", r.fds);
    assert!(r.dev.iter().any(|d| d == "null"));
    assert!(r.oom_score_adj.is_some());
    assert!(r.seccomp.is_some());
    // The bounding set always names its bits, and effective is a subset.
    assert!(!r.caps.bounding.names.is_empty());
    assert_eq!(r.caps.effective.mask & !r.caps.bounding.mask, 0);
    assert!(r.errors.is_empty(), "probe errors: {:?}", r.errors);
}

#[test]
fn file_actions_report_success_and_errno() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    let f = file.to_str().unwrap();
    let (code, w) = action(&["write", f, "hello"]);
    assert_eq!((code, w.ok), (Some(0), true));
    let (_, r) = action(&["read", f]);
    assert_eq!(r.data["value"], "hello");
    let (_, s) = action(&["stat", f]);
    assert_eq!(s.data["type"], "file");
    assert_eq!(s.data["size"], 5);
    let (_, d) = action(&["stat", "/dev/null"]);
    assert_eq!(
        (d.data["type"].as_str(), d.data["major"].as_u64()),
        (Some("char"), Some(1))
    );
    let (_, l) = action(&["ls", dir.path().to_str().unwrap()]);
    assert_eq!(l.data["entries"], serde_json::json!(["f"]));
    let missing = dir.path().join("no/such");
    let (code, e) = action(&["read", missing.to_str().unwrap()]);
    assert_eq!((code, e.ok, e.errno), (Some(1), false, Some(libc_enoent())));
}

fn libc_enoent() -> i32 {
    rustix::io::Errno::NOENT.raw_os_error()
}

#[test]
fn exit_alloc_and_sysctl() {
    assert_eq!(probe(&["exit", "7"]).0, Some(7));
    let (code, a) = action(&["alloc", "4"]);
    assert_eq!((code, a.data["pages"].as_u64()), (Some(0), Some(1024)));
    let (_, s) = action(&["sysctl", "kernel.ostype"]);
    assert_eq!(s.data["value"], "Linux");
    assert_eq!(probe(&["no-such-command"]).0, Some(2));
}

#[test]
fn forkbomb_without_limit_stops_at_its_cap() {
    let (code, f) = action(&["forkbomb", "3"]);
    assert_eq!((code, f.ok), (Some(1), false));
    assert!(f.error.unwrap().contains("started 3"));
}

#[test]
fn bundle_holds_busybox_probe_and_config() {
    let mut bundle = Bundle::new().expect("make bundle");
    let root = bundle.rootfs();
    assert!(root.join("bin/busybox").is_file());
    assert_eq!(
        std::fs::read_link(root.join("bin/sh")).unwrap(),
        std::path::Path::new("busybox")
    );
    assert!(root.join("bin/wharf-probe").is_file());
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(passwd.contains("test:x:1000:1000"));
    bundle.set_probe_args(&["exit", "3"]).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(
        config["process"]["args"],
        serde_json::json!(["/bin/wharf-probe", "exit", "3"])
    );
    assert_eq!(config["root"]["path"], "rootfs");
    // The probe runs from the root filesystem: it is static.
    let out = Command::new(root.join("bin/wharf-probe"))
        .args(["exit", "0"])
        .status()
        .unwrap();
    assert!(out.success());
    let path = bundle.path().to_path_buf();
    drop(bundle);
    assert!(!path.exists(), "bundle dir removed on drop");
}
