//! Making a new image from a parent and a change: `commit` of a
//! container, `import` of a root filesystem, and every step of a build.
//! The config follows Docker's `NewChildImage`: the parent's config and
//! history carried over, a history entry for the change, and its layer
//! appended unless the change was empty.

use std::io::{Seek, Write};
use std::path::Path;

use crate::config::{format_time, History, ImageConfig, RunConfig};
use crate::digest::Digest;
use crate::layer::LayerError;
use crate::store::{Layer, Store, StoreError};

/// Why a commit failed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// Diffing the writable layer failed.
    #[error("failed to diff the writable layer {upper}")]
    Diff {
        /// The upper directory.
        upper: std::path::PathBuf,
        /// The cause.
        #[source]
        source: LayerError,
    },
    /// Writing the temporary layer file failed.
    #[error("failed to write a temporary layer file")]
    Temp(#[source] std::io::Error),
    /// The store refused the layer or the image.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the new image says about its making.
#[derive(Debug, Clone, Default)]
pub struct Child {
    /// The run config of the new image (`None`: keep the parent's).
    pub config: Option<RunConfig>,
    /// History `created_by`.
    pub created_by: Option<String>,
    /// `author`.
    pub author: Option<String>,
    /// `comment`, also in the history entry.
    pub comment: Option<String>,
    /// The container committed, if any.
    pub container: Option<String>,
}

/// Turns an overlay upper directory into a layer on top of `parent_chain`;
/// `None` when nothing changed.
pub fn layer_from_upper(
    store: &Store,
    parent_chain: Option<&Digest>,
    upper: &Path,
) -> Result<Option<Layer>, CommitError> {
    let mut file = store.temp_file()?;
    {
        let mut out = std::io::BufWriter::with_capacity(1 << 20, &mut file);
        crate::layer::diff(upper, &mut out).map_err(|source| CommitError::Diff {
            upper: upper.to_path_buf(),
            source,
        })?;
        out.flush().map_err(CommitError::Temp)?;
    }
    let len = file.stream_position().map_err(CommitError::Temp)?;
    file.rewind().map_err(CommitError::Temp)?;
    if len <= 10240 && is_all_zero(&mut file)? {
        return Ok(None);
    }
    file.rewind().map_err(CommitError::Temp)?;
    let reader = std::io::BufReader::with_capacity(1 << 20, file);
    Ok(Some(store.add_layer(parent_chain, reader)?))
}

fn is_all_zero(file: &mut std::fs::File) -> Result<bool, CommitError> {
    use std::io::Read;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).map_err(CommitError::Temp)?;
    Ok(buf.iter().all(|&b| b == 0))
}

/// The config of a child image: `base` (the parent's config, or for a
/// build step the parent's config with the step's changes; `None`: a first
/// layer, as `import` makes) with a history entry for the change and its
/// layer `diff_id` on top; `created` is now.
pub fn child_config(
    base: Option<&ImageConfig>,
    diff_id: Option<&Digest>,
    child: &Child,
) -> ImageConfig {
    let now = format_time(time::OffsetDateTime::now_utc());
    let mut config = match base {
        Some(p) => p.clone(),
        None => ImageConfig {
            architecture: "amd64".into(),
            os: "linux".into(),
            ..ImageConfig::default()
        },
    };
    config.rootfs.kind = "layers".into();
    config.created = Some(now.clone());
    config.author = child.author.clone().unwrap_or_default();
    config.comment = child.comment.clone().unwrap_or_default();
    config.container = child.container.clone().unwrap_or_default();
    if let Some(c) = &child.config {
        config.config = Some(c.clone());
    }
    config.history.push(History {
        created: Some(now),
        created_by: child.created_by.clone().unwrap_or_default(),
        author: child.author.clone().unwrap_or_default(),
        comment: child.comment.clone().unwrap_or_default(),
        empty_layer: diff_id.is_none(),
    });
    if let Some(d) = diff_id {
        config.rootfs.diff_ids.push(d.clone());
    }
    config
}

/// Stores the child of image `parent` made from `base` (see
/// [`child_config`]) with the layer `diff_id`; returns its id and config.
pub fn commit(
    store: &Store,
    parent: Option<&Digest>,
    base: Option<&ImageConfig>,
    diff_id: Option<&Digest>,
    child: &Child,
) -> Result<(Digest, ImageConfig), CommitError> {
    let config = child_config(base, diff_id, child);
    let id = store.add_image(&config.to_json())?;
    if let Some(p) = parent {
        store.set_parent(&id, Some(p))?;
    }
    Ok((id, config))
}
