//! Filters loaded into the real kernel.
//!
//! A filter can never be removed, and some actions kill, so every scenario
//! runs in a child: this test binary started again with only the same test
//! selected and the scenario named in an environment variable, which makes
//! the test run the scenario instead of starting a child. The child sets
//! `no_new_privs`, installs a filter, makes real system calls and reports
//! through its exit status and stderr.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::net::UdpSocket;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use oci_spec::runtime::LinuxSeccomp;
use serde_json::json;
use wharf_seccomp::{compile, docker_default};

const CHILD_ENV: &str = "WHARF_SECCOMP_TEST_CHILD";
const SIGSYS: i32 = 31;

/// In the parent: runs `test` again as a child that plays `scenario`. In
/// that child (the environment variable is set): plays it and exits.
fn run_child(test: &str, scenario: &str) -> Output {
    if std::env::var_os(CHILD_ENV).is_some() {
        child_main();
    }
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .output()
        .expect("start child")
}

fn assert_child_ok(test: &str, scenario: &str) {
    let out = run_child(test, scenario);
    assert!(
        out.status.success(),
        "scenario {scenario} failed: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn errno_actions_and_argument_filters() {
    assert_child_ok("errno_actions_and_argument_filters", "errno");
}

#[test]
fn kill_process_kills_with_sigsys() {
    let out = run_child("kill_process_kills_with_sigsys", "kill_process");
    assert_eq!(
        out.status.signal(),
        Some(SIGSYS),
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn log_action_allows() {
    assert_child_ok("log_action_allows", "log");
}

#[test]
fn notify_returns_listener_fd() {
    assert_child_ok("notify_returns_listener_fd", "listener");
}

#[test]
fn notify_round_trip() {
    assert_child_ok("notify_round_trip", "notify");
}

#[test]
fn docker_default_profile_on_kernel() {
    assert_child_ok("docker_default_profile_on_kernel", "docker");
}

#[test]
fn tsync_filters_other_threads() {
    assert_child_ok("tsync_filters_other_threads", "tsync");
}

#[test]
fn without_tsync_other_threads_are_unfiltered() {
    assert_child_ok("without_tsync_other_threads_are_unfiltered", "no_tsync");
}

/// A child's work: the scenario named in the environment; never returns.
fn child_main() -> ! {
    let scenario = std::env::var(CHILD_ENV).unwrap_or_default();
    let result = match scenario.as_str() {
        "errno" => errno(),
        "kill_process" => kill_process(),
        "log" => log(),
        "listener" => listener(),
        "notify" => notify(),
        "docker" => docker(),
        "tsync" => tsync(true),
        "no_tsync" => tsync(false),
        other => Err(format!("unknown scenario {other}")),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{scenario}: {e}");
            std::process::exit(1)
        }
    }
}

fn install(profile: serde_json::Value) -> Result<Option<std::os::fd::OwnedFd>, String> {
    let profile: LinuxSeccomp = serde_json::from_value(profile).map_err(|e| e.to_string())?;
    install_profile(&profile)
}

fn install_profile(profile: &LinuxSeccomp) -> Result<Option<std::os::fd::OwnedFd>, String> {
    rustix::thread::set_no_new_privs(true).map_err(|e| format!("no_new_privs: {e}"))?;
    let filter = compile(profile).map_err(|e| format!("compile: {e}"))?;
    filter.install().map_err(|e| format!("install: {e:?}"))
}

fn expect_errno<T: std::fmt::Debug>(
    what: &str,
    r: std::io::Result<T>,
    errno: i32,
) -> Result<(), String> {
    match r {
        Err(e) if e.raw_os_error() == Some(errno) => Ok(()),
        other => Err(format!("{what}: expected errno {errno}, got {other:?}")),
    }
}

fn expect_ok<T: std::fmt::Debug>(what: &str, r: std::io::Result<T>) -> Result<T, String> {
    r.map_err(|e| format!("{what}: expected success, got {e}"))
}

fn errno() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("wharf-seccomp-{}", std::process::id()));
    install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
            {"names": ["socket"], "action": "SCMP_ACT_ERRNO", "errnoRet": 97,
             "args": [{"index": 0, "value": 10, "op": "SCMP_CMP_EQ"}]},
            {"names": ["lseek"], "action": "SCMP_ACT_ERRNO", "errnoRet": 33,
             "args": [{"index": 1, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_GE"}]}
        ]
    }))?;
    expect_errno("getcwd", std::env::current_dir(), 42)?;
    expect_errno("mkdir", std::fs::create_dir(&dir), 1)?;
    let uts = rustix::system::uname();
    if uts.sysname().to_bytes() != b"Linux" {
        return Err("uname: not Linux".into());
    }
    expect_errno("socket(AF_INET6)", UdpSocket::bind("[::1]:0"), 97)?;
    expect_ok("socket(AF_INET)", UdpSocket::bind("127.0.0.1:0"))?;
    let mut f = expect_ok("open", File::open("/proc/self/status"))?;
    expect_ok("lseek 5", f.seek(SeekFrom::Start(5)))?;
    expect_ok("lseek 0xffffffff", f.seek(SeekFrom::Start(0xffff_ffff)))?;
    expect_errno("lseek 1<<32", f.seek(SeekFrom::Start(0x1_0000_0000)), 33)?;
    Ok(())
}

