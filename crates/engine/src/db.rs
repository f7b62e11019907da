//! The engine's SQLite database (`<data-root>/wharf.db`, shared with the
//! image store, WAL mode). Each module creates its own tables with
//! `CREATE TABLE IF NOT EXISTS` through [`Db::migrate`]; every change is one
//! transaction through [`Db::write`].

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{EngineError, Result};

/// The engine's connection.
pub struct Db {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

fn db_err(what: &str) -> impl FnOnce(rusqlite::Error) -> EngineError + '_ {
    move |e| EngineError::system(format!("engine database: {what}"), e)
}

impl Db {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Db> {
        let conn = Connection::open(path).map_err(db_err("open"))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(db_err("set busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db_err("enable WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db_err("set synchronous"))?;
        Ok(Db {
            conn: Mutex::new(conn),
        })
    }

    /// Runs `sql` (a batch of `CREATE TABLE IF NOT EXISTS …`).
    pub fn migrate(&self, sql: &str) -> Result<()> {
        self.lock()
            .execute_batch(sql)
            .map_err(db_err("create tables"))
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits it.
    pub fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db_err("begin"))?;
        let out = f(&tx).map_err(db_err("write"))?;
        tx.commit().map_err(db_err("commit"))?;
        Ok(out)
    }

    /// Runs `f` with the connection, for reads.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        f(&self.lock()).map_err(db_err("read"))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}
