//! `exec` end to end: the process joins the container (its namespaces are
//! init's), in the args form and from `--process` JSON, with a terminal
//! through `--console-socket`, `--pid-file`, `--detach`, `--cwd`, `--env`,
//! `--user` and `--cap`; its exit status is exec's; a stopped container
//! refuses exec. Runs `wharf runtime`; `WHARF_TEST_RUNTIME=/usr/sbin/runc`
//! runs them on runc.

use std::fs;
use std::time::Duration;

use serde_json::json;
use wharf_testkit::console::read_master_until;
use wharf_testkit::host::{ns_inode, seccomp_mount_errno, wait_for, MOUNT_ERRNO};
use wharf_testkit::{
    action_in, assert_no_leaks, report_in, Bundle, ConsoleSocket, Report, Runtime,
};

/// A running container (`wharf-probe sleep 60`) to exec into; deleted
/// (and checked for leaks) on drop.
struct Target {
    rt: Runtime,
    bundle: Bundle,
    id: String,
    pid: i32,
}

impl Target {
    fn new(tag: &str) -> Target {
        let rt = Runtime::new().expect("runtime");
        let bundle = Bundle::sleeper().expect("bundle");
        let id = rt.unique_id(tag);
        rt.create_ok(&bundle, &id).expect("create");
        rt.run_ok(&["start", &id]).expect("start");
        let pid = rt.state(&id).expect("state").pid.expect("pid");
        Target {
            rt,
            bundle,
            id,
            pid,
        }
    }

    /// `exec <flags> ID <command>`; panics unless it exits 0.
    fn exec_ok(&self, flags: &[&str], command: &[&str]) -> String {
        let out = self.exec(flags, command);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "exec {flags:?} {command:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn exec(&self, flags: &[&str], command: &[&str]) -> std::process::Output {
        let mut args = vec!["exec"];
        args.extend_from_slice(flags);
        args.push(&self.id);
        args.extend_from_slice(command);
        self.rt.run(&args).expect("exec")
    }

