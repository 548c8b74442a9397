//! DNS blocklist checks against a real DNS server (dnsmasq on 127.0.0.1
//! serving test zones): listed and clean IPv4 and IPv6 addresses, several
//! return codes with their TXT reasons, Spamhaus's 127.255.255.254 error
//! answer, our own sources taken from the reports, a listing that appears
//! and disappears (one alert each way, never repeated), and a server that
//! goes away or stops answering (the state is kept, no alert).

mod support;

use std::net::UdpSocket;
use support::aggregate;
use support::dnsmasq::Dnsmasq;
use support::workdir::Workdir;

const ZONES: &str = "\
local=/zen.spamhaus.org/
local=/bl.example.net/
local=/dnsbl.example.org/
";

/// The listings of the main scenario.
const LISTINGS: &str = "\
host-record=1.2.0.192.zen.spamhaus.org,127.0.0.2
txt-record=1.2.0.192.zen.spamhaus.org,\"Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL123\"
host-record=1.2.0.192.bl.example.net,127.0.0.10
address=/2.2.0.192.zen.spamhaus.org/127.0.0.4
address=/2.2.0.192.zen.spamhaus.org/127.0.0.10
host-record=9.2.0.192.zen.spamhaus.org,127.255.255.254
host-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.net,127.0.0.3
txt-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.net,\"v6 listed\"
host-record=5.113.0.203.dnsbl.example.org,127.0.0.2
host-record=66.100.51.198.dnsbl.example.org,127.0.0.2
host-record=77.100.51.198.dnsbl.example.org,127.0.0.2
";

/// (ip, zone, listed, return_code, reason).
type State = (String, String, bool, Option<String>, Option<String>);

