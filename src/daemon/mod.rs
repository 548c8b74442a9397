//! `dmarcwatch run`: the daemon. One tokio runtime (current thread; the
//! SQLite writes run on the blocking pool) runs a task per mailbox and a
//! task per scheduled job, all timed by one scheduler (`cron` expressions).
//! Signals: SIGTERM/SIGINT stop it within [`STOP_GRACE`] (each task finishes
//! or rolls back the message in hand; exit 0), SIGHUP reloads the config (a
//! config that does not load or prepare is reported and the old one keeps
//! running). systemd hears READY, STATUS, RELOADING, STOPPING and WATCHDOG.
//!
//! `backoff` (reconnect waits), `jobs` (the `Job` API and the wiring point
//! for scheduled jobs), `mailbox` (IDLE/poll task), `notify` (sd_notify),
//! `scheduler` (cron times, sleeps), `signals`, `tasks` (start/stop a config).

pub mod backoff;
pub mod jobs;
pub mod mailbox;
pub mod notify;
pub mod scheduler;
pub mod signals;
pub mod tasks;

pub use jobs::{Job, JobContext, Jobs};

use crate::config::{self, Config};
use anyhow::Context as _;
use notify::Notifier;
use signals::{Request, Signals};
use std::path::PathBuf;
use std::time::Duration;
use tasks::Plan;

/// How long the tasks get to finish after a stop request; with the second
/// it takes to close the runtime, the process exits well within 10 s.
pub const STOP_GRACE: Duration = Duration::from_secs(7);

/// Where the config came from, to read it again on SIGHUP.
pub struct Options {
    /// The config file, or `None` when running on the built-in defaults.
    pub config_path: Option<PathBuf>,
    /// `--db`, which wins over `[database] path` in every config loaded.
    pub db_override: Option<PathBuf>,
}

impl Options {
    fn db_path(&self, config: &Config) -> PathBuf {
        self.db_override
            .clone()
            .unwrap_or_else(|| config.database.path.clone())
    }
}

/// Run until SIGTERM or SIGINT.
pub fn run(options: Options, config: Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let result = runtime.block_on(serve(&options, config));
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

async fn serve(options: &Options, config: Config) -> anyhow::Result<()> {
    let mut signals = Signals::install().context("installing the signal handlers")?;
    let notifier = Notifier::default();
    let plan =
        Plan::prepare(config.clone(), options.db_path(&config)).map_err(anyhow::Error::msg)?;
    tracing::info!(
        "dmarcwatch {} started: {}",
        env!("CARGO_PKG_VERSION"),
        plan.describe()
    );
    let mut running = plan.start(&notifier);
    let _watchdog = notify::spawn_watchdog();
    notifier.ready();
    loop {
        match signals.next().await {
            Request::Stop(signal) => {
                tracing::info!("{signal}: stopping");
                notifier.stopping();
                running.stop(STOP_GRACE).await;
                tracing::info!("stopped");
                return Ok(());
            }
            Request::Reload => {
                let Some(path) = &options.config_path else {
                    tracing::info!("SIGHUP: no config file to reload (running on the defaults)");
                    continue;
                };
                notifier.reloading();
                let prepared = config::load(Some(path))
                    .map_err(|e| e.to_string())
                    .and_then(|c| {
                        let db_path = options.db_path(&c);
                        Plan::prepare(c, db_path)
                    });
                match prepared {
                    Err(e) => {
                        tracing::error!("SIGHUP: reload refused, the running config stays: {e}");
                    }
                    Ok(plan) => {
                        running.stop(STOP_GRACE).await;
                        notifier.clear();
                        tracing::info!("SIGHUP: reloaded {}: {}", path.display(), plan.describe());
                        running = plan.start(&notifier);
                    }
                }
                notifier.ready();
            }
        }
    }
}