    /// Checks that `r` came from a process in the container's namespaces.
    fn assert_inside(&self, r: &Report) {
        assert_ne!(r.pid, 1, "not init");
        for ns in ["pid", "mnt", "net", "ipc", "uts", "cgroup"] {
            let init = ns_inode(&self.pid.to_string(), ns);
            assert_eq!(
                r.namespaces.get(ns).copied(),
                init,
                "{ns} namespace of init"
            );
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.rt.run(&["delete", "--force", &self.id]);
        if !std::thread::panicking() {
            assert_no_leaks(&self.id, Some(self.bundle.path()));
        }
    }
}

#[test]
fn exec_args_form_joins_the_container() {
    let t = Target::new("exec-args");
    let r = report_in(&t.exec_ok(&[], &["/bin/wharf-probe", "report"]));
    t.assert_inside(&r);
    assert_eq!(r.hostname, "wharf-test");
    assert_eq!(r.cwd, "/");
    assert!(r.no_new_privs, "the spec's noNewPrivileges");
    assert_eq!(r.seccomp, Some(0), "no profile in the spec");
}

#[test]
fn exec_process_json() {
    let t = Target::new("exec-json");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("process.json");
    let process = json!({
        "terminal": false,
        "user": { "uid": 1000, "gid": 1000, "additionalGids": [100] },
        "args": ["/bin/wharf-probe", "report"],
        "env": ["PATH=/bin", "FROM=process-json"],
        "cwd": "/home/test",
        "noNewPrivileges": true,
        "capabilities": {
            "bounding": ["CAP_KILL"], "effective": ["CAP_KILL"], "permitted": ["CAP_KILL"]
        },
    });
    fs::write(&path, process.to_string()).expect("process.json");
    let p = path.to_string_lossy().into_owned();
    let r = report_in(&t.exec_ok(&["--process", &p], &[]));
    t.assert_inside(&r);
    assert_eq!(r.env_var("FROM"), Some("process-json"));
    assert_eq!(r.cwd, "/home/test");
    assert_eq!((r.uid, r.gid), (1000, 1000));
    assert_eq!(r.groups, [100]);
    assert_eq!(r.caps.bounding.names, ["CAP_KILL"]);
}

#[test]
fn exec_with_a_terminal_through_the_console_socket() {
    let t = Target::new("exec-tty");
    let console = ConsoleSocket::new().expect("console socket");
    let receiver = console.receive_in_background().expect("listen");
    let sock = console.path().to_string_lossy().into_owned();
    // As engines do it: detached, so the runtime hands the pty master over
    // and returns (runc accepts --console-socket only with --detach).
    let out = t.exec(
        &["--detach", "--tty", "--console-socket", &sock],
        &["/bin/wharf-probe", "tty"],
    );
    assert!(
        out.status.success(),
        "exec: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (master, _) = receiver.join().expect("receiver").expect("pty master");
    let text = read_master_until(master, "}", Duration::from_secs(30));
    let tty = action_in(&text);
    assert_eq!(tty.data["stdin"], json!(true), "{text:?}");
    assert_eq!(tty.data["stdout"], json!(true));
    assert!(
        tty.data["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("/dev/pts/")),
        "{tty:?}"
    );
}

#[test]
fn exec_detach_with_a_pid_file() {
    let t = Target::new("exec-detach");
    let dir = tempfile::tempdir().expect("tempdir");
    let pid_file = dir.path().join("exec.pid");
    let p = pid_file.to_string_lossy().into_owned();
    t.exec_ok(
        &["--detach", "--pid-file", &p],
        &["/bin/wharf-probe", "sleep", "60"],
    );
    let pid: i32 = fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid");
    assert_ne!(pid, t.pid);
    // The detached process runs on, in the container.
    assert!(
        fs::metadata(format!("/proc/{pid}")).is_ok(),
        "{pid} running"
    );
    assert_eq!(
        ns_inode(&pid.to_string(), "pid"),
        ns_inode(&t.pid.to_string(), "pid")
    );
    let listed = wait_for(Duration::from_secs(10), || {
        let out = t.rt.run_ok(&["ps", "--format", "json", &t.id]).ok()?;
        let pids: Vec<i32> = serde_json::from_slice(&out.stdout).ok()?;
        pids.contains(&pid).then_some(pids)
    });
    assert!(listed.is_some(), "ps lists the exec'd process {pid}");
}

#[test]
fn exec_cwd_env_and_user_flags() {
    let t = Target::new("exec-flags");
    let r = report_in(&t.exec_ok(
        &[
            "--cwd",
            "/tmp",
            "--env",
            "GREETING=hi there",
            "--env",
            "SECOND=2",
            "--user",
            "1000:100",
        ],
        &["/bin/wharf-probe", "report"],
    ));
    t.assert_inside(&r);
    assert_eq!(r.cwd, "/tmp");
    assert_eq!(r.env_var("GREETING"), Some("hi there"));
    assert_eq!(r.env_var("SECOND"), Some("2"));
    assert_eq!((r.uid, r.gid), (1000, 100));
}

#[test]
fn exec_cap_adds_a_capability() {
    let t = Target::new("exec-cap");
    let plain = report_in(&t.exec_ok(&[], &["/bin/wharf-probe", "report"]));
    assert!(
        !plain.caps.bounding.has("CAP_SYS_ADMIN"),
        "not in Docker's set"
    );
    let r = report_in(&t.exec_ok(&["--cap", "CAP_SYS_ADMIN"], &["/bin/wharf-probe", "report"]));
    for (name, set) in [
        ("bounding", &r.caps.bounding),
        ("effective", &r.caps.effective),
        ("permitted", &r.caps.permitted),
    ] {
        assert!(set.has("CAP_SYS_ADMIN"), "{name}: {:?}", set.names);
        assert!(
            set.has("CAP_CHOWN"),
            "{name} keeps the spec's: {:?}",
            set.names
        );
    }
}

#[test]
fn exec_exit_status_propagates() {
    let t = Target::new("exec-exit");
    for code in [0, 1, 9, 77] {
        let c = code.to_string();
        let out = t.exec(&[], &["/bin/wharf-probe", "exit", &c]);
        assert_eq!(out.status.code(), Some(code), "exit {code}");
    }
}

#[test]
fn exec_in_a_stopped_container_fails_clearly() {
    let t = Target::new("exec-stopped");
    t.rt.run_ok(&["kill", &t.id, "KILL"]).expect("kill");
    t.rt.wait_status(&t.id, "stopped").expect("stopped");
    let out = t.exec(&[], &["/bin/wharf-probe", "report"]);
    assert!(!out.status.success(), "exec into a stopped container");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stopped") || stderr.contains("not running"),
        "says why: {stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('{'),
        "nothing ran"
    );
}

#[test]
fn exec_additional_gids_and_no_new_privs() {
    let t = Target::new("exec-gids");
    let r = report_in(&t.exec_ok(
        &[
            "--user",
            "1000:1000",
            "--additional-gids",
            "100",
            "--additional-gids",
            "5",
            "--no-new-privs",
        ],
        &["/bin/wharf-probe", "report"],
    ));
    let mut groups = r.groups.clone();
    groups.sort();
    assert_eq!(groups, [5, 100]);
    assert!(r.no_new_privs);
}

#[test]
fn exec_preserve_fds_passes_an_extra_descriptor() {
    let t = Target::new("exec-fds");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("exec-passed.txt");
    fs::write(&file, "x").expect("file");
    let cmd = t.rt.command(&[
        "exec",
        "--preserve-fds",
        "1",
        &t.id,
        "/bin/wharf-probe",
        "report",
    ]);
    wharf_testkit::host::check_fd3_passed(&cmd, &file);
}

#[test]
fn exec_detached_terminal_without_a_console_socket_fails_clearly() {
    // In the foreground a runtime may hold the pty itself and copy it to
    // its own stdio (runc does); detached, nobody would, so it is refused.
    let t = Target::new("exec-notty");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("process.json");
    let process = json!({
        "terminal": true,
        "user": { "uid": 0, "gid": 0 },
        "args": ["/bin/wharf-probe", "report"],
        "cwd": "/",
    });
    fs::write(&path, process.to_string()).expect("process.json");
    let p = path.to_string_lossy().into_owned();
    let out = t.exec(&["--detach", "--process", &p], &[]);
    assert!(!out.status.success(), "a terminal needs a console socket");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("console"), "says why: {stderr}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains('{'),
        "nothing ran"
    );
}

#[test]
fn exec_relative_pid_file_is_from_the_callers_directory() {
    let t = Target::new("exec-relpid");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = t.rt.command(&[
        "exec",
        "--detach",
        "--pid-file",
        "rel.pid",
        &t.id,
        "/bin/wharf-probe",
        "sleep",
        "60",
    ]);
    cmd.current_dir(dir.path());
    let out =
        wharf_testkit::output_with_timeout(&mut cmd, dir.path(), "exec", Duration::from_secs(60))
            .expect("exec");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pid: i32 = fs::read_to_string(dir.path().join("rel.pid"))
        .expect("pid file in the caller's directory")
        .trim()
        .parse()
        .expect("a pid");
    assert_eq!(
        ns_inode(&pid.to_string(), "pid"),
        ns_inode(&t.pid.to_string(), "pid")
    );
}

#[test]
fn exec_tty_in_the_foreground_proxies_the_pty() {
    // Without --console-socket the runtime holds the master and copies it
    // to its own stdio. (runc does too, but only from a terminal: it opens
    // /dev/tty, which a test has not.)
    if std::env::var_os("WHARF_TEST_RUNTIME").is_some() {
        return;
    }
    let t = Target::new("exec-proxy");
    let stdout = t.exec_ok(&["--tty"], &["/bin/wharf-probe", "tty"]);
    let tty = action_in(&stdout);
    assert_eq!(tty.data["stdin"], json!(true), "{stdout:?}");
    assert_eq!(tty.data["stdout"], json!(true));
    assert_eq!(tty.data["stderr"], json!(true));
}

#[test]
fn exec_gets_the_containers_seccomp_filter() {
    let rt = Runtime::new().expect("runtime");
    let mut bundle = Bundle::sleeper().expect("bundle");
    wharf_testkit::host::edit_spec(&mut bundle, |v| {
        v["linux"]["seccomp"] = seccomp_mount_errno();
    })
    .expect("config");
    let id = rt.unique_id("exec-seccomp");
    rt.create_ok(&bundle, &id).expect("create");
    rt.run_ok(&["start", &id]).expect("start");
    let out = rt
        .run_ok(&["exec", &id, "/bin/wharf-probe", "report"])
        .expect("exec report");
    assert_eq!(
        report_in(&String::from_utf8_lossy(&out.stdout)).seccomp,
        Some(2)
    );
    let out = rt
        .run(&["exec", &id, "/bin/wharf-probe", "mount-tmpfs", "/tmp"])
        .expect("exec mount");
    let result = action_in(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(result.errno, Some(MOUNT_ERRNO as i32), "{result:?}");
    rt.run_ok(&["delete", "--force", &id]).expect("delete");
    assert_no_leaks(&id, Some(bundle.path()));
}

#[test]
fn exec_env_starts_from_the_spec_and_env_flags_override() {
    let t = Target::new("exec-env");
    let r = report_in(&t.exec_ok(
        &["--env", "TERM=dumb", "--env", "EXTRA=1"],
        &["/bin/wharf-probe", "report"],
    ));
    let spec_path = t
        .bundle
        .spec()
        .process()
        .as_ref()
        .and_then(|p| p.env().as_ref())
        .and_then(|env| env.iter().find_map(|e| e.strip_prefix("PATH=")))
        .expect("the spec sets PATH")
        .to_string();
    assert_eq!(r.env_var("PATH"), Some(spec_path.as_str()), "from the spec");
    assert_eq!(r.env_var("TERM"), Some("dumb"), "--env overrides the spec");
    assert_eq!(r.env_var("EXTRA"), Some("1"));
}
