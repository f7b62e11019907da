//! A private `wharf daemon` for tests that drive Wharf's engine with real
//! clients, and the [`Engine`] trait that lets one scenario run against it
//! and against a private dockerd ([`Dockerd`](crate::dockerd::Dockerd)) alike.
//!
//! [`WharfDaemon::start`] runs `wharf daemon` with everything of its own
//! under one temporary directory: data root, exec root, socket, pid file
//! and log. [`Engine::docker`] runs the docker CLI 28 against it,
//! [`Engine::curl`] / [`Engine::api`] speak the raw API through curl.
//!
//! Dropping the fixture stops the daemon (SIGTERM, then SIGKILL) and then
//! removes what its containers left: every process whose command line,
//! working directory or open files name the directory (the shims hold
//! their sockets and logs there) or whose cgroup names a container of the
//! daemon, the cgroups `/wharf/<id>`, every mount below the directory, and
//! the directory itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::dockerd::DOCKER;
pub use crate::fixture::ping;
use crate::fixture::{
    daemon_command, fixture_dir, log_tail, stop_child, wait_ready, write_file, DaemonFiles,
    PrepareError, STOP_TIMEOUT,
};
use crate::leaks::{remove_leftovers, unmount_under};
use crate::netns::{FixtureNetns, NetnsError};
use crate::output::{explain, run_with_input, stdout_text, Collector};
use crate::paths::{wharf_path, LocateError};
use crate::runtime::output_with_timeout;

/// `wharf daemon`'s files in its directory.
const FILES: DaemonFiles = DaemonFiles {
    subcommand: &["daemon"],
    socket: "wharf.sock",
    pidfile: "wharf.pid",
    log: "daemon.log",
};

/// How long one client command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Numbers the output files of client commands, which may run in parallel.
static COMMANDS: AtomicUsize = AtomicUsize::new(0);

