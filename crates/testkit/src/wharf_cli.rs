//! Driving the `wharf` command line against a daemon of its own: every
//! [`WharfRoot`] is a private `wharf daemon` ([`WharfDaemon`]) with its
//! data root in a temporary directory, and `wharf -H <its socket> …`
//! talks to it. Dropping it stops the daemon and removes everything.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::daemon::{DaemonError, Engine, WharfDaemon};

/// A private daemon, with its image store, for one test.
pub struct WharfRoot {
    daemon: WharfDaemon,
}

impl WharfRoot {
    /// A new daemon with an empty store.
    pub fn new() -> Result<WharfRoot, DaemonError> {
        Ok(WharfRoot {
            daemon: WharfDaemon::start()?,
        })
    }

    /// The daemon.
    pub fn daemon(&self) -> &WharfDaemon {
        &self.daemon
    }

    /// The daemon, to stop or restart it.
    pub fn daemon_mut(&mut self) -> &mut WharfDaemon {
        &mut self.daemon
    }

    /// The daemon's data root: the image store (`snapshots/`, `layers/`,
    /// `blobs/`).
    pub fn path(&self) -> PathBuf {
        self.daemon.data_root()
    }

    /// A directory for the test's own files (archives, contexts), removed
    /// with the daemon.
    pub fn scratch(&self) -> PathBuf {
        self.daemon.scratch()
    }

    /// The `-H` value that reaches the daemon.
    pub fn host(&self) -> String {
        self.daemon.host()
    }

    /// `wharf -H <host> <args>`, not yet run (stdin null).
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = self.daemon.wharf_command(&[]);
        c.args(args).stdin(Stdio::null());
        c
    }

    /// Runs `wharf <args>` and returns its output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.daemon.wharf(args)
    }

    /// Runs `wharf <args>` with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        crate::output::run_with_input(self.command(args), input)
    }

    /// Runs `wharf <args>`, panics with its stderr unless it succeeds, and
    /// returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed ({}):\nstdout: {}\nstderr: {}\ndaemon log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.daemon.log_tail(20)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Imports the busybox root filesystem as `name` (untagged when
    /// empty) with `CMD ["sh"]`; returns the image id.
    pub fn import_busybox(&self, name: &str) -> String {
        let tar = crate::images::busybox_rootfs_tar();
        let mut args = vec!["import", "--change", "CMD [\"sh\"]", "-"];
        if !name.is_empty() {
            args.push(name);
        }
        let out = self.run_with_input(&args, &tar);
        assert!(
            out.status.success(),
            "wharf import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Mount points below the data root that are still mounted.
    pub fn mounts(&self) -> Vec<String> {
        let root = self.path().to_string_lossy().into_owned();
        crate::leaks::host_mounts()
            .into_iter()
            .map(|m| m.mount_point)
            .filter(|p| p.starts_with(&root))
            .collect()
    }

    /// Names in `<data-root>/snapshots`: writable layers that exist.
    pub fn snapshots(&self) -> Vec<String> {
        std::fs::read_dir(self.path().join("snapshots"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}
