//! The build context and the other places `COPY`/`ADD` read from, with
//! Docker's classic-builder semantics, and the copy into a container's root
//! filesystem.
//!
//! A [`Context`] is a directory: the client's context directory (or, later,
//! the directory the engine unpacks an uploaded context tar into), filtered
//! by `.dockerignore` rules; or, for `COPY --from`, another stage's (or
//! image's) root filesystem with no rules ([`Context::from_rootfs`]).
//!
//! Nothing outside the directory is ever read:
//! - a source that climbs out lexically (`COPY ../x`, `a/../../x`) is an
//!   error, `forbidden path outside the build context`, as in Docker; a
//!   leading `/` means the context root (`COPY /x` = `COPY x`);
//! - symlinks are resolved by hand inside the directory: an absolute target
//!   starts again at its root, `..` stops at its root (Docker's
//!   `FollowSymlinkInScope`). A source named explicitly (or matched by a
//!   glob) is followed, so `link -> /etc/passwd` means `<context>/etc/passwd`
//!   and, when that does not exist, "file not found"; symlinks *inside* a
//!   copied directory are copied as symlinks, never followed;
//! - files the `.dockerignore` rules exclude are invisible, judged at their
//!   resolved location, exactly as if the directory were the filtered tar the
//!   docker CLI sends (see [`crate::ignore`] for the Dockerfile and
//!   `.dockerignore` themselves).
//!
//! The destination side resolves every path inside the container's root with
//! `openat2(RESOLVE_IN_ROOT)`, so an image symlink such as `/app -> /etc`
//! cannot send writes to the host.

mod archive;
mod copy;
mod dest;
mod digest;
mod tree;

use std::io;
use std::path::{Path, PathBuf};

use rustix::fs::FileType;

use crate::ignore::{clean, has_wildcards, IgnoreError, IgnoreRules};
use tree::Tree;

/// Errors of reading a build context and copying from it.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The context (or rootfs) directory could not be opened.
    #[error("failed to open build context {path}")]
    Open {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The `.dockerignore` file is unreadable or holds a bad pattern.
    #[error("failed to read .dockerignore")]
    Ignore(#[source] IgnoreError),
    /// A source does not exist in the build context (or is excluded).
    #[error("file not found in build context or excluded by .dockerignore: stat {path}: file does not exist")]
    NotFound {
        /// The source as written.
        path: String,
    },
    /// A source does not exist in the stage or image copied from.
    #[error("stat {path}: file does not exist")]
    NotFoundInRootfs {
        /// The source as written.
        path: String,
    },
    /// A source climbs out of the context with `..`.
    #[error("forbidden path outside the build context: {path}")]
    OutsideContext {
        /// The source as written.
        path: String,
    },
    /// No source at all (globs matching nothing).
    #[error("no source files were specified")]
    NoSources,
    /// A glob is not valid `filepath.Match` syntax.
    #[error("syntax error in pattern {pattern}")]
    BadPattern {
        /// The glob.
        pattern: String,
    },
    /// Several sources need a directory destination ending in `/`. The text
    /// is Docker's, word for word.
    #[error("When using {instruction} with more than one source file, the destination must be a directory and end with a /")]
    NeedsDirectory {
        /// `COPY` or `ADD`.
        instruction: &'static str,
    },
    /// A URL source (`ADD https://...`): Wharf builds offline and never
    /// downloads. (`COPY` never takes URLs either.)
    #[error("cannot use the URL {url} as a source: wharf builds offline and never downloads")]
    Url {
        /// The URL.
        url: String,
    },
    /// Reading a source failed.
    #[error("failed to read {path} from the build context")]
    Read {
        /// The source path, relative to the context.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing into the container's filesystem failed.
    #[error("failed to copy {path} to {dest}")]
    Write {
        /// The source path, relative to the context.
        path: String,
        /// The destination in the container.
        dest: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Extracting a local archive (`ADD`) failed.
    #[error("failed to extract {path} to {dest}")]
    Extract {
        /// The archive, relative to the context.
        path: String,
        /// The destination in the container.
        dest: String,
        /// The cause.
        #[source]
        source: wharf_image::layer::LayerError,
    },
}

/// A directory that `COPY`/`ADD` read from.
#[derive(Debug)]
pub struct Context {
    tree: Tree,
    rootfs: bool,
}

/// One source of a copy, as resolved by [`Context::resolve_sources`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The path as written (after glob expansion), cleaned and relative to
    /// the root: its last element names the copy in a directory destination.
    pub path: String,
    /// Where it resolved to (symlinks followed), relative to the root; empty
    /// for the root itself.
    pub resolved: String,
    /// True when it is a directory (whose contents are copied).
    pub is_dir: bool,
}

/// How [`Context::copy_into`] writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// `--chown` as numbers (the caller resolves names in the image). `None`:
    /// root (0:0) for the build context, the source's own owner for a rootfs
    /// (`COPY --from`), as Docker's classic builder does.
    pub chown: Option<(u32, u32)>,
    /// `--chmod`: the permission bits of every copied file and directory.
    pub chmod: Option<u32>,
    /// Treat the destination as a directory although it does not end in `/`
    /// (the Dockerfile's destination ended in `/` or `/.` before the caller
    /// made it absolute).
    pub dest_is_dir_hint: bool,
    /// `ADD`: a source file that is a tar archive (plain, gzip or zstd, told
    /// by its content, not its name) is extracted into the destination.
    pub extract_archives: bool,
}

/// What [`Context::copy_into`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Regular files written.
    pub files: u64,
    /// Directories created or updated.
    pub dirs: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Devices and fifos created.
    pub special: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// Archives extracted (`ADD`).
    pub archives: u64,
}

