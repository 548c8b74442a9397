//! The Slack channel: an incoming webhook with a Block Kit message made to
//! be read on a phone: a header (severity, kind, domain), the title and
//! summary, the fix steps, the evidence as a short list, and the event id.
//! Every text is escaped for mrkdwn (`&`, `<`, `>`; bare @channel/@here
//! broken) and marked `verbatim`, so nothing from a report becomes a link,
//! a mention or markup; every block stays within Slack's size limits.

use super::channel::{head, http_client, post_json, SendError};
use super::escape::{clean, slack};
use super::render::{footer, key_evidence_lines, tagline};
use super::{Severity, StoredAlert};
use serde_json::{json, Value};

/// Slack's limit for a section's text is 3000 characters; stay below it.
const SECTION_CHARS: usize = 2900;
/// Evidence lines shown in Slack (the full evidence is in the e-mail and
/// webhook payload).
const EVIDENCE_LINES: usize = 10;
/// A header's plain text: at most 150 characters.
const HEADER_CHARS: usize = 150;

pub struct SlackSender {
    client: reqwest::Client,
    url: reqwest::Url,
}

fn mrkdwn(text: String) -> Value {
    json!({"type": "mrkdwn", "text": text, "verbatim": true})
}

/// Escaped lines joined under a bold heading, cut at whole lines to fit.
fn section(heading: &str, lines: impl IntoIterator<Item = String>) -> Value {
    let mut text = if heading.is_empty() {
        String::new()
    } else {
        format!("*{heading}*")
    };
    for line in lines {
        let line = slack(&clean(&line, 600));
        if text.chars().count() + line.chars().count() + 1 > SECTION_CHARS {
            text.push_str("\n…");
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line);
    }
    json!({"type": "section", "text": mrkdwn(text)})
}

/// The Block Kit message for one alert.
pub fn payload(a: &StoredAlert) -> Value {
    let icon = match a.alert.severity {
        Severity::Critical => "🔴",
        Severity::Warning => "🟠",
        Severity::Info => "🔵",
    };
    let header = clean(&format!("{icon} {}", tagline(a)), HEADER_CHARS);
    let title = slack(&clean(&a.alert.title, 300));
    let summary_lines = a.alert.summary.lines().map(str::to_string);
    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": true}}),
        json!({"type": "section", "text": mrkdwn(format!("*{title}*"))}),
        section("", summary_lines),
    ];
    if !a.alert.fix_steps.is_empty() {
        let steps = a
            .alert
            .fix_steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1));
        blocks.push(section("What to do", steps));
    }
    let evidence: Vec<String> = key_evidence_lines(&a.alert.evidence, EVIDENCE_LINES)
        .into_iter()
        .map(|(label, value)| format!("• {label}: {value}"))
        .collect();
    if !evidence.is_empty() {
        blocks.push(section("Evidence", evidence));
    }
    blocks.push(json!({"type": "context", "elements": [mrkdwn(slack(&footer(a)))]}));
    json!({
        "text": format!("{} — {}", clean(&tagline(a), 100), title),
        "blocks": blocks,
    })
}

impl SlackSender {
    pub fn new(url: reqwest::Url) -> Result<SlackSender, String> {
        Ok(SlackSender {
            client: http_client()?,
            url,
        })
    }

    pub fn describe(&self) -> String {
        format!("Slack webhook at {}", self.url.host_str().unwrap_or("?"))
    }

    /// Reach the URL without posting anything (`check-config`).
    pub async fn reach(&self) -> Result<String, String> {
        head(&self.client, &self.url).await
    }

    pub async fn send(&self, alert: &StoredAlert) -> Result<(), SendError> {
        let body = payload(alert).to_string().into_bytes();
        let id = [(super::webhook::EVENT_ID_HEADER, alert.id.clone())];
        post_json(&self.client, &self.url, body, &id).await
    }
}
