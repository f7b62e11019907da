//! The content-addressed blob store, `<root>/blobs/sha256/<hex>`: image
//! configs, manifests and uncompressed layer tars. Every blob is written to
//! a temporary file in `<root>/tmp`, fsynced, checked against its digest and
//! renamed into place (then the directory is fsynced), so a blob is either
//! whole or absent. Reads verify the content against the name again: a blob
//! changed on disk is reported as corrupt, naming its digest.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::digest::{Digest, DigestReader, DigestWriter};

/// Errors of the blob store.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The blob is not in the store.
    #[error("blob {digest} not found")]
    NotFound {
        /// The missing blob.
        digest: Digest,
    },
    /// The blob's content does not hash to its name.
    #[error("blob {digest} is corrupt: its content has digest {actual}")]
    Corrupt {
        /// The blob's name.
        digest: Digest,
        /// What the content hashes to.
        actual: Digest,
    },
    /// Content written with an expected digest hashed to something else.
    #[error("digest mismatch: expected {expected}, content has digest {actual}")]
    Mismatch {
        /// The digest the caller expected.
        expected: Digest,
        /// What the content hashes to.
        actual: Digest,
    },
    /// An I/O error on a path.
    #[error("blob store i/o error at {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

type Result<T> = std::result::Result<T, ContentError>;

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ContentError + '_ {
    move |source| ContentError::Io {
        path: path.to_owned(),
        source,
    }
}

/// `fsync` a directory, so that a rename into it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Opens (creating) the store's lock file `path` and takes a shared or
/// exclusive `flock` on it, held until the file is closed.
pub(crate) fn lock_file(path: &Path, exclusive: bool) -> io::Result<File> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let op = if exclusive {
        rustix::fs::FlockOperation::LockExclusive
    } else {
        rustix::fs::FlockOperation::LockShared
    };
    rustix::fs::flock(&f, op)?;
    Ok(f)
}

/// The blob store under `<root>/blobs/sha256`, with temporary files in
/// `<root>/tmp` (the same filesystem, so a rename publishes a blob).
#[derive(Debug, Clone)]
pub struct ContentStore {
    dir: PathBuf,
    tmp: PathBuf,
    lock: PathBuf,
}

impl ContentStore {
    /// Opens (creating the directories) the blob store of the store at `root`.
    pub fn new(root: &Path) -> Result<ContentStore> {
        let dir = root.join("blobs").join("sha256");
        let tmp = root.join("tmp");
        for d in [&dir, &tmp] {
            fs::create_dir_all(d).map_err(io_err(d))?;
        }
        Ok(ContentStore {
            dir,
            tmp,
            lock: root.join("lock"),
        })
    }

    /// Where the blob `d` lives (whether or not it exists).
    pub fn path(&self, d: &Digest) -> PathBuf {
        self.dir.join(d.hex())
    }

    /// `true` if the blob `d` is present (not verified).
    pub fn exists(&self, d: &Digest) -> bool {
        self.path(d).is_file()
    }

    /// The size in bytes of blob `d`.
    pub fn size(&self, d: &Digest) -> Result<u64> {
        let path = self.path(d);
        match fs::metadata(&path) {
            Ok(m) => Ok(m.len()),
            Err(e) => Err(self.open_err(d, &path, e)),
        }
    }

    /// Stores `bytes`, returning their digest. Storing a blob that is
    /// already present is cheap and changes nothing.
    pub fn put(&self, bytes: &[u8]) -> Result<Digest> {
        let d = Digest::of(bytes);
        // A blob already present is kept if it is intact, replaced if not.
        if self.size(&d).ok() == Some(bytes.len() as u64) && self.verify(&d).is_ok() {
            return Ok(d);
        }
        let mut w = self.writer()?;
        w.write_all(bytes).map_err(io_err(&self.tmp))?;
        w.commit(Some(&d))?;
        Ok(d)
    }

    /// Stores everything `r` yields; with `expected`, content of another
    /// digest is refused (and nothing is stored). Returns digest and size.
    pub fn put_reader(&self, mut r: impl Read, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let mut w = self.writer()?;
        io::copy(&mut r, &mut w).map_err(io_err(&self.tmp))?;
        w.commit(expected)
    }

    /// A writer for a new blob whose digest is known at the end:
    /// [`BlobWriter::commit`] publishes it; dropping it discards it. The
    /// writer holds a shared `flock` on `<root>/lock`, so garbage collection
    /// (which locks exclusively) waits for it.
    pub fn writer(&self) -> Result<BlobWriter> {
        let lock = lock_file(&self.lock, false).map_err(io_err(&self.lock))?;
        let file = NamedTempFile::with_prefix_in("blob-", &self.tmp).map_err(io_err(&self.tmp))?;
        Ok(BlobWriter {
            _lock: lock,
            dir: self.dir.clone(),
            inner: DigestWriter::new(io::BufWriter::with_capacity(256 * 1024, file)),
        })
    }