/// Errors starting the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The `wharf` binary could not be found or built.
    #[error("failed to locate the wharf binary")]
    Locate(#[from] LocateError),
    /// The temporary directory or a file in it could not be made.
    #[error(transparent)]
    Prepare(#[from] PrepareError),
    /// Its network namespace could not be made.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// The daemon could not be spawned.
    #[error("failed to run {path} daemon")]
    Spawn {
        /// The wharf binary.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The daemon exited or never answered; `log` is the end of its log.
    #[error("wharf daemon did not answer /_ping; its log ends with:\n{log}")]
    NotReady {
        /// The last lines of the daemon's log.
        log: String,
    },
}

/// One HTTP response of the raw API, as curl received it.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// The status code (0 when curl got no response).
    pub status: u16,
    /// The headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ApiResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `message` of a Docker error body.
    pub fn message(&self) -> String {
        self.json()["message"].as_str().unwrap_or("").to_string()
    }
}

/// A Docker-compatible daemon under test: Wharf's or Docker's. `Sync`, so
/// that a scenario may drive it from several threads.
pub trait Engine: Sync {
    /// `"wharf"` or `"dockerd"`, for messages and names.
    fn kind(&self) -> &'static str;

    /// The daemon's unix socket.
    fn socket(&self) -> PathBuf;

    /// A directory of the fixture where tests may put files (contexts,
    /// archives); removed with the fixture.
    fn scratch(&self) -> PathBuf;

    /// The daemon's exec root.
    fn exec_root(&self) -> PathBuf;

    /// The file of the network namespace the daemon runs in; None: the
    /// caller's own (a dockerd without networking).
    fn netns(&self) -> Option<PathBuf> {
        None
    }

    /// Runs `args` (a host-side command: `wget`, `curl`, `ip`, `nft`) in
    /// the daemon's network namespace, where its published ports are
    /// reached through 127.0.0.1; returns its output whatever its status.
    fn host_cmd(&self, args: &[&str]) -> Output {
        crate::netns::run_host(self.netns().as_deref(), args, &self.scratch())
    }

    /// What networking left in the daemon's namespace and exec root (see
    /// [`net_leftovers`](crate::netns::net_leftovers)); compare two calls.
    fn net_leftovers(&self) -> Vec<String> {
        crate::netns::net_leftovers(self.netns().as_deref(), &self.exec_root(), &self.scratch())
    }

    /// The `DOCKER_HOST` value.
    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// A `docker` command aimed at this daemon (DOCKER_HOST and a private
    /// DOCKER_CONFIG set), not yet run.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DOCKER);
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.scratch().join(".docker-cli"))
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_API_VERSION");
        cmd
    }

    /// Runs `docker args…` (no stdin, five minutes at most) and returns its
    /// output whatever its exit status.
    fn docker(&self, args: &[&str]) -> Output {
        run_quiet(self.command(args), &self.scratch(), "docker", args)
    }

    /// Runs `docker args…` and panics with its stderr unless it exits 0;
    /// returns its stdout.
    fn docker_ok(&self, args: &[&str]) -> String {
        ok_or_panic(self.kind(), "docker", args, self.docker(args))
    }

    /// Runs `docker args…` expecting a refusal: panics unless it exits
    /// non-zero with `needle` in its stderr; returns its output.
    fn docker_fails(&self, args: &[&str], needle: &str) -> Output {
        let out = self.docker(args);
        assert!(
            !out.status.success() && String::from_utf8_lossy(&out.stderr).contains(needle),
            "docker {} against {} should fail saying {needle:?}; {}",
            args.join(" "),
            self.kind(),
            explain(&out)
        );
        out
    }

    /// [`Engine::docker`] with extra environment variables
    /// (`DOCKER_BUILDKIT=0` for the classic builder).
    fn docker_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        run_quiet(cmd, &self.scratch(), "docker", args)
    }

    /// Runs `docker args…` with `input` on its stdin.
    fn docker_input(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_input(self.command(args), input)
    }

    /// Starts `docker args…` with its stdout collected in the background,
    /// for commands that follow (`events`, `stats`, `logs -f`).
    fn docker_follow(&self, args: &[&str]) -> Following {
        Following::spawn(self.command(args))
    }

    /// Runs `curl -sS --unix-socket <socket> args…`.
    fn curl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--max-time", "120", "--unix-socket"])
            .arg(self.socket())
            .args(args);
        run_quiet(cmd, &self.scratch(), "curl", args)
    }

    /// One API request through curl: `method path` (`/containers/json`,
    /// `/v1.41/…`) with `body` as JSON when given.
    fn api(&self, method: &str, path: &str, body: Option<&[u8]>) -> ApiResponse {
        self.api_typed(method, path, body, "application/json")
    }

    /// [`Engine::api`] with the body's `Content-Type` (`application/x-tar`
    /// for the archive and image endpoints).
    fn api_typed(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        content_type: &str,
    ) -> ApiResponse {
        let url = format!("http://localhost{path}");
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-i", "--max-time", "120", "--unix-socket"])
            .arg(self.socket())
            .args(["-X", method, "-H", "Expect:"]);
        if method == "HEAD" {
            cmd.arg("-I");
        }
        let out = match body {
            Some(b) => {
                cmd.arg("-H")
                    .arg(format!("Content-Type: {content_type}"))
                    .args(["--data-binary", "@-", &url]);
                run_with_input(cmd, b)
            }
            None => {
                cmd.arg(&url);
                run_quiet(cmd, &self.scratch(), "curl", &[method, path])
            }
        };
        parse_response(&out.stdout)
    }

    /// `GET /containers/<name>/json`, which must answer 200: the
    /// container's inspect object.
    fn inspect(&self, name: &str) -> serde_json::Value {
        let r = self.api("GET", &format!("/containers/{name}/json"), None);
        assert_eq!(
            r.status,
            200,
            "inspect {name} on {}: {}",
            self.kind(),
            r.text()
        );
        r.json()
    }

    /// Imports the busybox root filesystem as `name` with `CMD ["sh"]`
    /// through the API (`docker import`); returns the image id.
    fn import_busybox(&self, name: &str) -> String {
        let tar = crate::images::busybox_rootfs_tar();
        let args = ["import", "--change", "CMD [\"sh\"]", "-", name];
        let out = self.docker_input(&args, &tar);
        ok_or_panic(self.kind(), "docker", &args, out)
            .trim()
            .to_string()
    }
}

/// A running command whose stdout a thread collects; killed on drop.
pub struct Following {
    child: Child,
    out: Collector,
}

