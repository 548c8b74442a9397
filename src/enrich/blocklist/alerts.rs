//! The `blocklist_listed` / `blocklist_delisted` alerts: what changed (IP,
//! zone, return code and its meaning, the zone's reason text), what it
//! touches (which of our domains the address sends for, and how much mail
//! in the last week), and what to do (check the host, the service's
//! support, the zone's removal page). Queued in the alert outbox within the
//! caller's transaction, so a state change and its alert land together.

use super::state::{Change, Direction};
use super::targets::{sends_for, SendsFor};
use super::zones::{code_meaning, delisting_page};
use crate::alert::escape::value;
use crate::alert::{outbox, Alert, Kind, Severity};
use crate::store::queries::datetime;
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::json;

/// The period whose mail the alert counts.
const WEEK_SECS: i64 = 7 * 86400;
/// A listing that flaps (listed, delisted, listed) alerts at most once a
/// day each way; the state in `v_blocklist` is always current.
const COOLDOWN_SECS: i64 = 86400;

/// Queue the alert for `change`; returns its id (`None` while cooling down).
pub fn raise(conn: &Connection, change: &Change, now: i64) -> Result<Option<String>, StoreError> {
    let alert = build(conn, change, now)?;
    outbox::enqueue(conn, &alert, now)
}

/// The alert for one change, with the address's names and recent mail.
pub fn build(conn: &Connection, change: &Change, now: i64) -> Result<Alert, StoreError> {
    let (ptr, service): (Option<String>, Option<String>) = conn
        .query_row(
            "SELECT ptr, service FROM ip_info WHERE ip = ?1",
            params![change.ip],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or_default();
    let domains = sends_for(conn, &change.ip, now - WEEK_SECS)?;
    let (kind, severity, direction) = match change.direction {
        Direction::Listed => (Kind::BlocklistListed, Severity::Critical, "listed"),
        Direction::Delisted => (Kind::BlocklistDelisted, Severity::Info, "delisted"),
    };
    let key = format!("blocklist:{}:{}:{direction}", change.ip, change.zone);
    let mut alert = Alert::new(
        kind,
        severity,
        domains.first().map(|d| d.domain.as_str()),
        key,
    );
    alert.cooldown_secs = COOLDOWN_SECS;

    let code = change.return_code.as_deref().unwrap_or("?");
    let meaning = code_meaning(&change.zone, code);
    let reason = change.reason.as_deref().map(value);
    let who = describe_host(&change.ip, ptr.as_deref(), service.as_deref());
    let mail = describe_mail(&domains);
    match change.direction {
        Direction::Listed => {
            alert.title = format!("{} is listed on {} ({code})", change.ip, change.zone);
            let mut summary = format!(
                "The DNS blocklist {} lists {who} with code {code}{}. {mail}",
                change.zone,
                meaning.map(|m| format!(" ({m})")).unwrap_or_default()
            );
            if !domains.is_empty() {
                summary.push_str(" Receivers that use this list may reject or junk that mail.");
            }
            if let Some(r) = &reason {
                summary.push_str(&format!(" The zone's reason: \"{r}\"."));
            }
            alert.summary = summary;
            alert.fix_steps = listed_steps(change, service.as_deref());
        }
        Direction::Delisted => {
            let since = change
                .listed_since
                .map(|t| format!(" since {} UTC", datetime(t)))
                .unwrap_or_default();
            alert.title = format!("{} is no longer listed on {}", change.ip, change.zone);
            alert.summary = format!(
                "The DNS blocklist {} no longer lists {who} (it was listed{since} with code {code}). {mail}",
                change.zone
            );
            alert.fix_steps = vec![
                format!("Nothing to do for the listing itself; if you fixed a cause (a compromised account, a bad list, an open relay), keep watching {} for a relapse.", change.ip),
                "Watch the DMARC pass rate and the delivery of this address's mail over the next days: reputation recovers slowly.".to_string(),
            ];
        }
    }
    alert.evidence = json!({
        "ip": change.ip,
        "zone": change.zone,
        "return_code": change.return_code,
        "return_code_meaning": meaning,
        "reason": reason,
        "ptr": ptr,
        "service": service,
        "sends_for": domains,
        "messages_last_7_days": domains.iter().map(|d| d.messages).sum::<u64>(),
        "listed_since": change.listed_since.map(datetime),
        "delisting_page": delisting_page(&change.zone),
    });
    Ok(alert)
}

/// `192.0.2.10 (o1.mail.example.net, SendGrid)`.
fn describe_host(ip: &str, ptr: Option<&str>, service: Option<&str>) -> String {
    let names: Vec<&str> = [ptr, service].into_iter().flatten().collect();
    if names.is_empty() {
        ip.to_string()
    } else {
        format!("{ip} ({})", names.join(", "))
    }
}

/// "It sent 1200 messages for example.com (98.0% passing DMARC) ... in the last 7 days."
fn describe_mail(domains: &[SendsFor]) -> String {
    if domains.is_empty() {
        return "It sent no mail for our domains in the last 7 days (as far as the reports show)."
            .to_string();
    }
    let parts: Vec<String> = domains
        .iter()
        .take(5)
        .map(|d| {
            format!(
                "{} messages for {} ({:.1}% passing DMARC)",
                d.messages,
                d.domain,
                d.pass_rate() * 100.0
            )
        })
        .collect();
    let more = domains.len().saturating_sub(5);
    let more = if more > 0 {
        format!(" and {more} more domains")
    } else {
        String::new()
    };
    format!("It sent {}{more} in the last 7 days.", parts.join(", "))
}

fn listed_steps(change: &Change, service: Option<&str>) -> Vec<String> {
    let mut steps = Vec::new();
    match service {
        Some(s) => steps.push(format!(
            "{} belongs to {s}: open a ticket with {s}; they handle listings of their sending addresses, or move your mail to another of their IP pools.",
            change.ip
        )),
        None => steps.push(format!(
            "Check the host at {} for compromise: unknown processes, a growing mail queue, logins or SMTP submissions from accounts that should not send, an open relay, a hacked web form or script.",
            change.ip
        )),
    }
    steps.push(
        "Find what sent the listed mail (the reason text or the zone's lookup page says what was seen) and stop it before asking for removal: a relisting is slower to clear."
            .to_string(),
    );
    steps.push(match delisting_page(&change.zone) {
        Some(page) => format!("Request removal at {page} (look up {}).", change.ip),
        None => format!(
            "Request removal on {}'s lookup page (search for \"{} removal\").",
            change.zone, change.zone
        ),
    });
    steps.push(
        "dmarcwatch checks again on the [blocklist] schedule (or now: dmarcwatch blocklist) and tells you when the listing ends."
            .to_string(),
    );
    steps
}
