//! `dmarcwatch fetch` and `check-config` against a real Dovecot (started by
//! the test, see tests/support/dovecot.rs): the three TLS modes, clear
//! errors for a wrong password and an untrusted certificate, messages in
//! the right folders, failures in v_failures, the fallbacks when the server
//! lacks MOVE or UIDPLUS, re-fetching after a crash between commit and
//! move, and a folder recreated with a new UIDVALIDITY.

mod support;

use support::dovecot::{Dovecot, Options};
use support::report_mail::{no_report_email, report_email};
use support::workdir::Workdir;

const PROCESSED: &str = "DMARC/Processed";
const INVALID: &str = "DMARC/Invalid";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fetch_ok(setup: &Workdir) -> String {
    let out = setup.dmarcwatch(&["fetch"]);
    assert!(
        out.status.success(),
        "fetch failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

#[test]
fn fetch_over_plain_starttls_and_implicit_tls_files_every_message() {
    let dovecot = Dovecot::start();
    let mut mail = dovecot.client();
    let mut total_reports = 0;
    for (round, tls) in ["none", "starttls", "implicit"].into_iter().enumerate() {
        let setup = Workdir::new(&dovecot, tls, "");
        mail.append("INBOX", &report_email(round * 10));
        mail.append("INBOX", &report_email(round * 10 + 1));
        mail.append("INBOX", &no_report_email(round));
        let stdout = fetch_ok(&setup);
        assert_eq!(
            stdout.trim().lines().last(),
            Some("fetch reports: 3 messages, 2 reports new, 0 duplicates, 1 invalid, 4 records"),
            "tls = {tls}"
        );
        // No channel configured: detection's alert for the bad message is
        // printed on standard output (the embedded default).
        assert!(
            stdout.contains("unreadable report"),
            "tls = {tls}: {stdout}"
        );
        total_reports += 2;
        assert_eq!(mail.count("INBOX"), 0, "tls = {tls}: INBOX emptied");
        assert_eq!(mail.count(PROCESSED), total_reports, "tls = {tls}");
        assert_eq!(mail.count(INVALID), round as u32 + 1, "tls = {tls}");
        assert_eq!(setup.count("SELECT count(*) FROM v_reports"), 2);
        // The message with no report is in v_failures with its origin and reason.
        let (origin, error): (String, String) = setup
            .db()
            .query_row("SELECT origin, error FROM v_failures", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("one failure");
        assert!(
            origin.starts_with("imap://reports/INBOX;UIDVALIDITY=") && origin.contains("/;UID="),
            "{origin}"
        );
        assert!(error.contains("no report attachment"), "{error}");
    }
    // The messages were moved whole: what is in the processed folder parses.
    let processed = mail.bodies(PROCESSED);
    assert_eq!(processed.len(), 6);
    assert!(processed.iter().all(|b| text(b).contains("<report_id>dw-")));
    assert!(mail
        .bodies(INVALID)
        .iter()
        .all(|b| text(b).contains("No report in here")));
}

#[test]
fn wrong_password_is_a_clear_error_without_the_password() {
    let dovecot = Dovecot::start();
    let setup = Workdir::new(&dovecot, "implicit", "");
    std::fs::write(setup.path("imap.password"), "hunter2-wrong\n").expect("password");
    dovecot.client().append("INBOX", &report_email(1));
    let out = setup.dmarcwatch(&["fetch"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("mailbox reports (localhost:"), "{err}");
    assert!(err.contains("login as \"dmarc\" refused"), "{err}");
    assert!(err.contains("AUTHENTICATIONFAILED"), "{err}");
    assert!(err.contains("password_file"), "{err}");
    assert!(
        !err.contains("hunter2"),
        "the password must not be shown: {err}"
    );
    assert_eq!(dovecot.client().count("INBOX"), 1, "nothing moved");
}

#[test]
fn untrusted_certificate_is_a_clear_error() {
    let dovecot = Dovecot::start();
    for tls in ["implicit", "starttls"] {
        let setup = Workdir::new(&dovecot, tls, "");
        // A CA that did not sign the server's certificate.
        support::dovecot::make_ca(setup.dir.path(), "other");
        let other = setup.path("other.pem");
        setup.rewrite_config(|c| {
            c.replace(
                &dovecot.ca_file().display().to_string(),
                &other.display().to_string(),
            )
        });
        let out = setup.dmarcwatch(&["fetch"]);
        assert_eq!(out.status.code(), Some(1), "tls = {tls}");
        let err = text(&out.stderr);
        assert!(
            err.contains("TLS certificate not trusted (UnknownIssuer)"),
            "{err}"
        );
        assert!(
            err.contains(
                "put the server's CA certificate (or its self-signed certificate) in ca_file"
            ),
            "{err}"
        );
        // Without ca_file only the system store is trusted: same answer.
        setup.rewrite_config(|c| {
            c.lines()
                .filter(|l| !l.starts_with("ca_file"))
                .collect::<Vec<_>>()
                .join("\n")
        });
        let err = text(&setup.dmarcwatch(&["fetch"]).stderr);
        assert!(err.contains("UnknownIssuer"), "{err}");
    }
}

#[test]
fn a_crash_between_commit_and_move_stores_nothing_twice() {
    let dovecot = Dovecot::start();
    let setup = Workdir::new(&dovecot, "none", "");
    let mut mail = dovecot.client();
    let messages: Vec<Vec<u8>> = (0..5)
        .map(report_email)
        .chain([no_report_email(0)])
        .collect();
    for m in &messages {
        mail.append("INBOX", m);
    }
    fetch_ok(&setup);
    // As if the process died after the commits and before the MOVE: the same
    // messages are back in the folder.
    for m in &messages {
        mail.append("INBOX", m);
    }
    let stdout = fetch_ok(&setup);
    assert!(
        stdout.contains("6 messages, 0 reports new, 5 duplicates, 1 invalid"),
        "{stdout}"
    );
    assert_eq!(setup.count("SELECT count(*) FROM v_reports"), 5);
    assert_eq!(setup.count("SELECT count(*) FROM v_records"), 10);
    assert_eq!(setup.count("SELECT count(*) FROM v_failures"), 1);
    assert_eq!(setup.count("SELECT attempts FROM v_failures"), 2);
    assert_eq!(mail.count("INBOX"), 0);
}

#[test]
fn without_move_or_uidplus_the_fallbacks_empty_the_folder() {
    for caps in ["IMAP4rev1 IDLE UIDPLUS", "IMAP4rev1 IDLE"] {
        let dovecot = Dovecot::start_with(Options {
            capabilities: Some(caps.into()),
        });
        let setup = Workdir::new(&dovecot, "none", "");
        let mut mail = dovecot.client();
        for n in 0..7 {
            mail.append("INBOX", &report_email(n));
        }
        mail.append("INBOX", &no_report_email(1));
        let out = setup.dmarcwatch(&["-v", "fetch"]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(
            stdout.contains("8 messages, 7 reports new"),
            "{caps}: {stdout}{stderr}"
        );
        assert_eq!(mail.count("INBOX"), 0, "{caps}");
        assert_eq!(mail.count(PROCESSED), 7, "{caps}");
        assert_eq!(mail.count(INVALID), 1, "{caps}");
        let expected = if caps.contains("UIDPLUS") {
            "moving 7 messages to \"DMARC/Processed\" by UID COPY + UID EXPUNGE"
        } else {
            "moving 7 messages to \"DMARC/Processed\" by UID COPY + EXPUNGE"
        };
        assert!(stderr.contains(expected), "{caps}: {stderr}");
        assert!(!stderr.contains("by UID MOVE"), "{caps}: {stderr}");
    }
}

#[test]
fn a_recreated_folder_with_a_new_uidvalidity_is_read_again_safely() {
    let dovecot = Dovecot::start();
    let setup = Workdir::new(&dovecot, "none", "");
    setup.rewrite_config(|c| c.replace("folder = \"INBOX\"", "folder = \"Reports\""));
    let mut mail = dovecot.client();
    mail.create("Reports");
    for n in 0..3 {
        mail.append("Reports", &report_email(n));
    }
    let first = mail.uid_validity("Reports");
    fetch_ok(&setup);
    mail.delete("Reports");
    mail.create("Reports");
    assert_ne!(
        mail.uid_validity("Reports"),
        first,
        "Dovecot gives a new UIDVALIDITY"
    );
    // Same UIDs 1..3 again, now with other content order, plus one new report.
    for n in [2, 1, 0, 3] {
        mail.append("Reports", &report_email(n));
    }
    let stdout = fetch_ok(&setup);
    assert!(
        stdout.contains("4 messages, 1 reports new, 3 duplicates"),
        "{stdout}"
    );
    assert_eq!(setup.count("SELECT count(*) FROM v_reports"), 4);
    assert_eq!(mail.count("Reports"), 0);
    assert_eq!(mail.count(PROCESSED), 7);
}

#[test]
fn a_message_over_the_size_limit_goes_to_invalid_with_the_reason() {
    let dovecot = Dovecot::start();
    let setup = Workdir::new(
        &dovecot,
        "none",
        "\n[limits]\nmax_message_bytes = 1048576\n",
    );
    let mut mail = dovecot.client();
    let mut big = report_email(1);
    let padding = format!("X-Padding: {}\r\n", "x".repeat(900));
    let mut padded = Vec::new();
    for _ in 0..1300 {
        padded.extend_from_slice(padding.as_bytes());
    }
    padded.append(&mut big);
    mail.append("INBOX", &padded);
    mail.append("INBOX", &report_email(2));
    let stdout = fetch_ok(&setup);
    assert!(
        stdout.contains("2 messages, 1 reports new, 0 duplicates, 1 invalid"),
        "{stdout}"
    );
    let error: String = setup
        .db()
        .query_row("SELECT error FROM v_failures", [], |r| r.get(0))
        .expect("failure");
    assert!(error.contains("larger than 1 MB"), "{error}");
    assert!(error.contains("max_message_bytes"), "{error}");
    assert_eq!(mail.count(INVALID), 1);
}

#[test]
fn check_config_logs_in_and_lists_the_folders() {
    let dovecot = Dovecot::start();
    let setup = Workdir::new(&dovecot, "starttls", "");
    dovecot.client().append("INBOX", &report_email(1));
    let out = setup.dmarcwatch(&["check-config"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("config (dmarcwatch.toml): valid"),
        "{stdout}"
    );
    assert!(
        stdout.contains("STARTTLS): logged in as \"dmarc\"; MOVE yes, UIDPLUS yes, IDLE yes"),
        "{stdout}"
    );
    assert!(stdout.contains("folder \"INBOX\": 1 messages"), "{stdout}");
    assert!(
        stdout.contains(
            "processed_folder \"DMARC/Processed\": does not exist yet (created on first use)"
        ),
        "{stdout}"
    );
    // check-config changes nothing.
    assert_eq!(dovecot.client().count("INBOX"), 1);
    assert!(!setup.path("dmarcwatch.db").exists());

    // A folder that is not there, and a config that does not load: exit 1, one line each.
    setup.rewrite_config(|c| c.replace("folder = \"INBOX\"", "folder = \"Inbox/DMARC\""));
    let out = setup.dmarcwatch(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("folder \"Inbox/DMARC\" does not exist on the server"),
        "{err}"
    );
    setup.rewrite_config(|c| {
        c.replace("host = \"localhost\"", "host = \"imap.example.com\"")
            .replace("tls = \"starttls\"", "tls = \"none\"")
    });
    let out = setup.dmarcwatch(&["check-config"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("tls = \"none\"") && err.contains("imap.example.com"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// IDLE is ended and issued again when its time is up (the daemon's
/// `idle::REISSUE`, ten minutes, shortened here): each renewal comes back
/// as `Reissue`, the connection stays usable, and the IDLE after two
/// renewals still hears a new message at once.
#[tokio::test(flavor = "multi_thread")]
async fn idle_renewal_keeps_the_connection_and_still_hears_new_mail() {
    use dmarcwatch::source::imap::idle::{self, Wake};
    use dmarcwatch::source::imap::Endpoint;
    use std::time::{Duration, Instant};

    let dovecot = std::sync::Arc::new(Dovecot::start());
    let setup = Workdir::new(&dovecot, "none", "");
    let config = dmarcwatch::config::load(Some(&setup.path("dmarcwatch.toml"))).expect("config");
    let endpoint = Endpoint::new(&config.mailboxes[0]).expect("endpoint");
    let mut conn = endpoint.connect().await.expect("connect");
    conn.session.select("INBOX").await.expect("select");
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let renew = Duration::from_millis(700);
    for round in 0..2 {
        let started = Instant::now();
        let (back, wake) = idle::wait(conn, &mut stop, renew).await.expect("idle");
        conn = back;
        assert_eq!(wake, Wake::Reissue, "round {round}");
        let took = started.elapsed();
        assert!(
            took >= renew && took < Duration::from_secs(10),
            "round {round}: {took:?}"
        );
    }
    let server = std::sync::Arc::clone(&dovecot);
    let append = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        server.client().append("INBOX", &report_email(1));
    });
    let started = Instant::now();
    let (back, wake) = idle::wait(conn, &mut stop, Duration::from_secs(60))
        .await
        .expect("idle");
    conn = back;
    append.await.expect("append");
    assert_eq!(wake, Wake::NewMail);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // The connection is still good for commands, and a stop ends a wait.
    conn.session.noop().await.expect("NOOP after IDLE");
    stop_tx.send(true).expect("stop");
    let (conn, wake) = idle::wait(conn, &mut stop, Duration::from_secs(60))
        .await
        .expect("idle");
    assert_eq!(wake, Wake::Stop);
    conn.logout().await;
}
