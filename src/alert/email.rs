//! The e-mail channel: lettre over SMTP with STARTTLS (587) or implicit TLS
//! (465), or plain SMTP to a loopback relay; `ca_file` adds a trust anchor
//! to the system's. One message per alert, with a text and an HTML part, a
//! subject made only of severity, kind and domain (never report text), and
//! the stable `X-Dmarcwatch-Event-Id` (also the Message-ID) so that a resent
//! alert can be recognised.

use super::channel::{causes, read_secret, SendError};
use super::{render, StoredAlert};
use crate::config::{AlertConfig, TlsMode};
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::time::Duration;

pub struct EmailSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    host: String,
    port: u16,
    username: Option<String>,
}

/// `"dmarcwatch <alerts@example.com>"` → a mailbox; the error names the key.
pub fn parse_mailbox(key: &str, text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>().map_err(|e| {
        format!("{key} {text:?} is not an e-mail address like \"Name <user@example.com>\" ({e})")
    })
}

impl EmailSender {
    /// Build the SMTP transport of an `[[alert]] type = "email"` section.
    pub fn new(config: &AlertConfig) -> Result<EmailSender, String> {
        let AlertConfig::Email {
            smtp_host,
            smtp_port,
            tls,
            ca_file,
            username,
            password_file,
            password_env,
            from,
            to,
            ..
        } = config
        else {
            return Err("not an e-mail channel".into());
        };
        let port = smtp_port.unwrap_or(match tls {
            TlsMode::Implicit => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        });
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp_host)
            .port(port)
            .timeout(Some(Duration::from_secs(30)));
        if *tls != TlsMode::None {
            let mut params = TlsParameters::builder(smtp_host.clone());
            if let Some(path) = ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("ca_file {}: cannot read it ({e})", path.display()))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| {
                    format!("ca_file {}: not a PEM certificate ({e})", path.display())
                })?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| format!("TLS setup for {smtp_host}: {e}"))?;
            builder = builder.tls(match tls {
                TlsMode::Implicit => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        }
        if let Some(user) = username {
            let password = match (password_file, password_env) {
                (Some(p), _) => read_secret("password_file", p)?,
                (None, Some(var)) => std::env::var(var).map_err(|_| {
                    format!("password_env: the environment variable {var} is not set")
                })?,
                (None, None) => return Err("username is set but no password_file".into()),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(EmailSender {
            transport: builder.build(),
            from: parse_mailbox("from", from)?,
            to: to
                .iter()
                .map(|t| parse_mailbox("to", t))
                .collect::<Result<_, _>>()?,
            host: smtp_host.clone(),
            port,
            username: username.clone(),
        })
    }

    /// Connect, with TLS as configured, log in when a username is set, and
    /// say NOOP; nothing is sent (`check-config`).
    pub async fn reach(&self) -> Result<String, String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(format!("connected{}", self.login_note())),
            Ok(false) => Err("connected, but the server did not answer NOOP".into()),
            Err(e) => {
                let mut message = causes(&e);
                if login_refused(&e) {
                    message.push_str("; check username and password_file / password_env");
                }
                Err(message)
            }
        }
    }

    fn login_note(&self) -> String {
        match &self.username {
            Some(user) => format!(", logged in as {user:?}"),
            None => String::new(),
        }
    }

    /// QUIT the pooled connections.
    pub async fn close(&self) {
        self.transport.shutdown().await;
    }

    pub fn describe(&self) -> String {
        format!("SMTP {}:{}", self.host, self.port)
    }

    /// The message for one alert (public for tests and `alerts test`).
    pub fn message(&self, alert: &StoredAlert) -> Result<Message, String> {
        let domain = self.from.email.domain().to_string();
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(render::subject(alert))
            .message_id(Some(format!("<{}@{domain}>", alert.id)))
            .raw_header(custom("X-Dmarcwatch-Event-Id", &alert.id))
            .raw_header(custom("X-Dmarcwatch-Kind", alert.alert.kind.as_str()))
            .raw_header(custom(
                "X-Dmarcwatch-Severity",
                alert.alert.severity.as_str(),
            ));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                render::text(alert),
                render::html_body(alert),
            ))
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    pub async fn send(&self, alert: &StoredAlert) -> Result<(), SendError> {
        let message = self.message(alert).map_err(SendError::Refused)?;
        let at = format!("{}:{}", self.host, self.port);
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let message = format!("SMTP {at}: {e}");
                // 5xx to the message itself; but a refused login is the
                // channel's problem.
                if e.is_permanent() && !login_refused(&e) {
                    Err(SendError::Refused(message))
                } else {
                    Err(SendError::Unreachable(message))
                }
            }
        }
    }
}

/// The server refused to authenticate us (530, 534, 535, 538).
fn login_refused(e: &lettre::transport::smtp::Error) -> bool {
    matches!(e.status().map(u16::from), Some(530 | 534 | 535 | 538))
}

/// A header of our own, its value from our own ASCII words.
fn custom(name: &'static str, value: &str) -> HeaderValue {
    HeaderValue::new(
        HeaderName::new_from_ascii_str(name),
        super::escape::header(value),
    )
}
