//! An alert in words for people: the subject line, the plain-text body
//! (e-mail text part, standard output) and the HTML body. The evidence
//! JSON is flattened into labelled lines ([`evidence_lines`]) that Slack
//! reuses. Every report-derived value is escaped here for HTML; the text
//! forms carry values already cleaned to one line by detection.

use super::escape::{domain_label, header, html};
use super::{Kind, StoredAlert};
use serde_json::Value;

/// Lines of one evidence list are cut after this many entries.
const MAX_LIST: usize = 15;

/// `[dmarcwatch] Warning: alignment drift for example.com`: built from the
/// kind, the severity and the domain's name characters only, never from
/// report text.
pub fn subject(a: &StoredAlert) -> String {
    let domain = domain_label(a.alert.domain.as_deref());
    let line = match a.alert.kind {
        Kind::Digest => format!("[dmarcwatch] Weekly DMARC digest for {domain}"),
        kind => format!(
            "[dmarcwatch] {}: {} for {domain}",
            a.alert.severity.label(),
            kind.label()
        ),
    };
    header(&line)
}

/// `Warning · alignment drift · example.com`.
pub fn tagline(a: &StoredAlert) -> String {
    format!(
        "{} · {} · {}",
        a.alert.severity.label(),
        a.alert.kind.label(),
        domain_label(a.alert.domain.as_deref())
    )
}

/// `Event 0123… · 2026-12-04T15:00:00Z · dmarcwatch`.
pub fn footer(a: &StoredAlert) -> String {
    format!("Event {} · {} · dmarcwatch", a.id, a.created_rfc3339())
}

/// The plain-text body.
pub fn text(a: &StoredAlert) -> String {
    let mut out = format!("{}\n{}\n\n{}\n", tagline(a), a.alert.title, a.alert.summary);
    if !a.alert.fix_steps.is_empty() {
        out.push_str("\nWhat to do:\n");
        for (i, step) in a.alert.fix_steps.iter().enumerate() {
            out.push_str(&format!("  {}. {step}\n", i + 1));
        }
    }
    let lines = evidence_lines(&a.alert.evidence);
    if !lines.is_empty() {
        out.push_str("\nEvidence:\n");
        for (label, value) in lines {
            out.push_str(&format!("  {label}: {value}\n"));
        }
    }
    out.push_str(&format!("\n{}\n", footer(a)));
    out
}

