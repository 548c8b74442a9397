//! The reverse-name cache in SQLite (`ip_info`, seen as `v_ip_info`): one
//! row per source address with the confirmed name, its base domain and
//! service, and when to look again. Positive answers live `[dns] cache_ttl`,
//! "no name" answers `negative_ttl`; a failed lookup keeps what was known and
//! is retried after `retry_after`.

use super::base_domain::base_domain;
use super::dns::DnsFailure;
use super::reverse::ReverseName;
use super::services::ServiceMap;
use crate::config::DnsConfig;
use crate::store::StoreError;
use rusqlite::{params, Connection};
use std::net::IpAddr;

/// Cache lifetimes in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Ttl {
    pub positive: i64,
    pub negative: i64,
    pub retry: i64,
}

impl Ttl {
    pub fn from_config(dns: &DnsConfig) -> Ttl {
        Ttl {
            positive: DnsConfig::secs(&dns.cache_ttl),
            negative: DnsConfig::secs(&dns.negative_ttl),
            retry: DnsConfig::secs(&dns.retry_after),
        }
    }
}

const DUE_WHERE: &str = "s.source_ip <> ''
      AND NOT EXISTS (SELECT 1 FROM ip_info i
                       WHERE i.ip = s.source_ip AND i.expires_at > ?1)";

/// Source addresses with no fresh answer, most recently seen first.
pub fn due(conn: &Connection, now: i64, limit: usize) -> Result<Vec<IpAddr>, StoreError> {
    let sql = format!(
        "SELECT s.source_ip FROM source_daily s WHERE {DUE_WHERE}
         GROUP BY s.source_ip ORDER BY max(s.last_seen) DESC LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![now, limit as i64], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for ip in rows {
        // Stored addresses are canonical; anything else is not looked up.
        if let Ok(ip) = ip?.parse::<IpAddr>() {
            out.push(ip);
        }
    }
    Ok(out)
}

/// How many source addresses wait for a lookup.
pub fn due_count(conn: &Connection, now: i64) -> Result<usize, StoreError> {
    let sql = format!("SELECT count(DISTINCT s.source_ip) FROM source_daily s WHERE {DUE_WHERE}");
    let n: i64 = conn.query_row(&sql, params![now], |r| r.get(0))?;
    Ok(n as usize)
}

/// Write a batch of answers in one transaction.
pub fn save(
    conn: &mut Connection,
    answers: &[(IpAddr, Result<ReverseName, DnsFailure>)],
    services: &ServiceMap,
    ttl: &Ttl,
    now: i64,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut answered = tx.prepare_cached(
            "INSERT INTO ip_info (ip, ptr, ptr_claimed, base_domain, service, status,
                                  checked_at, expires_at, error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)
             ON CONFLICT (ip) DO UPDATE SET
                 ptr = excluded.ptr, ptr_claimed = excluded.ptr_claimed,
                 base_domain = excluded.base_domain, service = excluded.service,
                 status = excluded.status, checked_at = excluded.checked_at,
                 expires_at = excluded.expires_at, error = NULL",
        )?;
        let mut failed = tx.prepare_cached(
            "INSERT INTO ip_info (ip, status, expires_at, error) VALUES (?1, 'error', ?2, ?3)
             ON CONFLICT (ip) DO UPDATE SET expires_at = excluded.expires_at,
                                            error = excluded.error",
        )?;
        for (ip, answer) in answers {
            let ip = ip.to_string();
            let (ptr, claimed, status, life) = match answer {
                Err(e) => {
                    failed.execute(params![ip, now + ttl.retry, e.to_string()])?;
                    continue;
                }
                Ok(ReverseName::Confirmed(name)) => (Some(name), None, "named", ttl.positive),
                Ok(ReverseName::Unconfirmed(name)) => {
                    (None, Some(name), "unconfirmed", ttl.negative)
                }
                Ok(ReverseName::None) => (None, None, "none", ttl.negative),
            };
            let base = ptr.and_then(|n| base_domain(n));
            let service = ptr.and_then(|n| services.service_for(n));
            answered.execute(params![
                ip,
                ptr,
                claimed,
                base,
                service,
                status,
                now,
                now + life
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Apply the current service list to every cached name, so a new or
/// changed `[[service]]` shows at once, not after the cache expires.
pub fn refresh_services(conn: &mut Connection, services: &ServiceMap) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let mut changed = 0;
    {
        let mut select =
            tx.prepare("SELECT ip, ptr, service FROM ip_info WHERE ptr IS NOT NULL")?;
        let mut update = tx.prepare("UPDATE ip_info SET service = ?2 WHERE ip = ?1")?;
        let rows = select.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            let (ip, ptr, old) = row?;
            let new = services.service_for(&ptr);
            if new != old.as_deref() {
                update.execute(params![ip, new])?;
                changed += 1;
            }
        }
    }
    tx.commit()?;
    Ok(changed)
}
