//! Reaching a mailbox: TCP, then TLS from the first byte (`implicit`), after
//! STARTTLS (`starttls`) or none (loopback only), the server's greeting
//! (async-imap leaves it to us), and the login. LOGIN is used unless the
//! server says LOGINDISABLED, then AUTHENTICATE PLAIN. The password comes from
//! `password_file` or `password_env` and is never logged or shown.

use super::tls;
use super::{timed, MailboxError, COMMAND_TIMEOUT};
use crate::config::{is_loopback_host, MailboxConfig, TlsMode};
use async_imap::imap_proto::{ResponseCode, Status};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::TlsConnector;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The byte stream under the IMAP session: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

pub type Session = async_imap::Session<Stream>;

/// What the server offers that changes how we work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// RFC 6851 MOVE.
    pub move_: bool,
    /// RFC 4315 UID EXPUNGE.
    pub uidplus: bool,
    /// RFC 2177 IDLE.
    pub idle: bool,
}

impl std::fmt::Display for Capabilities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "MOVE {}, UIDPLUS {}, IDLE {}",
            yes_no(self.move_),
            yes_no(self.uidplus),
            yes_no(self.idle)
        )
    }
}

/// A logged-in session on one mailbox, with what the server can do.
pub struct Connection {
    pub session: Session,
    pub caps: Capabilities,
    /// `name (host:port)`, for messages.
    pub label: String,
}

impl Connection {
    /// LOGOUT, ignoring errors: the connection is being dropped anyway.
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

/// Everything needed to connect to one mailbox, prepared once.
#[derive(Clone)]
pub struct Endpoint {
    pub config: MailboxConfig,
    tls: Option<Arc<ClientConfig>>,
}

impl Endpoint {
    /// Check the TLS settings and load the trust anchors.
    pub fn new(config: &MailboxConfig) -> Result<Endpoint, MailboxError> {
        let err = |message: String| MailboxError::new(&config.name, message);
        let tls = match config.tls {
            TlsMode::None if !is_loopback_host(&config.host) => {
                return Err(err(format!(
                    "tls = \"none\" is only allowed for a loopback host, not {:?}",
                    config.host
                )))
            }
            TlsMode::None => None,
            TlsMode::Implicit | TlsMode::Starttls => {
                Some(tls::client_config(config.ca_file.as_deref()).map_err(err)?)
            }
        };
        Ok(Endpoint {
            config: config.clone(),
            tls,
        })
    }

    pub fn address(&self) -> String {
        let host = &self.config.host;
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{}", self.config.port())
        } else {
            format!("{host}:{}", self.config.port())
        }
    }

    fn label(&self) -> String {
        format!("{} ({})", self.config.name, self.address())
    }

    fn error(&self, message: impl Into<String>) -> MailboxError {
        MailboxError::new(&self.label(), message)
    }

