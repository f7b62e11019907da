//! Helpers shared by the layer tests: a tar writer that can write names the
//! `tar` crate refuses (`..`, absolute), a sandbox with a canary file outside
//! the layer root, and a tree snapshot to compare two directories.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tar::{EntryType, Header};

/// Fixed mtime of every entry the helpers write.
pub const MTIME: u64 = 1_600_000_000;

/// Writes tars entry by entry, names taken byte for byte.
pub struct TarBuf {
    b: tar::Builder<Vec<u8>>,
}

/// Header fields of one entry.
#[derive(Clone)]
pub struct Opts {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub xattrs: Vec<(String, Vec<u8>)>,
    pub dev: (u32, u32),
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: MTIME,
            xattrs: Vec::new(),
            dev: (0, 0),
        }
    }
}

impl Default for TarBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuf {
    pub fn new() -> TarBuf {
        TarBuf {
            b: tar::Builder::new(Vec::new()),
        }
    }

    /// Any entry. Names or link targets of 100 bytes or more go in a PAX
    /// record (`path`, `linkpath`).
    pub fn entry(&mut self, kind: EntryType, name: &str, link: &str, data: &[u8], o: &Opts) {
        let mut pax: Vec<(String, Vec<u8>)> = o
            .xattrs
            .iter()
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.clone()))
            .collect();
        if name.len() >= 100 {
            pax.push(("path".into(), name.as_bytes().to_vec()));
        }
        if link.len() >= 100 {
            pax.push(("linkpath".into(), link.as_bytes().to_vec()));
        }
        if !pax.is_empty() {
            self.b
                .append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                .unwrap();
        }
        let mut h = Header::new_gnu();
        {
            let g = h.as_gnu_mut().unwrap();
            let n = name.as_bytes();
            let n = &n[..n.len().min(99)];
            g.name[..n.len()].copy_from_slice(n);
            let l = link.as_bytes();
            let l = &l[..l.len().min(99)];
            g.linkname[..l.len()].copy_from_slice(l);
        }
        h.set_entry_type(kind);
        h.set_mode(o.mode);
        h.set_uid(o.uid);
        h.set_gid(o.gid);
        h.set_mtime(o.mtime);
        h.set_size(data.len() as u64);
        if matches!(kind, EntryType::Char | EntryType::Block) {
            h.set_device_major(o.dev.0).unwrap();
            h.set_device_minor(o.dev.1).unwrap();
        }
        h.set_cksum();
        self.b.append(&h, data).unwrap();
    }

    pub fn file(&mut self, name: &str, data: &[u8]) -> &mut Self {
        self.entry(EntryType::Regular, name, "", data, &Opts::default());
        self
    }

    pub fn file_with(&mut self, name: &str, data: &[u8], o: &Opts) -> &mut Self {
        self.entry(EntryType::Regular, name, "", data, o);
        self
    }

    pub fn dir(&mut self, name: &str) -> &mut Self {
        let o = Opts {
            mode: 0o755,
            ..Opts::default()
        };
        self.entry(EntryType::Directory, name, "", b"", &o);
        self
    }

    pub fn dir_with(&mut self, name: &str, o: &Opts) -> &mut Self {
        self.entry(EntryType::Directory, name, "", b"", o);
        self
    }

    pub fn symlink(&mut self, name: &str, target: &str) -> &mut Self {
        let o = Opts {
            mode: 0o777,
            ..Opts::default()
        };
        self.entry(EntryType::Symlink, name, target, b"", &o);
        self
    }

    pub fn hardlink(&mut self, name: &str, target: &str) -> &mut Self {
        self.entry(EntryType::Link, name, target, b"", &Opts::default());
        self
    }

    pub fn finish(&mut self) -> Vec<u8> {
        let b = std::mem::replace(&mut self.b, tar::Builder::new(Vec::new()));
        b.into_inner().unwrap()
    }
}

