//! What detection reads: every record of one domain's reports in the
//! window, classified and added up per source group ([`GroupFacts`]: the
//! group's [`Tally`] and a few numbers per address). The
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

use super::group::{self, Group};
use crate::alert::escape;
use crate::store::StoreError;
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// Distinct names kept per map (domains, receivers); the rest are counted
/// under "(others)" so a hostile report cannot grow memory or alerts.
const MAX_NAMES: usize = 50;
const OTHERS: &str = "(others)";

/// Message counts per name, bounded. A small list, not a map: a source
/// has a handful of receivers and envelope domains, and there may be a
/// hundred thousand sources in a window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts(pub Vec<(String, u64)>);

impl Counts {
    pub fn add(&mut self, name: &str, n: u64) {
        let name = escape::clean(name, 100);
        let at = match self.0.iter().position(|(k, _)| *k == name) {
            Some(at) => at,
            None if self.0.len() < MAX_NAMES => {
                self.0.push((name, 0));
                self.0.len() - 1
            }
            None => match self.0.iter().position(|(k, _)| k == OTHERS) {
                Some(at) => at,
                None => {
                    self.0.push((OTHERS.to_string(), 0));
                    self.0.len() - 1
                }
            },
        };
        self.0[at].1 += n;
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

    /// The count of one name (0 when absent).
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, n)| *n)
    }
}

/// The messages of a source group over the window, classified.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
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

impl Tally {
    pub fn fails(&self) -> u64 {
        self.messages - self.pass
    }
}

/// One address of a group: what the alert texts and evidence show of it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Address {
    /// Canonical address text; empty when the report gave none.
    pub ip: String,
    pub ptr: Option<String>,
    pub service: Option<String>,
    pub messages: u64,
    pub pass: u64,
    /// Earliest report begin in the window.
    pub first: i64,
}

impl Address {
    pub fn fails(&self) -> u64 {
        self.messages - self.pass
    }
}

