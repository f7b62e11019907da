//! Writing a directory tree as a layer tar.

use std::io::Write;
use std::path::Path;

use super::LayerError;

/// Writes the overlay upper directory `upper` as an OCI layer tar.
pub fn diff(upper: &Path, out: impl Write) -> Result<(), LayerError> {
    let _ = (upper, out);
    todo!()
}

/// Writes the whole tree `dir` as a tar.
pub fn tar_dir(dir: &Path, out: impl Write) -> Result<(), LayerError> {
    let _ = (dir, out);
    todo!()
}
