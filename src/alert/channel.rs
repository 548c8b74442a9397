//! `[[alert]]` sections → ready channels. Checks each section when the
//! config is loaded ([`check_all`]: names, addresses, URL schemes), reads
//! the secrets (passwords, webhook URLs and keys) when the channels are
//! built, and never logs them: a channel describes itself by name, type and
//! host only. With no `[[alert]]` at all, the one channel is standard output.

use super::{email, render, slack, webhook, Severity, StoredAlert};
use crate::config::{is_loopback_host, AlertConfig, Config};
use std::io::Write;
use std::path::Path;

/// Why a send did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The channel is down (connection, TLS, timeout, 5xx, 429): the whole
    /// channel backs off and the alert waits.
    Unreachable(String),
    /// The receiver refused this message (4xx, SMTP 5xx): retried alone.
    Refused(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Unreachable(m) => write!(f, "unreachable: {m}"),
            SendError::Refused(m) => write!(f, "refused: {m}"),
        }
    }
}

/// The longest one send may take, connection and answer included.
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A configured channel, its secrets loaded.
pub struct Channel {
    /// The `name` key, else the type ("webhook"; "webhook-2" for a second).
    pub name: String,
    pub min_severity: Severity,
    pub sender: Sender,
}

pub enum Sender {
    Email(email::EmailSender),
    Webhook(webhook::WebhookSender),
    Slack(slack::SlackSender),
    /// Standard output (the default without any `[[alert]]`).
    Stdout,
}

impl Channel {
    /// Send one alert; `Ok` once the receiver accepted it. A receiver that
    /// stops answering counts as unreachable after [`SEND_TIMEOUT`].
    pub async fn send(&self, alert: &StoredAlert) -> Result<(), SendError> {
        tokio::time::timeout(SEND_TIMEOUT, self.send_now(alert))
            .await
            .unwrap_or_else(|_| {
                Err(SendError::Unreachable(format!(
                    "no answer within {} s",
                    SEND_TIMEOUT.as_secs()
                )))
            })
    }

    async fn send_now(&self, alert: &StoredAlert) -> Result<(), SendError> {
        match &self.sender {
            Sender::Email(s) => s.send(alert).await,
            Sender::Webhook(s) => s.send(alert).await,
            Sender::Slack(s) => s.send(alert).await,
            Sender::Stdout => {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{}", render::text(alert))
                    .and_then(|_| out.flush())
                    .map_err(|e| SendError::Unreachable(format!("standard output: {e}")))
            }
        }
    }

    /// Reach the channel's server without sending an alert: an SMTP server
    /// is connected to, with its TLS, and logged in to; a webhook or Slack
    /// URL gets a HEAD request (any HTTP answer means it was reached).
    /// Says what was done, or why it failed.
    pub async fn reach(&self) -> Result<String, String> {
        let reach = async {
            match &self.sender {
                Sender::Email(s) => s.reach().await,
                Sender::Webhook(s) => s.reach().await,
                Sender::Slack(s) => s.reach().await,
                Sender::Stdout => Ok("standard output, nothing to reach".to_string()),
            }
        };
        tokio::time::timeout(SEND_TIMEOUT, reach)
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {} s", SEND_TIMEOUT.as_secs())))
    }

    /// End open connections politely (SMTP QUIT); call when done sending.
    pub async fn close(&self) {
        if let Sender::Email(s) = &self.sender {
            s.close().await;
        }
    }

    /// `webhook "ops" (hooks.example.com)`: no secret in it.
    pub fn describe(&self) -> String {
        let target = match &self.sender {
            Sender::Email(s) => s.describe(),
            Sender::Webhook(s) => s.describe(),
            Sender::Slack(s) => s.describe(),
            Sender::Stdout => "standard output".to_string(),
        };
        format!("{:?} ({target})", self.name)
    }

    pub fn route(&self) -> super::outbox::Route {
        super::outbox::Route {
            name: self.name.clone(),
            min_severity: self.min_severity,
        }
    }
}

/// [`Channel::close`] each channel.
pub async fn close_all(channels: &[Channel]) {
    for c in channels {
        c.close().await;
    }
}

