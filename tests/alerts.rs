//! Delivery end to end, against real receivers on 127.0.0.1: a webhook
//! (wiremock) that is down for several attempts and then up receives each
//! alert exactly once, signed; a refused alert is retried alone and given
//! up; Slack gets valid Block Kit with hostile report text escaped; e-mail
//! goes through a real SMTP server (aiosmtpd) over STARTTLS with AUTH and
//! over implicit TLS, survives the server being down, and keeps report
//! text out of its headers; digests reach channels whatever their
//! min_severity.

mod support;

use dmarcwatch::alert::{channel, deliver, outbox, StoredAlert};
use dmarcwatch::store::Store;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::scenario::{World, CONFIG, D0, DAY};
use support::smtp::{Mode, Smtp};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Detection runs at this time; delivery passes count from it.
const T0: i64 = D0 + 4 * DAY + 3600;

/// Baseline + the new failing sender + the ESP migration, detected at T0:
/// new_sender (info, Amazon SES), failing_sender and alignment_drift (critical).
fn three_alerts(channels_toml: &str) -> (World, Vec<StoredAlert>) {
    let mut w = World::new(&format!("{CONFIG}\n{channels_toml}"));
    w.ingest("baseline");
    w.ingest("new-failing");
    w.ingest("migration");
    let alerts = w.detect(T0);
    assert_eq!(
        alerts.len(),
        3,
        "{:#?}",
        support::scenario::summary(&alerts)
    );
    (w, alerts)
}

async fn pass(store: &mut Store, channels: &[channel::Channel], at: i64) -> deliver::PassStats {
    deliver::deliver_due(store, channels, at)
        .await
        .expect("delivery pass")
}

fn hmac_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac key");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header_text(r: &wiremock::Request, name: &str) -> String {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// (state, attempts) of each alert on `channel`, by id.
fn states(store: &Store, channel: &str) -> std::collections::BTreeMap<String, (String, i64)> {
    let mut stmt = store
        .conn()
        .prepare("SELECT id, state, attempts FROM v_alerts WHERE channel = ?1")
        .expect("v_alerts");
    stmt.query_map([channel], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[tokio::test]
async fn webhook_down_then_up_gets_each_alert_once_signed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let secret_dir = tempfile::tempdir().expect("dir");
    let secret_file = secret_dir.path().join("webhook.secret");
    std::fs::write(&secret_file, "s3cr3t-key\n").expect("secret");
    let (mut w, alerts) = three_alerts(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"{}/hook\"\nsecret_file = \"{}\"\nmin_severity = \"info\"\n",
        server.uri(),
        secret_file.display()
    ));
    let channels = channel::from_config(w.config()).expect("channels");
    let t = T0 + 60;
    // Down: one probe per backoff step (30 s, 60 s, 120 s, 240 s), never a burst.
    let mut probes = Vec::new();
    for at in [t, t, t + 29, t + 30, t + 60, t + 90, t + 200, t + 210] {
        let s = pass(&mut w.store, &channels, at).await;
        probes.push((at - t, s.failed, s.delivered, s.backing_off));
    }
    assert_eq!(
        probes,
        vec![
            (0, 1, 0, 0),
            (0, 0, 0, 1),
            (29, 0, 0, 1),
            (30, 1, 0, 0),
            (60, 0, 0, 1),
            (90, 1, 0, 0),
            (200, 0, 0, 1),
            (210, 1, 0, 0),
        ]
    );
    // Up again: every alert once, then nothing more.
    let s = pass(&mut w.store, &channels, t + 450).await;
    assert_eq!((s.delivered, s.failed), (3, 0));
    let s = pass(&mut w.store, &channels, t + 10_000).await;
    assert_eq!((s.delivered, s.failed), (0, 0));

    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 7);
    let oldest = &alerts[0].id;
    for r in &requests {
        let body: serde_json::Value = r.body_json().expect("JSON body");
        assert_eq!(header_text(r, "content-type"), "application/json");
        assert_eq!(
            header_text(r, "x-dmarcwatch-event-id"),
            body["id"].as_str().unwrap_or("")
        );
        assert_eq!(
            header_text(r, "x-dmarcwatch-signature"),
            format!("sha256={}", hmac_hex(b"s3cr3t-key", &r.body)),
            "signature of the exact body"
        );
    }
    // The four refused were all the oldest alert (the queue waits behind it).
    let ids: Vec<String> = requests
        .iter()
        .map(|r| header_text(r, "x-dmarcwatch-event-id"))
        .collect();
    assert!(ids[..4].iter().all(|id| id == oldest), "{ids:?}");
    let mut delivered: Vec<String> = ids[4..].to_vec();
    delivered.sort();
    let mut expected: Vec<String> = alerts.iter().map(|a| a.id.clone()).collect();
    expected.sort();
    assert_eq!(delivered, expected, "each alert exactly once");

    // The payload of the interface spec.
    let body: serde_json::Value = requests[4].body_json().expect("json");
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "created_at",
            "domain",
            "evidence",
            "fix_steps",
            "id",
            "kind",
            "severity",
            "summary",
            "title"
        ]
    );
    assert_eq!(body["created_at"], "2025-12-05T01:00:00Z");

    let st = states(&w.store, "webhook");
    assert_eq!(st[oldest], ("delivered".to_string(), 5));
    assert!(st.values().all(|(state, _)| state == "delivered"), "{st:?}");
}

