//! Extracting a `docker cp` tar into a directory of a container.
//!
//! The tar is rewritten on the fly: entry names (and hardlink targets) are
//! cleaned and refused when they climb out of the destination; owners are
//! replaced with `copyUIDGID`'s; `noOverwriteDirNonDir` is checked against
//! what is on disk. Each entry then goes to the filesystem that holds its
//! path in the container — the root filesystem, or a bind or volume
//! mounted below the destination — as a path relative to that trusted
//! root. Every root gets its own stream, applied with
//! [`wharf_image::layer::apply_tar`] (plain: no whiteouts) on a thread of
//! its own, so symlinks met on the way resolve inside that root, as they
//! would inside the container, and never outside it.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{self, BufWriter, Read, Write};
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};
use std::thread::{Scope, ScopedJoinHandle};

use rustix::fs::{AtFlags, FileType, OFlags};
use tar::{EntryType, Header};
use wharf_image::layer::{self, ApplyOptions, ApplyStats, LayerError};

use super::archive::PutOptions;
use super::scope::{self, FsView, Located};
use crate::error::{EngineError, Result};

/// Extracts `input` into the container directory `dest` (resolved).
pub(crate) fn extract(
    view: &FsView,
    dest: &[OsString],
    input: impl Read,
    opts: PutOptions,
) -> Result<()> {
    let dest_name = scope::join(dest);
    let input = layer::decompress(input)
        .map_err(|e| EngineError::invalid(format!("failed to read the archive: {e}")))?;
    std::thread::scope(|s| {
        let mut sinks = Sinks {
            scope: s,
            open: HashMap::new(),
        };
        let rewritten = rewrite(view, dest, &dest_name, input, opts, &mut sinks);
        // Every stream is ended and applied, even after a refused entry.
        let applied = sinks.finish();
        // A refused entry ends the streams early: its error is the one to report.
        rewritten?;
        applied.map_err(|e| {
            EngineError::system(format!("failed to extract the archive to {dest_name}"), e)
        })
    })
}

/// One root's stream and the thread applying it.
struct Sink<'scope> {
    builder: tar::Builder<BufWriter<io::PipeWriter>>,
    applier: ScopedJoinHandle<'scope, std::result::Result<ApplyStats, LayerError>>,
    root_fd: OwnedFd,
}

/// The streams opened so far, by root.
struct Sinks<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    open: HashMap<PathBuf, Sink<'scope>>,
}