/// A channel that could not be built: which `[[alert]]` and why.
#[derive(Debug, thiserror::Error)]
#[error("[[alert]] {name:?}: {message}")]
pub struct ChannelError {
    pub name: String,
    pub message: String,
}

/// The channel names, in config order: `name`, else the type, numbered
/// (`webhook-1`, `webhook-2`) when the type appears more than once.
pub fn names(alerts: &[AlertConfig]) -> Vec<String> {
    let kind = |a: &AlertConfig| match a {
        AlertConfig::Email { .. } => "email",
        AlertConfig::Webhook { .. } => "webhook",
        AlertConfig::Slack { .. } => "slack",
    };
    let mut seen = std::collections::HashMap::new();
    alerts
        .iter()
        .map(|a| {
            if let Some(name) = explicit_name(a) {
                return name.to_string();
            }
            let k = kind(a);
            let n = seen.entry(k).or_insert(0);
            *n += 1;
            if alerts
                .iter()
                .filter(|b| kind(b) == k && explicit_name(b).is_none())
                .count()
                > 1
            {
                format!("{k}-{n}")
            } else {
                k.to_string()
            }
        })
        .collect()
}

fn explicit_name(a: &AlertConfig) -> Option<&str> {
    match a {
        AlertConfig::Email { name, .. }
        | AlertConfig::Webhook { name, .. }
        | AlertConfig::Slack { name, .. } => name.as_deref(),
    }
}

/// Check every `[[alert]]` at config load: unique names, one source for each
/// secret, addresses that parse, https (plain http only to loopback).
pub fn check_all(alerts: &[AlertConfig]) -> Result<(), String> {
    let names = names(alerts);
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(format!(
                "[[alert]] name {name:?} is used twice; give each channel its own name"
            ));
        }
        if name.trim().is_empty() || name == "stdout" {
            return Err(format!(
                "[[alert]] name {name:?} is reserved or empty; choose another"
            ));
        }
    }
    for (a, name) in alerts.iter().zip(&names) {
        check(a).map_err(|m| format!("[[alert]] {name:?}: {m}"))?;
    }
    Ok(())
}

fn check(a: &AlertConfig) -> Result<(), String> {
    match a {
        AlertConfig::Email {
            smtp_host,
            tls,
            password_file,
            password_env,
            username,
            from,
            to,
            ..
        } => {
            if smtp_host.trim().is_empty() {
                return Err("smtp_host is empty".into());
            }
            if *tls == crate::config::TlsMode::None && !is_loopback_host(smtp_host) {
                return Err(format!(
                    "tls = \"none\" is only allowed for localhost / 127.0.0.1 / ::1, not \
                     {smtp_host:?}; use tls = \"starttls\" (port 587) or \"implicit\" (465)"
                ));
            }
            if password_file.is_some() && password_env.is_some() {
                return Err("set only one of password_file and password_env".into());
            }
            if username.is_some() != (password_file.is_some() || password_env.is_some()) {
                return Err(
                    "username needs password_file (or password_env), and the other way round"
                        .into(),
                );
            }
            email::parse_mailbox("from", from)?;
            if to.is_empty() {
                return Err("to is empty: list at least one recipient".into());
            }
            for t in to {
                email::parse_mailbox("to", t)?;
            }
            Ok(())
        }
        AlertConfig::Webhook { url, url_file, .. } | AlertConfig::Slack { url, url_file, .. } => {
            match (url, url_file) {
                (Some(u), None) => check_url(u).map(|_| ()),
                (None, Some(_)) => Ok(()),
                (None, None) => Err("set url (or url_file, to keep it out of the config)".into()),
                (Some(_), Some(_)) => Err("set only one of url and url_file".into()),
            }
        }
    }
}

/// `https://…`, or `http://` to a loopback host.
pub fn check_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("url is not a URL ({e}); write https://host/path"))?;
    let host = url.host_str().unwrap_or_default();
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_host(host) => Ok(url),
        "http" => Err(format!(
            "url must use https (plain http only to localhost), not http://{host}/…"
        )),
        other => Err(format!("url scheme {other:?} is not https")),
    }
}

