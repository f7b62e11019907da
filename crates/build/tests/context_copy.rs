//! Docker's `COPY`/`ADD` semantics: directory contents, destinations ending
//! in `/`, several sources, globs, owners and modes, mtimes, hardlinks, the
//! cache digest, `ADD` of archives and URLs.

mod context_support;

use std::fs;
use std::os::unix::fs::{chown, symlink, MetadataExt, PermissionsExt};

use context_support::*;
use wharf_build::context::{Context, ContextError, CopyOptions};

fn mtime(path: &std::path::Path) -> i64 {
    fs::symlink_metadata(path).unwrap().mtime()
}

#[test]
fn copy_dir_contents_semantics() {
    let s = Scratch::new();
    s.file("dir/a", "a");
    s.file("dir/sub/b", "b");
    s.link("dir/l", "sub/b");
    fs::set_permissions(s.ctx().join("dir/a"), fs::Permissions::from_mode(0o751)).unwrap();
    set_mtime(&s.ctx().join("dir/a"), 1_000_000_000);
    set_mtime(&s.ctx().join("dir/sub"), 1_100_000_000);
    let root = s.rootfs();
    let ctx = s.context();

    // A directory source copies its contents, into a directory made as needed.
    copy(&ctx, &["dir"], &root, "/deep/dst");
    assert_eq!(tree(&root.join("deep/dst")), vec!["a", "l", "sub", "sub/b"]);
    assert_eq!(mode(&root.join("deep")), 0o755);
    assert_eq!(mode(&root.join("deep/dst")), 0o755);
    assert_eq!(mode(&root.join("deep/dst/a")), 0o751);
    assert_eq!(mtime(&root.join("deep/dst/a")), 1_000_000_000);
    assert_eq!(mtime(&root.join("deep/dst/sub")), 1_100_000_000);
    assert!(is_symlink(&root.join("deep/dst/l")));
    assert_eq!(
        fs::read_link(root.join("deep/dst/l")).unwrap().to_str(),
        Some("sub/b")
    );

    // Into an existing directory: merged, existing files replaced.
    write(&root.join("existing/old"), "old");
    write(&root.join("existing/a"), "to be replaced");
    fs::create_dir_all(root.join("existing/sub/b")).unwrap(); // a dir where a file goes
    copy(&ctx, &["dir/"], &root, "/existing");
    assert_eq!(read(&root.join("existing/old")), "old");
    assert_eq!(read(&root.join("existing/a")), "a");
    assert_eq!(read(&root.join("existing/sub/b")), "b");

    // A file: into an existing directory under its own name, to a path
    // ending in / (created), or as the destination itself.
    copy(&ctx, &["dir/a"], &root, "/existing");
    copy(&ctx, &["dir/a"], &root, "/newdir/");
    copy(&ctx, &["dir/a"], &root, "/renamed");
    assert_eq!(read(&root.join("newdir/a")), "a");
    assert_eq!(read(&root.join("renamed")), "a");
    let hinted = CopyOptions {
        dest_is_dir_hint: true,
        ..Default::default()
    };
    copy_with(&ctx, &["dir/a"], &root, "/hinted", &hinted);
    assert_eq!(read(&root.join("hinted/a")), "a");

    // A symlink named as a source is followed (inside the context), and the
    // copy takes the link's name.
    s.link("alias", "dir/sub/b");
    let ctx = s.context();
    copy(&ctx, &["alias"], &root, "/aliased/");
    assert_eq!(read(&root.join("aliased/alias")), "b");
    assert!(!is_symlink(&root.join("aliased/alias")));

    // A glob matching a file and a directory: the directory's contents.
    copy(&ctx, &["dir/[as]*"], &root, "/g/");
    assert_eq!(tree(&root.join("g")), vec!["a", "b"]);
}

#[test]
fn copy_multiple_sources_needs_slash() {
    let s = Scratch::new();
    s.file("a.txt", "a");
    s.file("b.txt", "b");
    let ctx = s.context();
    let two = ctx.resolve_sources(&strings(&["*.txt"])).unwrap();
    assert_eq!(two.len(), 2);
    for opts in [
        CopyOptions::default(),
        CopyOptions {
            extract_archives: true,
            ..Default::default()
        },
    ] {
        let err = ctx.copy_into(&two, &s.rootfs(), "/x", &opts).unwrap_err();
        let word = if opts.extract_archives { "ADD" } else { "COPY" };
        assert_eq!(
            err.to_string(),
            format!("When using {word} with more than one source file, the destination must be a directory and end with a /")
        );
    }
    assert!(!s.rootfs().join("x").exists(), "nothing written on error");
    ctx.copy_into(&two, &s.rootfs(), "/x/", &CopyOptions::default())
        .unwrap();
    let hint = CopyOptions {
        dest_is_dir_hint: true,
        ..Default::default()
    };
    ctx.copy_into(&two, &s.rootfs(), "/y", &hint).unwrap();
    assert_eq!(tree(&s.rootfs().join("x")), vec!["a.txt", "b.txt"]);
    assert_eq!(tree(&s.rootfs().join("y")), vec!["a.txt", "b.txt"]);
    // One glob matching one file is a single source.
    copy(&ctx, &["a.*"], &s.rootfs(), "/single");
    assert_eq!(read(&s.rootfs().join("single")), "a");
    assert!(matches!(
        ctx.resolve_sources(&strings(&["*.none"])),
        Err(ContextError::NoSources)
    ));
    assert!(matches!(
        ctx.resolve_sources(&strings(&["a[.txt"])),
        Err(ContextError::BadPattern { .. })
    ));
}

