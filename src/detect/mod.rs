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
pub mod limit;
pub mod policy;
pub mod senders;
pub mod silence;
pub mod unparsable;

use crate::alert::{outbox, Alert};
use crate::config::{Config, DetectConfig, DomainConfig};
use crate::store::StoreError;
use limit::Limiter;
use rusqlite::{Connection, Transaction, TransactionBehavior};

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
    // Alerts are folded as they are found: a flood of them is never held
    // whole in memory.
    let mut kept = Limiter::default();
    let mut keep = |alert: Alert| -> Result<(), StoreError> {
        if !outbox::is_cooling(&tx, &alert.key, alert.severity, alert.cooldown_secs, now)? {
            kept.push(alert);
        }
        Ok(())
    };
    senders::detect(&tx, &settings, now, &mut keep)?;
    let others = [policy::detect, silence::detect, unparsable::detect];
    for rule in others {
        rule(&tx, &settings, now)?
            .into_iter()
            .try_for_each(&mut keep)?;
    }
    let mut ids = Vec::new();
    for alert in kept.finish(now) {
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
