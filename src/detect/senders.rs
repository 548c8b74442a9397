//! Who sends as our domains: new_sender, failing_sender, alignment_drift.
//! Sources are grouped ([`super::group`]) and judged per group over the
//! window; one group raises at most one alert, the most specific:
//!
//! 1. its failures (forwarding excluded) reach `failure_warn` with at least
//!    `min_messages`: **alignment_drift** when most of them passed SPF or
//!    DKIM for an unaligned domain, else **failing_sender**; warning, or
//!    critical from `failure_critical`;
//! 2. else, when the group was never seen before: **new_sender** (info when
//!    it passes DMARC, warning when it fails).
//!
//! Approved sources never raise new_sender (but do raise failing alerts: an
//! approved platform that starts failing is exactly the news). A group whose
//! mail is mostly forwarded (see [`super::facts`]) is a forwarder: no alert.
//! Every address seen is remembered with its group, so a new address of a
//! known group (a provider's IP churn) is not new.

use super::facts::{self, GroupFacts, Tally};
use super::group::{self, By};
use super::{day, fixes, name_list, pct, Settings};
use crate::alert::escape::value;
use crate::alert::{Alert, Kind, Severity};
use crate::store::StoreError;
use rusqlite::{params, Connection};
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// What the store knows of a group beyond the window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standing {
    /// Every address of the group is covered by an approval.
    pub approved: bool,
    /// Seen by an earlier detection run (the group, or one of its addresses).
    pub known: bool,
    /// First report naming any of its addresses, all time.
    pub first_seen: i64,
}

/// Judge every source group of the watched domains; each alert goes to
/// `found` as soon as it is made.
pub fn detect(
    conn: &Connection,
    s: &Settings,
    now: i64,
    found: &mut dyn FnMut(Alert) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let since = now - s.window;
    for domain in facts::domains(conn, since, now)? {
        if !s.watched(&domain) {
            continue;
        }
        let groups = facts::collect(conn, &domain, since, now)?;
        let history = History::load(conn, &domain)?;
        for g in groups.iter().filter(|g| g.group.by != By::Unknown) {
            if let Some(a) = judge(s, g, &history.standing(g), since) {
                found(a)?;
            }
        }
        remember(conn, &groups, now)?;
    }
    Ok(())
}

/// What the store knows of one domain's sources, all time: loaded once
/// per domain and run (one pass over its sources, not one per address).
struct History {
    /// Address → (approved, first seen).
    sources: HashMap<String, (bool, i64)>,
    known_ips: HashSet<String>,
    known_groups: HashSet<String>,
}

impl History {
    fn load(conn: &Connection, domain: &str) -> Result<History, StoreError> {
        let mut stmt = conn.prepare_cached(
            "SELECT source_ip, approved, CAST(strftime('%s', first_seen) AS INTEGER) \
             FROM v_sources WHERE domain = ?1",
        )?;
        let sources = stmt
            .query_map([domain], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    (r.get(1)?, r.get::<_, Option<i64>>(2)?.unwrap_or(0)),
                ))
            })?
            .collect::<Result<HashMap<_, _>, _>>()?;
        let mut stmt = conn.prepare_cached(
            "SELECT source_ip, group_key FROM detect_known_sources WHERE domain = ?1",
        )?;
        let mut known_ips = HashSet::new();
        let mut known_groups = HashSet::new();
        let rows = stmt.query_map([domain], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
        for row in rows {
            let (ip, group) = row?;
            known_ips.insert(ip);
            known_groups.insert(group);
        }
        Ok(History {
            sources,
            known_ips,
            known_groups,
        })
    }

    fn standing(&self, g: &GroupFacts) -> Standing {
        let mut st = Standing {
            approved: true,
            known: self.known_groups.contains(&g.group.key),
            first_seen: i64::MAX,
        };
        for f in &g.sources {
            st.known |= self.known_ips.contains(&f.ip);
            let (approved, first) = self.sources.get(&f.ip).copied().unwrap_or((false, f.first));
            st.approved &= approved;
            st.first_seen = st.first_seen.min(first);
        }
        st
    }
}

/// Remember every address of the window with its current group.
fn remember(conn: &Connection, groups: &[GroupFacts], now: i64) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO detect_known_sources (domain, source_ip, group_key, known_at) \
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT (domain, source_ip) \
         DO UPDATE SET group_key = excluded.group_key \
         WHERE group_key IS NOT excluded.group_key",
    )?;
    for g in groups.iter().filter(|g| g.group.by != By::Unknown) {
        for f in &g.sources {
            stmt.execute(params![g.domain, f.ip, g.group.key, now])?;
        }
    }
    Ok(())
}

/// The numbers a judgement rests on.
pub struct Verdict {
    pub forwarder: bool,
    /// Failures not explained by forwarding.
    pub judged: u64,
    pub share: f64,
}

