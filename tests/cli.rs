//! The command line as a person uses it: the README's main job on the
//! example reports, the closing line, exit codes, and error messages.

mod support;

use support::cli::{dmarcwatch, text};

use std::path::PathBuf;

fn examples() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/reports")
        .display()
        .to_string()
}

#[test]
fn readme_main_job_ingests_examples_into_the_current_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dmarcwatch(dir.path(), &["ingest", &examples()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "ingest: 9 files, 9 reports new, 0 duplicates, 0 errors, 18 records"
    );
    assert!(dir.path().join("dmarcwatch.db").exists());
    let out = dmarcwatch(dir.path(), &["summary"]);
    let summary = text(&out.stdout);
    assert!(
        summary.starts_with("example.com: 9 reports, 789 messages, DMARC pass 95.1%, SPF aligned 79.8%, DKIM aligned 95.1%"),
        "{summary}"
    );
    assert!(summary.contains("failing: 203.0.113.50"), "{summary}");
    assert!(summary.contains("failing: 198.51.100.23"), "{summary}");
    // Again: all duplicates, exit 0.
    let out = dmarcwatch(dir.path(), &["ingest", &examples()]);
    assert!(text(&out.stdout).contains("0 reports new, 9 duplicates, 0 errors"));
}

#[test]
fn json_outputs_for_scripts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dmarcwatch(dir.path(), &["--json", "ingest", &examples()]);
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json line");
    assert_eq!(line["reports_new"], 9);
    let out = dmarcwatch(dir.path(), &["--json", "summary"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(
        (s["domain"].as_str(), s["messages"].as_u64()),
        (Some("example.com"), Some(789))
    );
    assert_eq!(
        s["top_failing"][0]["source_ip"], "198.51.100.23",
        "24 failing beat 15"
    );
    let out = dmarcwatch(dir.path(), &["--json", "senders", "--since", "3650d"]);
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 5);
}

#[test]
fn senders_failing_new_and_approve() {
    let dir = tempfile::tempdir().expect("temp dir");
    dmarcwatch(dir.path(), &["ingest", &examples()]);
    let failing =
        text(&dmarcwatch(dir.path(), &["senders", "--since", "3650d", "--failing"]).stdout);
    // 198.51.100.23: 24 of 24 fail; 203.0.113.50: 15 of 15, under min_messages (20).
    assert!(
        failing.contains("198.51.100.23") && !failing.contains("203.0.113.50"),
        "{failing}"
    );
    let out = dmarcwatch(dir.path(), &["approve", "198.51.100.0/24"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "approved 198.51.100.0/24 for example.com"
    );
    let new = text(&dmarcwatch(dir.path(), &["senders", "--since", "3650d", "--new"]).stdout);
    assert!(
        !new.contains("198.51.100.23") && new.contains("203.0.113.50"),
        "{new}"
    );
    let out = dmarcwatch(dir.path(), &["approve", "not-an-ip"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not an IP address"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn export_csv_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    dmarcwatch(dir.path(), &["ingest", &examples()]);
    let csv = text(&dmarcwatch(dir.path(), &["export", "--format", "csv"]).stdout);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 19, "header + 18 records");
    assert!(lines[0].starts_with("org_name,report_id,domain,begin_utc,end_utc,source_ip,count"));
    assert!(
        csv.contains("\"example.com,sendgrid.info\""),
        "list fields are quoted"
    );
    let json = text(
        &dmarcwatch(
            dir.path(),
            &["export", "--format", "json", "--domain", "example.com"],
        )
        .stdout,
    );
    let first: serde_json::Value =
        serde_json::from_str(json.lines().next().expect("a row")).expect("json");
    assert_eq!(first["count"], 120);
    assert_eq!(first["dmarc_pass"], 1);
}

#[test]
fn errors_name_the_input_and_the_problem() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dmarcwatch(dir.path(), &["ingest", "missing.xml"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "missing.xml: error: no such file or directory"
    );
    std::fs::write(dir.path().join("bad.toml"), "[database]\npaht = 1\n").expect("write");
    let out = dmarcwatch(dir.path(), &["--config", "bad.toml", "summary"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("dmarcwatch: config bad.toml:") && err.contains("paht"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::write(
        dir.path().join("not.db"),
        "this is not sqlite, just text padding to fill a page",
    )
    .expect("write");
    let out = dmarcwatch(dir.path(), &["--db", "not.db", "summary"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a SQLite database"),
        "{}",
        text(&out.stderr)
    );
}
