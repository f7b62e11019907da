//! The build context against real Docker: the same context and `COPY`/`ADD`
//! instructions built by dockerd's classic builder (Debian's docker.io 20.10,
//! a private daemon from the test kit) and by [`Context`], compared file by
//! file (type, mode, owner, content, link target, mtime), plus the error
//! messages for a source climbing out, a symlink pointing out and several
//! sources without a `/`. Root only.

mod context_support;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use context_support::*;
use wharf_build::context::{Context, CopyOptions};
use wharf_testkit::dockerd::Dockerd;

/// What is compared of one path.
type Listing = BTreeMap<String, String>;

/// The roots the test's instructions write (the rest of an exported
/// container is Docker's own: /dev, /etc/hosts, ...).
const ROOTS: &[&str] = &[
    "all",
    "dircontents",
    "vialink",
    "globbed",
    "made",
    "owned",
    "extracted",
];

fn in_roots(path: &str) -> bool {
    ROOTS
        .iter()
        .any(|r| path == *r || path.starts_with(&format!("{r}/")))
}

fn describe(kind: &str, mode: u32, uid: u64, gid: u64, extra: &str) -> String {
    format!("{kind} {mode:o} {uid}:{gid} {extra}")
}

/// The exported container filesystem, from `docker export`.
fn docker_listing(tar_bytes: &[u8]) -> Listing {
    let mut out = Listing::new();
    let mut archive = tar::Archive::new(tar_bytes);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let path = path
            .trim_start_matches("./")
            .trim_end_matches('/')
            .to_string();
        if !in_roots(&path) {
            continue;
        }
        let h = entry.header().clone();
        let (mode, uid, gid) = (
            h.mode().unwrap() & 0o7777,
            h.uid().unwrap(),
            h.gid().unwrap(),
        );
        let mtime = h.mtime().unwrap();
        let line = match h.entry_type() {
            tar::EntryType::Directory => describe("dir", mode, uid, gid, ""),
            tar::EntryType::Symlink => {
                let target = h
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                describe("link", 0, uid, gid, &format!("-> {target} @{mtime}"))
            }
            tar::EntryType::Link => {
                let target = h
                    .link_name()
                    .unwrap()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                format!("hardlink to {}", target.trim_start_matches("./"))
            }
            _ => {
                let mut content = String::new();
                std::io::Read::read_to_string(&mut entry, &mut content).unwrap();
                describe("file", mode, uid, gid, &format!("{content:?} @{mtime}"))
            }
        };
        out.insert(path, line);
    }
    out
}

/// The same description of a directory tree written by [`Context`].
fn wharf_listing(root: &Path) -> Listing {
    let mut out = Listing::new();
    let mut inodes: BTreeMap<u64, String> = BTreeMap::new();
    for path in tree(root) {
        if !in_roots(&path) {
            continue;
        }
        let p = root.join(&path);
        let m = fs::symlink_metadata(&p).unwrap();
        let (mode, uid, gid) = (
            m.permissions().mode() & 0o7777,
            m.uid() as u64,
            m.gid() as u64,
        );
        let line = if m.is_dir() {
            describe("dir", mode, uid, gid, "")
        } else if m.file_type().is_symlink() {
            let target = fs::read_link(&p).unwrap().to_string_lossy().into_owned();
            describe("link", 0, uid, gid, &format!("-> {target} @{}", m.mtime()))
        } else if let Some(first) = inodes.get(&m.ino()) {
            format!("hardlink to {first}")
        } else {
            inodes.insert(m.ino(), path.clone());
            let content = fs::read_to_string(&p).unwrap();
            describe(
                "file",
                mode,
                uid,
                gid,
                &format!("{content:?} @{}", m.mtime()),
            )
        };
        out.insert(path, line);
    }
    out
}

fn fixture(s: &Scratch) {
    s.file(
        ".dockerignore",
        "*.log\nsecret\ndocs\n!docs/README.md\n**/tmp\nDockerfile\n",
    );
    for (rel, content, mode) in [
        ("keep.txt", "keep", 0o640),
        ("other.txt", "other", 0o644),
        ("a.log", "log", 0o644),
        ("secret/key", "key", 0o600),
        ("docs/README.md", "readme", 0o644),
        ("docs/x.txt", "x", 0o644),
        ("sub/tmp/t", "t", 0o644),
        ("sub/ok", "ok", 0o755),
        ("sub/b.log", "nested log", 0o644),
        ("dir/f", "f", 0o604),
        ("dir/nested/g", "g", 0o644),
        ("suid", "suid", 0o4755),
    ] {
        let p = s.file(rel, content);
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        set_mtime(&p, 1_500_000_000);
    }
    fs::hard_link(s.ctx().join("dir/f"), s.ctx().join("dir/f2")).unwrap();
    s.link("dir/link", "nested/g");
    s.link("dir/abs", "/etc/passwd");
    s.link("dir/out", "../../outside/secret");
    s.link("rel_link", "dir/nested/g");
    fs::write(
        s.ctx().join("archive.tar"),
        one_file_tar("pkg/tarred", b"in tar!", 0o751),
    )
    .unwrap();
}

