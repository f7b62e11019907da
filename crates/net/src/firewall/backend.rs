//! Which backend carries the rules, and where its commands are.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::FirewallError;

/// Which packet filter interface carries the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `nft`, one table.
    Nftables,
    /// `iptables-restore` / `iptables-save` as installed (on Debian the
    /// nf_tables flavour, iptables-nft).
    Iptables,
    /// `iptables-legacy-restore` / `iptables-legacy-save` (x_tables).
    IptablesLegacy,
}

impl Backend {
    /// The environment variable that forces a backend.
    pub const ENV: &'static str = "WHARF_FIREWALL";

    /// The backend [`super::Firewall::open`] uses: the one `WHARF_FIREWALL` names
    /// (`auto` or empty: none), else nftables when `nft` is found, else
    /// iptables when `iptables-restore` is, else iptables-legacy.
    pub fn detect() -> Result<Backend, FirewallError> {
        match std::env::var(Self::ENV) {
            Ok(v) if !v.is_empty() && v != "auto" => v.parse(),
            _ if find_tool("nft").is_some() => Ok(Backend::Nftables),
            _ if find_tool("iptables-restore").is_some() => Ok(Backend::Iptables),
            _ if find_tool("iptables-legacy-restore").is_some() => Ok(Backend::IptablesLegacy),
            _ => Err(FirewallError::NoFirewall),
        }
    }

    /// Its name, as `WHARF_FIREWALL` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Nftables => "nftables",
            Backend::Iptables => "iptables",
            Backend::IptablesLegacy => "iptables-legacy",
        }
    }
}

impl FromStr for Backend {
    type Err = FirewallError;

    fn from_str(s: &str) -> Result<Backend, FirewallError> {
        match s {
            "nftables" | "nft" => Ok(Backend::Nftables),
            "iptables" => Ok(Backend::Iptables),
            "iptables-legacy" => Ok(Backend::IptablesLegacy),
            _ => Err(FirewallError::InvalidBackend {
                value: s.to_string(),
            }),
        }
    }
}

/// The `nft` executable: `PATH` first, then the sbin directories a
/// daemon's `PATH` may lack.
pub fn nft_path() -> Option<PathBuf> {
    find_tool("nft")
}

/// Executable `name` in `PATH` or the sbin directories.
pub(super) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"].map(PathBuf::from));
    find_in(name, dirs)
}

/// The first executable `name` in `dirs`.
pub(super) fn find_in(name: &str, mut dirs: impl Iterator<Item = PathBuf>) -> Option<PathBuf> {
    dirs.find_map(|d| Some(d.join(name)).filter(|p| is_executable(p)))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
