//! A shim under test: the real `wharf shim` started on a testkit bundle in
//! a temporary directory, and a blocking client of its socket. Drop kills
//! whatever is left (container and shim) and removes the directories.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wharf_shim::proto::{Exit, LogConfig, Reply, Request, ShimConfig, EXIT_FILE, PID_FILE, SOCKET};
use wharf_testkit::Bundle;

/// The `wharf` binary.
pub fn wharf() -> PathBuf {
    wharf_testkit::wharf_path().expect("wharf binary")
}

/// A unique container id.
pub fn unique_id(tag: &str) -> String {
    format!(
        "shimtest-{tag}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// A running shim and its container.
pub struct TestShim {
    pub id: String,
    pub tmp: tempfile::TempDir,
    pub cfg: ShimConfig,
    pub pid: i32,
    pub bundle: Bundle,
}

/// How to start a shim.
#[derive(Default, Clone)]
pub struct Opts {
    pub tty: bool,
    pub open_stdin: bool,
    pub stdin_once: bool,
    pub log: Option<(u64, u32)>,
}

impl TestShim {
    /// Starts `wharf shim` for `bundle` (with `args` as the process).
    pub fn start(tag: &str, mut bundle: Bundle, args: &[&str], o: Opts) -> TestShim {
        bundle.set_args(args).unwrap();
        if o.tty {
            if let Some(p) = bundle.spec_mut().process_mut() {
                p.set_terminal(Some(true));
            }
            bundle.write_config().unwrap();
        }
        let id = unique_id(tag);
        let tmp = tempfile::tempdir().unwrap();
        let cfg = ShimConfig {
            id: id.clone(),
            bundle: bundle.path().to_path_buf(),
            runtime_root: tmp.path().join("runtime"),
            dir: tmp.path().join("shim"),
            log: Some(LogConfig {
                path: tmp.path().join("log").join(format!("{id}-json.log")),
                max_size: o.log.map_or(0, |l| l.0),
                max_files: o.log.map_or(1, |l| l.1),
            }),
            tty: o.tty,
            open_stdin: o.open_stdin,
            stdin_once: o.stdin_once,
        };
        let pid = launch(&cfg).unwrap_or_else(|e| panic!("shim failed: {e}"));
        TestShim {
            id,
            tmp,
            cfg,
            pid,
            bundle,
        }
    }

    /// The shim's own pid.
    pub fn shim_pid(&self) -> i32 {
        std::fs::read_to_string(self.cfg.dir.join(PID_FILE))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    /// Sends a request; the reply and the connection.
    pub fn call(&self, req: &Request) -> (Reply, UnixStream) {
        call(&self.cfg.dir, req)
    }

    /// A request that must succeed.
    pub fn ok(&self, req: &Request) -> Reply {
        let (reply, _) = self.call(req);
        assert!(reply.ok, "{req:?} failed: {reply:?}");
        reply
    }

    /// Attaches to init (or an exec).
    pub fn attach(&self, exec: Option<&str>, stdin: bool) -> UnixStream {
        let (reply, stream) = self.call(&Request::Attach {
            exec: exec.map(str::to_string),
            stdin,
            stdout: true,
            stderr: true,
        });
        assert!(reply.ok, "attach failed: {reply:?}");
        stream
    }

    /// Waits for init's exit through the socket.
    pub fn wait(&self) -> Exit {
        match try_call(&self.cfg.dir, &Request::Wait) {
            Some((reply, _)) => reply.as_exit().expect("wait reply has an exit"),
            None => self.exit_file().expect("no socket and no exit file"),
        }
    }

    /// The exit file.
    pub fn exit_file(&self) -> Option<Exit> {
        let data = std::fs::read(self.cfg.dir.join(EXIT_FILE)).ok()?;
        serde_json::from_slice(&data).ok()
    }

    /// The log path.
    pub fn log_path(&self) -> PathBuf {
        self.cfg.log.as_ref().unwrap().path.clone()
    }

    /// Waits (up to 20 s) until the shim process is gone.
    pub fn shim_gone(&self, pid: i32) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if !alive(pid) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

/// Whether `pid` exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

impl Drop for TestShim {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(self.cfg.dir.join(PID_FILE)) {
            if let Ok(pid) = text.trim().parse::<i32>() {
                if alive(pid) && cmdline(pid).contains("shim") {
                    let _ = wharf_sys::signal::kill(pid, 9);
                }
            }
        }
        let rt = wharf_runtime::Runtime::new(&self.cfg.runtime_root);
        let _ = rt.delete(&self.id, true);
    }
}

fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

/// Runs `wharf shim` with `cfg`; the init pid or the shim's error.
pub fn launch(cfg: &ShimConfig) -> Result<i32, String> {
    let mut cmd = Command::new(wharf());
    cmd.arg("shim");
    launch_with(cfg, cmd)
}

/// Runs `cmd` (which runs `wharf shim`) with `cfg`.
pub fn launch_with(cfg: &ShimConfig, mut cmd: Command) -> Result<i32, String> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&serde_json::to_vec(cfg).unwrap()).unwrap();
    drop(stdin);
    let mut out = child.stdout.take().unwrap();
    let line = read_line(&mut out);
    let status = child.wait().unwrap();
    assert!(status.success(), "the first shim process failed: {status}");
    let launched: wharf_shim::proto::Launched = serde_json::from_slice(&line)
        .map_err(|e| format!("{e}: {:?}", String::from_utf8_lossy(&line)))?;
    match launched.pid {
        Some(pid) => Ok(pid),
        None => Err(launched.error.unwrap_or_default()),
    }
}

fn read_line(r: &mut impl Read) -> Vec<u8> {
    let mut line = Vec::new();
    let mut b = [0u8; 1];
    while let Ok(1) = r.read(&mut b) {
        if b[0] == b'\n' {
            break;
        }
        line.push(b[0]);
    }
    line
}

/// One request to the shim in `dir`.
pub fn call(dir: &Path, req: &Request) -> (Reply, UnixStream) {
    try_call(dir, req).expect("connect to the shim")
}

/// One request, or None when the shim's socket is gone.
pub fn try_call(dir: &Path, req: &Request) -> Option<(Reply, UnixStream)> {
    let mut s = UnixStream::connect(dir.join(SOCKET)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut line = serde_json::to_vec(req).unwrap();
    line.push(b'\n');
    s.write_all(&line).unwrap();
    let reply = read_line(&mut s);
    let reply: Reply = serde_json::from_slice(&reply).unwrap_or_else(|e| {
        let pid = std::fs::read_to_string(dir.join(PID_FILE)).unwrap_or_default();
        let alive = pid.trim().parse().is_ok_and(alive);
        panic!(
            "bad reply to {req:?} {:?}: {e} (shim {pid} alive: {alive})",
            String::from_utf8_lossy(&reply)
        )
    });
    Some((reply, s))
}

/// Reads an attach stream to its end.
pub fn read_all(mut s: UnixStream) -> Vec<u8> {
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read the attach stream");
    out
}

/// Splits Docker framing into (stdout, stderr).
pub fn deframe(data: &[u8]) -> (String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut rest = data;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        assert_eq!(&rest[1..4], &[0, 0, 0], "bad frame header");
        let payload = &rest[8..8 + len];
        match rest[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            s => panic!("bad stream {s}"),
        }
        rest = &rest[8 + len..];
    }
    assert!(rest.is_empty(), "trailing bytes in the stream");
    (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// The log's entries: (log text, stream, time).
pub fn log_entries(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("log line is JSON");
            (
                v["log"].as_str().unwrap_or("").to_string(),
                v["stream"].as_str().unwrap().to_string(),
                v["time"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The stdout of the complete frames at the start of `data`.
pub fn stdout_so_far(data: &[u8]) -> String {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        if rest.len() < 8 + len {
            break;
        }
        if rest[0] == 1 {
            out.extend_from_slice(&rest[8..8 + len]);
        }
        rest = &rest[8 + len..];
    }
    String::from_utf8_lossy(&out).into_owned()
}
