//! Root tests of `wharf shim` on the real kernel: the real binary, a
//! busybox bundle, and the shim's socket protocol.

mod common;

use std::io::Write;
use std::net::Shutdown;

use common::{deframe, log_entries, read_all, Opts, TestShim};
use wharf_shim::proto::{ErrorKind, Request};
use wharf_testkit::{assert_no_leaks, Bundle};

fn bundle() -> Bundle {
    Bundle::new().expect("bundle")
}

#[test]
fn attach_framing_exit_code_log_and_cleanup() {
    let s = TestShim::start(
        "frame",
        bundle(),
        &["sh", "-c", "echo out; echo err >&2; echo '<&>'; exit 3"],
        Opts::default(),
    );
    let stream = s.attach(None, false);
    s.ok(&Request::Start);
    let (out, err) = deframe(&read_all(stream));
    assert_eq!(out, "out\n<&>\n");
    assert_eq!(err, "err\n");
    let exit = s.wait();
    assert_eq!(exit.exit_code, 3);
    assert!(!exit.oom_killed);
    assert_eq!(s.exit_file(), Some(exit.clone()));
    // Waiting again (or late) gets the same answer while the shim lives,
    // and the exit file once it is gone.
    let shim = s.shim_pid();
    assert!(
        s.shim_gone(shim),
        "the shim did not exit after its container"
    );
    assert!(!s.cfg.dir.join("shim.sock").exists());
    let entries = log_entries(&s.log_path());
    let got: Vec<(&str, &str)> = entries
        .iter()
        .map(|(l, st, _)| (l.as_str(), st.as_str()))
        .collect();
    assert!(got.contains(&("out\n", "stdout")), "{got:?}");
    assert!(got.contains(&("err\n", "stderr")), "{got:?}");
    assert!(got.contains(&("<&>\n", "stdout")), "{got:?}");
    let raw = std::fs::read_to_string(s.log_path()).unwrap();
    assert!(
        raw.contains(r#"{"log":"\u003c\u0026\u003e\n","stream":"stdout","time":""#),
        "{raw}"
    );
    for (_, _, time) in &entries {
        assert!(
            time.ends_with('Z') && time.len() >= 20 && time.as_bytes()[10] == b'T',
            "{time}"
        );
    }
    assert!(
        !s.cfg.runtime_root.join(&s.id).exists(),
        "runtime state left"
    );
    assert_no_leaks(&s.id, Some(s.bundle.path()));
}

#[test]
fn output_before_attach_goes_only_to_the_log() {
    let s = TestShim::start(
        "noattach",
        bundle(),
        &["sh", "-c", "echo early"],
        Opts::default(),
    );
    s.ok(&Request::Start);
    assert_eq!(s.wait().exit_code, 0);
    let entries = log_entries(&s.log_path());
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, "early\n");
    assert_eq!(entries[0].1, "stdout");
}

#[test]
fn tty_attach_is_raw_and_resize_applies() {
    let s = TestShim::start(
        "tty",
        bundle(),
        &["sh", "-c", "stty size; echo hi"],
        Opts {
            tty: true,
            ..Opts::default()
        },
    );
    s.ok(&Request::Resize {
        exec: None,
        height: 33,
        width: 101,
    });
    let stream = s.attach(None, false);
    s.ok(&Request::Start);
    let out = String::from_utf8(read_all(stream)).unwrap();
    assert_eq!(out, "33 101\r\nhi\r\n");
    assert_eq!(s.wait().exit_code, 0);
    let logged: String = log_entries(&s.log_path())
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(logged, "33 101\r\nhi\r\n");
    assert_no_leaks(&s.id, Some(s.bundle.path()));
}

#[test]
fn stdin_once_half_close_ends_stdin() {
    let s = TestShim::start(
        "stdin",
        bundle(),
        &["sh", "-c", "cat; echo done"],
        Opts {
            open_stdin: true,
            stdin_once: true,
            ..Opts::default()
        },
    );
    let mut stream = s.attach(None, true);
    s.ok(&Request::Start);
    stream.write_all(b"hello\nworld\n").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let (out, _) = deframe(&read_all(stream));
    assert_eq!(out, "hello\nworld\ndone\n");
    assert_eq!(s.wait().exit_code, 0);
}

