//! `dmarcwatch alerts list|test|send|detect|digest`, and the detection run
//! that follows every `ingest`: what was raised and where it went, a test
//! message to every channel, one delivery pass, detection or a digest now.

use super::Context;
use crate::alert::{channel, deliver, digest, outbox};
use crate::detect;
use crate::store::{now, Store};
use anyhow::Context as _;
use std::io::Write;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AlertsCommand {
    /// Alerts, newest first, one line per channel: state, attempts, errors.
    List {
        /// Only those still waiting to be delivered.
        #[arg(long)]
        pending: bool,
        /// How many alerts.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Send a test alert to every channel now (outside the outbox).
    Test,
    /// Deliver what is due now (with retries as scheduled).
    Send,
    /// Run detection now and queue what it finds.
    Detect,
    /// Queue the digest of the period ending now ([digest] period).
    Digest,
}

/// Run one `alerts` subcommand; `Ok(false)` when something failed.
pub fn run(ctx: &Context, cmd: &AlertsCommand, out: &mut dyn Write) -> anyhow::Result<bool> {
    let mut store = ctx.open_store()?;
    match cmd {
        AlertsCommand::List { pending, limit } => {
            list(&store, *pending, *limit, ctx.json, out)?;
            Ok(true)
        }
        AlertsCommand::Test => test(ctx, out),
        AlertsCommand::Send => {
            let stats = send(ctx, &mut store)?;
            if ctx.json {
                let line = serde_json::json!({
                    "delivered": stats.delivered, "failed": stats.failed,
                    "given_up": stats.given_up, "backing_off": stats.backing_off,
                });
                writeln!(out, "{line}")?;
            } else {
                writeln!(out, "alerts: {stats}")?;
            }
            Ok(stats.failed == 0)
        }
        AlertsCommand::Detect => {
            let ids = detect::run(store.conn(), &ctx.config, now())?;
            writeln!(out, "detect: {} alerts queued", ids.len())?;
            Ok(true)
        }
        AlertsCommand::Digest => {
            let ids = digest::enqueue(store.conn(), &ctx.config, now())?;
            writeln!(out, "digest: {} digests queued", ids.len())?;
            Ok(true)
        }
    }
}

/// After `ingest` / `reprocess`: run detection and say on stderr what it
/// queued (standard output keeps the closing line alone).
pub fn after_ingest(ctx: &Context, store: &Store) -> anyhow::Result<usize> {
    let ids = detect::run(store.conn(), &ctx.config, now()).context("detection after ingest")?;
    if !ids.is_empty() && !ctx.quiet {
        eprintln!(
            "{} new alerts queued: `dmarcwatch alerts list` shows them, `dmarcwatch alerts send` delivers them",
            ids.len()
        );
    }
    Ok(ids.len())
}

/// One delivery pass over the configured channels.
pub fn send(ctx: &Context, store: &mut Store) -> anyhow::Result<deliver::PassStats> {
    super::runtime()?.block_on(async {
        let channels = channel::from_config(&ctx.config)?;
        let stats = deliver::deliver_due(store, &channels, now()).await;
        channel::close_all(&channels).await;
        Ok(stats?)
    })
}

fn test(ctx: &Context, out: &mut dyn Write) -> anyhow::Result<bool> {
    let results = super::runtime()?.block_on(async {
        let channels = channel::from_config(&ctx.config)?;
        let results = deliver::send_test(&channels, now()).await;
        channel::close_all(&channels).await;
        anyhow::Ok(results)
    })?;
    let mut ok = true;
    for (channel, result) in results {
        match result {
            Ok(()) => writeln!(out, "ok    {channel}")?,
            Err(e) => {
                ok = false;
                writeln!(out, "FAIL  {channel}: {e}")?;
            }
        }
    }
    Ok(ok)
}

fn list(
    store: &Store,
    pending: bool,
    limit: usize,
    json: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let rows = outbox::list(store.conn(), pending, limit)?;
    if json {
        for r in &rows {
            serde_json::to_writer(&mut *out, r)?;
            writeln!(out)?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "No alerts{}.", if pending { " pending" } else { "" })?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<19} {:<8} {:<18} {:<10} {:<9} {:>3} TITLE",
        "CREATED", "SEVERITY", "KIND", "CHANNEL", "STATE", "TRY"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:<19} {:<8} {:<18} {:<10} {:<9} {:>3} {}",
            r.created_at,
            r.severity,
            r.kind,
            r.channel.as_deref().unwrap_or("-"),
            r.state,
            r.attempts,
            r.title
        )?;
        if let Some(e) = r.last_error.as_deref().filter(|_| r.state != "delivered") {
            writeln!(out, "{:>20}last error: {e}", "")?;
        }
    }
    Ok(())
}
