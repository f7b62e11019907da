//! The iptables backend: each change reads the rules with `iptables-save`,
//! computes the lines of [`super::iptables`] from them and feeds those to
//! `iptables-restore -w --noflush` in one run. iptables-restore commits
//! each table at once (x_tables replaces the whole table; iptables-nft
//! sends one nf_tables transaction), and `--noflush` leaves every chain
//! alone except those the batch declares.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use super::iptables::{self, Batch, Chains, Listing};
use super::{run_with_input, stderr_of, FirewallError, NetRules, Published};

/// The chains of one table name, through one flavour of iptables.
#[derive(Debug, Clone)]
pub(super) struct Xtables {
    table: String,
    chains: Chains,
    save: PathBuf,
    restore: PathBuf,
    legacy: bool,
    /// Serialises read-compute-write within this process (the engine
    /// shares one `Firewall` between threads).
    lock: Arc<Mutex<()>>,
}

impl Xtables {
    /// Finds the commands; `legacy`: the x_tables flavour.
    pub(super) fn new(table: &str, legacy: bool) -> Result<Xtables, FirewallError> {
        let (save, restore) = if legacy {
            ("iptables-legacy-save", "iptables-legacy-restore")
        } else {
            ("iptables-save", "iptables-restore")
        };
        let find = |command: &'static str| {
            super::find_tool(command).ok_or(FirewallError::IptablesMissing { command })
        };
        Ok(Xtables {
            table: table.to_string(),
            chains: Chains::new(table)?,
            save: find(save)?,
            restore: find(restore)?,
            legacy,
            lock: Arc::default(),
        })
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    pub(super) fn legacy(&self) -> bool {
        self.legacy
    }

    pub(super) fn open(&self) -> Result<(), FirewallError> {
        self.change("set up the rules", |l| {
            iptables::open_batch(&self.chains, l)
        })
    }

    pub(super) fn add_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        self.change("add a network", |l| {
            iptables::network_batch(&self.chains, l, n, true)
        })
    }

    pub(super) fn remove_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        self.change("remove a network", |l| {
            iptables::network_batch(&self.chains, l, n, false)
        })
    }

    pub(super) fn publish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        self.change("publish ports", |l| {
            iptables::publish_batch(&self.chains, l, ps)
        })
    }

    pub(super) fn unpublish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        self.change("unpublish ports", |l| {
            iptables::unpublish_batch(&self.chains, l, ps)
        })
    }

    pub(super) fn destroy(&self) -> Result<(), FirewallError> {
        self.change("delete the chains", |l| {
            iptables::destroy_batch(&self.chains, l)
        })
    }

    /// Reads the rules, then restores the batch `f` makes of them.
    fn change(
        &self,
        action: &'static str,
        f: impl FnOnce(&Listing) -> Batch,
    ) -> Result<(), FirewallError> {
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let batch = f(&self.list(action)?);
        if batch.is_empty() {
            return Ok(());
        }
        let args = ["-w", "--noflush"];
        let out = run_with_input(&self.restore, &args, &batch.text())
            .map_err(|source| self.spawn_error(&self.restore, source))?;
        if !out.status.success() {
            return Err(self.failed(action, &out));
        }
        Ok(())
    }

    /// `iptables-save` of every table there is (one that does not exist
    /// holds none of our chains).
    fn list(&self, action: &'static str) -> Result<Listing, FirewallError> {
        let out = Command::new(&self.save)
            .output()
            .map_err(|source| self.spawn_error(&self.save, source))?;
        if !out.status.success() {
            return Err(self.failed(action, &out));
        }
        Ok(Listing::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    fn spawn_error(&self, path: &std::path::Path, source: std::io::Error) -> FirewallError {
        FirewallError::Spawn {
            path: path.to_path_buf(),
            source,
        }
    }

    fn failed(&self, action: &'static str, out: &std::process::Output) -> FirewallError {
        FirewallError::Iptables {
            action,
            table: self.table.clone(),
            source: stderr_of(out),
        }
    }
}
