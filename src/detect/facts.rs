//! What detection reads: every record of the window's reports, classified
//! and added up per domain and source address ([`SourceFacts`]). The
//! classification is the one a postmaster makes when reading a report:
//!
//! - pass: `policy_evaluated` says DKIM or SPF passed aligned;
//!   *forwarded pass*: aligned DKIM passed while SPF did not pass at all
//!   (the mark of a forwarder that kept the signature intact);
//! - forwarded failure: the receiver gave a reason `forwarded`,
//!   `trusted_forwarder`, `mailing_list`, or `local_policy` with `arc=pass`;
//! - drift: a failure although SPF or DKIM passed in auth_results, for a
//!   domain the receiver did not find aligned (the return-path or `d=` of a
//!   platform's own domain);
//! - unauthenticated: any other failure.
//!
//! Report values are cleaned to one bounded line as they are read.

use crate::alert::escape;
use crate::store::StoreError;
use rusqlite::{params, Connection};
use std::collections::BTreeMap;

/// Distinct names kept per map (domains, receivers); the rest are counted
/// under "(others)" so a hostile report cannot grow memory or alerts.
const MAX_NAMES: usize = 50;
const OTHERS: &str = "(others)";

/// Message counts per name, bounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts(pub BTreeMap<String, u64>);

impl Counts {
    pub fn add(&mut self, name: &str, n: u64) {
        let name = escape::clean(name, 100);
        let key = if self.0.contains_key(&name) || self.0.len() < MAX_NAMES {
            name
        } else {
            OTHERS.to_string()
        };
        *self.0.entry(key).or_insert(0) += n;
    }

    pub fn merge(&mut self, other: &Counts) {
        for (k, v) in &other.0 {
            self.add(k, *v);
        }
    }

    /// Names by count, largest first.
    pub fn ranked(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.0.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        v
    }