/// The HTML body: every value escaped.
pub fn html_body(a: &StoredAlert) -> String {
    let color = match a.alert.severity {
        super::Severity::Critical => "#b00020",
        super::Severity::Warning => "#b26a00",
        super::Severity::Info => "#2a5db0",
    };
    let mut out = String::from(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif;max-width:44em\">\n",
    );
    out.push_str(&format!(
        "<p style=\"color:{color};font-weight:bold\">{}</p>\n<h2>{}</h2>\n<p>{}</p>\n",
        html(&tagline(a)),
        html(&a.alert.title),
        html(&a.alert.summary).replace('\n', "<br>\n")
    ));
    if !a.alert.fix_steps.is_empty() {
        out.push_str("<h3>What to do</h3>\n<ol>\n");
        for step in &a.alert.fix_steps {
            out.push_str(&format!("<li>{}</li>\n", html(step)));
        }
        out.push_str("</ol>\n");
    }
    let lines = evidence_lines(&a.alert.evidence);
    if !lines.is_empty() {
        out.push_str("<h3>Evidence</h3>\n<table cellpadding=\"3\">\n");
        for (label, value) in lines {
            out.push_str(&format!(
                "<tr><th align=\"left\" valign=\"top\">{}</th><td>{}</td></tr>\n",
                html(&label),
                html(&value)
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str(&format!(
        "<p style=\"color:#777;font-size:small\">{}</p>\n</body></html>\n",
        html(&footer(a))
    ));
    out
}

/// Evidence keys shown first, in this order (the rest follow by name):
/// what sends, how much fails, for which domains, who says so, when.
const FIRST: [&str; 14] = [
    "source",
    "org_name",
    "ips",
    "messages",
    "dmarc_fail",
    "fail_share",
    "spf_pass_unaligned_domains",
    "dkim_pass_unaligned_domains",
    "envelope_from",
    "receivers",
    "fail_dispositions",
    "first_seen",
    "last_report_end",
    "error",
];

/// The evidence object as `(label, value)` lines, the telling keys first:
/// numbers and names as they are, shares as percentages, `{name: count}`
/// maps as `name (count)` largest first, lists cut after [`MAX_LIST`].
pub fn evidence_lines(evidence: &Value) -> Vec<(String, String)> {
    let Value::Object(map) = evidence else {
        return Vec::new();
    };
    let rank = |k: &str| FIRST.iter().position(|f| *f == k).unwrap_or(FIRST.len());
    let mut keys: Vec<&String> = map.keys().filter(|k| !is_empty(&map[*k])).collect();
    keys.sort_by_key(|k| (rank(k), k.as_str()));
    keys.into_iter()
        .map(|k| (k.replace('_', " "), value_text(k, &map[k])))
        .collect()
}

/// The first `max` lines that say something (no zeros, no `false`), for
/// small screens; the last line says how many more there are.
pub fn key_evidence_lines(evidence: &Value, max: usize) -> Vec<(String, String)> {
    let telling: Vec<(String, String)> = evidence_lines(evidence)
        .into_iter()
        .filter(|(_, v)| !matches!(v.as_str(), "0" | "false" | "0.0%"))
        .collect();
    let total = telling.len();
    let mut lines: Vec<(String, String)> = telling.into_iter().take(max).collect();
    if total > max {
        lines.push((
            "…".into(),
            format!("{} more in the full alert", total - max),
        ));
    }
    lines
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// Keys that name what an object in a list is about: shown first, bare.
const IDENTIFYING: [&str; 4] = ["ip", "org_name", "title", "severity"];

fn value_text(key: &str, v: &Value) -> String {
    match v {
        Value::Number(n) if key.ends_with("share") || key.ends_with("rate") => n
            .as_f64()
            .map(|f| format!("{:.1}%", f * 100.0))
            .unwrap_or_else(|| n.to_string()),
        Value::Array(items) => join_cut(items.iter().map(|i| value_text("", i)).collect()),
        Value::Object(map) if map.values().all(|v| v.is_u64()) => {
            let mut pairs: Vec<(&String, f64)> = map
                .iter()
                .map(|(k, v)| (k, v.as_f64().unwrap_or(0.0)))
                .collect();
            pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            join_cut(
                pairs
                    .into_iter()
                    .map(|(k, _)| format!("{k} ({})", map[k]))
                    .collect(),
            )
        }
        Value::Object(map) => {
            let name: Vec<String> = IDENTIFYING
                .iter()
                .filter_map(|k| map.get(*k).filter(|v| !is_empty(v)))
                .map(|v| value_text("", v))
                .collect();
            let rest: Vec<String> = map
                .iter()
                .filter(|(k, v)| !is_empty(v) && !IDENTIFYING.contains(&k.as_str()))
                .map(|(k, v)| format!("{}: {}", k.replace('_', " "), value_text(k, v)))
                .collect();
            match (name.is_empty(), rest.is_empty()) {
                (true, _) => rest.join(", "),
                (false, true) => name.join(" "),
                (false, false) => format!("{} ({})", name.join(" "), rest.join(", ")),
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join_cut(items: Vec<String>) -> String {
    let total = items.len();
    let mut shown: Vec<String> = items.into_iter().take(MAX_LIST).collect();
    if total > MAX_LIST {
        shown.push(format!("… and {} more", total - MAX_LIST));
    }
    if shown.iter().any(|s| s.contains(": ")) {
        shown.join("; ")
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn evidence_reads_like_a_list() {
        let lines = evidence_lines(&json!({
            "fail_share": 0.25,
            "receivers": {"google.com": 3, "yahoo.com": 9},
            "ips": [{"ip": "192.0.2.1", "messages": 4, "ptr": null},
                    {"ip": "192.0.2.2", "messages": 2, "ptr": "a.example"}],
            "source": {"name": "esp.example", "service": null},
            "thresholds": {"min_messages": 20, "failure_warn": 0.02},
            "nothing": null,
            "no_domains": {},
        }));
        assert_eq!(
            lines,
            vec![
                ("source".to_string(), "name: esp.example".to_string()),
                (
                    "ips".into(),
                    "192.0.2.1 (messages: 4); 192.0.2.2 (messages: 2, ptr: a.example)".into()
                ),
                ("fail share".into(), "25.0%".into()),
                ("receivers".into(), "yahoo.com (9), google.com (3)".into()),
                (
                    "thresholds".into(),
                    "failure warn: 0.02, min messages: 20".into()
                ),
            ]
        );
    }
}
