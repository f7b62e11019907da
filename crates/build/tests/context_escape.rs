//! The build context never leaks: sources that climb out, symlinks pointing
//! out, `--from` paths climbing out of a stage, and image symlinks that would
//! redirect a write to the host. Each test also checks that the "outside"
//! directory (standing for the host) was neither read into the image nor
//! written.

mod context_support;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use context_support::*;
use wharf_build::context::{Context, ContextError};

#[test]
fn context_copy_dotdot() {
    let s = Scratch::new();
    s.file("a", "in context");
    let ctx = s.context();
    for bad in [
        "../outside/secret",
        "a/../../outside/secret",
        "/../outside/secret",
        "..",
        "./../x",
    ] {
        match ctx.resolve_sources(&strings(&[bad])) {
            Err(ContextError::OutsideContext { path }) => assert_eq!(path, bad),
            other => panic!("{bad}: expected forbidden path, got {other:?}"),
        }
    }
    // A leading slash means the context root, as in Docker.
    copy(&ctx, &["/a"], &s.rootfs(), "/dst/");
    assert_eq!(read(&s.rootfs().join("dst/a")), "in context");
    // `..` that stays inside is fine.
    copy(&ctx, &["x/../a"], &s.rootfs(), "/dst2");
    assert_eq!(read(&s.rootfs().join("dst2")), "in context");
    s.assert_outside_untouched();
}

#[test]
fn context_symlink_outside() {
    let s = Scratch::new();
    let host_secret = s.outside().join("secret");
    s.link("abs", &host_secret);
    s.link("rel", "../outside/secret");
    s.link("sub/deep", "../../../../../../outside/secret");
    s.link("dirlink", s.outside());
    s.link("up", "..");
    let ctx = s.context();
    // Followed inside the context, the targets do not exist: not found.
    for src in [
        "abs",
        "rel",
        "sub/deep",
        "dirlink/secret",
        "up/outside/secret",
        "dirlink",
    ] {
        match ctx.resolve_sources(&strings(&[src])) {
            Err(ContextError::NotFound { path }) => assert_eq!(path, src),
            other => panic!("{src}: expected not found, got {other:?}"),
        }
    }
    // `rel` clamps at the context root: with a file there, that is what is read.
    s.file("outside/secret", "context copy");
    let ctx = s.context();
    copy(&ctx, &["rel", "sub/deep"], &s.rootfs(), "/got/");
    assert_eq!(read(&s.rootfs().join("got/rel")), "context copy");
    assert_eq!(read(&s.rootfs().join("got/deep")), "context copy");
    // `up` (-> ..) is the context root itself.
    let up = ctx.resolve_sources(&strings(&["up"])).unwrap();
    assert!(up[0].is_dir);
    assert_eq!(up[0].resolved, "");
    // Copying the whole context copies the links as links, never their targets.
    copy(&ctx, &["."], &s.rootfs(), "/all");
    let all = s.rootfs().join("all");
    for l in ["abs", "rel", "sub/deep", "dirlink", "up"] {
        assert!(is_symlink(&all.join(l)), "{l} should be a symlink");
    }
    assert_eq!(fs::read_link(all.join("abs")).unwrap(), host_secret);
    // Globs matching links resolve them the same way.
    assert!(matches!(
        ctx.resolve_sources(&strings(&["ab*"])),
        Err(ContextError::NotFound { .. })
    ));
    let digest = ctx
        .file_digest(&ctx.resolve_sources(&strings(&["."])).unwrap())
        .unwrap();
    fs::write(&host_secret, "changed on the host").unwrap();
    let again = ctx
        .file_digest(&ctx.resolve_sources(&strings(&["."])).unwrap())
        .unwrap();
    assert_eq!(
        digest, again,
        "the digest must not read outside the context"
    );
    fs::write(&host_secret, "host secret").unwrap();
    s.assert_outside_untouched();
}

