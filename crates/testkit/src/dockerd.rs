//! A private `dockerd` (Debian's docker.io, 20.10) for tests that compare
//! Wharf with real Docker.
//!
//! [`Dockerd::start`] runs `/usr/sbin/dockerd` by hand with everything of
//! its own under one temporary directory: data root, exec root, pid file,
//! socket, daemon config, trust key and the containerd that dockerd starts
//! under its exec root. No bridge, no iptables, no forwarding: the tests
//! have no network and touch none of the host's. Containers go in cgroups
//! under a parent named after the directory, so that everything the daemon
//! made can be found and killed by that name.
//!
//! Dropping the fixture stops dockerd (SIGTERM, then SIGKILL), kills by pid
//! every process still naming the directory (containerd, shims) or living in
//! its cgroups, detaches every mount below the directory and removes it.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::leaks::{remove_leftovers, unmount_under};
use crate::runtime::output_with_timeout;

/// Debian's daemon.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// The docker CLI (28.x; negotiates down to the daemon's API 1.41).
pub const DOCKER: &str = "/usr/local/bin/docker";

/// Where Debian puts containerd, its shims and runc, whatever the test's
/// own PATH is.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How long the daemon may take to answer `/_ping`.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one `docker` command may run.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);
/// How long dockerd may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Errors starting the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DockerdError {
    /// dockerd (or the CLI) is not installed.
    #[error("{path} not found: install docker.io (tools/install-deps.sh) to run the docker tests")]
    NotInstalled {
        /// The missing binary.
        path: PathBuf,
    },
    /// The temporary directory or a file in it could not be made.
    #[error("failed to prepare dockerd's directory {path}")]
    Prepare {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// dockerd could not be spawned.
    #[error("failed to run {DOCKERD}")]
    Spawn(#[source] std::io::Error),
    /// dockerd exited or never answered; `log` is the end of its log.
    #[error("dockerd did not start (storage drivers tried: {drivers}); its log ends with:\n{log}")]
    NotReady {
        /// The storage drivers tried.
        drivers: String,
        /// The last lines of dockerd's log.
        log: String,
    },
}

/// A running private dockerd; stopped and cleaned up on drop.
pub struct Dockerd {
    dir: PathBuf,
    name: String,
    child: Option<Child>,
    driver: String,
}

impl Dockerd {
    /// Starts dockerd with overlay2 (vfs if overlay2 fails) and waits until
    /// it answers `/_ping` on its socket.
    pub fn start() -> Result<Dockerd, DockerdError> {
        for bin in [DOCKERD, DOCKER] {
            if !Path::new(bin).exists() {
                return Err(DockerdError::NotInstalled { path: bin.into() });
            }
        }
        let mut tried = Vec::new();
        let mut last_log = String::new();
        for driver in ["overlay2", "vfs"] {
            tried.push(driver);
            let mut d = Dockerd::prepare(driver)?;
            match d.spawn_and_wait() {
                Ok(()) => return Ok(d),
                Err(log) => last_log = log,
            }
        }
        Err(DockerdError::NotReady {
            drivers: tried.join(", "),
            log: last_log,
        })
    }

    fn prepare(driver: &str) -> Result<Dockerd, DockerdError> {
        let prep = |path: &Path| {
            let path = path.to_path_buf();
            move |source| DockerdError::Prepare { path, source }
        };
        let tmp = tempfile::Builder::new()
            .prefix("wharf-dockerd-")
            .tempdir_in("/tmp")
            .map_err(prep(Path::new("/tmp")))?;
        let dir = tmp.keep();
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let d = Dockerd {
            dir: dir.clone(),
            name,
            child: None,
            driver: driver.to_string(),
        };
        for sub in ["data", "exec", "cli"] {
            fs::create_dir_all(dir.join(sub)).map_err(prep(&dir.join(sub)))?;
        }
        // dockerd 20.10 keeps a trust key in /etc/docker unless told
        // otherwise; the setting exists only in the config file.
        let config = format!(
            "{{\"deprecated-key-path\": \"{}\"}}\n",
            dir.join("key.json").display()
        );
        fs::write(dir.join("daemon.json"), config).map_err(prep(&dir.join("daemon.json")))?;
        Ok(d)
    }

    /// Spawns dockerd and polls its socket; on failure returns its log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = fs::File::create(self.dir.join("dockerd.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let p = |s: &str| self.dir.join(s).to_string_lossy().into_owned();
        let child = Command::new(DOCKERD)
            .arg("--config-file")
            .arg(p("daemon.json"))
            .arg("--data-root")
            .arg(p("data"))
            .arg("--exec-root")
            .arg(p("exec"))
            .arg("--pidfile")
            .arg(p("dockerd.pid"))
            .arg("-H")
            .arg(self.host())
            .arg(format!("--cgroup-parent=/{}", self.name))
            .arg(format!("--storage-driver={}", self.driver))
            .args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--userland-proxy=false",
            ])
            // dockerd finds containerd, its shims and runc on PATH.
            .env("PATH", SYSTEM_PATH)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.ping() {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .is_some_and(|c| c.try_wait().ok().flatten().is_some());
            if exited || Instant::now() > deadline {
                let tail = self.log_tail(30);
                self.cleanup();
                return Err(tail);
            }
            sleep(Duration::from_millis(100));
        }
    }

    fn ping(&self) -> bool {
        let Ok(mut s) = UnixStream::connect(self.socket()) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        if s.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            .is_err()
        {
            return false;
        }
        let mut buf = String::new();
        let _ = s.read_to_string(&mut buf);
        buf.starts_with("HTTP/1.") && buf.contains(" 200 ")
    }

    /// The daemon's socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("docker.sock")
    }

    /// The `DOCKER_HOST` value: `unix://<dir>/docker.sock`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The temporary directory holding everything of this daemon.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage driver in use (`overlay2` or `vfs`).
    pub fn storage_driver(&self) -> &str {
        &self.driver
    }

    /// A `docker` command aimed at this daemon (DOCKER_HOST and a private
    /// DOCKER_CONFIG set), for callers that need stdin or other settings.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(DOCKER);
        cmd.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", self.dir.join("cli"))
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY");
        cmd
    }

    /// Runs `docker args…` against this daemon (no stdin, five minutes at
    /// most) and returns its output whatever its exit status.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.docker_env(args, &[])
    }

    /// [`Dockerd::docker`] with extra environment variables
    /// (`DOCKER_BUILDKIT=0` for the classic builder).
    pub fn docker_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied());
        output_with_timeout(&mut cmd, &self.dir, "docker-cli", COMMAND_TIMEOUT)
            .unwrap_or_else(|e| panic!("failed to run {DOCKER} {}: {e}", args.join(" ")))
    }

    /// Runs `docker args…` and panics with its stderr unless it exits 0;
    /// returns its stdout.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        let out = self.docker(args);
        assert!(
            out.status.success(),
            "docker {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last `lines` lines of dockerd's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops dockerd like drop does, then returns what is left of it: one
    /// line per process, mount or directory still there (empty when clean).
    pub fn stop(mut self) -> Vec<String> {
        self.cleanup();
        let mut left = Vec::new();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if pid.parse::<u32>().is_err() {
                continue;
            }
            let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let cgroup = fs::read_to_string(entry.path().join("cgroup")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&self.name) || cgroup.contains(&self.name)
            {
                left.push(format!(
                    "process {pid}: {}",
                    String::from_utf8_lossy(&cmdline)
                ));
            }
        }
        for m in crate::leaks::host_mounts() {
            if Path::new(&m.mount_point).starts_with(&self.dir) {
                left.push(format!("mount {}", m.mount_point));
            }
            let parent = Path::new(&m.mount_point).join(&self.name);
            if (m.fs_type == "cgroup" || m.fs_type == "cgroup2") && parent.exists() {
                left.push(format!("cgroup {}", parent.display()));
            }
        }
        if self.dir.exists() {
            left.push(format!("directory {}", self.dir.display()));
        }
        left
    }

    /// Stops dockerd and removes every trace of it.
    fn cleanup(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
                let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // containerd, its shims and the containers: each names the
        // directory on its command line or lives in the cgroup parent.
        for _ in 0..3 {
            remove_leftovers(&self.name);
            sleep(Duration::from_millis(50));
        }
        unmount_under(&self.dir);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.cleanup();
    }
}
