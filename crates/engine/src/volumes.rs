//! Volumes of the local driver under `<data-root>/volumes/<name>/_data`,
//! metadata in the engine database (table `volumes`, one JSON row each).
//! A volume with driver options (`type`, `device`, `o`) is that
//! filesystem mounted on its `_data` while it exists (Docker's local
//! driver with options, e.g. `type=tmpfs`).

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::OptionalExtension;

use crate::db::Db;
use crate::error::{EngineError, Result};
use crate::model::{Event, Volume};
use crate::Engine;

/// Docker's label on the volumes made for one container.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS volumes (
    name TEXT PRIMARY KEY,
    json TEXT NOT NULL
);";

/// The volume store.
#[derive(Debug)]
pub struct Volumes {
    root: PathBuf,
    db: Arc<Db>,
    /// Serializes create and remove: a name's directory and row change
    /// together.
    lock: std::sync::Mutex<()>,
}

/// Whether `name` is a valid local volume name (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// Docker's error for an invalid name.
pub fn invalid_name(name: &str) -> EngineError {
    EngineError::invalid(format!(
        "create {name}: {name:?} includes invalid characters for a local volume name, only \
         \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, \
         use absolute path"
    ))
}

fn io_err(what: String) -> impl FnOnce(std::io::Error) -> EngineError {
    move |e| EngineError::system(what, e)
}

fn random_name() -> String {
    let mut buf = [0u8; 32];
    rustix::rand::getrandom(&mut buf, rustix::rand::GetRandomFlags::empty()).ok();
    hex::encode(buf)
}

