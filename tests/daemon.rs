//! `dmarcwatch run` against a real Dovecot: IDLE picks up a new message at
//! once; kill -9 at random points loses nothing and stores nothing twice;
//! a Dovecot restart is survived; SIGTERM stops it within 10 s with exit 0;
//! SIGHUP reloads (a bad config is refused, the old one runs on); a server
//! without IDLE is polled.

mod support;

use rand::Rng;
use std::time::{Duration, Instant};
use support::dovecot::{wait_until, Dovecot, MailClient, Options};
use support::report_mail::{no_report_email, report_email};
use support::workdir::{Background, Workdir};

const PROCESSED: &str = "DMARC/Processed";
const INVALID: &str = "DMARC/Invalid";

fn run(work: &Workdir, name: &str) -> Background {
    work.spawn(name, &["-v", "run"])
}

/// Stop with SIGTERM (once it has started); it must exit 0 within 10 s.
fn stop(mut daemon: Background) -> String {
    expect_log(&daemon, "started:", 20);
    daemon.signal("TERM");
    let (status, took) = daemon
        .wait(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("no exit 15 s after SIGTERM:\n{}", daemon.log()));
    assert!(
        status.success(),
        "exit {status} after SIGTERM:\n{}",
        daemon.log()
    );
    assert!(took < Duration::from_secs(10), "took {took:?} to stop");
    daemon.log()
}

/// The log must show `needle` within `secs` seconds.
fn expect_log(daemon: &Background, needle: &str, secs: u64) {
    assert!(
        daemon.wait_for_log(needle, Duration::from_secs(secs)),
        "no {needle:?} in the log:\n{}",
        daemon.log()
    );
}

/// `folder` must hold `n` messages within 15 s.
fn expect_filed(mail: &mut MailClient, folder: &str, n: u32, daemon: &Background) {
    assert!(
        wait_until(Duration::from_secs(15), || mail.count(folder) == n),
        "{folder} does not hold {n} messages:\n{}",
        daemon.log()
    );
}

fn filed(mail: &mut MailClient) -> u32 {
    mail.count(PROCESSED) + mail.count(INVALID)
}

#[test]
fn idle_picks_up_a_new_message_within_2_seconds() {
    let dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "implicit", "");
    let daemon = run(&work, "run");
    expect_log(&daemon, "waiting for new mail (IDLE)", 20);
    let mut mail = dovecot.client();
    for n in 0..3 {
        let appended = Instant::now();
        mail.append("INBOX", &report_email(n));
        let picked_up = wait_until(Duration::from_secs(10), || {
            mail.count(PROCESSED) == n as u32 + 1
        });
        let took = appended.elapsed();
        assert!(picked_up, "not filed within 10 s:\n{}", daemon.log());
        assert!(
            took < Duration::from_secs(2),
            "message {n} took {took:?}:\n{}",
            daemon.log()
        );
    }
    assert_eq!(work.count("SELECT count(*) FROM v_reports"), 3);
    let log = stop(daemon);
    assert!(log.contains("SIGTERM: stopping"), "{log}");
    assert!(log.contains("reports: INBOX UID 1: 1 reports new"), "{log}");
}

