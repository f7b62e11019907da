//! Layers on a real overlayfs: whiteouts written by `apply` hide the lower
//! layers' files, and `diff` of an upper directory after deletes, renames and
//! an opaque directory gives a layer that reproduces the merged view. Run as
//! root; every mount is detached on drop.

mod layer_util;

use std::path::{Path, PathBuf};

use layer_util::{snapshot, tar_names, Sandbox, TarBuf};
use wharf_image::layer::{apply, diff, ApplyOptions};

/// An overlay mount, detached on drop.
struct Overlay(PathBuf);

impl Overlay {
    /// A read-only overlay of `lowers` (top-most first).
    fn mount(lowers: &[&Path], target: &Path) -> Overlay {
        Self::mount_with(
            lowers,
            None,
            target,
            "redirect_dir=off,index=off,metacopy=off",
        )
    }

    /// A writable overlay mounted the way image snapshots are, so `diff`
    /// is tested on the upper directories the store really makes.
    fn snapshot(lower: &Path, upper: &Path, work: &Path, target: &Path) -> Overlay {
        std::fs::create_dir_all(target).unwrap();
        wharf_image::snapshot::mount_overlay(&[lower.to_owned()], upper, work, target).unwrap();
        Overlay(target.to_owned())
    }

    fn mount_with(
        lowers: &[&Path],
        upper: Option<(&Path, &Path)>,
        target: &Path,
        opts: &str,
    ) -> Overlay {
        std::fs::create_dir_all(target).unwrap();
        let lower: Vec<String> = lowers.iter().map(|p| p.display().to_string()).collect();
        let mut data = format!("lowerdir={}", lower.join(":"));
        if let Some((up, work)) = upper {
            data += &format!(",upperdir={},workdir={}", up.display(), work.display());
        }
        data += ",";
        data += opts;
        rustix::mount::mount(
            "overlay",
            target,
            "overlay",
            rustix::mount::MountFlags::empty(),
            Some(std::ffi::CString::new(data.clone()).unwrap().as_c_str()),
        )
        .unwrap_or_else(|e| panic!("mount overlay {data}: {e}"));
        Overlay(target.to_owned())
    }
}

impl Drop for Overlay {
    fn drop(&mut self) {
        let _ = rustix::mount::unmount(&self.0, rustix::mount::UnmountFlags::DETACH);
    }
}

fn lower_tar() -> Vec<u8> {
    TarBuf::new()
        .file("a", b"a")
        .file("b", b"b")
        .dir("d/")
        .file("d/x", b"x")
        .file("d/y", b"y")
        .dir("e/")
        .file("e/z", b"z")
        .dir("k/")
        .file("k/keep", b"keep")
        .finish()
}

fn names(dir: &Path) -> Vec<String> {
    snapshot(dir)
        .into_keys()
        .map(|p| p.display().to_string())
        .collect()
}

#[test]
fn layer_overlay_whiteouts_hide_lower() {
    let sb = Sandbox::new();
    let base = sb.dir.path();
    let (l1, l2) = (base.join("l1"), base.join("l2"));
    std::fs::create_dir(&l1).unwrap();
    std::fs::create_dir(&l2).unwrap();
    apply(&lower_tar()[..], &l1, &ApplyOptions::LAYER).unwrap();
    let top = TarBuf::new()
        .file(".wh.a", b"")
        .dir("d/")
        .file("d/.wh..wh..opq", b"")
        .file("d/new", b"new")
        .file("e/.wh.z", b"")
        .file("k/added", b"added")
        .finish();
    apply(&top[..], &l2, &ApplyOptions::LAYER).unwrap();
    let merged = base.join("merged");
    let _m = Overlay::mount(&[&l2, &l1], &merged);
    assert_eq!(
        names(&merged),
        ["b", "d", "d/new", "e", "k", "k/added", "k/keep"]
    );
}

