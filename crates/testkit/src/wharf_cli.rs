//! Driving the `wharf` command line against a store of its own: every
//! [`WharfRoot`] is a fresh `--root` in a temporary directory, and on drop
//! it unmounts whatever is still mounted below it and removes it.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::paths::{wharf_path, LocateError};

/// A private image store for one test.
#[derive(Debug)]
pub struct WharfRoot {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

impl WharfRoot {
    /// A new, empty store.
    pub fn new() -> Result<WharfRoot, LocateError> {
        let bin = wharf_path()?;
        let dir = tempfile::Builder::new()
            .prefix("wharf-root-")
            .tempdir_in(std::env::temp_dir())
            .expect("a temporary directory");
        Ok(WharfRoot { dir, bin })
    }

    /// The `--root` directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `wharf --root <root> <args>`, not yet run.
    pub fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new(&self.bin);
        c.arg("--root").arg(self.dir.path()).args(args);
        c.stdin(Stdio::null());
        c
    }

    /// Runs `wharf <args>` and returns its output, whatever the status.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("wharf runs")
    }

    /// Runs `wharf <args>` with `input` on stdin.
    pub fn run_with_input(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wharf starts");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wharf runs");
        let _ = writer.join();
        out
    }

    /// Runs `wharf <args>`, panics with its stderr unless it succeeds, and
    /// returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "wharf {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
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

    /// Mount points below the root that are still mounted.
    pub fn mounts(&self) -> Vec<String> {
        let root = self.dir.path().to_string_lossy().into_owned();
        crate::leaks::host_mounts()
            .into_iter()
            .map(|m| m.mount_point)
            .filter(|p| p.starts_with(&root))
            .collect()
    }

    /// Names in `<root>/snapshots`: writable layers that exist.
    pub fn snapshots(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("snapshots"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for WharfRoot {
    fn drop(&mut self) {
        let mut mounts = self.mounts();
        mounts.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in mounts {
            let _ = rustix::mount::unmount(m.as_str(), rustix::mount::UnmountFlags::DETACH);
        }
    }
}
