//! `[digest]`: the periodic summary per domain, sent to every channel
//! whatever its `min_severity`: volume, DMARC pass rate and its trend
//! against the period before, the top failing sources, the new sources,
//! blocklist listings, and the alerts raised in the period. The daemon
//! calls [`enqueue`] on the `[digest] schedule`; `dmarcwatch alerts digest`
//! does it by hand. One digest per domain and day at most.

use super::{outbox, Alert, Kind, Severity};
use crate::commands::percent;
use crate::config::Config;
use crate::detect::{day, Settings};
use crate::store::queries::{self, DomainSummary, SenderFilter};
use crate::store::StoreError;
use rusqlite::{params, Connection};
use serde_json::json;

const TOP: usize = 5;

/// Build the digests for the period ending `now` and queue them; returns
/// the ids queued (none for a domain already sent a digest today).
pub fn enqueue(conn: &Connection, config: &Config, now: i64) -> Result<Vec<String>, StoreError> {
    let mut ids = Vec::new();
    for alert in build(conn, config, now)? {
        ids.extend(outbox::enqueue(conn, &alert, now)?);
    }
    Ok(ids)
}

/// One digest alert per watched domain with reports in the period.
pub fn build(conn: &Connection, config: &Config, now: i64) -> Result<Vec<Alert>, StoreError> {
    let period = config
        .digest
        .as_ref()
        .map(|d| d.period_secs())
        .unwrap_or(7 * 86400);
    let settings = Settings::new(config);
    let since = now - period;
    let mut out = Vec::new();
    for d in queries::summary(conn, None, Some(since), TOP)? {
        if !settings.watched(&d.domain) {
            continue;
        }
        let before = previous(conn, &d.domain, since - period, since)?;
        let new = queries::senders(
            conn,
            &SenderFilter {
                domain: Some(d.domain.clone()),
                since: Some(since),
                new_only: true,
                limit: Some(10),
                ..Default::default()
            },
        )?;
        let facts = Facts {
            listed: listed(conn, &d.domain)?,
            raised: raised(conn, &d.domain, since)?,
            summary: d,
            before,
            new,
        };
        out.push(digest(&facts, since, now, period));
    }
    Ok(out)
}

/// Messages and DMARC passes of the period before.
fn previous(conn: &Connection, domain: &str, from: i64, to: i64) -> Result<(u64, u64), StoreError> {
    let (m, p): (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(dmarc_pass_messages), 0) FROM v_daily \
         WHERE domain = ?1 AND day >= ?2 AND day < ?3",
        params![domain, day(from), day(to)],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok((m.max(0) as u64, p.max(0) as u64))
}

