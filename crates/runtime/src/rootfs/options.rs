//! Parsing of the fstab-style `options` of an OCI mount, following runc's
//! table: per-mount flags become `mount_setattr` bits, superblock flags become
//! `fsconfig` flags, propagation words are applied after the mount is
//! attached, `r`-prefixed flags (`rro`, `rnosuid`, …) apply recursively, and
//! every unknown word is filesystem data (`size=64m`, `mode=755`).

use wharf_sys::mount::{attr, Propagation};

/// Changes of per-mount flags: bits to set, bits to clear, and an access-time
/// mode if one was chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    pub set: u64,
    pub clear: u64,
    pub atime: Option<u64>,
}

impl Attrs {
    fn apply(&mut self, flag: Flag) {
        match flag {
            Flag::Set(bit) => {
                self.set |= bit;
                self.clear &= !bit;
            }
            Flag::Clear(bit) => {
                self.clear |= bit;
                self.set &= !bit;
            }
            Flag::Atime(mode) => self.atime = Some(mode),
            Flag::NotAtime(mode) => {
                if self.atime == Some(mode) {
                    self.atime = None;
                }
            }
        }
    }

    /// The `(set, clear)` pair for `mount_setattr`, access time included.
    pub fn setattr_bits(&self) -> (u64, u64) {
        match self.atime {
            Some(mode) => (self.set | mode, self.clear | attr::ATIME_MASK),
            None => (self.set, self.clear),
        }
    }

    /// Whether anything is to be changed.
    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0 && self.atime.is_none()
    }
}

/// The parsed options of one mount.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MountOptions {
    /// `bind` or `rbind` was given.
    pub bind: bool,
    /// `rbind`: the bind includes submounts.
    pub recursive: bool,
    /// `remount`: change the flags of the mount already at the destination.
    pub remount: bool,
    /// Flags for the top mount.
    pub attrs: Attrs,
    /// `r`-prefixed flags, applied to the whole tree.
    pub rec_attrs: Attrs,
    /// Propagation changes in order, with "recursive".
    pub propagation: Vec<(Propagation, bool)>,
    /// Superblock flags given to `fsconfig` (`sync`, `dirsync`, …).
    pub sb_flags: Vec<&'static str>,
    /// Filesystem-specific data, one word per entry.
    pub data: Vec<String>,
    /// `tmpcopyup`: copy the destination's content into a new tmpfs.
    pub tmpcopyup: bool,
}

/// One entry of the flag table.
#[derive(Debug, Clone, Copy)]
enum Flag {
    Set(u64),
    Clear(u64),
    Atime(u64),
    NotAtime(u64),
}

fn attr_flag(word: &str) -> Option<Flag> {
    Some(match word {
        "ro" => Flag::Set(attr::RDONLY),
        "rw" => Flag::Clear(attr::RDONLY),
        "nosuid" => Flag::Set(attr::NOSUID),
        "suid" => Flag::Clear(attr::NOSUID),
        "nodev" => Flag::Set(attr::NODEV),
        "dev" => Flag::Clear(attr::NODEV),
        "noexec" => Flag::Set(attr::NOEXEC),
        "exec" => Flag::Clear(attr::NOEXEC),
        "nodiratime" => Flag::Set(attr::NODIRATIME),
        "diratime" => Flag::Clear(attr::NODIRATIME),
        "nosymfollow" => Flag::Set(attr::NOSYMFOLLOW),
        "symfollow" => Flag::Clear(attr::NOSYMFOLLOW),
        "relatime" => Flag::Atime(attr::RELATIME),
        "norelatime" => Flag::NotAtime(attr::RELATIME),
        "noatime" => Flag::Atime(attr::NOATIME),
        "atime" => Flag::NotAtime(attr::NOATIME),
        "strictatime" => Flag::Atime(attr::STRICTATIME),
        "nostrictatime" => Flag::NotAtime(attr::STRICTATIME),
        _ => return None,
    })
}

fn propagation(word: &str) -> Option<(Propagation, bool)> {
    Some(match word {
        "private" => (Propagation::Private, false),
        "rprivate" => (Propagation::Private, true),
        "shared" => (Propagation::Shared, false),
        "rshared" => (Propagation::Shared, true),
        "slave" => (Propagation::Slave, false),
        "rslave" => (Propagation::Slave, true),
        "unbindable" => (Propagation::Unbindable, false),
        "runbindable" => (Propagation::Unbindable, true),
        _ => return None,
    })
}

/// Parses a propagation word (`rootfsPropagation` uses the same words).
pub(crate) fn parse_propagation(word: &str) -> Option<(Propagation, bool)> {
    propagation(word)
}

