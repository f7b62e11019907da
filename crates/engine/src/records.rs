//! The `containers` table of `wharf.db`: one row per container, its
//! [`Container`] as JSON, its name under a UNIQUE constraint and the phase
//! it is in. The row is the commit point of a container's existence:
//!
//! - create inserts the row (`creating`) before it makes the snapshot and
//!   the container directory, and marks it `ready` once all is made;
//! - remove marks it `removing` before it deletes them, and deletes the
//!   row last.
//!
//! A daemon killed at any moment leaves either a `ready` row with all its
//! parts, or a row whose phase says what to finish on the next open
//! ([`crate::restore`]). No file of a container exists without its row.

use rusqlite::{params, OptionalExtension};

use crate::db::Db;
use crate::error::{EngineError, Result};
use crate::model::Container;

/// The table.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    phase INTEGER NOT NULL,
    json TEXT NOT NULL
);";

/// Where a row is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Inserted by create; its parts may be missing.
    Creating = 0,
    /// Complete.
    Ready = 1,
    /// Being removed; its parts may be gone.
    Removing = 2,
}

impl Phase {
    fn from_i64(v: i64) -> Phase {
        match v {
            0 => Phase::Creating,
            2 => Phase::Removing,
            _ => Phase::Ready,
        }
    }
}

fn to_json(c: &Container) -> String {
    serde_json::to_string(c).expect("a container always serializes")
}

/// The id of the container holding `name` in the transaction.
fn holder(tx: &rusqlite::Connection, name: &str) -> rusqlite::Result<Option<String>> {
    tx.query_row(
        "SELECT id FROM containers WHERE name = ?1",
        params![name],
        |r| r.get(0),
    )
    .optional()
}

impl Db {
    /// Creates the table.
    pub(crate) fn migrate_containers(&self) -> Result<()> {
        self.migrate(SCHEMA)
    }

    /// Inserts `c` in phase `creating`; `Err(holder id)` inside the Ok when
    /// its name is taken.
    pub(crate) fn insert_container(
        &self,
        c: &Container,
    ) -> Result<std::result::Result<(), String>> {
        self.write(|tx| {
            if let Some(id) = holder(tx, &c.name)? {
                return Ok(Err(id));
            }
            tx.execute(
                "INSERT INTO containers (id, name, phase, json) VALUES (?1, ?2, ?3, ?4)",
                params![c.id, c.name, Phase::Creating as i64, to_json(c)],
            )?;
            Ok(Ok(()))
        })
    }

    /// Writes `c` (its name too); `Err(holder id)` inside the Ok when its
    /// name is taken by another container.
    pub(crate) fn save_container(&self, c: &Container) -> Result<std::result::Result<(), String>> {
        self.write(|tx| {
            if let Some(id) = holder(tx, &c.name)?.filter(|id| *id != c.id) {
                return Ok(Err(id));
            }
            tx.execute(
                "UPDATE containers SET name = ?2, json = ?3 WHERE id = ?1",
                params![c.id, c.name, to_json(c)],
            )?;
            Ok(Ok(()))
        })
    }

    /// Writes the completed container and marks its row ready, in one
    /// transaction.
    pub(crate) fn finish_create(&self, c: &Container) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE containers SET json = ?2, phase = ?3 WHERE id = ?1",
                params![c.id, to_json(c), Phase::Ready as i64],
            )
        })
        .map(|_| ())
    }

    /// Moves the row of `id` to phase `removing` and frees its name (the
    /// row keeps `~<id>`, which no valid name can be).
    pub(crate) fn begin_removal(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE containers SET phase = ?2, name = ?3 WHERE id = ?1",
                params![id, Phase::Removing as i64, format!("~{id}")],
            )
        })
        .map(|_| ())
    }

    /// Moves the row of `id` to `phase`.
    #[cfg(test)]
    pub(crate) fn set_phase(&self, id: &str, phase: Phase) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE containers SET phase = ?2 WHERE id = ?1",
                params![id, phase as i64],
            )
        })
        .map(|_| ())
    }

    /// Deletes the row of `id`.
    pub(crate) fn delete_container(&self, id: &str) -> Result<()> {
        self.write(|tx| tx.execute("DELETE FROM containers WHERE id = ?1", params![id]))
            .map(|_| ())
    }

    /// Every row; a row whose JSON cannot be read comes back as its id
    /// with the parse error.
    #[allow(clippy::type_complexity)]
    pub(crate) fn load_containers(
        &self,
    ) -> Result<Vec<(Phase, std::result::Result<Container, (String, EngineError)>)>> {
        let rows: Vec<(String, i64, String)> = self.read(|c| {
            let mut st = c.prepare("SELECT id, phase, json FROM containers")?;
            let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })?;
        Ok(rows
            .into_iter()
            .map(|(id, phase, json)| {
                let c = serde_json::from_str::<Container>(&json).map_err(|e| {
                    let err = EngineError::system(format!("unreadable record of {id}"), e);
                    (id, err)
                });
                (Phase::from_i64(phase), c)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctr(id: &str, name: &str) -> Container {
        Container {
            id: id.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_unique_and_phases_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("wharf.db")).unwrap();
        db.migrate_containers().unwrap();
        db.insert_container(&ctr("a1", "web")).unwrap().unwrap();
        assert_eq!(
            db.insert_container(&ctr("b2", "web")).unwrap(),
            Err("a1".into())
        );
        db.insert_container(&ctr("b2", "db")).unwrap().unwrap();
        assert_eq!(
            db.save_container(&ctr("b2", "web")).unwrap(),
            Err("a1".into())
        );
        db.save_container(&ctr("b2", "db2")).unwrap().unwrap();
        db.set_phase("a1", Phase::Ready).unwrap();
        let mut rows: Vec<_> = db
            .load_containers()
            .unwrap()
            .into_iter()
            .map(|(p, c)| (p, c.unwrap().name))
            .collect();
        rows.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(
            rows,
            vec![
                (Phase::Creating, "db2".into()),
                (Phase::Ready, "web".into())
            ]
        );
        db.delete_container("a1").unwrap();
        db.insert_container(&ctr("c3", "web")).unwrap().unwrap();
    }
}
