//! Approved sources: "this IP, range or service legitimately sends as this
//! domain". Stored as 16-byte address ranges (or a service name) so the
//! `v_sources.approved` column is plain SQL. Config entries are re-synced at
//! every start; entries from `dmarcwatch approve` stay until removed.

use super::sink::ip_key;
use super::{now, StoreError};
use ipnet::IpNet;
use rusqlite::{params, Connection};
use std::net::IpAddr;

/// A parsed `approved_sources` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    Range { lo: [u8; 16], hi: [u8; 16] },
    Service(String),
}

/// `192.0.2.1`, `192.0.2.0/24`, `2001:db8::/48` or `service:Google Workspace`.
pub fn parse_source(source: &str) -> Result<Approval, String> {
    let s = source.trim();
    if let Some(name) = s.strip_prefix("service:") {
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{source:?}: service name is empty"));
        }
        return Ok(Approval::Service(name.to_string()));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        let k = ip_key(&ip);
        return Ok(Approval::Range { lo: k, hi: k });
    }
    match s.parse::<IpNet>() {
        Ok(net) => Ok(Approval::Range {
            lo: ip_key(&net.network()),
            hi: ip_key(&net.broadcast()),
        }),
        Err(_) => Err(format!(
            "{source:?} is not an IP address, a CIDR range (192.0.2.0/24) or service:NAME"
        )),
    }
}

/// Record an approval; approving the same source again is a no-op.
pub fn approve(
    conn: &Connection,
    domain: &str,
    source: &str,
    origin: &str,
) -> Result<(), StoreError> {
    let approval = parse_source(source).map_err(StoreError::Invalid)?;
    let (lo, hi, service) = match approval {
        Approval::Range { lo, hi } => (Some(lo.to_vec()), Some(hi.to_vec()), None),
        Approval::Service(name) => (None, None, Some(name)),
    };
    conn.execute(
        "INSERT INTO approvals (domain, source, ip_lo, ip_hi, service, origin, added_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (domain, source) DO NOTHING",
        params![
            domain.to_ascii_lowercase(),
            source.trim(),
            lo,
            hi,
            service,
            origin,
            now()
        ],
    )?;
    Ok(())
}

/// Replace the config's approvals with `entries` (domain, source).
pub fn sync_config(conn: &mut Connection, entries: &[(String, String)]) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    tx.execute("DELETE FROM approvals WHERE origin = 'config'", [])?;
    for (domain, source) in entries {
        approve(&tx, domain, source, "config").map_err(|e| match e {
            StoreError::Invalid(m) => {
                StoreError::Invalid(format!("[[domain]] {domain}: approved_sources: {m}"))
            }
            other => other,
        })?;
    }
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_services() {
        let Approval::Range { lo, hi } = parse_source("192.0.2.0/24").expect("cidr") else {
            panic!("not a range")
        };
        let inside = ip_key(&"192.0.2.77".parse().expect("ip"));
        let outside = ip_key(&"192.0.3.1".parse().expect("ip"));
        assert!(lo <= inside && inside <= hi);
        assert!(!(lo <= outside && outside <= hi));
        assert_eq!(
            parse_source("service:Amazon SES"),
            Ok(Approval::Service("Amazon SES".into()))
        );
        assert!(parse_source("mail.example.com").is_err());
        assert!(parse_source("service: ").is_err());
    }
}