    /// Reads the whole blob `d`, verified against its digest.
    pub fn read(&self, d: &Digest) -> Result<Vec<u8>> {
        let path = self.path(d);
        let bytes = fs::read(&path).map_err(|e| self.open_err(d, &path, e))?;
        let actual = Digest::of(&bytes);
        if &actual != d {
            return Err(ContentError::Corrupt {
                digest: d.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Opens blob `d` for streaming. The reader verifies the digest as it
    /// goes: reading to the end of a corrupt blob fails with an
    /// `InvalidData` error whose inner error is [`ContentError::Corrupt`].
    pub fn open(&self, d: &Digest) -> Result<BlobReader> {
        let path = self.path(d);
        let file = File::open(&path).map_err(|e| self.open_err(d, &path, e))?;
        Ok(BlobReader {
            digest: d.clone(),
            inner: DigestReader::new(BufReader::with_capacity(256 * 1024, file)),
            checked: false,
        })
    }

    /// Reads blob `d` to the end and checks its digest.
    pub fn verify(&self, d: &Digest) -> Result<()> {
        let mut r = self.open(d)?;
        io::copy(&mut r, &mut io::sink()).map_err(|e| unwrap_corrupt(e, &self.path(d)))?;
        Ok(())
    }

    /// Removes blob `d`; removing a missing blob is not an error.
    pub fn delete(&self, d: &Digest) -> Result<()> {
        let path = self.path(d);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(&path)(e)),
        }
    }

    /// Every blob in the store (names that are not digests are skipped).
    pub fn list(&self) -> Result<Vec<Digest>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            if let Some(d) = entry
                .file_name()
                .to_str()
                .and_then(|n| Digest::from_hex(n).ok())
            {
                out.push(d);
            }
        }
        out.sort();
        Ok(out)
    }

    fn open_err(&self, d: &Digest, path: &Path, e: io::Error) -> ContentError {
        if e.kind() == io::ErrorKind::NotFound {
            ContentError::NotFound { digest: d.clone() }
        } else {
            io_err(path)(e)
        }
    }
}

/// Turns the `io::Error` of a [`BlobReader`] back into the
/// [`ContentError::Corrupt`] it carries, or an I/O error on `path`.
fn unwrap_corrupt(e: io::Error, path: &Path) -> ContentError {
    if e.get_ref().is_some_and(|inner| inner.is::<ContentError>()) {
        if let Ok(inner) = e.into_inner().unwrap().downcast::<ContentError>() {
            return *inner;
        }
        unreachable!("checked by is::<ContentError>");
    }
    io_err(path)(e)
}

/// A new blob being written; see [`ContentStore::writer`].
pub struct BlobWriter {
    _lock: File,
    dir: PathBuf,
    inner: DigestWriter<io::BufWriter<NamedTempFile>>,
}

impl BlobWriter {
    /// Flushes, fsyncs, checks `expected` (if given) and renames the blob into
    /// place, then fsyncs the blob directory. Returns digest and size.
    pub fn commit(self, expected: Option<&Digest>) -> Result<(Digest, u64)> {
        let (buf, digest, size) = self.inner.finish();
        let tmp = buf.into_inner().map_err(|e| {
            let (source, buf) = e.into_parts();
            io_err(buf.get_ref().path())(source)
        })?;
        if let Some(exp) = expected {
            if exp != &digest {
                return Err(ContentError::Mismatch {
                    expected: exp.clone(),
                    actual: digest,
                });
            }
        }
        let tmp_path = tmp.path().to_owned();
        tmp.as_file().sync_all().map_err(io_err(&tmp_path))?;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(io_err(&tmp_path))?;
        let dest = self.dir.join(digest.hex());
        tmp.persist(&dest).map_err(|e| ContentError::Io {
            path: dest.clone(),
            source: e.error,
        })?;
        sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        Ok((digest, size))
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A verifying reader over a stored blob; see [`ContentStore::open`].
pub struct BlobReader {
    digest: Digest,
    inner: DigestReader<BufReader<File>>,
    checked: bool,
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.checked {
            self.checked = true;
            let actual = self.inner.digest();
            if actual != self.digest {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    ContentError::Corrupt {
                        digest: self.digest.clone(),
                        actual,
                    },
                ));
            }
        }
        Ok(n)
    }
}