#[test]
fn layer_diff_of_overlay_upper() {
    let sb = Sandbox::new();
    let base = sb.dir.path();
    let dirs: Vec<PathBuf> = ["l1", "upper", "work", "l2", "work2"]
        .iter()
        .map(|n| base.join(n))
        .collect();
    for d in &dirs {
        std::fs::create_dir(d).unwrap();
    }
    let (l1, upper, work, l2) = (&dirs[0], &dirs[1], &dirs[2], &dirs[3]);
    apply(&lower_tar()[..], l1, &ApplyOptions::LAYER).unwrap();

    let merged = base.join("merged");
    let m = Overlay::snapshot(l1, upper, work, &merged);
    std::fs::remove_file(merged.join("a")).unwrap();
    std::fs::write(merged.join("b"), b"changed").unwrap();
    // A lower directory deleted and made again: opaque in the upper.
    std::fs::remove_dir_all(merged.join("d")).unwrap();
    std::fs::create_dir(merged.join("d")).unwrap();
    std::fs::write(merged.join("d/n"), b"n").unwrap();
    // A file renamed: copied up under its new name, whited out under the old.
    std::fs::rename(merged.join("e/z"), merged.join("e/z2")).unwrap();
    std::fs::write(merged.join("f1"), b"linked").unwrap();
    std::fs::hard_link(merged.join("f1"), merged.join("f2")).unwrap();
    std::os::unix::fs::symlink("b", merged.join("s")).unwrap();
    std::os::unix::fs::chown(merged.join("k/keep"), Some(42), Some(43)).unwrap();
    rustix::fs::setxattr(
        merged.join("b"),
        "user.note",
        b"v",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let want = snapshot(&merged);
    drop(m);

    let mut layer = Vec::new();
    diff(upper, &mut layer).unwrap();
    assert_eq!(
        tar_names(&layer),
        [
            ".wh.a",
            "b",
            "d/",
            "d/.wh..wh..opq",
            "d/n",
            "e/",
            "e/.wh.z",
            "e/z2",
            "f1",
            "f2",
            "k/",
            "k/keep",
            "s"
        ]
    );
    let mut ar = tar::Archive::new(&layer[..]);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        if name == "f2" {
            assert_eq!(e.header().entry_type(), tar::EntryType::Link);
        }
        // overlayfs' own xattrs never leave the upper directory.
        if let Some(pax) = e.pax_extensions().unwrap() {
            for ext in pax {
                assert!(
                    !ext.unwrap().key().unwrap().contains("trusted.overlay"),
                    "{name}"
                );
            }
        }
    }

    apply(&layer[..], l2, &ApplyOptions::LAYER).unwrap();
    let merged2 = base.join("merged2");
    let _m2 = Overlay::mount(&[l2, l1], &merged2);
    let got = snapshot(&merged2);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (path, node) in &want {
        let g = &got[path];
        let mut n = node.clone();
        // Directory mtimes in an overlay merge depend on which layer holds
        // the directory, and the root of a layer is not in its tar.
        if n.kind == "dir" {
            n.mtime = g.mtime;
        }
        assert_eq!(&n, g, "{}", path.display());
    }
}

#[test]
fn layer_diff_refuses_redirects() {
    // With redirect_dir=on a renamed lower directory is only a pointer in the
    // upper layer; a tar cannot express it, so diff says so instead of
    // writing an empty directory.
    let sb = Sandbox::new();
    let base = sb.dir.path();
    let (l1, upper, work) = (base.join("l1"), base.join("upper"), base.join("work"));
    for d in [&l1, &upper, &work] {
        std::fs::create_dir(d).unwrap();
    }
    apply(&lower_tar()[..], &l1, &ApplyOptions::LAYER).unwrap();
    let merged = base.join("merged");
    let m = Overlay::mount_with(
        &[&l1],
        Some((&upper, &work)),
        &merged,
        "redirect_dir=on,index=off",
    );
    std::fs::rename(merged.join("d"), merged.join("moved")).unwrap();
    drop(m);
    let err = diff(&upper, std::io::sink()).unwrap_err();
    let mut chain = err.to_string();
    let mut cause = std::error::Error::source(&err);
    while let Some(c) = cause {
        chain += &format!(": {c}");
        cause = c.source();
    }
    assert!(
        chain.contains("moved") && chain.contains("redirect_dir=off"),
        "{chain}"
    );
}
