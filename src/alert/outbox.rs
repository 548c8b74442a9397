//! The outbox: alerts are stored here, with a stable id, before any channel
//! sees them; delivery state per channel lives beside them (migration
//! `schema_alerts.sql`, view `v_alerts`). Anything that raises alerts calls
//! [`enqueue`]; [`super::deliver`] drives the rest through [`route`],
//! [`claim_next`] and the `record_*` functions.
//!
//! Retries: a channel that fails transiently (connection, timeout, 5xx) backs
//! off as a whole, 30 s doubling up to 30 min, so a server down for an hour
//! gets one probe per backoff step and, once back, each alert once. A
//! delivery the receiver refuses outright (4xx, SMTP 5xx) is retried
//! [`MAX_REFUSALS`] times on its own. Nothing is given up before
//! [`GIVE_UP_SECS`].

use super::{Alert, Kind, Severity, StoredAlert};
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

/// A claimed delivery is not handed out again for this long (a crash
/// mid-send makes it due again after the lease: at-least-once).
pub const LEASE_SECS: i64 = 300;
/// Transient failures are retried for this long after the alert was made.
pub const GIVE_UP_SECS: i64 = 3 * 86400;
/// Refusals (4xx, SMTP 5xx) of one delivery before it is marked failed.
pub const MAX_REFUSALS: i64 = 3;

/// Seconds to wait after the `n`-th consecutive failure: 30 s, 60 s, ... 30 min.
pub fn backoff_secs(n: i64) -> i64 {
    let exp = n.clamp(1, 7) - 1;
    (30_i64 << exp).min(1800)
}

fn rank(s: Severity) -> i64 {
    s as i64
}

/// True when `key` was alerted within `cooldown_secs` before `now` at
/// `severity` or higher (a rise in severity is news again).
pub fn is_cooling(
    conn: &Connection,
    key: &str,
    severity: Severity,
    cooldown_secs: i64,
    now: i64,
) -> Result<bool, StoreError> {
    let found: Option<i64> = conn
        .query_row(
            "SELECT max(severity_rank) FROM alert_keys WHERE key = ?1 AND created_at > ?2",
            params![key, now - cooldown_secs],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(found.is_some_and(|r| r >= rank(severity)))
}

/// Store `alert` unless its key is cooling down; returns the new id, or
/// `None` when it was not stored. The alert is durable when this returns.
pub fn enqueue(conn: &Connection, alert: &Alert, now: i64) -> Result<Option<String>, StoreError> {
    if is_cooling(conn, &alert.key, alert.severity, alert.cooldown_secs, now)? {
        tracing::debug!(key = %alert.key, "alert cooling down, not queued again");
        return Ok(None);
    }
    let id = new_id();
    conn.execute_batch("SAVEPOINT enqueue")?;
    let stored = insert(conn, &id, alert, now);
    match stored {
        Ok(()) => conn.execute_batch("RELEASE enqueue")?,
        Err(e) => {
            conn.execute_batch("ROLLBACK TO enqueue; RELEASE enqueue")?;
            return Err(e);
        }
    }
    tracing::info!(
        id = %id,
        kind = alert.kind.as_str(),
        severity = alert.severity.as_str(),
        domain = alert.domain.as_deref().unwrap_or("-"),
        "alert queued: {}",
        alert.title
    );
    Ok(Some(id))
}

fn insert(conn: &Connection, id: &str, alert: &Alert, now: i64) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO alerts (id, kind, severity, domain, title, summary, evidence, fix_steps, \
         key, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            alert.kind.as_str(),
            alert.severity.as_str(),
            alert.domain,
            alert.title,
            alert.summary,
            alert.evidence.to_string(),
            serde_json::Value::from(alert.fix_steps.clone()).to_string(),
            alert.key,
            now
        ],
    )?;
    let mut key_stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO alert_keys (key, alert, severity_rank, created_at) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for key in std::iter::once(&alert.key).chain(&alert.covers) {
        key_stmt.execute(params![key, id, rank(alert.severity), now])?;
    }
    Ok(())
}

/// 128 random bits as 32 hex digits.
fn new_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// What routing needs to know of a channel.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub min_severity: Severity,
}

impl Route {
    /// Digests go to every channel; other alerts from `min_severity` up.
    pub fn accepts(&self, kind: Kind, severity: Severity) -> bool {
        kind == Kind::Digest || severity >= self.min_severity
    }
}

