//! apply → tar_dir → apply gives the same tree, and the tars interoperate
//! with GNU tar both ways. Run as root.

mod layer_util;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use layer_util::{rich_tar, snapshot, tar_names, Sandbox};
use wharf_image::layer::{apply, diff, tar_dir, ApplyOptions};

#[test]
fn layer_roundtrip_tar_dir() {
    let a = Sandbox::new();
    apply(&rich_tar()[..], &a.root, &ApplyOptions::LAYER).unwrap();
    let mut out = Vec::new();
    tar_dir(&a.root, &mut out).unwrap();
    let names = tar_names(&out);
    // Depth first, names sorted within each directory; hardlinks once.
    let long_dir = "long-directory-name-".repeat(4);
    let want = vec![
        "b".to_string(),
        "big".into(),
        "c".into(),
        "d/".into(),
        "d/hl".into(),
        "d/link".into(),
        "d/suid".into(),
        "empty".into(),
        format!("{long_dir}/"),
        format!("{long_dir}/{}", "f".repeat(120)),
        "longlink".into(),
        "p".into(),
        "sg/".into(),
        "sg/sgid".into(),
    ];
    assert_eq!(names, want);
    let mut ar = tar::Archive::new(&out[..]);
    let hl = ar
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap() == Path::new("d/suid"))
        .unwrap();
    // Walk order: d/hl comes first and holds the data.
    assert_eq!(hl.header().entry_type(), tar::EntryType::Link);
    assert_eq!(hl.link_name().unwrap().unwrap(), Path::new("d/hl"));

    let b = Sandbox::new();
    apply(&out[..], &b.root, &ApplyOptions::LAYER).unwrap();
    let (sa, sb) = (snapshot(&a.root), snapshot(&b.root));
    assert_eq!(sa, sb);
    // The link order in a tree is by walk order: d/hl first.
    assert_eq!(
        sa[Path::new("d/suid")].same_as.as_deref(),
        Some(Path::new("d/hl"))
    );

    // Deterministic: the same tree gives the same bytes.
    let mut again = Vec::new();
    tar_dir(&b.root, &mut again).unwrap();
    assert_eq!(out, again);
    // Without whiteouts in the tree, diff writes the same as tar_dir.
    let mut d = Vec::new();
    diff(&a.root, &mut d).unwrap();
    assert_eq!(out, d);
}

/// GNU tar with xattrs and numeric owners, as a layer tool would run it.
fn gnu_tar(args: &[&str], dir: &Path, stdin: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = Command::new("tar");
    cmd.args(["--xattrs", "--xattrs-include=*", "--numeric-owner", "-C"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut sin = child.stdin.take().unwrap();
    if let Some(data) = stdin {
        sin.write_all(data).unwrap();
    }
    drop(sin);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "tar {args:?} failed");
    out.stdout
}

#[test]
fn layer_gnu_tar_reads_tar_dir() {
    let a = Sandbox::new();
    apply(&rich_tar()[..], &a.root, &ApplyOptions::LAYER).unwrap();
    let mut out = Vec::new();
    tar_dir(&a.root, &mut out).unwrap();
    let b = Sandbox::new();
    gnu_tar(&["-xpf", "-"], &b.root, Some(&out));
    assert_eq!(snapshot(&a.root), snapshot(&b.root));
}

#[test]
fn layer_apply_reads_gnu_tar() {
    let a = Sandbox::new();
    apply(&rich_tar()[..], &a.root, &ApplyOptions::LAYER).unwrap();
    // GNU tar writes xattrs only in the POSIX format.
    let tar = gnu_tar(&["--format=posix", "-cf", "-", "."], &a.root, None);
    let b = Sandbox::new();
    apply(&tar[..], &b.root, &ApplyOptions::LAYER).unwrap();
    assert_eq!(snapshot(&a.root), snapshot(&b.root));
}

#[test]
fn layer_tar_dir_long_names() {
    // Around each ustar limit: 100 bytes of name, 155 of prefix, and past
    // both (a PAX record).
    let a = Sandbox::new();
    let mut want = Vec::new();
    let paths = [
        "n".repeat(99),
        "n".repeat(100),
        "n".repeat(101),
        format!("{}/{}", "p".repeat(155), "q".repeat(100)),
        format!("{}/{}", "p".repeat(156), "q".repeat(99)),
        format!("{}/{}", "r".repeat(10), "s".repeat(101)),
        format!(
            "{}/{}/{}",
            "t".repeat(200),
            "u".repeat(200),
            "v".repeat(200)
        ),
    ];
    for p in &paths {
        let full = a.root.join(p);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, p.as_bytes()).unwrap();
        let mut dir = Path::new(p.as_str()).parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            want.push(format!("{}/", d.display()));
            dir = d.parent();
        }
        want.push(p.clone());
    }
    std::os::unix::fs::symlink("x".repeat(300), a.root.join("longtarget")).unwrap();
    want.push("longtarget".into());
    want.sort();
    want.dedup();
    let mut out = Vec::new();
    tar_dir(&a.root, &mut out).unwrap();
    let mut names = tar_names(&out);
    names.sort();
    assert_eq!(names, want);
    // GNU tar sees the same names.
    let listed = String::from_utf8(gnu_tar(&["-tf", "-"], &a.root, Some(&out))).unwrap();
    let mut listed: Vec<String> = listed.lines().map(str::to_owned).collect();
    listed.sort();
    assert_eq!(listed, want);
    let b = Sandbox::new();
    apply(&out[..], &b.root, &ApplyOptions::PLAIN).unwrap();
    assert_eq!(snapshot(&a.root), snapshot(&b.root));
}

#[test]
fn layer_tar_dir_does_not_follow_symlinks() {
    // A tree with symlinks pointing out: the tar holds the links, never what
    // they point to.
    let a = Sandbox::new();
    std::os::unix::fs::symlink(&a.canary, a.root.join("file-link")).unwrap();
    std::os::unix::fs::symlink(&a.outside, a.root.join("dir-link")).unwrap();
    let mut out = Vec::new();
    tar_dir(&a.root, &mut out).unwrap();
    assert_eq!(tar_names(&out), ["dir-link", "file-link"]);
    let mut ar = tar::Archive::new(&out[..]);
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        assert_eq!(e.header().entry_type(), tar::EntryType::Symlink);
        assert_eq!(e.size(), 0);
    }
    a.assert_canary();
}
