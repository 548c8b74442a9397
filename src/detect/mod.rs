//! Detection: the stored reports → alerts worth a person's attention. Runs
//! after each ingest and on schedule ([`run`]); every rule looks at the
//! `[detect] window` before `now`, so running it again finds the same
//! things and the outbox's cool-down keeps them from being sent twice.
//!
//! Rules: [`senders`] (new_sender, failing_sender, alignment_drift: one
//! alert per source group, the most specific kind), [`policy`]
//! (policy_mismatch), [`silence`] (reporter_silent), [`unparsable`]
//! (report_unparsable). A run raises at most [`MAX_PER_KIND`] alerts of a
//! kind per domain; the rest go out together as one "and N more" alert.

pub mod facts;
pub mod fixes;
pub mod group;
pub mod policy;
pub mod senders;
pub mod silence;
pub mod unparsable;

use crate::alert::{outbox, Alert, Kind, Severity};
use crate::config::{Config, DetectConfig, DomainConfig};
use crate::store::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use serde_json::json;

/// Alerts of one kind for one domain in one run before the rest are grouped.
pub const MAX_PER_KIND: usize = 5;
/// Cool-down for alerts about one event (a silence, a failed input): once.
pub const ONCE: i64 = 100 * 365 * 86400;

/// The config as the rules need it, durations in seconds.
pub struct Settings<'c> {
    pub detect: &'c DetectConfig,
    pub domains: &'c [DomainConfig],
    pub window: i64,
    pub silence: i64,
    pub cooldown: i64,
}

impl<'c> Settings<'c> {
    pub fn new(config: &'c Config) -> Settings<'c> {
        Settings {
            detect: &config.detect,
            domains: &config.domains,
            window: config.detect.window_secs(),
            silence: config.detect.silence_secs(),
            cooldown: config.detect.cooldown_secs(),
        }
    }

    /// A domain detection looks at: every domain when no `[[domain]]` is
    /// configured, else the configured ones and their subdomains (reports
    /// for other domains are someone else's).
    pub fn watched(&self, domain: &str) -> bool {
        self.domains.is_empty() || self.domain(domain).is_some()
    }

    /// The `[[domain]]` section of `domain` (or of its parent domain).
    pub fn domain(&self, domain: &str) -> Option<&'c DomainConfig> {
        let d = domain.to_ascii_lowercase();
        self.domains.iter().find(|c| {
            let name = c.name.to_ascii_lowercase();
            d == name || d.ends_with(&format!(".{name}"))
        })
    }
}

/// Run every rule at `now` and queue what is new; returns the ids queued.
/// One transaction: the alerts and what detection remembers (known
/// sources) are stored together or not at all.
pub fn run(conn: &Connection, config: &Config, now: i64) -> Result<Vec<String>, StoreError> {
    let settings = Settings::new(config);
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let mut found = senders::detect(&tx, &settings, now)?;
    found.extend(policy::detect(&tx, &settings, now)?);
    found.extend(silence::detect(&tx, &settings, now)?);
    found.extend(unparsable::detect(&tx, &settings, now)?);
    let mut fresh = Vec::new();
    for alert in found {
        if !outbox::is_cooling(&tx, &alert.key, alert.severity, alert.cooldown_secs, now)? {
            fresh.push(alert);
        }
    }
    let mut ids = Vec::new();
    for alert in limit(fresh, now) {
        if let Some(id) = outbox::enqueue(&tx, &alert, now)? {
            ids.push(id);
        }
    }
    tx.commit()?;
    if !ids.is_empty() {
        tracing::info!("detection queued {} alerts", ids.len());
    }
    Ok(ids)
}

