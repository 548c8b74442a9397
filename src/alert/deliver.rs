//! One delivery pass: route the alerts queued since the last pass to the
//! channels configured now, then, channel by channel, send what is due,
//! oldest first. A channel that cannot be reached stops for this pass and
//! backs off as a whole (no burst of retries, no copies); each delivery is
//! recorded the moment the receiver accepted it. Run it after each ingest,
//! after detection, and every minute or so in the daemon.

use super::channel::{Channel, SendError};
use super::outbox::{self, Route};
use crate::store::{Store, StoreError};

/// At most this many sends per channel and pass (the rest wait a pass).
pub const MAX_PER_PASS: usize = 200;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PassStats {
    pub routed: usize,
    pub delivered: usize,
    /// Attempts that failed (the alert stays queued unless given up).
    pub failed: usize,
    pub given_up: usize,
    /// Channels skipped because they are backing off.
    pub backing_off: usize,
}

impl std::fmt::Display for PassStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} delivered, {} failed attempts, {} given up, {} channels backing off",
            self.delivered, self.failed, self.given_up, self.backing_off
        )
    }
}

/// Deliver what is due at `now` to `channels`. The future is `Send`: the
/// daemon may spawn it.
pub async fn deliver_due(
    store: &mut Store,
    channels: &[Channel],
    now: i64,
) -> Result<PassStats, StoreError> {
    let routes: Vec<Route> = channels.iter().map(Channel::route).collect();
    let mut stats = PassStats {
        routed: outbox::route(store.conn_mut(), &routes, now)?,
        ..Default::default()
    };
    for channel in channels {
        let state = outbox::channel_state(store.conn(), &channel.name)?;
        if state.next_attempt_at > now {
            stats.backing_off += 1;
            continue;
        }
        for _ in 0..MAX_PER_PASS {
            let Some((alert, attempts)) = outbox::claim_next(store.conn(), &channel.name, now)?
            else {
                break;
            };
            let result = channel.send(&alert).await;
            match result {
                Ok(()) => {
                    outbox::record_delivered(store.conn(), &alert.id, &channel.name, now)?;
                    stats.delivered += 1;
                    tracing::info!(
                        id = %alert.id,
                        channel = %channel.name,
                        attempts,
                        "alert delivered: {}",
                        alert.alert.title
                    );
                }
                Err(SendError::Unreachable(message)) => {
                    stats.failed += 1;
                    let next = outbox::record_unreachable(
                        store.conn(),
                        &alert,
                        &channel.name,
                        &message,
                        now,
                    )?;
                    tracing::warn!(
                        "alert channel {} unreachable (attempt {attempts} of alert {}): {message}; \
                         trying again in {} s",
                        channel.describe(),
                        alert.id,
                        next - now
                    );
                    break;
                }
                Err(SendError::Refused(message)) => {
                    stats.failed += 1;
                    let gave_up = outbox::record_refused(
                        store.conn(),
                        &alert.id,
                        &channel.name,
                        attempts,
                        &message,
                        now,
                    )?;
                    if gave_up {
                        stats.given_up += 1;
                        tracing::error!(
                            "alert {} refused by {} {attempts} times, given up: {message}; \
                             see `dmarcwatch alerts list`",
                            alert.id,
                            channel.describe()
                        );
                    } else {
                        tracing::warn!(
                            "alert {} refused by {}: {message}; retrying later",
                            alert.id,
                            channel.describe()
                        );
                    }
                }
            }
        }
    }
    Ok(stats)
}

/// Send one made-up alert to every channel now, outside the outbox
/// (`dmarcwatch alerts test`): one result per channel.
pub async fn send_test(channels: &[Channel], now: i64) -> Vec<(String, Result<(), SendError>)> {
    let alert = test_alert(now);
    let mut results = Vec::new();
    for channel in channels {
        results.push((channel.describe(), channel.send(&alert).await));
    }
    results
}

fn test_alert(now: i64) -> super::StoredAlert {
    use super::{Alert, Kind, Severity};
    let mut alert = Alert::new(
        Kind::NewSender,
        Severity::Info,
        Some("example.com"),
        "test".into(),
    );
    alert.title = "Test alert from dmarcwatch: this channel works".into();
    alert.summary = "This is a test sent by `dmarcwatch alerts test`. Real alerts look \
                     like this one: a title, a summary, what to do, and the evidence."
        .into();
    alert.fix_steps = vec!["Nothing to do: the channel is set up.".into()];
    alert.evidence = serde_json::json!({"test": true});
    super::StoredAlert {
        id: format!("test-{now}"),
        created_at: now,
        alert,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The daemon spawns delivery passes: the future must be `Send`.
    #[allow(dead_code)]
    fn deliver_due_is_send(store: &mut Store, channels: &[Channel]) {
        fn spawnable<T: Send>(_: T) {}
        spawnable(deliver_due(store, channels, 0));
    }
}
