//! Numbered schema migrations, recorded in `PRAGMA user_version`. A newer
//! program upgrades an older file in place (each step in its own
//! transaction); an older program refuses a newer file.

use super::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// Migration N is `MIGRATIONS[N - 1]`. Append only; never edit a shipped one.
const MIGRATIONS: &[&str] = &[
    include_str!("schema_v1.sql"),
    include_str!("schema_enrich.sql"),
    include_str!("schema_alerts.sql"),
];

pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

pub fn upgrade(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > latest() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: latest(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = i as i64 + 1;
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
        ))
        .map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            StoreError::Open {
                path: path.to_path_buf(),
                message: format!("schema migration {version} failed: {e}"),
            }
        })?;
    }
    Ok(())
}
