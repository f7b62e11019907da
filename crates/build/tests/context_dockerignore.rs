//! `.dockerignore` applied to `COPY` sources: excluded files are invisible
//! (named, globbed, reached through a symlink, or inside a copied
//! directory), exceptions re-include, and excluded files do not change the
//! cache digest.

mod context_support;

use std::fs;

use context_support::*;
use wharf_build::context::{Context, ContextError};
use wharf_build::ignore::IgnoreRules;

#[test]
fn context_dockerignore_excludes() {
    let s = Scratch::new();
    s.file(
        ".dockerignore",
        "# build junk\n*.log\n/secret/\n**/tmp\nDockerfile\n.dockerignore\n",
    );
    s.file("Dockerfile", "FROM scratch\n");
    s.file("a.log", "log");
    s.file("keep.txt", "keep");
    s.file("secret/key", "key");
    s.file("sub/tmp/x", "tmp");
    s.file("sub/ok", "ok");
    s.file("sub/b.log", "nested log is not matched by *.log");
    s.link("to_key", "secret/key");
    s.link("to_secret_dir", "/secret");
    let ctx = s.context();

    copy(&ctx, &["."], &s.rootfs(), "/dst");
    assert_eq!(
        tree(&s.rootfs().join("dst")),
        vec![
            "keep.txt",
            "sub",
            "sub/b.log",
            "sub/ok",
            "to_key",
            "to_secret_dir"
        ]
    );
    for hidden in [
        "a.log",
        "secret/key",
        "secret",
        "sub/tmp/x",
        "Dockerfile",
        ".dockerignore",
        "to_key",
        "to_secret_dir/key",
    ] {
        match ctx.resolve_sources(&strings(&[hidden])) {
            Err(e @ ContextError::NotFound { .. }) => assert_eq!(
                e.to_string(),
                format!("file not found in build context or excluded by .dockerignore: stat {hidden}: file does not exist")
            ),
            other => panic!("{hidden}: expected not found, got {other:?}"),
        }
    }
    assert!(matches!(
        ctx.resolve_sources(&strings(&["*.log"])),
        Err(ContextError::NoSources)
    ));
    let globbed = ctx
        .resolve_sources(&strings(&["*/*.log", "*.txt"]))
        .unwrap();
    let paths: Vec<_> = globbed.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(paths, vec!["sub/b.log", "keep.txt"]);

    // Excluded files do not take part in the digest.
    let all = ctx.resolve_sources(&strings(&["."])).unwrap();
    let before = ctx.file_digest(&all).unwrap();
    fs::write(s.ctx().join("a.log"), "more log").unwrap();
    fs::write(s.ctx().join("secret/key"), "rotated").unwrap();
    fs::write(s.ctx().join("Dockerfile"), "FROM busybox\n").unwrap();
    assert_eq!(ctx.file_digest(&all).unwrap(), before);
    fs::write(s.ctx().join("keep.txt"), "changed").unwrap();
    assert_ne!(ctx.file_digest(&all).unwrap(), before);

    // Explicit rules override the file; empty rules show everything.
    let open = Context::open(&s.ctx(), Some(IgnoreRules::default())).unwrap();
    assert_eq!(
        open.resolve_sources(&strings(&["secret/key"])).unwrap()[0].path,
        "secret/key"
    );
    s.assert_outside_untouched();
}

#[test]
fn context_dockerignore_exception() {
    let s = Scratch::new();
    s.file(
        ".dockerignore",
        "docs\n!docs/README.md\n*.md\n!keep.md\nother\n!**/x\n",
    );
    s.file("docs/README.md", "readme");
    s.file("docs/other.txt", "other");
    s.file("a.md", "a");
    s.file("keep.md", "keep");
    s.file("other/x", "x");
    s.file("plain", "plain");
    let ctx = s.context();
    copy(&ctx, &["."], &s.rootfs(), "/dst/");
    assert_eq!(
        tree(&s.rootfs().join("dst")),
        vec![
            ".dockerignore",
            "docs",
            "docs/README.md",
            "keep.md",
            "plain"
        ]
    );
    assert_eq!(read(&s.rootfs().join("dst/docs/README.md")), "readme");
    copy(&ctx, &["docs/README.md"], &s.rootfs(), "/one");
    assert_eq!(read(&s.rootfs().join("one")), "readme");
    // Docker opens an excluded directory only for an exception naming it,
    // so `!**/x` does not bring back other/x.
    assert!(matches!(
        ctx.resolve_sources(&strings(&["other/x"])),
        Err(ContextError::NotFound { .. })
    ));
    // The excluded directory itself is copyable, holding only the exception.
    copy(&ctx, &["docs"], &s.rootfs(), "/docs");
    assert_eq!(tree(&s.rootfs().join("docs")), vec!["README.md"]);
    assert!(matches!(
        ctx.resolve_sources(&strings(&["docs/other.txt"])),
        Err(ContextError::NotFound { .. })
    ));
    // Without the exception's file, the excluded directory is not there at
    // all (the CLI's tar holds nothing that would create it).
    fs::remove_file(s.ctx().join("docs/README.md")).unwrap();
    assert!(matches!(
        ctx.resolve_sources(&strings(&["docs"])),
        Err(ContextError::NotFound { .. })
    ));
    copy(&ctx, &["."], &s.rootfs(), "/again/");
    assert_eq!(
        tree(&s.rootfs().join("again")),
        vec![".dockerignore", "keep.md", "plain"]
    );
}

#[test]
fn context_dockerignore_nested_exception() {
    // Two excluded directories deep, both kept open by one exception.
    let s = Scratch::new();
    s.file(".dockerignore", "deep\n!deep/a/b/keep\n");
    s.file("deep/drop", "d");
    s.file("deep/a/drop", "d");
    s.file("deep/a/b/drop", "d");
    s.file("deep/a/b/keep", "keep");
    s.file("deep/a/empty/drop", "d");
    let ctx = s.context();
    copy(&ctx, &["deep"], &s.rootfs(), "/deep");
    assert_eq!(tree(&s.rootfs().join("deep")), vec!["a", "a/b", "a/b/keep"]);
    assert_eq!(read(&s.rootfs().join("deep/a/b/keep")), "keep");
    assert!(matches!(
        ctx.resolve_sources(&strings(&["deep/a/empty"])),
        Err(ContextError::NotFound { .. })
    ));
    fs::remove_file(s.ctx().join("deep/a/b/keep")).unwrap();
    assert!(matches!(
        ctx.resolve_sources(&strings(&["deep"])),
        Err(ContextError::NotFound { .. })
    ));
}

#[test]
fn context_dockerignore_bad_pattern_is_an_error() {
    let s = Scratch::new();
    s.file(".dockerignore", "ok\n[\n");
    assert!(matches!(
        Context::open(&s.ctx(), None),
        Err(ContextError::Ignore(_))
    ));
}
