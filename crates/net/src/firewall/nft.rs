//! The nftables backend: the batches of [`super::rules`] fed to
//! `nft -f -`, one run per change.

use std::path::PathBuf;

use super::{rules, run_with_input, stderr_of, FirewallError, NetRules, Published};

/// Table `ip <table>`, through the `nft` at `path`.
#[derive(Debug, Clone)]
pub(super) struct Nft {
    table: String,
    path: PathBuf,
}

impl Nft {
    /// Finds `nft`.
    pub(super) fn new(table: &str) -> Result<Nft, FirewallError> {
        Ok(Nft {
            table: table.to_string(),
            path: super::nft_path().ok_or(FirewallError::NftMissing)?,
        })
    }

    pub(super) fn table(&self) -> &str {
        &self.table
    }

    /// Adds the table, its sets, maps and chains if missing and writes its
    /// rules afresh, keeping every element.
    pub(super) fn open(&self) -> Result<(), FirewallError> {
        self.run("set up the rules", &rules::open_batch(&self.table))
    }

    pub(super) fn add_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        let add = rules::element_lines("add", &self.table, &rules::network_elements(n, false));
        self.run("add a network", &add)
    }

    pub(super) fn remove_network(&self, n: &NetRules) -> Result<(), FirewallError> {
        let batch = self.add_then_delete(&rules::network_elements(n, true));
        self.run("remove a network", &batch)
    }

    /// One element, replacing one of another value under the same key.
    fn publish(&self, p: &Published) -> Result<(), FirewallError> {
        let (map, element, key) = rules::port_element(p);
        let add = rules::element_lines("add", &self.table, &[(map, element)]);
        match self.run("publish a port", &add) {
            Err(e) if exists(&e) => {
                let mut batch = rules::element_lines("delete", &self.table, &[(map, key)]);
                batch.push_str(&add);
                self.run("publish a port", &batch)
            }
            r => r,
        }
    }

    /// One element; gone, or now another container's, is fine.
    fn unpublish(&self, p: &Published) -> Result<(), FirewallError> {
        let batch = self.add_then_delete(&port_elements(std::slice::from_ref(p)));
        match self.run("unpublish a port", &batch) {
            Err(e) if exists(&e) => Ok(()),
            r => r,
        }
    }

    /// All in one run; one by one when a host port was left to a
    /// container that is gone.
    pub(super) fn publish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        let batch = rules::element_lines("add", &self.table, &port_elements(ps));
        match self.run("publish ports", &batch) {
            Err(e) if exists(&e) => ps.iter().try_for_each(|p| self.publish(p)),
            r => r,
        }
    }

    /// All in one run; one by one when a host port is now another
    /// container's.
    pub(super) fn unpublish_all(&self, ps: &[Published]) -> Result<(), FirewallError> {
        let batch = self.add_then_delete(&port_elements(ps));
        match self.run("unpublish ports", &batch) {
            Err(e) if exists(&e) => ps.iter().try_for_each(|p| self.unpublish(p)),
            r => r,
        }
    }

    pub(super) fn destroy(&self) -> Result<(), FirewallError> {
        self.run("delete the table", &rules::destroy_batch(&self.table))
    }

    /// Lines deleting `elements` whether present or not: `delete` of a
    /// missing element fails the whole batch, so each is added first (a
    /// no-op when present), then deleted.
    fn add_then_delete(&self, elements: &[(&str, String)]) -> String {
        let mut batch = rules::element_lines("add", &self.table, elements);
        batch.push_str(&rules::element_lines("delete", &self.table, elements));
        batch
    }

    /// Feeds `batch` to `nft -f -`.
    fn run(&self, action: &'static str, batch: &str) -> Result<(), FirewallError> {
        if batch.is_empty() {
            return Ok(());
        }
        let out = run_with_input(&self.path, &["-f", "-"], batch).map_err(|source| {
            FirewallError::Spawn {
                path: self.path.clone(),
                source,
            }
        })?;
        if out.status.success() {
            return Ok(());
        }
        Err(FirewallError::Nft {
            action,
            table: self.table.clone(),
            source: stderr_of(&out),
        })
    }
}

/// The `(map, key : value)` of each port.
fn port_elements(ps: &[Published]) -> Vec<(&'static str, String)> {
    ps.iter()
        .map(|p| {
            let (map, element, _) = rules::port_element(p);
            (map, element)
        })
        .collect()
}

/// True when nft refused an element because its key is there with
/// another value (`EEXIST`, "File exists").
pub(super) fn exists(e: &FirewallError) -> bool {
    matches!(e, FirewallError::Nft { source, .. } if source.stderr.contains("File exists"))
}