/// Parses `options`. Fails with the offending word for options Wharf does
/// not support yet (`idmap`, `ridmap`).
pub(crate) fn parse(options: &[String]) -> Result<MountOptions, String> {
    let mut out = MountOptions::default();
    for word in options {
        let word = word.as_str();
        if let Some(flag) = attr_flag(word) {
            out.attrs.apply(flag);
        } else if let Some(p) = propagation(word) {
            out.propagation.push(p);
        } else if let Some(flag) = word.strip_prefix('r').and_then(attr_flag) {
            out.rec_attrs.apply(flag);
        } else {
            match word {
                "" | "defaults" | "silent" | "loud" | "iversion" | "noiversion" | "acl"
                | "noacl" => {}
                "bind" => out.bind = true,
                "rbind" => {
                    out.bind = true;
                    out.recursive = true;
                }
                "remount" => out.remount = true,
                "sync" | "dirsync" | "mand" | "lazytime" => {
                    let flag = sb_flag(word);
                    if !out.sb_flags.contains(&flag) {
                        out.sb_flags.push(flag);
                    }
                }
                "async" | "nomand" | "nolazytime" => {
                    let cleared = match word {
                        "async" => "sync",
                        "nomand" => "mand",
                        _ => "lazytime",
                    };
                    out.sb_flags.retain(|f| *f != cleared);
                }
                "tmpcopyup" => out.tmpcopyup = true,
                "idmap" | "ridmap" => return Err(word.to_owned()),
                _ => out.data.push(word.to_owned()),
            }
        }
    }
    Ok(out)
}

fn sb_flag(word: &str) -> &'static str {
    match word {
        "sync" => "sync",
        "dirsync" => "dirsync",
        "mand" => "mand",
        _ => "lazytime",
    }
}

/// Splits one data word into an `fsconfig` key and optional value.
pub(crate) fn split_param(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (word, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(words: &[&str]) -> MountOptions {
        parse(&words.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_data_and_bind() {
        let o = p(&[
            "rbind",
            "ro",
            "nosuid",
            "nodev",
            "size=65536k",
            "mode=755",
            "defaults",
        ]);
        assert!(o.bind && o.recursive && !o.remount);
        assert_eq!(o.attrs.set, attr::RDONLY | attr::NOSUID | attr::NODEV);
        assert_eq!(o.attrs.clear, 0);
        assert_eq!(o.data, vec!["size=65536k", "mode=755"]);
        assert!(o.rec_attrs.is_empty());
    }

    #[test]
    fn later_word_wins() {
        let o = p(&["ro", "rw", "nosuid", "suid", "exec"]);
        assert_eq!(o.attrs.set, 0);
        assert_eq!(o.attrs.clear, attr::RDONLY | attr::NOSUID | attr::NOEXEC);
    }

    #[test]
    fn atime_modes() {
        let o = p(&["noatime"]);
        assert_eq!(o.attrs.setattr_bits(), (attr::NOATIME, attr::ATIME_MASK));
        let o = p(&["strictatime", "nostrictatime"]);
        assert_eq!(o.attrs.setattr_bits(), (0, 0));
        let o = p(&["relatime"]);
        assert_eq!(o.attrs.setattr_bits(), (attr::RELATIME, attr::ATIME_MASK));
    }

    #[test]
    fn recursive_attrs_are_not_confused_with_rw_or_relatime() {
        let o = p(&["rro", "rnosuid", "rw", "relatime", "rbind"]);
        assert_eq!(o.rec_attrs.set, attr::RDONLY | attr::NOSUID);
        assert_eq!(o.attrs.clear, attr::RDONLY);
        assert_eq!(o.attrs.atime, Some(attr::RELATIME));
        assert!(o.recursive);
    }

    #[test]
    fn propagation_words_in_order() {
        let o = p(&["rprivate", "shared", "runbindable"]);
        assert_eq!(
            o.propagation,
            vec![
                (Propagation::Private, true),
                (Propagation::Shared, false),
                (Propagation::Unbindable, true)
            ]
        );
    }

    #[test]
    fn superblock_flags() {
        let o = p(&["sync", "dirsync", "async", "mand"]);
        assert_eq!(o.sb_flags, vec!["dirsync", "mand"]);
    }

    #[test]
    fn idmap_is_unsupported() {
        let words = vec!["bind".to_string(), "idmap".to_string()];
        assert_eq!(parse(&words), Err("idmap".to_string()));
        assert_eq!(parse(&["ridmap".to_string()]), Err("ridmap".to_string()));
    }

    #[test]
    fn tmpcopyup_and_params() {
        let o = p(&["tmpcopyup", "newinstance", "gid=5"]);
        assert!(o.tmpcopyup);
        assert_eq!(split_param(&o.data[0]), ("newinstance", None));
        assert_eq!(split_param(&o.data[1]), ("gid", Some("5")));
        assert_eq!(split_param("a=b=c"), ("a", Some("b=c")));
    }
}