fn now_rfc3339() -> String {
    // Docker's `time.RFC3339`: whole seconds.
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Volumes {
    /// Opens the store at `<data_root>/volumes`, creating its table.
    pub fn open(data_root: &Path, db: Arc<Db>) -> Result<Volumes> {
        let root = data_root.join("volumes");
        std::fs::create_dir_all(&root)
            .map_err(io_err(format!("failed to create {}", root.display())))?;
        db.migrate(SCHEMA)?;
        Ok(Volumes {
            root,
            db,
            lock: std::sync::Mutex::new(()),
        })
    }

    /// Creates a volume (a random 64-hex name when `name` is None). An
    /// existing volume of that name is returned as it is (Docker).
    pub fn create(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        self.create_inner(name, driver, labels, options, false)
    }

    /// Creates an anonymous volume for a container (removed with it by
    /// `rm -v`, pruned by default).
    pub fn create_anonymous(&self) -> Result<Volume> {
        self.create_anonymous_with("local", BTreeMap::new())
    }

    /// [`Volumes::create_anonymous`] with a driver and its options
    /// (`--mount type=volume,dst=…,volume-opt=…`).
    pub fn create_anonymous_with(
        &self,
        driver: &str,
        options: BTreeMap<String, String>,
    ) -> Result<Volume> {
        let labels = BTreeMap::from([(ANONYMOUS_LABEL.to_string(), String::new())]);
        self.create_inner(None, driver, labels, options, true)
    }

    fn create_inner(
        &self,
        name: Option<&str>,
        driver: &str,
        labels: BTreeMap<String, String>,
        options: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<Volume> {
        if !matches!(driver, "" | "local") {
            return Err(EngineError::not_found(format!(
                "error looking up volume plugin {driver}: plugin {driver:?} not found"
            )));
        }
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) if !valid_name(n) => return Err(invalid_name(n)),
            Some(n) => n.to_string(),
            None => random_name(),
        };
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(v) = self.find(&name)? {
            return Ok(v);
        }
        for key in options.keys() {
            if !matches!(key.as_str(), "type" | "device" | "o") {
                return Err(EngineError::invalid(format!(
                    "create {name}: invalid option: {key:?}"
                )));
            }
        }
        let dir = self.root.join(&name);
        let data = dir.join("_data");
        if dir.exists() {
            // Left by a remove that crashed after its row went: stale data
            // must not reappear in a new volume of the same name.
            let _ = rustix::mount::unmount(&data, rustix::mount::UnmountFlags::DETACH);
            std::fs::remove_dir_all(&dir).map_err(io_err(format!(
                "failed to remove the stale {}",
                dir.display()
            )))?;
        }
        std::fs::create_dir_all(&data)
            .map_err(io_err(format!("failed to create {}", data.display())))?;
        let vol = Volume {
            name: name.clone(),
            driver: "local".into(),
            mountpoint: data.clone(),
            created_at: now_rfc3339(),
            labels,
            options,
            anonymous,
        };
        if let Err(e) = mount_options(&vol) {
            let _ = std::fs::remove_dir_all(&dir);
            return Err(e);
        }
        let json = serde_json::to_string(&vol)
            .map_err(|e| EngineError::system("failed to encode a volume", e))?;
        let inserted = self.db.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO volumes (name, json) VALUES (?1, ?2)",
                (&name, &json),
            )
        })?;
        if inserted == 0 {
            // Another daemon's row (the lock is per process): that one wins.
            return self.get(&name);
        }
        Ok(vol)
    }

    fn find(&self, name: &str) -> Result<Option<Volume>> {
        let json: Option<String> = self.db.read(|c| {
            c.query_row("SELECT json FROM volumes WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
        })?;
        json.map(|j| {
            serde_json::from_str(&j)
                .map_err(|e| EngineError::system(format!("volume {name} has a corrupt record"), e))
        })
        .transpose()
    }

    /// One volume (404 `get <name>: no such volume`).
    pub fn get(&self, name: &str) -> Result<Volume> {
        self.find(name)?
            .ok_or_else(|| EngineError::not_found(format!("get {name}: no such volume")))
    }

    /// Every volume, by name.
    pub fn list(&self) -> Result<Vec<Volume>> {
        let rows: Vec<String> = self.db.read(|c| {
            let mut st = c.prepare("SELECT json FROM volumes ORDER BY name")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect()
        })?;
        Ok(rows
            .iter()
            .filter_map(|j| serde_json::from_str(j).ok())
            .collect())
    }

    /// Removes a volume and its data, whoever uses it (see
    /// [`Engine::volume_remove`] for the in-use check).
    pub fn remove(&self, name: &str) -> Result<()> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let vol = self.get(name)?;
        if !vol.options.is_empty() {
            let _ = rustix::mount::unmount(&vol.mountpoint, rustix::mount::UnmountFlags::DETACH);
        }
        let dir = self.root.join(name);
        // The row goes first: a crash between leaves a stray directory,
        // never a record without its data.
        self.db
            .write(|tx| tx.execute("DELETE FROM volumes WHERE name = ?1", [name]))?;
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(EngineError::system(
                format!("failed to remove {}", dir.display()),
                e,
            )),
            _ => Ok(()),
        }
    }

    /// Mounts a volume with driver options again when its filesystem is
    /// not on its `_data` (after a reboot); called before a container
    /// that uses it starts. A plain volume's directory is made if missing.
    pub fn ensure_ready(&self, name: &str) -> Result<()> {
        let vol = self.get(name)?;
        std::fs::create_dir_all(&vol.mountpoint).map_err(io_err(format!(
            "failed to create {}",
            vol.mountpoint.display()
        )))?;
        if vol.options.is_empty() || is_mount_point(&vol.mountpoint) {
            return Ok(());
        }
        mount_options(&vol)
    }

    /// Bytes used by its data (regular files, hard links counted once).
    pub fn size(&self, name: &str) -> Result<i64> {
        let vol = self.get(name)?;
        Ok(dir_size(&vol.mountpoint))
    }
}

