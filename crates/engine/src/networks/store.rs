//! The network records: one row per network (its JSON), one row per
//! address handed out and the last address each network granted, in the
//! engine's database, with the networks also kept in memory for lookups. An address row is the only claim on an
//! address: `UNIQUE(network, address)` makes a double grant impossible,
//! across daemon restarts too.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::{Arc, RwLock};

use rusqlite::{params, OptionalExtension};

use crate::db::Db;
use crate::error::{EngineError, Kind, Result};
use crate::model::Network;

const TABLES: &str = "
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS network_cursors (
    network_id TEXT PRIMARY KEY,
    last TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS network_addresses (
    network_id TEXT NOT NULL,
    address TEXT NOT NULL,
    container_id TEXT NOT NULL,
    PRIMARY KEY (network_id, address)
);
";

/// The networks, in the database and in memory (creation order).
pub(crate) struct NetStore {
    db: Arc<Db>,
    nets: RwLock<Vec<Network>>,
}

/// Where an address may come from.
pub(crate) struct Pool {
    /// The subnet.
    pub subnet: wharf_net::ipam::Ipv4Net,
    /// Addresses are handed out from here (the subnet when None).
    pub range: Option<wharf_net::ipam::Ipv4Net>,
    /// Never handed out.
    pub gateway: Option<Ipv4Addr>,
}

impl NetStore {
    /// Creates the tables and loads the rows.
    pub(crate) fn open(db: Arc<Db>) -> Result<NetStore> {
        db.migrate(TABLES)?;
        let rows: Vec<String> = db.read(|c| {
            let mut st = c.prepare("SELECT json FROM networks ORDER BY rowid")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })?;
        let mut nets = Vec::new();
        for json in rows {
            match serde_json::from_str::<Network>(&json) {
                Ok(n) => nets.push(n),
                Err(e) => eprintln!("wharf: a network record does not parse and is skipped: {e}"),
            }
        }
        Ok(NetStore {
            db,
            nets: RwLock::new(nets),
        })
    }

    /// Every network, in creation order.
    pub(crate) fn all(&self) -> Vec<Network> {
        self.nets.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The network whose name, full id or unique id prefix is `key`.
    pub(crate) fn find(&self, key: &str) -> Result<Network> {
        let nets = self.nets.read().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = nets.iter().find(|n| n.id == key || n.name == key) {
            return Ok(n.clone());
        }
        let hits: Vec<&Network> = nets
            .iter()
            .filter(|n| !key.is_empty() && n.id.starts_with(key))
            .collect();
        match hits.as_slice() {
            [n] => Ok((*n).clone()),
            [] => Err(EngineError::not_found(format!("network {key} not found"))),
            many => Err(EngineError::invalid(format!(
                "network {key} is ambiguous ({} matches found based on ID)",
                many.len()
            ))),
        }
    }

    /// Adds (or, same id, replaces) a network's row.
    pub(crate) fn save(&self, n: &Network) -> Result<()> {
        let json = serde_json::to_string(n)
            .map_err(|e| EngineError::system("failed to serialize a network", e))?;
        let taken = self.db.write(|tx| {
            let holder: Option<String> = tx
                .query_row(
                    "SELECT id FROM networks WHERE name = ?1",
                    params![n.name],
                    |r| r.get(0),
                )
                .optional()?;
            if holder.as_ref().is_some_and(|h| *h != n.id) {
                return Ok(true);
            }
            tx.execute(
                "INSERT INTO networks (id, name, json) VALUES (?1, ?2, ?3)
                 ON CONFLICT(id) DO UPDATE SET name = excluded.name, json = excluded.json",
                params![n.id, n.name, json],
            )?;
            Ok(false)
        })?;
        if taken {
            return Err(EngineError::new(
                Kind::Conflict,
                format!("network with name {} already exists", n.name),
            ));
        }
        let mut nets = self.nets.write().unwrap_or_else(|p| p.into_inner());
        match nets.iter_mut().find(|x| x.id == n.id) {
            Some(x) => *x = n.clone(),
            None => nets.push(n.clone()),
        }
        Ok(())
    }

    /// Deletes a network's row and its address rows.
    pub(crate) fn delete(&self, id: &str) -> Result<()> {
        self.db.write(|tx| {
            tx.execute(
                "DELETE FROM network_addresses WHERE network_id = ?1",
                params![id],
            )?;
            tx.execute(
                "DELETE FROM network_cursors WHERE network_id = ?1",
                params![id],
            )?;
            tx.execute("DELETE FROM networks WHERE id = ?1", params![id])?;
            Ok(())
        })?;
        self.nets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|n| n.id != id);
        Ok(())
    }

    /// Grants `container` an address on network `net` from `pool`: the
    /// one asked for, or the next free one after the last granted (Docker's
    /// serial allocation, so a freed address is not reused at once).
    pub(crate) fn allocate(
        &self,
        net: &Network,
        pool: &Pool,
        container: &str,
        wanted: Option<Ipv4Addr>,
    ) -> Result<Ipv4Addr> {
        enum Outcome {
            Granted(Ipv4Addr),
            InUse(Ipv4Addr),
            Exhausted,
        }
        let outcome = self.db.write(|tx| {
            let mut used = BTreeSet::new();
            {
                let mut st =
                    tx.prepare("SELECT address FROM network_addresses WHERE network_id = ?1")?;
                for a in st.query_map(params![net.id], |r| r.get::<_, String>(0))? {
                    if let Ok(ip) = a?.parse::<Ipv4Addr>() {
                        used.insert(ip);
                    }
                }
            }
            if let Some(g) = pool.gateway {
                used.insert(g);
            }
            let last: Option<Ipv4Addr> = tx
                .query_row(
                    "SELECT last FROM network_cursors WHERE network_id = ?1",
                    params![net.id],
                    |r| r.get::<_, String>(0),
                )
                .optional()?
                .and_then(|l| l.parse().ok());
            let ip = match wanted {
                Some(ip) if used.contains(&ip) => return Ok(Outcome::InUse(ip)),
                Some(ip) => ip,
                None => match wharf_net::ipam::next_free(pool.subnet, pool.range, &used, last) {
                    Some(ip) => ip,
                    None => return Ok(Outcome::Exhausted),
                },
            };
            tx.execute(
                "INSERT INTO network_addresses (network_id, address, container_id)
                 VALUES (?1, ?2, ?3)",
                params![net.id, ip.to_string(), container],
            )?;
            if wanted.is_none() {
                tx.execute(
                    "INSERT INTO network_cursors (network_id, last) VALUES (?1, ?2)
                     ON CONFLICT(network_id) DO UPDATE SET last = excluded.last",
                    params![net.id, ip.to_string()],
                )?;
            }
            Ok(Outcome::Granted(ip))
        })?;
        match outcome {
            Outcome::Granted(ip) => Ok(ip),
            Outcome::InUse(ip) => Err(EngineError::invalid(format!(
                "failed to allocate {ip} on network {}: Address already in use",
                net.name
            ))),
            Outcome::Exhausted => Err(EngineError::system(
                format!("no available IPv4 addresses on network {}", net.name),
                std::io::Error::from(std::io::ErrorKind::AddrNotAvailable),
            )),
        }
    }

    /// Gives back the addresses `container` holds (on `net` only, when
    /// given).
    pub(crate) fn release(&self, container: &str, net: Option<&str>) -> Result<()> {
        self.db.write(|tx| match net {
            Some(n) => tx.execute(
                "DELETE FROM network_addresses WHERE container_id = ?1 AND network_id = ?2",
                params![container, n],
            ),
            None => tx.execute(
                "DELETE FROM network_addresses WHERE container_id = ?1",
                params![container],
            ),
        })?;
        Ok(())
    }

    /// The containers holding addresses (restore drops the rows of those
    /// that no longer run).
    pub(crate) fn holders(&self) -> Result<BTreeSet<String>> {
        self.db.read(|c| {
            let mut st = c.prepare("SELECT DISTINCT container_id FROM network_addresses")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })
    }
}
