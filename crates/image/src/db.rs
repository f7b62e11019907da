//! The store's metadata in SQLite (`<root>/wharf.db`, WAL journal): layers,
//! images and their layer chains, references (tags and digests), extra blobs
//! an image keeps, and snapshots with the layers they stand on.
//!
//! Every change runs in one `BEGIN IMMEDIATE` transaction ([`Db::write`]),
//! so several processes can use one store: SQLite serializes the writers and
//! `busy_timeout` makes a writer wait instead of failing. Reads run in a
//! deferred transaction ([`Db::read`]) and see one consistent state.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use crate::digest::Digest;

/// Errors of the metadata database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be opened or set up.
    #[error("failed to open image database {path}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A statement failed.
    #[error("image database error while {what}")]
    Sql {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored value is not what it should be.
    #[error("image database holds a bad {what}: {value:?}")]
    Corrupt {
        /// Which column.
        what: &'static str,
        /// The value.
        value: String,
    },
}

type Result<T> = std::result::Result<T, DbError>;

const SCHEMA_VERSION: i64 = 1;
const SCHEMA: &str = "
CREATE TABLE layers (chain_id TEXT PRIMARY KEY, diff_id TEXT NOT NULL, parent TEXT,
                     size INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE INDEX layers_diff ON layers(diff_id);
CREATE INDEX layers_parent ON layers(parent);
CREATE TABLE images (id TEXT PRIMARY KEY, created INTEGER, size INTEGER NOT NULL,
                     added INTEGER NOT NULL, parent TEXT);
CREATE INDEX images_parent ON images(parent);
CREATE TABLE image_layers (image_id TEXT NOT NULL, idx INTEGER NOT NULL, chain_id TEXT NOT NULL,
                           PRIMARY KEY (image_id, idx));
CREATE INDEX image_layers_chain ON image_layers(chain_id);
CREATE TABLE image_blobs (image_id TEXT NOT NULL, digest TEXT NOT NULL, PRIMARY KEY (image_id, digest));
CREATE TABLE refs (name TEXT PRIMARY KEY, image_id TEXT NOT NULL, added INTEGER NOT NULL);
CREATE INDEX refs_image ON refs(image_id);
CREATE TABLE snapshots (id TEXT PRIMARY KEY, image_id TEXT, created INTEGER NOT NULL);
CREATE INDEX snapshots_image ON snapshots(image_id);
CREATE TABLE snapshot_layers (snapshot_id TEXT NOT NULL, idx INTEGER NOT NULL, chain_id TEXT NOT NULL,
                              PRIMARY KEY (snapshot_id, idx));
CREATE INDEX snapshot_layers_chain ON snapshot_layers(chain_id);
";

/// A layer row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRow {
    /// Chain ID (the key).
    pub chain_id: Digest,
    /// Digest of the uncompressed tar.
    pub diff_id: Digest,
    /// Chain ID of the layer below.
    pub parent: Option<Digest>,
    /// Unpacked size in bytes.
    pub size: u64,
}

/// An image row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRow {
    /// Image ID (digest of the config).
    pub id: Digest,
    /// Creation time from the config, unix seconds.
    pub created: Option<i64>,
    /// Sum of the layers' sizes.
    pub size: u64,
    /// When the image entered this store, unix seconds.
    pub added: i64,
    /// The local parent image (builder).
    pub parent: Option<Digest>,
}

/// A snapshot row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRow {
    /// The snapshot's name.
    pub id: String,
    /// The image it was made from.
    pub image: Option<Digest>,
    /// Chain IDs of its lower layers, bottom first.
    pub layers: Vec<Digest>,
    /// Creation time, unix seconds.
    pub created: i64,
}

