//! E-mail → candidate report parts. Finds every part that may hold a report
//! (attachments, inline parts, single-part bodies, nested message/rfc822),
//! tolerating the broken headers real reporters send.

/// One MIME leaf that may hold a report, already transfer-decoded.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

/// What the pipeline needs from one message.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// Domain of the From address, lower-cased (fallback reporter name).
    pub from_domain: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
    pub parts: Vec<Part>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("TODO")]
    Todo,
}

pub fn parse_message(_raw: &[u8]) -> Result<Message, MailError> {
    Err(MailError::Todo)
}
