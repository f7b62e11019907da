//! A small reader of `/proc/self/mountinfo` (`proc_pid_mountinfo(5)`), for the
//! few decisions that need the mount table: which mount holds the rootfs and
//! whether it is shared, and which host procfs/sysfs mounts to hide in
//! no-pivot mode.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// Field 4: the root of the mount within its filesystem.
    pub root: PathBuf,
    /// Field 5: where it is mounted.
    pub mount_point: PathBuf,
    /// Optional fields (`shared:N`, `master:N`, …).
    pub optional: Vec<String>,
    /// The filesystem type.
    pub fstype: String,
}

impl MountEntry {
    /// Whether the mount is in a shared peer group.
    pub fn is_shared(&self) -> bool {
        self.optional.iter().any(|o| o.starts_with("shared:"))
    }
}

/// Undoes the octal escapes (`\040` for a space) of mountinfo paths.
fn unescape(field: &str) -> PathBuf {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = std::str::from_utf8(&b[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(oct, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    PathBuf::from(OsString::from_vec(out))
}

/// Parses mountinfo text; malformed lines are skipped.
pub(crate) fn parse(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let pre: Vec<&str> = pre.split(' ').collect();
            if pre.len() < 6 {
                return None;
            }
            Some(MountEntry {
                root: unescape(pre[3]),
                mount_point: unescape(pre[4]),
                optional: pre[6..].iter().map(|s| s.to_string()).collect(),
                fstype: post.split(' ').next()?.to_owned(),
            })
        })
        .collect()
}

/// Reads the calling process's mount table.
pub(crate) fn read() -> std::io::Result<Vec<MountEntry>> {
    Ok(parse(&std::fs::read_to_string("/proc/self/mountinfo")?))
}

/// The mount whose mount point is the longest prefix of `path`: the mount
/// that holds `path` (the last one listed wins when mounts are stacked).
pub(crate) fn containing<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .fold(None, |best: Option<&MountEntry>, m| match best {
            Some(b) if b.mount_point.as_os_str().len() > m.mount_point.as_os_str().len() => Some(b),
            _ => Some(m),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime shared:5 - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:37 /x /mnt/with\\040space rw master:3 - tmpfs tmpfs rw
41 27 0:38 / /mnt rw - tmpfs tmpfs rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].mount_point, Path::new("/proc"));
        assert_eq!(m[0].fstype, "proc");
        assert!(m[0].is_shared());
        assert!(!m[1].is_shared());
        assert_eq!(m[2].mount_point, Path::new("/mnt/with space"));
        assert_eq!(m[2].root, Path::new("/x"));
        assert_eq!(m[2].optional, vec!["master:3"]);
    }

    #[test]
    fn containing_mount_is_longest_prefix() {
        let m = parse(SAMPLE);
        let c = |p: &str| containing(&m, Path::new(p)).unwrap().mount_point.clone();
        assert_eq!(c("/mnt/a/b"), Path::new("/mnt"));
        assert_eq!(c("/procfoo"), Path::new("/"));
        assert_eq!(c("/proc/1"), Path::new("/proc"));
    }
}
