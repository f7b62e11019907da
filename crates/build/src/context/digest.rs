//! The cache digest of `COPY`/`ADD` sources: one SHA-256 over a canonical
//! walk of everything the copy would read (file capabilities included). File content is streamed through
//! the same hasher with one reused buffer, so many small files cost little
//! more than reading them.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{FileType, Stat};
use sha2::{Digest as _, Sha256};

use super::tree::{fd_path, file_type, open_name, Found};
use super::{is_missing, Context, ContextError, Source};

/// Read buffer for file content.
const BUF: usize = 256 * 1024;

pub(super) fn file_digest(ctx: &Context, sources: &[Source]) -> Result<String, ContextError> {
    let mut h = Hasher {
        ctx,
        sha: Sha256::new(),
        buf: vec![0; BUF],
    };
    for src in sources {
        let found = match ctx.tree.lookup(&src.resolved, false) {
            Ok(found) => found,
            Err(e) if is_missing(&e) => return Err(ctx.not_found(&src.path)),
            Err(e) => return Err(ctx.read_error(&src.path, e)),
        };
        h.field(b"source", src.path.as_bytes());
        h.object("", &found, None)
            .map_err(|e| ctx.read_error(&src.path, e))?;
    }
    Ok(format!("sha256:{}", hex::encode(h.sha.finalize())))
}

struct Hasher<'a> {
    ctx: &'a Context,
    sha: Sha256,
    buf: Vec<u8>,
}

impl Hasher<'_> {
    /// A tagged, length-prefixed field, so no two walks hash alike by
    /// accident of concatenation.
    fn field(&mut self, tag: &[u8], value: &[u8]) {
        self.sha.update(tag);
        self.sha.update((value.len() as u64).to_le_bytes());
        self.sha.update(value);
    }

    /// One object at `rel` (relative to the source); `content` is the file
    /// already opened for reading, if the caller had its directory at hand.
    fn object(&mut self, rel: &str, found: &Found, content: Option<File>) -> io::Result<()> {
        let stat = &found.stat;
        let kind = file_type(stat);
        self.field(b"name", rel.as_bytes());
        self.meta(kind, stat);
        match kind {
            FileType::Directory => {
                for entry in self.ctx.tree.list(found)? {
                    let child = self.ctx.tree.child(found, &entry)?;
                    let name = entry.name.to_string_lossy();
                    let child_rel = if rel.is_empty() {
                        name.into_owned()
                    } else {
                        format!("{rel}/{name}")
                    };
                    let content = match file_type(&entry.stat) {
                        FileType::RegularFile => Some(File::from(open_name(
                            found.fd.as_fd(),
                            Path::new(&entry.name),
                            wharf_sys::fs::OFlags::RDONLY,
                        )?)),
                        _ => None,
                    };
                    self.object(&child_rel, &child, content)?;
                }
                self.sha.update(b"end");
            }
            FileType::RegularFile => {
                let mut file = match content {
                    Some(file) => file,
                    None => File::open(fd_path(&found.fd))?,
                };
                let mut total = 0u64;
                loop {
                    let n = file.read(&mut self.buf)?;
                    if n == 0 {
                        break;
                    }
                    self.sha.update(&self.buf[..n]);
                    total += n as u64;
                }
                self.sha.update(total.to_le_bytes());
                if let Some(cap) = super::copy::read_capability(file.as_fd())? {
                    self.field(b"cap", &cap);
                }
            }
            FileType::Symlink => {
                // readlinkat(fd, "") reads the link an O_PATH fd stands for.
                let target = wharf_sys::fs::readlinkat(found.fd.as_fd(), Path::new(""))?;
                self.field(b"link", target.as_os_str().as_encoded_bytes());
            }
            FileType::CharacterDevice | FileType::BlockDevice => {
                self.sha.update(stat.st_rdev.to_le_bytes());
            }
            _ => {}
        }
        Ok(())
    }

    fn meta(&mut self, kind: FileType, stat: &Stat) {
        let tag: u8 = match kind {
            FileType::Directory => b'd',
            FileType::RegularFile => b'f',
            FileType::Symlink => b'l',
            FileType::Fifo => b'p',
            FileType::CharacterDevice => b'c',
            FileType::BlockDevice => b'b',
            _ => b's',
        };
        self.sha.update([tag]);
        if kind != FileType::Symlink {
            self.sha.update((stat.st_mode & 0o7777).to_le_bytes());
        }
        if self.ctx.rootfs {
            self.sha.update(stat.st_uid.to_le_bytes());
            self.sha.update(stat.st_gid.to_le_bytes());
        }
    }
}
