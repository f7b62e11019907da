//! The OCI image layout: `oci-layout`, `index.json` and `blobs/sha256/…`.
//!
//! The JSON types here are the few fields an archive needs, with sorted
//! annotation maps so that what is written is byte-for-byte reproducible
//! (the `oci-spec` types keep annotations in a `HashMap`). Reading follows
//! indexes down (nested indexes, multi-platform indexes: the manifest for
//! this platform), accepts OCI and Docker media types, and verifies the
//! digest and size of every blob it reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{blob_path, read_file, verify_bytes, verify_file, ArchiveError, ArchiveImage, Result};
use crate::digest::Digest;
use crate::reference::Reference;

pub(crate) const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MT_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub(crate) const MT_OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// `org.opencontainers.image.ref.name`: a tag, or (docker 25+, podman) a name.
pub(crate) const ANN_REF_NAME: &str = "org.opencontainers.image.ref.name";
/// `io.containerd.image.name`: the full image name (containerd, docker 25+).
pub(crate) const ANN_IMAGE_NAME: &str = "io.containerd.image.name";
/// Marks attestation manifests in buildx indexes.
const ANN_REFERENCE_TYPE: &str = "vnd.docker.reference.type";

/// How deep indexes may nest.
const MAX_DEPTH: usize = 8;

/// A content descriptor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// The platform of a manifest in an index.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image index (`index.json` or a nested index blob).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// An image manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// Reads every image of the OCI layout in `dir`.
pub(crate) fn read(dir: &Path) -> Result<Vec<ArchiveImage>> {
    let bytes = read_file(&dir.join("index.json"))?;
    let index: Index = parse(&bytes, "index.json")?;
    // Each entry of index.json is an image of its own (one per name), so
    // unlike a nested index every entry for this platform is kept.
    let entries: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| !is_attestation(d))
        .collect();
    let mut out = Vec::new();
    for desc in entries.iter().filter(|d| for_this_machine(d)) {
        let names = names_of(desc);
        walk(dir, desc, &names, 0, &mut out)?;
    }
    if out.is_empty() && !entries.is_empty() {
        return Err(ArchiveError::NoPlatform {
            platform: format!("linux/{}", host_arch()),
            digest: "index.json".to_string(),
        });
    }
    Ok(out)
}

/// Whether a descriptor names no platform or this machine's.
fn for_this_machine(d: &Descriptor) -> bool {
    d.platform
        .as_ref()
        .is_none_or(|p| p.os == "linux" && p.architecture == host_arch())
}

/// Follows `desc` (an index or a manifest) down to its images.
fn walk(
    dir: &Path,
    desc: &Descriptor,
    names: &[String],
    depth: usize,
    out: &mut Vec<ArchiveImage>,
) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(ArchiveError::TooDeep {
            digest: desc.digest.clone(),
        });
    }
    match desc.media_type.as_str() {
        MT_OCI_INDEX | MT_DOCKER_LIST => {
            let bytes = blob(dir, desc)?;
            let index: Index = parse(&bytes, &desc.digest)?;
            let chosen = for_this_platform(&index.manifests, &desc.digest)?;
            for d in chosen {
                walk(dir, d, names, depth + 1, out)?;
            }
            Ok(())
        }
        MT_OCI_MANIFEST | MT_DOCKER_MANIFEST => {
            out.push(image(dir, desc, names)?);
            Ok(())
        }
        other => Err(ArchiveError::Unsupported {
            what: "manifest",
            media_type: other.to_string(),
            digest: desc.digest.clone(),
        }),
    }
}

/// One image from its manifest descriptor.
fn image(dir: &Path, desc: &Descriptor, names: &[String]) -> Result<ArchiveImage> {
    let bytes = blob(dir, desc)?;
    let manifest: Manifest = parse(&bytes, &desc.digest)?;
    let config = blob(dir, &manifest.config)?;
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for l in &manifest.layers {
        layers.push(layer(dir, l)?);
    }
    Ok(ArchiveImage {
        config,
        layers,
        repo_tags: names.to_vec(),
    })
}

/// A layer blob's path, after checking its media type, digest and size.
fn layer(dir: &Path, desc: &Descriptor) -> Result<PathBuf> {
    let mt = desc.media_type.as_str();
    let known = mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.");
    if !known {
        return Err(ArchiveError::Unsupported {
            what: "layer",
            media_type: desc.media_type.clone(),
            digest: desc.digest.clone(),
        });
    }
    let d = digest(&desc.digest)?;
    let path = blob_path(dir, &d);
    if !path.is_file() {
        return Err(ArchiveError::Missing {
            path: format!("blobs/sha256/{}", d.hex()),
        });
    }
    verify_file(&path, &d, Some(desc.size))?;
    Ok(path)
}

/// Reads a small blob (index, manifest, config) and verifies it.
fn blob(dir: &Path, desc: &Descriptor) -> Result<Vec<u8>> {
    let d = digest(&desc.digest)?;
    let path = blob_path(dir, &d);
    if !path.is_file() {
        return Err(ArchiveError::Missing {
            path: format!("blobs/sha256/{}", d.hex()),
        });
    }
    let bytes = read_file(&path)?;
    verify_bytes(&bytes, &d, Some(desc.size))?;
    Ok(bytes)
}

/// The manifests of an index meant for this machine: those whose platform
/// is this OS and architecture, or that name no platform; attestations are
/// skipped.
fn for_this_platform<'a>(all: &'a [Descriptor], index: &str) -> Result<Vec<&'a Descriptor>> {
    let candidates: Vec<&Descriptor> = all.iter().filter(|d| !is_attestation(d)).collect();
    let chosen: Vec<&Descriptor> = candidates
        .iter()
        .copied()
        .filter(|d| for_this_machine(d))
        .collect();
    if chosen.is_empty() && !candidates.is_empty() {
        return Err(ArchiveError::NoPlatform {
            platform: format!("linux/{}", host_arch()),
            digest: index.to_string(),
        });
    }
    // Several variants of one architecture (arm v6/v7): the first wins.
    let with_platform = chosen.iter().filter(|d| d.platform.is_some()).count();
    if with_platform > 1 {
        return Ok(chosen.into_iter().take(1).collect());
    }
    Ok(chosen)
}

fn is_attestation(d: &Descriptor) -> bool {
    let unknown = d
        .platform
        .as_ref()
        .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown");
    unknown
        || d.annotations
            .as_ref()
            .is_some_and(|a| a.contains_key(ANN_REFERENCE_TYPE))
}

/// The names a descriptor's annotations give, familiar form: the full
/// image name, or a ref name that is a whole reference (a bare tag names no
/// repository and is ignored, as docker does). A name that is not a
/// reference is kept as written, for the store to refuse when it tags.
fn names_of(desc: &Descriptor) -> Vec<String> {
    let Some(ann) = &desc.annotations else {
        return Vec::new();
    };
    let name = ann.get(ANN_IMAGE_NAME).or_else(|| {
        ann.get(ANN_REF_NAME)
            .filter(|r| r.contains('/') || r.contains(':'))
    });
    match name.map(|n| (n, Reference::parse(n))) {
        Some((_, Ok(r))) if r.tag().is_some() && r.digest().is_none() => vec![r.familiar()],
        Some((n, Err(_))) => vec![n.clone()],
        _ => Vec::new(),
    }
}

/// Go's name for this machine's architecture, as OCI platforms use it.
pub(crate) fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn digest(s: &str) -> Result<Digest> {
    s.parse().map_err(ArchiveError::Digest)
}

pub(crate) fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], file: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| ArchiveError::Json {
        file: file.to_string(),
        source,
    })
}
