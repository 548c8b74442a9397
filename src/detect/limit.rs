//! At most [`MAX_PER_KIND`] alerts per domain and kind in one detection
//! run, the most severe first (then the most messages); the others become
//! one alert that lists them and covers their keys, so a flood of reports
//! cannot flood the channels. Alerts are folded as they arrive: only the
//! kept ones are held whole, the rest as a line each.

use super::MAX_PER_KIND;
use crate::alert::{Alert, Kind, Severity};
use serde_json::json;
use std::cmp::Reverse;

/// Most severe first, then most messages, then first found.
type Rank = (Reverse<Severity>, Reverse<u64>, usize);

/// What the "and N more" alert keeps of an alert it covers.
struct Folded {
    severity: Severity,
    title: String,
    key: String,
}

/// The alerts of one domain and kind.
struct Bucket {
    domain: Option<String>,
    kind: Kind,
    /// At most [`MAX_PER_KIND`], best rank first.
    top: Vec<(Rank, Alert)>,
    rest: Vec<(Rank, Folded)>,
}

/// Alerts of one run, bucketed by (domain, kind) in order of first
/// appearance.
#[derive(Default)]
pub struct Limiter {
    buckets: Vec<Bucket>,
    found: usize,
}

impl Limiter {
    pub fn push(&mut self, alert: Alert) {
        let messages = alert.evidence["messages"].as_u64().unwrap_or(0);
        let rank = (Reverse(alert.severity), Reverse(messages), self.found);
        self.found += 1;
        let at = match self
            .buckets
            .iter()
            .position(|b| b.domain == alert.domain && b.kind == alert.kind)
        {
            Some(at) => at,
            None => {
                self.buckets.push(Bucket {
                    domain: alert.domain.clone(),
                    kind: alert.kind,
                    top: Vec::new(),
                    rest: Vec::new(),
                });
                self.buckets.len() - 1
            }
        };
        let bucket = &mut self.buckets[at];
        let place = bucket.top.partition_point(|(r, _)| *r < rank);
        bucket.top.insert(place, (rank, alert));
        if bucket.top.len() > MAX_PER_KIND {
            if let Some((rank, a)) = bucket.top.pop() {
                let folded = Folded {
                    severity: a.severity,
                    title: a.title,
                    key: a.key,
                };
                bucket.rest.push((rank, folded));
            }
        }
    }

    /// The alerts to queue: per bucket its kept alerts, then one alert for
    /// the rest when there are any.
    pub fn finish(self, now: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for mut b in self.buckets {
            out.extend(b.top.into_iter().map(|(_, a)| a));
            if !b.rest.is_empty() {
                b.rest.sort_by_key(|(rank, _)| *rank);
                let rest = b.rest.into_iter().map(|(_, f)| f).collect();
                out.push(grouped(b.domain.as_deref(), b.kind, rest, now));
            }
        }
        out
    }
}

fn grouped(domain: Option<&str>, kind: Kind, rest: Vec<Folded>, now: i64) -> Alert {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(domain: &str, kind: Kind, severity: Severity, messages: u64, n: usize) -> Alert {
        let mut a = Alert::new(kind, severity, Some(domain), format!("k{n}"));
        a.title = format!("t{n}");
        a.evidence = json!({ "messages": messages });
        a
    }

    #[test]
    fn keeps_the_worst_five_per_domain_and_kind_and_folds_the_rest_in_rank_order() {
        let mut limiter = Limiter::default();
        // example.com failing senders, found in no particular order.
        let found = [
            (Severity::Warning, 10),
            (Severity::Critical, 5),
            (Severity::Warning, 50),
            (Severity::Critical, 7),
            (Severity::Warning, 10),
            (Severity::Info, 99),
            (Severity::Critical, 1),
            (Severity::Warning, 30),
        ];
        for (n, (sev, messages)) in found.into_iter().enumerate() {
            limiter.push(alert("example.com", Kind::FailingSender, sev, messages, n));
        }
        limiter.push(alert(
            "example.net",
            Kind::FailingSender,
            Severity::Info,
            1,
            8,
        ));
        limiter.push(alert("example.com", Kind::NewSender, Severity::Info, 1, 9));
        let out = limiter.finish(1_000);
        let keys: Vec<&str> = out.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "k3",
                "k1",
                "k6",
                "k2",
                "k7", // critical by messages, then warnings
                "failing_sender:example.com:more:1000",
                "k8", // example.net
                "k9", // new_sender for example.com
            ]
        );
        let more = &out[5];
        // Equal rank (warning, 10 messages): first found first.
        assert_eq!(more.covers, ["k0", "k4", "k5"]);
        assert_eq!(more.severity, Severity::Warning);
        assert_eq!(more.title, "3 more failing sender alerts for example.com");
    }
}