/// A source group of one domain over the window.
pub struct GroupFacts {
    pub domain: String,
    pub group: Group,
    pub total: Tally,
    /// Its addresses, most messages first.
    pub sources: Vec<Address>,
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
    WHERE r.domain = ?1 AND r.end_ts > ?2 AND r.begin_ts <= ?3";

/// The domains with reports overlapping `[since, now]`, in order.
pub fn domains(conn: &Connection, since: i64, now: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT domain FROM reports WHERE end_ts > ?1 AND begin_ts <= ?2 ORDER BY domain",
    )?;
    let rows = stmt.query_map(params![since, now], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The source groups of `domain` in reports overlapping `[since, now]`,
/// sorted by group key; each group's addresses most messages first. One
/// domain at a time, and the classified counts kept per group, not per
/// address: memory follows the largest domain's groups.
pub fn collect(
    conn: &Connection,
    domain: &str,
    since: i64,
    now: i64,
) -> Result<Vec<GroupFacts>, StoreError> {
    let mut groups: Vec<GroupFacts> = Vec::new();
    let mut group_of_key: HashMap<String, usize> = HashMap::new();
    // Address → (its group, its numbers).
    let mut addresses: HashMap<String, (usize, Address)> = HashMap::new();
    let mut stmt = conn.prepare_cached(WINDOW_SQL)?;
    let mut rows = stmt.query(params![domain, since, now])?;
    while let Some(r) = rows.next()? {
        let ip: String = r.get(1)?;
        let n = r.get::<_, i64>(3)?.max(0) as u64;
        let (begin, end): (i64, i64) = (r.get(11)?, r.get(12)?);
        let (at, address) = match addresses.get_mut(&ip) {
            Some(entry) => entry,
            None => {
                let (ptr, base_domain, service): (Option<String>, Option<String>, Option<String>) =
                    (r.get(13)?, r.get(14)?, r.get(15)?);
                let group = group::of(&ip, service.as_deref(), base_domain.as_deref());
                let at = *group_of_key.entry(group.key.clone()).or_insert_with(|| {
                    groups.push(GroupFacts {
                        domain: domain.to_string(),
                        group,
                        total: Tally::default(),
                        sources: Vec::new(),
                    });
                    groups.len() - 1
                });
                let address = Address {
                    ip: ip.clone(),
                    ptr,
                    service,
                    first: begin,
                    ..Address::default()
                };
                addresses.entry(ip).or_insert((at, address))
            }
        };
        let f = &mut groups[*at].total;
        let dkim: Option<String> = r.get(4)?;
        let spf: Option<String> = r.get(5)?;
        let dkim_aligned = dkim.as_deref() == Some("pass");
        let spf_aligned = spf.as_deref() == Some("pass");
        address.messages += n;
        address.first = address.first.min(begin);
        if dkim_aligned || spf_aligned {
            address.pass += n;
        }
        f.messages += n;
        f.first = if f.first == 0 {
            begin
        } else {
            f.first.min(begin)
        };
        f.last = f.last.max(end);
        f.receivers.add(&r.get::<_, String>(2)?, n);
        if let Some(e) = r.get::<_, Option<String>>(7)?.filter(|e| !e.is_empty()) {
            f.envelope_from.add(&e, n);
        }
        if dkim_aligned {
            f.dkim_aligned += n;
        }
        if spf_aligned {
            f.spf_aligned += n;
        }
        let spf_pass = passed_domains(&r.get::<_, String>(10)?);
        if dkim_aligned || spf_aligned {
            f.pass += n;
            if dkim_aligned && !spf_aligned && spf_pass.is_empty() {
                f.pass_forwarded += n;
            }
            continue;
        }
        let disposition: Option<String> = r.get(8)?;
        f.fail_dispositions
            .add(disposition.as_deref().unwrap_or("(none given)"), n);
        let reasons: Option<String> = r.get(6)?;
        let dkim_pass = passed_domains(&r.get::<_, String>(9)?);
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
    for (at, address) in addresses.into_values() {
        groups[at].sources.push(address);
    }
    for g in &mut groups {
        g.sources.shrink_to_fit();
        g.sources
            .sort_by(|a, b| b.messages.cmp(&a.messages).then(a.ip.cmp(&b.ip)));
    }
    groups.sort_by(|a, b| a.group.key.cmp(&b.group.key));
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::ExtractLimits;
    use crate::source::{Body, Unit};
    use crate::store::Store;

    /// A report for `domain` from `begin`, with records
    /// `(ip, count, policy dkim, policy spf, dkim d= that passed or "")`.
    fn report(domain: &str, begin: i64, records: &[(&str, u64, &str, &str, &str)]) -> Vec<u8> {
        let mut xml = format!(
            "<feedback><report_metadata><org_name>rx.example</org_name>\
             <report_id>{domain}-{begin}</report_id><date_range><begin>{begin}</begin>\
             <end>{}</end></date_range></report_metadata>\
             <policy_published><domain>{domain}</domain><p>none</p></policy_published>",
            begin + 86399
        );
        for (ip, count, dkim, spf, signer) in records {
            let (signer, result) = match *signer {
                "" => ("unknown.example", "fail"),
                d => (d, "pass"),
            };
            xml.push_str(&format!(
                "<record><row><source_ip>{ip}</source_ip><count>{count}</count>\
                 <policy_evaluated><disposition>none</disposition><dkim>{dkim}</dkim>\
                 <spf>{spf}</spf></policy_evaluated></row>\
                 <identifiers><header_from>{domain}</header_from></identifiers>\
                 <auth_results><dkim><domain>{signer}</domain><result>{result}</result></dkim>\
                 <spf><domain>{signer}</domain><result>fail</result></spf></auth_results></record>"
            ));
        }
        (xml + "</feedback>").into_bytes()
    }

    #[test]
    fn collect_reads_one_domain_and_adds_up_per_group() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("t.db")).unwrap();
        let day = 1_800_000_000;
        let inputs = [
            report(
                "example.com",
                day,
                &[
                    ("192.0.2.1", 5, "pass", "fail", "example.com"),
                    ("192.0.2.2", 3, "fail", "fail", "esp.example"),
                    ("198.51.100.7", 2, "fail", "fail", ""),
                ],
            ),
            report(
                "example.com",
                day + 86400,
                &[("192.0.2.2", 4, "fail", "fail", "esp.example")],
            ),
            report(
                "example.net",
                day,
                &[("192.0.2.1", 7, "fail", "fail", "other.example")],
            ),
            // Outside the window.
            report(
                "example.org",
                day - 30 * 86400,
                &[("192.0.2.9", 1, "pass", "pass", "x")],
            ),
        ];
        for (i, xml) in inputs.into_iter().enumerate() {
            let unit = Unit {
                origin: format!("r{i}.xml"),
                body: Body::Reader(Box::new(std::io::Cursor::new(xml))),
                path: None,
            };
            let stored = store.ingest_unit(unit, &ExtractLimits::default()).unwrap();
            assert_eq!(stored.new_reports, 1, "{:?}", stored.outcome);
        }
        let (since, now) = (day - 86400, day + 3 * 86400);
        let c = store.conn();
        assert_eq!(
            domains(c, since, now).unwrap(),
            ["example.com", "example.net"]
        );

        let groups = collect(c, "example.com", since, now).unwrap();
        let keys: Vec<&str> = groups.iter().map(|g| g.group.key.as_str()).collect();
        assert_eq!(keys, ["net:192.0.2.0/24", "net:198.51.100.0/24"]);
        let g = &groups[0];
        assert_eq!(
            (g.total.messages, g.total.pass, g.total.fail_drift),
            (12, 5, 7)
        );
        assert_eq!(g.total.dkim_unaligned.get("esp.example"), 7);
        assert_eq!((g.total.first, g.total.last), (day, day + 86400 + 86399));
        let addresses: Vec<(&str, u64, u64, i64)> = g
            .sources
            .iter()
            .map(|a| (a.ip.as_str(), a.messages, a.fails(), a.first))
            .collect();
        assert_eq!(
            addresses,
            [("192.0.2.2", 7, 7, day), ("192.0.2.1", 5, 0, day)]
        );
        let other = &groups[1];
        assert_eq!((other.total.messages, other.total.fail_unauth), (2, 2));
        assert_eq!(other.total.receivers.get("rx.example"), 2);

        let net = collect(c, "example.net", since, now).unwrap();
        assert_eq!(net.len(), 1);
        assert_eq!((net[0].total.messages, net[0].total.fail_drift), (7, 7));
        assert_eq!(net[0].total.dkim_unaligned.get("other.example"), 7);
    }

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
        assert_eq!(c.ranked()[0], (OTHERS, 150));
        c.add("d3.example", 2);
        assert_eq!(c.0.len(), MAX_NAMES + 1, "a known name is still counted");
        assert_eq!(c.0[3], ("d3.example".to_string(), 3));
    }
}