#[test]
fn log_rotates_at_max_size() {
    let s = TestShim::start(
        "rotate",
        bundle(),
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 300 ]; do echo line-$i; i=$((i+1)); done",
        ],
        Opts {
            log: Some((2000, 3)),
            ..Opts::default()
        },
    );
    s.ok(&Request::Start);
    assert_eq!(s.wait().exit_code, 0);
    let path = s.log_path();
    let nth = |n: u32| std::path::PathBuf::from(format!("{}.{n}", path.display()));
    assert!(nth(1).exists() && nth(2).exists(), "rotated files missing");
    assert!(!nth(3).exists(), "more files than max-file");
    for p in [path.clone(), nth(1), nth(2)] {
        let size = std::fs::metadata(&p).unwrap().len();
        assert!(size < 2000 + 200, "{} is {size} bytes", p.display());
    }
    let current = log_entries(&path);
    assert_eq!(current.last().unwrap().0, "line-299\n");
    // Older lines are in .1, and every entry is whole JSON.
    let older = log_entries(&nth(1));
    let first_current: usize = current[0].0[5..].trim().parse().unwrap();
    let last_older: usize = older.last().unwrap().0[5..].trim().parse().unwrap();
    assert_eq!(last_older + 1, first_current);
}

#[test]
fn long_lines_are_split_at_16k() {
    let s = TestShim::start(
        "long",
        bundle(),
        &[
            "sh",
            "-c",
            "head -c 40000 /dev/zero | tr '\\0' x; echo; printf tail",
        ],
        Opts::default(),
    );
    s.ok(&Request::Start);
    assert_eq!(s.wait().exit_code, 0);
    let sizes: Vec<usize> = log_entries(&s.log_path())
        .iter()
        .map(|e| e.0.len())
        .collect();
    assert_eq!(sizes, vec![16384, 16384, 40000 - 2 * 16384 + 1, 4]);
}

#[test]
fn exec_runs_with_its_own_streams_and_exit_code() {
    let s = TestShim::start("exec", bundle(), &["sleep", "1000"], Opts::default());
    s.ok(&Request::Start);
    let mut process = s.bundle.spec().process().clone().unwrap();
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "echo exec-out; echo exec-err >&2; read x; echo got-$x; exit 5".into(),
    ]));
    let reply = s.ok(&Request::Exec {
        exec: "e1".into(),
        process: Box::new(process.clone()),
        tty: false,
        stdin: true,
        detach: false,
    });
    assert!(reply.pid.unwrap() > 0);
    let mut stream = s.attach(Some("e1"), true);
    stream.write_all(b"abc\n").unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let (out, err) = deframe(&read_all(stream));
    assert_eq!(out, "exec-out\ngot-abc\n");
    assert_eq!(err, "exec-err\n");
    let state = s.ok(&Request::ExecState { exec: "e1".into() });
    assert_eq!((state.running, state.exit_code), (Some(false), Some(5)));
    // The exec's output is not the container's log.
    assert!(log_entries(&s.log_path()).is_empty());
    // A tty exec: raw output.
    process.set_args(Some(vec!["sh".into(), "-c".into(), "tty; exit 7".into()]));
    s.ok(&Request::Exec {
        exec: "e2".into(),
        process: Box::new(process),
        tty: true,
        stdin: false,
        detach: false,
    });
    let out = String::from_utf8(read_all(s.attach(Some("e2"), false))).unwrap();
    assert!(out.starts_with("/dev/pts/"), "{out:?}");
    let state = s.ok(&Request::ExecState { exec: "e2".into() });
    assert_eq!(state.exit_code, Some(7));
    // Its exit was collected: the shim forgot it.
    for exec in ["nope", "e2"] {
        let (reply, _) = s.call(&Request::ExecState { exec: exec.into() });
        assert_eq!(reply.kind, Some(ErrorKind::NotFound), "{exec}");
    }
    s.ok(&Request::Kill {
        signal: 9,
        all: false,
    });
    assert_eq!(s.wait().exit_code, 137);
    assert_no_leaks(&s.id, Some(s.bundle.path()));
}

