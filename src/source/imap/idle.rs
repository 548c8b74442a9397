//! Waiting for new mail with IMAP IDLE (RFC 2177). The server tells us at
//! once when a message arrives; the IDLE is ended and issued again every
//! [`REISSUE`], well before the 29 minutes after which servers may drop an
//! idle client (and before most NAT boxes forget the connection). A server
//! without IDLE is polled instead (the mailbox task decides; see `daemon`).

use super::connect::Connection;
use super::{describe, timed, MailboxError, COMMAND_TIMEOUT};
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use std::time::Duration;
use tokio::sync::watch;

/// How long one IDLE command lasts before it is renewed.
pub const REISSUE: Duration = Duration::from_secs(10 * 60);

/// Why the wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server reported a change in the folder: run a pass.
    NewMail,
    /// The IDLE ran its time; run a pass to be safe, then idle again.
    Reissue,
    /// A stop was requested.
    Stop,
}

/// IDLE on the selected folder until something happens. The connection is
/// handed back (IDLE takes the session for its duration).
pub async fn wait(
    conn: Connection,
    stop: &mut watch::Receiver<bool>,
    reissue: Duration,
) -> Result<(Connection, Wake), MailboxError> {
    let Connection {
        session,
        caps,
        label,
    } = conn;
    let err = |message: String| MailboxError::new(&label, message);
    if *stop.borrow() {
        return Ok((
            Connection {
                session,
                caps,
                label,
            },
            Wake::Stop,
        ));
    }
    // News that came with earlier answers (after the pass's SELECT).
    if saw_new_mail(&session) {
        return Ok((
            Connection {
                session,
                caps,
                label,
            },
            Wake::NewMail,
        ));
    }
    let mut idle = session.idle();
    timed(COMMAND_TIMEOUT, "IDLE", idle.init())
        .await
        .map_err(err)?;
    tracing::debug!("{label}: waiting for new mail (IDLE)");
    let wake = {
        let (waiting, _interrupt) = idle.wait_with_timeout(reissue);
        tokio::select! {
            result = waiting => match result {
                Ok(IdleResponse::NewData(_)) => Wake::NewMail,
                Ok(IdleResponse::Timeout) => Wake::Reissue,
                Ok(IdleResponse::ManualInterrupt) => {
                    return Err(err("the server closed the connection during IDLE".into()))
                }
                Err(e) => return Err(err(format!("IDLE: {}", describe(&e)))),
            },
            _ = stop.changed() => Wake::Stop,
        }
    };
    let session = timed(COMMAND_TIMEOUT, "DONE (end of IDLE)", idle.done())
        .await
        .map_err(err)?;
    let wake = if wake == Wake::Reissue && saw_new_mail(&session) {
        Wake::NewMail
    } else {
        wake
    };
    Ok((
        Connection {
            session,
            caps,
            label,
        },
        wake,
    ))
}

/// Whether untagged answers so far announced new messages; empties the queue.
fn saw_new_mail(session: &super::connect::Session) -> bool {
    let mut new_mail = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        if matches!(response, UnsolicitedResponse::Exists(n) if n > 0) {
            new_mail = true;
        }
    }
    new_mail
}

/// Forget queued untagged answers (called before a pass's SELECT).
pub fn clear_news(session: &super::connect::Session) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}
