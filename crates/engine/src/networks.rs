//! Networks: the predefined `bridge`, `host` and `none`, user-defined
//! bridge networks, and a running container's attachments to them. The
//! records live in the engine's database; `wharf-net` makes the kernel
//! agree (bridge devices, veth pairs, nftables rules, the DNS server).

use std::sync::Arc;

use crate::error::{EngineError, Kind, Result};
use crate::model::{Endpoint, EndpointOptions, Network, NetworkCreate};
use crate::Engine;

/// A container attached to a network (`network inspect`'s `Containers`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkMember {
    /// Container id.
    pub container_id: String,
    /// Container name (without `/`).
    pub name: String,
    /// Its attachment.
    pub endpoint: Endpoint,
}

fn not_yet() -> EngineError {
    EngineError::new(Kind::System, "networks are being written")
}

impl Engine {
    /// Every network, predefined ones first, then by creation.
    pub fn networks(&self) -> Result<Vec<Network>> {
        Err(not_yet())
    }

    /// The network named `name_or_id` (name, full id or unique id
    /// prefix); 404 `network X not found`.
    pub fn network(&self, name_or_id: &str) -> Result<Network> {
        let _ = name_or_id;
        Err(not_yet())
    }

    /// The running containers attached to network `id`.
    pub fn network_members(&self, id: &str) -> Result<Vec<NetworkMember>> {
        let _ = id;
        Err(not_yet())
    }

    /// Creates a bridge network; 409 when the name is taken, 403 when a
    /// pool overlaps another network's.
    pub fn network_create(&self, opts: NetworkCreate) -> Result<Network> {
        let _ = opts;
        Err(not_yet())
    }

    /// Removes a user-defined network without attached containers.
    pub fn network_remove(&self, name_or_id: &str) -> Result<()> {
        let _ = name_or_id;
        Err(not_yet())
    }

    /// Removes the user-defined networks without containers for which
    /// `selected` holds; their names.
    pub fn networks_prune(&self, selected: &dyn Fn(&Network) -> bool) -> Result<Vec<String>> {
        let _ = selected;
        Err(not_yet())
    }

    /// Connects a container to a network (live when it runs).
    pub async fn network_connect(
        self: &Arc<Self>,
        network: &str,
        container: &str,
        opts: EndpointOptions,
    ) -> Result<()> {
        let _ = (network, container, opts);
        Err(not_yet())
    }

    /// Disconnects a container from a network (live when it runs).
    pub async fn network_disconnect(
        self: &Arc<Self>,
        network: &str,
        container: &str,
        force: bool,
    ) -> Result<()> {
        let _ = (network, container, force);
        Err(not_yet())
    }
}
