//! Talking to systemd (`Type=notify`): READY once the tasks run, RELOADING
//! and STOPPING around those steps, a one-line STATUS (`systemctl status`
//! shows it) built from what each task last said, and WATCHDOG pings at half
//! of `WatchdogSec` from the runtime that runs the tasks, so a stuck runtime
//! gets the service restarted. Without `$NOTIFY_SOCKET` all of it is a no-op.

use sd_notify::NotifyState;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Shared by the tasks: each sets its own part of the status line.
#[derive(Clone, Default)]
pub struct Notifier {
    parts: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Notifier {
    pub fn ready(&self) {
        send(&[NotifyState::Ready]);
    }

    pub fn reloading(&self) {
        send(&[NotifyState::Reloading]);
    }

    pub fn stopping(&self) {
        send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }

    /// Set the status of one task (`reports`, `blocklist`, ...) and send the line.
    pub fn set_status(&self, task: &str, text: impl Into<String>) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(task.to_string(), text.into());
        }
        send(&[NotifyState::Status(&self.line())]);
    }

    /// Forget the tasks' parts (after a reload some tasks are gone).
    pub fn clear(&self) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.clear();
        }
    }

    /// The current status line (for logs and tests).
    pub fn line(&self) -> String {
        self.parts
            .lock()
            .map(|p| {
                p.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default()
    }
}

/// Ping the watchdog at half its period, when systemd asked for pings.
pub fn spawn_watchdog() -> Option<tokio::task::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled()?;
    let every = (period / 2).max(Duration::from_millis(100));
    tracing::debug!("watchdog: pinging every {every:?}");
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            send(&[NotifyState::Watchdog]);
        }
    }))
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!("sd_notify failed: {e}");
    }
}
