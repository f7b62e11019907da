//! Mounts: `-v` binds and volumes, `--mount` specs, anonymous volumes from
//! the image's VOLUMEs, tmpfs; and the copy-up of image content into a new
//! empty volume, as Docker does at a container's first start.

use std::path::Path;

use crate::error::Result;
use crate::model::{CreateOptions, MountPoint, MountSpec};
use crate::Engine;

/// Parses a `-v` string (`/host:/ctr[:opts]`, `name:/ctr[:opts]`, `/ctr`)
/// into a mount spec (kind `bind` or `volume`), with Docker's messages.
pub fn parse_bind(s: &str) -> Result<MountSpec> {
    let _ = s;
    todo!()
}

/// Validates every mount option of `opts` without touching the host
/// (called by [`crate::spec::resolve`]).
pub fn validate(opts: &CreateOptions) -> Result<()> {
    let _ = opts;
    todo!()
}

/// The mounts of new container `id`: binds (a missing `-v` source is
/// created; a missing `--mount type=bind` source is an error), named
/// volumes (created when missing), anonymous volumes for the paths in
/// `anon` not otherwise mounted, tmpfs.
pub fn prepare(
    engine: &Engine,
    id: &str,
    opts: &CreateOptions,
    anon: &[String],
) -> Result<Vec<MountPoint>> {
    let _ = (engine, id, opts, anon);
    todo!()
}

/// Copies the image's content at each volume's destination (in `rootfs`,
/// the container's mounted root) into the volume when the volume is empty
/// and the mount allows it (Docker's copy-up: modes, owners, times,
/// xattrs, symlinks).
pub fn copy_up(engine: &Engine, mounts: &[MountPoint], rootfs: &Path) -> Result<()> {
    let _ = (engine, mounts, rootfs);
    todo!()
}