#[test]
fn copy_chown_chmod() {
    let s = Scratch::new();
    let f = s.file("dir/f", "f");
    s.file("dir/sub/g", "g");
    s.link("dir/l", "f");
    let suid = s.file("suid", "x");
    for p in [&f, &suid, &s.ctx().join("dir")] {
        chown(p, Some(1000), Some(1000)).unwrap();
    }
    // After the chown, which clears setuid.
    fs::set_permissions(&suid, fs::Permissions::from_mode(0o4755)).unwrap();
    let root = s.rootfs();
    let ctx = s.context();

    // Default: root-owned, modes kept (setuid included).
    copy(&ctx, &["dir", "suid"], &root, "/plain/");
    assert_eq!(owner(&root.join("plain/f")), (0, 0));
    assert_eq!(owner(&root.join("plain")), (0, 0));
    assert_eq!(mode(&root.join("plain/suid")), 0o4755);

    let opts = CopyOptions {
        chown: Some((1234, 5678)),
        chmod: Some(0o640),
        ..Default::default()
    };
    copy_with(&ctx, &["dir"], &root, "/owned/deeper", &opts);
    for p in [
        "owned/deeper",
        "owned/deeper/f",
        "owned/deeper/sub",
        "owned/deeper/sub/g",
        "owned/deeper/l",
    ] {
        assert_eq!(owner(&root.join(p)), (1234, 5678), "{p}");
    }
    for p in [
        "owned/deeper",
        "owned/deeper/f",
        "owned/deeper/sub",
        "owned/deeper/sub/g",
    ] {
        assert_eq!(mode(&root.join(p)), 0o640, "{p}");
    }
    assert_eq!(
        owner(&root.join("owned")),
        (0, 0),
        "intermediate parents stay root's"
    );
    // A file copy creates its missing parents with the --chown owner.
    let chown_only = CopyOptions {
        chown: Some((42, 43)),
        ..Default::default()
    };
    copy_with(&ctx, &["suid"], &root, "/made/for/it", &chown_only);
    assert_eq!(owner(&root.join("made/for")), (42, 43));
    assert_eq!(owner(&root.join("made/for/it")), (42, 43));
    assert_eq!(
        mode(&root.join("made/for/it")),
        0o4755,
        "setuid survives chown"
    );

    // COPY --from keeps the source's owners unless --chown.
    let stage = Context::from_rootfs(&s.ctx()).unwrap();
    copy(&stage, &["dir/f"], &root, "/fromstage");
    assert_eq!(owner(&root.join("fromstage")), (1000, 1000));
}

#[test]
fn copy_digest_ignores_mtime() {
    let s = Scratch::new();
    let f = s.file("dir/f", "content");
    s.file("dir/sub/g", "g");
    s.link("dir/l", "f");
    let ctx = s.context();
    let srcs = ctx.resolve_sources(&strings(&["dir"])).unwrap();
    let d0 = ctx.file_digest(&srcs).unwrap();
    assert!(d0.starts_with("sha256:") && d0.len() == 71, "{d0}");
    set_mtime(&f, 1_234_567_890);
    set_mtime(&s.ctx().join("dir/sub"), 1_234_567_890);
    assert_eq!(
        ctx.file_digest(&srcs).unwrap(),
        d0,
        "a touch changes nothing"
    );
    chown(&f, Some(1000), Some(1000)).unwrap();
    assert_eq!(
        ctx.file_digest(&srcs).unwrap(),
        d0,
        "context owners are not copied"
    );

    fs::write(&f, "Content").unwrap();
    let d1 = ctx.file_digest(&srcs).unwrap();
    assert_ne!(d1, d0, "content counts");
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    let d2 = ctx.file_digest(&srcs).unwrap();
    assert_ne!(d2, d1, "mode counts");
    fs::rename(s.ctx().join("dir/sub/g"), s.ctx().join("dir/sub/h")).unwrap();
    let d3 = ctx.file_digest(&srcs).unwrap();
    assert_ne!(d3, d2, "names count");
    fs::remove_file(s.ctx().join("dir/l")).unwrap();
    symlink("sub", s.ctx().join("dir/l")).unwrap();
    assert_ne!(ctx.file_digest(&srcs).unwrap(), d3, "link targets count");
    // The same files under another source path digest differently.
    let other = ctx.resolve_sources(&strings(&["dir/f"])).unwrap();
    s.file("dir/f2", "Content");
    fs::set_permissions(s.ctx().join("dir/f2"), fs::Permissions::from_mode(0o600)).unwrap();
    let other2 = ctx.resolve_sources(&strings(&["dir/f2"])).unwrap();
    assert_ne!(
        ctx.file_digest(&other).unwrap(),
        ctx.file_digest(&other2).unwrap()
    );
}

