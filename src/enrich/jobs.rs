//! The enrichment jobs of the daemon, in the shape `daemon::jobs` runs
//! (`async fn(JobContext) -> anyhow::Result<()>`): the reverse-name
//! catch-up (after each mailbox pass that stored reports, before detection,
//! and now and then to retry failed lookups) and the blocklist check (on
//! `[blocklist] schedule`). Each logs one summary line and one warning per
//! problem, and sets its part of the systemd status line.

use super::{blocklist, catch_up};
use crate::daemon::jobs::JobContext;
use crate::store::now;

/// Look up the reverse names of sources not known yet.
pub async fn reverse_names(ctx: JobContext) -> anyhow::Result<()> {
    let mut store = ctx.open_store()?;
    let stats = catch_up(&mut store, &ctx.config).await?;
    stats.log();
    Ok(())
}

/// Check the monitored addresses against the blocklists; changes queue alerts.
pub async fn blocklist(ctx: JobContext) -> anyhow::Result<()> {
    let mut store = ctx.open_store()?;
    let report = blocklist::check(&mut store, &ctx.config, now()).await?;
    report.log();
    ctx.notifier.set_status(
        "blocklist",
        format!(
            "{} listed, {} checks failed, {} changed",
            report.listed,
            report.failed,
            report.changes.len()
        ),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::daemon::jobs::Job;

    fn is_job(_: impl Job) {}

    #[test]
    fn both_are_daemon_jobs() {
        is_job(super::reverse_names);
        is_job(super::blocklist);
    }
}
