//! The alert jobs of the daemon, in the shape `daemon::jobs` runs
//! (`async fn(JobContext) -> anyhow::Result<()>`): detection (after each
//! mailbox pass that stored reports, and on [`DETECT_SCHEDULE`] so that
//! silences are noticed without new reports), delivery (on
//! [`DELIVERY_SCHEDULE`], which is what makes retries happen), and the
//! digest (on `[digest] schedule`). Detection delivers right after, so a new
//! alert does not wait for the next delivery tick.

use super::{channel, deliver, digest};
use crate::daemon::jobs::JobContext;
use crate::store::now;

/// Detection without new reports: hourly (a silence, the window moving on).
pub const DETECT_SCHEDULE: &str = "0 7 * * * *";
/// Delivery passes: every 30 s, the shortest backoff step.
pub const DELIVERY_SCHEDULE: &str = "*/30 * * * * *";

/// Run detection, then deliver what it queued.
pub async fn detect(ctx: JobContext) -> anyhow::Result<()> {
    let blocking = ctx.clone();
    let queued = tokio::task::spawn_blocking(move || {
        let store = blocking.open_store()?;
        anyhow::Ok(crate::detect::run(store.conn(), &blocking.config, now())?.len())
    })
    .await??;
    if queued > 0 {
        tracing::info!("detection queued {queued} alerts");
    }
    deliver(ctx).await
}

/// One delivery pass over the configured channels.
pub async fn deliver(ctx: JobContext) -> anyhow::Result<()> {
    let channels = channel::from_config(&ctx.config)?;
    let mut store = ctx.open_store()?;
    let stats = deliver::deliver_due(&mut store, &channels, now()).await;
    channel::close_all(&channels).await;
    let stats = stats?;
    if stats.delivered + stats.failed > 0 {
        tracing::info!("alerts: {stats}");
    }
    ctx.notifier.set_status(
        "alerts",
        format!(
            "{} delivered, {} failed in the last pass",
            stats.delivered, stats.failed
        ),
    );
    Ok(())
}

/// Queue the digests of the period ending now, then deliver them.
pub async fn digest(ctx: JobContext) -> anyhow::Result<()> {
    let blocking = ctx.clone();
    tokio::task::spawn_blocking(move || {
        let store = blocking.open_store()?;
        anyhow::Ok(digest::enqueue(store.conn(), &blocking.config, now())?)
    })
    .await??;
    deliver(ctx).await
}

#[cfg(test)]
mod tests {
    use crate::daemon::jobs::Job;

    fn is_job(_: impl Job) {}

    #[test]
    fn all_are_daemon_jobs_with_valid_schedules() {
        is_job(super::detect);
        is_job(super::deliver);
        is_job(super::digest);
        for s in [super::DETECT_SCHEDULE, super::DELIVERY_SCHEDULE] {
            assert!(crate::config::parse_cron(s).is_ok(), "{s}");
        }
    }
}
