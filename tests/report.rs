//! The aggregate-report parser against fixtures/report/: one small,
//! hand-written fixture per real-world quirk (byte-level ones are written by
//! `python3 fixtures/report/make.py`), each test checking the parsed values.

use dmarcwatch::report::{
    parse_all, Collect, DkimResult, Format, ParseOptions, Policy, Reason, Record, Report,
    ReportError, ReportHeader, SpfResult,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::Command;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/report")
        .join(name)
}

fn parse_with(name: &str, options: &ParseOptions) -> Vec<Result<Report, ReportError>> {
    let path = fixture_path(name);
    let file = File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_all(BufReader::new(file), options)
}

fn parse(name: &str) -> Vec<Result<Report, ReportError>> {
    parse_with(name, &ParseOptions::default())
}

/// The one report of a fixture that must parse.
fn one(name: &str) -> Report {
    let mut reports = parse(name);
    assert_eq!(reports.len(), 1, "{name}: {reports:?}");
    reports.remove(0).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The one error of a fixture that must not parse.
fn error(name: &str) -> ReportError {
    let mut reports = parse(name);
    assert_eq!(reports.len(), 1, "{name}: {reports:?}");
    match reports.remove(0) {
        Err(e) => e,
        Ok(r) => panic!("{name}: parsed, expected an error: {r:?}"),
    }
}

/// `Some` text, as a `String` or a `Keyword` field wants it.
fn s<T: From<String>>(v: &str) -> Option<T> {
    Some(T::from(v.to_string()))
}

fn dkim(domain: &str, selector: Option<&str>, result: &str) -> DkimResult {
    DkimResult {
        domain: s(domain),
        selector: selector.map(str::to_string),
        result: s(result),
        human_result: None,
    }
}

fn spf(domain: Option<&str>, scope: Option<&str>, result: &str) -> SpfResult {
    SpfResult {
        domain: domain.map(str::to_string),
        scope: scope.and_then(s),
        result: s(result),
        human_result: None,
    }
}

/// A record with the policy_evaluated triple and header_from set.
fn record(ip: &str, count: u64, disposition: &str, dkim: &str, spf: &str) -> Record {
    Record {
        source_ip: s(ip),
        count,
        disposition: s(disposition),
        dkim: s(dkim),
        spf: s(spf),
        header_from: s("example.com"),
        ..Record::default()
    }
}

/// A header with the defaults most fixtures share (example.com, p=none,
/// 1700000000 .. 1700086399, RFC 7489, e-mail `dmarc@<org_name>`).
fn header(org_name: &str, report_id: &str) -> ReportHeader {
    ReportHeader {
        format: Format::Rfc7489,
        org_name: org_name.to_string(),
        email: Some(format!("dmarc@{org_name}")),
        extra_contact_info: None,
        report_id: report_id.to_string(),
        begin: 1_700_000_000,
        end: 1_700_086_399,
        generator: None,
        errors: Vec::new(),
        policy: Policy {
            domain: "example.com".into(),
            p: s("none"),
            ..Policy::default()
        },
    }
}

fn messages(report: &Report) -> u64 {
    report.records.iter().map(|r| r.count).sum()
}

fn assert_warning(report: &Report, phrase: &str) {
    assert!(
        report.warnings.iter().any(|w| w.contains(phrase)),
        "no warning containing {phrase:?} in {:?}",
        report.warnings
    );
}

/// The two records of every report written by make.py.
fn make_py_records() -> Vec<Record> {
    let mut first = record("192.0.2.221", 2, "none", "pass", "fail");
    first.dkim_results = vec![dkim("example.com", Some("s"), "pass")];
    let mut second = record("192.0.2.222", 1, "none", "fail", "pass");
    second.spf_results = vec![spf(Some("example.com"), Some("mfrom"), "pass")];
    vec![first, second]
}

fn make_py_header(org_name: &str, report_id: &str) -> ReportHeader {
    ReportHeader {
        email: s("dmarc@bytes.example.net"),
        ..header(org_name, report_id)
    }
}

/// The two records of the baseline fixture.
fn baseline_records() -> Vec<Record> {
    let mut first = record("192.0.2.10", 3, "none", "pass", "fail");
    first.reasons = vec![Reason {
        kind: s("forwarded"),
        comment: s("arc=pass"),
    }];
    first.envelope_from = s("bounce.example.org");
    first.dkim_results = vec![dkim("example.com", Some("s2023"), "pass")];
    first.spf_results = vec![spf(Some("bounce.example.org"), Some("mfrom"), "softfail")];
    // Given as 2001:0DB8:0000:...:00A1: kept in canonical form.
    let mut second = record("2001:db8::a1", 1, "quarantine", "fail", "fail");
    second.envelope_to = s("receiver.example.net");
    second.spf_results = vec![spf(Some("example.com"), Some("mfrom"), "fail")];
    vec![first, second]
}

#[test]
fn rfc7489_baseline_two_records_ipv4_and_ipv6() {
    let report = one("rfc7489-baseline.xml");
    let expected = ReportHeader {
        email: s("dmarc-reports@receiver.example.net"),
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("s"),
            p: s("quarantine"),
            sp: s("none"),
            pct: Some(100),
            fo: s("1"),
            ..Policy::default()
        },
        ..header("receiver.example.net", "baseline-0001")
    };
    assert_eq!(report.header, expected);
    assert_eq!(report.records, baseline_records());
    assert_eq!(messages(&report), 4);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn rfc9990_namespace_new_elements_and_ignored_extensions() {
    let report = one("rfc9990-namespace-and-new-elements.xml");
    let expected = ReportHeader {
        format: Format::Rfc9990,
        extra_contact_info: s("https://mx.example.net/dmarc"),
        begin: 1_780_000_000,
        end: 1_780_086_400,
        generator: s("ExampleMTA 4.2"),
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("s"),
            aspf: s("r"),
            p: s("reject"),
            sp: s("quarantine"),
            np: s("reject"),
            pct: None,
            fo: None,
            testing: s("y"),
            discovery_method: s("treewalk"),
        },
        ..header("mx.example.net", "9990-abc")
    };
    assert_eq!(report.header, expected);
    // The <record> inside <extensions> and the <count>/<domain> of the
    // record's own <extensions> are not report data.
    let mut expected_record = record("198.51.100.7", 12, "pass", "pass", "pass");
    expected_record.envelope_to = s("mx.example.net");
    expected_record.envelope_from = s("example.com");
    expected_record.dkim_results = vec![DkimResult {
        human_result: s("signature verified"),
        ..dkim("example.com", Some("k1"), "pass")
    }];
    expected_record.spf_results = vec![SpfResult {
        human_result: s("bestanden"),
        ..spf(Some("example.com"), Some("mfrom"), "pass")
    }];
    assert_eq!(report.records, vec![expected_record]);
    // Disposition "pass" is an RFC 9990 value: no warning.
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn aol_draft_namespace_with_ns1_prefix() {
    let report = one("aol-draft-namespace-ns1-prefix.xml");
    let expected = ReportHeader {
        email: s("postmaster@aol.example"),
        end: 1_700_086_400,
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("r"),
            p: s("reject"),
            pct: Some(100),
            ..Policy::default()
        },
        ..header("AOL", "example.com_1700000000")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.33", 4, "none", "pass", "pass");
    r.dkim_results = vec![dkim("example.com", None, "pass")];
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn microsoft_xsd_xsi_declarations_version_1_0() {
    let report = one("microsoft-xsd-xsi-declarations.xml");
    let expected = ReportHeader {
        email: s("dmarcreport@microsoft.example"),
        begin: 1_700_092_800,
        end: 1_700_179_200,
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("r"),
            p: s("none"),
            sp: s("none"),
            pct: Some(100),
            fo: s("0"),
            ..Policy::default()
        },
        ..header("Enterprise Outlook", "0f3c8f6a1b2d4e5f9a7b6c5d4e3f2a1b")
    };
    assert_eq!(report.header, expected);
    let mut r = record("198.51.100.20", 2, "none", "fail", "pass");
    r.envelope_to = s("outlook.example");
    r.envelope_from = s("example.com");
    r.spf_results = vec![spf(Some("example.com"), Some("mfrom"), "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn yahoo_without_version_element() {
    let report = one("yahoo-missing-version.xml");
    let expected = ReportHeader {
        email: s("dmarchelp@yahoo.example"),
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("r"),
            p: s("none"),
            pct: Some(100),
            ..Policy::default()
        },
        ..header("Yahoo", "1700000000.123456")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.44", 1, "none", "pass", "pass");
    r.dkim_results = vec![dkim("example.com", Some("y1"), "pass")];
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn upper_case_names_and_values_are_lower_cased() {
    let report = one("case-variants-upper-case.xml");
    let expected = ReportHeader {
        // Free text keeps its case; domains and enumerations are lower-cased.
        email: s("dmarc@upper.example.net"),
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("s"),
            p: s("reject"),
            sp: s("none"),
            pct: Some(100),
            ..Policy::default()
        },
        ..header("Upper.Example.NET", "CASE-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.55", 6, "none", "pass", "fail");
    r.dkim_results = vec![dkim("example.com", Some("Sel1"), "temperror")];
    r.spf_results = vec![spf(Some("example.com"), Some("mfrom"), "none")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn non_rfc_values_are_kept_lower_cased_with_warnings() {
    let report = one("non-rfc-values.xml");
    assert_eq!(report.header, header("odd.example.net", "odd-values-1"));
    let mut first = record("192.0.2.61", 2, "none", "fail", "fail");
    first.dkim_results = vec![dkim("example.com", Some("a"), "hardfail")];
    first.spf_results = vec![spf(Some("example.com"), Some("mfrom"), "error")];
    let mut second = record("192.0.2.62", 1, "none", "unknown", "fail");
    second.dkim_results = vec![dkim("example.com", None, "unknown")];
    second.spf_results = vec![spf(Some("example.com"), None, "fail")];
    assert_eq!(report.records, vec![first, second]);
    assert_eq!(
        report.warnings,
        vec![
            r#"record 1: unknown dkim result "hardfail" kept as is"#,
            r#"record 1: unknown spf result "error" kept as is"#,
            r#"record 2: unknown policy_evaluated dkim "unknown" kept as is"#,
            r#"record 2: unknown dkim result "unknown" kept as is"#,
        ]
    );
}

#[test]
fn empty_elements_are_absent_values_and_org_name_falls_back_to_email() {
    let report = one("empty-elements.xml");
    let expected = ReportHeader {
        // <org_name></org_name>: the e-mail's domain, lower-cased.
        email: s("noreply-dmarc@Mail.Example.ORG"),
        // <adkim/>, <sp/>, <pct></pct>: absent.
        ..header("mail.example.org", "empty-elements-1")
    };
    assert_eq!(report.header, expected);
    // <reason><type/></reason> says nothing and <auth_results/> holds nothing.
    let r = record("192.0.2.71", 5, "none", "fail", "fail");
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn no_org_name_nor_email_uses_the_reporter_hint() {
    let options = ParseOptions {
        reporter_hint: s("hint.example"),
        ..ParseOptions::default()
    };
    let mut reports = parse_with("no-org-name-no-email.xml", &options);
    assert_eq!(reports.len(), 1);
    let report = reports.remove(0).expect("parsed with a hint");
    let expected = ReportHeader {
        email: None,
        ..header("hint.example", "anonymous-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.72", 1, "none", "pass", "pass");
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);

    // Without the hint there is no reporter: a clear error, not a guess.
    match error("no-org-name-no-email.xml") {
        ReportError::Missing { what, report_id } => {
            assert!(what.contains("org_name"), "{what}");
            assert_eq!(report_id.as_deref(), Some("anonymous-1"));
        }
        other => panic!("unexpected error {other:?}"),
    }
}

#[test]
fn godaddy_record_without_source_ip_is_kept_with_a_warning() {
    let report = one("godaddy-no-source-ip.xml");
    assert_eq!(report.header, header("secureserver.example", "gd-no-ip-1"));
    let mut r = record("unused", 8, "none", "pass", "fail");
    r.source_ip = None;
    r.dkim_results = vec![dkim("example.com", Some("gd"), "pass")];
    assert_eq!(report.records, vec![r]);
    assert_eq!(report.warnings, vec!["record 1: no <source_ip>"]);
}

#[test]
fn missing_envelope_from_spf_domain_and_dkim_selector() {
    let report = one("missing-optional-fields.xml");
    let expected = ReportHeader {
        policy: Policy {
            domain: "example.com".into(),
            p: s("quarantine"),
            ..Policy::default()
        },
        ..header("mail-dmarc.example.net", "optional-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("198.51.100.81", 2, "quarantine", "fail", "fail");
    r.dkim_results = vec![dkim("example.com", None, "fail")];
    r.spf_results = vec![spf(None, Some("helo"), "none")];
    assert_eq!(r.envelope_from, None);
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn several_dkim_and_spf_results_are_all_kept_in_order() {
    let report = one("several-dkim-and-spf-results.xml");
    let expected = ReportHeader {
        email: s("noreply-dmarc-support@google.example"),
        ..header("google.example", "multi-auth-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.91", 10, "none", "pass", "pass");
    r.dkim_results = vec![
        dkim("example.com", Some("one"), "pass"),
        dkim("esp.example.net", Some("two"), "fail"),
        dkim("third.example.org", Some("three"), "neutral"),
    ];
    r.spf_results = vec![
        spf(Some("example.com"), Some("mfrom"), "pass"),
        spf(Some("mx.example.net"), Some("helo"), "softfail"),
    ];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn identities_is_read_as_identifiers() {
    let report = one("identities-instead-of-identifiers.xml");
    assert_eq!(
        report.header,
        header("identities.example.net", "identities-1")
    );
    let mut r = record("192.0.2.101", 1, "none", "pass", "pass");
    r.envelope_from = s("mail.example.com");
    r.spf_results = vec![spf(Some("mail.example.com"), Some("mfrom"), "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn repeated_policy_published_keeps_the_first_with_a_warning() {
    let report = one("repeated-policy-published.xml");
    let expected = ReportHeader {
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            aspf: s("r"),
            p: s("reject"),
            sp: s("reject"),
            pct: Some(100),
            ..Policy::default()
        },
        ..header("opendmarc.example.net", "repeat-policy-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.111", 1, "reject", "fail", "fail");
    r.spf_results = vec![spf(Some("example.com"), None, "fail")];
    assert_eq!(report.records, vec![r]);
    assert_eq!(
        report.warnings,
        vec!["<policy_published> repeated; the first one is kept"]
    );
}

#[test]
fn report_id_in_angle_brackets_loses_them() {
    let report = one("report-id-in-angle-brackets.xml");
    assert_eq!(
        report.header,
        header(
            "brackets.example.net",
            "20231114.abc123@mx1.brackets.example.net"
        )
    );
    assert_eq!(report.records.len(), 1);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn fractional_epochs_whitespace_and_a_three_day_range() {
    let report = one("fractional-epochs-whitespace-long-range.xml");
    let expected = ReportHeader {
        begin: 1_538_204_542,
        end: 1_538_463_742,
        policy: Policy {
            domain: "example.com".into(),
            adkim: s("r"),
            p: s("none"),
            pct: Some(100),
            ..Policy::default()
        },
        ..header("spaced.example.net", "spaced-1")
    };
    assert_eq!(report.header, expected);
    assert_eq!(report.header.end - report.header.begin, 3 * 86_400);
    let mut r = record("192.0.2.131", 4, "none", "pass", "fail");
    r.dkim_results = vec![dkim("example.com", Some("sel"), "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn invalid_utf8_in_org_name_is_replaced_with_a_warning() {
    let report = one("invalid-utf8-in-org-name.xml");
    assert_eq!(
        report.header,
        make_py_header("Bad\u{FFFD}\u{FFFD}Bytes \u{FFFD} Org", "invalid-utf8-1")
    );
    assert_eq!(report.records, make_py_records());
    assert_eq!(
        report.warnings,
        vec!["invalid bytes for the encoding were replaced with U+FFFD"]
    );
}

#[test]
fn windows_1252_declared_encoding_is_decoded() {
    let report = one("windows-1252-declared-encoding.xml");
    assert_eq!(report.header, make_py_header("Réseau Café €", "cp1252-1"));
    assert_eq!(report.records, make_py_records());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn bom_and_whitespace_before_the_declaration() {
    let bytes = std::fs::read(fixture_path("bom-and-whitespace-before-declaration.xml")).unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF\n"),
        "fixture keeps its BOM"
    );
    let report = one("bom-and-whitespace-before-declaration.xml");
    assert_eq!(report.header, make_py_header("bom.example.net", "bom-1"));
    assert_eq!(report.records, make_py_records());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn whole_report_on_one_line() {
    let bytes = std::fs::read(fixture_path("whole-report-on-one-line.xml")).unwrap();
    assert!(!bytes.contains(&b'\n'), "fixture is one line");
    let report = one("whole-report-on-one-line.xml");
    assert_eq!(
        report.header,
        make_py_header("onelinemail.example", "one-line-1")
    );
    assert_eq!(report.records, make_py_records());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn tab_after_every_line() {
    let text = std::fs::read_to_string(fixture_path("tab-after-every-line.xml")).unwrap();
    assert!(text.lines().all(|l| l.ends_with('\t')), "fixture has tabs");
    let report = one("tab-after-every-line.xml");
    assert_eq!(report.header, make_py_header("tabbed.example", "tab-1"));
    assert_eq!(report.records, make_py_records());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn several_feedback_documents_in_one_file() {
    let reports = parse("several-feedback-documents-concatenated.xml");
    assert_eq!(reports.len(), 2, "{reports:?}");
    let first = reports[0].as_ref().expect("first report");
    let second = reports[1].as_ref().expect("second report");

    assert_eq!(first.header, header("first.example.net", "concat-1"));
    let mut r = record("192.0.2.211", 1, "none", "pass", "fail");
    r.dkim_results = vec![dkim("example.com", Some("s"), "pass")];
    assert_eq!(first.records, vec![r]);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);

    let expected = ReportHeader {
        policy: Policy {
            domain: "example.org".into(),
            p: s("reject"),
            ..Policy::default()
        },
        ..header("second.example.org", "concat-2")
    };
    assert_eq!(second.header, expected);
    let ips: Vec<_> = second
        .records
        .iter()
        .map(|r| (r.source_ip.as_deref().unwrap(), r.count))
        .collect();
    assert_eq!(ips, vec![("192.0.2.212", 2), ("192.0.2.213", 4)]);
    assert!(second.warnings.is_empty(), "{:?}", second.warnings);
}

#[test]
fn stray_unknown_elements_are_ignored() {
    let report = one("stray-unknown-elements.xml");
    assert_eq!(report.header, header("stray.example.net", "stray-1"));
    let mut r = record("192.0.2.141", 2, "none", "pass", "pass");
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[test]
fn kddi_broken_closing_tag_of_report_id() {
    let report = one("kddi-broken-closing-tag.xml");
    assert_eq!(report.header, header("kddi.example", "abc"));
    let mut r = record("192.0.2.151", 3, "none", "pass", "pass");
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);
}

#[test]
fn unescaped_angle_brackets_in_contact_info_spare_the_rest() {
    let report = one("unescaped-angle-brackets-in-contact.xml");
    // The text around the unescaped `<dmarc@...>` is lost (current
    // behaviour); everything after it is read normally.
    let expected = ReportHeader {
        extra_contact_info: None,
        ..header("contact.example.net", "unescaped-1")
    };
    assert_eq!(report.header, expected);
    let mut r = record("192.0.2.161", 7, "none", "pass", "fail");
    r.dkim_results = vec![dkim("example.com", Some("s"), "pass")];
    assert_eq!(report.records, vec![r]);
}

#[test]
fn truncated_in_the_second_record_keeps_the_first() {
    let report = one("truncated-in-second-record.xml");
    assert_eq!(report.header, header("cut.example.net", "truncated-1"));
    let mut r = record("192.0.2.171", 9, "none", "pass", "pass");
    r.spf_results = vec![spf(Some("example.com"), None, "pass")];
    assert_eq!(report.records, vec![r]);
    assert_warning(&report, "truncated");
    assert_warning(
        &report,
        "record 2: the input ends inside this record; record skipped",
    );
}

#[test]
fn strict_missing_report_id() {
    let e = error("strict-missing-report-id.xml");
    assert!(
        matches!(
            &e,
            ReportError::Missing {
                report_id: None,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("report_id"), "{e}");
}

#[test]
fn strict_missing_date_range() {
    let e = error("strict-missing-date-range.xml");
    match &e {
        ReportError::Missing { what, report_id } => {
            assert!(what.contains("date_range"), "{what}");
            assert_eq!(report_id.as_deref(), Some("no-date-range-1"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(e.to_string().contains("date range"), "{e}");
}

#[test]
fn strict_missing_policy_domain() {
    let e = error("strict-missing-policy-domain.xml");
    match &e {
        ReportError::Missing { what, report_id } => {
            assert!(what.contains("policy domain"), "{what}");
            assert_eq!(report_id.as_deref(), Some("no-domain-1"));
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(e.to_string().contains("no-domain-1"), "{e}");
}

#[test]
fn strict_non_numeric_date() {
    assert_eq!(
        error("strict-non-numeric-date.xml"),
        ReportError::BadDate {
            value: "2023-11-14T22:13:20Z".into(),
            report_id: "bad-date-1".into(),
        }
    );
}

#[test]
fn strict_root_is_not_feedback() {
    let e = error("strict-not-aggregate-html.xml");
    assert_eq!(
        e,
        ReportError::NotAggregate {
            root: "html".into()
        }
    );
    assert!(e.to_string().contains("<html>"), "{e}");
}

#[test]
fn strict_empty_input() {
    assert_eq!(error("strict-empty-input.xml"), ReportError::Empty);
    let blank = parse_all(&b" \n\t\n"[..], &ParseOptions::default());
    assert_eq!(blank, vec![Err(ReportError::Empty)]);
}

#[test]
fn non_numeric_count_skips_only_that_record() {
    let report = one("non-numeric-count.xml");
    assert_eq!(report.header, header("count.example.net", "bad-count-1"));
    let kept: Vec<_> = report
        .records
        .iter()
        .map(|r| (r.source_ip.as_deref().unwrap(), r.count))
        .collect();
    assert_eq!(kept, vec![("192.0.2.191", 2), ("192.0.2.193", 5)]);
    assert_eq!(
        report.warnings,
        vec!["record 2: <count> is missing or not a number; record skipped"]
    );
}

#[test]
fn totals_are_weighted_by_count_not_rows() {
    let report = one("count-weighted-totals.xml");
    assert_eq!(report.header, header("weighted.example.net", "weighted-1"));
    let counts: Vec<u64> = report.records.iter().map(|r| r.count).collect();
    assert_eq!(counts, vec![3, 7]);
    assert_eq!(messages(&report), 10);
    let passing: u64 = report
        .records
        .iter()
        .filter(|r| r.dmarc_pass())
        .map(|r| r.count)
        .sum();
    assert_eq!(passing, 10);
}

/// The bytes parse the same from a slice as from a file.
#[test]
fn slice_and_file_inputs_agree() {
    let bytes = std::fs::read(fixture_path("rfc7489-baseline.xml")).unwrap();
    let from_slice = parse_all(&bytes[..], &ParseOptions::default());
    assert_eq!(from_slice, parse("rfc7489-baseline.xml"));
}

// ---- `dmarcwatch parse --json` ----------------------------------------

fn run_parse_json(paths: &[PathBuf]) -> (Vec<Value>, Option<i32>) {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dmarcwatch"))
        .current_dir(cwd.path())
        .env_remove("DMARCWATCH_CONFIG")
        .arg("parse")
        .arg("--json")
        .args(paths)
        .output()
        .expect("run dmarcwatch");
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 output");
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    (lines, out.status.code())
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

#[test]
fn parse_json_has_the_spec_shape() {
    let path = fixture_path("rfc7489-baseline.xml");
    let (lines, code) = run_parse_json(std::slice::from_ref(&path));
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(keys(line), set(&["path", "report"]));
    assert_eq!(line["path"], path.to_str().unwrap());

    let report = &line["report"];
    let spec = set(&[
        "format",
        "org_name",
        "email",
        "report_id",
        "begin",
        "end",
        "policy",
        "records",
        "warnings",
    ]);
    let actual = keys(report);
    assert!(actual.is_superset(&spec), "{actual:?}");
    // Keys beyond the interface spec that the report model also prints.
    let extra: BTreeSet<_> = actual.difference(&spec).copied().collect();
    assert_eq!(extra, set(&["errors", "extra_contact_info", "generator"]));

    assert_eq!(report["format"], "rfc7489");
    assert_eq!(report["org_name"], "receiver.example.net");
    assert_eq!(report["report_id"], "baseline-0001");
    assert!(report["begin"].is_i64() && report["end"].is_i64());
    assert_eq!(report["begin"], 1_700_000_000);
    assert_eq!(report["end"], 1_700_086_399);
    assert_eq!(report["warnings"], serde_json::json!([]));

    let policy = &report["policy"];
    assert_eq!(
        keys(policy),
        set(&[
            "domain",
            "adkim",
            "aspf",
            "p",
            "sp",
            "np",
            "pct",
            "fo",
            "testing",
            "discovery_method"
        ])
    );
    assert_eq!(policy["pct"], 100);
    assert!(policy["np"].is_null());

    let records = report["records"].as_array().expect("records array");
    assert_eq!(records.len(), 2);
    for r in records {
        assert_eq!(
            keys(r),
            set(&[
                "source_ip",
                "count",
                "disposition",
                "dkim",
                "spf",
                "reasons",
                "header_from",
                "envelope_from",
                "envelope_to",
                "dkim_results",
                "spf_results"
            ])
        );
        assert!(r["count"].is_u64());
        for d in r["dkim_results"].as_array().unwrap() {
            assert_eq!(
                keys(d),
                set(&["domain", "selector", "result", "human_result"])
            );
        }
        for s in r["spf_results"].as_array().unwrap() {
            assert_eq!(keys(s), set(&["domain", "scope", "result", "human_result"]));
        }
    }
    let reasons = records[0]["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1);
    assert_eq!(keys(&reasons[0]), set(&["type", "comment"]));
    assert_eq!(reasons[0]["type"], "forwarded");
    assert_eq!(records[1]["source_ip"], "2001:db8::a1");
    assert!(records[1]["envelope_from"].is_null());

    // The JSON is the serialised model: the same values as parse_all.
    let parsed: Report = one("rfc7489-baseline.xml");
    assert_eq!(report, &serde_json::to_value(&parsed).unwrap());
}

#[test]
fn parse_json_input_without_report_is_an_error_line_and_exit_1() {
    let good = fixture_path("rfc7489-baseline.xml");
    let bad = fixture_path("strict-not-aggregate-html.xml");
    let (lines, code) = run_parse_json(&[good.clone(), bad.clone()]);
    assert_eq!(code, Some(1));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["path"], good.to_str().unwrap());
    assert!(lines[0]["report"].is_object());
    assert_eq!(keys(&lines[1]), set(&["path", "error"]));
    assert_eq!(lines[1]["path"], bad.to_str().unwrap());
    let error = lines[1]["error"].as_str().expect("error string");
    assert!(error.contains("feedback"), "{error}");
}

/// A report that lacks its reporter, date range and policy domain takes
/// them from an RFC 7489 file name (`receiver!domain!begin!end.xml`), and
/// says so; the same bytes under another name are still a clear error.
#[test]
fn an_rfc_file_name_fills_in_what_the_report_lacks() {
    use dmarcwatch::extract::{read_unit_ref, ExtractLimits};
    use dmarcwatch::source::Body;
    let name = "receiver.example!example.com!1700000000!1700086399.xml";
    let bytes = std::fs::read(fixture_path(&format!("named-by-rfc7489/{name}"))).expect("fixture");
    let read = |file_name: &str| {
        let mut sink = Collect::default();
        let mut body = Body::Reader(Box::new(std::io::Cursor::new(bytes.clone())));
        let outcome = read_unit_ref(
            &mut body,
            Some(file_name),
            &ExtractLimits::default(),
            &mut sink,
        )
        .unwrap_or_else(|never| match never {});
        (sink.reports, outcome)
    };
    let (mut reports, outcome) = read(name);
    assert!(outcome.errors.is_empty(), "{outcome:?}");
    let report = reports.remove(0).expect("recovered");
    let h = &report.header;
    assert_eq!(
        (
            h.org_name.as_str(),
            h.policy.domain.as_str(),
            h.begin,
            h.end
        ),
        (
            "receiver.example",
            "example.com",
            1_700_000_000,
            1_700_086_399
        )
    );
    assert_eq!(h.report_id, "named-1");
    assert_eq!(report.records.len(), 1);
    assert_warning(
        &report,
        &format!("reporter, policy domain, date range taken from the file name {name:?}"),
    );

    let (reports, outcome) = read("saved-report.xml");
    assert!(reports.iter().all(|r| r.is_err()), "{reports:?}");
    assert!(
        outcome.errors[0].contains("has no reporter"),
        "{:?}",
        outcome.errors
    );
}