/// The database handle; one connection, shared by the threads of a process.
pub struct Db {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        let open_err = |source| DbError::Open {
            path: path.to_owned(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(120))
            .map_err(open_err)?;
        // journal_mode answers with a row, so it is queried, not executed.
        let _: String = conn
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        conn.execute_batch("PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;")
            .map_err(open_err)?;
        // Every command opens the store: the write lock is taken only when
        // the schema is missing, and the version read again under it.
        let version = |c: &Connection| -> rusqlite::Result<i64> {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        if version(&conn).map_err(open_err)? == 0 {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(open_err)?;
            if version(&tx).map_err(open_err)? == 0 {
                tx.execute_batch(SCHEMA).map_err(open_err)?;
                tx.execute_batch(&format!("PRAGMA user_version={SCHEMA_VERSION}"))
                    .map_err(open_err)?;
            }
            tx.commit().map_err(open_err)?;
        }
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE`), committed if
    /// `f` succeeds and rolled back if it fails.
    pub fn write<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run(TransactionBehavior::Immediate, f)
    }

    /// Like [`Db::write`], but the commit does not wait for the disk
    /// (`synchronous=NORMAL` for this transaction): a crash of the process
    /// loses nothing, a power loss may lose this commit and the ones after
    /// it — never one before it, and never half of one, since the WAL is
    /// replayed in order up to its first incomplete frame. For records
    /// whose loss the next open repairs (snapshots, see
    /// [`Store::repair_snapshot_dirs`](crate::store::Store::repair_snapshot_dirs)).
    pub fn write_unsynced<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql("relaxing synchronous"))?;
        let out = Self::run_locked(&mut conn, TransactionBehavior::Immediate, f);
        let restored = conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(sql("restoring synchronous"));
        let out = out?;
        restored?;
        Ok(out)
    }

    /// Runs `f` in one read transaction: a consistent view of the store.
    pub fn read<T, E: From<DbError>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run(TransactionBehavior::Deferred, f)
    }

    fn run<T, E: From<DbError>>(
        &self,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Self::run_locked(&mut conn, behavior, f)
    }

    fn run_locked<T, E: From<DbError>>(
        conn: &mut Connection,
        behavior: TransactionBehavior,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(sql("starting a transaction"))?;
        let out = f(&Tx { tx: &tx })?;
        tx.commit().map_err(sql("committing a transaction"))?;
        Ok(out)
    }
}

fn sql(what: &'static str) -> impl FnOnce(rusqlite::Error) -> DbError {
    move |source| DbError::Sql { what, source }
}

fn digest(what: &'static str, s: String) -> Result<Digest> {
    s.parse().map_err(|_| DbError::Corrupt { what, value: s })
}

fn opt_digest(what: &'static str, s: Option<String>) -> Result<Option<Digest>> {
    s.map(|s| digest(what, s)).transpose()
}

fn digests(what: &'static str, v: Vec<String>) -> Result<Vec<Digest>> {
    v.into_iter().map(|s| digest(what, s)).collect()
}

/// The current time, unix seconds.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A transaction; see [`Db::write`] and [`Db::read`].
pub struct Tx<'a> {
    tx: &'a Transaction<'a>,
}

impl Tx<'_> {
    fn strings(
        &self,
        what: &'static str,
        q: &str,
        p: impl rusqlite::Params,
    ) -> Result<Vec<String>> {
        let mut st = self.tx.prepare_cached(q).map_err(sql(what))?;
        let rows = st.query_map(p, |r| r.get(0)).map_err(sql(what))?;
        rows.collect::<std::result::Result<_, _>>()
            .map_err(sql(what))
    }

    fn exec(&self, what: &'static str, q: &str, p: impl rusqlite::Params) -> Result<usize> {
        let mut st = self.tx.prepare_cached(q).map_err(sql(what))?;
        st.execute(p).map_err(sql(what))
    }

    // --- layers ---

    /// The layer `chain_id`.
    pub fn layer(&self, chain_id: &Digest) -> Result<Option<LayerRow>> {
        let what = "reading a layer";
        let row: Option<(String, Option<String>, i64)> = self
            .tx
            .query_row(
                "SELECT diff_id, parent, size FROM layers WHERE chain_id = ?1",
                [chain_id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(sql(what))?;
        row.map(|(diff, parent, size)| {
            Ok(LayerRow {
                chain_id: chain_id.clone(),
                diff_id: digest("diff_id", diff)?,
                parent: opt_digest("parent", parent)?,
                size: size as u64,
            })
        })
        .transpose()
    }

    /// Adds a layer (nothing happens if it exists).
    pub fn insert_layer(&self, l: &LayerRow) -> Result<()> {
        self.exec(
            "adding a layer",
            "INSERT OR IGNORE INTO layers (chain_id, diff_id, parent, size, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![l.chain_id.as_str(), l.diff_id.as_str(), l.parent.as_ref().map(Digest::as_str), l.size as i64, now()],
        )?;
        Ok(())
    }

    /// Every layer's chain ID.
    pub fn layer_ids(&self) -> Result<Vec<Digest>> {
        digests(
            "chain_id",
            self.strings(
                "listing layers",
                "SELECT chain_id FROM layers ORDER BY chain_id",
                [],
            )?,
        )
    }

    /// Removes the layer record `chain_id`.
    pub fn delete_layer(&self, chain_id: &Digest) -> Result<()> {
        self.exec(
            "removing a layer",
            "DELETE FROM layers WHERE chain_id = ?1",
            [chain_id.as_str()],
        )?;
        Ok(())
    }

    /// `true` if an image or a snapshot stands on layer `chain_id`, or
    /// another layer has it as parent.
    pub fn layer_in_use(&self, chain_id: &Digest) -> Result<bool> {
        let n: i64 = self
            .tx
            .query_row(
                "SELECT (SELECT COUNT(*) FROM image_layers WHERE chain_id = ?1)
                      + (SELECT COUNT(*) FROM snapshot_layers WHERE chain_id = ?1)
                      + (SELECT COUNT(*) FROM layers WHERE parent = ?1)",
                [chain_id.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("checking a layer's users"))?;
        Ok(n > 0)
    }

    /// `true` if some layer has diff ID `diff_id`.
    pub fn diff_id_in_use(&self, diff_id: &Digest) -> Result<bool> {
        let n: i64 = self
            .tx
            .query_row(
                "SELECT COUNT(*) FROM layers WHERE diff_id = ?1",
                [diff_id.as_str()],
                |r| r.get(0),
            )
            .map_err(sql("checking a layer blob's users"))?;
        Ok(n > 0)
    }

    // --- images ---

    /// The image `id`.
    pub fn image(&self, id: &Digest) -> Result<Option<ImageRow>> {
        let row: Option<(Option<i64>, i64, i64, Option<String>)> = self
            .tx
            .query_row(
                "SELECT created, size, added, parent FROM images WHERE id = ?1",
                [id.as_str()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(sql("reading an image"))?;
        row.map(|(created, size, added, parent)| {
            Ok(ImageRow {
                id: id.clone(),
                created,
                size: size as u64,
                added,
                parent: opt_digest("parent", parent)?,
            })
        })
        .transpose()
    }

    /// Every image ID, newest first.
    pub fn image_ids(&self) -> Result<Vec<Digest>> {
        digests(
            "image id",
            self.strings(
                "listing images",
                "SELECT id FROM images ORDER BY created DESC, added DESC, id",
                [],
            )?,
        )
    }

    /// The image IDs whose hex starts with `prefix` (lower-case hex).
    pub fn image_ids_with_prefix(&self, prefix: &str) -> Result<Vec<Digest>> {
        let pattern = format!("sha256:{prefix}%");
        digests(
            "image id",
            self.strings(
                "searching images",
                "SELECT id FROM images WHERE id LIKE ?1 ORDER BY id",
                [pattern],
            )?,
        )
    }

    /// Adds an image with its layer chain (bottom first); an existing image
    /// is left as it is. Returns `true` if it was new.
    pub fn insert_image(&self, img: &ImageRow, layers: &[Digest]) -> Result<bool> {
        let what = "adding an image";
        let n = self.exec(
            what,
            "INSERT OR IGNORE INTO images (id, created, size, added, parent) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![img.id.as_str(), img.created, img.size as i64, img.added, img.parent.as_ref().map(Digest::as_str)],
        )?;
        if n == 0 {
            return Ok(false);
        }
        for (i, l) in layers.iter().enumerate() {
            self.exec(
                what,
                "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?1, ?2, ?3)",
                params![img.id.as_str(), i as i64, l.as_str()],
            )?;
        }
        Ok(true)
    }

    /// The chain IDs of image `id`'s layers, bottom first.
    pub fn image_layers(&self, id: &Digest) -> Result<Vec<Digest>> {
        digests(
            "chain_id",
            self.strings(
                "reading an image's layers",
                "SELECT chain_id FROM image_layers WHERE image_id = ?1 ORDER BY idx",
                [id.as_str()],
            )?,
        )
    }

    /// Sets (or clears) image `id`'s local parent.
    pub fn set_parent(&self, id: &Digest, parent: Option<&Digest>) -> Result<()> {
        self.exec(
            "setting an image's parent",
            "UPDATE images SET parent = ?2 WHERE id = ?1",
            params![id.as_str(), parent.map(Digest::as_str)],
        )?;
        Ok(())
    }

    /// The images whose local parent is `id`.
    pub fn children(&self, id: &Digest) -> Result<Vec<Digest>> {
        digests(
            "image id",
            self.strings(
                "listing child images",
                "SELECT id FROM images WHERE parent = ?1 ORDER BY id",
                [id.as_str()],
            )?,
        )
    }

    /// Removes image `id`, its layer list and its extra blobs (not its
    /// references, layers or blobs).
    pub fn delete_image(&self, id: &Digest) -> Result<()> {
        let what = "removing an image";
        for q in [
            "DELETE FROM images WHERE id = ?1",
            "DELETE FROM image_layers WHERE image_id = ?1",
            "DELETE FROM image_blobs WHERE image_id = ?1",
        ] {
            self.exec(what, q, [id.as_str()])?;
        }
        Ok(())
    }

    /// Records that image `id` keeps blob `blob` (a manifest, say).
    pub fn add_image_blob(&self, id: &Digest, blob: &Digest) -> Result<()> {
        self.exec(
            "recording an image's blob",
            "INSERT OR IGNORE INTO image_blobs (image_id, digest) VALUES (?1, ?2)",
            params![id.as_str(), blob.as_str()],
        )?;
        Ok(())
    }

    /// The extra blobs image `id` keeps.
    pub fn image_blobs(&self, id: &Digest) -> Result<Vec<Digest>> {
        digests(
            "blob digest",
            self.strings(
                "reading an image's blobs",
                "SELECT digest FROM image_blobs WHERE image_id = ?1 ORDER BY digest",
                [id.as_str()],
            )?,
        )
    }

    // --- references ---

    /// Points reference `name` (full normalized form) at image `id`.
    pub fn set_ref(&self, name: &str, id: &Digest) -> Result<()> {
        self.exec(
            "tagging an image",
            "INSERT OR REPLACE INTO refs (name, image_id, added) VALUES (?1, ?2, ?3)",
            params![name, id.as_str(), now()],
        )?;
        Ok(())
    }

    /// The image reference `name` points at.
    pub fn ref_target(&self, name: &str) -> Result<Option<Digest>> {
        let id: Option<String> = self
            .tx
            .query_row("SELECT image_id FROM refs WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql("reading a reference"))?;
        opt_digest("image id", id)
    }

    /// Removes reference `name`; `true` if it existed.
    pub fn delete_ref(&self, name: &str) -> Result<bool> {
        Ok(self.exec(
            "removing a reference",
            "DELETE FROM refs WHERE name = ?1",
            [name],
        )? > 0)
    }

    /// The references to image `id` (full normalized forms), oldest first.
    pub fn refs_of(&self, id: &Digest) -> Result<Vec<String>> {
        self.strings(
            "listing an image's references",
            "SELECT name FROM refs WHERE image_id = ?1 ORDER BY added, name",
            [id.as_str()],
        )
    }

    // --- snapshots ---

    /// Adds a snapshot; `false` if one of that name exists.
    pub fn insert_snapshot(&self, s: &SnapshotRow) -> Result<bool> {
        let what = "adding a snapshot";
        let n = self.exec(
            what,
            "INSERT OR IGNORE INTO snapshots (id, image_id, created) VALUES (?1, ?2, ?3)",
            params![s.id, s.image.as_ref().map(Digest::as_str), s.created],
        )?;
        if n == 0 {
            return Ok(false);
        }
        for (i, l) in s.layers.iter().enumerate() {
            self.exec(
                what,
                "INSERT INTO snapshot_layers (snapshot_id, idx, chain_id) VALUES (?1, ?2, ?3)",
                params![s.id, i as i64, l.as_str()],
            )?;
        }
        Ok(true)
    }

    /// The snapshot `id`.
    pub fn snapshot(&self, id: &str) -> Result<Option<SnapshotRow>> {
        let row: Option<(Option<String>, i64)> = self
            .tx
            .query_row(
                "SELECT image_id, created FROM snapshots WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql("reading a snapshot"))?;
        let Some((image, created)) = row else {
            return Ok(None);
        };
        let layers = digests(
            "chain_id",
            self.strings(
                "reading a snapshot's layers",
                "SELECT chain_id FROM snapshot_layers WHERE snapshot_id = ?1 ORDER BY idx",
                [id],
            )?,
        )?;
        Ok(Some(SnapshotRow {
            id: id.into(),
            image: opt_digest("image id", image)?,
            layers,
            created,
        }))
    }

    /// Every snapshot's name.
    pub fn snapshot_ids(&self) -> Result<Vec<String>> {
        self.strings(
            "listing snapshots",
            "SELECT id FROM snapshots ORDER BY created, id",
            [],
        )
    }

    /// The snapshots made from image `id`.
    pub fn snapshots_of(&self, id: &Digest) -> Result<Vec<String>> {
        self.strings(
            "listing an image's snapshots",
            "SELECT id FROM snapshots WHERE image_id = ?1 ORDER BY created, id",
            [id.as_str()],
        )
    }

    /// Removes snapshot `id`; `true` if it existed.
    pub fn delete_snapshot(&self, id: &str) -> Result<bool> {
        let n = self.exec(
            "removing a snapshot",
            "DELETE FROM snapshots WHERE id = ?1",
            [id],
        )?;
        self.exec(
            "removing a snapshot",
            "DELETE FROM snapshot_layers WHERE snapshot_id = ?1",
            [id],
        )?;
        Ok(n > 0)
    }

    // --- garbage collection ---

    /// Every blob a record refers to: image configs, layer tars, extra blobs.
    pub fn referenced_blobs(&self) -> Result<Vec<Digest>> {
        digests(
            "blob digest",
            self.strings(
                "listing referenced blobs",
                "SELECT id FROM images UNION SELECT diff_id FROM layers UNION SELECT digest FROM image_blobs",
                [],
            )?,
        )
    }

    /// Layers no image, snapshot or other layer stands on.
    pub fn unused_layers(&self) -> Result<Vec<Digest>> {
        digests(
            "chain_id",
            self.strings(
                "listing unused layers",
                "SELECT chain_id FROM layers l WHERE
                   NOT EXISTS (SELECT 1 FROM image_layers i WHERE i.chain_id = l.chain_id)
                   AND NOT EXISTS (SELECT 1 FROM snapshot_layers s WHERE s.chain_id = l.chain_id)
                   AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.chain_id)",
                [],
            )?,
        )
    }
}
