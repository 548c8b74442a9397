//! `dmarcwatch check-config`: is the config valid, and does each thing it
//! names answer? Loads and validates the file, lists the schedules with
//! their next times, logs in to each mailbox and lists the folders it will
//! use (with their message counts; a missing destination is created on first
//! use, a missing source folder is a problem), and reaches each alert
//! channel without sending anything (SMTP: connect, TLS, log in, NOOP;
//! webhook and Slack: a HEAD request). One line per check on stdout, one
//! line per problem on stderr; exit 1 when there is a problem.

use crate::alert::channel;
use crate::config::{self, parse_cron, Config};
use crate::daemon::jobs::{self, Jobs};
use crate::daemon::scheduler::next_time;
use crate::source::imap::folders;
use crate::source::imap::Endpoint;
use std::io::Write;
use std::path::Path;

/// Run every check; returns the number of problems found.
pub fn run(config_path: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<usize> {
    let mut problems = Problems::default();
    let source = match config_path {
        Some(p) => p.display().to_string(),
        None => "no config file, built-in defaults".to_string(),
    };
    let config = match config::load(config_path) {
        Ok(c) => c,
        Err(e) => {
            problems.add(e.to_string());
            return Ok(problems.count);
        }
    };
    writeln!(out, "config ({source}): valid")?;
    check_schedules(&config, out, &mut problems)?;
    let runtime = super::runtime()?;
    for mailbox in &config.mailboxes {
        let lines = runtime.block_on(check_mailbox(mailbox));
        match lines {
            Ok(lines) => {
                for (line, problem) in lines {
                    writeln!(out, "{line}")?;
                    if let Some(p) = problem {
                        problems.add(p);
                    }
                }
            }
            Err(e) => problems.add(e),
        }
    }
    if config.mailboxes.is_empty() {
        writeln!(out, "no [[mailbox]]: `fetch` and `run` will read no mail")?;
    }
    check_channels(&config, &runtime, out, &mut problems)?;
    match problems.count {
        0 => writeln!(out, "all checks passed")?,
        n => writeln!(out, "{n} problem(s)")?,
    }
    Ok(problems.count)
}

#[derive(Default)]
struct Problems {
    count: usize,
}

impl Problems {
    fn add(&mut self, problem: String) {
        self.count += 1;
        eprintln!("dmarcwatch: check-config: {problem}");
    }
}

fn check_schedules(
    config: &Config,
    out: &mut dyn Write,
    problems: &mut Problems,
) -> std::io::Result<()> {
    let mut jobs = Jobs::default();
    if let Err(e) = jobs::register(config, &mut jobs) {
        problems.add(e);
    }
    let mut schedules: Vec<(String, cron::Schedule)> = jobs
        .cron
        .into_iter()
        .map(|j| (j.named.name, j.schedule))
        .collect();
    for m in &config.mailboxes {
        if m.watch == config::WatchMode::Poll {
            if let Ok(s) = parse_cron(&m.poll_schedule) {
                schedules.push((format!("mailbox {} poll", m.name), s));
            }
        }
    }
    for (name, schedule) in schedules {
        let next = next_time(&schedule)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string())
            .unwrap_or_else(|| "never".into());
        writeln!(
            out,
            "schedule {name} ({:?}): next {next}",
            schedule.source()
        )?;
    }
    Ok(())
}

/// Each `[[alert]]` channel: its secrets read and its server reached.
fn check_channels(
    config: &Config,
    runtime: &tokio::runtime::Runtime,
    out: &mut dyn Write,
    problems: &mut Problems,
) -> std::io::Result<()> {
    if config.alerts.is_empty() {
        return writeln!(out, "no [[alert]]: alerts are printed on standard output");
    }
    // The SMTP pool is built and used inside the runtime.
    runtime.block_on(async {
        let channels = match channel::from_config(config) {
            Ok(channels) => channels,
            Err(e) => {
                problems.add(e.to_string());
                return Ok(());
            }
        };
        for c in &channels {
            match c.reach().await {
                Ok(done) => writeln!(out, "alert channel {}: {done}", c.describe())?,
                Err(e) => problems.add(format!("alert channel {}: {e}", c.describe())),
            }
        }
        channel::close_all(&channels).await;
        Ok(())
    })
}

/// One mailbox: log in and look at its folders. Each line may carry a problem.
async fn check_mailbox(
    mailbox: &config::MailboxConfig,
) -> Result<Vec<(String, Option<String>)>, String> {
    let endpoint = Endpoint::new(mailbox).map_err(|e| e.to_string())?;
    let conn = endpoint.connect().await.map_err(|e| e.to_string())?;
    let tls = match mailbox.tls {
        config::TlsMode::Implicit => "implicit TLS",
        config::TlsMode::Starttls => "STARTTLS",
        config::TlsMode::None => "no TLS",
    };
    let mut lines = vec![(
        format!(
            "mailbox {} ({}, {tls}): logged in as {:?}; {}",
            mailbox.name,
            endpoint.address(),
            mailbox.username,
            conn.caps
        ),
        None,
    )];
    let mut conn = conn;
    let states = folders::states(&mut conn.session, mailbox).await;
    conn.logout().await;
    let states = states.map_err(|e| format!("mailbox {}: {e}", mailbox.name))?;
    for state in states {
        let line = match state.messages {
            Some(n) => format!("  {} {:?}: {n} messages", state.key, state.name),
            None if state.key == "folder" => {
                format!("  {} {:?}: does not exist", state.key, state.name)
            }
            None => format!(
                "  {} {:?}: does not exist yet (created on first use)",
                state.key, state.name
            ),
        };
        let problem = (state.messages.is_none() && state.key == "folder").then(|| {
            format!(
                "mailbox {}: folder {:?} does not exist on the server; check the name \
                 (case and separator, e.g. \"INBOX/DMARC\")",
                mailbox.name, state.name
            )
        });
        lines.push((line, problem));
    }
    Ok(lines)
}
