//! The generic webhook: `POST` of the interface spec's JSON payload, with
//! `X-Dmarcwatch-Event-Id` (the same on every retry, for the receiver to
//! drop copies) and, when a secret is set, `X-Dmarcwatch-Signature:
//! sha256=<hex HMAC-SHA256 of the exact body bytes>`.

use super::channel::{head, http_client, post_json, SendError};
use super::StoredAlert;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

pub const EVENT_ID_HEADER: &str = "X-Dmarcwatch-Event-Id";
pub const SIGNATURE_HEADER: &str = "X-Dmarcwatch-Signature";

pub struct WebhookSender {
    client: reqwest::Client,
    url: reqwest::Url,
    secret: Option<String>,
}

/// The body of the interface spec.
pub fn payload(a: &StoredAlert) -> Value {
    json!({
        "id": a.id,
        "kind": a.alert.kind.as_str(),
        "severity": a.alert.severity.as_str(),
        "domain": a.alert.domain,
        "title": a.alert.title,
        "summary": a.alert.summary,
        "evidence": a.alert.evidence,
        "fix_steps": a.alert.fix_steps,
        "created_at": a.created_rfc3339(),
    })
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length: new_from_slice cannot fail here.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl WebhookSender {
    pub fn new(url: reqwest::Url, secret: Option<String>) -> Result<WebhookSender, String> {
        Ok(WebhookSender {
            client: http_client()?,
            url,
            secret,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "webhook to {}{}",
            self.url.host_str().unwrap_or("?"),
            if self.secret.is_some() {
                ", signed"
            } else {
                ""
            }
        )
    }

    /// Reach the URL without delivering anything (`check-config`).
    pub async fn reach(&self) -> Result<String, String> {
        head(&self.client, &self.url).await
    }

    pub async fn send(&self, alert: &StoredAlert) -> Result<(), SendError> {
        let body = payload(alert).to_string().into_bytes();
        let mut headers = vec![(EVENT_ID_HEADER, alert.id.clone())];
        if let Some(secret) = &self.secret {
            headers.push((SIGNATURE_HEADER, signature(secret.as_bytes(), &body)));
        }
        post_json(&self.client, &self.url, body, &headers).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