    /// Connect, secure, read the greeting, log in, read the capabilities.
    pub async fn connect(&self) -> Result<Connection, MailboxError> {
        let address = self.address();
        let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&address)).await {
            Err(_) => {
                return Err(self.error(format!(
                    "no TCP connection within {} s: check host and port, and the firewall",
                    CONNECT_TIMEOUT.as_secs()
                )))
            }
            Ok(Err(e)) => {
                return Err(self.error(format!(
                    "cannot connect: {e} (is the server up and the port right?)"
                )))
            }
            Ok(Ok(tcp)) => tcp,
        };
        let _ = tcp.set_nodelay(true);
        let (client, login_disabled) = match self.config.tls {
            TlsMode::Implicit => {
                let mut client = async_imap::Client::new(self.wrap_tls(tcp).await?);
                let login_disabled = self.read_greeting(&mut client).await?;
                (client, login_disabled)
            }
            TlsMode::None => {
                let mut client = async_imap::Client::new(Stream::Plain(tcp));
                let login_disabled = self.read_greeting(&mut client).await?;
                (client, login_disabled)
            }
            TlsMode::Starttls => {
                let mut client = async_imap::Client::new(Stream::Plain(tcp));
                self.read_greeting(&mut client).await?;
                timed(
                    COMMAND_TIMEOUT,
                    "STARTTLS",
                    client.run_command_and_check_ok("STARTTLS", None),
                )
                .await
                .map_err(|e| {
                    self.error(format!(
                        "STARTTLS refused: {e}; use tls = \"implicit\" (port 993) if the \
                         server does not offer STARTTLS"
                    ))
                })?;
                let Stream::Plain(tcp) = client.into_inner() else {
                    return Err(self.error("STARTTLS on a stream that is already TLS"));
                };
                // No second greeting after STARTTLS; LOGINDISABLED before
                // TLS says nothing about after.
                (async_imap::Client::new(self.wrap_tls(tcp).await?), false)
            }
        };
        let mut session = self.login(client, login_disabled).await?;
        let caps = timed(COMMAND_TIMEOUT, "CAPABILITY", session.capabilities())
            .await
            .map_err(|e| self.error(e))?;
        let caps = Capabilities {
            move_: caps.has_str("MOVE"),
            uidplus: caps.has_str("UIDPLUS"),
            idle: caps.has_str("IDLE"),
        };
        tracing::debug!("{}: logged in; {caps}", self.label());
        Ok(Connection {
            session,
            caps,
            label: self.label(),
        })
    }

    async fn wrap_tls(&self, tcp: TcpStream) -> Result<Stream, MailboxError> {
        let Some(config) = &self.tls else {
            return Err(self.error("TLS requested without a TLS configuration"));
        };
        let name = tls::server_name(&self.config.host).map_err(|e| self.error(e))?;
        let handshake = TlsConnector::from(config.clone()).connect(name, tcp);
        match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Err(_) => Err(self.error(format!(
                "no TLS handshake within {} s (is this port really {}?)",
                CONNECT_TIMEOUT.as_secs(),
                if self.config.tls == TlsMode::Implicit {
                    "implicit TLS; try tls = \"starttls\""
                } else {
                    "TLS"
                }
            ))),
            Ok(Err(e)) => Err(self.error(tls::describe_handshake_error(&e))),
            Ok(Ok(stream)) => Ok(Stream::Tls(Box::new(stream))),
        }
    }

    /// The server speaks first: `* OK ...` (or `* BYE` when it refuses us).
    /// Returns whether it says LOGINDISABLED.
    async fn read_greeting(
        &self,
        client: &mut async_imap::Client<Stream>,
    ) -> Result<bool, MailboxError> {
        let greeting = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
            .await
            .map_err(|_| {
                self.error(format!(
                    "no IMAP greeting within {} s (is this an IMAP port? with tls = \
                     \"implicit\" use 993, otherwise 143)",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| self.error(format!("reading the greeting failed: {e}")))?
            .ok_or_else(|| self.error("the server closed the connection before its greeting"))?;
        match greeting.parsed() {
            async_imap::imap_proto::Response::Data { status, outcome } => {
                let text = outcome.information.as_deref().unwrap_or("");
                if matches!(status, Status::Bye | Status::No | Status::Bad) {
                    return Err(self.error(format!("the server refused the connection: {text}")));
                }
                let login_disabled = matches!(&outcome.code, Some(ResponseCode::Capabilities(caps))
                    if caps.iter().any(|c| matches!(c,
                        async_imap::imap_proto::Capability::Atom(a) if a.eq_ignore_ascii_case("LOGINDISABLED"))));
                Ok(login_disabled)
            }
            _ => {
                Err(self
                    .error("the server did not greet like an IMAP server (is this an IMAP port?)"))
            }
        }
    }

    async fn login(
        &self,
        client: async_imap::Client<Stream>,
        login_disabled: bool,
    ) -> Result<Session, MailboxError> {
        let password = read_password(&self.config).map_err(|e| self.error(e))?;
        let user = &self.config.username;
        let result = if login_disabled {
            let plain = PlainAuth {
                user: user.clone(),
                password,
            };
            timed(COMMAND_TIMEOUT, "AUTHENTICATE PLAIN", async {
                client
                    .authenticate("PLAIN", plain)
                    .await
                    .map_err(|(e, _)| e)
            })
            .await
        } else {
            timed(COMMAND_TIMEOUT, "LOGIN", async {
                client.login(user, &password.0).await.map_err(|(e, _)| e)
            })
            .await
        };
        result.map_err(|e| {
            self.error(format!(
                "login as {user:?} refused: {e}; check username and {}",
                password_key(&self.config)
            ))
        })
    }
}

/// The password, kept out of Debug output.
struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<hidden>)")
    }
}

/// SASL PLAIN (RFC 4616): no authorization identity, user, password.
struct PlainAuth {
    user: String,
    password: Password,
}

impl async_imap::Authenticator for PlainAuth {
    type Response = Vec<u8>;

    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        format!("\0{}\0{}", self.user, self.password.0).into_bytes()
    }
}

fn password_key(config: &MailboxConfig) -> String {
    match (&config.password_file, &config.password_env) {
        (Some(path), _) => format!("password_file {}", path.display()),
        (None, Some(var)) => format!("password_env {var}"),
        (None, None) => "the password".into(),
    }
}

fn read_password(config: &MailboxConfig) -> Result<Password, String> {
    let text = match (&config.password_file, &config.password_env) {
        (Some(path), _) => std::fs::read_to_string(path).map_err(|e| {
            format!(
                "password_file {}: {} (the file holds the password on its first line)",
                path.display(),
                match e.kind() {
                    std::io::ErrorKind::NotFound => "no such file".to_string(),
                    std::io::ErrorKind::PermissionDenied =>
                        "permission denied (check the owner and mode)".to_string(),
                    _ => e.to_string(),
                }
            )
        })?,
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            format!("password_env {var}: the environment variable is not set (or not UTF-8)")
        })?,
        (None, None) => return Err("set password_file or password_env".into()),
    };
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        return Err(format!("{} is empty", password_key(config)));
    }
    Ok(Password(password))
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
