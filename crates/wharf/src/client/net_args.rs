//! `network …` commands and flags, as docker CLI 28 names them. The
//! positional arguments are checked by [`super::networks`] (docker's
//! "requires 2 arguments" wording and exit code 1), so clap takes them as
//! lists.

use clap::{Args, Subcommand};

/// `network COMMAND`.
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Connect a container to a network.
    Connect(NetConnectArgs),
    /// Create a network.
    Create(NetCreateArgs),
    /// Disconnect a container from a network.
    Disconnect(NetDisconnectArgs),
    /// Display detailed information on one or more networks.
    Inspect(NetInspectArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(NetLsArgs),
    /// Remove all unused networks.
    Prune(NetPruneArgs),
    /// Remove one or more networks.
    #[command(alias = "remove")]
    Rm(NetRmArgs),
}

/// `network create`.
#[derive(Debug, Args)]
pub struct NetCreateArgs {
    /// Enable manual container attachment.
    #[arg(long)]
    pub attachable: bool,
    /// Auxiliary IPv4 or IPv6 addresses used by Network driver.
    #[arg(long = "aux-address")]
    pub aux_address: Vec<String>,
    /// Driver to manage the Network.
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// IPv4 or IPv6 Gateway for the master subnet.
    #[arg(long, value_delimiter = ',')]
    pub gateway: Vec<String>,
    /// Create swarm routing-mesh network.
    #[arg(long)]
    pub ingress: bool,
    /// Restrict external access to the network.
    #[arg(long)]
    pub internal: bool,
    /// Allocate container ip from a sub-range.
    #[arg(long = "ip-range", value_delimiter = ',')]
    pub ip_range: Vec<String>,
    /// IP Address Management Driver.
    #[arg(long = "ipam-driver", default_value = "default")]
    pub ipam_driver: String,
    /// Set IPAM driver specific options.
    #[arg(long = "ipam-opt")]
    pub ipam_opt: Vec<String>,
    /// Enable or disable IPv4 address assignment.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv4: Option<bool>,
    /// Enable or disable IPv6 address assignment.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub ipv6: Option<bool>,
    /// Set metadata on a network.
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options.
    #[arg(short, long = "opt")]
    pub opt: Vec<String>,
    /// Control the network's scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// Subnet in CIDR format that represents a network segment.
    #[arg(long, value_delimiter = ',')]
    pub subnet: Vec<String>,
    /// NETWORK.
    pub names: Vec<String>,
}

/// `network ls`.
#[derive(Debug, Args)]
pub struct NetLsArgs {
    /// Provide filter values (e.g. "driver=bridge").
    #[arg(short, long = "filter")]
    pub filter: Vec<String>,
    /// Format output using a custom template.
    #[arg(long)]
    pub format: Option<String>,
    /// Do not truncate the output.
    #[arg(long)]
    pub no_trunc: bool,
    /// Only display network IDs.
    #[arg(short, long)]
    pub quiet: bool,
    /// None allowed.
    pub extra: Vec<String>,
}

/// `network inspect`.
#[derive(Debug, Args)]
pub struct NetInspectArgs {
    /// Format output using a custom template.
    #[arg(short, long)]
    pub format: Option<String>,
    /// Verbose output for diagnostics.
    #[arg(short, long)]
    pub verbose: bool,
    /// NETWORK [NETWORK...].
    pub names: Vec<String>,
}

/// `network rm`.
#[derive(Debug, Args)]
pub struct NetRmArgs {
    /// Do not error if the network does not exist.
    #[arg(short, long)]
    pub force: bool,
    /// NETWORK [NETWORK...].
    pub names: Vec<String>,
}

/// `network connect`.
#[derive(Debug, Args)]
pub struct NetConnectArgs {
    /// Add network-scoped alias for the container.
    #[arg(long)]
    pub alias: Vec<String>,
    /// driver options for the network.
    #[arg(long = "driver-opt")]
    pub driver_opt: Vec<String>,
    /// Highest gw-priority provides the default gateway.
    #[arg(long = "gw-priority", allow_hyphen_values = true, default_value_t = 0)]
    pub gw_priority: i64,
    /// IPv4 address (e.g., "172.30.100.104").
    #[arg(long)]
    pub ip: Option<String>,
    /// IPv6 address (e.g., "2001:db8::33").
    #[arg(long)]
    pub ip6: Option<String>,
    /// Add link to another container.
    #[arg(long)]
    pub link: Vec<String>,
    /// Add a link-local address for the container.
    #[arg(long = "link-local-ip")]
    pub link_local_ip: Vec<String>,
    /// NETWORK CONTAINER.
    pub args: Vec<String>,
}

/// `network disconnect`.
#[derive(Debug, Args)]
pub struct NetDisconnectArgs {
    /// Force the container to disconnect from a network.
    #[arg(short, long)]
    pub force: bool,
    /// NETWORK CONTAINER.
    pub args: Vec<String>,
}

/// `network prune`.
#[derive(Debug, Args)]
pub struct NetPruneArgs {
    /// Provide filter values (e.g. "until=<timestamp>").
    #[arg(long = "filter")]
    pub filter: Vec<String>,
    /// Do not prompt for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// None allowed.
    pub extra: Vec<String>,
}
