//! Shared fixtures for the build-context tests: a scratch directory (removed
//! on drop, even when a test fails) holding a context, a container rootfs and
//! an "outside" directory standing for the host.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use wharf_build::context::{Context, CopyOptions, CopyStats, Source};

pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("wharf-ctx-test-")
            .tempdir()
            .unwrap();
        for sub in ["ctx", "rootfs", "outside"] {
            fs::create_dir(dir.path().join(sub)).unwrap();
        }
        fs::write(dir.path().join("outside/secret"), "host secret").unwrap();
        Scratch { dir }
    }
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
    pub fn ctx(&self) -> PathBuf {
        self.dir.path().join("ctx")
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }
    pub fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    /// Writes `ctx/<rel>` (parents created).
    pub fn file(&self, rel: &str, content: &str) -> PathBuf {
        write(&self.ctx().join(rel), content)
    }
    pub fn link(&self, rel: &str, target: impl AsRef<Path>) {
        let p = self.ctx().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(target, p).unwrap();
    }
    pub fn context(&self) -> Context {
        Context::open(&self.ctx(), None).unwrap()
    }
    /// The host's "outside" directory holds only what the fixture put there.
    pub fn assert_outside_untouched(&self) {
        let names: Vec<_> = fs::read_dir(self.outside())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("secret")]);
        assert_eq!(
            fs::read_to_string(self.outside().join("secret")).unwrap(),
            "host secret"
        );
    }
}

pub fn write(path: &Path, content: &str) -> PathBuf {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, content).unwrap();
    path.to_owned()
}

/// A tar holding one regular file `path` with `data` and `mode`, owned by
/// 7:8, mtime 1_000_000_000 (a local archive for `ADD`).
pub fn one_file_tar(path: &str, data: &[u8], mode: u32) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_uid(7);
    header.set_gid(8);
    header.set_mtime(1_000_000_000);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, path, data).unwrap();
    builder.into_inner().unwrap()
}

pub fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// resolve + copy with default options.
pub fn copy(ctx: &Context, sources: &[&str], rootfs: &Path, dest: &str) -> CopyStats {
    copy_with(ctx, sources, rootfs, dest, &CopyOptions::default())
}

pub fn copy_with(
    ctx: &Context,
    sources: &[&str],
    rootfs: &Path,
    dest: &str,
    opts: &CopyOptions,
) -> CopyStats {
    let srcs: Vec<Source> = ctx.resolve_sources(&strings(sources)).unwrap();
    ctx.copy_into(&srcs, rootfs, dest, opts).unwrap()
}

/// Sets the mtime of the file or directory `path` (root may open a
/// directory or a read-only file for writing its times).
pub fn set_mtime(path: &Path, secs: u64) {
    let f = fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| fs::File::open(path))
        .unwrap();
    f.set_modified(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs))
        .unwrap();
}

pub fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

pub fn owner(path: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(path).unwrap();
    (m.uid(), m.gid())
}

pub fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

/// Sorted relative paths of everything under `dir`.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        if e.file_type().unwrap().is_dir() {
            walk(root, &p, out);
        }
    }
}