/// Mounts the filesystem a volume's options ask for on its `_data`.
fn mount_options(vol: &Volume) -> Result<()> {
    let o = &vol.options;
    if o.is_empty() {
        return Ok(());
    }
    let missing = |what: &str| {
        EngineError::invalid(format!(
            "create {}: missing required option: {what:?}",
            vol.name
        ))
    };
    let fstype = o
        .get("type")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("type"))?;
    let device = o
        .get("device")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("device"))?;
    let data = o.get("o").cloned().unwrap_or_default();
    // Flags of `o` become mount flags (`bind` for `type=none`, `ro`, …);
    // the rest is the filesystem's data.
    use rustix::mount::MountFlags;
    let mut flags = MountFlags::empty();
    let mut rest = Vec::new();
    for opt in data.split(',').filter(|s| !s.is_empty()) {
        match opt {
            "bind" => flags |= MountFlags::BIND,
            "rbind" => flags |= MountFlags::BIND | MountFlags::REC,
            "ro" => flags |= MountFlags::RDONLY,
            "nosuid" => flags |= MountFlags::NOSUID,
            "nodev" => flags |= MountFlags::NODEV,
            "noexec" => flags |= MountFlags::NOEXEC,
            other => rest.push(other),
        }
    }
    let data_c = std::ffi::CString::new(rest.join(","))
        .map_err(|_| EngineError::invalid(format!("create {}: invalid option \"o\"", vol.name)))?;
    rustix::mount::mount(
        device.as_str(),
        &vol.mountpoint,
        fstype.as_str(),
        flags,
        data_c.as_c_str(),
    )
    .map_err(|e| {
        EngineError::invalid(format!(
            "create {}: failed to mount local volume: mount {device}:{}, data: {data}: {}",
            vol.name,
            vol.mountpoint.display(),
            crate::spec::errno_text(&std::io::Error::from(e))
        ))
    })
}

/// Whether `dir` is the root of a mount (another device than its parent).
fn is_mount_point(dir: &Path) -> bool {
    let (Ok(me), Some(Ok(parent))) = (
        std::fs::symlink_metadata(dir),
        dir.parent().map(std::fs::symlink_metadata),
    ) else {
        return false;
    };
    me.dev() != parent.dev()
}

/// Sum of the sizes of the regular files under `dir`.
pub(crate) fn dir_size(dir: &Path) -> i64 {
    fn walk(dir: &Path, seen: &mut HashSet<(u64, u64)>, total: &mut i64) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if md.is_dir() {
                walk(&e.path(), seen, total);
            } else if md.is_file() && seen.insert((md.dev(), md.ino())) {
                *total += md.len() as i64;
            }
        }
    }
    let mut total = 0;
    walk(dir, &mut HashSet::new(), &mut total);
    total
}

fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    let (negate, f) = match filter.strip_prefix('!') {
        Some(f) => (true, f),
        None => (false, filter),
    };
    let hit = match f.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(f),
    };
    hit != negate
}