#[tokio::test]
async fn a_refused_alert_is_retried_alone_then_given_up() {
    let server = MockServer::start().await;
    let (mut w, alerts) = three_alerts(&format!(
        "[[alert]]\ntype = \"webhook\"\nname = \"ops\"\nurl = \"{}/hook\"\nmin_severity = \"info\"\n",
        server.uri()
    ));
    let refused = alerts[1].id.clone();
    Mock::given(method("POST"))
        .and(header("x-dmarcwatch-event-id", refused.as_str()))
        .respond_with(ResponseTemplate::new(400).set_body_string("bad payload"))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    let channels = channel::from_config(w.config()).expect("channels");
    let s = pass(&mut w.store, &channels, T0).await;
    assert_eq!(
        (s.delivered, s.failed, s.given_up),
        (2, 1, 0),
        "the others are not held up"
    );
    let s = pass(&mut w.store, &channels, T0 + 30).await;
    assert_eq!((s.delivered, s.failed, s.given_up), (0, 1, 0));
    let s = pass(&mut w.store, &channels, T0 + 90).await;
    assert_eq!((s.delivered, s.failed, s.given_up), (0, 1, 1));
    let s = pass(&mut w.store, &channels, T0 + 100_000).await;
    assert_eq!((s.delivered, s.failed), (0, 0));
    let requests = server.received_requests().await.expect("recording");
    assert_eq!(requests.len(), 5);
    assert_eq!(states(&w.store, "ops")[&refused], ("failed".to_string(), 3));
    let listed = outbox::list(w.store.conn(), false, 10).expect("list");
    let failed = listed.iter().find(|l| l.id == refused).expect("listed");
    let error = failed.last_error.as_deref().unwrap_or_default();
    assert!(
        error.contains("HTTP 400") && error.contains("bad payload"),
        "{error}"
    );
    assert!(!error.contains("/hook"), "no URL path in errors: {error}");
}

/// Every string anywhere in a JSON value.
fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Block Kit as Slack validates it: block types, text object types, sizes.
fn assert_block_kit(msg: &serde_json::Value) {
    assert!(
        !msg["text"].as_str().unwrap_or_default().is_empty(),
        "fallback text"
    );
    let blocks = msg["blocks"].as_array().expect("blocks");
    assert!((1..=50).contains(&blocks.len()));
    for b in blocks {
        match b["type"].as_str() {
            Some("header") => {
                assert_eq!(b["text"]["type"], "plain_text");
                assert!(b["text"]["text"].as_str().expect("text").chars().count() <= 150);
            }
            Some("section") => {
                assert_eq!(b["text"]["type"], "mrkdwn");
                assert_eq!(b["text"]["verbatim"], true, "no auto links or mentions");
                let text = b["text"]["text"].as_str().expect("text");
                assert!(!text.is_empty() && text.chars().count() <= 3000);
                assert!(
                    !text.contains('<') && !text.contains('>'),
                    "unescaped: {text}"
                );
            }
            Some("context") => {
                let elements = b["elements"].as_array().expect("elements");
                assert!((1..=10).contains(&elements.len()));
                assert!(elements.iter().all(|e| e["type"] == "mrkdwn"));
            }
            other => panic!("unexpected block type {other:?}"),
        }
    }
}