/// A working directory checking `ips` against the three test zones through
/// `nameserver` (reverse names off), with `extra` [blocklist] keys.
fn workdir(nameserver: &str, ips: &[&str], extra: &str) -> Workdir {
    let work = Workdir {
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let ips: Vec<String> = ips.iter().map(|ip| format!("\"{ip}\"")).collect();
    let config = format!(
        "[dns]\nreverse = false\ntimeout = \"1s\"\nattempts = 1\n\n\
         [blocklist]\nzones = [\"zen.spamhaus.org\", \"bl.example.net\", \"dnsbl.example.org\"]\n\
         nameservers = [\"{nameserver}\"]\nips = [{ips}]\n{extra}\n",
        ips = ips.join(", "),
    );
    std::fs::write(work.path("dmarcwatch.toml"), config).expect("write config");
    work
}

/// Every row of v_blocklist.
fn states(work: &Workdir) -> Vec<State> {
    let db = work.db();
    let mut stmt = db
        .prepare("SELECT ip, zone, listed, return_code, reason FROM v_blocklist ORDER BY ip, zone")
        .expect("query");
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}

/// Blocklist alerts in the outbox: (kind, title, evidence, fix steps).
fn alerts(work: &Workdir) -> Vec<(String, String, serde_json::Value, Vec<String>)> {
    let db = work.db();
    let mut stmt = db
        .prepare(
            "SELECT kind, title, evidence, fix_steps FROM alerts
             WHERE kind LIKE 'blocklist%' ORDER BY created_at, title",
        )
        .expect("query");
    stmt.query_map([], |r| {
        let evidence: String = r.get(2)?;
        let steps: String = r.get(3)?;
        Ok((
            r.get(0)?,
            r.get(1)?,
            serde_json::from_str(&evidence).expect("evidence json"),
            serde_json::from_str(&steps).expect("steps json"),
        ))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn listed_and_clean_addresses_codes_reasons_errors_and_own_sources() {
    let dns = Dnsmasq::start(&format!("{ZONES}{LISTINGS}"));
    let work = workdir(
        &dns.addr(),
        &[
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.3",
            "2001:db8::1",
            "2001:db8::2",
            "192.0.2.9",
        ],
        "from_reports = true",
    );
    // Ours (aligned SPF pass), a spoofer (fails) and a forwarder (DKIM-only pass).
    let out = aggregate::ingest(
        &work,
        "bl-1",
        &[
            ("203.0.113.5", 25, "pass", "pass"),
            ("198.51.100.66", 25, "fail", "fail"),
            ("198.51.100.77", 25, "pass", "fail"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "listed → exit 1: {}",
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("checked 7 addresses × 3 zones") && stdout.contains("5 listed, 1 failed"),
        "{stdout}"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("zen.spamhaus.org") && stderr.contains("127.255.255.254"),
        "{stderr}"
    );

    let states = states(&work);
    let listed: Vec<_> = states.iter().filter(|s| s.2).cloned().collect();
    assert_eq!(
        listed,
        vec![
            (
                "192.0.2.1".into(),
                "bl.example.net".into(),
                true,
                some("127.0.0.10"),
                None
            ),
            (
                "192.0.2.1".into(),
                "zen.spamhaus.org".into(),
                true,
                some("127.0.0.2"),
                some("Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL123")
            ),
            (
                "192.0.2.2".into(),
                "zen.spamhaus.org".into(),
                true,
                some("127.0.0.4,127.0.0.10"),
                None
            ),
            (
                "2001:db8::1".into(),
                "bl.example.net".into(),
                true,
                some("127.0.0.3"),
                some("v6 listed")
            ),
            (
                "203.0.113.5".into(),
                "dnsbl.example.org".into(),
                true,
                some("127.0.0.2"),
                None
            ),
        ]
    );
    // Clean answers are state too; the error answer and non-own sources are not.
    let clean = states.iter().filter(|s| !s.2).count();
    assert_eq!(states.len(), 7 * 3 - 1);
    assert_eq!(clean, 20 - 5);
    assert!(!states
        .iter()
        .any(|s| s.0 == "192.0.2.9" && s.1 == "zen.spamhaus.org"));
    assert!(!states.iter().any(|s| s.0.starts_with("198.51.100.")));

    // The table shows the listings; --json gives them line by line.
    assert!(
        stdout.contains("2001:db8::1") && stdout.contains("v6 listed"),
        "{stdout}"
    );
    let json = text(&work.dmarcwatch(&["--json", "blocklist"]).stdout);
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[2]["return_code"], "127.0.0.4,127.0.0.10");

    // One listed alert per listing, with what it touches and what to do.
    let queued = alerts(&work);
    assert_eq!(queued.len(), 5, "{queued:#?}");
    assert!(queued.iter().all(|a| a.0 == "blocklist_listed"));
    let ours = queued
        .iter()
        .find(|a| a.2["ip"] == "203.0.113.5")
        .expect("alert for our own source");
    assert_eq!(
        ours.1,
        "203.0.113.5 is listed on dnsbl.example.org (127.0.0.2)"
    );
    assert_eq!(ours.2["sends_for"][0]["domain"], "example.com");
    assert_eq!(ours.2["sends_for"][0]["messages"], 25);
    assert_eq!(ours.2["messages_last_7_days"], 25);
    assert!(
        ours.3.iter().any(|s| s.contains("compromise")),
        "{:?}",
        ours.3
    );
    let sbl = queued
        .iter()
        .find(|a| a.2["ip"] == "192.0.2.1" && a.2["zone"] == "zen.spamhaus.org")
        .expect("SBL alert");
    assert_eq!(
        sbl.2["return_code_meaning"]
            .as_str()
            .map(|m| m.contains("SBL")),
        Some(true)
    );
    assert_eq!(
        sbl.2["reason"],
        "Listed in SBL, see https://check.spamhaus.org/sbl/query/SBL123"
    );
    assert!(
        sbl.3
            .iter()
            .any(|s| s.contains("https://check.spamhaus.org/")),
        "{:?}",
        sbl.3
    );

    // Nothing changed: the next check queues nothing.
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(alerts(&work).len(), 5);
}

#[test]
fn a_listing_appears_then_disappears_one_alert_each_way() {
    let clean = ZONES.to_string();
    let listed = format!(
        "{ZONES}host-record=20.2.0.192.bl.example.net,127.0.0.2\n\
         txt-record=20.2.0.192.bl.example.net,\"spam trap hits\"\n"
    );
    let mut dns = Dnsmasq::start(&clean);
    let work = workdir(&dns.addr(), &["192.0.2.20"], "from_reports = false");
    let kinds = |w: &Workdir| alerts(w).into_iter().map(|a| a.0).collect::<Vec<_>>();

    assert_eq!(work.dmarcwatch(&["blocklist"]).status.code(), Some(0));
    assert!(kinds(&work).is_empty());

    dns.restart(&listed);
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("newly listed: 192.0.2.20 on bl.example.net"));
    assert_eq!(kinds(&work), ["blocklist_listed"]);
    for _ in 0..2 {
        assert_eq!(work.dmarcwatch(&["blocklist"]).status.code(), Some(1));
    }
    assert_eq!(kinds(&work), ["blocklist_listed"]);

    dns.restart(&clean);
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("delisted: 192.0.2.20 on bl.example.net"));
    for _ in 0..2 {
        assert_eq!(work.dmarcwatch(&["blocklist"]).status.code(), Some(0));
    }
    let queued = alerts(&work);
    assert_eq!(
        queued.iter().map(|a| a.0.as_str()).collect::<Vec<_>>(),
        ["blocklist_listed", "blocklist_delisted"]
    );
    let delisted = &queued[1];
    assert_eq!(
        delisted.1,
        "192.0.2.20 is no longer listed on bl.example.net"
    );
    assert_eq!(delisted.2["return_code"], "127.0.0.2");
    assert_eq!(delisted.2["reason"], "spam trap hits");
    assert!(delisted.2["listed_since"].is_string());

    // The queued alerts reach a person (no [[alert]]: standard output).
    let out = work.dmarcwatch(&["alerts", "send"]);
    assert!(
        text(&out.stdout).contains("192.0.2.20 is listed on bl.example.net (127.0.0.2)"),
        "{}",
        text(&out.stdout)
    );
}

/// A UDP socket that never answers: a resolver gone silent.
fn silent_server() -> (UdpSocket, String) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let addr = socket.local_addr().expect("addr").to_string();
    (socket, addr)
}

#[test]
fn failures_keep_the_last_known_state() {
    let listed = format!("{ZONES}host-record=30.2.0.192.zen.spamhaus.org,127.0.0.3\n");
    let mut dns = Dnsmasq::start(&listed);
    let work = workdir(
        &dns.addr(),
        &["192.0.2.30", "192.0.2.31"],
        "from_reports = false",
    );
    assert_eq!(work.dmarcwatch(&["blocklist"]).status.code(), Some(1));
    let before = states(&work);
    let changed_before: String = work
        .db()
        .query_row(
            "SELECT changed_at FROM v_blocklist WHERE ip = '192.0.2.30' AND zone = 'zen.spamhaus.org'",
            [],
            |r| r.get(0),
        )
        .expect("row");

    // The zone refuses (Spamhaus's open-resolver answer): an error, not a delisting.
    dns.restart(&format!(
        "{ZONES}host-record=30.2.0.192.zen.spamhaus.org,127.255.255.254\n"
    ));
    let out = work.dmarcwatch(&["blocklist"]);
    assert!(
        text(&out.stderr).contains("127.255.255.254"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(states(&work), before);

    // The server goes away: every query fails, the command says so, state kept.
    dns.stop();
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("no blocklist answered"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(states(&work), before);

    // A resolver that swallows queries (timeouts): the same.
    let (_socket, silent) = silent_server();
    work.rewrite_config(|c| c.replace(&dns.addr(), &silent));
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no answer in time"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(states(&work), before);

    let db = work.db();
    let (changed_at, last_error): (String, Option<String>) = db
        .query_row(
            "SELECT changed_at, last_error FROM v_blocklist
             WHERE ip = '192.0.2.30' AND zone = 'zen.spamhaus.org'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(changed_at, changed_before);
    assert!(last_error.is_some_and(|e| e.contains("no answer in time")));
    // Only the first listing alerted.
    assert_eq!(alerts(&work).len(), 1);
}

#[test]
fn queries_to_a_zone_are_paced_by_rate_per_zone() {
    let dns = Dnsmasq::start(ZONES);
    let ips: Vec<String> = (1..=31).map(|i| format!("198.51.100.{i}")).collect();
    let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    let work = workdir(
        &dns.addr(),
        &refs,
        "from_reports = false\nrate_per_zone = 20\nconcurrency = 8",
    );
    let started = std::time::Instant::now();
    let out = work.dmarcwatch(&["blocklist"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // 31 queries per zone at 20/s: the last one leaves 1.5 s after the first.
    assert!(started.elapsed() >= std::time::Duration::from_millis(1500));
    assert_eq!(states(&work).len(), 31 * 3);
    assert!(dns.queries() >= 93);
}