/// Build every channel of the config (reading secret files now). With no
/// `[[alert]]`, standard output for every severity.
pub fn from_config(config: &Config) -> Result<Vec<Channel>, ChannelError> {
    if config.alerts.is_empty() {
        return Ok(vec![Channel {
            name: "stdout".into(),
            min_severity: Severity::Info,
            sender: Sender::Stdout,
        }]);
    }
    let names = names(&config.alerts);
    config
        .alerts
        .iter()
        .zip(names)
        .map(|(a, name)| {
            let fail = |message: String| ChannelError {
                name: name.clone(),
                message,
            };
            let (min_severity, sender) = match a {
                AlertConfig::Email { min_severity, .. } => (
                    *min_severity,
                    Sender::Email(email::EmailSender::new(a).map_err(fail)?),
                ),
                AlertConfig::Webhook {
                    url,
                    url_file,
                    secret_file,
                    min_severity,
                    ..
                } => {
                    let url = read_url(url.as_deref(), url_file.as_deref()).map_err(fail)?;
                    let secret = match secret_file {
                        Some(p) => Some(read_secret("secret_file", p).map_err(fail)?),
                        None => None,
                    };
                    (
                        *min_severity,
                        Sender::Webhook(webhook::WebhookSender::new(url, secret).map_err(fail)?),
                    )
                }
                AlertConfig::Slack {
                    url,
                    url_file,
                    min_severity,
                    ..
                } => {
                    let url = read_url(url.as_deref(), url_file.as_deref()).map_err(fail)?;
                    (
                        *min_severity,
                        Sender::Slack(slack::SlackSender::new(url).map_err(fail)?),
                    )
                }
            };
            Ok(Channel {
                name,
                min_severity,
                sender,
            })
        })
        .collect()
}

fn read_url(url: Option<&str>, url_file: Option<&Path>) -> Result<reqwest::Url, String> {
    let text = match (url, url_file) {
        (Some(u), _) => u.to_string(),
        (None, Some(p)) => read_secret("url_file", p)?,
        (None, None) => return Err("set url or url_file".into()),
    };
    check_url(&text).map_err(|e| match url_file {
        Some(p) => format!("url_file {}: {e}", p.display()),
        None => e,
    })
}

/// A secret from a file: trimmed, non-empty; the error names key and file.
pub fn read_secret(key: &str, path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "{key} {}: cannot read it ({e}); create it or fix the path",
            path.display()
        )
    })?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(format!("{key} {} is empty", path.display()));
    }
    Ok(text)
}

/// The HTTP client of the webhook and Slack channels: rustls with the ring
/// provider, bounded timeouts, no redirects (a redirect could carry the
/// payload elsewhere).
pub fn http_client() -> Result<reqwest::Client, String> {
    // Installing twice is harmless: the second call returns Err.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dmarcwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}

/// An error and its causes on one line: "error sending request: … :
/// Connection refused (os error 111)".
pub fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// A HEAD request to `url`: `Ok` with the status for any HTTP answer.
/// Errors name the host only (the URL's path may be the secret).
pub async fn head(client: &reqwest::Client, url: &reqwest::Url) -> Result<String, String> {
    let host = url.host_str().unwrap_or("?");
    let resp = client
        .head(url.clone())
        .send()
        .await
        .map_err(|e| format!("{host}: {}", causes(&e.without_url())))?;
    Ok(format!("{host} answered HTTP {} to HEAD", resp.status()))
}

/// POST `body` as JSON with `headers`; 2xx is delivered, 408/429/5xx and
/// network errors are [`SendError::Unreachable`], other statuses refused.
/// Errors name the host only (the URL's path may be the secret).
pub async fn post_json(
    client: &reqwest::Client,
    url: &reqwest::Url,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> Result<(), SendError> {
    let host = url.host_str().unwrap_or("?").to_string();
    let mut req = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let resp = req
        .send()
        .await
        .map_err(|e| SendError::Unreachable(format!("{host}: {}", causes(&e.without_url()))))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    let message = format!(
        "{host} answered HTTP {status}: {}",
        super::escape::clean(&text, 120)
    );
    if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(SendError::Unreachable(message))
    } else {
        Err(SendError::Refused(message))
    }
}
