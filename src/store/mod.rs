//! The SQLite store: the only module that knows SQL. Opens (and creates or
//! upgrades) the database, takes reports one unit per transaction, answers
//! the queries behind `summary`, `senders` and `export`. Tables are private;
//! the `v_*` views are the stable API for people (docs/schema.md).

pub mod approvals;
mod ingest;
mod migrate;
pub mod queries;
mod sink;

pub use ingest::{IngestStats, UnitResult};
pub use sink::ip_key;

use rusqlite::Connection;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("database {path} has schema version {found}, newer than this program knows ({known}); upgrade dmarcwatch or use another --db")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("{0}")]
    Invalid(String),
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Keep the raw bytes of inputs that failed, for `reprocess`.
    pub keep_raw: bool,
}

impl Store {
    /// Open or create the database at `path`, upgrading its schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let open_err = |e: rusqlite::Error| StoreError::Open {
            path: path.to_path_buf(),
            message: describe_open_error(&e, path),
        };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_err)?;
        // 16 KB pages for a new file (an existing one keeps its own): a
        // third less time writing and checkpointing a large report than 4 KB.
        conn.pragma_update(None, "page_size", 16384)
            .map_err(open_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        // The store writes every row itself; foreign keys document the
        // schema but are not enforced (the checks cost a third of ingest).
        // Off explicitly: the bundled SQLite turns them on by default.
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -16000)
            .map_err(open_err)?;
        // The ingest prepares ten statements per unit; keep them all.
        conn.set_prepared_statement_cache_capacity(32);
        migrate::upgrade(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            keep_raw: true,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the query modules and tests.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Make each commit durable across power loss (fsync), for callers that
    /// act on a commit outside the database (moving the IMAP message).
    pub fn set_durable(&self, durable: bool) -> Result<(), StoreError> {
        let level = if durable { "FULL" } else { "NORMAL" };
        self.conn.pragma_update(None, "synchronous", level)?;
        Ok(())
    }
}

fn describe_open_error(e: &rusqlite::Error, path: &Path) -> String {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::CannotOpen) => format!(
            "cannot open or create it (does {} exist and is it writable?)",
            dir.display()
        ),
        Some(rusqlite::ErrorCode::NotADatabase) => {
            "the file is not a SQLite database (check --db / [database] path)".to_string()
        }
        _ => e.to_string(),
    }
}

/// Seconds since the epoch, now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}
