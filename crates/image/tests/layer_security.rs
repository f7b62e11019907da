//! Untrusted layers never write outside their root. Each test applies a
//! hostile tar to `root/` and checks the canary file in the sibling
//! directory `outside/` is untouched. Run as root.

mod layer_util;

use std::os::unix::fs::MetadataExt;

use layer_util::{s, Sandbox, TarBuf};
use wharf_image::layer::{apply, ApplyOptions, LayerError};

fn apply_tar(sb: &Sandbox, tar: Vec<u8>, opts: ApplyOptions) -> Result<(), LayerError> {
    apply(&tar[..], &sb.root, &opts).map(|_| ())
}

#[test]
fn layer_absolute_path() {
    let sb = Sandbox::new();
    let name = s(&sb.canary).to_owned();
    let tar = TarBuf::new().file(&name, b"evil").finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    let inside = sb.outside_in_root().join("canary");
    assert_eq!(std::fs::read(inside).unwrap(), b"evil");
}

#[test]
fn layer_dotdot_escape() {
    for name in [
        "../outside/canary",
        "a/../../outside/canary",
        "/../outside/canary",
        "./../outside/x",
    ] {
        let sb = Sandbox::new();
        let tar = TarBuf::new().dir("a/").file(name, b"evil").finish();
        let err = apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap_err();
        assert!(matches!(err, LayerError::Escape { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
        sb.assert_canary();
    }
    // The same through a long (PAX) name.
    let sb = Sandbox::new();
    let long = format!("d/d/{}outside/canary", "../".repeat(40));
    let tar = TarBuf::new().file(&long, b"evil").finish();
    let err = apply_tar(&sb, tar, ApplyOptions::PLAIN).unwrap_err();
    assert!(matches!(err, LayerError::Escape { .. }), "{err}");
    sb.assert_canary();
}

#[test]
fn layer_dotdot_inside_is_cleaned() {
    let sb = Sandbox::new();
    let tar = TarBuf::new().file("a/../b", b"ok").finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    assert_eq!(std::fs::read(sb.root.join("b")).unwrap(), b"ok");
    sb.assert_canary();
}

#[test]
fn layer_symlink_escape() {
    let sb = Sandbox::new();
    let outside = s(&sb.outside).to_owned();
    // Its target missing inside the root, a symlink cannot be written
    // through (as with docker): refused, and the host's directory is not used.
    let tar = TarBuf::new()
        .symlink("abs", &outside)
        .file("abs/canary", b"evil")
        .finish();
    let err = apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap_err();
    assert!(err.to_string().contains("abs/canary"), "{err}");
    sb.assert_canary();
    // With the target present inside the root, the file lands there.
    let tar = TarBuf::new()
        .dir(&format!("{}/", &outside[1..]))
        .symlink("abs", &outside)
        .file("abs/canary", b"evil")
        .symlink("rel", "../../../../../../..")
        .file(&format!("rel{outside}/new"), b"evil")
        .dir("dev/")
        .symlink("devlink", "/dev")
        .finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    let inside = sb.outside_in_root();
    assert_eq!(std::fs::read(inside.join("canary")).unwrap(), b"evil");
    assert_eq!(std::fs::read(inside.join("new")).unwrap(), b"evil");
    // The symlinks themselves are kept as written.
    assert_eq!(std::fs::read_link(sb.root.join("abs")).unwrap(), sb.outside);
    // A device node created through a symlink to /dev lands in <root>/dev.
    let mut t = TarBuf::new();
    let o = layer_util::Opts {
        dev: (1, 3),
        mode: 0o666,
        ..Default::default()
    };
    t.entry(tar::EntryType::Char, "devlink/wharf-test-null", "", b"", &o);
    apply_tar(&sb, t.finish(), ApplyOptions::LAYER).unwrap();
    assert!(!std::path::Path::new("/dev/wharf-test-null").exists());
    let md = std::fs::symlink_metadata(sb.root.join("dev/wharf-test-null")).unwrap();
    assert_eq!(md.rdev(), rustix::fs::makedev(1, 3));
}

#[test]
fn layer_symlink_chain_escape() {
    let sb = Sandbox::new();
    let outside = s(&sb.outside).to_owned();
    let tar = TarBuf::new()
        .dir(&format!("{}/", &outside[1..]))
        .dir("x/")
        .symlink("a", "b")
        .symlink("b", "x/../c")
        .symlink("c", "x/d")
        .symlink("x/d", "../../../..")
        .file(&format!("a{outside}/canary"), b"evil")
        .symlink("e", "a")
        .dir_with(
            &format!("e{outside}"),
            &layer_util::Opts {
                mode: 0o700,
                ..Default::default()
            },
        )
        .finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    let inside = sb.outside_in_root();
    assert_eq!(std::fs::read(inside.join("canary")).unwrap(), b"evil");
    assert_eq!(std::fs::metadata(&inside).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn layer_symlink_then_file_through_it() {
    // A symlink named like a later regular file: the file replaces the
    // symlink, it is not written through it. Same for a directory entry, a
    // device and a hardlink.
    let sb = Sandbox::new();
    let canary = s(&sb.canary).to_owned();
    let outside = s(&sb.outside).to_owned();
    let tar = TarBuf::new()
        .symlink("f", &canary)
        .file("f", b"evil")
        .symlink("d", &outside)
        .dir_with(
            "d",
            &layer_util::Opts {
                mode: 0o700,
                ..Default::default()
            },
        )
        .file("src", b"src")
        .symlink("h", &canary)
        .hardlink("h", "src")
        .finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    let f = std::fs::symlink_metadata(sb.root.join("f")).unwrap();
    assert!(f.is_file());
    assert_eq!(std::fs::read(sb.root.join("f")).unwrap(), b"evil");
    let d = std::fs::symlink_metadata(sb.root.join("d")).unwrap();
    assert!(d.is_dir());
    assert_eq!(d.mode() & 0o777, 0o700);
    assert_eq!(std::fs::read(sb.root.join("h")).unwrap(), b"src");
    // Metadata of a symlink entry goes to the link, never its target.
    let mut t = TarBuf::new();
    let o = layer_util::Opts {
        mode: 0o777,
        uid: 1234,
        gid: 1234,
        ..Default::default()
    };
    t.entry(tar::EntryType::Symlink, "g", &canary, b"", &o);
    apply_tar(&sb, t.finish(), ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    assert_eq!(
        std::fs::symlink_metadata(sb.root.join("g")).unwrap().uid(),
        1234
    );
}

#[test]
fn layer_hardlink_outside() {
    let sb = Sandbox::new();
    let canary = s(&sb.canary).to_owned();
    let outside = s(&sb.outside).to_owned();
    for (target, pre) in [
        ("../outside/canary", None),
        (canary.as_str(), None),
        ("sym/canary", Some(("sym", outside.as_str()))),
        ("missing", None),
    ] {
        let mut t = TarBuf::new();
        if let Some((n, l)) = pre {
            t.symlink(n, l);
        }
        t.hardlink("h", target);
        let err = apply_tar(&sb, t.finish(), ApplyOptions::LAYER).unwrap_err();
        assert!(
            matches!(err, LayerError::BadHardlink { .. }),
            "{target}: {err}"
        );
        assert!(err.to_string().contains(target), "{err}");
        sb.assert_canary();
    }
    // A hardlink to a symlink that points out links the symlink itself.
    let tar = TarBuf::new()
        .symlink("s", &canary)
        .hardlink("h2", "s")
        .finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    sb.assert_canary();
    let h2 = std::fs::symlink_metadata(sb.root.join("h2")).unwrap();
    assert!(h2.file_type().is_symlink());
    assert_eq!(h2.nlink(), 2);
}

#[test]
fn layer_whiteout_escape() {
    for name in [
        ".wh..",
        ".wh.",
        "a/.wh..",
        "../outside/.wh.canary",
        "../.wh.outside",
    ] {
        for opts in [ApplyOptions::LAYER, ApplyOptions::FLATTEN] {
            let sb = Sandbox::new();
            let tar = TarBuf::new().dir("a/").file(name, b"").finish();
            let err = apply_tar(&sb, tar, opts).unwrap_err();
            assert!(matches!(err, LayerError::Escape { .. }), "{name}: {err}");
            sb.assert_canary();
        }
    }
    // Whiteouts and opaque markers under a symlink pointing out act inside.
    for opts in [ApplyOptions::LAYER, ApplyOptions::FLATTEN] {
        let sb = Sandbox::new();
        let outside = s(&sb.outside).to_owned();
        let mut lower = TarBuf::new();
        lower.dir(&format!("{}/", &outside[1..]));
        if !opts.overlay {
            // A lower layer's file, flattened into the same tree.
            lower.file(&format!("{}/canary", &outside[1..]), b"inside");
        }
        apply_tar(&sb, lower.finish(), opts).unwrap();
        let tar = TarBuf::new()
            .symlink("o", &outside)
            .file("o/.wh.canary", b"")
            .symlink("p", &outside)
            .file("p/.wh..wh..opq", b"")
            .finish();
        apply_tar(&sb, tar, opts).unwrap();
        sb.assert_canary();
        // The whiteout hit the path inside the root.
        let inside = sb.outside_in_root().join("canary");
        let md = std::fs::symlink_metadata(&inside);
        if opts.overlay {
            use std::os::unix::fs::FileTypeExt;
            let md = md.unwrap();
            assert!(md.file_type().is_char_device());
            assert_eq!(md.rdev(), 0);
            let mut buf = [0u8; 4];
            let n =
                rustix::fs::getxattr(sb.outside_in_root(), "trusted.overlay.opaque", &mut buf[..]);
            assert_eq!(&buf[..n.unwrap()], b"y");
        } else {
            assert!(md.is_err());
        }
        let mut buf = [0u8; 4];
        assert!(rustix::fs::getxattr(&sb.outside, "trusted.overlay.opaque", &mut buf[..]).is_err());
    }
}

#[test]
fn layer_overlay_xattrs_dropped() {
    // A layer cannot set overlayfs' own xattrs (redirects, metacopy) itself.
    let sb = Sandbox::new();
    let o = layer_util::Opts {
        mode: 0o755,
        xattrs: vec![("trusted.overlay.redirect".into(), b"/etc".to_vec())],
        ..Default::default()
    };
    let tar = TarBuf::new().dir_with("d/", &o).finish();
    apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap();
    // The directory is made, only without the xattr (not a lookup failure).
    assert!(sb.root.join("d").is_dir());
    let mut buf = [0u8; 16];
    assert_eq!(
        rustix::fs::getxattr(sb.root.join("d"), "trusted.overlay.redirect", &mut buf[..]),
        Err(rustix::io::Errno::NODATA)
    );
}

#[test]
fn layer_parent_is_dangling_symlink() {
    // a -> /nonexistent resolves inside the root to nothing; a/b is refused
    // rather than created at the host's /nonexistent.
    let sb = Sandbox::new();
    let target = format!("{}/nonexistent", s(&sb.outside));
    let tar = TarBuf::new()
        .symlink("a", &target)
        .file("a/b", b"evil")
        .finish();
    let err = apply_tar(&sb, tar, ApplyOptions::LAYER).unwrap_err();
    assert!(err.to_string().contains("a/b"), "{err}");
    sb.assert_canary();
}
