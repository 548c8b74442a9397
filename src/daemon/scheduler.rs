//! Time: when the next run of a cron schedule is due, and the loops that run
//! the registered jobs at those times (and after ingests). Waits are cut
//! into steps of at most a minute and the due time is checked against the
//! wall clock each step, so a suspend or a clock change does not make a run
//! late by the length of a long sleep.

use super::jobs::{run_after_ingest, run_logged, CronJob, JobContext, NamedJob};
use chrono::{DateTime, Local};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

const STEP: Duration = Duration::from_secs(60);

/// The next time of `schedule` after now, or `None` if it never fires again.
pub fn next_time(schedule: &cron::Schedule) -> Option<DateTime<Local>> {
    schedule.upcoming(Local).next()
}

/// Sleep until `when`; `false` when a stop came first.
pub async fn sleep_until(when: DateTime<Local>, stop: &mut watch::Receiver<bool>) -> bool {
    loop {
        if *stop.borrow() {
            return false;
        }
        let left = (when - Local::now()).to_std().unwrap_or(Duration::ZERO);
        if left.is_zero() {
            return true;
        }
        tokio::select! {
            _ = tokio::time::sleep(left.min(STEP)) => {}
            changed = stop.changed() => if changed.is_err() { return false },
        }
    }
}

/// Sleep for `wait`; `false` when a stop came first.
pub async fn sleep_for(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = tokio::time::sleep(wait) => !*stop.borrow(),
        _ = stop.changed() => false,
    }
}

/// Run a cron job at each of its times until the stop.
pub async fn run_cron(job: CronJob, ctx: JobContext) {
    let mut stop = ctx.stop.clone();
    let name = job.named.name.clone();
    loop {
        let Some(next) = next_time(&job.schedule) else {
            tracing::warn!("{name}: the schedule has no future time; not run again");
            return;
        };
        ctx.notifier
            .set_status(&name, format!("next {}", next.format("%Y-%m-%d %H:%M:%S")));
        if !sleep_until(next, &mut stop).await {
            return;
        }
        ctx.notifier.set_status(&name, "running");
        run_logged(&job.named, ctx.clone()).await;
    }
}

/// Run the after-ingest jobs each time `ingested` is notified (a burst of
/// notifications while they run gives one more run, not many).
pub async fn run_after_ingest_loop(jobs: Vec<NamedJob>, ingested: Arc<Notify>, ctx: JobContext) {
    let mut stop = ctx.stop.clone();
    loop {
        tokio::select! {
            _ = ingested.notified() => {}
            changed = stop.changed() => if changed.is_err() { return },
        }
        if *stop.borrow() {
            return;
        }
        run_after_ingest(&jobs, &ctx).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sleep_until_returns_at_the_time_or_on_stop() {
        let (tx, mut rx) = watch::channel(false);
        let soon = Local::now() + chrono::Duration::milliseconds(150);
        let start = std::time::Instant::now();
        assert!(sleep_until(soon, &mut rx).await);
        assert!(start.elapsed() >= Duration::from_millis(100));
        let later = Local::now() + chrono::Duration::hours(1);
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.send(true).ok();
            tx
        });
        let start = std::time::Instant::now();
        assert!(!sleep_until(later, &mut rx).await);
        assert!(start.elapsed() < Duration::from_secs(5));
        drop(stopper.await);
    }

    #[tokio::test]
    async fn a_cron_job_runs_at_its_times_until_the_stop() {
        use crate::daemon::jobs::{JobContext, Jobs};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let runs = Arc::new(AtomicUsize::new(0));
        let counter = runs.clone();
        let mut jobs = Jobs::default();
        jobs.cron("tick", "test", "* * * * * *", move |_ctx: JobContext| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        })
        .expect("valid");
        let (stop_tx, stop) = watch::channel(false);
        let ctx = JobContext {
            stop,
            ..crate::daemon::jobs::tests::context()
        };
        let job = jobs.cron.remove(0);
        let task = tokio::spawn(run_cron(job, ctx.clone()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) < 2 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(runs.load(Ordering::SeqCst) >= 2, "runs every second");
        assert!(
            ctx.notifier.line().starts_with("tick: "),
            "{}",
            ctx.notifier.line()
        );
        stop_tx.send(true).expect("send");
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("ends on stop")
            .expect("no panic");
    }

    #[test]
    fn next_time_follows_the_expression() {
        let every_minute = crate::config::parse_cron("0 * * * * *").expect("valid");
        let next = next_time(&every_minute).expect("fires");
        assert_eq!(next.format("%S").to_string(), "00");
        assert!(next > Local::now() && next <= Local::now() + chrono::Duration::minutes(1));
    }
}
