//! One task per `[[mailbox]]`: connect, store and move everything waiting,
//! then wait for more: IMAP IDLE (`watch = "idle"`; a server without IDLE
//! is polled instead) or the `poll_schedule` (`watch = "poll"`: connect,
//! drain, log out at each time). After any network or server error it
//! reconnects with exponential backoff and jitter; a pass that gets going
//! resets the backoff. New reports wake the after-ingest jobs.

use super::backoff::Backoff;
use super::jobs::JobContext;
use super::scheduler::{next_time, sleep_for, sleep_until};
use crate::config::WatchMode;
use crate::extract::ExtractLimits;
use crate::source::imap::idle::{self, Wake};
use crate::source::imap::{
    drain, Connection, Endpoint, MailboxError, PassInput, PassStats, StoreHandle,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{watch, Notify};

/// Everything one mailbox task needs.
pub struct MailboxTask {
    pub endpoint: Endpoint,
    pub schedule: cron::Schedule,
    pub store: StoreHandle,
    pub limits: ExtractLimits,
    pub ctx: JobContext,
    /// Notified when a pass stored new reports.
    pub ingested: Arc<Notify>,
    /// Messages stored since the daemon started, for the status line.
    pub stored: AtomicUsize,
}

/// What to do after a session ends without error.
enum Next {
    Stop,
    WaitForSchedule,
}

impl MailboxTask {
    fn name(&self) -> &str {
        &self.endpoint.config.name
    }

    /// Run until the stop.
    pub async fn run(self) {
        let mut stop = self.ctx.stop.clone();
        let mut backoff = Backoff::default();
        let mut use_idle = self.endpoint.config.watch == WatchMode::Idle;
        loop {
            match self.session(&mut use_idle, &mut backoff, &mut stop).await {
                Ok(Next::Stop) => break,
                Ok(Next::WaitForSchedule) => {
                    let Some(next) = next_time(&self.schedule) else {
                        tracing::warn!("{}: poll_schedule has no future time", self.name());
                        break;
                    };
                    self.status(format!("next poll {}", next.format("%Y-%m-%d %H:%M:%S")));
                    if !sleep_until(next, &mut stop).await {
                        break;
                    }
                }
                Err(e) => {
                    let wait = backoff.next_wait();
                    tracing::error!("{e}; retrying in {:.0} s", wait.as_secs_f64().ceil());
                    self.status(format!("error, retrying in {:.0} s", wait.as_secs_f64()));
                    if !sleep_for(wait, &mut stop).await {
                        break;
                    }
                }
            }
        }
        self.status("stopped");
        tracing::info!("{}: stopped", self.name());
    }

    /// One connection: drain, then IDLE and drain until stop or error.
    async fn session(
        &self,
        use_idle: &mut bool,
        backoff: &mut Backoff,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<Next, MailboxError> {
        let mut conn = self.endpoint.connect().await?;
        self.status("connected, fetching");
        let stats = self.drain(&mut conn).await?;
        backoff.reset();
        if stats.stopped {
            conn.logout().await;
            return Ok(Next::Stop);
        }
        if *use_idle && !conn.caps.idle {
            tracing::warn!(
                "{}: the server does not offer IDLE; polling on poll_schedule {:?} instead",
                self.name(),
                self.endpoint.config.poll_schedule
            );
            *use_idle = false;
        }
        if !*use_idle {
            conn.logout().await;
            return Ok(Next::WaitForSchedule);
        }
        loop {
            self.status(format!(
                "idle since {}, {} messages stored since start",
                chrono::Local::now().format("%H:%M:%S"),
                self.stored.load(Ordering::Relaxed)
            ));
            let (back, wake) = idle::wait(conn, stop, idle::REISSUE).await?;
            conn = back;
            if wake == Wake::Stop {
                conn.logout().await;
                return Ok(Next::Stop);
            }
            let stats = self.drain(&mut conn).await?;
            if stats.stopped {
                conn.logout().await;
                return Ok(Next::Stop);
            }
        }
    }

    async fn drain(&self, conn: &mut Connection) -> Result<PassStats, MailboxError> {
        let input = PassInput {
            mailbox: &self.endpoint.config,
            store: &self.store,
            limits: &self.limits,
            stop: &self.ctx.stop,
        };
        let stats = drain(conn, &input).await?;
        self.stored.fetch_add(stats.messages, Ordering::Relaxed);
        if stats.new_reports > 0 {
            self.ingested.notify_one();
        }
        Ok(stats)
    }

    fn status(&self, text: impl Into<String>) {
        self.ctx
            .notifier
            .set_status(&format!("mailbox {}", self.name()), text);
    }
}
