//! The engine: the daemon's core. It keeps containers, execs, volumes and
//! events, drives one `wharf shim` per running container, and keeps its
//! metadata in SQLite next to the image store. It knows nothing of HTTP or
//! of Docker's JSON shapes (that is `wharf-docker-api`).
//!
//! Blocking calls (SQLite, mounts, file copies) are plain functions; callers
//! on an async runtime run them with `spawn_blocking`. Calls that wait for a
//! process (start, stop, wait, attach, exec) are async.

#![forbid(unsafe_code)]

mod attach;
pub mod commit;
mod create;
pub mod db;
pub mod error;
pub mod events;
pub mod exec;
mod exit;
pub mod fsops;
pub mod health;
pub mod images;
pub mod lifecycle;
pub mod logs;
pub mod model;
pub mod mounts;
pub mod names;
pub mod networks;
mod records;
mod registry;
mod remove;
pub mod restart;
pub mod restore;
pub mod shim_client;
pub mod spec;
mod start;
pub mod stats;
mod stop;
pub mod top;
mod update;
pub mod volumes;

use std::path::PathBuf;
use std::sync::Arc;

pub use error::{EngineError, Kind, Result};
pub use model::*;

/// Where the engine keeps things and which binary is its shim.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `--data-root` (default /var/lib/wharf): image store, `wharf.db`,
    /// `containers/<id>/` (logs, /etc files), `volumes/<name>/_data`.
    pub data_root: PathBuf,
    /// `--exec-root` (default /run/wharf): `runtime/` (the runtime's state),
    /// `shims/<id>/` (socket, exit file), `bundles/<id>/config.json`.
    pub exec_root: PathBuf,
    /// The `wharf` executable, run as `wharf shim` (and for builds).
    pub wharf_exe: PathBuf,
    /// Networking.
    pub network: NetworkConfig,
}

/// The daemon's networking settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Device of the default `bridge` network (`--bridge`, default
    /// `wharf0`); `none`: no default bridge network.
    pub bridge: String,
    /// `--bip`: the default bridge's gateway and prefix (`172.17.0.1/16`);
    /// None: the first default pool that overlaps nothing.
    pub bip: Option<String>,
    /// `--default-address-pool base=CIDR,size=N`: (base, size) pools of
    /// networks created without a subnet; empty: Docker's.
    pub default_pools: Vec<(String, u8)>,
    /// The nftables table of the daemon's rules (`--nft-table`, default
    /// `wharf`).
    pub nft_table: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            bridge: "wharf0".into(),
            bip: None,
            default_pools: Vec::new(),
            nft_table: "wharf".into(),
        }
    }
}

/// The engine. Shared as `Arc<Engine>` by every request.
pub struct Engine {
    config: EngineConfig,
    store: wharf_image::store::Store,
    db: Arc<db::Db>,
    inner: lifecycle::Inner,
    events: events::Events,
    volumes: volumes::Volumes,
    execs: exec::Execs,
    net: networks::NetState,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens (creating) the data and exec roots, then finds the containers a
    /// previous daemon left: running ones are re-attached through their
    /// shims (live restore), ended ones get their exit recorded and their
    /// restart policy applied.
    pub async fn open(config: EngineConfig) -> Result<Arc<Engine>> {
        restore::open(config).await
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The image store.
    pub fn store(&self) -> &wharf_image::store::Store {
        &self.store
    }

    /// The event bus.
    pub fn events(&self) -> &events::Events {
        &self.events
    }

    /// The volume store.
    pub fn volumes(&self) -> &volumes::Volumes {
        &self.volumes
    }
}

impl Engine {
    /// The engine's database.
    pub fn db(&self) -> &db::Db {
        &self.db
    }
}