/// The domain's sources that a blocklist lists now: (ip, zone).
fn listed(conn: &Connection, domain: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT b.ip, b.zone FROM v_blocklist b WHERE b.listed = 1 AND b.ip IN \
         (SELECT source_ip FROM source_daily WHERE domain = ?1) ORDER BY b.ip, b.zone LIMIT 20",
    )?;
    let rows = stmt.query_map([domain], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Alerts raised for the domain in the period, per kind.
fn raised(conn: &Connection, domain: &str, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT kind, count(*) FROM alerts WHERE domain = ?1 AND created_at > ?2 \
         AND kind != 'digest' GROUP BY kind ORDER BY count(*) DESC, kind",
    )?;
    let rows = stmt.query_map(params![domain, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// `Label: a, b.`, or `none` when there are no items.
fn sentence(none: &str, label: &str, items: &[String], sep: &str) -> String {
    if items.is_empty() {
        none.to_string()
    } else {
        format!("{label}: {}.", items.join(sep))
    }
}

/// What one domain's digest is made of.
struct Facts {
    summary: DomainSummary,
    /// Messages and DMARC passes of the period before.
    before: (u64, u64),
    new: Vec<queries::Sender>,
    listed: Vec<(String, String)>,
    raised: Vec<(String, i64)>,
}

fn digest(f: &Facts, since: i64, now: i64, period: i64) -> Alert {
    let (d, (before_messages, before_pass)) = (&f.summary, f.before);
    let (new, listed, raised) = (f.new.as_slice(), f.listed.as_slice(), f.raised.as_slice());
    let domain = super::escape::value(&d.domain);
    let mut a = Alert::new(
        Kind::Digest,
        Severity::Info,
        Some(&domain),
        format!("digest:{domain}:{}", day(now)),
    );
    a.cooldown_secs = (period / 2).max(3600);
    let rate = d.pass_rate();
    let before = (before_messages > 0).then(|| queries::ratio(before_pass, before_messages));
    let trend = match before {
        Some(b) => format!(
            "{} (before: {}, {:+.1} points)",
            percent(rate),
            percent(b),
            (rate - b) * 100.0
        ),
        None => format!("{} (no data for the period before)", percent(rate)),
    };
    a.title = format!(
        "DMARC digest for {domain}: {} messages, {} pass",
        d.messages,
        percent(rate)
    );
    let source = |s: &queries::Sender| {
        let name = s.service.as_deref().or(s.ptr.as_deref()).unwrap_or("");
        let name = super::escape::value(name);
        if name.is_empty() {
            s.source_ip.clone()
        } else {
            format!("{} ({name})", s.source_ip)
        }
    };
    let mut lines = vec![format!(
        "{domain}, {} to {}: {} messages in {} reports; DMARC pass {trend}; SPF aligned {}, \
         DKIM aligned {}.",
        day(since),
        day(now),
        d.messages,
        d.reports,
        percent(d.spf_rate()),
        percent(d.dkim_rate())
    )];
    let failing: Vec<String> = d
        .top_failing
        .iter()
        .map(|s| {
            format!(
                "{}: {} of {} fail",
                source(s),
                s.dmarc_fail_messages,
                s.messages
            )
        })
        .collect();
    lines.push(sentence(
        "No source failed DMARC.",
        "Top failing sources",
        &failing,
        "; ",
    ));
    let new_names: Vec<String> = new.iter().map(source).collect();
    lines.push(sentence(
        "No new sources.",
        "New sources (not approved)",
        &new_names,
        ", ",
    ));
    let listings: Vec<String> = listed
        .iter()
        .map(|(ip, zone)| format!("{ip} on {zone}"))
        .collect();
    lines.push(sentence(
        "Blocklists: none of the domain's sources is listed.",
        "Blocklisted",
        &listings,
        ", ",
    ));
    let kinds: Vec<String> = raised.iter().map(|(k, n)| format!("{k} {n}")).collect();
    lines.push(sentence(
        "No alerts in the period.",
        "Alerts in the period",
        &kinds,
        ", ",
    ));
    a.summary = lines.join("\n");
    a.evidence = json!({
        "period_start": crate::store::queries::datetime(since),
        "period_end": crate::store::queries::datetime(now),
        "reports": d.reports,
        "messages": d.messages,
        "dmarc_pass_rate": rate,
        "previous_pass_rate": before,
        "previous_messages": before_messages,
        "spf_aligned_rate": d.spf_rate(),
        "dkim_aligned_rate": d.dkim_rate(),
        "top_failing": d.top_failing.iter().map(|s| json!({
            "ip": s.source_ip, "messages": s.messages, "dmarc_fail": s.dmarc_fail_messages,
            "ptr": s.ptr.as_deref().map(super::escape::value), "service": s.service,
        })).collect::<Vec<_>>(),
        "new_sources": new_names,
        "blocklisted": listings,
        "alerts": raised.iter().map(|(k, n)| (k.clone(), json!(n))).collect::<serde_json::Map<_, _>>(),
    });
    a.fix_steps = if d.top_failing.is_empty() && new.is_empty() && listed.is_empty() {
        vec!["Nothing to do this period.".into()]
    } else {
        vec![
            format!("Failing and new sources: `dmarcwatch senders --domain {domain} --failing` / `--new`."),
            format!("Approve the ones you know: `dmarcwatch approve SOURCE --domain {domain}`."),
        ]
    };
    a
}
