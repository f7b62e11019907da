//! The networks every daemon has: `host`, `none`, and `bridge` (the
//! default network, on the device `--bridge` names, with `--bip` or the
//! first default pool that overlaps nothing). Made once, kept in the
//! database so their ids, and the default bridge's subnet, stay the same
//! across restarts; on open every bridge network's device and rules are
//! made again where a reboot took them.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use wharf_net::ipam::Ipv4Net;

use crate::error::{EngineError, Result};
use crate::model::{IpamPool, Network};
use crate::registry::now_rfc3339;
use crate::Engine;

/// Docker's options of the default bridge, with the device's name.
fn bridge_options(device: &str) -> BTreeMap<String, String> {
    [
        ("com.docker.network.bridge.default_bridge", "true"),
        ("com.docker.network.bridge.enable_icc", "true"),
        ("com.docker.network.bridge.enable_ip_masquerade", "true"),
        ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
        (super::BRIDGE_NAME_OPTION, device),
        ("com.docker.network.driver.mtu", "1500"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

impl Engine {
    /// Makes the predefined networks that are missing, then every bridge
    /// network's device and rules.
    pub(crate) fn open_networks(&self) -> Result<()> {
        let store = &self.net.store;
        for (name, driver) in [("host", "host"), ("none", "null")] {
            if store.find(name).is_err() {
                store.save(&Network {
                    id: crate::names::new_id(),
                    name: name.into(),
                    driver: driver.into(),
                    created: now_rfc3339(),
                    ..Network::default()
                })?;
            }
        }
        self.open_default_bridge()?;
        for n in store.all() {
            if n.driver == "bridge" {
                self.net.realize(&n)?;
            }
        }
        Ok(())
    }

    /// The default `bridge` network as the configuration says.
    fn open_default_bridge(&self) -> Result<()> {
        let cfg = &self.config().network;
        let store = &self.net.store;
        let old = store
            .all()
            .into_iter()
            .find(|n| n.name == "bridge" && super::is_predefined(n));
        if cfg.bridge == "none" {
            if let Some(old) = old {
                let _ = self.net.unrealize(&old);
                store.delete(&old.id)?;
            }
            return Ok(());
        }
        super::kernel::check_bridge_name(&cfg.bridge)?;
        let (subnet, gateway) = match &cfg.bip {
            Some(bip) => parse_bip(bip)?,
            None => match old.as_ref().filter(|o| o.bridge == cfg.bridge) {
                Some(o) => {
                    let p = super::pool_of(o)?;
                    (
                        p.subnet,
                        p.gateway.unwrap_or_else(|| super::first_host(p.subnet)),
                    )
                }
                None => {
                    let taken = self.taken_subnets(old.as_ref().map(|o| o.id.as_str()));
                    let subnet = self.free_pool(&taken, Some(&cfg.bridge))?;
                    (subnet, super::first_host(subnet))
                }
            },
        };
        let n = Network {
            id: old
                .as_ref()
                .map(|o| o.id.clone())
                .unwrap_or_else(crate::names::new_id),
            name: "bridge".into(),
            driver: "bridge".into(),
            created: old
                .as_ref()
                .map(|o| o.created.clone())
                .unwrap_or_else(now_rfc3339),
            ipam: vec![IpamPool {
                subnet: subnet.to_string(),
                gateway: gateway.to_string(),
                ip_range: String::new(),
            }],
            options: bridge_options(&cfg.bridge),
            bridge: cfg.bridge.clone(),
            ..Network::default()
        };
        if let Some(o) = old
            .as_ref()
            .filter(|o| o.bridge != n.bridge || o.ipam != n.ipam)
        {
            let _ = self.net.unrealize(o);
        }
        if old.as_ref() != Some(&n) {
            store.save(&n)?;
        }
        Ok(())
    }
}

/// `--bip 172.17.0.1/16`: the subnet and the gateway.
fn parse_bip(bip: &str) -> Result<(Ipv4Net, Ipv4Addr)> {
    let bad = || {
        EngineError::invalid(format!(
            "invalid --bip {bip}: want the gateway as a.b.c.d/len"
        ))
    };
    let (addr, _) = bip.split_once('/').ok_or_else(bad)?;
    let gateway: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let net: Ipv4Net = bip.parse().map_err(|e| bad().with(e))?;
    let subnet: Ipv4Net = format!("{}/{}", net.network(), net.prefix())
        .parse()
        .map_err(|e| bad().with(e))?;
    if gateway == subnet.network() || gateway == subnet.broadcast() {
        return Err(bad());
    }
    Ok((subnet, gateway))
}
