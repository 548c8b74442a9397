//! IMAP mailboxes as a source of report e-mails. A pass over a folder
//! fetches the waiting messages by UID in bounded chunks, stores each one in
//! its own transaction, and only after the commit moves it out of the folder
//! (to `processed_folder`, or to `invalid_folder` when nothing in it parsed).
//! A crash anywhere repeats at most the fetch and the (idempotent) store of
//! the messages in hand; nothing is lost and nothing is stored twice.
//!
//! `connect` (TCP, TLS, greeting, login), `tls` (rustls, trust anchors),
//! `folders` (create the destinations), `fetch` (the pass), `commit` (store
//! a chunk, one fsync per chunk), `moves` (MOVE or its fallbacks), `idle`
//! (wait for new mail).

pub mod commit;
pub mod connect;
pub mod fetch;
pub mod folders;
pub mod idle;
pub mod moves;
pub mod tls;

pub use commit::StoreHandle;
pub use connect::{Capabilities, Connection, Endpoint};
pub use fetch::{drain, pass, PassInput, PassStats};

use std::future::Future;
use std::time::Duration;

/// The longest wait for the answer to one ordinary command.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// A mailbox problem, as one line: which mailbox (and server), what failed,
/// what to do.
#[derive(Debug, Clone, thiserror::Error)]
#[error("mailbox {place}: {message}")]
pub struct MailboxError {
    /// `name` or `name (host:port)`.
    pub place: String,
    pub message: String,
}

impl MailboxError {
    pub fn new(place: &str, message: impl Into<String>) -> Self {
        MailboxError {
            place: place.to_string(),
            message: message.into(),
        }
    }
}

/// Where a message came from, in the stored rows and the logs
/// (after RFC 5092 IMAP URLs, with the mailbox's name for the server).
pub fn origin(mailbox: &str, folder: &str, uid_validity: u32, uid: u32) -> String {
    format!("imap://{mailbox}/{folder};UIDVALIDITY={uid_validity}/;UID={uid}")
}

/// Run one IMAP command with a deadline; the error says which command and why.
pub(crate) async fn timed<T>(
    limit: Duration,
    what: &str,
    command: impl Future<Output = async_imap::error::Result<T>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, command).await {
        Err(_) => Err(format!(
            "no answer to {what} within {} s (server or network stalled)",
            limit.as_secs()
        )),
        Ok(Err(e)) => Err(format!("{what}: {}", describe(&e))),
        Ok(Ok(v)) => Ok(v),
    }
}

/// async-imap's errors in the server's own words.
pub(crate) fn describe(e: &async_imap::error::Error) -> String {
    use async_imap::error::Error;
    match e {
        Error::No(text) => format!("the server said NO: {}", server_text(text)),
        Error::Bad(text) => format!("the server said BAD: {}", server_text(text)),
        Error::ConnectionLost => "the connection was lost".into(),
        Error::Io(io) => format!("connection error: {io}"),
        other => other.to_string(),
    }
}

/// async-imap formats `code: Some(X), info: Some("text")`; keep `[X] text`.
fn server_text(raw: &str) -> String {
    let info = raw
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map(|(text, _)| text.replace("\\\"", "\""));
    let code = raw
        .strip_prefix("code: Some(")
        .and_then(|rest| rest.split_once("), info:"))
        .map(|(code, _)| code.to_string());
    match (code, info) {
        (Some(code), Some(info)) => format!("[{code}] {info}"),
        (None, Some(info)) => info,
        (Some(code), None) => format!("[{code}]"),
        (None, None) => raw.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_words_are_kept_without_debug_noise() {
        assert_eq!(
            server_text(
                r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#
            ),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        assert_eq!(
            server_text(r#"code: Some(TryCreate), info: Some("Mailbox doesn't exist: X")"#),
            "[TryCreate] Mailbox doesn't exist: X"
        );
    }

    #[test]
    fn origin_names_mailbox_folder_and_uid() {
        assert_eq!(
            origin("reports", "INBOX", 7, 42),
            "imap://reports/INBOX;UIDVALIDITY=7/;UID=42"
        );
    }
}
