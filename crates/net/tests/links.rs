//! Root tests on the real kernel: network namespaces kept as files, and the
//! bridge and veth links of a container's network. Every test works inside
//! scratch namespaces it makes itself, under unique names, and removes them
//! (and their mounts) even when it fails.

use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use wharf_net::netns::{NetNs, NetnsError};

/// A temporary directory for namespace files; on drop it removes every
/// namespace file in it and the private bind mount `NetNs::create` made of it.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                let _ = NetNs::remove(&entry.path());
            }
        }
        let _ = wharf_sys::mount::unmount(self.dir.path(), true);
    }
}

/// Mount points of the calling process that are `path` or under it.
fn mounts_under(path: &Path) -> Vec<String> {
    let text = fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    let path = path.to_str().expect("utf-8 path");
    text.lines()
        .filter_map(|line| line.split(' ').nth(4))
        .filter(|mp| mp.starts_with(path))
        .map(str::to_owned)
        .collect()
}

/// The inode of the calling thread's network namespace.
fn thread_netns() -> u64 {
    fs::metadata("/proc/thread-self/ns/net")
        .expect("ns file")
        .ino()
}

#[test]
fn netns_create_run_remove_leaves_nothing() {
    let scratch = Scratch::new();
    let path = scratch.path("ns1");
    let ns = NetNs::create(&path).expect("create");
    assert_eq!(ns.path(), path);
    assert_eq!(mounts_under(&path), vec![path.display().to_string()]);

    let before = thread_netns();
    let file_ino = fs::metadata(&path).expect("ns file").ino();
    let (inside, echoed) = ns
        .run(|| {
            // lo is up: a loopback connection works inside.
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            let mut client = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
            let (mut server, _) = listener.accept().expect("accept");
            client.write_all(b"ping").unwrap();
            let mut buf = [0u8; 4];
            server.read_exact(&mut buf).unwrap();
            (thread_netns(), buf)
        })
        .expect("run");
    assert_eq!(&echoed, b"ping");
    assert_eq!(inside, file_ino, "run's thread is in the namespace");
    assert_ne!(inside, before);
    assert_eq!(thread_netns(), before, "the caller did not move");

    let reopened = NetNs::open(&path).expect("open");
    assert_eq!(reopened.run(thread_netns).expect("run"), file_ino);
    drop((ns, reopened));

    NetNs::remove(&path).expect("remove");
    assert!(!path.exists());
    assert!(mounts_under(&path).is_empty(), "{:?}", mounts_under(&path));
    NetNs::remove(&path).expect("a second remove is fine");
}

#[test]
fn netns_create_on_existing_file_keeps_it() {
    let scratch = Scratch::new();
    let path = scratch.path("taken");
    fs::write(&path, "mine").unwrap();
    let err = NetNs::create(&path).expect_err("the file exists");
    assert!(matches!(err, NetnsError::Create { .. }), "{err:?}");
    assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
    assert!(mounts_under(&path).is_empty());
}

#[test]
fn netns_open_refuses_a_plain_file() {
    let scratch = Scratch::new();
    let path = scratch.path("plain");
    fs::write(&path, "").unwrap();
    let err = NetNs::open(&path).expect_err("not a namespace");
    assert!(matches!(err, NetnsError::NotNamespace { .. }), "{err:?}");
    let err = NetNs::open(&scratch.path("missing")).expect_err("missing");
    assert!(matches!(err, NetnsError::Open { .. }), "{err:?}");
}

#[test]
fn netns_dir_is_a_private_mount() {
    let scratch = Scratch::new();
    let _ns = NetNs::create(&scratch.path("a")).expect("create");
    let _ns2 = NetNs::create(&scratch.path("b")).expect("create");
    let dir = scratch.dir.path().to_str().unwrap().to_owned();
    let text = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.split(' ').nth(4) == Some(dir.as_str()))
        .collect();
    assert_eq!(lines.len(), 1, "one bind of the directory: {lines:?}");
    let optional: Vec<&str> = lines[0]
        .split(" - ")
        .next()
        .unwrap()
        .split(' ')
        .skip(6)
        .collect();
    assert!(
        !optional
            .iter()
            .any(|o| o.starts_with("shared:") || o.starts_with("master:")),
        "private: {optional:?}"
    );
}
