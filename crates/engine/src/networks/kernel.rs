//! What the kernel holds for the networks, and the engine's handles on
//! it: a bridge device and the nftables rules of each bridge network, and
//! for each running container the sockets that hold its published ports
//! and its DNS server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use wharf_net::dns::DnsServer;
use wharf_net::firewall::{Firewall, NetRules};
use wharf_net::ipam::Ipv4Net;
use wharf_net::ports::Reservation;

use super::store::NetStore;
use crate::db::Db;
use crate::error::{EngineError, Result};
use crate::model::Network;
use crate::NetworkConfig;

/// Docker's option for a bridge network's MTU.
const MTU_OPTION: &str = "com.docker.network.driver.mtu";
/// Docker's option turning traffic between a network's containers off.
const ICC_OPTION: &str = "com.docker.network.bridge.enable_icc";

/// What a running container holds besides its records.
#[derive(Default)]
pub(crate) struct Live {
    /// Sockets holding its published host ports.
    pub ports: Vec<Reservation>,
    /// Its DNS server (containers on user-defined networks).
    pub dns: Option<DnsServer>,
}

/// The engine's networking state.
pub(crate) struct NetState {
    /// The records.
    pub store: NetStore,
    /// The daemon's nftables table (None: not opened, see `firewall`).
    firewall: Mutex<Option<Arc<Firewall>>>,
    /// The nftables table's name.
    table: String,
    /// Serialises network creates and removals.
    changes: Mutex<()>,
    /// Per running container.
    pub live: Mutex<HashMap<String, Live>>,
}

/// Checks a bridge device name (the kernel's IFNAMSIZ, and nothing nft
/// or a path could misread).
pub(crate) fn check_bridge_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(EngineError::invalid(format!(
            "invalid bridge name {name:?}: at most 15 of [A-Za-z0-9_.-]"
        )))
    }
}

impl NetState {
    /// Loads the records.
    pub(crate) fn open(db: Arc<Db>, config: &NetworkConfig) -> Result<NetState> {
        Ok(NetState {
            store: NetStore::open(db)?,
            firewall: Mutex::new(None),
            table: config.nft_table.clone(),
            changes: Mutex::new(()),
            live: Mutex::new(HashMap::new()),
        })
    }

    /// Held while a network is created or removed.
    pub(crate) fn lock_changes(&self) -> MutexGuard<'_, ()> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The daemon's nftables table, opened on first use (idempotently:
    /// a restarted daemon keeps its live containers' rules).
    pub(crate) fn firewall(&self) -> Result<Arc<Firewall>> {
        let mut fw = self.firewall.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = fw.as_ref() {
            return Ok(f.clone());
        }
        let f = Arc::new(Firewall::open(&self.table).map_err(|e| {
            EngineError::system(
                format!("failed to set up the firewall table {}", self.table),
                e,
            )
        })?);
        *fw = Some(f.clone());
        Ok(f)
    }

    /// The pools of networks created without a subnet.
    pub(crate) fn default_pools(&self, config: &NetworkConfig) -> Result<Vec<(Ipv4Net, u8)>> {
        if config.default_pools.is_empty() {
            return Ok(wharf_net::ipam::default_pools());
        }
        config
            .default_pools
            .iter()
            .map(|(base, size)| {
                let net: Ipv4Net = base.parse().map_err(|e| {
                    EngineError::invalid(format!("invalid default address pool {base}")).with(e)
                })?;
                Ok((net, *size))
            })
            .collect()
    }

    /// The rules of a bridge network.
    fn rules(n: &Network) -> Result<NetRules> {
        let pool = super::pool_of(n)?;
        Ok(NetRules {
            bridge: n.bridge.clone(),
            subnet: pool.subnet,
            internal: n.internal,
            icc: n.options.get(ICC_OPTION).map(String::as_str) != Some("false"),
        })
    }

    /// Makes a bridge network real: its device with the gateway address,
    /// and its rules. Undone when a step fails.
    pub(crate) fn realize(&self, n: &Network) -> Result<()> {
        if n.driver != "bridge" {
            return Ok(());
        }
        let pool = super::pool_of(n)?;
        let gateway = pool
            .gateway
            .unwrap_or_else(|| super::first_host(pool.subnet));
        let mtu = n
            .options
            .get(MTU_OPTION)
            .and_then(|m| m.parse::<u32>().ok());
        let existed = wharf_net::link::link_exists(&n.bridge);
        wharf_net::link::ensure_bridge(&n.bridge, gateway, pool.subnet.prefix(), mtu).map_err(
            |e| {
                EngineError::system(
                    format!(
                        "failed to set up the bridge {} of network {}",
                        n.bridge, n.name
                    ),
                    e,
                )
            },
        )?;
        let rules = Self::rules(n)?;
        // Docker turns forwarding on at start; here the first network
        // whose containers reach out turns it on.
        let forwarding = || {
            if n.internal {
                return Ok(());
            }
            wharf_net::firewall::enable_forwarding()
                .map_err(|e| EngineError::system("failed to turn IPv4 forwarding on", e))
        };
        if let Err(e) = forwarding().and_then(|()| self.firewall()).and_then(|f| {
            f.add_network(&rules).map_err(|e| {
                EngineError::system(format!("failed to add the rules of network {}", n.name), e)
            })
        }) {
            if !existed {
                let _ = wharf_net::link::delete_link(&n.bridge);
            }
            return Err(e);
        }
        Ok(())
    }

    /// Removes a bridge network's rules and device.
    pub(crate) fn unrealize(&self, n: &Network) -> Result<()> {
        if n.driver != "bridge" {
            return Ok(());
        }
        let rules = Self::rules(n)?;
        self.firewall()?.remove_network(&rules).map_err(|e| {
            EngineError::system(
                format!("failed to remove the rules of network {}", n.name),
                e,
            )
        })?;
        wharf_net::link::delete_link(&n.bridge).map_err(|e| {
            EngineError::system(
                format!(
                    "failed to delete the bridge {} of network {}",
                    n.bridge, n.name
                ),
                e,
            )
        })
    }
}