#[tokio::test]
async fn slack_gets_block_kit_with_hostile_report_text_escaped() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/T0/B0/XXXX"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let url_file = dir.path().join("slack.url");
    std::fs::write(&url_file, format!("{}/services/T0/B0/XXXX\n", server.uri())).expect("url");
    let mut w = World::new(&format!(
        "{CONFIG}\n[[alert]]\ntype = \"slack\"\nurl_file = \"{}\"\n",
        url_file.display()
    ));
    w.ingest("baseline");
    w.ingest("hostile");
    let alerts = w.detect(T0);
    let hostile = alerts
        .iter()
        .find(|a| a.alert.kind.as_str() == "failing_sender")
        .expect("the hostile reporter's failing source");
    let channels = channel::from_config(w.config()).expect("channels");
    let s = pass(&mut w.store, &channels, T0).await;
    assert_eq!(
        s.delivered, 1,
        "the info alert stays below min_severity warning"
    );
    let requests = server.received_requests().await.expect("recording");
    let msg: serde_json::Value = requests[0].body_json().expect("JSON");
    assert_eq!(
        header_text(&requests[0], "x-dmarcwatch-event-id"),
        hostile.id
    );
    assert_block_kit(&msg);
    let mut all = Vec::new();
    strings(&msg, &mut all);
    let text = all.join("\n");
    for bad in [
        "<!channel>",
        "<script",
        "<b>",
        "\r",
        "Bcc: victim@example.org @here",
    ] {
        assert!(!text.contains(bad), "{bad:?} reached Slack:\n{text}");
    }
    for escaped in [
        "&lt;!channel&gt;",
        "&lt;script&gt;",
        "&lt;b&gt;bold&lt;/b&gt;.evil.example",
    ] {
        assert!(text.contains(escaped), "{escaped:?} missing:\n{text}");
    }
    assert!(
        text.contains("@\u{2060}here"),
        "mass mention broken with a word joiner"
    );
    assert!(
        msg["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap_or_default()
            .ends_with("Critical · failing sender · example.com"),
        "{}",
        msg["blocks"][0]
    );
}

fn email_channel(smtp: &Smtp, dir: &std::path::Path, password: Option<&str>) -> String {
    let mut toml = format!(
        "[[alert]]\ntype = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\ntls = \"{}\"\n\
         from = \"dmarcwatch <alerts@example.com>\"\nto = [\"postmaster@example.com\"]\n",
        smtp.port,
        smtp.mode.toml()
    );
    if smtp.mode != Mode::Plain {
        toml.push_str(&format!("ca_file = \"{}\"\n", smtp.ca_file().display()));
    }
    if let Some(p) = password {
        let file = dir.join("smtp.password");
        std::fs::write(&file, format!("{p}\n")).expect("password file");
        toml.push_str(&format!(
            "username = \"alerts\"\npassword_file = \"{}\"\n",
            file.display()
        ));
    }
    toml
}

fn parse_mail(raw: &str) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a parsable message")
}