    /// The `n` largest as a JSON object.
    pub fn top_json(&self, n: usize) -> serde_json::Value {
        let map: serde_json::Map<String, serde_json::Value> = self
            .ranked()
            .into_iter()
            .take(n)
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect();
        serde_json::Value::Object(map)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One source address of one domain over the window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceFacts {
    pub domain: String,
    /// Canonical address text; empty when the report gave none.
    pub ip: String,
    pub ptr: Option<String>,
    pub base_domain: Option<String>,
    pub service: Option<String>,
    pub messages: u64,
    pub pass: u64,
    pub pass_forwarded: u64,
    pub fail_forwarded: u64,
    pub fail_drift: u64,
    pub fail_unauth: u64,
    pub spf_aligned: u64,
    pub dkim_aligned: u64,
    /// Among drift failures: the domains SPF / DKIM passed for, unaligned.
    pub spf_unaligned: Counts,
    pub dkim_unaligned: Counts,
    pub envelope_from: Counts,
    pub receivers: Counts,
    /// policy_evaluated dispositions of the failures (none, quarantine, reject).
    pub fail_dispositions: Counts,
    /// Earliest report begin and latest report end in the window.
    pub first: i64,
    pub last: i64,
}

impl SourceFacts {
    pub fn fails(&self) -> u64 {
        self.messages - self.pass
    }

    /// Add another source's numbers (for a group of sources).
    pub fn merge(&mut self, o: &SourceFacts) {
        self.messages += o.messages;
        self.pass += o.pass;
        self.pass_forwarded += o.pass_forwarded;
        self.fail_forwarded += o.fail_forwarded;
        self.fail_drift += o.fail_drift;
        self.fail_unauth += o.fail_unauth;
        self.spf_aligned += o.spf_aligned;
        self.dkim_aligned += o.dkim_aligned;
        self.spf_unaligned.merge(&o.spf_unaligned);
        self.dkim_unaligned.merge(&o.dkim_unaligned);
        self.envelope_from.merge(&o.envelope_from);
        self.receivers.merge(&o.receivers);
        self.fail_dispositions.merge(&o.fail_dispositions);
        self.first = if self.first == 0 {
            o.first
        } else {
            self.first.min(o.first)
        };
        self.last = self.last.max(o.last);
    }
}

/// The reason types that explain a failure by forwarding.
fn forwarded(reasons: Option<&str>) -> bool {
    let Some(text) = reasons else { return false };
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str(text) else {
        return false;
    };
    list.iter().any(|r| {
        let kind = r["type"].as_str().unwrap_or_default();
        let comment = r["comment"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        matches!(kind, "forwarded" | "trusted_forwarder" | "mailing_list")
            || (kind == "local_policy" && comment.contains("arc=pass"))
    })
}

/// `[[domain, result], ...]` of json_group_array → the domains that passed.
fn passed_domains(json: &str) -> Vec<String> {
    let Ok(serde_json::Value::Array(rows)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    rows.iter()
        .filter(|r| r[1].as_str() == Some("pass"))
        .filter_map(|r| r[0].as_str().map(str::to_string))
        .collect()
}

const WINDOW_SQL: &str = "
    SELECT r.domain, coalesce(c.source_ip, ''), r.org_name, c.count, c.dkim, c.spf,
           c.reasons, c.envelope_from, c.disposition,
           (SELECT json_group_array(json_array(d.domain, d.result))
              FROM dkim_results d WHERE d.record = c.id),
           (SELECT json_group_array(json_array(s.domain, s.result))
              FROM spf_results s WHERE s.record = c.id),
           r.begin_ts, r.end_ts, i.ptr, i.base_domain, i.service
    FROM reports r
    JOIN records c ON c.report = r.id
    LEFT JOIN ip_info i ON i.ip = c.source_ip
    WHERE r.end_ts > ?1 AND r.begin_ts <= ?2";

/// Every source of every domain with reports overlapping `[since, now]`,
/// sorted by domain and address.
pub fn collect(conn: &Connection, since: i64, now: i64) -> Result<Vec<SourceFacts>, StoreError> {
    let mut by_source: BTreeMap<(String, String), SourceFacts> = BTreeMap::new();
    let mut stmt = conn.prepare(WINDOW_SQL)?;
    let mut rows = stmt.query(params![since, now])?;
    while let Some(r) = rows.next()? {
        let domain: String = r.get(0)?;
        let ip: String = r.get(1)?;
        let f = by_source
            .entry((domain.clone(), ip.clone()))
            .or_insert_with(|| SourceFacts {
                domain,
                ip,
                ..Default::default()
            });
        let n = r.get::<_, i64>(3)?.max(0) as u64;
        let dkim: Option<String> = r.get(4)?;
        let spf: Option<String> = r.get(5)?;
        let reasons: Option<String> = r.get(6)?;
        let envelope_from: Option<String> = r.get(7)?;
        let disposition: Option<String> = r.get(8)?;
        let dkim_pass = passed_domains(&r.get::<_, String>(9)?);
        let spf_pass = passed_domains(&r.get::<_, String>(10)?);
        let (begin, end): (i64, i64) = (r.get(11)?, r.get(12)?);
        f.ptr = r.get(13)?;
        f.base_domain = r.get(14)?;
        f.service = r.get(15)?;

        f.messages += n;
        f.first = if f.first == 0 {
            begin
        } else {
            f.first.min(begin)
        };
        f.last = f.last.max(end);
        f.receivers.add(&r.get::<_, String>(2)?, n);
        if let Some(e) = envelope_from.as_deref().filter(|e| !e.is_empty()) {
            f.envelope_from.add(e, n);
        }
        let dkim_aligned = dkim.as_deref() == Some("pass");
        let spf_aligned = spf.as_deref() == Some("pass");
        if dkim_aligned {
            f.dkim_aligned += n;
        }
        if spf_aligned {
            f.spf_aligned += n;
        }
        if dkim_aligned || spf_aligned {
            f.pass += n;
            if dkim_aligned && !spf_aligned && spf_pass.is_empty() {
                f.pass_forwarded += n;
            }
            continue;
        }
        f.fail_dispositions
            .add(disposition.as_deref().unwrap_or("(none given)"), n);
        if forwarded(reasons.as_deref()) {
            f.fail_forwarded += n;
        } else if !dkim_pass.is_empty() || !spf_pass.is_empty() {
            f.fail_drift += n;
            for d in &dkim_pass {
                f.dkim_unaligned.add(d, n);
            }
            for d in &spf_pass {
                f.spf_unaligned.add(d, n);
            }
        } else {
            f.fail_unauth += n;
        }
    }
    Ok(by_source.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_reasons() {
        assert!(forwarded(Some(r#"[{"type":"forwarded","comment":null}]"#)));
        assert!(forwarded(Some(
            r#"[{"type":"local_policy","comment":"arc=pass as=2"}]"#
        )));
        assert!(!forwarded(Some(
            r#"[{"type":"local_policy","comment":"arc=fail"}]"#
        )));
        assert!(!forwarded(Some(r#"[{"type":"sampled_out"}]"#)));
        assert!(!forwarded(None));
    }

    #[test]
    fn counts_stay_bounded() {
        let mut c = Counts::default();
        for i in 0..200 {
            c.add(&format!("d{i}.example"), 1);
        }
        assert_eq!(c.0.len(), MAX_NAMES + 1);
        assert_eq!(c.0[OTHERS], 150);
    }
}
