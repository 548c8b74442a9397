//! The alert commands as a person uses them: with no config at all, an
//! ingest queues alerts (and says so on stderr, keeping its closing line),
//! `alerts send` prints them on standard output once, `alerts list` shows
//! where each went; `alerts test` reaches every channel or says why not.

mod support;

use support::cli::{dmarcwatch, text};

use wiremock::matchers::{header_exists, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The statements of the ```sql blocks of docs/alerts.md.
fn doc_queries() -> Vec<String> {
    let doc = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/alerts.md"),
    )
    .expect("docs/alerts.md");
    doc.split("```sql")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .flat_map(|body| {
            body.split(';')
                .map(str::trim)
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// Every row as text (NULL for null).
fn query(db: &rusqlite::Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "BLOB".to_string(),
                })
            })
            .collect()
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// A report of yesterday: 198.51.100.9 passes (40), 203.0.113.5 fails
/// (30), 192.0.2.77 fails though SPF and DKIM pass for an ESP's domains (25).
fn yesterday_report() -> String {
    let begin = dmarcwatch::store::now() - 2 * 86_400;
    let auth = |spf: &str, result: &str| {
        format!("<spf><domain>{spf}</domain><result>{result}</result></spf>")
    };
    let record = |ip: &str, count: u32, result: &str, auth: String| {
        format!(
            "<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>\
             <disposition>none</disposition><dkim>{result}</dkim><spf>{result}</spf>\
             </policy_evaluated></row><identifiers><header_from>example.com</header_from>\
             </identifiers><auth_results>{auth}</auth_results></record>"
        )
    };
    let esp = format!(
        "<dkim><domain>esp.example</domain><result>pass</result></dkim>{}",
        auth("bounces.esp.example", "pass")
    );
    format!(
        "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>google.com</org_name>\
         <email>noreply@google.com</email><report_id>cli-1</report_id><date_range>\
         <begin>{begin}</begin><end>{}</end></date_range></report_metadata>\
         <policy_published><domain>example.com</domain><p>none</p></policy_published>\
         {}{}{}</feedback>",
        begin + 86_399,
        record("198.51.100.9", 40, "pass", auth("example.com", "pass")),
        record("203.0.113.5", 30, "fail", auth("example.com", "fail")),
        record("192.0.2.77", 25, "fail", esp),
    )
}

#[test]
fn without_config_alerts_go_to_standard_output_once() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("report.xml"), yesterday_report()).expect("write");
    let out = dmarcwatch(dir.path(), &["ingest", "report.xml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim(),
        "ingest: 1 files, 1 reports new, 0 duplicates, 0 errors, 3 records"
    );
    assert!(
        text(&out.stderr).contains("3 new alerts queued"),
        "{}",
        text(&out.stderr)
    );

    let out = dmarcwatch(dir.path(), &["alerts", "list"]);
    let listed = text(&out.stdout);
    assert_eq!(listed.matches(" queued ").count(), 3, "{listed}");

    // The queries of docs/alerts.md, on what is queued now.
    let db = rusqlite::Connection::open(dir.path().join("dmarcwatch.db")).expect("db");
    let queries = doc_queries();
    assert_eq!(
        queries.len(),
        2,
        "docs/alerts.md queries changed: update this test"
    );
    let undelivered = query(&db, &queries[0]);
    assert_eq!(undelivered.len(), 3);
    assert!(
        undelivered
            .iter()
            .all(|r| r[3] == "NULL" && r[4] == "queued"),
        "{undelivered:?}"
    );
    assert_eq!(
        query(&db, &queries[1]),
        vec![vec![
            "example.com",
            "192.0.2.0/24",
            "{\"bounces.esp.example\":25}",
            "{\"esp.example\":25}"
        ]]
    );

    let out = dmarcwatch(dir.path(), &["alerts", "send"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sent = text(&out.stdout);
    assert!(
        sent.contains("Critical · failing sender · example.com\nNew sender 203.0.113.0/24 fails DMARC for example.com: 30 of 30 messages (100%)"),
        "{sent}"
    );
    assert!(
        sent.contains("Info · new sender · example.com\nNew sender for example.com: 198.51.100.0/24 (40 messages, all pass DMARC)"),
        "{sent}"
    );
    assert!(
        sent.contains("What to do:") && sent.contains("Evidence:"),
        "{sent}"
    );
    assert!(
        sent.contains("192.0.2.0/24 sends as example.com unaligned: 25 of 25 messages (100%)"),
        "{sent}"
    );
    assert!(
        sent.trim_end().ends_with(
            "alerts: 3 delivered, 0 failed attempts, 0 given up, 0 channels backing off"
        ),
        "{sent}"
    );

    let out = dmarcwatch(dir.path(), &["--json", "alerts", "list"]);
    let rows: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r["channel"] == "stdout" && r["state"] == "delivered" && r["attempts"] == 1));

    // Again: nothing is due, nothing printed twice; ingesting again adds nothing.
    let out = dmarcwatch(dir.path(), &["alerts", "send"]);
    assert_eq!(
        text(&out.stdout).trim(),
        "alerts: 0 delivered, 0 failed attempts, 0 given up, 0 channels backing off"
    );
    let out = dmarcwatch(dir.path(), &["ingest", "report.xml"]);
    assert!(
        !text(&out.stderr).contains("alerts queued"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_test_reaches_each_channel_or_says_why_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header_exists("x-dmarcwatch-event-id"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let dir = tempfile::tempdir().expect("dir");
    let config = format!(
        "[[alert]]\ntype = \"webhook\"\nname = \"ops\"\nurl = \"{}/hook\"\n\n\
         [[alert]]\ntype = \"slack\"\nurl = \"http://127.0.0.1:{closed_port}/services/SECRET\"\n",
        server.uri()
    );
    std::fs::write(dir.path().join("dmarcwatch.toml"), config).expect("config");
    let path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || dmarcwatch(&path, &["alerts", "test"]))
        .await
        .expect("join");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("ok    \"ops\" (webhook to 127.0.0.1)"),
        "{stdout}"
    );
    assert!(
        lines[1]
            .starts_with("FAIL  \"slack\" (Slack webhook at 127.0.0.1): unreachable: 127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("SECRET"),
        "the URL path is a secret: {stdout}"
    );
    server.verify().await;
}
