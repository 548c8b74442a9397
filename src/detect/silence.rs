//! reporter_silent: a receiver that reported on a domain stops. Silent
//! means no report for `silence_after`, or for twice the receiver's usual
//! interval when it reports less often (a weekly reporter is not silent
//! after three days). When every receiver of a domain is silent, the one
//! alert says so: that points at the DNS record or the report mailbox, not
//! at one receiver. Each silence is raised once (its key holds the end of
//! the last report); silences older than a window past the threshold are
//! history, not news.

use super::{by_watched_domain, day, fixes, name_list, Settings, ONCE};
use crate::alert::escape::value;
use crate::alert::{Alert, Kind, Severity};
use crate::store::StoreError;
use rusqlite::Connection;
use serde_json::json;

/// One receiver's reporting on one domain.
struct Reporter {
    org: String,
    reports: i64,
    first_end: i64,
    last_end: i64,
    messages: i64,
}

impl Reporter {
    /// Quiet for longer than `silence_after` and twice its usual interval.
    fn threshold(&self, silence: i64) -> i64 {
        let usual = (self.last_end - self.first_end) / (self.reports - 1).max(1);
        silence.max(2 * usual)
    }
}

pub fn detect(conn: &Connection, s: &Settings, now: i64) -> Result<Vec<Alert>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT domain, org_name, count(*), min(end_ts), max(end_ts), sum(messages) \
         FROM reports GROUP BY domain, org_name HAVING count(*) >= 2 ORDER BY domain, org_name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Reporter {
                org: r.get(1)?,
                reports: r.get(2)?,
                first_end: r.get(3)?,
                last_end: r.get(4)?,
                messages: r.get(5)?,
            },
        ))
    })?;
    let mut alerts = Vec::new();
    for (domain, reporters) in &by_watched_domain(s, rows)? {
        // Receivers that reported within their threshold + a window: the ones
        // whose silence (if any) is recent enough to matter.
        let relevant: Vec<&Reporter> = reporters
            .iter()
            .filter(|r| now - r.last_end <= r.threshold(s.silence) + s.window)
            .collect();
        let silent: Vec<&Reporter> = relevant
            .iter()
            .copied()
            .filter(|r| now - r.last_end >= r.threshold(s.silence))
            .collect();
        if silent.is_empty() {
            continue;
        }
        if silent.len() == relevant.len() && relevant.len() > 1 {
            alerts.push(all_silent(s, domain, &silent, now));
        } else {
            alerts.extend(silent.iter().map(|r| one_silent(s, domain, r, now)));
        }
    }
    Ok(alerts)
}

fn one_silent(s: &Settings, domain: &str, r: &Reporter, now: i64) -> Alert {
    let domain = value(domain);
    let org = value(&r.org);
    let mut a = Alert::new(
        Kind::ReporterSilent,
        Severity::Info,
        Some(&domain),
        format!("reporter_silent:{domain}:{org}:{}", r.last_end),
    );
    a.cooldown_secs = ONCE;
    let days = (now - r.last_end) / 86400;
    a.title = format!("{org} stopped sending DMARC reports for {domain} (none for {days} days)");
    a.summary = format!(
        "{org} sent {} reports on {domain} (about one every {}), the last one ending {}; \
         nothing since. Its reports covered {} messages.",
        r.reports,
        interval_words(r),
        day(r.last_end),
        r.messages
    );
    a.evidence = json!({
        "org_name": org,
        "reports": r.reports,
        "last_report_end": crate::store::queries::datetime(r.last_end),
        "silent_days": days,
        "threshold_secs": r.threshold(s.silence),
        "messages_reported": r.messages,
    });
    a.fix_steps = fixes::reporter_silent(&domain, false);
    a
}

fn all_silent(s: &Settings, domain: &str, silent: &[&Reporter], now: i64) -> Alert {
    let domain = value(domain);
    let last = silent.iter().map(|r| r.last_end).max().unwrap_or(0);
    let mut a = Alert::new(
        Kind::ReporterSilent,
        Severity::Warning,
        Some(&domain),
        format!("reporter_silent:{domain}:*:{last}"),
    );
    a.cooldown_secs = ONCE;
    let days = (now - last) / 86400;
    let names: Vec<(String, u64)> = silent
        .iter()
        .map(|r| (value(&r.org), r.reports.max(0) as u64))
        .collect();
    let refs: Vec<(&str, u64)> = names.iter().map(|(n, c)| (n.as_str(), *c)).collect();
    a.title = format!("No DMARC reports for {domain} from any receiver for {days} days");
    a.summary = format!(
        "All {} receivers that reported on {domain} went quiet; the last report ended {}. \
         That points at the DMARC record's rua= address or at the report mailbox, not at the \
         receivers. Silent: {} (reports so far).",
        silent.len(),
        day(last),
        name_list(&refs, 5)
    );
    a.evidence = json!({
        "receivers": silent.iter().take(20).map(|r| json!({
            "org_name": value(&r.org), "reports": r.reports,
            "last_report_end": crate::store::queries::datetime(r.last_end),
        })).collect::<Vec<_>>(),
        "last_report_end": crate::store::queries::datetime(last),
        "silent_days": days,
        "silence_after": s.detect.silence_after,
    });
    a.fix_steps = fixes::reporter_silent(&domain, true);
    a
}

fn interval_words(r: &Reporter) -> String {
    let secs = (r.last_end - r.first_end) / (r.reports - 1).max(1);
    if secs >= 2 * 86400 {
        format!("{} days", (secs + 43200) / 86400)
    } else if secs >= 3600 {
        format!("{} hours", (secs + 1800) / 3600)
    } else {
        "hour".to_string()
    }
}
