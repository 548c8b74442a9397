//! The SQLite store end to end: what lands in the tables and views for the
//! project's example reports, idempotence, report identity, failures kept
//! for reprocess, approvals, schema versions, and crash safety (a killed
//! ingest leaves whole reports only and a re-run completes it).

use dmarcwatch::extract::ExtractLimits;
use dmarcwatch::source::Units;
use dmarcwatch::store::{IngestStats, Store};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ingest(store: &mut Store, paths: &[PathBuf]) -> IngestStats {
    let limits = ExtractLimits::default();
    let mut stats = IngestStats::default();
    for unit in Units::new(paths, limits.max_message_bytes) {
        let unit = unit.expect("readable input");
        let result = store.ingest_unit(unit, &limits).expect("store works");
        stats.add(&result);
    }
    stats
}

fn fresh() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("t.db")).expect("open");
    (dir, store)
}

fn one<T: rusqlite::types::FromSql>(conn: &Connection, sql: &str) -> T {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

fn table_counts(conn: &Connection) -> Vec<i64> {
    [
        "reports",
        "records",
        "dkim_results",
        "spf_results",
        "source_daily",
    ]
    .iter()
    .map(|t| one(conn, &format!("SELECT count(*) FROM {t}")))
    .collect()
}

#[test]
fn example_reports_give_the_documented_numbers() {
    let (_dir, mut store) = fresh();
    let stats = ingest(&mut store, &[root().join("examples/reports")]);
    assert_eq!((stats.files, stats.new_reports, stats.errors), (9, 9, 0));
    assert_eq!(stats.records, 18);
    let c = store.conn();
    assert_eq!(one::<i64>(c, "SELECT sum(messages) FROM v_reports"), 789);
    assert_eq!(
        one::<String>(
            c,
            "SELECT group_concat(format) FROM (SELECT DISTINCT format FROM v_reports)"
        ),
        "rfc7489"
    );
    // v_daily: 263 messages a day, 250 pass, 210 SPF-aligned, 250 DKIM-aligned.
    let mut stmt = c
        .prepare("SELECT day, messages, dmarc_pass_messages, spf_aligned_messages, dkim_aligned_messages FROM v_daily ORDER BY day")
        .expect("v_daily");
    let days: Vec<(String, i64, i64, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(
        days,
        vec![
            ("2025-12-01".into(), 263, 250, 210, 250),
            ("2025-12-02".into(), 263, 250, 210, 250),
            ("2025-12-03".into(), 263, 250, 210, 250),
        ]
    );
    // v_sources: the Google Workspace IP is seen by Google and Yahoo.
    let (messages, pass, first, last): (i64, i64, String, String) = c
        .query_row(
            "SELECT messages, dmarc_pass_messages, first_seen, last_seen FROM v_sources WHERE source_ip = '209.85.220.41'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("source");
    assert_eq!((messages, pass), (450, 450));
    assert_eq!(
        (first.as_str(), last.as_str()),
        ("2025-12-01 00:00:00", "2025-12-03 23:59:59")
    );
    assert_eq!(
        one::<i64>(
            c,
            "SELECT dmarc_pass_messages FROM v_sources WHERE source_ip = '203.0.113.50'"
        ),
        0
    );
    assert_eq!(
        one::<i64>(
            c,
            "SELECT messages FROM v_sources WHERE source_ip = '2a01:111:f400:fe5b::1'"
        ),
        180
    );
    // v_records: every auth result kept, DMARC pass from policy_evaluated.
    let (pass, dkim, spf, envelope): (bool, String, String, String) = c
        .query_row(
            "SELECT dmarc_pass, dkim_domains, spf_results, envelope_from FROM v_records WHERE source_ip = '167.89.12.34' LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect("record");
    assert!(pass);
    assert_eq!(dkim, "example.com,sendgrid.info");
    assert_eq!(spf, "em123.sendgrid.net=pass");
    assert_eq!(envelope, "em123.sendgrid.net");
    let reasons: String = one(
        c,
        "SELECT reasons FROM v_records WHERE source_ip = '198.51.100.23' LIMIT 1",
    );
    assert_eq!(reasons, r#"[{"type":"mailing_list","comment":null}]"#);
}

#[test]
fn ingesting_twice_changes_nothing_but_the_duplicate_count() {
    let (_dir, mut store) = fresh();
    let paths = [root().join("examples/reports")];
    ingest(&mut store, &paths);
    let before = table_counts(store.conn());
    let again = ingest(&mut store, &paths);
    assert_eq!(
        (again.new_reports, again.duplicates, again.records),
        (0, 9, 0)
    );
    assert_eq!(table_counts(store.conn()), before);
}

#[test]
fn same_report_id_with_two_date_ranges_is_two_reports() {
    let (_dir, mut store) = fresh();
    let dir = root().join("fixtures/store");
    let stats = ingest(
        &mut store,
        &[
            dir.join("same-report-id-range-a.xml"),
            dir.join("same-report-id-range-b.xml"),
        ],
    );
    assert_eq!((stats.new_reports, stats.duplicates), (2, 0));
    assert_eq!(
        one::<i64>(
            store.conn(),
            "SELECT count(*) FROM v_reports WHERE report_id = 'reused-42'"
        ),
        2
    );
}

#[test]
fn an_input_without_report_is_recorded_once_with_its_raw_bytes() {
    let (_dir, mut store) = fresh();
    let path = root().join("fixtures/store/no-report.eml");
    let stats = ingest(&mut store, std::slice::from_ref(&path));
    assert_eq!((stats.errors, stats.new_reports), (1, 0));
    let c = store.conn();
    let (origin, error, raw_kept): (String, String, bool) = c
        .query_row("SELECT origin, error, raw_kept FROM v_failures", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("failure row");
    assert!(origin.ends_with("no-report.eml"));
    assert!(error.contains("no report attachment"), "{error}");
    assert!(raw_kept);
    ingest(&mut store, &[path]);
    let c = store.conn();
    assert_eq!(one::<i64>(c, "SELECT count(*) FROM v_failures"), 1);
    assert_eq!(one::<i64>(c, "SELECT attempts FROM v_failures"), 2);
}

#[test]
fn reprocess_stores_what_now_parses_and_marks_it_resolved() {
    let (_dir, mut store) = fresh();
    // As if an older version had failed this input and kept it.
    let xml =
        std::fs::read(root().join("fixtures/store/same-report-id-range-a.xml")).expect("fixture");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &xml).expect("gzip");
    let gz = gz.finish().expect("gzip");
    store
        .conn()
        .execute(
            "INSERT INTO failures (origin, received_at, error, digest, raw, raw_bytes) VALUES ('old.xml', 0, 'old bug', 'x', ?1, ?2)",
            rusqlite::params![gz, xml.len() as i64],
        )
        .expect("insert failure");
    let results = store
        .reprocess(&ExtractLimits::default())
        .expect("reprocess");
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].new_reports, 1);
    let c = store.conn();
    assert_eq!(
        one::<i64>(c, "SELECT count(*) FROM v_reports WHERE origin = 'old.xml'"),
        1
    );
    assert!(one::<Option<String>>(c, "SELECT resolved_at FROM v_failures").is_some());
    // Nothing left to do the second time.
    assert!(store
        .reprocess(&ExtractLimits::default())
        .expect("reprocess")
        .is_empty());
}

#[test]
fn approvals_by_range_and_service_show_in_v_sources() {
    let (_dir, mut store) = fresh();
    ingest(&mut store, &[root().join("examples/reports")]);
    let c = store.conn();
    dmarcwatch::store::approvals::approve(c, "example.com", "209.85.220.0/24", "command")
        .expect("cidr");
    c.execute(
        "INSERT INTO ip_info (ip, service) VALUES ('167.89.12.34', 'SendGrid')",
        [],
    )
    .expect("ip_info");
    dmarcwatch::store::approvals::approve(c, "example.com", "service:SendGrid", "command")
        .expect("service");
    let approved: String = one(c, "SELECT group_concat(source_ip) FROM (SELECT source_ip FROM v_sources WHERE approved ORDER BY source_ip)");
    assert_eq!(approved, "167.89.12.34,209.85.220.41");
    let err =
        dmarcwatch::store::approvals::approve(c, "example.com", "mail.example.com", "command")
            .expect_err("bad source");
    assert!(err.to_string().contains("not an IP address"), "{err}");
}

#[test]
fn a_newer_schema_is_refused_and_an_older_one_upgraded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.db");
    drop(Store::open(&path).expect("create"));
    drop(Store::open(&path).expect("reopen same version"));
    Connection::open(&path)
        .expect("raw")
        .pragma_update(None, "user_version", 99)
        .expect("bump");
    let err = Store::open(&path).err().expect("newer refused").to_string();
    assert!(
        err.contains("schema version 99") && err.contains("upgrade dmarcwatch"),
        "{err}"
    );
    // A file at version 0 (empty) is brought to the latest version.
    let empty = dir.path().join("empty.db");
    Connection::open(&empty)
        .expect("raw")
        .execute_batch("CREATE TABLE keep (x)")
        .expect("table");
    let store = Store::open(&empty).expect("upgrade");
    assert!(one::<i64>(store.conn(), "PRAGMA user_version") >= 1);
    assert_eq!(
        one::<i64>(store.conn(), "SELECT count(*) FROM v_reports"),
        0
    );
}

/// A report with `n` records whose identity depends on `i`.
fn synthetic_report(i: usize, n: usize) -> String {
    let mut s = format!(
        "<feedback><report_metadata><org_name>r{}.example</org_name><report_id>id-{i}</report_id>\
         <date_range><begin>{}</begin><end>{}</end></date_range></report_metadata>\
         <policy_published><domain>crash.example</domain><p>none</p></policy_published>",
        i % 7,
        1_700_000_000 + (i as i64) * 86_400,
        1_700_086_399 + (i as i64) * 86_400
    );
    for r in 0..n {
        s.push_str(&format!(
            "<record><row><source_ip>198.51.{}.{}</source_ip><count>{}</count><policy_evaluated>\
             <disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>\
             <identifiers><header_from>crash.example</header_from></identifiers><auth_results>\
             <dkim><domain>crash.example</domain><result>pass</result></dkim>\
             <spf><domain>bounce.example</domain><result>pass</result></spf></auth_results></record>",
            r / 250,
            r % 250,
            1 + r % 5
        ));
    }
    s.push_str("</feedback>");
    s
}

fn run_ingest(db: &Path, input: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_dmarcwatch"))
        .env("DMARCWATCH_OFFLINE", "1")
        .arg("--db")
        .arg(db)
        .arg("-q")
        .arg("ingest")
        .arg(input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn dmarcwatch")
}

/// Every stored report is whole: its record rows match its totals.
fn assert_whole_reports(db: &Path) {
    let c = Connection::open(db).expect("open");
    let broken: i64 = one(
        &c,
        "SELECT count(*) FROM reports r WHERE r.records != (SELECT count(*) FROM records WHERE report = r.id) \
         OR r.messages != (SELECT coalesce(sum(count), 0) FROM records WHERE report = r.id)",
    );
    assert_eq!(broken, 0, "a partly stored report");
    let rep: i64 = one(&c, "SELECT coalesce(sum(messages), 0) FROM reports");
    for table in ["source_daily", "source_totals", "domain_daily"] {
        let agg: i64 = one(
            &c,
            &format!("SELECT coalesce(sum(messages), 0) FROM {table}"),
        );
        assert_eq!(agg, rep, "{table} out of step with reports");
    }
}

#[test]
fn a_killed_ingest_leaves_whole_reports_and_a_rerun_completes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in");
    std::fs::create_dir(&input).expect("mkdir");
    // 150 small reports and a few large ones, so kills land both between
    // messages and inside a long transaction.
    for i in 0..150 {
        let n = if i % 50 == 25 { 20_000 } else { 30 };
        std::fs::write(input.join(format!("r{i:03}.xml")), synthetic_report(i, n)).expect("write");
    }
    let reference = dir.path().join("reference.db");
    assert!(run_ingest(&reference, &input)
        .wait()
        .expect("wait")
        .success());
    let db = dir.path().join("crash.db");
    let mut kills_mid_way = 0;
    for delay_ms in [40u64, 150, 300, 600, 900] {
        let mut child = run_ingest(&db, &input);
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().expect("poll").is_none() {
            kills_mid_way += 1;
        }
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if db.exists() {
            assert_whole_reports(&db);
        }
    }
    assert!(
        kills_mid_way >= 2,
        "the ingest finished before most kills; the test proves nothing"
    );
    assert!(run_ingest(&db, &input).wait().expect("wait").success());
    assert_whole_reports(&db);
    let a = Connection::open(&reference).expect("ref");
    let b = Connection::open(&db).expect("db");
    assert_eq!(table_counts(&a), table_counts(&b));
    let sum = "SELECT sum(messages) || '/' || count(*) FROM reports";
    assert_eq!(one::<String>(&a, sum), one::<String>(&b, sum));
}

/// Corpus (read in place from ../shared/corpus; skipped with a reason when
/// absent): every report of every `exact` file is in v_reports with the
/// listed records and messages. Test files that reuse one identity with other
/// contents (test_empty.xml beside test.xml) are one report: the stored one
/// must be one of them.
#[test]
fn corpus_exact_reports_are_stored_with_their_totals() {
    let corpus = root().join("../shared/corpus");
    let Ok(expected) = std::fs::read_to_string(corpus.join("expected.jsonl")) else {
        println!("SKIPPED: ../shared/corpus is absent; corpus ingest not checked");
        return;
    };
    let (_dir, mut store) = fresh();
    ingest(&mut store, std::slice::from_ref(&corpus));
    let c = store.conn();
    let mut wants: std::collections::HashMap<String, Vec<(i64, i64)>> = Default::default();
    let mut found_by_key = std::collections::HashMap::new();
    for line in expected.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect("json");
        if entry["tier"] != "exact" {
            continue;
        }
        for r in entry["reports"].as_array().expect("reports") {
            let begin = r["begin"]
                .as_str()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0) as i64;
            let end = r["end"]
                .as_str()
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0) as i64;
            let found: Option<(i64, i64)> = c
                .query_row(
                    "SELECT records, messages FROM v_reports WHERE report_id = ?1 AND domain = lower(?2) \
                     AND begin_utc = datetime(?3, 'unixepoch') AND end_utc = datetime(?4, 'unixepoch')",
                    rusqlite::params![r["report_id"].as_str(), r["domain"].as_str(), begin, end],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .ok();
            let want = (
                r["records"].as_i64().unwrap_or(-1),
                r["messages"].as_i64().unwrap_or(-1),
            );
            let key = format!(
                "{} {} {} {begin} {end}",
                entry["path"], r["report_id"], r["domain"]
            );
            let identity = format!("{} {} {begin} {end}", r["report_id"], r["domain"]);
            wants.entry(identity.clone()).or_default().push(want);
            found_by_key.insert(key, (identity, found));
        }
    }
    for (key, (identity, found)) in &found_by_key {
        let found = found.unwrap_or_else(|| panic!("{key}: not stored"));
        assert!(
            wants[identity].contains(&found),
            "{key}: stored {found:?}, want one of {:?}",
            wants[identity]
        );
    }
    assert!(
        found_by_key.len() > 200,
        "only {} reports checked",
        found_by_key.len()
    );
}