impl Engine {
    /// Removes a volume: 409 `remove <name>: volume is in use - [<ids>]`
    /// when a container uses it (even with `force`, as Docker); `force`
    /// ignores a missing volume.
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        if let Err(e) = self.volumes().get(name) {
            return if force { Ok(()) } else { Err(e) };
        }
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            return Err(EngineError::conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(" ")
            )));
        }
        self.volumes().remove(name)?;
        self.emit_volume("destroy", name);
        Ok(())
    }

    /// Removes unused volumes matching `labels` (`k`, `k=v`, `!k`, `!k=v`);
    /// anonymous ones only unless `all` (API 1.42+). Names and bytes freed.
    pub fn volume_prune(&self, labels: &[String], all: bool) -> Result<(Vec<String>, u64)> {
        let used: HashSet<String> = self
            .containers(true)?
            .iter()
            .flat_map(|c| c.mounts.iter().filter_map(|m| m.name.clone()))
            .collect();
        let mut names = Vec::new();
        let mut freed = 0u64;
        for v in self.volumes().list()? {
            if used.contains(&v.name)
                || (!all && !v.anonymous && !v.labels.contains_key(ANONYMOUS_LABEL))
                || !labels.iter().all(|f| label_matches(&v.labels, f))
            {
                continue;
            }
            let size = dir_size(&v.mountpoint).max(0) as u64;
            if self.volumes().remove(&v.name).is_ok() {
                self.emit_volume("destroy", &v.name);
                freed += size;
                names.push(v.name);
            }
        }
        Ok((names, freed))
    }

    /// Ids of the containers that mount the volume.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .containers(true)?
            .into_iter()
            .filter(|c| c.mounts.iter().any(|m| m.name.as_deref() == Some(name)))
            .map(|c| c.id)
            .collect())
    }

    /// Emits a volume event (`create`, `destroy`, `mount`, `unmount`).
    pub(crate) fn emit_volume(&self, action: &str, name: &str) {
        self.events().emit(Event {
            kind: "volume".into(),
            action: action.into(),
            id: name.into(),
            attributes: BTreeMap::from([("driver".to_string(), "local".to_string())]),
            time_nano: 0,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        assert!(valid_name("data"));
        assert!(valid_name("a1_b.c-d"));
        assert!(!valid_name("a"));
        assert!(!valid_name("_x"));
        assert!(!valid_name("bad@name"));
        assert!(!valid_name("/tmp"));
    }

    #[test]
    fn label_filters() {
        let l = BTreeMap::from([("a".to_string(), "1".to_string())]);
        assert!(label_matches(&l, "a"));
        assert!(label_matches(&l, "a=1"));
        assert!(!label_matches(&l, "a=2"));
        assert!(label_matches(&l, "!b"));
        assert!(!label_matches(&l, "!a"));
    }

    #[test]
    fn store_creates_lists_and_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(&tmp.path().join("wharf.db")).unwrap());
        let vols = Volumes::open(tmp.path(), db).unwrap();
        let labels = BTreeMap::from([("k".to_string(), "v".to_string())]);
        let v = vols
            .create(Some("data"), "local", labels, BTreeMap::new())
            .unwrap();
        assert_eq!(v.mountpoint, tmp.path().join("volumes/data/_data"));
        assert_eq!(
            v.created_at.len(),
            "2026-01-01T00:00:00Z".len(),
            "{}",
            v.created_at
        );
        assert!(v.mountpoint.is_dir());
        std::fs::write(v.mountpoint.join("f"), b"12345").unwrap();
        // Creating it again returns it as it is.
        let again = vols
            .create(Some("data"), "", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        assert_eq!(again.labels.get("k").map(String::as_str), Some("v"));
        assert_eq!(vols.size("data").unwrap(), 5);
        let anon = vols.create_anonymous().unwrap();
        assert_eq!(anon.name.len(), 64);
        assert!(anon.anonymous);
        assert_eq!(vols.list().unwrap().len(), 2);
        let e = vols
            .create(Some("bad@name"), "local", BTreeMap::new(), BTreeMap::new())
            .unwrap_err();
        assert!(e
            .message
            .starts_with("create bad@name: \"bad@name\" includes invalid characters"));
        let e = vols
            .create(Some("x1"), "nfs", BTreeMap::new(), BTreeMap::new())
            .unwrap_err();
        assert_eq!(e.kind, crate::Kind::NotFound);
        vols.remove("data").unwrap();
        assert!(!tmp.path().join("volumes/data").exists());
        // A directory without its row (a crashed remove) is not reused.
        std::fs::create_dir_all(tmp.path().join("volumes/stale/_data")).unwrap();
        std::fs::write(tmp.path().join("volumes/stale/_data/old"), b"old").unwrap();
        let v = vols
            .create(Some("stale"), "", BTreeMap::new(), BTreeMap::new())
            .unwrap();
        assert!(!v.mountpoint.join("old").exists());
        let o = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        let e = vols.create(Some("t1"), "", BTreeMap::new(), o(&[("bogus", "1")]));
        assert_eq!(
            e.unwrap_err().message,
            "create t1: invalid option: \"bogus\""
        );
        let e = vols.create(Some("t2"), "", BTreeMap::new(), o(&[("type", "tmpfs")]));
        assert_eq!(
            e.unwrap_err().message,
            "create t2: missing required option: \"device\""
        );
        assert!(!tmp.path().join("volumes/t2").exists());
        let opts = o(&[
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,nosuid"),
        ]);
        let t = vols.create(Some("t3"), "", BTreeMap::new(), opts).unwrap();
        let magic = rustix::fs::statfs(&t.mountpoint).unwrap().f_type;
        assert_eq!(magic as i64, 0x0102_1994, "a tmpfs is mounted");
        // Unmounted behind our back (a reboot): mounted again before use.
        rustix::mount::unmount(&t.mountpoint, rustix::mount::UnmountFlags::empty()).unwrap();
        assert!(!is_mount_point(&t.mountpoint));
        vols.ensure_ready("t3").unwrap();
        assert!(is_mount_point(&t.mountpoint));
        vols.remove("t3").unwrap();
        assert!(!tmp.path().join("volumes/t3").exists());
        assert_eq!(
            vols.get("data").unwrap_err().message,
            "get data: no such volume"
        );
    }
}
