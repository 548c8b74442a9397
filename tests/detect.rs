//! Detection on the scenarios of fixtures/alerts (a week of Google and
//! Yahoo reports for example.com, then one change each): exactly the
//! expected alerts with the expected evidence, nothing for approved
//! sources, a provider's IP churn or forwarded mail, the platform
//! migration named with its fix, policy and silence, unreadable inputs, a
//! flood grouped, and nothing raised twice.

mod support;

use support::scenario::{summary, World, CONFIG, D0, DAY};

/// The world after the baseline days, detection run once (its alerts returned).
fn after_baseline() -> (World, Vec<dmarcwatch::alert::StoredAlert>) {
    let mut w = World::new(CONFIG);
    w.ingest("baseline");
    let alerts = w.detect(D0 + 3 * DAY + 3600);
    (w, alerts)
}

#[test]
fn baseline_raises_only_the_unapproved_service_and_nothing_twice() {
    let (mut w, alerts) = after_baseline();
    // Own /24 and Google Workspace are approved; the forwarder is a
    // forwarder; Amazon SES is new and passes DMARC: info.
    assert_eq!(
        summary(&alerts),
        vec!["new_sender info new_sender:example.com:service:Amazon SES"]
    );
    let a = &alerts[0].alert;
    assert_eq!(
        a.title,
        "New sender for example.com: Amazon SES (540 messages, all pass DMARC)"
    );
    assert_eq!(a.evidence["messages"], 540);
    assert_eq!(a.evidence["dkim_aligned"], 540);
    assert_eq!(
        a.evidence["spf_pass_unaligned_domains"],
        serde_json::json!({})
    );
    assert_eq!(a.evidence["ptr_names"][0], "a8-10.smtp-out.amazonses.com");
    assert!(
        a.fix_steps
            .iter()
            .any(|s| s.contains("`dmarcwatch approve service:Amazon SES --domain example.com`")),
        "{:?}",
        a.fix_steps
    );
    // The same data an hour later: nothing new.
    assert!(w.detect(D0 + 3 * DAY + 7200).is_empty());
}

#[test]
fn approvals_are_what_keeps_own_sources_quiet() {
    // The same reports without approvals: own server and Google are news.
    let mut w = World::new("[[domain]]\nname = \"example.com\"\n");
    w.ingest("baseline");
    let mut keys = summary(&w.detect(D0 + 3 * DAY + 3600));
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "new_sender info new_sender:example.com:net:192.0.2.0/24",
            "new_sender info new_sender:example.com:service:Amazon SES",
            "new_sender info new_sender:example.com:service:Google Workspace",
        ]
    );
}

#[test]
fn new_failing_sender_gives_exactly_one_critical_alert_with_evidence() {
    let (mut w, _) = after_baseline();
    w.ingest("new-failing");
    let alerts = w.detect(D0 + 4 * DAY + 3600);
    assert_eq!(
        summary(&alerts),
        vec!["failing_sender critical failing_sender:example.com:net:203.0.113.0/24"]
    );
    let a = &alerts[0].alert;
    assert_eq!(a.domain.as_deref(), Some("example.com"));
    assert_eq!(
        a.title,
        "New sender 203.0.113.0/24 fails DMARC for example.com: 300 of 300 messages (100%)"
    );
    let e = &a.evidence;
    assert_eq!(e["messages"], 300);
    assert_eq!(e["dmarc_fail"], 300);
    assert_eq!(e["unauthenticated_failures"], 300);
    assert_eq!(e["fail_share"], 1.0);
    assert_eq!(e["new_sender"], true);
    assert_eq!(e["approved"], false);
    assert_eq!(e["ips"][0]["ip"], "203.0.113.66");
    assert_eq!(
        e["receivers"],
        serde_json::json!({"google.com": 200, "Yahoo": 100})
    );
    assert_eq!(e["fail_dispositions"], serde_json::json!({"reject": 300}));
    assert_eq!(e["first_seen"], "2025-12-04");
    assert!(a.summary.contains("address 203.0.113.66"), "{}", a.summary);
    assert!(
        a.summary.contains("google.com (200), Yahoo (100)"),
        "{}",
        a.summary
    );
    assert!(
        a.fix_steps[0].contains("203.0.113.0/24"),
        "{:?}",
        a.fix_steps
    );
    assert!(
        a.fix_steps
            .iter()
            .any(|s| s.contains("`dmarcwatch approve 203.0.113.0/24 --domain example.com`")),
        "{:?}",
        a.fix_steps
    );
    // Cool-down: the next run (the daemon's next pass) raises nothing.
    assert!(w.detect(D0 + 4 * DAY + 7200).is_empty());
}