impl Following {
    /// Spawns `cmd` with stdin null, stderr discarded, stdout collected.
    pub fn spawn(mut cmd: Command) -> Following {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to run {cmd:?}: {e}"));
        let out = Collector::spawn(child.stdout.take().expect("stdout is piped"));
        Following { child, out }
    }

    /// Everything printed so far.
    pub fn text(&self) -> String {
        self.out.text()
    }

    /// Waits until `ok` holds for the output (five minutes at most, a
    /// hang guard); returns the output.
    pub fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.out.wait_until(what, COMMAND_TIMEOUT, ok)
    }

    /// Waits for the command to exit by itself; returns its exit code and
    /// its output.
    pub fn wait_exit(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // The pipe ends with the command: the reader drains it.
                return (status.code(), self.out.finish());
            }
            assert!(
                Instant::now() < deadline,
                "the command did not exit; it printed:\n{}",
                self.text()
            );
            sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` with output to numbered files under `dir`, five minutes at
/// most.
fn run_quiet(mut cmd: Command, dir: &Path, what: &str, args: &[&str]) -> Output {
    let n = COMMANDS.fetch_add(1, Ordering::Relaxed);
    output_with_timeout(&mut cmd, dir, &format!("{what}-{n}"), COMMAND_TIMEOUT)
        .unwrap_or_else(|e| panic!("failed to run {what} {}: {e}", args.join(" ")))
}

fn ok_or_panic(kind: &str, what: &str, args: &[&str], out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} {} against {kind} failed: {}",
        args.join(" "),
        explain(&out)
    );
    stdout_text(&out)
}

/// Parses `curl -i` output: interim `1xx` blocks are skipped.
fn parse_response(raw: &[u8]) -> ApiResponse {
    let mut rest = raw;
    loop {
        let Some(end) = find(rest, b"\r\n\r\n") else {
            return ApiResponse {
                status: 0,
                headers: Vec::new(),
                body: rest.to_vec(),
            };
        };
        let head = String::from_utf8_lossy(&rest[..end]).into_owned();
        let body = &rest[end + 4..];
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            rest = body;
            continue;
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        return ApiResponse {
            status,
            headers,
            body: body.to_vec(),
        };
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A running private `wharf daemon`; stopped and cleaned up on drop.
pub struct WharfDaemon {
    dir: PathBuf,
    bin: PathBuf,
    child: Option<Child>,
    /// The network namespace the daemon runs in (its bridge, firewall
    /// table and subnets are private to it); deleted after the cleanup.
    netns: Option<FixtureNetns>,
}

impl WharfDaemon {
    /// Starts `wharf daemon` in a new temporary directory and waits until
    /// it answers `/_ping`.
    pub fn start() -> Result<WharfDaemon, DaemonError> {
        let bin = wharf_path()?;
        let dir = fixture_dir("wharf-daemon-", &["data", "exec", "scratch"])?;
        // The test process owns the directory: a later fixture removes it
        // if this process dies without dropping the fixture (a test killed
        // on a timeout).
        write_file(&dir.join(OWNER), &std::process::id().to_string())?;
        sweep_stale(&bin, &dir);
        let mut d = WharfDaemon {
            dir: dir.clone(),
            bin,
            child: None,
            netns: None,
        };
        crate::netns::sweep_orphans("wharf-daemon-");
        d.netns = Some(FixtureNetns::create(&netns_name(&dir))?);
        // An empty config file, so that the host's /etc/wharf/daemon.json
        // never leaks into a test.
        write_file(&dir.join("daemon.json"), "{}\n")?;
        d.spawn()?;
        Ok(d)
    }

    /// Starts the daemon again on the same roots (after [`WharfDaemon::kill9`]
    /// or [`WharfDaemon::terminate`]) and waits for `/_ping`.
    pub fn spawn(&mut self) -> Result<(), DaemonError> {
        let netns = self.netns.as_ref().map(FixtureNetns::path);
        let child = daemon_command(&self.bin, &self.dir, FILES, netns.as_deref())?
            .spawn()
            .map_err(|source| DaemonError::Spawn {
                path: self.bin.clone(),
                source,
            })?;
        let child = self.child.insert(child);
        if wait_ready(child, &self.dir.join(FILES.socket)) {
            return Ok(());
        }
        let log = self.log_tail(30);
        self.kill9();
        Err(DaemonError::NotReady { log })
    }

    /// The daemon's pid, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILLs the daemon and reaps it; its containers and shims stay.
    pub fn kill9(&mut self) {
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::KILL, Duration::ZERO);
        }
    }

    /// SIGTERMs the daemon and waits for it to exit (SIGKILL after 20 s).
    pub fn terminate(&mut self) {
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::TERM, STOP_TIMEOUT);
        }
    }

    /// The temporary directory holding everything of this daemon.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data root.
    pub fn data_root(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The exec root.
    pub fn exec_root(&self) -> PathBuf {
        self.dir.join("exec")
    }

    /// `wharf -H <host> args…`, Wharf's own CLI against this daemon.
    pub fn wharf_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-H").arg(self.host()).args(args);
        cmd
    }

    /// Runs `wharf -H <host> args…` and returns its output.
    pub fn wharf(&self, args: &[&str]) -> Output {
        run_quiet(self.wharf_command(args), &self.scratch(), "wharf", args)
    }

    /// The last `lines` lines of the daemon's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir.join(FILES.log), lines)
    }

    /// The ids of every container the daemon has a trace of on disk.
    pub fn container_ids(&self) -> Vec<String> {
        let mut ids = Vec::new();
        for sub in [
            "data/containers",
            "exec/shims",
            "exec/bundles",
            "exec/runtime",
        ] {
            for e in fs::read_dir(self.dir.join(sub)).into_iter().flatten() {
                let Ok(e) = e else { continue };
                let name = e.file_name().to_string_lossy().into_owned();
                if name.len() >= 12 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    ids.push(name);
                }
            }
        }
        ids.sort();
        ids.dedup();
        ids
    }

    /// Stops the daemon like drop does, then returns what is left of it:
    /// one line per process, mount or directory still there (empty when
    /// clean).
    pub fn stop(mut self) -> Vec<String> {
        let ids = self.container_ids();
        self.cleanup();
        // A killed process may stay a zombie for a moment, until its
        // parent (or pid 1) reaps it: look again until a hang guard (a
        // clean stop returns at once).
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut left: Vec<String> = referencing_pids(&self.dir)
                .into_iter()
                .map(|p| format!("process {p}"))
                .collect();
            for id in &ids {
                left.extend(crate::leaks::leaks(id, Some(&self.dir)));
            }
            if self.dir.exists() {
                left.push(format!("directory {}", self.dir.display()));
            }
            if left.is_empty() || Instant::now() > deadline {
                left.dedup();
                return left;
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// The pids in `<exec-root>/shims/*/shim.pid`.
    pub fn shim_pids(&self) -> Vec<i32> {
        fs::read_dir(self.exec_root().join("shims"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| fs::read_to_string(e.path().join("shim.pid")).ok())
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    }

    fn cleanup(&mut self) {
        self.terminate();
        let ids = self.container_ids();
        for _ in 0..3 {
            let mut pids = referencing_pids(&self.dir);
            pids.extend(self.shim_pids());
            for pid in pids {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
            for id in &ids {
                remove_leftovers(id);
            }
            sleep(Duration::from_millis(50));
        }
        let netns = Path::new(crate::netns::NETNS_DIR).join(netns_name(&self.dir));
        crate::netns::kill_members(&netns);
        unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
        crate::netns::remove(&netns_name(&self.dir));
    }
}

/// The network namespace of the fixture in `dir`: named after it.
pub(crate) fn netns_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Engine for WharfDaemon {
    fn kind(&self) -> &'static str {
        "wharf"
    }

    fn socket(&self) -> PathBuf {
        self.dir.join(FILES.socket)
    }

    fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }

    fn exec_root(&self) -> PathBuf {
        self.dir.join("exec")
    }

    fn netns(&self) -> Option<PathBuf> {
        self.netns.as_ref().map(FixtureNetns::path)
    }

    /// The kernel's leftovers and the addresses the engine still grants.
    fn net_leftovers(&self) -> Vec<String> {
        let mut left = crate::netns::net_leftovers(
            self.netns().as_deref(),
            &self.exec_root(),
            &self.scratch(),
        );
        left.extend(crate::netns::address_rows(
            &self.data_root().join("wharf.db"),
        ));
        left.sort();
        left
    }
}

impl Drop for WharfDaemon {
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// The file naming the pid of the test process that owns a fixture's
/// directory.
const OWNER: &str = "owner.pid";

/// Removes the directories (and processes, mounts, cgroups) of fixtures
/// whose owning test process is gone: `/tmp/wharf-daemon-*` holding an
/// owner pid that no longer runs. `current` is never touched.
fn sweep_stale(bin: &Path, current: &Path) {
    for entry in fs::read_dir("/tmp").into_iter().flatten().flatten() {
        let dir = entry.path();
        let is_fixture = entry
            .file_name()
            .to_string_lossy()
            .starts_with("wharf-daemon-");
        if !is_fixture || dir == current {
            continue;
        }
        let Ok(owner) = fs::read_to_string(dir.join(OWNER)) else {
            continue;
        };
        let Ok(owner) = owner.trim().parse::<u32>() else {
            continue;
        };
        if Path::new(&format!("/proc/{owner}")).exists() {
            continue;
        }
        // Its drop does the cleanup.
        drop(WharfDaemon {
            dir,
            bin: bin.to_path_buf(),
            child: None,
            netns: None,
        });
    }
}

/// Pids (not this process) whose command line, working directory or open
/// files name a path under `dir`: the daemon, its shims and anything the
/// shims left holding a log or a socket.
pub fn referencing_pids(dir: &Path) -> Vec<i32> {
    let me = std::process::id() as i32;
    let needle = dir.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let p = entry.path();
        let cmdline = fs::read(p.join("cmdline")).unwrap_or_default();
        let mut hit = String::from_utf8_lossy(&cmdline).contains(&needle)
            || fs::read_link(p.join("cwd")).is_ok_and(|c| c.starts_with(dir));
        if !hit {
            hit = fs::read_dir(p.join("fd"))
                .into_iter()
                .flatten()
                .flatten()
                .any(|fd| fs::read_link(fd.path()).is_ok_and(|t| t.starts_with(dir)));
        }
        if hit {
            pids.push(pid);
        }
    }
    pids
}

/// Defines two tests running one scenario `fn(&dyn Engine)`: the first
/// against a private dockerd (proving the scenario's expectations), the
/// second against a private `wharf daemon`. Attributes before the second
/// name (`#[ignore = "…"]`) apply to the Wharf variant only.
#[macro_export]
macro_rules! engine_tests {
    ($scenario:path => $dockerd:ident, $(#[$wattr:meta])* $wharf:ident) => {
        $crate::engine_tests_with!($crate::dockerd::Dockerd::start(), "a private dockerd";
            $scenario => $dockerd, $(#[$wattr])* $wharf);
    };
}

/// [`engine_tests!`] for networking scenarios: the dockerd variant runs
/// with its default bridge, iptables and userland proxy in a network
/// namespace of its own ([`Dockerd::start_networked`](crate::dockerd::Dockerd::start_networked)),
/// as the Wharf daemon always does.
#[macro_export]
macro_rules! engine_net_tests {
    ($scenario:path => $dockerd:ident, $(#[$wattr:meta])* $wharf:ident) => {
        $crate::engine_tests_with!($crate::dockerd::Dockerd::start_networked(),
            "a private dockerd with networking"; $scenario => $dockerd, $(#[$wattr])* $wharf);
    };
}

/// What [`engine_tests!`] and [`engine_net_tests!`] expand to, with the
/// expression that starts the dockerd.
#[doc(hidden)]
#[macro_export]
macro_rules! engine_tests_with {
    ($start:expr, $what:literal; $scenario:path => $dockerd:ident, $(#[$wattr:meta])* $wharf:ident) => {
        #[test]
        fn $dockerd() {
            let engine = $start.expect($what);
            $scenario(&engine);
        }

        #[test]
        $(#[$wattr])*
        fn $wharf() {
            let engine = $crate::daemon::WharfDaemon::start().expect("a private wharf daemon");
            $scenario(&engine);
        }
    };
}
