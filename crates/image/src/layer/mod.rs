//! Image layers: applying a layer tar (plain, gzip or zstd) to a directory with
//! OCI whiteouts, and writing a directory back out as a layer tar.
//!
//! Layer tars are untrusted input. Every entry is created relative to a
//! directory fd whose path was resolved with `openat2(RESOLVE_IN_ROOT)`, and the
//! final component is never followed, so no entry — whatever its name, link
//! target or whiteout — writes outside the root it is applied to.
//!
//! Image layers are stored each in its own directory and stacked with
//! overlayfs, so by default an image layer's whiteouts are written the way
//! overlayfs (and docker's overlay2 driver) expects them: `.wh.<name>` becomes
//! a 0:0 character device `<name>`, `.wh..wh..opq` sets the
//! `trusted.overlay.opaque` xattr on its directory. [`diff`] turns an overlay
//! upper directory back into OCI whiteouts.
//!
//! Nothing here calls `fsync`: a caller that needs the applied tree on disk
//! calls [`sync_tree`] once (`syncfs(2)`) before it records the layer.
//!
//! [`apply`] reads the stream on the caller's thread and creates the files on
//! a second, scoped thread that is joined before it returns (so a caller may
//! fork afterwards). Applying needs root: owners come from the tar's numeric
//! ids, devices are made with `mknod`, overlay whiteouts need `trusted.*`
//! xattrs.

mod apply;
mod compression;
mod diff;
mod entry_path;
mod meta;
mod pipeline;
mod resolve;
mod whiteout;
mod xattrs;

use std::io;
use std::path::PathBuf;

pub use apply::{apply, apply_tar};
pub use compression::{decompress, Compression};
pub use diff::{diff, tar_dir};

/// How [`apply`] treats the entries of a tar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyOptions {
    /// Interpret OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`): true for image
    /// layers; false for `ADD` of a local tar, where a `.wh.` file is just a
    /// file.
    pub whiteouts: bool,
    /// With `whiteouts`: true writes overlay whiteouts (a 0:0 character device,
    /// the `trusted.overlay.opaque` xattr) for a directory that will be an
    /// overlay lower layer; false deletes the whited-out files for real
    /// ("flattened" apply onto an existing tree, such as `wharf import` of
    /// several layers into one directory). Ignored without `whiteouts`.
    pub overlay: bool,
}

impl ApplyOptions {
    /// An image layer unpacked into its own overlay lower directory.
    pub const LAYER: ApplyOptions = ApplyOptions {
        whiteouts: true,
        overlay: true,
    };
    /// An image layer applied onto an existing tree: whiteouts delete.
    pub const FLATTEN: ApplyOptions = ApplyOptions {
        whiteouts: true,
        overlay: false,
    };
    /// A plain tar (`ADD` of a local archive): no whiteouts at all.
    pub const PLAIN: ApplyOptions = ApplyOptions {
        whiteouts: false,
        overlay: false,
    };
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    /// Entries created (files, directories, links, devices, whiteouts).
    pub files: u64,
    /// Bytes of regular file content written.
    pub bytes: u64,
}

/// Errors of layer apply and diff. `path` is the entry's name in the tar (or
/// in the directory being written out).
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The tar stream could not be read or is malformed.
    #[error("failed to read layer tar")]
    Read(#[source] io::Error),
    /// The decompressor failed to start.
    #[error("failed to start {compression} decompression")]
    Decompress {
        /// Which compression was detected.
        compression: Compression,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The root directory could not be opened.
    #[error("failed to open layer root {path}")]
    Root {
        /// The root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An entry name climbs above the root (`..`) or is otherwise unusable.
    #[error("tar entry {path} escapes the layer root")]
    Escape {
        /// The entry's name.
        path: PathBuf,
    },
    /// A hardlink's target is outside the root or not yet extracted.
    #[error("hardlink {path} points to {target}, which is not in the layer")]
    BadHardlink {
        /// The entry's name.
        path: PathBuf,
        /// Its link target.
        target: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The tar holds an entry type that a layer cannot contain.
    #[error("tar entry {path} has unsupported type {kind:?}")]
    Unsupported {
        /// The entry's name.
        path: PathBuf,
        /// The tar type flag.
        kind: u8,
    },
    /// Creating an entry (or a parent directory for it) failed.
    #[error("failed to apply tar entry {path}")]
    Entry {
        /// The entry's name.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Reading a file of the tree being written out failed.
    #[error("failed to read {path} for the layer tar")]
    Walk {
        /// The file, relative to the tree.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the tar failed.
    #[error("failed to write layer tar")]
    Write(#[source] io::Error),
    /// `syncfs` of the root failed.
    #[error("failed to sync {path}")]
    Sync {
        /// The root.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Flushes the filesystem holding `root` to disk (`syncfs(2)`): call it once
/// after [`apply`], which writes without `fsync`, before recording the layer.
pub fn sync_tree(root: &std::path::Path) -> Result<(), LayerError> {
    let dir = std::fs::File::open(root).map_err(|source| LayerError::Sync {
        path: root.to_owned(),
        source,
    })?;
    rustix::fs::syncfs(&dir).map_err(|e| LayerError::Sync {
        path: root.to_owned(),
        source: e.into(),
    })
}