pub fn verdict(t: &Tally) -> Verdict {
    let forwarder = t.messages > 0 && (t.pass_forwarded + t.fail_forwarded) * 2 >= t.messages;
    let judged = if forwarder {
        0
    } else {
        t.fail_drift + t.fail_unauth
    };
    let share = crate::store::queries::ratio(judged, t.messages);
    Verdict {
        forwarder,
        judged,
        share,
    }
}

/// The one alert a group deserves, if any.
pub fn judge(s: &Settings, g: &GroupFacts, st: &Standing, since: i64) -> Option<Alert> {
    let t = &g.total;
    let v = verdict(t);
    let d = s.detect;
    let failing = if t.messages < d.min_messages || v.judged == 0 {
        None
    } else if v.share >= d.failure_critical {
        Some(Severity::Critical)
    } else if v.share >= d.failure_warn {
        Some(Severity::Warning)
    } else {
        None
    };
    let is_new = !st.known && !st.approved && st.first_seen >= since && !v.forwarder;
    let (kind, severity) = match failing {
        Some(sev) if t.fail_drift * 2 >= v.judged => (Kind::AlignmentDrift, sev),
        Some(sev) => (Kind::FailingSender, sev),
        None if is_new => {
            let sev = if v.judged > 0 && v.share >= d.failure_warn {
                Severity::Warning
            } else {
                Severity::Info
            };
            (Kind::NewSender, sev)
        }
        None => return None,
    };
    let domain = value(&g.domain);
    let mut a = Alert::new(
        kind,
        severity,
        Some(&domain),
        format!("{}:{domain}:{}", kind.as_str(), g.group.key),
    );
    a.cooldown_secs = s.cooldown;
    let words = Words::new(g, st, is_new);
    a.evidence = evidence(s, g, st, &v, is_new);
    a.fix_steps = match kind {
        Kind::AlignmentDrift => fixes::alignment_drift(&domain, &words.name, t, &words.approve),
        Kind::FailingSender => fixes::failing_sender(&domain, &words.name, &words.approve),
        _ => fixes::new_sender(&domain, &words.name, v.judged == 0, &words.approve),
    };
    let (title, summary) = match kind {
        Kind::AlignmentDrift => drift_text(&domain, &words, t, &v),
        Kind::FailingSender => failing_text(&domain, &words, t, &v),
        _ => new_text(&domain, &words, t, &v),
    };
    a.title = title;
    a.summary = summary;
    Some(a)
}

/// The names and phrases the texts share.
struct Words {
    /// "esp-mail.net", "Amazon SES", "203.0.113.0/24" (cleaned).
    name: String,
    /// "New sender " or "".
    new: &'static str,
    /// "3 addresses: 203.0.113.10, 203.0.113.11 …; PTR o1.esp-mail.net".
    route: String,
    receivers: String,
    approve: Vec<String>,
    since: String,
}

impl Words {
    fn new(g: &GroupFacts, st: &Standing, is_new: bool) -> Words {
        let ips: Vec<&str> = g.sources.iter().map(|f| f.ip.as_str()).collect();
        let shown: Vec<String> = ips.iter().take(3).map(|ip| value(ip)).collect();
        let mut route = match ips.len() {
            1 => format!("address {}", shown.join("")),
            n => format!("{n} addresses: {}", shown.join(", ")),
        };
        if ips.len() > 3 {
            route.push_str(" …");
        }
        let ptrs = ptr_names(g);
        if let Some(p) = ptrs.first() {
            route.push_str(&format!("; reverse name {p}"));
        }
        Words {
            name: value(&g.group.name),
            new: if is_new { "New sender " } else { "" },
            route,
            receivers: name_list(&g.total.receivers.ranked(), 3),
            approve: group::approve_hint(&g.group, &ips),
            since: day(st.first_seen.min(g.total.first).max(0)),
        }
    }
}

fn ptr_names(g: &GroupFacts) -> Vec<String> {
    let mut names: Vec<String> = g
        .sources
        .iter()
        .filter_map(|f| f.ptr.as_deref())
        .map(value)
        .collect();
    names.dedup();
    names
}

/// "2400 of 2400 messages (100%)".
fn of_messages(t: &Tally, v: &Verdict) -> String {
    format!("{} of {} messages ({})", v.judged, t.messages, pct(v.share))
}

/// "esp (4 addresses: …) sent 2400 messages as example.com since 2025-12-04;
/// 2400 failed DMARC".
fn sent(domain: &str, w: &Words, t: &Tally, v: &Verdict) -> String {
    format!(
        "{} ({}) sent {} messages as {domain} since {}; {} failed DMARC",
        w.name, w.route, t.messages, w.since, v.judged
    )
}

