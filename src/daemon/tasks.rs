//! The tasks one config asks for: a [`Plan`] is everything checked and
//! opened before anything starts (so a bad config on reload is refused while
//! the old tasks run on), [`Running`] is the started set, stopped as one:
//! the stop flag is raised, each task finishes or rolls back the message in
//! hand, and whatever has not ended after the grace period is abandoned.

use super::jobs::{register, JobContext, Jobs};
use super::mailbox::MailboxTask;
use super::notify::Notifier;
use super::scheduler::{run_after_ingest_loop, run_cron};
use crate::config::{parse_cron, Config};
use crate::source::imap::{Endpoint, StoreHandle};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

/// A config made ready to run.
pub struct Plan {
    config: Arc<Config>,
    db_path: PathBuf,
    mailboxes: Vec<(Endpoint, cron::Schedule, StoreHandle)>,
    jobs: Jobs,
}

impl Plan {
    /// Check what can be checked without the network: trust anchors, the
    /// schedules, the database.
    pub fn prepare(config: Config, db_path: PathBuf) -> Result<Plan, String> {
        let mut jobs = Jobs::default();
        register(&config, &mut jobs)?;
        let probe = JobContext {
            config: Arc::new(config.clone()),
            db_path: db_path.clone(),
            stop: watch::channel(false).1,
            notifier: Notifier::default(),
        };
        let mut mailboxes = Vec::new();
        for m in &config.mailboxes {
            let endpoint = Endpoint::new(m).map_err(|e| e.to_string())?;
            let schedule = parse_cron(&m.poll_schedule)
                .map_err(|e| format!("[[mailbox]] {:?} poll_schedule: {e}", m.name))?;
            let store = probe.open_store().map_err(|e| e.to_string())?;
            mailboxes.push((endpoint, schedule, Arc::new(Mutex::new(store))));
        }
        Ok(Plan {
            config: Arc::new(config),
            db_path,
            mailboxes,
            jobs,
        })
    }

    /// What it will run, for the log.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .mailboxes
            .iter()
            .map(|(e, _, _)| format!("mailbox {} ({})", e.config.name, e.address()))
            .collect();
        parts.extend(
            self.jobs
                .cron
                .iter()
                .map(|j| format!("{} ({:?})", j.named.name, j.schedule.source())),
        );
        parts.extend(
            self.jobs
                .after_ingest
                .iter()
                .map(|j| format!("{} (after ingest)", j.name)),
        );
        if parts.is_empty() {
            "nothing to do (no [[mailbox]] and no scheduled job in the config)".into()
        } else {
            parts.join(", ")
        }
    }

    pub fn start(self, notifier: &Notifier) -> Running {
        let (stop_tx, stop_rx) = watch::channel(false);
        let ctx = JobContext {
            config: self.config.clone(),
            db_path: self.db_path.clone(),
            stop: stop_rx,
            notifier: notifier.clone(),
        };
        let limits = self.config.limits.extract_limits();
        let ingested = Arc::new(Notify::new());
        let mut running = Running {
            stop: stop_tx,
            tasks: JoinSet::new(),
            names: BTreeSet::new(),
        };
        for (endpoint, schedule, store) in self.mailboxes {
            let task = MailboxTask {
                endpoint,
                schedule,
                store,
                limits: limits.clone(),
                ctx: ctx.clone(),
                ingested: ingested.clone(),
                stored: AtomicUsize::new(0),
            };
            let name = format!("mailbox {}", task.endpoint.config.name);
            running.spawn(name, task.run());
        }
        for job in self.jobs.cron {
            let name = job.named.name.clone();
            running.spawn(name, run_cron(job, ctx.clone()));
        }
        if !self.jobs.after_ingest.is_empty() {
            let jobs = self.jobs.after_ingest;
            running.spawn(
                "after-ingest jobs".into(),
                run_after_ingest_loop(jobs, ingested, ctx),
            );
        }
        running
    }
}

/// The started tasks.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: JoinSet<String>,
    names: BTreeSet<String>,
}

impl Running {
    fn spawn(
        &mut self,
        name: String,
        task: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        self.names.insert(name.clone());
        self.tasks.spawn(async move {
            task.await;
            name
        });
    }

    /// Raise the stop flag and wait up to `grace` for every task to end.
    pub async fn stop(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(Ok(name))) => {
                    self.names.remove(&name);
                }
                Ok(Some(Err(e))) => tracing::error!("a task ended abnormally: {e}"),
                Ok(None) => return,
                Err(_) => {
                    let left: Vec<&str> = self.names.iter().map(String::as_str).collect();
                    tracing::warn!(
                        "still busy after {} s, abandoned (uncommitted work is rolled back \
                         and redone on the next start): {}",
                        grace.as_secs(),
                        left.join(", ")
                    );
                    self.tasks.abort_all();
                    return;
                }
            }
        }
    }
}
