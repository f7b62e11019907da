//! Image fixtures built without any Wharf code: a busybox root filesystem
//! as a tar (for `docker import` or `wharf import`) and small layer tars.
//!
//! Every tar is deterministic: entries in the order given, owner 0:0 and
//! one fixed modification time, so that two builds give the same digest.

use std::collections::BTreeMap;
use std::io;
use std::process::Command;

/// Debian's busybox-static.
pub const BUSYBOX: &str = "/usr/bin/busybox";

/// The modification time of every entry (2023-11-14T22:13:20Z).
pub const MTIME: u64 = 1_700_000_000;

/// One entry of a layer tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A directory with a mode (permission bits, sticky included).
    Dir(String, u32),
    /// A regular file with contents and a mode.
    File(String, Vec<u8>, u32),
    /// A symbolic link to a target.
    Symlink(String, String),
    /// A hard link to another entry of the same tar.
    Hardlink(String, String),
}

impl Entry {
    /// A regular file with mode 0644.
    pub fn file(path: &str, contents: &[u8]) -> Entry {
        Entry::File(path.into(), contents.to_vec(), 0o644)
    }

    /// A directory with mode 0755.
    pub fn dir(path: &str) -> Entry {
        Entry::Dir(path.into(), 0o755)
    }

    /// An OCI whiteout of `path` (an empty `.wh.<name>` file beside it).
    pub fn whiteout(path: &str) -> Entry {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        Entry::File(wh, Vec::new(), 0o644)
    }
}

/// Every entry of a tar with its data, by its path as written; panics on
/// a broken tar, as a test assertion would.
pub fn tar_files(tar: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = tar::Archive::new(tar);
    let mut out = BTreeMap::new();
    for e in archive.entries().expect("a readable tar") {
        let mut e = e.expect("a readable tar entry");
        let name = e
            .path()
            .expect("an entry path")
            .to_string_lossy()
            .into_owned();
        let mut data = Vec::new();
        io::Read::read_to_end(&mut e, &mut data).expect("an entry's data");
        out.insert(name, data);
    }
    out
}

/// A tar of `entries`, in order. Paths are written as given (relative,
/// without a leading `/`, like `docker save` writes layers).
pub fn layer_tar(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        append(&mut b, e).unwrap_or_else(|err| panic!("failed to write tar entry {e:?}: {err}"));
    }
    b.into_inner().expect("finishing an in-memory tar")
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    h.set_size(size);
    h
}

fn append(b: &mut tar::Builder<Vec<u8>>, e: &Entry) -> io::Result<()> {
    match e {
        Entry::Dir(path, mode) => {
            let mut h = header(tar::EntryType::Directory, *mode, 0);
            let path = format!("{}/", path.trim_end_matches('/'));
            b.append_data(&mut h, path, io::empty())
        }
        Entry::File(path, data, mode) => {
            let mut h = header(tar::EntryType::Regular, *mode, data.len() as u64);
            b.append_data(&mut h, path, data.as_slice())
        }
        Entry::Symlink(path, target) => {
            let mut h = header(tar::EntryType::Symlink, 0o777, 0);
            b.append_link(&mut h, path, target)
        }
        Entry::Hardlink(path, target) => {
            let mut h = header(tar::EntryType::Link, 0o644, 0);
            b.append_link(&mut h, path, target)
        }
    }
}

/// The names of the applets the installed busybox provides.
pub fn busybox_applets() -> Vec<String> {
    let out = Command::new(BUSYBOX)
        .arg("--list")
        .output()
        .unwrap_or_else(|e| panic!("failed to run {BUSYBOX} --list (install busybox-static): {e}"));
    let mut names: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|n| !n.is_empty() && !n.contains('/') && *n != "busybox")
        .map(String::from)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The entries of a busybox root filesystem: `/bin/busybox` with a symlink
/// per applet, `/etc/passwd` and `/etc/group` with root and nobody, `/root`,
/// `/tmp` (1777), `/home`, `/var`, `/usr`, `/proc`, `/sys`, `/dev`.
pub fn busybox_rootfs_entries() -> Vec<Entry> {
    let busybox = std::fs::read(BUSYBOX)
        .unwrap_or_else(|e| panic!("failed to read {BUSYBOX} (install busybox-static): {e}"));
    let mut entries = vec![Entry::dir("bin")];
    entries.push(Entry::File("bin/busybox".into(), busybox, 0o755));
    for applet in busybox_applets() {
        entries.push(Entry::Symlink(format!("bin/{applet}"), "busybox".into()));
    }
    entries.extend([
        Entry::dir("dev"),
        Entry::dir("etc"),
        Entry::file(
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n",
        ),
        Entry::file("etc/group", b"root:x:0:\nnogroup:x:65534:\n"),
        Entry::dir("home"),
        Entry::dir("proc"),
        Entry::Dir("root".into(), 0o700),
        Entry::dir("sys"),
        Entry::Dir("tmp".into(), 0o1777),
        Entry::dir("usr"),
        Entry::dir("var"),
    ]);
    entries
}

/// A busybox root filesystem as a tar (see [`busybox_rootfs_entries`]).
pub fn busybox_rootfs_tar() -> Vec<u8> {
    layer_tar(&busybox_rootfs_entries())
}