const DOCKERFILE: &str = "FROM scratch
COPY . /all/
COPY dir /dircontents
COPY rel_link /vialink
COPY *.txt /globbed/
COPY dir/f /made/deep/file
COPY --chown=12:34 dir /owned/
ADD archive.tar /extracted/
";

fn wharf_build(s: &Scratch) {
    let ctx = Context::open(&s.ctx(), None).unwrap();
    let root = s.rootfs();
    copy(&ctx, &["."], &root, "/all/");
    copy(&ctx, &["dir"], &root, "/dircontents");
    copy(&ctx, &["rel_link"], &root, "/vialink");
    copy(&ctx, &["*.txt"], &root, "/globbed/");
    copy(&ctx, &["dir/f"], &root, "/made/deep/file");
    let chown = CopyOptions {
        chown: Some((12, 34)),
        ..Default::default()
    };
    copy_with(&ctx, &["dir"], &root, "/owned/", &chown);
    let add = CopyOptions {
        extract_archives: true,
        ..Default::default()
    };
    copy_with(&ctx, &["archive.tar"], &root, "/extracted/", &add);
}

fn docker_build(d: &Dockerd, dockerfile: &Path, ctx: &Path, tag: &str) -> std::process::Output {
    d.docker_env(
        &[
            "build",
            "-q",
            "-t",
            tag,
            "-f",
            dockerfile.to_str().unwrap(),
            ctx.to_str().unwrap(),
        ],
        &[("DOCKER_BUILDKIT", "0")],
    )
}

#[test]
fn context_matches_docker_classic_builder() {
    let s = Scratch::new();
    fixture(&s);
    let d = Dockerd::start().unwrap_or_else(|e| panic!("this test needs dockerd: {e}"));
    fs::write(s.ctx().join("Dockerfile"), DOCKERFILE).unwrap();
    let out = docker_build(&d, &s.ctx().join("Dockerfile"), &s.ctx(), "ctxtest:1");
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = d.docker_ok(&["create", "ctxtest:1", "none"]);
    let export = s.path().join("export.tar");
    d.docker_ok(&["export", "-o", export.to_str().unwrap(), id.trim()]);
    let theirs = docker_listing(&fs::read(&export).unwrap());

    wharf_build(&s);
    let ours = wharf_listing(&s.rootfs());
    // One known difference, on purpose: the classic builder chowns after
    // chmod and so strips setuid/setgid from context files (moby/moby#36239,
    // open, "not intentional"); Wharf keeps the bits, as BuildKit does.
    let mut theirs = theirs;
    let suid = theirs.get("all/suid").cloned().unwrap_or_default();
    assert_eq!(
        suid, "file 755 0:0 \"suid\" @1500000000",
        "docker's known bug"
    );
    theirs.insert("all/suid".into(), suid.replacen("755", "4755", 1));
    // Directories created by the copy get the time of the copy: compare
    // everything but directory mtimes (which the listing leaves out).
    let diff: Vec<String> = theirs
        .keys()
        .chain(ours.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| theirs.get(*k) != ours.get(*k))
        .map(|k| {
            format!(
                "{k}:\n  docker: {:?}\n  wharf:  {:?}",
                theirs.get(k),
                ours.get(k)
            )
        })
        .collect();
    assert!(diff.is_empty(), "differences:\n{}", diff.join("\n"));
    assert!(theirs.contains_key("all/docs/README.md") && theirs.len() > 20);
    s.assert_outside_untouched();
}

#[test]
fn context_errors_match_docker_classic_builder() {
    let s = Scratch::new();
    fixture(&s);
    let d = Dockerd::start().unwrap_or_else(|e| panic!("this test needs dockerd: {e}"));
    let ctx = Context::open(&s.ctx(), None).unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("COPY ../outside/secret /x", &["../outside/secret"], "/x"),
        ("COPY dir/abs /x", &["dir/abs"], "/x"),
        ("COPY dir/out /x", &["dir/out"], "/x"),
        ("COPY a.log /x", &["a.log"], "/x"),
        (
            "COPY keep.txt other.txt /x",
            &["keep.txt", "other.txt"],
            "/x",
        ),
    ];
    for (n, (line, sources, dest)) in cases.iter().enumerate() {
        let dockerfile = s.path().join(format!("Dockerfile.{n}"));
        fs::write(&dockerfile, format!("FROM scratch\n{line}\n")).unwrap();
        let out = docker_build(&d, &dockerfile, &s.ctx(), &format!("err:{n}"));
        assert!(!out.status.success(), "{line}: docker should fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let ours = ctx
            .resolve_sources(&strings(sources))
            .and_then(|srcs| ctx.copy_into(&srcs, &s.rootfs(), dest, &CopyOptions::default()))
            .expect_err(line)
            .to_string();
        assert!(
            stderr.contains(&ours),
            "{line}:\n  docker: {stderr}\n  wharf:  {ours}"
        );
    }
    // A symlink in the context pointing out never brought the secret in.
    assert!(!s.rootfs().join("x").exists());
    s.assert_outside_untouched();
}