fn drift_text(domain: &str, w: &Words, t: &Tally, v: &Verdict) -> (String, String) {
    let spf = name_list(&t.spf_unaligned.ranked(), 3);
    let dkim = name_list(&t.dkim_unaligned.ranked(), 3);
    let passed = match (spf.is_empty(), dkim.is_empty()) {
        (false, false) => format!("SPF passed for {spf} and DKIM for {dkim}"),
        (false, true) => format!("SPF passed for {spf} (DKIM did not pass)"),
        (true, false) => format!("DKIM passed for {dkim} (SPF did not pass)"),
        (true, true) => "SPF and DKIM passed".to_string(),
    };
    let title = format!(
        "{}{} sends as {domain} unaligned: {} fail DMARC",
        w.new,
        w.name,
        of_messages(t, v)
    );
    let summary = format!(
        "{} although {passed}: those domains are not aligned with {domain}, the From domain. \
         This is how a platform looks that sends with its own return-path and DKIM domain. \
         Reported by {}.{}",
        sent(domain, w, t, v),
        w.receivers,
        disposition_note(t)
    );
    (title, summary)
}

fn failing_text(domain: &str, w: &Words, t: &Tally, v: &Verdict) -> (String, String) {
    let title = format!(
        "{}{} fails DMARC for {domain}: {}",
        w.new,
        w.name,
        of_messages(t, v)
    );
    let drift = if t.fail_drift > 0 {
        format!(" ({} more passed only for unaligned domains)", t.fail_drift)
    } else {
        String::new()
    };
    let summary = format!(
        "{} with neither SPF nor DKIM passing for any domain{drift}. Unless you know this \
         source, it is sending as {domain} without authorisation. Reported by {}.{}",
        sent(domain, w, t, v),
        w.receivers,
        disposition_note(t)
    );
    (title, summary)
}

fn new_text(domain: &str, w: &Words, t: &Tally, v: &Verdict) -> (String, String) {
    let outcome = if v.judged == 0 {
        "all pass DMARC".to_string()
    } else {
        format!("{} fail DMARC", v.judged)
    };
    let title = format!(
        "New sender for {domain}: {} ({} messages, {outcome})",
        w.name, t.messages
    );
    let auth = if v.judged == 0 {
        format!(
            "It passes DMARC (DKIM aligned for {} messages, SPF aligned for {}), so it holds \
             keys or DNS authority for {domain}.",
            t.dkim_aligned, t.spf_aligned
        )
    } else {
        format!(
            "{} of its messages fail DMARC ({}).",
            v.judged,
            pct(v.share)
        )
    };
    let summary = format!(
        "{} ({}) started sending as {domain} on {}: {} messages, reported by {}. {auth}",
        w.name, w.route, w.since, t.messages, w.receivers
    );
    (title, summary)
}

/// " Receivers delivered 1200 of them anyway (disposition none)." when so.
fn disposition_note(t: &Tally) -> String {
    let delivered = t.fail_dispositions.get("none");
    if delivered > 0 {
        format!(
            " Receivers delivered {delivered} of the failing messages anyway (disposition none)."
        )
    } else {
        String::new()
    }
}

fn evidence(
    s: &Settings,
    g: &GroupFacts,
    st: &Standing,
    v: &Verdict,
    is_new: bool,
) -> serde_json::Value {
    let t = &g.total;
    let ips: Vec<serde_json::Value> = g
        .sources
        .iter()
        .take(10)
        .map(|f| {
            json!({"ip": value(&f.ip), "messages": f.messages, "dmarc_fail": f.fails(),
                   "ptr": f.ptr.as_deref().map(value)})
        })
        .collect();
    json!({
        "source": value(&g.group.name),
        "grouped_by": g.group.by.describe(),
        "ip_count": g.sources.len(),
        "ips": ips,
        "ptr_names": ptr_names(g).into_iter().take(10).collect::<Vec<_>>(),
        "service": g.sources.iter().find_map(|f| f.service.as_deref()).map(value),
        "new_sender": is_new,
        "approved": st.approved,
        "first_seen": day(st.first_seen.min(t.first).max(0)),
        "last_report_end": crate::store::queries::datetime(t.last),
        "window": s.detect.window,
        "messages": t.messages,
        "dmarc_pass": t.pass,
        "dmarc_fail": t.fails(),
        "fail_share": v.share,
        "forwarded": t.pass_forwarded + t.fail_forwarded,
        "unaligned_pass_failures": t.fail_drift,
        "unauthenticated_failures": t.fail_unauth,
        "spf_aligned": t.spf_aligned,
        "dkim_aligned": t.dkim_aligned,
        "spf_pass_unaligned_domains": t.spf_unaligned.top_json(10),
        "dkim_pass_unaligned_domains": t.dkim_unaligned.top_json(10),
        "envelope_from": t.envelope_from.top_json(10),
        "receivers": t.receivers.top_json(10),
        "fail_dispositions": t.fail_dispositions.top_json(5),
        "thresholds": {
            "failure_warn": s.detect.failure_warn,
            "failure_critical": s.detect.failure_critical,
            "min_messages": s.detect.min_messages,
        },
    })
}