#[test]
fn provider_churn_forwarders_and_approved_sources_raise_nothing() {
    let (mut w, _) = after_baseline();
    w.ingest("churn");
    let alerts = w.detect(D0 + 4 * DAY + 3600);
    assert_eq!(summary(&alerts), Vec::<String>::new());
    // The new addresses were seen and remembered with their groups.
    let known: i64 = w
        .store
        .conn()
        .query_row(
            "SELECT count(*) FROM detect_known_sources WHERE source_ip IN \
             ('209.85.220.99', '54.240.8.77', '198.51.100.77', '192.0.2.44', '203.0.113.200')",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(known, 5);
}

#[test]
fn platform_migration_names_the_route_what_is_unaligned_and_the_fix() {
    let (mut w, _) = after_baseline();
    w.ingest("migration");
    let alerts = w.detect(D0 + 4 * DAY + 3600);
    assert_eq!(
        summary(&alerts),
        vec!["alignment_drift critical alignment_drift:example.com:ptr:sendwave.example"]
    );
    let a = &alerts[0].alert;
    assert_eq!(
        a.title,
        "New sender sendwave.example sends as example.com unaligned: 2400 of 2400 messages (100%) fail DMARC"
    );
    for part in [
        // Most messages first: .21 (850), .20 (780), .22 (400), .23 (370).
        "4 addresses: 203.0.113.21, 203.0.113.20, 203.0.113.22 …",
        "reverse name o21.mta.sendwave.example",
        "SPF passed for bounces.sendwave.example (2400) and DKIM for sendwave.example (2400)",
        "not aligned with example.com",
        "Enterprise Outlook",
    ] {
        assert!(
            a.summary.contains(part),
            "missing {part:?} in {}",
            a.summary
        );
    }
    let e = &a.evidence;
    assert_eq!(e["ip_count"], 4);
    assert_eq!(
        e["spf_pass_unaligned_domains"],
        serde_json::json!({"bounces.sendwave.example": 2400})
    );
    assert_eq!(
        e["dkim_pass_unaligned_domains"],
        serde_json::json!({"sendwave.example": 2400})
    );
    assert_eq!(
        e["envelope_from"],
        serde_json::json!({"bounces.sendwave.example": 2400})
    );
    assert_eq!(e["grouped_by"], "reverse DNS (PTR) base domain");
    let steps = a.fix_steps.join("\n");
    for part in [
        "custom return-path (bounce domain) on sendwave.example under example.com",
        "now it passes for bounces.sendwave.example",
        "DKIM signing with your own domain on sendwave.example",
        "signed d=example.com; now it signs d=sendwave.example",
        "dmarc=pass header.from=example.com",
        "`dmarcwatch approve 203.0.113.0/24 --domain example.com`",
    ] {
        assert!(steps.contains(part), "missing {part:?} in {steps}");
    }
}

#[test]
fn policy_mismatch_and_testing_mode() {
    let (mut w, _) = after_baseline();
    w.ingest("policy");
    let mut keys = summary(&w.detect(D0 + 3 * DAY + 7200));
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "policy_mismatch warning policy_mismatch:example.com:p=none:t=n",
            "policy_mismatch warning policy_mismatch:example.com:p=reject:t=y",
        ]
    );
    // Without expected_policy only testing mode is worth saying, as info.
    let mut w = World::new("[[domain]]\nname = \"example.com\"\n");
    w.ingest("policy");
    let alerts = w.detect(D0 + 3 * DAY + 3600);
    let policy: Vec<String> = summary(&alerts)
        .into_iter()
        .filter(|s| s.starts_with("policy"))
        .collect();
    assert_eq!(
        policy,
        vec!["policy_mismatch info policy_mismatch:example.com:p=reject:t=y"]
    );
}

#[test]
fn a_receiver_that_goes_quiet_is_raised_once() {
    let (mut w, _) = after_baseline();
    w.ingest("silence");
    let alerts = w.detect(D0 + 7 * DAY + 3600);
    assert_eq!(
        summary(&alerts),
        vec![format!(
            "reporter_silent info reporter_silent:example.com:google.com:{}",
            D0 + 3 * DAY - 1
        )]
    );
    assert_eq!(
        alerts[0].alert.title,
        "google.com stopped sending DMARC reports for example.com (none for 4 days)"
    );
    assert!(w.detect(D0 + 7 * DAY + 7200).is_empty());
}

