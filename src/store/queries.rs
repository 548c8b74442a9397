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

/// Totals per source of one domain: over a window from `source_daily`, or
/// all time from `source_totals` (no scan of the history).
const WINDOW_TOTALS: &str = "SELECT source_ip, sum(messages) AS messages, sum(dmarc_pass) AS pass
    FROM source_daily WHERE domain = ?1 AND day >= ?2 GROUP BY source_ip";
const ALL_TIME_TOTALS: &str = "SELECT source_ip, messages, dmarc_pass AS pass
    FROM source_totals WHERE domain = ?1 AND ?2 = ''";

/// The fail filter and order run in SQL; names, first/last seen and flags
/// come from `v_sources` for the rows kept only (one indexed lookup each).
fn senders_sql(totals: &str) -> String {
    format!(
        "WITH w AS ({totals})
        SELECT v.domain, w.source_ip, w.messages, w.pass, v.ptr, v.service,
               v.first_seen, v.last_seen, v.approved, v.blocklisted
        FROM w JOIN v_sources v ON v.domain = ?1 AND v.source_ip = w.source_ip
        WHERE w.messages >= ?3 AND w.messages - w.pass >= ?4
          AND (w.messages - w.pass) >= ?5 * w.messages
          AND (?6 = 0 OR (NOT v.approved AND v.first_seen >= ?7))
        ORDER BY w.messages - w.pass DESC, w.messages DESC, w.source_ip
        LIMIT ?8"
    )
}

/// The domains stored, or just `only` when it is given.
pub fn domains(conn: &Connection, only: Option<&str>) -> Result<Vec<String>, StoreError> {
    if let Some(d) = only {
        return Ok(vec![d.to_string()]);
    }
    let mut stmt = conn.prepare("SELECT DISTINCT domain FROM domain_daily ORDER BY domain")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn senders(conn: &Connection, f: &SenderFilter) -> Result<Vec<Sender>, StoreError> {
    let since_day = f.since.map(utc_day).unwrap_or_default();
    let since_time = f.since.map(datetime).unwrap_or_default();
    let (share, min_messages, min_failing) = match f.failing {
        Some((share, min)) => (share, min as i64, 1i64),
        None => (0.0, 0, 0),
    };
    let limit = f.limit.map_or(-1, |l| l as i64);
    let totals = if f.since.is_some() {
        WINDOW_TOTALS
    } else {
        ALL_TIME_TOTALS
    };
    let mut stmt = conn.prepare_cached(&senders_sql(totals))?;
    let mut out = Vec::new();
    for domain in domains(conn, f.domain.as_deref())? {
        let rows = stmt.query_map(
            params![
                domain,
                since_day,
                min_messages,
                min_failing,
                share,
                f.new_only,
                since_time,
                limit
            ],
            sender_row,
        )?;
        for row in rows {
            out.push(row?);
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

/// Per-domain totals since `since` (all time when `None`), with the `top`
/// sources failing most in that period.
pub fn summary(
    conn: &Connection,
    domain: Option<&str>,
    since: Option<i64>,
    top: usize,
) -> Result<Vec<DomainSummary>, StoreError> {
    let since_day = since.map(utc_day).unwrap_or_default();
    let mut stmt = conn.prepare(
        "SELECT sum(reports), sum(messages), sum(dmarc_pass), sum(spf_aligned), sum(dkim_aligned)
         FROM domain_daily WHERE domain = ?1 AND day >= ?2",
    )?;
    let mut out = Vec::new();
    for d in domains(conn, domain)? {
        let totals = stmt.query_row(params![d, since_day], |r| {
            let n = |i: usize| {
                r.get::<_, Option<i64>>(i)
                    .map(|v| v.unwrap_or(0).max(0) as u64)
            };
            Ok([n(0)?, n(1)?, n(2)?, n(3)?, n(4)?])
        })?;
        if totals[0] == 0 {
            continue;
        }
        let filter = SenderFilter {
            domain: Some(d.clone()),
            since,
            failing: Some((0.0, 1)),
            new_only: false,
            limit: Some(top),
        };
        out.push(DomainSummary {
            top_failing: senders(conn, &filter)?,
            domain: d,
            reports: totals[0],
            messages: totals[1],
            dmarc_pass_messages: totals[2],
            spf_aligned_messages: totals[3],
            dkim_aligned_messages: totals[4],
        });
    }
    Ok(out)
}
