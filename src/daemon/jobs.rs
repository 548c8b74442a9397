//! The jobs the daemon runs besides the mailboxes, and the one place where
//! they are wired in: [`register`]. A job is anything implementing [`Job`]:
//! an `async fn(JobContext) -> anyhow::Result<()>` (or a closure returning
//! such a future) qualifies as it is. Two kinds:
//!
//! - **cron jobs** ([`Jobs::cron`]): run at the times of a 6-field cron
//!   expression (local time), one run at a time; a run still going when the
//!   next time comes skips that time. Blocklist checks, alert delivery,
//!   digests.
//! - **after-ingest jobs** ([`Jobs::after_ingest`]): run after a mailbox pass
//!   stored new reports; several passes in a row coalesce into one run.
//!   Detection.
//!
//! A job gets a [`JobContext`]: the config, the database path (open your own
//! `Store` with [`JobContext::open_store`]; SQLite serialises the writers),
//! a stop flag to check in long loops, and the status line for systemd. An
//! `Err` is logged (one line) and the job runs again at its next time.

use super::notify::Notifier;
use crate::config::{parse_cron, Config};
use crate::store::{Store, StoreError};
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Something the daemon runs now and then.
pub trait Job: Send + Sync + 'static {
    fn run(&self, ctx: JobContext) -> JobFuture;
}

impl<F, Fut> Job for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    fn run(&self, ctx: JobContext) -> JobFuture {
        Box::pin(self(ctx))
    }
}

/// What a job may use.
#[derive(Clone)]
pub struct JobContext {
    pub config: Arc<Config>,
    /// `--db`, else `[database] path`.
    pub db_path: PathBuf,
    /// Turns true when the daemon stops; check it between units of work.
    pub stop: watch::Receiver<bool>,
    pub notifier: Notifier,
}

impl JobContext {
    /// A database connection of the job's own (schema upgraded, approvals synced).
    pub fn open_store(&self) -> Result<Store, StoreError> {
        let ctx = crate::commands::Context {
            config: (*self.config).clone(),
            db_path: self.db_path.clone(),
            json: false,
            quiet: true,
        };
        ctx.open_store()
    }

    pub fn stopping(&self) -> bool {
        *self.stop.borrow()
    }
}

/// A job with a name (for logs and the status line).
#[derive(Clone)]
pub struct NamedJob {
    pub name: String,
    pub job: Arc<dyn Job>,
}

/// A job and when it runs.
#[derive(Clone)]
pub struct CronJob {
    pub named: NamedJob,
    pub schedule: cron::Schedule,
}

/// The registry [`register`] fills.
#[derive(Clone, Default)]
pub struct Jobs {
    pub cron: Vec<CronJob>,
    pub after_ingest: Vec<NamedJob>,
}

impl Jobs {
    /// Run `job` at the times of `expression`; `key` names the config key
    /// in the error (e.g. `[blocklist] schedule`).
    pub fn cron(
        &mut self,
        name: &str,
        key: &str,
        expression: &str,
        job: impl Job,
    ) -> Result<(), String> {
        let schedule = parse_cron(expression).map_err(|e| format!("{key}: {e}"))?;
        self.cron.push(CronJob {
            named: NamedJob {
                name: name.to_string(),
                job: Arc::new(job),
            },
            schedule,
        });
        Ok(())
    }

    /// Run `job` after mailbox passes that stored new reports.
    pub fn after_ingest(&mut self, name: &str, job: impl Job) {
        self.after_ingest.push(NamedJob {
            name: name.to_string(),
            job: Arc::new(job),
        });
    }
}