fn kill_process() -> Result<(), String> {
    // No core file from the expected SIGSYS.
    let zero = rustix::process::Rlimit {
        current: Some(0),
        maximum: Some(0),
    };
    rustix::process::setrlimit(rustix::process::Resource::Core, zero).map_err(|e| e.to_string())?;
    install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL_PROCESS"}]
    }))?;
    let r = std::env::current_dir();
    Err(format!("still alive after getcwd: {r:?}"))
}

fn log() -> Result<(), String> {
    install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_LOG"}]
    }))?;
    expect_ok("getcwd", std::env::current_dir())?;
    Ok(())
}

fn listener() -> Result<(), String> {
    let sizes = wharf_sys::seccomp::get_notif_sizes().map_err(|e| e.to_string())?;
    if sizes.data != 64 || sizes.notif < 80 || sizes.resp < 24 {
        return Err(format!("odd notification sizes {sizes:?}"));
    }
    let fd = install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"],
        "syscalls": [{"names": ["acct"], "action": "SCMP_ACT_NOTIFY"}]
    }))?
    .ok_or("no listener fd returned")?;
    use std::os::fd::AsRawFd;
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| e.to_string())?;
    if link.to_string_lossy() != "anon_inode:seccomp notify" {
        return Err(format!("listener fd is {link:?}"));
    }
    Ok(())
}

fn notify() -> Result<(), String> {
    use wharf_sys::seccomp::{notif_id_valid, notif_recv, notif_send, NotifResponse};
    let fd = install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_NOTIFY"}]
    }))?
    .ok_or("no listener fd returned")?;
    // The thread inherits the filter; its getcwd calls wait for this thread.
    let thread = std::thread::spawn(|| {
        let first = std::env::current_dir().map_err(|e| e.raw_os_error());
        let second = std::env::current_dir().map_err(|e| e.raw_os_error());
        (first, second)
    });
    use std::os::fd::AsFd;
    let n = notif_recv(fd.as_fd()).map_err(|e| format!("recv: {e}"))?;
    if n.nr != 79 || n.arch != wharf_seccomp::AUDIT_ARCH_X86_64 || n.pid == 0 {
        return Err(format!("unexpected notification {n:?}"));
    }
    if !notif_id_valid(fd.as_fd(), n.id).map_err(|e| e.to_string())? {
        return Err("pending notification reported invalid".into());
    }
    notif_send(fd.as_fd(), n.id, NotifResponse::Error(2)).map_err(|e| format!("send: {e}"))?;
    let n = notif_recv(fd.as_fd()).map_err(|e| format!("recv: {e}"))?;
    notif_send(fd.as_fd(), n.id, NotifResponse::Continue).map_err(|e| format!("send: {e}"))?;
    match thread.join().map_err(|_| "thread panicked")? {
        (Err(Some(2)), Ok(_)) => Ok(()),
        other => Err(format!("getcwd results {other:?}")),
    }
}

fn docker() -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("wharf-seccomp-docker-{}", std::process::id()));
    install_profile(&docker_default())?;
    expect_ok("getcwd", std::env::current_dir())?;
    expect_ok("mkdir", std::fs::create_dir(&dir))?;
    expect_ok("rmdir", std::fs::remove_dir(&dir))?;
    expect_errno(
        "mount",
        rustix::mount::mount(
            "none",
            "/",
            "tmpfs",
            rustix::mount::MountFlags::empty(),
            None,
        )
        .map_err(Into::into),
        1,
    )?;
    expect_errno(
        "sethostname",
        rustix::system::sethostname(b"x").map_err(Into::into),
        1,
    )?;
    // glibc tries clone3 first (ENOSYS here) and falls back to clone.
    let t = std::thread::spawn(|| 7)
        .join()
        .map_err(|_| "thread panicked")?;
    if t != 7 {
        return Err("thread result".into());
    }
    let status = expect_ok("spawn /bin/true", Command::new("/bin/true").status())?;
    if !status.success() {
        return Err(format!("/bin/true: {status:?}"));
    }
    expect_ok("socket(AF_INET)", UdpSocket::bind("127.0.0.1:0"))?;
    Ok(())
}

fn tsync(flag: bool) -> Result<(), String> {
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        go_rx.recv().ok();
        std::env::current_dir().map_err(|e| e.raw_os_error())
    });
    let flags: &[&str] = if flag {
        &["SECCOMP_FILTER_FLAG_TSYNC"]
    } else {
        &[]
    };
    install(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "flags": flags,
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}]
    }))?;
    expect_errno("getcwd in this thread", std::env::current_dir(), 42)?;
    go_tx.send(()).map_err(|e| e.to_string())?;
    match (flag, thread.join().map_err(|_| "thread panicked")?) {
        (true, Err(Some(42))) | (false, Ok(_)) => Ok(()),
        (_, other) => Err(format!("other thread with tsync={flag}: {other:?}")),
    }
}