#[test]
fn oom_kill_is_reported() {
    let mut b = bundle();
    wharf_testkit::host::edit_spec(&mut b, |v| {
        v["linux"]["resources"]["memory"] =
            serde_json::json!({"limit": 16 << 20, "swap": 16 << 20});
    })
    .unwrap();
    let s = TestShim::start(
        "oom",
        b,
        &["sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1"],
        Opts::default(),
    );
    s.ok(&Request::Start);
    let exit = s.wait();
    assert_eq!(exit.exit_code, 137);
    assert!(exit.oom_killed, "{exit:?}");
    assert_no_leaks(&s.id, Some(s.bundle.path()));
}

#[test]
fn shim_outlives_its_parent_and_ignores_sigterm() {
    let s = TestShim::start(
        "orphan",
        bundle(),
        &["sh", "-c", "sleep 1000 & wait $!"],
        Opts::default(),
    );
    let shim = s.shim_pid();
    // The process the test started has exited: the shim is an orphan.
    let ppid = std::fs::read_to_string(format!("/proc/{shim}/stat")).unwrap();
    let ppid: i32 = ppid
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(ppid, std::process::id() as i32);
    for sig in [15, 2, 1] {
        wharf_sys::signal::kill(shim, sig).unwrap();
    }
    s.ok(&Request::Start);
    let state = s.ok(&Request::State);
    assert_eq!((state.pid, state.running), (Some(s.pid), Some(true)));
    assert!(common::alive(shim));
    // SIGTERM reaches the container's processes with its default action
    // (the shim's own disposition is not inherited): sleep dies of it.
    // Once sleep runs, that is (sh as pid 1 ignores SIGTERM).
    let rt = wharf_runtime::Runtime::new(&s.cfg.runtime_root);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rt.pids(&s.id).map_or(0, |p| p.len()) < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    s.ok(&Request::Kill {
        signal: 15,
        all: true,
    });
    assert_eq!(s.wait().exit_code, 143);
}

#[test]
fn no_descriptor_leaks_into_the_container_or_the_shim() {
    let s = TestShim::start(
        "fds",
        bundle(),
        &["sh", "-c", "ls /proc/self/fd; sleep 1000"],
        Opts::default(),
    );
    let mut stream = s.attach(None, false);
    s.ok(&Request::Start);
    // Init's listing first (it must be complete before the kill below).
    let mut init_raw = Vec::new();
    while !common::stdout_so_far(&init_raw).contains("3\n") {
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut stream, &mut buf).unwrap();
        assert!(n > 0, "init's stream ended early");
        init_raw.extend_from_slice(&buf[..n]);
    }
    let shim = s.shim_pid();
    let mut process = s.bundle.spec().process().clone().unwrap();
    process.set_args(Some(vec!["ls".into(), "/proc/self/fd".into()]));
    s.ok(&Request::Exec {
        exec: "fds".into(),
        process: Box::new(process),
        tty: false,
        stdin: false,
        detach: false,
    });
    let (exec_out, _) = deframe(&read_all(s.attach(Some("fds"), false)));
    // ls sees 0-2 and the directory it reads.
    assert_eq!(
        exec_out.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    // The shim holds no copy of the binary (memfd) and no stray pipes.
    for entry in std::fs::read_dir(format!("/proc/{shim}/fd"))
        .unwrap()
        .flatten()
    {
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        let t = target.to_string_lossy();
        assert!(!t.contains("memfd"), "shim holds {t}");
    }
    s.ok(&Request::Kill {
        signal: 9,
        all: false,
    });
    init_raw.extend_from_slice(&read_all(stream));
    let (init_out, _) = deframe(&init_raw);
    assert_eq!(
        init_out.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"]
    );
    assert_eq!(s.wait().exit_code, 137);
}

#[test]
fn a_failed_create_reports_the_error_and_leaves_nothing() {
    let mut b = bundle();
    b.set_args(&["/does/not/exist"]).unwrap();
    wharf_testkit::host::edit_spec(&mut b, |v| {
        v["root"]["path"] = serde_json::json!("no-such-rootfs");
    })
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let id = common::unique_id("fail");
    let cfg = wharf_shim::proto::ShimConfig {
        id: id.clone(),
        bundle: b.path().to_path_buf(),
        runtime_root: tmp.path().join("runtime"),
        dir: tmp.path().join("shim"),
        ..Default::default()
    };
    let err = common::launch(&cfg).expect_err("create must fail");
    assert!(err.contains(&id), "{err}");
    assert_no_leaks(&id, Some(b.path()));
}