#[tokio::test(flavor = "multi_thread")]
async fn email_over_starttls_with_auth_survives_the_server_being_down() {
    let mut smtp = Smtp::start_with_auth(Mode::Starttls, Some(("alerts", "smtp-pass")));
    let dir = tempfile::tempdir().expect("dir");
    let mut w = World::new(&format!(
        "{CONFIG}\n{}",
        email_channel(&smtp, dir.path(), Some("smtp-pass"))
    ));
    w.ingest("baseline");
    w.ingest("hostile");
    let alerts = w.detect(T0);
    let hostile = alerts
        .iter()
        .find(|a| a.alert.severity.as_str() == "critical")
        .expect("critical alert");
    let channels = channel::from_config(w.config()).expect("channels");

    smtp.stop();
    let s = pass(&mut w.store, &channels, T0).await;
    assert_eq!((s.delivered, s.failed), (0, 1));
    let st = states(&w.store, "email");
    assert_eq!(st[&hostile.id], ("pending".to_string(), 1));
    smtp.start_again();
    let s = pass(&mut w.store, &channels, T0 + 10).await;
    assert_eq!(s.backing_off, 1, "still backing off after 10 s");
    let s = pass(&mut w.store, &channels, T0 + 30).await;
    assert_eq!((s.delivered, s.failed), (1, 0), "{}", smtp.log());
    assert_eq!(pass(&mut w.store, &channels, T0 + 5000).await.delivered, 0);

    let messages = smtp.wait_for(1);
    assert_eq!(messages.len(), 1, "exactly one copy");
    let raw = &messages[0];
    let m = parse_mail(raw);
    assert_eq!(
        m.subject(),
        Some("[dmarcwatch] Critical: failing sender for example.com")
    );
    let header = |name: &str| {
        m.header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    assert_eq!(header("X-Dmarcwatch-Event-Id"), hostile.id);
    assert_eq!(header("X-RcptTo"), "postmaster@example.com");
    assert_eq!(
        m.message_id(),
        Some(format!("{}@example.com", hostile.id).as_str())
    );
    let head = raw.split("\n\n").next().unwrap_or_default();
    assert!(
        !head
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
        "no header injected from report text:\n{head}"
    );
    assert!(
        !head.contains("script") && !head.contains("channel"),
        "{head}"
    );
    let text = m.body_text(0).expect("text part");
    let html = m.body_html(0).expect("html part");
    assert!(text.contains(&hostile.alert.title), "{text}");
    assert!(text.contains("What to do:"), "{text}");
    assert!(
        html.contains("&lt;!channel&gt;") && html.contains("&lt;script&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<b>bold"),
        "{html}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn email_over_implicit_tls_and_a_wrong_password_is_a_channel_problem() {
    let smtp = Smtp::start(Mode::Implicit);
    let dir = tempfile::tempdir().expect("dir");
    let (mut w, alerts) = three_alerts(&email_channel(&smtp, dir.path(), None));
    let channels = channel::from_config(w.config()).expect("channels");
    let s = pass(&mut w.store, &channels, T0).await;
    assert_eq!((s.delivered, s.failed), (2, 0), "{}", smtp.log());
    let subjects: Vec<String> = smtp
        .wait_for(2)
        .iter()
        .map(|raw| parse_mail(raw).subject().unwrap_or_default().to_string())
        .collect();
    let mut subjects = subjects;
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "[dmarcwatch] Critical: alignment drift for example.com",
            "[dmarcwatch] Critical: failing sender for example.com",
        ]
    );
    assert!(alerts.len() == 3, "the info alert is below min_severity");

    // A server that refuses the password: the channel backs off, nothing is given up.
    let auth = Smtp::start_with_auth(Mode::Starttls, Some(("alerts", "right")));
    let mut w = World::new(&format!(
        "{CONFIG}\n{}",
        email_channel(&auth, dir.path(), Some("wrong"))
    ));
    w.ingest("baseline");
    w.ingest("new-failing");
    w.detect(T0);
    let channels = channel::from_config(w.config()).expect("channels");
    let s = pass(&mut w.store, &channels, T0).await;
    assert_eq!((s.delivered, s.failed, s.given_up), (0, 1, 0));
    let state = outbox::channel_state(w.store.conn(), "email").expect("state");
    assert_eq!(state.next_attempt_at, T0 + 30);
    let error = state.last_error.unwrap_or_default();
    assert!(error.contains("535") && !error.contains("wrong"), "{error}");
}

#[tokio::test]
async fn digest_reaches_every_channel_whatever_its_min_severity() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let mut w = World::new(&format!(
        "{CONFIG}\n[[alert]]\ntype = \"webhook\"\nurl = \"{}/d\"\nmin_severity = \"critical\"\n",
        server.uri()
    ));
    w.ingest("baseline");
    w.ingest("new-failing");
    let ids = dmarcwatch::alert::digest::enqueue(w.store.conn(), w.config(), T0).expect("digest");
    assert_eq!(ids.len(), 1);
    let again =
        dmarcwatch::alert::digest::enqueue(w.store.conn(), w.config(), T0 + 60).expect("digest");
    assert!(again.is_empty(), "one digest per domain and day");
    let d = outbox::load(w.store.conn(), &ids[0])
        .expect("load")
        .expect("digest");
    let summary = &d.alert.summary;
    for part in [
        "example.com, 2025-11-28 to 2025-12-05: 5476 messages in 8 reports",
        "Top failing sources: 203.0.113.66: 300 of 300 fail",
        "New sources (not approved): ",
        "203.0.113.66",
        "Blocklists: none of the domain's sources is listed.",
    ] {
        assert!(summary.contains(part), "missing {part:?} in\n{summary}");
    }
    assert!(
        summary.contains("(no data for the period before)"),
        "{summary}"
    );
    let channels = channel::from_config(w.config()).expect("channels");
    assert_eq!(pass(&mut w.store, &channels, T0).await.delivered, 1);
    let requests = server.received_requests().await.expect("recording");
    let body: serde_json::Value = requests[0].body_json().expect("json");
    assert_eq!(body["kind"], "digest");
}