#[test]
fn kill_9_at_random_points_loses_nothing_and_stores_nothing_twice() {
    let dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "none", "");
    let mut mail = dovecot.client();
    const REPORTS: usize = 190;
    const OTHERS: usize = 10;
    for n in 0..REPORTS + OTHERS {
        if n % 20 == 19 {
            mail.append("INBOX", &no_report_email(n));
        } else {
            mail.append("INBOX", &report_email(n));
        }
    }
    let seed: u64 = rand::rng().random();
    eprintln!("kill -9 test seed {seed}");
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(seed);
    let mut interrupted = 0;
    // Kill again and again while work is left (bounded), then let it finish.
    for round in 0..40 {
        let mut daemon = run(&work, &format!("round{round}"));
        // Odd rounds: after a random time (start-up, login, listing, ...);
        // even rounds: right after a random number of commits (in the
        // middle of storing, between commit and move, or during a move).
        let when = if round % 2 == 1 {
            let delay = Duration::from_millis(rng.random_range(5..120));
            std::thread::sleep(delay);
            format!("after {delay:?}")
        } else {
            let commits = rng.random_range(1..60);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let log = daemon.log();
                let idle = log.contains("waiting for new mail");
                if idle || log.matches(" UID ").count() >= commits || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            format!("after {commits} commits")
        };
        daemon.kill9();
        // In the middle of a pass: it had started one and not finished the last.
        let log = daemon.log();
        if log.contains("messages waiting") && !log.contains("waiting for new mail") {
            interrupted += 1;
        }
        let left = mail.count("INBOX");
        eprintln!(
            "round {round}: killed {when}, {left} messages left, {} filed, {} reports stored",
            filed(&mut mail),
            work.count("SELECT count(*) FROM v_reports")
        );
        if left == 0 {
            break;
        }
    }
    // The last start runs to the end.
    let daemon = run(&work, "final");
    let done = wait_until(Duration::from_secs(60), || {
        mail.count("INBOX") == 0 && filed(&mut mail) == (REPORTS + OTHERS) as u32
    });
    assert!(done, "not finished:\n{}", daemon.log());
    stop(daemon);
    assert!(
        interrupted >= 3,
        "only {interrupted} kills hit work in progress; the test proves little"
    );
    assert_eq!(
        mail.count(PROCESSED),
        REPORTS as u32,
        "every report message once"
    );
    assert_eq!(mail.count(INVALID), OTHERS as u32);
    assert_eq!(
        work.count("SELECT count(*) FROM v_reports"),
        REPORTS as i64,
        "every report stored exactly once"
    );
    assert_eq!(
        work.count("SELECT count(DISTINCT report_id) FROM v_reports"),
        REPORTS as i64
    );
    assert_eq!(
        work.count("SELECT count(*) FROM v_records"),
        2 * REPORTS as i64
    );
    assert_eq!(work.count("SELECT count(*) FROM v_failures"), OTHERS as i64);
}

#[test]
fn a_dovecot_restart_is_survived_and_the_work_finished() {
    let mut dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "starttls", "");
    let daemon = run(&work, "run");
    let mut mail = dovecot.client();
    for n in 0..30 {
        mail.append("INBOX", &report_email(n));
    }
    assert!(
        wait_until(Duration::from_secs(20), || mail.count(PROCESSED) > 0),
        "{}",
        daemon.log()
    );
    drop(mail);
    dovecot.stop();
    std::thread::sleep(Duration::from_millis(300));
    dovecot.start_again();
    let mut mail = dovecot.client();
    for n in 30..60 {
        mail.append("INBOX", &report_email(n));
    }
    let done = wait_until(Duration::from_secs(60), || {
        mail.count("INBOX") == 0 && mail.count(PROCESSED) == 60
    });
    let log = daemon.log();
    assert!(done, "not finished after the restart:\n{log}");
    assert!(
        log.contains("retrying in"),
        "a reconnect was logged:\n{log}"
    );
    assert_eq!(work.count("SELECT count(*) FROM v_reports"), 60);
    stop(daemon);
}

#[test]
fn sigterm_in_the_middle_of_work_stops_cleanly_within_10_seconds() {
    let dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "none", "");
    let mut mail = dovecot.client();
    for n in 0..300 {
        mail.append("INBOX", &report_email(n));
    }
    let daemon = run(&work, "run");
    expect_log(&daemon, "UID 5:", 20);
    stop(daemon);
    // What was stored was also moved, or is stored and moved on the next run.
    let stored = work.count("SELECT count(*) FROM v_reports");
    let moved = mail.count(PROCESSED) as i64;
    assert!(moved <= stored, "moved {moved} but stored {stored}");
    let out = work.dmarcwatch(&["fetch"]);
    assert!(out.status.success());
    assert_eq!(mail.count(PROCESSED), 300);
    assert_eq!(work.count("SELECT count(*) FROM v_reports"), 300);
}

