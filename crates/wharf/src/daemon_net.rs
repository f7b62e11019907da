//! `wharf daemon`'s networking settings (dockerd's names): `--bridge`,
//! `--bip`, `--default-address-pool base=<CIDR>,size=<N>` (repeatable) and
//! `--nft-table`, or their daemon.json keys (`bridge`, `bip`,
//! `default-address-pools: [{"base": …, "size": …}]`, `nft-table`), checked
//! and made into the engine's [`NetworkConfig`].

use std::net::Ipv4Addr;

use anyhow::{bail, Context, Result};
use wharf_engine::NetworkConfig;

/// `a.b.c.d/n` (any address inside the network): the address and prefix.
fn cidr(s: &str) -> Option<(Ipv4Addr, u8)> {
    let (ip, len) = s.split_once('/')?;
    let ip: Ipv4Addr = ip.parse().ok()?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32)?;
    Some((ip, len))
}

/// One `--default-address-pool` value (dockerd's `PoolsOpt`).
pub fn parse_pool(value: &str) -> Result<(String, u8), String> {
    let (mut base, mut size) = (None, None);
    for field in value.split(',') {
        let lower = field.to_ascii_lowercase();
        let Some((k, v)) = lower.split_once('=') else {
            return Err(format!("invalid field '{field}' must be a key=value pair"));
        };
        match k {
            "base" => base = Some(v.to_string()),
            "size" => {
                let n: u8 = v
                    .parse()
                    .map_err(|_| format!("invalid size value for default-address-pool: {v}"))?;
                size = Some(n);
            }
            _ => return Err(format!("unexpected field '{k}' in default-address-pool")),
        }
    }
    check_pool(base, size).map_err(|e| e.to_string())
}

fn check_pool(base: Option<String>, size: Option<u8>) -> Result<(String, u8)> {
    let base = base.context("default-address-pool needs a base")?;
    let size = size.context("default-address-pool needs a size")?;
    let Some((_, prefix)) = cidr(&base) else {
        bail!("invalid base pool {base:?}: an IPv4 CIDR is expected");
    };
    if size < prefix || size > 32 {
        bail!("invalid pools size {size} for base {base}: it must be between {prefix} and 32");
    }
    Ok((base, size))
}

/// daemon.json's `default-address-pools`: a list of `{"base", "size"}`.
pub fn pools_from_json(v: &serde_json::Value) -> Result<Vec<(String, u8)>> {
    let list = v
        .as_array()
        .context("a list of {\"base\", \"size\"} is expected")?;
    list.iter()
        .map(|p| {
            let base = p["base"].as_str().map(String::from);
            let size = p["size"].as_u64().and_then(|s| u8::try_from(s).ok());
            check_pool(base, size)
        })
        .collect()
}

/// `wharf daemon`'s networking flags.
#[derive(Debug, Default, clap::Args)]
pub struct NetArgs {
    /// Attach the default bridge network to this device (`none`: no
    /// default bridge network; default wharf0).
    #[arg(short = 'b', long)]
    pub bridge: Option<String>,
    /// The default bridge's address and prefix (CIDR, e.g. 172.17.0.1/16).
    #[arg(long)]
    pub bip: Option<String>,
    /// Default address pool of new networks: base=<CIDR>,size=<prefix>
    /// (repeatable).
    #[arg(long = "default-address-pool", value_parser = parse_pool)]
    pub default_address_pool: Vec<(String, u8)>,
    /// The nftables table of the daemon's rules (default wharf).
    #[arg(long)]
    pub nft_table: Option<String>,
}

/// The daemon.json keys of these settings.
pub const KEYS: &[&str] = &["bridge", "bip", "default-address-pools", "nft-table"];

impl NetArgs {
    /// Takes daemon.json's `key` if it is one of [`KEYS`]: None when it is
    /// not, Some(true) when the flag was given too (a conflict).
    pub fn merge_key(&mut self, key: &str, val: &serde_json::Value) -> Result<Option<bool>> {
        let slot = match key {
            "bridge" => &mut self.bridge,
            "bip" => &mut self.bip,
            "nft-table" => &mut self.nft_table,
            "default-address-pools" => {
                if !self.default_address_pool.is_empty() {
                    return Ok(Some(true));
                }
                self.default_address_pool = pools_from_json(val)?;
                return Ok(Some(false));
            }
            _ => return Ok(None),
        };
        if slot.is_some() {
            return Ok(Some(true));
        }
        *slot = Some(val.as_str().context("a string is expected")?.to_string());
        Ok(Some(false))
    }