/// Give every alert not yet routed one delivery per channel that accepts
/// it (channels configured at the time of routing). Returns how many
/// alerts were routed.
pub fn route(conn: &mut Connection, routes: &[Route], now: i64) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let pending: Vec<(String, String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT id, kind, severity FROM alerts WHERE routed_at IS NULL \
             ORDER BY created_at, rowid",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    {
        let mut add = tx.prepare(
            "INSERT OR IGNORE INTO alert_deliveries (alert, channel, next_attempt_at) \
             VALUES (?1, ?2, ?3)",
        )?;
        let mut done = tx.prepare("UPDATE alerts SET routed_at = ?1 WHERE id = ?2")?;
        for (id, kind, severity) in &pending {
            let kind = Kind::parse(kind).unwrap_or(Kind::Digest);
            let severity = Severity::parse(severity).unwrap_or(Severity::Critical);
            for r in routes.iter().filter(|r| r.accepts(kind, severity)) {
                add.execute(params![id, r.name, now])?;
            }
            done.execute(params![now, id])?;
        }
    }
    tx.commit()?;
    Ok(pending.len())
}

/// A channel's backoff state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelState {
    pub failures: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

pub fn channel_state(conn: &Connection, channel: &str) -> Result<ChannelState, StoreError> {
    Ok(conn
        .query_row(
            "SELECT failures, next_attempt_at, last_error FROM alert_channels WHERE name = ?1",
            [channel],
            |r| {
                Ok(ChannelState {
                    failures: r.get(0)?,
                    next_attempt_at: r.get(1)?,
                    last_error: r.get(2)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}

fn set_channel_state(
    conn: &Connection,
    channel: &str,
    state: &ChannelState,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO alert_channels (name, failures, next_attempt_at, last_error) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET failures = excluded.failures, \
         next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error",
        params![
            channel,
            state.failures,
            state.next_attempt_at,
            state.last_error
        ],
    )?;
    Ok(())
}

/// The oldest delivery of `channel` that is due, claimed for this sender
/// (attempts + 1, leased for [`LEASE_SECS`]); `None` when nothing is due.
pub fn claim_next(
    conn: &Connection,
    channel: &str,
    now: i64,
) -> Result<Option<(StoredAlert, i64)>, StoreError> {
    loop {
        let next: Option<String> = conn
            .query_row(
                "SELECT d.alert FROM alert_deliveries d JOIN alerts a ON a.id = d.alert \
                 WHERE d.channel = ?1 AND d.delivered_at IS NULL AND d.failed_at IS NULL \
                 AND d.next_attempt_at <= ?2 ORDER BY a.created_at, a.rowid LIMIT 1",
                params![channel, now],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = next else { return Ok(None) };
        let claimed = conn.execute(
            "UPDATE alert_deliveries SET attempts = attempts + 1, next_attempt_at = ?3 \
             WHERE alert = ?1 AND channel = ?2 AND delivered_at IS NULL AND failed_at IS NULL \
             AND next_attempt_at <= ?4",
            params![id, channel, now + LEASE_SECS, now],
        )?;
        if claimed == 1 {
            let attempts: i64 = conn.query_row(
                "SELECT attempts FROM alert_deliveries WHERE alert = ?1 AND channel = ?2",
                params![id, channel],
                |r| r.get(0),
            )?;
            return Ok(load(conn, &id)?.map(|a| (a, attempts)));
        }
        // Another sender took it between the two statements: look again.
    }
}

/// Sent: the channel is healthy again.
pub fn record_delivered(
    conn: &Connection,
    alert: &str,
    channel: &str,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE alert_deliveries SET delivered_at = ?3, last_error = NULL \
         WHERE alert = ?1 AND channel = ?2",
        params![alert, channel, now],
    )?;
    set_channel_state(conn, channel, &ChannelState::default())
}

/// The channel could not be reached: it backs off as a whole; the delivery
/// is due again with the channel, unless it is older than [`GIVE_UP_SECS`].
/// Returns when the channel is next tried.
pub fn record_unreachable(
    conn: &Connection,
    alert: &StoredAlert,
    channel: &str,
    error: &str,
    now: i64,
) -> Result<i64, StoreError> {
    let mut state = channel_state(conn, channel)?;
    state.failures += 1;
    state.next_attempt_at = now + backoff_secs(state.failures);
    state.last_error = Some(error.to_string());
    set_channel_state(conn, channel, &state)?;
    let give_up = now - alert.created_at >= GIVE_UP_SECS;
    conn.execute(
        "UPDATE alert_deliveries SET next_attempt_at = ?3, last_error = ?4, \
         failed_at = CASE WHEN ?5 THEN ?6 END WHERE alert = ?1 AND channel = ?2",
        params![
            alert.id,
            channel,
            state.next_attempt_at,
            error,
            give_up,
            now
        ],
    )?;
    Ok(state.next_attempt_at)
}

/// The receiver refused this one delivery; retried on its own a few times.
/// Returns true when it is now marked failed.
pub fn record_refused(
    conn: &Connection,
    alert: &str,
    channel: &str,
    attempts: i64,
    error: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let give_up = attempts >= MAX_REFUSALS;
    conn.execute(
        "UPDATE alert_deliveries SET next_attempt_at = ?3, last_error = ?4, \
         failed_at = CASE WHEN ?5 THEN ?6 END WHERE alert = ?1 AND channel = ?2",
        params![
            alert,
            channel,
            now + backoff_secs(attempts),
            error,
            give_up,
            now
        ],
    )?;
    Ok(give_up)
}

/// One stored alert by id.
pub fn load(conn: &Connection, id: &str) -> Result<Option<StoredAlert>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT id, created_at, kind, severity, domain, title, summary, evidence, \
             fix_steps, key FROM alerts WHERE id = ?1",
            [id],
            stored_row,
        )
        .optional()?)
}

fn stored_row(r: &Row<'_>) -> rusqlite::Result<StoredAlert> {
    let kind: String = r.get(2)?;
    let severity: String = r.get(3)?;
    let evidence: String = r.get(7)?;
    let fix_steps: String = r.get(8)?;
    let mut alert = Alert::new(
        Kind::parse(&kind).unwrap_or(Kind::Digest),
        Severity::parse(&severity).unwrap_or(Severity::Critical),
        r.get::<_, Option<String>>(4)?.as_deref(),
        r.get(9)?,
    );
    alert.title = r.get(5)?;
    alert.summary = r.get(6)?;
    alert.evidence = serde_json::from_str(&evidence).unwrap_or_default();
    alert.fix_steps = serde_json::from_str(&fix_steps).unwrap_or_default();
    Ok(StoredAlert {
        id: r.get(0)?,
        created_at: r.get(1)?,
        alert,
    })
}

/// One row of `alerts list`: an alert and its state on one channel.
#[derive(Debug, Clone, serde::Serialize, PartialEq)]
pub struct Listed {
    pub id: String,
    pub kind: String,
    pub severity: String,
    pub domain: Option<String>,
    pub title: String,
    pub created_at: String,
    pub channel: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub delivered_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
}

/// The newest `limit` alerts from `v_alerts`, one row per channel;
/// `pending_only` keeps those not yet delivered or given up.
pub fn list(
    conn: &Connection,
    pending_only: bool,
    limit: usize,
) -> Result<Vec<Listed>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT v.id, v.kind, v.severity, v.domain, v.title, v.created_at, v.channel, v.state, \
         v.attempts, v.delivered_at, v.next_attempt_at, v.last_error \
         FROM v_alerts v JOIN alerts a ON a.id = v.id \
         WHERE a.rowid IN (SELECT rowid FROM alerts ORDER BY created_at DESC, rowid DESC LIMIT ?1) \
         AND (?2 = 0 OR v.state IN ('queued', 'pending')) \
         ORDER BY a.created_at DESC, a.rowid DESC, v.channel",
    )?;
    let rows = stmt.query_map(params![limit as i64, pending_only], |r| {
        Ok(Listed {
            id: r.get(0)?,
            kind: r.get(1)?,
            severity: r.get(2)?,
            domain: r.get(3)?,
            title: r.get(4)?,
            created_at: r.get(5)?,
            channel: r.get(6)?,
            state: r.get(7)?,
            attempts: r.get(8)?,
            delivered_at: r.get(9)?,
            next_attempt_at: r.get(10)?,
            last_error: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let steps: Vec<i64> = (1..=9).map(backoff_secs).collect();
        assert_eq!(steps, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
    }
}