/// THE wiring point: every scheduled or after-ingest job the config asks
/// for. After each mailbox pass that stored reports: reverse names, then
/// detection (which delivers what it queued). On schedules: name retries,
/// detection (silences), alert delivery (retries), digests, blocklists.
/// The mailboxes are not jobs: `daemon::mailbox` runs them.
pub fn register(config: &Config, jobs: &mut Jobs) -> Result<(), String> {
    use crate::{alert, enrich};
    if config.dns.reverse {
        jobs.after_ingest("reverse-dns", enrich::jobs::reverse_names);
        jobs.cron(
            "reverse-dns",
            "[dns]",
            REVERSE_RETRY_SCHEDULE,
            enrich::jobs::reverse_names,
        )?;
    }
    jobs.after_ingest("detect", alert::jobs::detect);
    jobs.cron(
        "detect",
        "[detect]",
        alert::jobs::DETECT_SCHEDULE,
        alert::jobs::detect,
    )?;
    jobs.cron(
        "deliver",
        "[[alert]]",
        alert::jobs::DELIVERY_SCHEDULE,
        alert::jobs::deliver,
    )?;
    if let Some(d) = &config.digest {
        jobs.cron(
            "digest",
            "[digest] schedule",
            &d.schedule,
            alert::jobs::digest,
        )?;
    }
    if let Some(b) = &config.blocklist {
        jobs.cron(
            "blocklist",
            "[blocklist] schedule",
            &b.schedule,
            enrich::jobs::blocklist,
        )?;
    }
    Ok(())
}

/// Reverse names that failed (timeouts, offline) are retried hourly.
const REVERSE_RETRY_SCHEDULE: &str = "0 17 * * * *";

/// Run each after-ingest job once, in order (the daemon's runner and
/// `fetch` both call this); errors are logged, not returned.
pub async fn run_after_ingest(jobs: &[NamedJob], ctx: &JobContext) {
    for named in jobs {
        run_logged(named, ctx.clone()).await;
    }
}

/// Run one job, logging how it went.
pub async fn run_logged(named: &NamedJob, ctx: JobContext) {
    let started = std::time::Instant::now();
    tracing::debug!("{}: started", named.name);
    match named.job.run(ctx).await {
        Ok(()) => tracing::info!(
            "{}: done in {:.1} s",
            named.name,
            started.elapsed().as_secs_f64()
        ),
        Err(e) => tracing::error!("{}: failed: {e:#}", named.name),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    pub(crate) fn context() -> JobContext {
        JobContext {
            config: Arc::new(Config::default()),
            db_path: PathBuf::from("unused.db"),
            stop: watch::channel(false).1,
            notifier: Notifier::default(),
        }
    }

    #[test]
    fn register_adds_what_the_config_asks_for() {
        let names = |jobs: &Jobs| -> (Vec<String>, Vec<String>) {
            (
                jobs.after_ingest.iter().map(|j| j.name.clone()).collect(),
                jobs.cron.iter().map(|j| j.named.name.clone()).collect(),
            )
        };
        let mut jobs = Jobs::default();
        register(&Config::default(), &mut jobs).expect("defaults register");
        assert_eq!(
            names(&jobs),
            (
                vec!["reverse-dns".to_string(), "detect".to_string()],
                vec![
                    "reverse-dns".to_string(),
                    "detect".to_string(),
                    "deliver".to_string()
                ]
            )
        );
        let config = crate::config::parse(
            "[dns]\nreverse = false\n[digest]\nschedule = \"0 0 8 * * Mon\"\n[blocklist]\nips = [\"192.0.2.1\"]\n",
        )
        .expect("config");
        let mut jobs = Jobs::default();
        register(&config, &mut jobs).expect("register");
        assert_eq!(
            names(&jobs),
            (
                vec!["detect".to_string()],
                vec![
                    "detect".to_string(),
                    "deliver".to_string(),
                    "digest".to_string(),
                    "blocklist".to_string()
                ]
            )
        );
    }

    #[tokio::test]
    async fn closures_are_jobs_and_a_bad_schedule_names_its_key() {
        let mut jobs = Jobs::default();
        let ran = Arc::new(AtomicUsize::new(0));
        let counter = ran.clone();
        jobs.after_ingest("count", move |_ctx: JobContext| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
        });
        jobs.after_ingest("fails", |_ctx: JobContext| async { anyhow::bail!("boom") });
        let err = jobs
            .cron(
                "digest",
                "[digest] schedule",
                "every monday",
                |_ctx: JobContext| async { Ok(()) },
            )
            .expect_err("not cron");
        assert!(err.starts_with("[digest] schedule: "), "{err}");
        assert!(jobs.cron.is_empty());
        // A failing job is logged and does not stop the others.
        run_after_ingest(&jobs.after_ingest, &context()).await;
        run_after_ingest(&jobs.after_ingest, &context()).await;
        assert_eq!(ran.load(Ordering::SeqCst), 2);
    }
}
