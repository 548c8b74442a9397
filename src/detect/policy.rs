//! policy_mismatch: what the receivers found published in `_dmarc.<domain>`
//! against `[[domain]] expected_policy`, and RFC 9990 testing mode (`t=y`).
//! Each receiver's latest report in the window counts, so a fixed record
//! stops the alert as soon as receivers report it.

use super::{by_watched_domain, day, fixes, Settings};
use crate::alert::escape::value;
use crate::alert::{Alert, Kind, Severity};
use crate::store::StoreError;
use rusqlite::{params, Connection};
use serde_json::json;
use std::collections::BTreeMap;

fn strength(p: &str) -> u8 {
    match p {
        "reject" => 2,
        "quarantine" => 1,
        _ => 0,
    }
}

/// One receiver's latest view of a domain's policy.
struct Seen {
    org: String,
    p: String,
    testing: bool,
    pct: Option<i64>,
    end: i64,
}

pub fn detect(conn: &Connection, s: &Settings, now: i64) -> Result<Vec<Alert>, StoreError> {
    // SQLite: with max(), the bare columns come from the row holding the maximum.
    let mut stmt = conn.prepare(
        "SELECT domain, org_name, coalesce(p, ''), coalesce(testing, 'n'), pct, max(end_ts) \
         FROM reports WHERE end_ts > ?1 AND begin_ts <= ?2 \
         GROUP BY domain, org_name ORDER BY domain, org_name",
    )?;
    let rows = stmt.query_map(params![now - s.window, now], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Seen {
                org: r.get(1)?,
                p: r.get(2)?,
                testing: r.get::<_, String>(3)? == "y",
                pct: r.get(4)?,
                end: r.get(5)?,
            },
        ))
    })?;
    let mut alerts = Vec::new();
    for (domain, seen) in &by_watched_domain(s, rows)? {
        let expected = s
            .domains
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(domain))
            .and_then(|c| c.expected_policy.as_deref());
        // (published p, testing) → the receivers that saw it.
        let mut off: BTreeMap<(String, bool), Vec<&Seen>> = BTreeMap::new();
        for v in seen {
            let mismatch = expected.is_some_and(|e| e != v.p);
            if mismatch || v.testing {
                off.entry((v.p.clone(), v.testing)).or_default().push(v);
            }
        }
        for ((p, testing), receivers) in off {
            alerts.push(alert(
                s,
                domain,
                expected,
                &p,
                testing,
                &receivers,
                seen.len(),
            ));
        }
    }
    Ok(alerts)
}

fn alert(
    s: &Settings,
    domain: &str,
    expected: Option<&str>,
    p: &str,
    testing: bool,
    receivers: &[&Seen],
    all: usize,
) -> Alert {
    let domain = value(domain);
    let p = value(if p.is_empty() { "(none given)" } else { p });
    let weaker = expected.is_some_and(|e| strength(&p) < strength(e));
    let severity = match (expected, testing) {
        (Some(e), _) if e != p && !weaker => Severity::Info,
        (None, true) => Severity::Info,
        _ => Severity::Warning,
    };
    let mut a = Alert::new(
        Kind::PolicyMismatch,
        severity,
        Some(&domain),
        format!(
            "policy_mismatch:{domain}:p={p}:t={}",
            if testing { "y" } else { "n" }
        ),
    );
    a.cooldown_secs = s.cooldown;
    let names: Vec<String> = receivers.iter().map(|v| value(&v.org)).collect();
    let latest = receivers.iter().map(|v| v.end).max().unwrap_or(0);
    let shown = names.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    let mismatch = expected.filter(|e| *e != p);
    a.title = match (mismatch, testing) {
        (Some(e), true) => {
            format!("{domain}: receivers see p={p} in testing mode (t=y), expected p={e}")
        }
        (Some(e), false) => format!("{domain}: receivers see p={p}, expected p={e}"),
        (None, _) => format!("{domain}: DMARC policy p={p} is in testing mode (t=y)"),
    };
    let effect = if testing {
        " In testing mode receivers apply the next weaker policy (reject as quarantine, \
         quarantine as none)."
            .to_string()
    } else if weaker {
        " Mail that fails DMARC is treated more leniently than you intend.".to_string()
    } else {
        String::new()
    };
    a.summary = format!(
        "{} of {all} receivers ({shown}) reported on {domain} with the published policy \
         p={p}{} (latest report ending {}){}.{effect}",
        receivers.len(),
        if testing { " t=y" } else { "" },
        day(latest),
        match mismatch {
            Some(e) => format!(", but the config expects p={e}"),
            None => String::new(),
        }
    );
    a.evidence = json!({
        "published_p": p,
        "testing": testing,
        "expected_policy": expected,
        "receivers": receivers.iter().take(20).map(|v| json!({
            "org_name": value(&v.org), "pct": v.pct,
            "report_end": crate::store::queries::datetime(v.end),
        })).collect::<Vec<_>>(),
        "receivers_in_window": all,
        "window": s.detect.window,
    });
    a.fix_steps = fixes::policy_mismatch(&domain, mismatch, testing);
    a
}
