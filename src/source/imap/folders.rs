//! The folders a mailbox uses: the one read (`folder`) and the two that
//! messages are moved to. The destinations are created (and subscribed, so
//! mail clients show them) when missing; `check-config` lists all three.

use super::connect::Session;
use super::{timed, COMMAND_TIMEOUT};
use crate::config::MailboxConfig;
use futures::TryStreamExt;

/// One folder as `check-config` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderState {
    /// The config key: `folder`, `processed_folder`, `invalid_folder`.
    pub key: &'static str,
    pub name: String,
    /// Messages in it, or `None` when it does not exist.
    pub messages: Option<u32>,
}

/// The three folders of a mailbox, by config key.
pub fn configured(config: &MailboxConfig) -> [(&'static str, &str); 3] {
    [
        ("folder", config.folder.as_str()),
        ("processed_folder", config.processed_folder.as_str()),
        ("invalid_folder", config.invalid_folder.as_str()),
    ]
}

/// Whether a folder of exactly this name exists.
pub async fn exists(session: &mut Session, name: &str) -> Result<bool, String> {
    let pattern = quoted(name);
    let names: Vec<_> = timed(COMMAND_TIMEOUT, "LIST", async {
        session
            .list(Some(""), Some(&pattern))
            .await?
            .try_collect::<Vec<_>>()
            .await
    })
    .await?;
    Ok(names.iter().any(|n| n.name() == name))
}

/// Create `name` when it does not exist yet.
pub async fn ensure(session: &mut Session, name: &str, label: &str) -> Result<(), String> {
    if exists(session, name).await? {
        return Ok(());
    }
    timed(
        COMMAND_TIMEOUT,
        &format!("CREATE {name:?}"),
        session.create(name),
    )
    .await?;
    // Subscribing only makes it visible in mail clients; a refusal is harmless.
    let _ = timed(COMMAND_TIMEOUT, "SUBSCRIBE", session.subscribe(name)).await;
    tracing::info!("{label}: created folder {name:?}");
    Ok(())
}

/// What `check-config` reports: each configured folder and its message count.
pub async fn states(
    session: &mut Session,
    config: &MailboxConfig,
) -> Result<Vec<FolderState>, String> {
    let mut out = Vec::new();
    for (key, name) in configured(config) {
        let messages = if exists(session, name).await? {
            let status = timed(
                COMMAND_TIMEOUT,
                &format!("STATUS {name:?}"),
                session.status(name, "(MESSAGES)"),
            )
            .await?;
            Some(status.exists)
        } else {
            None
        };
        out.push(FolderState {
            key,
            name: name.to_string(),
            messages,
        });
    }
    Ok(out)
}

/// An IMAP quoted string (LIST patterns are passed through unquoted).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
}