impl<'scope> Sinks<'scope, '_> {
    fn get(&mut self, root: &Path) -> Result<&mut Sink<'scope>> {
        if !self.open.contains_key(root) {
            let root_fd = scope::open_root(root)
                .map_err(|e| EngineError::system("failed to open the container root", e))?;
            let (reader, writer) =
                io::pipe().map_err(|e| EngineError::system("failed to make a pipe", e))?;
            let owned = root.to_path_buf();
            let applier = self
                .scope
                .spawn(move || layer::apply_tar(reader, &owned, &ApplyOptions::PLAIN));
            self.open.insert(
                root.to_path_buf(),
                Sink {
                    builder: tar::Builder::new(BufWriter::new(writer)),
                    applier,
                    root_fd,
                },
            );
        }
        Ok(self.open.get_mut(root).expect("inserted above"))
    }

    /// Ends every stream and waits for its extraction; the first error.
    fn finish(self) -> std::result::Result<(), io::Error> {
        let mut first = None;
        for (_, sink) in self.open {
            // The applier may have stopped at its own error: that one counts.
            let _ = sink.builder.into_inner().map(|mut w| w.flush());
            let res = match sink.applier.join() {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err(io::Error::other(e)),
                Err(_) => Err(io::Error::other("archive extraction panicked")),
            };
            if let (Err(e), None) = (res, &first) {
                first = Some(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
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

/// Where the entry `rel` below `dest` lands, refused in a read-only mount.
fn place(view: &FsView, dest: &[OsString], rel: &Path) -> Result<Located> {
    let mut parts = dest.to_vec();
    parts.extend(rel.iter().map(|p| p.to_owned()));
    let loc = view.locate(&parts);
    match loc.mount {
        Some(i) if !view.mounts[i].rw => {
            Err(EngineError::invalid("mounted volume is marked read-only"))
        }
        None if view.read_only_rootfs => {
            Err(EngineError::invalid("container rootfs is marked read-only"))
        }
        _ => Ok(loc),
    }
}

fn rewrite(
    view: &FsView,
    dest: &[OsString],
    dest_name: &str,
    input: impl Read,
    opts: PutOptions,
    sinks: &mut Sinks<'_, '_>,
) -> Result<()> {
    let bad = |e: io::Error| EngineError::invalid(format!("failed to read the archive: {e}"));
    let write_err = |e: io::Error| {
        EngineError::system(format!("failed to extract the archive to {dest_name}"), e)
    };
    let mut archive = tar::Archive::new(input);
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let name = entry.path().map_err(bad)?.into_owned();
        let Some(rel) = relative(&name) else {
            return Err(EngineError::invalid(format!(
                "{:?} is outside of {dest_name:?}",
                name.display().to_string()
            )));
        };
        // The destination itself (`./`) is left as it is, as Docker does.
        if rel.as_os_str().is_empty() {
            continue;
        }
        let kind = entry.header().entry_type();
        let loc = place(view, dest, &rel)?;
        // A mount's root is left as it is too.
        if loc.rel.as_os_str().is_empty() {
            continue;
        }
        // A file mounted into the container takes file content only.
        if let Some(i) = loc.mount {
            let m = &view.mounts[i];
            let whole = Some(loc.rel.as_os_str()) == m.source.file_name();
            if !m.source.is_dir() && (!whole || kind != EntryType::Regular) {
                return Err(EngineError::invalid(format!(
                    "cannot replace {}: a file is mounted there",
                    Path::new(dest_name).join(&rel).display()
                )));
            }
        }
        let sink = sinks.get(&loc.root)?;
        if opts.no_overwrite_dir_non_dir {
            let shown = Path::new(dest_name).join(&rel);
            check_overwrite(
                &sink.root_fd,
                &loc.rel,
                kind == EntryType::Directory,
                &shown,
                dest_name,
            )?;
        }
        let mut h: Header = entry.header().clone();
        if let Some((uid, gid)) = opts.chown {
            h.set_uid(u64::from(uid));
            h.set_gid(u64::from(gid));
        }
        match kind {
            EntryType::Link => {
                let link = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned();
                let target = relative(&link)
                    .map(|t| place(view, dest, &t))
                    .transpose()?
                    .filter(|t| t.root == loc.root);
                let Some(target) = target else {
                    return Err(EngineError::invalid(format!(
                        "invalid hardlink {:?} -> {:?}",
                        name.display().to_string(),
                        link.display().to_string()
                    )));
                };
                let sink = sinks.get(&loc.root)?;
                sink.builder
                    .append_link(&mut h, &loc.rel, &target.rel)
                    .map_err(write_err)?;
            }
            EntryType::Symlink => {
                let link: OsString = entry
                    .link_name()
                    .map_err(bad)?
                    .unwrap_or_default()
                    .into_owned()
                    .into_os_string();
                sink.builder
                    .append_link(&mut h, &loc.rel, link)
                    .map_err(write_err)?;
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            _ => {
                sink.builder
                    .append_data(&mut h, &loc.rel, &mut entry)
                    .map_err(write_err)?;
            }
        }
    }
    Ok(())
}

/// Docker's `noOverwriteDirNonDir`: an existing directory may not become a
/// non-directory, nor an existing non-directory a directory.
fn check_overwrite(
    root: &OwnedFd,
    target: &Path,
    is_dir: bool,
    shown: &Path,
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
    let shown = shown.display().to_string();
    if exists_dir && !is_dir {
        return Err(EngineError::invalid(format!(
            "cannot overwrite directory {shown:?} with non-directory {dest_name:?}"
        )));
    }
    if !exists_dir && is_dir {
        return Err(EngineError::invalid(format!(
            "cannot overwrite non-directory {shown:?} with directory {dest_name:?}"
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