    /// The engine's settings, checked.
    pub fn config(&self) -> Result<NetworkConfig> {
        let mut n = NetworkConfig::default();
        if let Some(b) = &self.bridge {
            if b.is_empty() || b.len() > 15 || b.contains(['/', ' ']) {
                bail!("invalid bridge name {b:?}: 1 to 15 characters, no '/' or spaces");
            }
            n.bridge = b.clone();
        }
        if let Some(bip) = &self.bip {
            let Some((ip, prefix)) = cidr(bip) else {
                bail!("invalid --bip {bip:?}: an IPv4 CIDR (e.g. 172.17.0.1/16) is expected");
            };
            if n.bridge == "none" {
                bail!("you specified -b & --bip, mutually exclusive options. Configure IP address for the bridge instead");
            }
            let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let host = u32::from(ip) & host_bits;
            if prefix >= 31 || host == 0 || host == host_bits {
                bail!("invalid --bip {bip:?}: the address must be a host of its network (e.g. 172.17.0.1/16)");
            }
            n.bip = Some(bip.clone());
        }
        n.default_pools = self.default_address_pool.clone();
        if let Some(t) = &self.nft_table {
            if t.is_empty()
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                bail!("invalid --nft-table {t:?}: letters, digits, '_' and '-' only");
            }
            n.nft_table = t.clone();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_like_dockerd() {
        assert_eq!(
            parse_pool("base=10.200.0.0/16,size=24").unwrap(),
            ("10.200.0.0/16".into(), 24)
        );
        assert_eq!(
            parse_pool("base=10.200.0.0/16").unwrap_err(),
            "default-address-pool needs a size"
        );
        assert_eq!(
            parse_pool("bass=1").unwrap_err(),
            "unexpected field 'bass' in default-address-pool"
        );
        assert_eq!(
            parse_pool("base").unwrap_err(),
            "invalid field 'base' must be a key=value pair"
        );
        assert!(parse_pool("base=10.200.0.0/16,size=8").is_err());
        let json = serde_json::json!([{"base": "10.201.0.0/16", "size": 20}]);
        assert_eq!(
            pools_from_json(&json).unwrap(),
            [("10.201.0.0/16".to_string(), 20)]
        );
    }

    #[test]
    fn config_file_keys_merge_and_conflict() {
        let mut a = NetArgs {
            bip: Some("10.9.0.1/24".into()),
            ..NetArgs::default()
        };
        assert_eq!(
            a.merge_key("bridge", &serde_json::json!("wh0")).unwrap(),
            Some(false)
        );
        assert_eq!(
            a.merge_key("bip", &serde_json::json!("10.8.0.1/24"))
                .unwrap(),
            Some(true)
        );
        assert_eq!(
            a.merge_key("debug", &serde_json::json!(true)).unwrap(),
            None
        );
        let pools = serde_json::json!([{"base": "10.200.0.0/16", "size": 24}]);
        assert_eq!(
            a.merge_key("default-address-pools", &pools).unwrap(),
            Some(false)
        );
        assert!(a.merge_key("nft-table", &serde_json::json!(3)).is_err());
        let c = a.config().unwrap();
        assert_eq!(c.bridge, "wh0");
        assert_eq!(c.bip.as_deref(), Some("10.9.0.1/24"));
        assert_eq!(c.default_pools, [("10.200.0.0/16".to_string(), 24)]);
    }

    #[test]
    fn bridge_bip_and_table_checked() {
        let net = |bridge: Option<&str>, bip: Option<&str>, nft_table: Option<&str>| NetArgs {
            bridge: bridge.map(String::from),
            bip: bip.map(String::from),
            default_address_pool: Vec::new(),
            nft_table: nft_table.map(String::from),
        };
        let n = net(Some("wh-t1"), Some("10.210.0.1/24"), Some("wharf_t1"))
            .config()
            .unwrap();
        assert_eq!(n.bridge, "wh-t1");
        assert_eq!(n.bip.as_deref(), Some("10.210.0.1/24"));
        assert_eq!(n.nft_table, "wharf_t1");
        assert_eq!(
            net(None, None, None).config().unwrap(),
            NetworkConfig::default()
        );
        assert!(net(Some("none"), Some("10.0.0.1/24"), None)
            .config()
            .is_err());
        assert!(net(None, Some("10.0.0.0/24"), None).config().is_err());
        assert!(net(None, Some("10.0.0/24"), None).config().is_err());
        assert!(net(None, None, Some("a b")).config().is_err());
    }
}