/// At most [`MAX_PER_KIND`] alerts per domain and kind, the most severe
/// first; the others become one alert that lists them and covers their
/// keys, so a flood of reports cannot flood the channels.
pub fn limit(alerts: Vec<Alert>, now: i64) -> Vec<Alert> {
    // (domain, kind) buckets in order of first appearance.
    let mut buckets: Vec<Vec<Alert>> = Vec::new();
    for a in alerts {
        match buckets
            .iter_mut()
            .find(|b| b[0].domain == a.domain && b[0].kind == a.kind)
        {
            Some(bucket) => bucket.push(a),
            None => buckets.push(vec![a]),
        }
    }
    let mut out = Vec::new();
    for mut group in buckets {
        let (domain, kind) = (group[0].domain.clone(), group[0].kind);
        // Most severe first, then most messages (when the evidence counts them).
        group.sort_by_key(|a| {
            let messages = a.evidence["messages"].as_u64().unwrap_or(0);
            (std::cmp::Reverse(a.severity), std::cmp::Reverse(messages))
        });
        if group.len() > MAX_PER_KIND {
            let rest = group.split_off(MAX_PER_KIND);
            out.extend(group);
            out.push(grouped(domain.as_deref(), kind, rest, now));
        } else {
            out.extend(group);
        }
    }
    out
}

fn grouped(domain: Option<&str>, kind: Kind, rest: Vec<Alert>, now: i64) -> Alert {
    let severity = rest
        .iter()
        .map(|a| a.severity)
        .max()
        .unwrap_or(Severity::Info);
    let scope = domain.unwrap_or("inputs without a domain");
    let mut a = Alert::new(
        kind,
        severity,
        domain,
        format!("{}:{scope}:more:{now}", kind.as_str()),
    );
    a.title = format!("{} more {} alerts for {scope}", rest.len(), kind.label());
    let titles: Vec<&str> = rest.iter().map(|r| r.title.as_str()).collect();
    a.summary = format!(
        "This run found more than {MAX_PER_KIND} {} alerts for {scope}; the first \
         {MAX_PER_KIND} went out on their own and these {} are listed together: {}.",
        kind.label(),
        rest.len(),
        titles
            .iter()
            .take(20)
            .copied()
            .collect::<Vec<_>>()
            .join("; ")
    );
    a.evidence = json!({
        "count": rest.len(),
        "alerts": rest.iter().take(50).map(|r| json!({
            "severity": r.severity.as_str(), "title": r.title,
        })).collect::<Vec<_>>(),
    });
    a.fix_steps = vec![
        "Look at them together: `dmarcwatch senders --domain DOMAIN --new` or `--failing`, \
         or `SELECT * FROM v_alerts` in the database."
            .into(),
        "Approve the sources you know (`dmarcwatch approve SOURCE --domain DOMAIN`); \
         the others are sending as your domain without authorisation."
            .into(),
    ];
    a.covers = rest.into_iter().map(|r| r.key).collect();
    a
}

/// `(domain, item)` rows → items per watched domain, in domain order.
pub fn by_watched_domain<T>(
    s: &Settings,
    rows: impl Iterator<Item = rusqlite::Result<(String, T)>>,
) -> Result<std::collections::BTreeMap<String, Vec<T>>, StoreError> {
    let mut out: std::collections::BTreeMap<String, Vec<T>> = Default::default();
    for row in rows {
        let (domain, item) = row?;
        if s.watched(&domain) {
            out.entry(domain).or_default().push(item);
        }
    }
    Ok(out)
}

/// `2026-12-04` of an epoch second.
pub fn day(ts: i64) -> String {
    let text = crate::store::queries::datetime(ts);
    text.get(..10).unwrap_or(&text).to_string()
}

/// `42%` from 10% up, `2.5%` below.
pub fn pct(share: f64) -> String {
    let p = share * 100.0;
    if p >= 10.0 || p == 0.0 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// `3 of 1200` style count lists: "google.com (800), yahoo.com (400)".
pub fn name_list(items: &[(&str, u64)], n: usize) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(n)
        .map(|(k, v)| format!("{k} ({v})"))
        .collect();
    if items.len() > n {
        parts.push(format!("and {} more", items.len() - n));
    }
    parts.join(", ")
}
