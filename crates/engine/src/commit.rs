//! Commit a container to an image: its writable layer on top of its
//! image, its config merged like Docker's commit, `--change`s applied.

use wharf_image::digest::Digest;

use crate::error::Result;
use crate::Engine;

/// Options of `commit`.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// `repo[:tag]` to tag the new image with.
    pub reference: Option<String>,
    /// Commit message.
    pub comment: String,
    /// Author.
    pub author: String,
    /// Dockerfile instructions applied to the config (`--change`).
    pub changes: Vec<String>,
    /// Pause the container while committing.
    pub pause: bool,
}

impl Engine {
    /// Commits the container; returns the new image's id.
    pub fn commit(&self, name_or_id: &str, opts: &CommitOptions) -> Result<Digest> {
        let _ = (name_or_id, opts);
        todo!()
    }
}