/// The statements of the ```sql blocks of docs/schema.md, in order.
fn doc_queries() -> Vec<String> {
    let doc = std::fs::read_to_string(root().join("docs/schema.md")).expect("docs/schema.md");
    let mut out = Vec::new();
    for block in doc.split("```sql").skip(1) {
        let body = block.split("```").next().unwrap_or("");
        out.extend(
            body.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    out
}

fn rows(c: &Connection, sql: &str) -> Vec<Vec<String>> {
    let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let n = stmt.column_count();
    let mut rows = stmt.query([]).expect("query");
    let mut out = Vec::new();
    while let Some(row) = rows.next().expect("row") {
        out.push(
            (0..n)
                .map(|i| match row.get_ref(i).expect("value") {
                    rusqlite::types::ValueRef::Null => "NULL".to_string(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Real(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    rusqlite::types::ValueRef::Blob(_) => "BLOB".to_string(),
                })
                .collect(),
        );
    }
    out
}

#[test]
fn schema_doc_example_queries_give_the_right_numbers() {
    let (_dir, mut store) = fresh();
    ingest(&mut store, &[root().join("examples/reports")]);
    let c = store.conn();
    // Move the examples' three days to "the last three days" so the queries
    // that look at this week see them.
    let first: i64 = one(c, "SELECT min(begin_ts) FROM reports");
    let shift = dmarcwatch::store::now() - 2 * 86_400 - first - 3600;
    c.execute_batch(&format!(
        "UPDATE reports SET begin_ts = begin_ts + {shift}, end_ts = end_ts + {shift};
         UPDATE source_daily SET first_seen = first_seen + {shift}, last_seen = last_seen + {shift};
         UPDATE source_totals SET first_seen = first_seen + {shift}, last_seen = last_seen + {shift};"
    ))
    .expect("shift");
    let q = doc_queries();
    assert_eq!(
        q.len(),
        7,
        "docs/schema.md example queries changed: update this test"
    );
    let top_failing = rows(c, &q[0]);
    assert_eq!(
        top_failing,
        vec![
            vec!["example.com", "198.51.100.23", "24", "24"],
            vec!["example.com", "203.0.113.50", "15", "15"],
        ]
    );
    let new_sources = rows(c, &q[1]);
    assert_eq!(new_sources.len(), 5);
    assert_eq!(
        new_sources[0][..4],
        ["example.com", "209.85.220.41", "450", "450"]
    );
    let per_receiver = rows(c, &q[2]);
    assert_eq!(per_receiver.len(), 9);
    let rate = |org: &str| -> Vec<String> {
        per_receiver
            .iter()
            .filter(|r| r[0] == org)
            .map(|r| r[2].clone())
            .collect()
    };
    assert_eq!(rate("google.com"), vec!["97"; 3]);
    assert_eq!(rate("Outlook.com"), vec!["88.2"; 3]);
    assert_eq!(rate("Yahoo"), vec!["100"; 3]);
    let daily = rows(c, &q[3]);
    assert_eq!(daily.len(), 3);
    assert!(
        daily
            .iter()
            .all(|d| d[2..] == ["263", "95.1", "79.8", "95.1"]),
        "{daily:?}"
    );
    let unaligned = rows(c, &q[4]);
    assert_eq!(
        unaligned,
        vec![
            vec![
                "167.89.12.34",
                "em123.sendgrid.net",
                "em123.sendgrid.net=pass",
                "120"
            ],
            vec!["198.51.100.23", "NULL", "lists.example.org=pass", "24"],
        ]
    );
    assert!(rows(c, &q[5]).is_empty(), "no warnings in the examples");
    assert!(rows(c, &q[6]).is_empty(), "no failures in the examples");
}
