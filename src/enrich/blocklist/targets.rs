//! Which addresses to check: `[blocklist] ips` (addresses and CIDR ranges,
//! expanded), and with `from_reports` our own sending sources: addresses
//! whose mail passed DMARC through aligned SPF in the last 30 days, i.e.
//! that our SPF record authorises. DKIM-only passes are left out: they are
//! mostly forwarders and mailing lists, not our servers.

use crate::config::BlocklistConfig;
use crate::store::queries::ratio;
use crate::store::StoreError;
use ipnet::IpNet;
use rusqlite::{params, Connection};
use std::collections::BTreeSet;
use std::net::IpAddr;

/// How far back `from_reports` looks.
pub const FROM_REPORTS_DAYS: i64 = 30;
/// Most report sources watched; the busiest first.
pub const MAX_FROM_REPORTS: usize = 10_000;

/// The addresses to check, sorted and without duplicates.
pub fn monitored(
    conn: &Connection,
    config: &BlocklistConfig,
    now: i64,
) -> Result<Vec<IpAddr>, StoreError> {
    let mut set = BTreeSet::new();
    for entry in &config.ips {
        let entry = entry.trim();
        if let Ok(ip) = entry.parse::<IpAddr>() {
            set.insert(ip);
        } else if let Ok(net) = entry.parse::<IpNet>() {
            // Size bounded by config validation (MAX_MONITORED_RANGE).
            set.extend(net.hosts());
        } else {
            return Err(StoreError::Invalid(format!(
                "[blocklist] ips: {entry:?} is not an IP address or a CIDR range"
            )));
        }
    }
    if config.from_reports {
        set.extend(own_sources(conn, now)?);
    }
    Ok(set.into_iter().collect())
}

/// Sources with SPF-aligned passing mail in the last [`FROM_REPORTS_DAYS`].
fn own_sources(conn: &Connection, now: i64) -> Result<Vec<IpAddr>, StoreError> {
    let since = now - FROM_REPORTS_DAYS * 86400;
    let mut stmt = conn.prepare(
        "SELECT source_ip FROM source_daily
         WHERE day >= date(?1, 'unixepoch') AND source_ip <> ''
         GROUP BY source_ip HAVING sum(spf_aligned) > 0
         ORDER BY sum(messages) DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![since, MAX_FROM_REPORTS as i64], |r| {
        r.get::<_, String>(0)
    })?;
    let mut out = Vec::new();
    for ip in rows {
        if let Ok(ip) = ip?.parse() {
            out.push(ip);
        }
    }
    Ok(out)
}

/// One of our domains an address sends for, and its mail in a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SendsFor {
    pub domain: String,
    pub messages: u64,
    pub dmarc_pass_messages: u64,
}

impl SendsFor {
    pub fn pass_rate(&self) -> f64 {
        ratio(self.dmarc_pass_messages, self.messages)
    }
}

/// The domains `ip` sent mail for since `since`, busiest first.
pub fn sends_for(conn: &Connection, ip: &str, since: i64) -> Result<Vec<SendsFor>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT domain, sum(messages), sum(dmarc_pass) FROM source_daily
         WHERE source_ip = ?1 AND day >= date(?2, 'unixepoch')
         GROUP BY domain ORDER BY 2 DESC, domain",
    )?;
    let rows = stmt.query_map(params![ip, since], |r| {
        Ok(SendsFor {
            domain: r.get(0)?,
            messages: r.get::<_, i64>(1)?.max(0) as u64,
            dmarc_pass_messages: r.get::<_, i64>(2)?.max(0) as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
