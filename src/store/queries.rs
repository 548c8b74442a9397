//! The read side: the queries behind `summary`, `senders` and `export`, over
//! the pre-aggregated `source_daily` table and the documented views, so they
//! stay fast on millions of records.

use super::sink::utc_day;
use super::StoreError;
use rusqlite::{params, Connection, Row};
use serde::Serialize;

/// One domain's totals over a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DomainSummary {
    pub domain: String,
    pub reports: u64,
    pub messages: u64,
    pub dmarc_pass_messages: u64,
    pub spf_aligned_messages: u64,
    pub dkim_aligned_messages: u64,
    pub top_failing: Vec<Sender>,
}

impl DomainSummary {
    pub fn pass_rate(&self) -> f64 {
        ratio(self.dmarc_pass_messages, self.messages)
    }
    pub fn spf_rate(&self) -> f64 {
        ratio(self.spf_aligned_messages, self.messages)
    }
    pub fn dkim_rate(&self) -> f64 {
        ratio(self.dkim_aligned_messages, self.messages)
    }
}

/// One source of one domain over a period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sender {
    pub domain: String,
    pub source_ip: String,
    pub messages: u64,
    pub dmarc_pass_messages: u64,
    pub dmarc_fail_messages: u64,
    pub ptr: Option<String>,
    pub service: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    pub approved: bool,
    pub blocklisted: bool,
}

impl Sender {
    pub fn fail_rate(&self) -> f64 {
        ratio(self.dmarc_fail_messages, self.messages)
    }
}

pub fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Which senders to list.
#[derive(Debug, Clone, Default)]
pub struct SenderFilter {
    pub domain: Option<String>,
    /// Totals from this epoch second on (by report day).
    pub since: Option<i64>,
    /// Only sources whose fail share is at least this, with `min_messages`.
    pub failing: Option<(f64, u64)>,
    /// Only sources first seen at or after `since`, not approved.
    pub new_only: bool,
    pub limit: Option<usize>,
}

const SENDERS_SQL: &str = "
    WITH w AS (
        SELECT domain, source_ip, sum(messages) AS messages, sum(dmarc_pass) AS pass
        FROM source_daily
        WHERE day >= ?1 AND (?2 IS NULL OR domain = ?2)
        GROUP BY domain, source_ip)
    SELECT w.domain, w.source_ip, w.messages, w.pass, v.ptr, v.service,
           v.first_seen, v.last_seen, v.approved, v.blocklisted
    FROM w JOIN v_sources v ON v.domain = w.domain AND v.source_ip = w.source_ip
    ORDER BY w.domain, w.messages - w.pass DESC, w.messages DESC, w.source_ip";

pub fn senders(conn: &Connection, f: &SenderFilter) -> Result<Vec<Sender>, StoreError> {
    let since_day = f.since.map(utc_day).unwrap_or_default();
    let mut stmt = conn.prepare(SENDERS_SQL)?;
    let rows = stmt.query_map(params![since_day, f.domain], sender_row)?;
    let mut out = Vec::new();
    for row in rows {
        let s = row?;
        if let Some((share, min_messages)) = f.failing {
            if s.messages < min_messages || s.fail_rate() < share || s.dmarc_fail_messages == 0 {
                continue;
            }
        }
        if f.new_only {
            let since = f.since.map(datetime).unwrap_or_default();
            if s.approved || s.first_seen < since {
                continue;
            }
        }
        out.push(s);
        if f.limit.is_some_and(|l| out.len() >= l) {
            break;
        }
    }
    Ok(out)
}

fn sender_row(r: &Row<'_>) -> rusqlite::Result<Sender> {
    let messages: i64 = r.get(2)?;
    let pass: i64 = r.get(3)?;
    Ok(Sender {
        domain: r.get(0)?,
        source_ip: r.get(1)?,
        messages: messages as u64,
        dmarc_pass_messages: pass as u64,
        dmarc_fail_messages: (messages - pass).max(0) as u64,
        ptr: r.get(4)?,
        service: r.get(5)?,
        first_seen: r.get(6)?,
        last_seen: r.get(7)?,
        approved: r.get(8)?,
        blocklisted: r.get(9)?,
    })
}

/// `YYYY-MM-DD HH:MM:SS`, as the views show times.
pub fn datetime(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// Per-domain totals since `since` (all time when `None`).
pub fn summary(
    conn: &Connection,
    domain: Option<&str>,
    since: Option<i64>,
    top: usize,
) -> Result<Vec<DomainSummary>, StoreError> {
    let since_day = since.map(utc_day).unwrap_or_default();
    let mut stmt = conn.prepare(
        "SELECT s.domain, sum(s.messages), sum(s.dmarc_pass), sum(s.spf_aligned),
                sum(s.dkim_aligned),
                (SELECT count(*) FROM reports r WHERE r.domain = s.domain AND r.begin_ts >= ?3)
         FROM source_daily s
         WHERE s.day >= ?1 AND (?2 IS NULL OR s.domain = ?2)
         GROUP BY s.domain ORDER BY s.domain",
    )?;
    let since_ts = since.unwrap_or(i64::MIN);
    let rows = stmt.query_map(params![since_day, domain, since_ts], |r| {
        let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
        Ok(DomainSummary {
            domain: r.get(0)?,
            messages: n(1)?,
            dmarc_pass_messages: n(2)?,
            spf_aligned_messages: n(3)?,
            dkim_aligned_messages: n(4)?,
            reports: n(5)?,
            top_failing: Vec::new(),
        })
    })?;
    let mut out: Vec<DomainSummary> = rows.collect::<Result<_, _>>()?;
    for d in &mut out {
        let filter = SenderFilter {
            domain: Some(d.domain.clone()),
            since,
            failing: Some((0.0, 1)),
            new_only: false,
            limit: Some(top),
        };
        d.top_failing = senders(conn, &filter)?;
    }
    Ok(out)
}