#[test]
fn copy_hardlinks_stay_linked() {
    let s = Scratch::new();
    let a = s.file("d/a", "shared");
    fs::hard_link(&a, s.ctx().join("d/b")).unwrap();
    let ctx = s.context();
    let stats = copy(&ctx, &["d"], &s.rootfs(), "/d");
    let (ma, mb) = (
        fs::metadata(s.rootfs().join("d/a")).unwrap(),
        fs::metadata(s.rootfs().join("d/b")).unwrap(),
    );
    assert_eq!(ma.ino(), mb.ino());
    assert_eq!(stats.files, 1);
}

#[test]
fn add_local_tar_is_extracted() {
    let s = Scratch::new();
    let bytes = one_file_tar("pkg/hello", b"hello", 0o644);
    fs::write(s.ctx().join("archive.bin"), &bytes).unwrap(); // detected by content, not name
    s.file(
        "notatar.tar",
        "just text, not a tar archive at all, but long enough? no",
    );
    let ctx = s.context();
    let add = CopyOptions {
        extract_archives: true,
        ..Default::default()
    };
    let stats = copy_with(&ctx, &["archive.bin"], &s.rootfs(), "/opt", &add);
    assert_eq!(stats.archives, 1);
    assert_eq!(read(&s.rootfs().join("opt/pkg/hello")), "hello");
    assert_eq!(owner(&s.rootfs().join("opt/pkg/hello")), (7, 8));
    // Not an archive: copied as it is. COPY never extracts.
    copy_with(&ctx, &["notatar.tar"], &s.rootfs(), "/t/", &add);
    assert!(s.rootfs().join("t/notatar.tar").is_file());
    copy(&ctx, &["archive.bin"], &s.rootfs(), "/raw");
    assert_eq!(fs::read(s.rootfs().join("raw")).unwrap(), bytes);
}

#[test]
fn add_url_is_refused_offline() {
    let s = Scratch::new();
    let ctx = s.context();
    for url in [
        "https://example.com/x.tar.gz",
        "http://h/x",
        "git@github.com:a/b.git",
    ] {
        let err = ctx.resolve_sources(&strings(&[url])).unwrap_err();
        assert!(matches!(err, ContextError::Url { .. }));
        assert!(err.to_string().contains(url), "{err}");
    }
}

#[test]
fn copy_keeps_file_capabilities() {
    let s = Scratch::new();
    let ping = s.file("ping", "binary");
    // vfs_cap_data version 2, effective: permitted = CAP_NET_RAW (13).
    let mut cap = Vec::new();
    for word in [0x0200_0001u32, 1 << 13, 0, 0, 0] {
        cap.extend_from_slice(&word.to_le_bytes());
    }
    let f = fs::File::open(&ping).unwrap();
    rustix::fs::fsetxattr(
        &f,
        "security.capability",
        &cap,
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let ctx = s.context();
    let srcs = ctx.resolve_sources(&strings(&["ping"])).unwrap();
    let with_cap = ctx.file_digest(&srcs).unwrap();
    let opts = CopyOptions {
        chown: Some((5, 5)),
        ..Default::default()
    };
    ctx.copy_into(&srcs, &s.rootfs(), "/bin/", &opts).unwrap();
    let out = fs::File::open(s.rootfs().join("bin/ping")).unwrap();
    let mut buf = [0u8; 64];
    let n = rustix::fs::fgetxattr(&out, "security.capability", &mut buf[..]).unwrap();
    assert_eq!(&buf[..n], &cap[..], "kept through the chown");
    rustix::fs::fremovexattr(&f, "security.capability").unwrap();
    assert_ne!(
        ctx.file_digest(&srcs).unwrap(),
        with_cap,
        "capabilities count in the digest"
    );
}