#[test]
fn exec_output_waits_for_a_late_attach() {
    let s = TestShim::start("late", bundle(), &["sleep", "1000"], Opts::default());
    s.ok(&Request::Start);
    let mut process = s.bundle.spec().process().clone().unwrap();
    process.set_args(Some(vec![
        "sh".into(),
        "-c".into(),
        "head -c 1000000 /dev/zero | tr '\\0' a; exit 4".into(),
    ]));
    s.ok(&Request::Exec {
        exec: "big".into(),
        process: Box::new(process),
        tty: false,
        stdin: false,
        detach: false,
    });
    // More than the shim keeps: the exec waits on its pipe until we come
    // (or, if it was quick, what it wrote was all kept).
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (out, _) = deframe(&read_all(s.attach(Some("big"), false)));
    assert_eq!(out.len(), 1_000_000);
    assert!(out.bytes().all(|b| b == b'a'));
    let state = s.ok(&Request::ExecState { exec: "big".into() });
    assert_eq!(state.exit_code, Some(4));
    s.ok(&Request::Kill {
        signal: 9,
        all: false,
    });
    assert_eq!(s.wait().exit_code, 137);
}

#[test]
fn container_gets_default_signal_handling() {
    // A daemon started from a script in the background ignores SIGINT and
    // SIGQUIT; its containers must not.
    let mut b = bundle();
    b.set_args(&["cat", "/proc/self/status"]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let id = common::unique_id("sigs");
    let cfg = wharf_shim::proto::ShimConfig {
        id: id.clone(),
        bundle: b.path().to_path_buf(),
        runtime_root: tmp.path().join("runtime"),
        dir: tmp.path().join("shim"),
        log: Some(wharf_shim::proto::LogConfig {
            path: tmp.path().join("log"),
            max_size: 0,
            max_files: 1,
        }),
        ..Default::default()
    };
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.args(["-c", "trap '' INT QUIT USR1 PIPE; exec \"$0\" shim"])
        .arg(common::wharf());
    common::launch_with(&cfg, cmd).expect("shim starts");
    let (reply, _) = common::call(&cfg.dir, &Request::Start);
    assert!(reply.ok, "{reply:?}");
    let exit = common::try_call(&cfg.dir, &Request::Wait)
        .and_then(|(r, _)| r.as_exit())
        .or_else(|| {
            let data = std::fs::read(cfg.dir.join(wharf_shim::proto::EXIT_FILE)).ok()?;
            serde_json::from_slice(&data).ok()
        })
        .expect("an exit");
    assert_eq!(exit.exit_code, 0);
    let status: String = log_entries(&tmp.path().join("log"))
        .into_iter()
        .map(|e| e.0)
        .collect();
    for field in ["SigBlk", "SigIgn"] {
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("no {field} in {status}"));
        // The standard signals (1-31; 32 and 33 belong to the C library).
        let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
        assert_eq!(mask & 0x7fff_ffff, 0, "{line}");
    }
    assert_no_leaks(&id, Some(b.path()));
}

#[test]
fn stdin_sent_with_the_attach_request_is_kept() {
    let s = TestShim::start(
        "eager",
        bundle(),
        &["cat"],
        Opts {
            open_stdin: true,
            stdin_once: true,
            ..Opts::default()
        },
    );
    s.ok(&Request::Start);
    let mut stream = std::os::unix::net::UnixStream::connect(s.cfg.dir.join("shim.sock")).unwrap();
    // The request line and the first stdin bytes in one write.
    stream
        .write_all(b"{\"op\":\"attach\",\"stdin\":true,\"stdout\":true}\neager\n")
        .unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let all = read_all(stream);
    let end = all.iter().position(|b| *b == b'\n').unwrap();
    assert_eq!(&all[..end], b"{\"ok\":true}");
    assert_eq!(deframe(&all[end + 1..]).0, "eager\n");
    assert_eq!(s.wait().exit_code, 0);
}