/// A file capability blob (VFS_CAP_REVISION_2, effective, CAP_NET_BIND_SERVICE).
pub const CAP: [u8; 20] = [
    0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// A tar with every kind of entry and unusual metadata.
pub fn rich_tar() -> Vec<u8> {
    let mut t = TarBuf::new();
    t.dir_with(
        "d/",
        &Opts {
            mode: 0o1777,
            uid: 10,
            gid: 20,
            mtime: MTIME + 1,
            ..Opts::default()
        },
    );
    t.dir_with(
        "sg/",
        &Opts {
            mode: 0o2750,
            gid: 50,
            ..Opts::default()
        },
    );
    t.file_with(
        "d/suid",
        b"#!/bin/true\n",
        &Opts {
            mode: 0o4755,
            uid: 1000,
            gid: 1000,
            xattrs: vec![
                ("user.comment".into(), b"hello".to_vec()),
                ("security.capability".into(), CAP.to_vec()),
            ],
            ..Opts::default()
        },
    );
    t.file_with(
        "sg/sgid",
        b"x",
        &Opts {
            mode: 0o2711,
            uid: 70_000,
            gid: 4_000_000,
            ..Opts::default()
        },
    );
    t.entry(
        EntryType::Symlink,
        "d/link",
        "suid",
        b"",
        &Opts {
            mode: 0o777,
            uid: 5,
            gid: 6,
            mtime: MTIME + 2,
            ..Opts::default()
        },
    );
    t.hardlink("d/hl", "d/suid");
    let dev = |major, minor, mode| Opts {
        mode,
        dev: (major, minor),
        ..Opts::default()
    };
    t.entry(EntryType::Char, "c", "", b"", &dev(1, 3, 0o666));
    t.entry(EntryType::Block, "b", "", b"", &dev(7, 0, 0o660));
    t.entry(EntryType::Fifo, "p", "", b"", &dev(0, 0, 0o600));
    let long_dir = format!("{}/", "long-directory-name-".repeat(4));
    t.dir(&long_dir);
    t.file(&format!("{long_dir}{}", "f".repeat(120)), b"pax long name");
    t.symlink("longlink", &format!("{long_dir}{}", "t".repeat(150)));
    t.file_with(
        "empty",
        b"",
        &Opts {
            mode: 0o000,
            ..Opts::default()
        },
    );
    t.file("big", &vec![0xa5; 3 * 1024 * 1024 + 17]);
    t.finish()
}

/// A temporary directory holding `root/` (where layers go) and `outside/`
/// with a canary file that no layer may touch.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub outside: PathBuf,
    pub canary: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("wharf-layer-test-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("root");
        let outside = dir.path().join("outside");
        std::fs::create_dir(&root).unwrap();
        std::fs::create_dir(&outside).unwrap();
        let canary = outside.join("canary");
        std::fs::write(&canary, b"canary").unwrap();
        std::fs::set_permissions(&canary, std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .unwrap();
        Sandbox {
            dir,
            root,
            outside,
            canary,
        }
    }

    /// The outside directory still holds only the canary, unchanged.
    pub fn assert_canary(&self) {
        let names: Vec<_> = std::fs::read_dir(&self.outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![OsStr::new("canary").to_os_string()]);
        assert_eq!(std::fs::read(&self.canary).unwrap(), b"canary");
        let md = std::fs::symlink_metadata(&self.canary).unwrap();
        assert!(md.is_file());
        assert_eq!(md.mode() & 0o7777, 0o644);
        assert_eq!(md.nlink(), 1);
        assert_eq!((md.uid(), md.gid()), (0, 0));
        let od = std::fs::metadata(&self.outside).unwrap();
        assert_eq!(od.mode() & 0o7777, 0o755);
    }

    /// `outside` as it appears inside the root (absolute path made relative).
    pub fn outside_in_root(&self) -> PathBuf {
        self.root.join(self.outside.strip_prefix("/").unwrap())
    }
}

/// What a tree holds, path by path, for comparing two trees.
#[derive(Debug, PartialEq, Eq, Clone)]
pub struct Node {
    pub kind: &'static str,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// mtime in seconds (directories included).
    pub mtime: i64,
    /// File content: its length and an FNV-1a hash.
    pub data: (usize, u64),
    pub link: Option<PathBuf>,
    pub rdev: u64,
    pub xattrs: BTreeMap<String, Vec<u8>>,
    /// The first path (in walk order) sharing this inode, for hardlinks.
    pub same_as: Option<PathBuf>,
}

/// Every path under `dir` (not `dir` itself) with what it holds.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    let mut inodes = HashMap::new();
    walk(dir, Path::new(""), &mut out, &mut inodes);
    out
}

fn walk(
    base: &Path,
    rel: &Path,
    out: &mut BTreeMap<PathBuf, Node>,
    inodes: &mut HashMap<(u64, u64), PathBuf>,
) {
    let mut names: Vec<_> = std::fs::read_dir(base.join(rel))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let p = rel.join(&name);
        let full = base.join(&p);
        let md = std::fs::symlink_metadata(&full).unwrap();
        let ft = md.file_type();
        let kind = wharf_testkit::host::file_kind(ft);
        let mut xattrs = BTreeMap::new();
        let path_c = full.clone();
        let mut buf = vec![0u8; 65536];
        if let Ok(n) = rustix::fs::llistxattr(&path_c, &mut buf[..]) {
            let list = buf[..n].to_vec();
            for x in list.split(|&b| b == 0).filter(|x| !x.is_empty()) {
                let xn = String::from_utf8(x.to_vec()).unwrap();
                let mut v = vec![0u8; 65536];
                let k = rustix::fs::lgetxattr(&path_c, xn.as_str(), &mut v[..]).unwrap();
                v.truncate(k);
                xattrs.insert(xn, v);
            }
        }
        let same_as = if !ft.is_dir() && md.nlink() > 1 {
            let key = (md.dev(), md.ino());
            match inodes.get(&key) {
                Some(first) => Some(first.clone()),
                None => {
                    inodes.insert(key, p.clone());
                    None
                }
            }
        } else {
            None
        };
        out.insert(
            p.clone(),
            Node {
                kind,
                mode: md.mode() & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
                mtime: md.mtime(),
                data: if ft.is_file() {
                    let d = std::fs::read(&full).unwrap();
                    (d.len(), fnv(&d))
                } else {
                    (0, 0)
                },
                link: if ft.is_symlink() {
                    Some(std::fs::read_link(&full).unwrap())
                } else {
                    None
                },
                rdev: md.rdev(),
                xattrs,
                same_as,
            },
        );
        if ft.is_dir() {
            walk(base, &p, out, inodes);
        }
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The entry names of a tar, in order (directories end in `/`).
pub fn tar_names(tar: &[u8]) -> Vec<String> {
    let mut a = tar::Archive::new(tar);
    a.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let mut n = String::from_utf8(e.path_bytes().to_vec()).unwrap();
            if e.header().entry_type() == EntryType::Directory && !n.ends_with('/') {
                n.push('/');
            }
            n
        })
        .collect()
}

/// Convenience: `OsStr` bytes as a `&str` for messages.
pub fn s(p: &Path) -> &str {
    std::str::from_utf8(p.as_os_str().as_bytes()).unwrap()
}
