//! Reverse names against a real DNS server (dnsmasq on 127.0.0.1): PTR
//! names, forward confirmation, base domains and services appear in
//! `senders` and the views for TEST-NET sources; the SQLite cache answers
//! the next run without asking the server; no server at all costs one
//! warning line and one wave of lookups, not one failure per address.

mod support;

use dmarcwatch::enrich::ip_cache;
use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::process::Output;
use std::sync::{Arc, Mutex};
use support::aggregate::{self, Row};
use support::dnsmasq::Dnsmasq;
use support::workdir::Workdir;

/// The reverse zones and names the tests' sources resolve to.
const ZONE: &str = "\
local=/in-addr.arpa/
local=/ip6.arpa/
local=/sendgrid.net/
local=/google.com/
local=/amazonses.com/
local=/acme.example/
host-record=o1.ptr1234.sendgrid.net,192.0.2.10
host-record=mail-sor-f41.google.com,198.51.100.20,2001:db8::20
ptr-record=30.113.0.203.in-addr.arpa,a1-2.smtp-out.amazonses.com
host-record=a1-2.smtp-out.amazonses.com,203.0.113.99
host-record=out7.mta.acme.example,192.0.2.50
";

/// A working directory whose config has `dns_section` and one [[service]].
fn workdir(dns_section: &str) -> Workdir {
    let work = Workdir {
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let config = format!(
        "{dns_section}\n\n[[service]]\nname = \"Acme CRM\"\nptr_suffixes = [\"mta.acme.example\"]\n"
    );
    std::fs::write(work.path("dmarcwatch.toml"), config).expect("write config");
    work
}

/// Ingest report `id` with 10 passing messages from each source.
fn ingest(work: &Workdir, id: &str, sources: &[&str]) -> Output {
    let rows: Vec<Row> = sources.iter().map(|ip| (*ip, 10, "pass", "pass")).collect();
    aggregate::ingest(work, id, &rows)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn dns_section(server: &str, extra: &str) -> String {
    format!("[dns]\nnameservers = [\"{server}\"]\ntimeout = \"1s\"\nattempts = 1\n{extra}")
}

/// (ptr, service) of each source in `senders --json`.
fn senders(work: &Workdir) -> Vec<(String, Option<String>, Option<String>)> {
    let out = work.dmarcwatch(&["--json", "senders", "--since", "30d"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json line");
            let s = |k: &str| v[k].as_str().map(str::to_string);
            (s("source_ip").expect("source_ip"), s("ptr"), s("service"))
        })
        .collect()
}

#[test]
fn confirmed_names_base_domains_and_services_show_in_senders() {
    let dns = Dnsmasq::start(ZONE);
    let work = workdir(&dns_section(&dns.addr(), ""));
    let sources = [
        "192.0.2.10",
        "198.51.100.20",
        "2001:db8::20",
        "203.0.113.30",
        "203.0.113.40",
        "192.0.2.50",
    ];
    let out = ingest(&work, "r1", &sources);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("reverse DNS"),
        "no DNS warning expected: {}",
        text(&out.stderr)
    );

    let mut got = senders(&work);
    got.sort();
    let some = |s: &str| Some(s.to_string());
    let mut want = vec![
        (
            "192.0.2.10".to_string(),
            some("o1.ptr1234.sendgrid.net"),
            some("SendGrid"),
        ),
        (
            "198.51.100.20".into(),
            some("mail-sor-f41.google.com"),
            some("Google Workspace"),
        ),
        (
            "2001:db8::20".into(),
            some("mail-sor-f41.google.com"),
            some("Google Workspace"),
        ),
        // The PTR claims Amazon SES, but the name does not point back.
        ("203.0.113.30".into(), None, None),
        ("203.0.113.40".into(), None, None),
        // A [[service]] of the config.
        (
            "192.0.2.50".into(),
            some("out7.mta.acme.example"),
            some("Acme CRM"),
        ),
    ];
    want.sort();
    assert_eq!(got, want);

    // The text table shows the same, and the views carry the details.
    let table = text(&work.dmarcwatch(&["senders", "--since", "30d"]).stdout);
    assert!(
        table.contains("o1.ptr1234.sendgrid.net / SendGrid"),
        "{table}"
    );
    let db = work.db();
    let row = |ip: &str| -> (Option<String>, Option<String>, Option<String>, String) {
        db.query_row(
            "SELECT ptr, ptr_claimed, base_domain, status FROM v_ip_info WHERE ip = ?1",
            [ip],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .expect(ip)
    };
    assert_eq!(
        row("192.0.2.10"),
        (
            some("o1.ptr1234.sendgrid.net"),
            None,
            some("sendgrid.net"),
            "named".into()
        )
    );
    assert_eq!(
        row("203.0.113.30"),
        (
            None,
            some("a1-2.smtp-out.amazonses.com"),
            None,
            "unconfirmed".into()
        )
    );
    assert_eq!(row("203.0.113.40"), (None, None, None, "none".into()));
    assert_eq!(row("192.0.2.50").2, some("acme.example"));
    let (ptr, service): (Option<String>, Option<String>) = db
        .query_row(
            "SELECT ptr, service FROM v_sources WHERE source_ip = '2001:db8::20'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("v_sources row");
    assert_eq!(
        (ptr, service),
        (some("mail-sor-f41.google.com"), some("Google Workspace"))
    );
}

#[test]
fn the_cache_answers_until_it_expires_and_new_services_apply_at_once() {
    let dns = Dnsmasq::start(ZONE);
    let work = workdir(&dns_section(&dns.addr(), "negative_ttl = \"2h\"\n"));
    let out = ingest(&work, "r1", &["192.0.2.10", "203.0.113.40"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let asked = dns.queries();
    // PTR + forward A for the named one, PTR for the other.
    assert_eq!(asked, 3, "{}", dns.log());

    // A second report of the same sources: answered from SQLite.
    let out = ingest(&work, "r2", &["192.0.2.10", "203.0.113.40"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(dns.queries(), asked, "cached answers were asked again");

    // The negative answer expires after negative_ttl, the name after cache_ttl.
    let db = work.db();
    let now = chrono::Utc::now().timestamp();
    assert!(ip_cache::due(&db, now, 10).expect("due").is_empty());
    let later = ip_cache::due(&db, now + 3 * 3600, 10).expect("due");
    assert_eq!(
        later,
        vec!["203.0.113.40".parse::<std::net::IpAddr>().expect("ip")]
    );
    assert_eq!(
        ip_cache::due(&db, now + 8 * 86400, 10).expect("due").len(),
        2
    );
    drop(db);

    // A [[service]] added later relabels the cached name without a lookup.
    work.rewrite_config(|c| {
        c + "\n[[service]]\nname = \"Our newsletter ESP\"\nptr_suffixes = [\"ptr1234.sendgrid.net\"]\n"
    });
    assert!(ingest(&work, "r3", &["192.0.2.10"]).status.success());
    assert_eq!(dns.queries(), asked);
    let service = senders(&work)
        .into_iter()
        .find(|(ip, _, _)| ip == "192.0.2.10")
        .and_then(|(_, _, s)| s);
    assert_eq!(service.as_deref(), Some("Our newsletter ESP"));
}

/// A UDP socket that reads queries and never answers: a resolver that is
/// down or firewalled. Collects the distinct names asked (the resolver
/// resends a query while it waits; those count once).
fn silent_server() -> (String, Arc<Mutex<BTreeSet<Vec<u8>>>>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("addr").to_string();
    let names = Arc::new(Mutex::new(BTreeSet::new()));
    let seen = names.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            // The question's name: after the 12-byte header, up to the root label.
            let question = &buf[12.min(n)..n];
            let end = question
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(question.len());
            if let Ok(mut set) = seen.lock() {
                set.insert(question[..end].to_ascii_lowercase());
            }
        }
    });
    (addr, names)
}

fn asked(names: &Arc<Mutex<BTreeSet<Vec<u8>>>>) -> usize {
    names.lock().map(|s| s.len()).unwrap_or(0)
}

#[test]
fn offline_ingest_stores_everything_with_one_warning_and_one_wave_of_lookups() {
    let (server, received) = silent_server();
    let work = workdir(&dns_section(&server, "concurrency = 4\n"));
    // 300 distinct sources in 198.51.100.0/24 and 203.0.113.0/24.
    let sources: Vec<String> = (0..300)
        .map(|i| {
            if i < 250 {
                format!("198.51.100.{}", i + 1)
            } else {
                format!("203.0.113.{}", i - 249)
            }
        })
        .collect();
    let refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let out = ingest(&work, "big", &refs);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("1 reports new"),
        "{}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("reverse DNS"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("no answer in time") && warnings[0].contains("next pass"),
        "{stderr}"
    );
    // One wave (`concurrency` lookups) was tried, not all 300.
    let sent = asked(&received);
    assert!(
        sent > 0 && sent <= 4,
        "{sent} names reached the silent server"
    );
    let db = work.db();
    let (errors, records): (i64, i64) = db
        .query_row(
            "SELECT (SELECT count(*) FROM v_ip_info WHERE status = 'error'),
                    (SELECT count(*) FROM v_records)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("counts");
    assert_eq!(records, 300);
    assert!(errors > 0 && errors <= 4, "{errors}");

    // The next run also stays at one warning.
    let out = ingest(&work, "big2", &refs);
    assert!(out.status.success());
    let again = text(&out.stderr);
    assert_eq!(
        again.lines().filter(|l| l.contains("reverse DNS")).count(),
        1,
        "{again}"
    );
}

#[test]
fn offline_flag_and_reverse_false_ask_nothing() {
    let (server, received) = silent_server();
    let work = workdir(&dns_section(&server, ""));
    let file = work.path("r1.xml");
    std::fs::write(
        &file,
        aggregate::report_xml("r1", &[("192.0.2.10", 10, "pass", "pass")]),
    )
    .expect("write report");
    let out = work.dmarcwatch(&["--offline", "ingest", &file.display().to_string()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(asked(&received), 0);
    work.rewrite_config(|c| c.replace("[dns]\n", "[dns]\nreverse = false\n"));
    let out = ingest(&work, "r2", &["192.0.2.11"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(asked(&received), 0);
    assert_eq!(work.count("SELECT count(*) FROM v_ip_info"), 0);
    let out = work.dmarcwatch(&["--offline", "blocklist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("drop --offline"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dns_config_errors_name_the_key() {
    for (text_, key) in [
        (
            "[dns]\nnameservers = [\"resolver.example\"]\n",
            "[dns] nameservers",
        ),
        ("[dns]\ntimeout = \"soon\"\n", "[dns] timeout"),
        ("[dns]\nconcurrency = 0\n", "[dns]"),
        (
            "[[service]]\nname = \"\"\nptr_suffixes = [\"x.example\"]\n",
            "[[service]]",
        ),
        ("[blocklist]\nips = [\"10.0.0.0/8\"]\n", "[blocklist] ips"),
        ("[blocklist]\nzones = [\"spamhaus\"]\n", "[blocklist] zones"),
        (
            "[blocklist]\nnameservers = [\"::1:53:x\"]\n",
            "[blocklist] nameservers",
        ),
    ] {
        let err = dmarcwatch::config::parse(text_).expect_err(text_);
        assert!(err.contains(key), "{text_:?} → {err}");
    }
    let ok = dmarcwatch::config::parse(
        "[dns]\nnameservers = [\"127.0.0.1:5353\", \"[::1]:53\", \"192.0.2.53\"]\n",
    )
    .expect("valid");
    assert_eq!(ok.dns.nameservers.len(), 3);
}
