//! Tar entry names made safe: absolute names become relative, `.` is dropped,
//! `..` is applied lexically and an entry that climbs above the root is
//! rejected (as docker's `breakout` check does).

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

/// A cleaned entry name: the parent directory (relative to the root, possibly
/// empty) and the final component (`None` for the root itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPath {
    /// Directories leading to the entry, relative to the root.
    pub parent: PathBuf,
    /// The entry's own name; `None` when the entry is the root (`./`).
    pub name: Option<std::ffi::OsString>,
}

impl EntryPath {
    /// The whole cleaned path, relative to the root.
    pub fn full(&self) -> PathBuf {
        match &self.name {
            Some(n) => self.parent.join(n),
            None => self.parent.clone(),
        }
    }
}

/// Cleans `raw`; `None` when it climbs above the root.
pub(crate) fn clean(raw: &Path) -> Option<EntryPath> {
    let mut parts: Vec<&OsStr> = Vec::new();
    for c in raw.components() {
        match c {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::Normal(n) => parts.push(n),
        }
    }
    let name = parts.pop().map(OsStr::to_os_string);
    Some(EntryPath {
        parent: parts.iter().collect(),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(raw: &str) -> Option<String> {
        clean(Path::new(raw)).map(|p| p.full().to_string_lossy().into_owned())
    }

    #[test]
    fn relative_and_absolute() {
        assert_eq!(full("a/b/c").as_deref(), Some("a/b/c"));
        assert_eq!(full("/etc/passwd").as_deref(), Some("etc/passwd"));
        assert_eq!(full("./bin/").as_deref(), Some("bin"));
        assert_eq!(full("//a//b/./c/").as_deref(), Some("a/b/c"));
    }

    #[test]
    fn dotdot_inside_is_applied() {
        assert_eq!(full("a/../b").as_deref(), Some("b"));
        assert_eq!(full("a/b/../../c").as_deref(), Some("c"));
    }

    #[test]
    fn dotdot_escape_rejected() {
        assert_eq!(full("../x"), None);
        assert_eq!(full("a/../../x"), None);
        assert_eq!(full("/../etc/passwd"), None);
        assert_eq!(full(".."), None);
    }

    #[test]
    fn root_entry() {
        let p = clean(Path::new("./")).unwrap();
        assert_eq!(p.name, None);
        assert_eq!(p.parent, PathBuf::new());
        let p = clean(Path::new("a/b")).unwrap();
        assert_eq!(p.parent, PathBuf::from("a"));
        assert_eq!(p.name.as_deref(), Some(OsStr::new("b")));
    }
}