#[test]
fn every_receiver_quiet_is_one_alert_about_the_record_or_mailbox() {
    let (mut w, _) = after_baseline();
    let alerts = w.detect(D0 + 6 * DAY + 3600);
    assert_eq!(
        summary(&alerts),
        vec![format!(
            "reporter_silent warning reporter_silent:example.com:*:{}",
            D0 + 3 * DAY - 1
        )]
    );
    assert!(alerts[0].alert.fix_steps[0].contains("dig +short TXT _dmarc.example.com"));
    // Long after, the silence is history: nothing new.
    assert!(w.detect(D0 + 40 * DAY).is_empty());
}

#[test]
fn an_unreadable_input_says_what_failed_and_where_the_raw_is() {
    let mut w = World::new(CONFIG);
    w.ingest("broken-report.xml.gz");
    let alerts = w.detect(dmarcwatch::store::now());
    assert_eq!(
        summary(&alerts),
        vec!["report_unparsable warning report_unparsable:1"]
    );
    let a = &alerts[0].alert;
    assert_eq!(a.domain, None);
    assert!(a.title.contains("broken-report.xml.gz"), "{}", a.title);
    assert_eq!(a.evidence["error"], "gzip stream is truncated");
    assert_eq!(a.evidence["raw_kept"], true);
    assert!(
        a.fix_steps[1].contains("FROM failures WHERE id = 1"),
        "{:?}",
        a.fix_steps
    );
    assert!(w.detect(dmarcwatch::store::now()).is_empty());
}

/// A report with `n` unauthenticated sources in distinct /24s.
fn flood_report(n: usize, begin: i64) -> String {
    let records: String = (0..n)
        .map(|i| {
            format!(
                "<record><row><source_ip>10.{}.{}.9</source_ip><count>{}</count>\
                 <policy_evaluated><disposition>reject</disposition><dkim>fail</dkim>\
                 <spf>fail</spf></policy_evaluated></row><identifiers>\
                 <header_from>example.com</header_from></identifiers><auth_results>\
                 <spf><domain>example.com</domain><result>fail</result></spf>\
                 </auth_results></record>",
                i / 200,
                i % 200,
                50 + i
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>flood.example</org_name>\
         <email>x@flood.example</email><report_id>flood-1</report_id><date_range>\
         <begin>{begin}</begin><end>{}</end></date_range></report_metadata>\
         <policy_published><domain>example.com</domain><p>reject</p></policy_published>\
         {records}</feedback>",
        begin + DAY - 1
    )
}

#[test]
fn a_flood_of_failing_sources_is_five_alerts_and_one_summary() {
    let (mut w, _) = after_baseline();
    let path = w.dir.path().join("flood.xml");
    std::fs::write(&path, flood_report(40, D0 + 3 * DAY)).expect("write");
    let limits = dmarcwatch::extract::ExtractLimits::default();
    for unit in dmarcwatch::source::Units::new(&[path], limits.max_message_bytes) {
        w.store
            .ingest_unit(unit.expect("unit"), &limits)
            .expect("ingest");
    }
    let alerts = w.detect(D0 + 4 * DAY + 3600);
    assert_eq!(alerts.len(), 6, "{:#?}", summary(&alerts));
    // The five largest on their own (sources 39..35: 89..85 messages).
    let first: Vec<(&str, u64)> = alerts[..5]
        .iter()
        .map(|a| {
            (
                a.alert.kind.as_str(),
                a.alert.evidence["messages"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        first,
        [89, 88, 87, 86, 85].map(|n| ("failing_sender", n)).to_vec()
    );
    let more = &alerts[5].alert;
    assert_eq!(more.title, "35 more failing sender alerts for example.com");
    assert_eq!(more.evidence["count"], 35);
    let covered: i64 = w
        .store
        .conn()
        .query_row(
            "SELECT count(*) FROM alert_keys WHERE alert = ?1",
            [&alerts[5].id],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(covered, 36, "its own key and the 35 it speaks for");
    // Every one of the 40 is cooling down now: the next run is silent.
    assert!(w.detect(D0 + 4 * DAY + 7200).is_empty());
}