#[test]
fn sighup_reloads_and_a_bad_config_keeps_the_old_one() {
    let dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "none", "");
    let daemon = run(&work, "run");
    expect_log(&daemon, "waiting for new mail", 20);
    let good = std::fs::read_to_string(work.path("dmarcwatch.toml")).expect("config");
    std::fs::write(work.path("dmarcwatch.toml"), "[[mailbox]]\nname = 3\n").expect("bad config");
    daemon.signal("HUP");
    expect_log(
        &daemon,
        "SIGHUP: reload refused, the running config stays",
        10,
    );
    let mut mail = dovecot.client();
    mail.append("INBOX", &report_email(1));
    expect_filed(&mut mail, PROCESSED, 1, &daemon);
    std::fs::write(
        work.path("dmarcwatch.toml"),
        good.replace("DMARC/Processed", "DMARC/Done"),
    )
    .expect("new config");
    daemon.signal("HUP");
    expect_log(&daemon, "SIGHUP: reloaded", 15);
    mail.append("INBOX", &report_email(2));
    expect_filed(&mut mail, "DMARC/Done", 1, &daemon);
    stop(daemon);
}

#[test]
fn a_server_without_idle_is_polled() {
    let dovecot = Dovecot::start_with(Options {
        capabilities: Some("IMAP4rev1 UIDPLUS MOVE".into()),
    });
    let work = Workdir::new(&dovecot, "none", "poll_schedule = \"* * * * * *\"\n");
    let daemon = run(&work, "run");
    expect_log(&daemon, "does not offer IDLE; polling", 20);
    let mut mail = dovecot.client();
    mail.append("INBOX", &report_email(1));
    expect_filed(&mut mail, PROCESSED, 1, &daemon);
    stop(daemon);
}

#[test]
fn systemd_hears_ready_status_watchdog_and_stopping() {
    use std::os::unix::net::UnixDatagram;
    let dovecot = Dovecot::start();
    let work = Workdir::new(&dovecot, "none", "");
    let socket_path = work.path("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let daemon = work.spawn_with_env(
        "run",
        &["-v", "run"],
        &[
            ("NOTIFY_SOCKET", &socket_path.display().to_string()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut heard = String::new();
    let mut watchdog_pings = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline && !(watchdog_pings >= 3 && heard.contains("idle since")) {
        if let Ok(n) = socket.recv(&mut buf) {
            let datagram = String::from_utf8_lossy(&buf[..n]).into_owned();
            watchdog_pings += datagram.matches("WATCHDOG=1").count();
            heard.push_str(&datagram);
        }
    }
    assert!(heard.contains("READY=1\n"), "{heard}");
    assert!(
        heard
            .lines()
            .any(|l| l.starts_with("STATUS=") && l.contains("mailbox reports: idle since ")),
        "a one-line state: {heard}"
    );
    assert!(watchdog_pings >= 3, "pings at half of WatchdogSec: {heard}");
    let log = stop(daemon);
    let mut after = String::new();
    while let Ok(n) = socket.recv(&mut buf) {
        after.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(after.contains("STOPPING=1"), "{after}\n{log}");
}

#[test]
fn the_systemd_unit_is_rated_2_or_better() {
    let unit = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/dmarcwatch.service");
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager", unit])
        .output()
        .expect("systemd-analyze (Debian: apt-get install systemd; scripts/test.sh does)");
    let report = String::from_utf8_lossy(&out.stdout);
    let score: f64 = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for dmarcwatch.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no score in:\n{report}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(score <= 2.0, "exposure {score}:\n{report}");
    let unit_text = std::fs::read_to_string(unit).expect("unit");
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(unit_text.contains(line), "{line}");
    }
}
