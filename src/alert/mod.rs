//! Alerts: what detection (and the blocklist checks) found, worth a person's
//! attention. An [`Alert`] is stored in the outbox before anything is sent
//! ([`outbox::enqueue`]); [`deliver::deliver_due`] then hands it to each
//! configured channel (e-mail, webhook, Slack, or standard output when none
//! is configured) with retries, and records what was delivered.
//!
//! Every value that came from a report is untrusted: detection cleans it to
//! one bounded line ([`escape::clean`]) and each channel escapes it for its
//! own syntax (HTML, Slack mrkdwn, e-mail headers).

pub mod channel;
pub mod deliver;
pub mod digest;
pub mod email;
pub mod escape;
pub mod jobs;
pub mod outbox;
pub mod render;
pub mod slack;
pub mod webhook;

pub use crate::config::Severity;
use serde::{Deserialize, Serialize};

/// The kinds of the interface spec, as they appear in payloads and `v_alerts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NewSender,
    FailingSender,
    AlignmentDrift,
    PolicyMismatch,
    ReporterSilent,
    ReportUnparsable,
    BlocklistListed,
    BlocklistDelisted,
    Digest,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::NewSender,
        Kind::FailingSender,
        Kind::AlignmentDrift,
        Kind::PolicyMismatch,
        Kind::ReporterSilent,
        Kind::ReportUnparsable,
        Kind::BlocklistListed,
        Kind::BlocklistDelisted,
        Kind::Digest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NewSender => "new_sender",
            Kind::FailingSender => "failing_sender",
            Kind::AlignmentDrift => "alignment_drift",
            Kind::PolicyMismatch => "policy_mismatch",
            Kind::ReporterSilent => "reporter_silent",
            Kind::ReportUnparsable => "report_unparsable",
            Kind::BlocklistListed => "blocklist_listed",
            Kind::BlocklistDelisted => "blocklist_delisted",
            Kind::Digest => "digest",
        }
    }

    /// Words for people: "failing sender".
    pub fn label(self) -> &'static str {
        match self {
            Kind::NewSender => "new sender",
            Kind::FailingSender => "failing sender",
            Kind::AlignmentDrift => "alignment drift",
            Kind::PolicyMismatch => "policy mismatch",
            Kind::ReporterSilent => "reporter silent",
            Kind::ReportUnparsable => "unreadable report",
            Kind::BlocklistListed => "blocklisted",
            Kind::BlocklistDelisted => "delisted",
            Kind::Digest => "weekly digest",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// "Warning" for the start of a line.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "Info",
            Severity::Warning => "Warning",
            Severity::Critical => "Critical",
        }
    }
}

/// How long the same alert key stays quiet unless its severity rises.
pub const DEFAULT_COOLDOWN_SECS: i64 = 7 * 86400;

/// One alert, before it is stored. Build it with [`Alert::new`] and fill in
/// the text; `key` decides the cool-down ("failing_sender:example.com:
/// ptr:esp.example"): an alert whose key (or one of `covers`) was raised
/// within `cooldown_secs` at the same or a higher severity is not stored again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: Kind,
    pub severity: Severity,
    /// The policy domain it is about; `None` when no domain is known
    /// (an input that yielded no report).
    pub domain: Option<String>,
    /// One line.
    pub title: String,
    /// A few sentences a person can act on.
    pub summary: String,
    /// Kind-specific numbers, addresses, names, dates (JSON object).
    pub evidence: serde_json::Value,
    /// Concrete steps, in order.
    pub fix_steps: Vec<String>,
    #[serde(skip)]
    pub key: String,
    /// Further keys this alert speaks for (a grouped "and 12 more" alert).
    #[serde(skip)]
    pub covers: Vec<String>,
    #[serde(skip)]
    pub cooldown_secs: i64,
}

impl Alert {
    pub fn new(kind: Kind, severity: Severity, domain: Option<&str>, key: String) -> Alert {
        Alert {
            kind,
            severity,
            domain: domain.map(str::to_string),
            title: String::new(),
            summary: String::new(),
            evidence: serde_json::Value::Object(Default::default()),
            fix_steps: Vec::new(),
            key,
            covers: Vec::new(),
            cooldown_secs: DEFAULT_COOLDOWN_SECS,
        }
    }
}

/// An alert as stored in the outbox: with its stable id (the
/// `X-Dmarcwatch-Event-Id` every retry repeats) and creation time.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub id: String,
    pub created_at: i64,
    pub alert: Alert,
}

impl StoredAlert {
    /// `2026-12-04T15:00:00Z`.
    pub fn created_rfc3339(&self) -> String {
        rfc3339(self.created_at)
    }
}

/// Epoch seconds → `2026-12-04T15:00:00Z`.
pub fn rfc3339(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}
