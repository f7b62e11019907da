//! Unpacking an untrusted archive tar into an empty directory.
//!
//! An image archive needs nothing but directories and regular files, so
//! nothing else is ever created: no device, no fifo, no symlink. An entry
//! whose name is absolute or climbs with `..` is refused. Because no symlink
//! is ever created, every path below the directory is made of real
//! directories, and no later entry can be steered outside through one.
//!
//! `docker save` (20.10) writes a layer shared by two images once and the
//! second copy as a relative symlink to it (`<id>/layer.tar ->
//! ../<other>/layer.tar`). Such links (and hard links) are resolved by name
//! inside the archive, after every entry is written, and become hard links
//! to the regular file they name; a link leading outside the archive, to a
//! directory or to nothing is refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

use super::{io_at, ArchiveError};

/// How many links may follow each other before the chain is refused.
const MAX_LINK_HOPS: usize = 40;

/// Unpacks the tar `r` into `dest` (an existing, empty directory).
pub fn extract(r: impl Read, dest: &Path) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(r);
    let mut files: BTreeSet<PathBuf> = BTreeSet::new();
    // link path -> (target as written, whether it is a hard link)
    let mut links: BTreeMap<PathBuf, (PathBuf, bool)> = BTreeMap::new();
    for entry in archive.entries().map_err(ArchiveError::Read)? {
        let mut entry = entry.map_err(ArchiveError::Read)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let Some(rel) = entry_name(Path::new(&name)) else {
            return Err(unsafe_entry(&name, "absolute or with a .. component"));
        };
        let kind = entry.header().entry_type();
        if rel.as_os_str().is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(unsafe_entry(&name, "names the archive root"));
        }
        let target = dest.join(&rel);
        match kind {
            tar::EntryType::Directory => {
                if files.contains(&rel) || links.contains_key(&rel) {
                    return Err(unsafe_entry(&name, "a directory over a file"));
                }
                fs::create_dir_all(&target).map_err(io_at(&target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if links.contains_key(&rel) {
                    return Err(unsafe_entry(&name, "a file over a link"));
                }
                make_parent(dest, &rel, &files, &links, &name)?;
                let mut f = fs::File::create(&target).map_err(io_at(&target))?;
                io::copy(&mut entry, &mut f).map_err(ArchiveError::Read)?;
                files.insert(rel);
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let hard = kind == tar::EntryType::Link;
                let link = entry
                    .link_name_bytes()
                    .map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()))
                    .ok_or_else(|| unsafe_entry(&name, "a link without a target"))?;
                if files.contains(&rel) || links.contains_key(&rel) || target.is_dir() {
                    return Err(unsafe_entry(&name, "a link over an existing entry"));
                }
                make_parent(dest, &rel, &files, &links, &name)?;
                links.insert(rel, (link, hard));
            }
            // pax and GNU long-name headers are consumed by the tar reader
            // itself; global pax headers carry nothing for us.
            tar::EntryType::XGlobalHeader => {}
            _ => return Err(unsafe_entry(&name, "not a file, directory or link")),
        }
    }
    for (link, _) in links.iter() {
        let source = resolve(link, &files, &links)?;
        let (from, to) = (dest.join(&source), dest.join(link));
        fs::hard_link(&from, &to).map_err(io_at(&to))?;
    }
    Ok(())
}

/// Creates the directories above `rel`, refusing to make a directory where
/// a file or link of the archive already is.
fn make_parent(
    dest: &Path,
    rel: &Path,
    files: &BTreeSet<PathBuf>,
    links: &BTreeMap<PathBuf, (PathBuf, bool)>,
    name: &str,
) -> Result<(), ArchiveError> {
    let Some(parent) = rel.parent() else {
        return Ok(());
    };
    for dir in parent.ancestors() {
        if files.contains(dir) || links.contains_key(dir) {
            return Err(unsafe_entry(name, "a path through a file or link"));
        }
    }
    let dir = dest.join(parent);
    fs::create_dir_all(&dir).map_err(io_at(&dir))
}

/// Follows a link by name inside the archive to the regular file it ends on.
fn resolve(
    link: &Path,
    files: &BTreeSet<PathBuf>,
    links: &BTreeMap<PathBuf, (PathBuf, bool)>,
) -> Result<PathBuf, ArchiveError> {
    let shown = link.display().to_string();
    let mut at = link.to_path_buf();
    for _ in 0..MAX_LINK_HOPS {
        let Some((target, hard)) = links.get(&at) else {
            return if files.contains(&at) {
                Ok(at)
            } else {
                Err(unsafe_entry(&shown, "a link to nothing in the archive"))
            };
        };
        // A hard link names an archive path; a symlink is relative to the
        // directory holding it.
        let joined = if *hard {
            target.clone()
        } else {
            at.parent().unwrap_or(Path::new("")).join(target)
        };
        at = clean(&joined).ok_or_else(|| unsafe_entry(&shown, "a link leading outside"))?;
    }
    Err(unsafe_entry(&shown, "too many levels of links"))
}

/// An entry's name as a relative path, `.` components dropped; `None` if
/// it is absolute or has any `..` component.
fn entry_name(path: &Path) -> Option<PathBuf> {
    if path.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    }) {
        return None;
    }
    clean(path)
}

/// `path` made relative and normal: `.` dropped, `..` applied; `None` if it
/// is absolute or climbs above its start.
pub(crate) fn clean(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn unsafe_entry(path: &str, reason: &'static str) -> ArchiveError {
    ArchiveError::UnsafeEntry {
        path: path.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_escapes() {
        assert_eq!(clean(Path::new("./a/b")), Some(PathBuf::from("a/b")));
        assert_eq!(clean(Path::new("a/../b")), Some(PathBuf::from("b")));
        assert_eq!(clean(Path::new("../b")), None);
        assert_eq!(clean(Path::new("a/../../b")), None);
        assert_eq!(clean(Path::new("/etc/passwd")), None);
        assert_eq!(entry_name(Path::new("a/../b")), None);
        assert_eq!(entry_name(Path::new("./a/b/")), Some(PathBuf::from("a/b")));
    }
}
