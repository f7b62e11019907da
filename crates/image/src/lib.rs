//! Wharf's image store: content-addressed blobs (sha256, verified on write and
//! on read), image configs, manifests and indexes, references as Docker writes
//! them, layers applied from tar (plain, gzip, zstd) with OCI whiteouts and
//! diffed back from an overlay upper directory, overlayfs snapshots, the
//! docker-archive and OCI-layout formats, and garbage collection. Metadata
//! lives in SQLite (WAL).
//!
//! This crate knows nothing of containers being run, of HTTP or of the
//! Dockerfile: the builder and the engine sit above it.
#![forbid(unsafe_code)]

pub mod archive;
pub mod commit;
pub mod config;
pub mod content;
pub mod db;
pub mod digest;
pub mod gc;
pub mod layer;
pub mod reference;
pub mod rootfs;
pub mod snapshot;
pub mod store;
pub mod user;
