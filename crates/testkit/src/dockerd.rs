//! A private `dockerd` (Debian's docker.io, 20.10) for tests that compare
//! Wharf with real Docker.
//!
//! [`Dockerd::start`] runs `/usr/sbin/dockerd` by hand with everything of
//! its own under one temporary directory: data root, exec root, pid file,
//! socket, daemon config, trust key and the containerd that dockerd starts
//! under its exec root. By default no bridge, no iptables, no forwarding:
//! the tests have no network and touch none of the host's. With
//! [`DockerdOptions::network`] it has its defaults (bridge, iptables,
//! userland proxy) in a network namespace of its own. Containers go in cgroups
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
use crate::netns::{FixtureNetns, NetnsError};

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
    /// Its network namespace could not be made.
    #[error(transparent)]
    Netns(#[from] NetnsError),
    /// dockerd exited or never answered; `log` is the end of its log.
    #[error("dockerd did not start (storage drivers tried: {drivers}); its log ends with:\n{log}")]
    NotReady {
        /// The storage drivers tried.
        drivers: String,
        /// The last lines of dockerd's log.
        log: String,
    },
}

/// How a private dockerd runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct DockerdOptions {
    /// Networking as a default install has it (the default bridge,
    /// iptables, the userland proxy), in a network namespace of the
    /// fixture's own; false: no bridge and no rules, in the caller's.
    pub network: bool,
    /// `live-restore` in daemon.json: containers outlive a restart.
    pub live_restore: bool,
}

/// A running private dockerd; stopped and cleaned up on drop.
pub struct Dockerd {
    dir: PathBuf,
    name: String,
    child: Option<Child>,
    driver: String,
    opts: DockerdOptions,
    /// The network namespace with [`DockerdOptions::network`]; deleted
    /// after the cleanup.
    netns: Option<FixtureNetns>,
}

impl Dockerd {
    /// Starts dockerd with overlay2 (vfs if overlay2 fails) and waits until
    /// it answers `/_ping` on its socket.
    pub fn start() -> Result<Dockerd, DockerdError> {
        Dockerd::start_with(DockerdOptions::default())
    }

    /// Starts dockerd with its default networking in a network namespace
    /// of its own (see [`DockerdOptions::network`]).
    pub fn start_networked() -> Result<Dockerd, DockerdError> {
        Dockerd::start_with(DockerdOptions {
            network: true,
            live_restore: false,
        })
    }

    /// [`Dockerd::start`] with `opts`.
    pub fn start_with(opts: DockerdOptions) -> Result<Dockerd, DockerdError> {
        for bin in [DOCKERD, DOCKER] {
            if !Path::new(bin).exists() {
                return Err(DockerdError::NotInstalled { path: bin.into() });
            }
        }
        let mut tried = Vec::new();
        let mut last_log = String::new();
        for driver in ["overlay2", "vfs"] {
            tried.push(driver);
            let mut d = Dockerd::prepare(driver, opts)?;
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

    fn prepare(driver: &str, opts: DockerdOptions) -> Result<Dockerd, DockerdError> {
        let dir = fixture_dir("wharf-dockerd-", &["data", "exec", "scratch"])?;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut d = Dockerd {
            dir: dir.clone(),
            name: name.clone(),
            child: None,
            driver: driver.to_string(),
            opts,
            netns: None,
        };
        if opts.network {
            crate::netns::sweep_orphans("wharf-dockerd-");
            d.netns = Some(FixtureNetns::create(&name)?);
        }
        // dockerd 20.10 keeps a trust key in /etc/docker unless told
        // otherwise; the setting exists only in the config file.
        let config = format!(
            "{{\"deprecated-key-path\": \"{}\", \"live-restore\": {}}}\n",
            dir.join("key.json").display(),
            opts.live_restore
        );
        write_file(&dir.join("daemon.json"), &config)?;
        Ok(d)
    }

    /// Spawns dockerd and polls its socket; on failure returns its log.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        if self.spawn().is_ok() {
            return Ok(());
        }
        let tail = self.log_tail(30);
        self.cleanup();
        Err(tail)
    }

    /// Spawns dockerd on the fixture's roots and waits for `/_ping`; on
    /// failure returns its log (the daemon is stopped, the roots stay).
    fn spawn(&mut self) -> Result<(), String> {
        let netns = self.netns.as_ref().map(FixtureNetns::path);
        let mut cmd = daemon_command(Path::new(DOCKERD), &self.dir, FILES, netns.as_deref())
            .map_err(|e| e.to_string())?;
        cmd.arg(format!("--cgroup-parent=/{}", self.name))
            .arg(format!("--storage-driver={}", self.driver));
        if !self.opts.network {
            cmd.args([
                "--bridge=none",
                "--iptables=false",
                "--ip6tables=false",
                "--ip-forward=false",
                "--ip-masq=false",
                "--userland-proxy=false",
            ]);
        }
        // dockerd finds containerd, its shims and runc on PATH.
        let child = cmd
            .env("PATH", SYSTEM_PATH)
            .spawn()
            .map_err(|e| format!("failed to run {DOCKERD}: {e}"))?;
        let child = self.child.insert(child);
        if wait_ready(child, &self.dir.join(FILES.socket)) {
            return Ok(());
        }
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::TERM, STOP_TIMEOUT);
        }
        Err(self.log_tail(30))
    }

    /// Stops dockerd (SIGTERM; with live restore its containers keep
    /// running) and starts it again on the same roots.
    pub fn restart(&mut self) -> Result<(), DockerdError> {
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::TERM, STOP_TIMEOUT);
        }
        self.spawn().map_err(|log| DockerdError::NotReady {
            drivers: self.driver.clone(),
            log,
        })
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
        if self.child.is_some() {
            // dockerd gives each running container its stop timeout (ten
            // seconds for a shell as pid 1) when it shuts down: kill them
            // first.
            let running = Engine::docker(self, &["ps", "-q"]);
            let ids = String::from_utf8_lossy(&running.stdout).into_owned();
            let mut args = vec!["kill"];
            args.extend(ids.split_whitespace());
            if args.len() > 1 {
                let _ = Engine::docker(self, &args);
            }
        }
        if let Some(child) = self.child.take() {
            stop_child(child, Signal::TERM, STOP_TIMEOUT);
        }
        // containerd, its shims and the containers: each names the
        // directory on its command line or lives in the cgroup parent.
        for _ in 0..3 {
            remove_leftovers(&self.name);
            sleep(Duration::from_millis(50));
        }
        if let Some(ns) = &self.netns {
            // Its userland proxies live in its namespace, not its cgroups.
            crate::netns::kill_members(&ns.path());
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

    fn exec_root(&self) -> PathBuf {
        self.dir.join("exec")
    }

    fn netns(&self) -> Option<PathBuf> {
        self.netns.as_ref().map(FixtureNetns::path)
    }
}
