//! Blocklist state per address × zone (`blocklist_state`, seen as
//! `v_blocklist`) and its transitions. A change of `listed` is returned as a
//! [`Change`] (the caller raises the alert in the same transaction); the
//! same state again only refreshes `checked_at`; a failed check keeps the
//! state and notes the error. An address first seen listed is a change; one
//! first seen clean is not.

use super::query::Verdict;
use crate::store::queries::datetime;
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Listed,
    Delisted,
}

/// A state change worth an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub ip: String,
    pub zone: String,
    pub direction: Direction,
    /// The code and reason of the listing (for a delisting: the one that ended).
    pub return_code: Option<String>,
    pub reason: Option<String>,
    /// For a delisting: when the listing was first seen.
    pub listed_since: Option<i64>,
}

struct Known {
    listed: bool,
    return_code: Option<String>,
    reason: Option<String>,
    changed_at: i64,
}

/// Record one check's verdict; `Some` when `listed` changed.
pub fn record(
    conn: &Connection,
    ip: &str,
    zone: &str,
    verdict: &Verdict,
    now: i64,
) -> Result<Option<Change>, StoreError> {
    let known = conn
        .prepare_cached(
            "SELECT listed, return_code, reason, changed_at FROM blocklist_state
             WHERE ip = ?1 AND zone = ?2",
        )?
        .query_row(params![ip, zone], |r| {
            Ok(Known {
                listed: r.get(0)?,
                return_code: r.get(1)?,
                reason: r.get(2)?,
                changed_at: r.get(3)?,
            })
        })
        .optional()?;
    let (listed, code, reason) = match verdict {
        Verdict::Failed(error) => {
            conn.prepare_cached(
                "UPDATE blocklist_state SET last_error = ?3, error_at = ?4
                 WHERE ip = ?1 AND zone = ?2",
            )?
            .execute(params![ip, zone, error, now])?;
            return Ok(None);
        }
        Verdict::NotListed => (false, None, None),
        Verdict::Listed { reason, .. } => (true, verdict.return_code(), reason.clone()),
    };
    let changed = known.as_ref().map_or(listed, |k| k.listed != listed);
    let changed_at = match &known {
        Some(k) if !changed => k.changed_at,
        _ => now,
    };
    conn.prepare_cached(
        "INSERT INTO blocklist_state
             (ip, zone, listed, return_code, reason, checked_at, changed_at, last_error, error_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL)
         ON CONFLICT (ip, zone) DO UPDATE SET
             listed = excluded.listed, return_code = excluded.return_code,
             reason = excluded.reason, checked_at = excluded.checked_at,
             changed_at = excluded.changed_at, last_error = NULL, error_at = NULL",
    )?
    .execute(params![ip, zone, listed, code, reason, now, changed_at])?;
    if !changed {
        return Ok(None);
    }
    Ok(Some(match known.filter(|k| k.listed) {
        Some(old) => Change {
            ip: ip.to_string(),
            zone: zone.to_string(),
            direction: Direction::Delisted,
            return_code: old.return_code,
            reason: old.reason,
            listed_since: Some(old.changed_at),
        },
        None => Change {
            ip: ip.to_string(),
            zone: zone.to_string(),
            direction: Direction::Listed,
            return_code: code,
            reason,
            listed_since: None,
        },
    }))
}

/// A current listing, as `dmarcwatch blocklist` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listing {
    pub ip: String,
    pub zone: String,
    pub return_code: Option<String>,
    pub reason: Option<String>,
    /// When the listing was first seen (`YYYY-MM-DD HH:MM:SS` UTC).
    pub since: String,
    pub checked_at: String,
    /// The last check failed: the state shown is from `checked_at`.
    pub last_error: Option<String>,
}

pub fn listings(conn: &Connection) -> Result<Vec<Listing>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT ip, zone, return_code, reason, changed_at, checked_at, last_error
         FROM blocklist_state WHERE listed = 1 ORDER BY ip, zone",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Listing {
            ip: r.get(0)?,
            zone: r.get(1)?,
            return_code: r.get(2)?,
            reason: r.get(3)?,
            since: datetime(r.get(4)?),
            checked_at: datetime(r.get(5)?),
            last_error: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
