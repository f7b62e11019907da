//! Extracting a `docker cp` tar into a directory of a container.
//!
//! The tar is rewritten on the fly so that every entry lands below the
//! destination: names (and hardlink targets) are cleaned, refused when they
//! climb out of it, and prefixed with the destination's path; owners are
//! replaced with `copyUIDGID`'s; `noOverwriteDirNonDir` is checked against
//! what is on disk. The rewritten stream is applied with
//! [`wharf_image::layer::apply_tar`] (plain: no whiteouts) to the trusted
//! root that holds the destination (the container's root filesystem or a
//! volume's directory), so symlinks met on the way resolve inside that
//! root, as they would inside the container, and never outside it.

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{AtFlags, FileType, OFlags};
use tar::{EntryType, Header};
use wharf_image::layer::{self, ApplyOptions};

use super::archive::PutOptions;
use super::scope;
use crate::error::{EngineError, Result};

/// Extracts `input` into `root`/`dest` (`dest_name` is the container path,
/// for messages).
pub(crate) fn extract(
    root: &Path,
    dest: &Path,
    input: impl Read,
    opts: PutOptions,
    dest_name: &str,
) -> Result<()> {
    let input = layer::decompress(input)
        .map_err(|e| EngineError::invalid(format!("failed to read the archive: {e}")))?;
    let (reader, writer) =
        io::pipe().map_err(|e| EngineError::system("failed to make a pipe", e))?;
    let (rewritten, applied) = std::thread::scope(|s| {
        let applier = s.spawn(move || layer::apply_tar(reader, root, &ApplyOptions::PLAIN));
        let rewritten = rewrite(input, writer, root, dest, opts, dest_name);
        (rewritten, applier.join())
    });
    // A refused entry ends the stream early: its error is the one to report.
    rewritten?;
    let applied = applied.map_err(|_| {
        EngineError::system("archive extraction panicked", io::Error::other("panic"))
    })?;
    applied.map_err(|e| {
        EngineError::system(format!("failed to extract the archive to {dest_name}"), e)
    })?;
    Ok(())
}

/// An entry name cleaned and made relative; `None` when it climbs out.
fn relative(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir if !out.pop() => return None,
            _ => {}
        }
    }
    Some(out)
}

fn rewrite(
    input: impl Read,
    out: io::PipeWriter,
    root: &Path,
    dest: &Path,
    opts: PutOptions,
    dest_name: &str,
) -> Result<()> {
    let bad = |e: io::Error| EngineError::invalid(format!("failed to read the archive: {e}"));
    let mut archive = tar::Archive::new(input);
    let mut builder = tar::Builder::new(io::BufWriter::new(out));
    let root_fd = scope::open_root(root)
        .map_err(|e| EngineError::system("failed to open the container root", e))?;
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.into_owned();
        let Some(rel) = relative(&name) else {
            return Err(EngineError::invalid(format!(
                "{:?} is outside of {dest_name:?}",
                name.display().to_string()
            )));
        };
        let kind = entry.header().entry_type();
        // The destination itself (`./`) is left as it is, as Docker does.
        if rel.as_os_str().is_empty() {
            continue;
        }
        let target = dest.join(&rel);
        if opts.no_overwrite_dir_non_dir {
            check_overwrite(
                &root_fd,
                &target,
                kind == EntryType::Directory,
                &rel,
                dest_name,
            )?;
        }
        let mut h: Header = entry.header().clone();
        if let Some((uid, gid)) = opts.chown {
            h.set_uid(u64::from(uid));
            h.set_gid(u64::from(gid));
        }
        let write_err = |e: io::Error| {
            EngineError::system(format!("failed to extract the archive to {dest_name}"), e)
        };
        let path = target;
        match kind {
            EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let Some(link_rel) = relative(&link) else {
                    return Err(EngineError::invalid(format!(
                        "invalid hardlink {:?} -> {:?}",
                        name.display().to_string(),
                        link.display().to_string()
                    )));
                };
                builder
                    .append_link(&mut h, &path, dest.join(link_rel))
                    .map_err(write_err)?;
            }
            EntryType::Symlink => {
                let link: OsString = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned()
                    .into_os_string();
                builder
                    .append_link(&mut h, &path, link)
                    .map_err(write_err)?;
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            _ => {
                builder
                    .append_data(&mut h, &path, &mut entry)
                    .map_err(write_err)?;
            }
        }
    }
    let mut w = builder
        .into_inner()
        .map_err(|e| EngineError::system("failed to finish the archive", e))?;
    // The reader may have stopped at its own error: that error is reported.
    let _ = w.flush();
    Ok(())
}

/// Docker's `noOverwriteDirNonDir`: an existing directory may not become a
/// non-directory, nor an existing non-directory a directory.
fn check_overwrite(
    root: &std::os::fd::OwnedFd,
    target: &Path,
    is_dir: bool,
    rel: &Path,
    dest_name: &str,
) -> Result<()> {
    let Some(name) = target.file_name() else {
        return Ok(());
    };
    let parent = target.parent().unwrap_or(Path::new(""));
    let Ok(dir) = scope::open_in(root, parent, OFlags::PATH | OFlags::DIRECTORY) else {
        return Ok(());
    };
    let Ok(st) = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
        return Ok(());
    };
    let exists_dir = FileType::from_raw_mode(st.st_mode) == FileType::Directory;
    let shown = Path::new(dest_name).join(rel);
    if exists_dir && !is_dir {
        return Err(EngineError::invalid(format!(
            "cannot overwrite directory {:?} with non-directory {:?}",
            shown.display().to_string(),
            dest_name
        )));
    }
    if !exists_dir && is_dir {
        return Err(EngineError::invalid(format!(
            "cannot overwrite non-directory {:?} with directory {:?}",
            shown.display().to_string(),
            dest_name
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_stay_below_the_destination() {
        assert_eq!(relative(Path::new("./a/b")), Some(PathBuf::from("a/b")));
        assert_eq!(relative(Path::new("/a/../b")), Some(PathBuf::from("b")));
        assert_eq!(relative(Path::new("a/../../b")), None);
        assert_eq!(relative(Path::new("../x")), None);
        assert_eq!(relative(Path::new(".")), Some(PathBuf::new()));
    }
}