/// Whether a `COPY`/`ADD` source is a URL (Docker's `urlutil.IsURL`, plus
/// git remotes), which Wharf refuses rather than fetch.
fn is_url(source: &str) -> bool {
    source.starts_with("http://")
        || source.starts_with("https://")
        || source.starts_with("git@")
        || source.starts_with("git://")
}

impl Context {
    /// Opens the build context at `dir`. With `ignore` `None` the rules are
    /// read from `<dir>/.dockerignore` (none if it is missing); pass
    /// `Some(rules)` to use rules from elsewhere (`Some(IgnoreRules::default())`
    /// for none).
    pub fn open(dir: &Path, ignore: Option<IgnoreRules>) -> Result<Context, ContextError> {
        let rules = match ignore {
            Some(rules) => rules,
            None => IgnoreRules::read(dir).map_err(ContextError::Ignore)?,
        };
        let tree = Tree::open(dir, Some(rules)).map_err(|source| ContextError::Open {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Context {
            tree,
            rootfs: false,
        })
    }

    /// Opens another stage's or image's root filesystem for `COPY --from`:
    /// no ignore rules, owners kept unless `--chown`.
    pub fn from_rootfs(dir: &Path) -> Result<Context, ContextError> {
        let tree = Tree::open(dir, None).map_err(|source| ContextError::Open {
            path: dir.to_owned(),
            source,
        })?;
        Ok(Context { tree, rootfs: true })
    }

    fn not_found(&self, path: &str) -> ContextError {
        if self.rootfs {
            ContextError::NotFoundInRootfs {
                path: path.to_string(),
            }
        } else {
            ContextError::NotFound {
                path: path.to_string(),
            }
        }
    }

    /// Resolves `COPY`/`ADD` sources, in order: globs (Go's
    /// `filepath.Match`, element by element) expand to the matching paths in
    /// walk order; each path is then looked up with symlinks followed inside
    /// the root. A URL is an error ([`ContextError::Url`]); so is a missing
    /// or excluded source, a path climbing out, or nothing at all.
    pub fn resolve_sources(&self, patterns: &[String]) -> Result<Vec<Source>, ContextError> {
        let mut out = Vec::new();
        for pattern in patterns {
            if is_url(pattern) {
                return Err(ContextError::Url {
                    url: pattern.clone(),
                });
            }
            // `clean` drops `.` elements; a leading `/` is the root.
            let cleaned = clean(pattern.strip_prefix('/').unwrap_or(pattern));
            if cleaned == ".." || cleaned.starts_with("../") {
                return Err(ContextError::OutsideContext {
                    path: pattern.clone(),
                });
            }
            if has_wildcards(&cleaned) {
                let matches = self
                    .tree
                    .glob(&cleaned)
                    .map_err(|source| self.read_error(&cleaned, source))?
                    .map_err(|_| ContextError::BadPattern {
                        pattern: pattern.clone(),
                    })?;
                for path in matches {
                    out.push(self.resolve_one(&path)?);
                }
            } else {
                out.push(self.resolve_one(&cleaned)?);
            }
        }
        if out.is_empty() {
            return Err(ContextError::NoSources);
        }
        Ok(out)
    }

    fn resolve_one(&self, path: &str) -> Result<Source, ContextError> {
        let lookup = if path == "." { "" } else { path };
        match self.tree.lookup(lookup, true) {
            Ok(found) => Ok(Source {
                path: path.to_string(),
                is_dir: tree::file_type(&found.stat) == FileType::Directory,
                resolved: found.rel,
            }),
            Err(e) if is_missing(&e) => Err(self.not_found(path)),
            Err(source) => Err(self.read_error(path, source)),
        }
    }

    fn read_error(&self, path: &str, source: io::Error) -> ContextError {
        ContextError::Read {
            path: path.to_string(),
            source,
        }
    }

    /// Copies `sources` into the container root filesystem `dest_root` at
    /// `dest` (an absolute container path, `WORKDIR` already applied), with
    /// Docker's rules: a directory source copies its *contents*; several
    /// sources need a directory destination (ending in `/`, or
    /// `dest_is_dir_hint`); a file goes inside an existing directory or a
    /// directory destination, under its own name, else it becomes `dest`;
    /// missing parents are created 0755 (owned by the `--chown` owner, or
    /// root). Modes and mtimes are kept; owners are root (or `--chown`) for
    /// the build context and kept for a rootfs. `ADD` archives are
    /// extracted. See [`CopyOptions`].
    pub fn copy_into(
        &self,
        sources: &[Source],
        dest_root: &Path,
        dest: &str,
        opts: &CopyOptions,
    ) -> Result<CopyStats, ContextError> {
        copy::copy_into(self, sources, dest_root, dest, opts)
    }

    /// A content digest (`sha256:<hex>`) of `sources` for the build cache:
    /// each source's path, then for every file below it its name relative to
    /// the source, type, permission bits, content, symlink target and device
    /// numbers, file capabilities (and owner, for a rootfs, whose owners are
    /// copied). Not
    /// mtimes: a copy is invalidated by content, not by a touch. `--chown`,
    /// `--chmod` and the destination are the caller's to mix in.
    pub fn file_digest(&self, sources: &[Source]) -> Result<String, ContextError> {
        digest::file_digest(self, sources)
    }
}

pub(crate) fn is_missing(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
        || e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error())
        || e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error())
}