#[test]
fn channel_config_errors_name_the_section_and_key() {
    let err = |text: &str| dmarcwatch::config::parse(text).expect_err("invalid");
    let e = err("[[alert]]\ntype = \"webhook\"\nurl = \"http://hooks.example.com/x\"\n");
    assert!(
        e.contains("[[alert]] \"webhook\"") && e.contains("https"),
        "{e}"
    );
    let e = err("[[alert]]\ntype = \"slack\"\n");
    assert!(
        e.contains("[[alert]] \"slack\"") && e.contains("url_file"),
        "{e}"
    );
    let e = err(
        "[[alert]]\ntype = \"email\"\nsmtp_host = \"smtp.example.com\"\nfrom = \"not an address\"\nto = [\"a@example.com\"]\n",
    );
    assert!(e.contains("from") && e.contains("not an address"), "{e}");
    let e = err("[[alert]]\ntype = \"email\"\nsmtp_host = \"smtp.example.com\"\ntls = \"none\"\nfrom = \"a@example.com\"\nto = [\"b@example.com\"]\n");
    assert!(e.contains("tls = \"none\""), "{e}");
    let two = "[[alert]]\ntype = \"webhook\"\nurl = \"https://a.example/x\"\n\
               [[alert]]\ntype = \"webhook\"\nurl = \"https://b.example/y\"\n";
    let config = dmarcwatch::config::parse(two).expect("two webhooks");
    assert_eq!(channel::names(&config.alerts), ["webhook-1", "webhook-2"]);
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("nope.secret");
    let config = dmarcwatch::config::parse(&format!(
        "[[alert]]\ntype = \"webhook\"\nurl = \"https://a.example/x\"\nsecret_file = \"{}\"\n",
        missing.display()
    ))
    .expect("valid until built");
    let e = channel::from_config(&config)
        .err()
        .expect("missing secret file");
    let e = e.to_string();
    assert!(
        e.contains("secret_file") && e.contains("nope.secret"),
        "{e}"
    );
}

/// `check-config` reaches each channel and sends nothing: SMTP over
/// STARTTLS with AUTH logs in; a wrong password, a closed port and a
/// webhook that answers are each told apart; no mail, no POST.
#[tokio::test(flavor = "multi_thread")]
async fn check_config_reaches_each_channel_without_sending() {
    let smtp = Smtp::start_with_auth(Mode::Starttls, Some(("alerts", "s3cret")));
    let hook = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(405))
        .expect(1)
        .mount(&hook)
        .await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let dir = tempfile::tempdir().expect("dir");
    let good = email_channel(&smtp, dir.path(), Some("s3cret"))
        .replace("[[alert]]\n", "[[alert]]\nname = \"mail\"\n");
    let wrong_dir = dir.path().join("wrong");
    std::fs::create_dir(&wrong_dir).expect("dir");
    let wrong = email_channel(&smtp, &wrong_dir, Some("guess"))
        .replace("[[alert]]\n", "[[alert]]\nname = \"mail-wrong\"\n");
    let config = format!(
        "{good}\n{wrong}\n[[alert]]\ntype = \"webhook\"\nname = \"ops\"\nurl = \"{}/hook/SECRET\"\n\n\
         [[alert]]\ntype = \"slack\"\nurl = \"http://127.0.0.1:{closed_port}/services/SECRET\"\n",
        hook.uri()
    );
    std::fs::write(dir.path().join("dmarcwatch.toml"), config).expect("config");
    let path = dir.path().to_path_buf();
    let out =
        tokio::task::spawn_blocking(move || support::cli::dmarcwatch(&path, &["check-config"]))
            .await
            .expect("join");
    let (stdout, stderr) = (
        support::cli::text(&out.stdout),
        support::cli::text(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "alert channel \"mail\" (SMTP 127.0.0.1:{}): connected, logged in as \"alerts\"",
            smtp.port
        )),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("alert channel \"ops\" (webhook to 127.0.0.1): 127.0.0.1 answered HTTP 405"),
        "{stdout}"
    );
    let problems: Vec<&str> = stderr.lines().collect();
    assert_eq!(problems.len(), 2, "{stderr}");
    assert!(
        problems[0].contains("alert channel \"mail-wrong\"")
            && problems[0].contains("(535)")
            && problems[0].contains("check username and password_file"),
        "{stderr}"
    );
    assert!(
        problems[1].contains("alert channel \"slack\"") && problems[1].contains("127.0.0.1:"),
        "{stderr}"
    );
    assert!(stdout.contains("2 problem(s)"), "{stdout}");
    assert!(
        !format!("{stdout}{stderr}").contains("SECRET"),
        "URL paths are secrets"
    );
    assert!(smtp.messages().is_empty(), "check-config sends no mail");
    hook.verify().await;
}