#[test]
fn context_from_path_escape() {
    let s = Scratch::new();
    let stage = s.path().join("stage");
    write(&stage.join("etc/passwd"), "stage passwd");
    write(&stage.join("app/bin"), "binary");
    symlink("/etc/passwd", stage.join("abs")).unwrap();
    symlink("../../../../outside/secret", stage.join("app/rel")).unwrap();
    symlink(s.outside(), stage.join("hostdir")).unwrap();
    let ctx = Context::from_rootfs(&stage).unwrap();
    for bad in [
        "../outside/secret",
        "app/../../outside/secret",
        "/../../outside/secret",
    ] {
        assert!(
            matches!(
                ctx.resolve_sources(&strings(&[bad])),
                Err(ContextError::OutsideContext { .. })
            ),
            "{bad}"
        );
    }
    // An absolute link is the stage's own file, not the host's /etc/passwd.
    copy(&ctx, &["abs"], &s.rootfs(), "/copied");
    assert_eq!(read(&s.rootfs().join("copied")), "stage passwd");
    for missing in ["app/rel", "hostdir/secret", "hostdir"] {
        match ctx.resolve_sources(&strings(&[missing])) {
            Err(e @ ContextError::NotFoundInRootfs { .. }) => {
                assert_eq!(
                    e.to_string(),
                    format!("stat {missing}: file does not exist")
                );
            }
            other => panic!("{missing}: expected not found, got {other:?}"),
        }
    }
    copy(&ctx, &["/"], &s.rootfs(), "/stage/");
    assert!(is_symlink(&s.rootfs().join("stage/hostdir")));
    assert_eq!(read(&s.rootfs().join("stage/app/bin")), "binary");
    s.assert_outside_untouched();
}

#[test]
fn context_dest_symlink_escape() {
    let s = Scratch::new();
    s.file("f", "payload");
    s.file("d/inner", "inner");
    let root = s.rootfs();
    fs::create_dir(root.join("etc")).unwrap();
    symlink("/etc", root.join("app")).unwrap();
    symlink("../../../../../..", root.join("up")).unwrap();
    symlink(s.outside(), root.join("hostdir")).unwrap();
    symlink(s.outside().join("secret"), root.join("hostfile")).unwrap();
    symlink("/nonexistent/deeper", root.join("dangling")).unwrap();
    symlink("/etc/target", root.join("filelink")).unwrap();
    let ctx = s.context();

    copy(&ctx, &["f"], &root, "/app/");
    assert_eq!(read(&root.join("etc/f")), "payload");
    copy(&ctx, &["f"], &root, "/up/x");
    assert_eq!(read(&root.join("x")), "payload");
    copy(&ctx, &["f"], &root, "/hostdir/");
    copy(&ctx, &["d"], &root, "/hostdir/sub");
    copy(&ctx, &["f"], &root, "/hostfile");
    copy(&ctx, &["f"], &root, "/hostdir/secret");
    let inside = root.join(s.outside().strip_prefix("/").unwrap());
    assert_eq!(read(&inside.join("f")), "payload");
    assert_eq!(read(&inside.join("sub/inner")), "inner");
    assert_eq!(read(&inside.join("secret")), "payload");
    copy(&ctx, &["f"], &root, "/dangling/");
    assert_eq!(read(&root.join("nonexistent/deeper/f")), "payload");
    copy(&ctx, &["f"], &root, "/filelink");
    assert_eq!(read(&root.join("etc/target")), "payload");
    assert!(is_symlink(&root.join("filelink")));
    // Symlinks already inside a destination directory are replaced, never
    // written through: a file over a link, a directory over a link.
    fs::create_dir(root.join("merge")).unwrap();
    symlink(s.outside().join("secret"), root.join("merge/f")).unwrap();
    symlink(s.outside(), root.join("merge/d")).unwrap();
    copy(&ctx, &["f"], &root, "/merge/");
    s.file("tree/d/inner", "merged");
    copy(&s.context(), &["tree"], &root, "/merge");
    assert!(!is_symlink(&root.join("merge/f")));
    assert!(!is_symlink(&root.join("merge/d")));
    assert_eq!(read(&root.join("merge/f")), "payload");
    assert_eq!(read(&root.join("merge/d/inner")), "merged");
    // A relative dest path with .. is clamped at the container root too.
    copy(&ctx, &["f"], &root, "/../../../../top");
    assert_eq!(read(&root.join("top")), "payload");
    s.assert_outside_untouched();
}

#[test]
fn context_dest_symlink_with_non_utf8_target() {
    // An image symlink whose target is not UTF-8 is followed byte for byte.
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let s = Scratch::new();
    s.file("f", "payload");
    let root = s.rootfs();
    let dir = OsStr::from_bytes(b"d\xff");
    symlink(Path::new("/").join(dir).join("file"), root.join("link")).unwrap();
    let ctx = s.context();
    copy(&ctx, &["f"], &root, "/link");
    assert_eq!(read(&root.join(dir).join("file")), "payload");
    assert!(!root.join("d\u{fffd}").exists(), "target name mangled");
    assert_eq!(tree(&root).len(), 3, "{:?}", tree(&root));
}
