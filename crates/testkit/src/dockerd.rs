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
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::thread::sleep;
use std::time::Duration;

use rustix::process::Signal;

use crate::daemon::Engine;
use crate::fixture::{
    daemon_command, fixture_dir, log_tail, stop_child, wait_ready, write_file, DaemonFiles,
    PrepareError, STOP_TIMEOUT,
};
use crate::leaks::{remove_leftovers, unmount_under};

/// Debian's daemon.
pub const DOCKERD: &str = "/usr/sbin/dockerd";
/// The docker CLI (28.x; negotiates down to the daemon's API 1.41).
pub const DOCKER: &str = "/usr/local/bin/docker";

/// Where Debian puts containerd, its shims and runc, whatever the test's
/// own PATH is.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// dockerd's files in its directory.
const FILES: DaemonFiles = DaemonFiles {
    subcommand: &[],
    socket: "docker.sock",
    pidfile: "dockerd.pid",
    log: "dockerd.log",
};

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
    #[error(transparent)]
    Prepare(#[from] PrepareError),
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
        let dir = fixture_dir("wharf-dockerd-", &["data", "exec", "scratch"])?;
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
        // dockerd 20.10 keeps a trust key in /etc/docker unless told
        // otherwise; the setting exists only in the config file.
        let config = format!(
            "{{\"deprecated-key-path\": \"{}\"}}\n",
            dir.join("key.json").display()
        );
        write_file(&dir.join("daemon.json"), &config)?;
        Ok(d)
    }

    /// Spawns dockerd and polls its socket; on failure returns its log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let mut cmd =
            daemon_command(Path::new(DOCKERD), &self.dir, FILES).map_err(|e| e.to_string())?;
        let child = cmd
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
            .spawn()
            .map_err(|e| format!("failed to run {DOCKERD}: {e}"))?;
        let child = self.child.insert(child);
        if wait_ready(child, &self.dir.join(FILES.socket)) {
            return Ok(());
        }
        let tail = self.log_tail(30);
        self.cleanup();
        Err(tail)
    }

    /// The daemon's socket path.
    pub fn socket(&self) -> PathBuf {
        self.dir.join(FILES.socket)
    }

    /// The `DOCKER_HOST` value: `unix://<dir>/docker.sock`.
    pub fn host(&self) -> String {
        Engine::host(self)
    }

    /// The temporary directory holding everything of this daemon.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The storage driver in use (`overlay2` or `vfs`).
    pub fn storage_driver(&self) -> &str {
        &self.driver
    }

    /// [`Engine::command`], callable without the trait in scope.
    pub fn command(&self, args: &[&str]) -> Command {
        Engine::command(self, args)
    }

    /// [`Engine::docker`], callable without the trait in scope.
    pub fn docker(&self, args: &[&str]) -> Output {
        Engine::docker(self, args)
    }

    /// [`Engine::docker_env`], callable without the trait in scope.
    pub fn docker_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Engine::docker_env(self, args, env)
    }

    /// [`Engine::docker_ok`], callable without the trait in scope.
    pub fn docker_ok(&self, args: &[&str]) -> String {
        Engine::docker_ok(self, args)
    }

    /// The last `lines` lines of dockerd's log.
    pub fn log_tail(&self, lines: usize) -> String {
        log_tail(&self.dir.join(FILES.log), lines)
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
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::TERM, STOP_TIMEOUT);
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

impl Engine for Dockerd {
    fn kind(&self) -> &'static str {
        "dockerd"
    }

    fn socket(&self) -> PathBuf {
        Dockerd::socket(self)
    }

    fn scratch(&self) -> PathBuf {
        self.dir.join("scratch")
    }
}
