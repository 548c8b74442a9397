//! `dmarcwatch fetch`: one pass over every configured mailbox, then exit.
//! Each mailbox is drained (stored and moved) in turn; one closing line per
//! mailbox; exit 1 when a mailbox could not be read. Ctrl-C or SIGTERM
//! finishes the message in hand, moves what was stored and stops. After new
//! reports, the after-ingest jobs (detection) run once.

use super::Context;
use crate::daemon::jobs::{self, JobContext, Jobs};
use crate::daemon::notify::Notifier;
use crate::source::imap::{drain, Endpoint, PassInput, PassStats, StoreHandle};
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Fetch every mailbox; returns whether all of them worked.
pub fn run(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<bool> {
    if ctx.config.mailboxes.is_empty() {
        anyhow::bail!("no [[mailbox]] in the config: nothing to fetch (see config.toml.example)");
    }
    let mut jobs = Jobs::default();
    jobs::register(&ctx.config, &mut jobs).map_err(anyhow::Error::msg)?;
    let store = ctx.open_store()?;
    let store: StoreHandle = Arc::new(Mutex::new(store));
    let runtime = super::runtime()?;
    let (stop_tx, stop) = watch::channel(false);
    let results = runtime.block_on(async {
        tokio::spawn(stop_on_signal(stop_tx));
        let mut results = Vec::new();
        for mailbox in &ctx.config.mailboxes {
            if *stop.borrow() {
                break;
            }
            results.push((
                mailbox.name.clone(),
                fetch_one(ctx, mailbox, &store, &stop).await,
            ));
        }
        let new_reports: usize = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|s| s.new_reports)
            .sum();
        if new_reports > 0 && !jobs.after_ingest.is_empty() {
            let job_ctx = JobContext {
                config: Arc::new(ctx.config.clone()),
                db_path: ctx.db_path.clone(),
                stop: stop.clone(),
                notifier: Notifier::default(),
            };
            jobs::run_after_ingest(&jobs.after_ingest, &job_ctx).await;
        }
        results
    });
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    let mut all_ok = true;
    for (name, result) in results {
        match result {
            Ok(stats) => print_stats(ctx, &name, &stats, out)?,
            Err(e) => {
                all_ok = false;
                eprintln!("dmarcwatch: {e}");
                if ctx.json {
                    writeln!(out, "{}", serde_json::json!({"mailbox": name, "error": e}))?;
                }
            }
        }
    }
    Ok(all_ok)
}

async fn fetch_one(
    ctx: &Context,
    mailbox: &crate::config::MailboxConfig,
    store: &StoreHandle,
    stop: &watch::Receiver<bool>,
) -> Result<PassStats, String> {
    let endpoint = Endpoint::new(mailbox).map_err(|e| e.to_string())?;
    let mut conn = endpoint.connect().await.map_err(|e| e.to_string())?;
    let limits = ctx.config.limits.extract_limits();
    let input = PassInput {
        mailbox,
        store,
        limits: &limits,
        stop,
    };
    let result = drain(&mut conn, &input).await;
    conn.logout().await;
    result.map_err(|e| e.to_string())
}

fn print_stats(
    ctx: &Context,
    name: &str,
    stats: &PassStats,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    if ctx.json {
        let line = serde_json::json!({
            "mailbox": name, "messages": stats.messages, "reports_new": stats.new_reports,
            "duplicates": stats.duplicates, "invalid": stats.invalid, "records": stats.records,
            "moved": stats.moved, "stopped": stats.stopped,
        });
        writeln!(out, "{line}")
    } else {
        let stopped = if stats.stopped {
            " (stopped early)"
        } else {
            ""
        };
        writeln!(out, "fetch {name}: {stats}{stopped}")
    }
}

/// Ctrl-C or SIGTERM: finish the message in hand, then stop.
async fn stop_on_signal(stop: watch::Sender<bool>) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    else {
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::warn!("stopping after the message in hand");
    let _ = stop.send(true);
}
