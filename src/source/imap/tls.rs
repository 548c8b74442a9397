//! TLS for IMAP: rustls with certificate verification always on. The trust
//! anchors are the system store (rustls-platform-verifier) plus, when the
//! mailbox sets `ca_file`, the certificates in that PEM file. There is no
//! switch to turn verification off; a private CA goes in `ca_file`.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::{
    self,
    pki_types::{pem::PemObject, CertificateDer, ServerName},
    ClientConfig,
};

/// The client config for one mailbox: built once, reused for every connection.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let extra = match ca_file {
        Some(path) => read_anchors(path)?,
        None => Vec::new(),
    };
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone()).map_err(
            |e| match ca_file {
                Some(path) => format!("ca_file {}: {e}", path.display()),
                None => format!(
                    "no trust anchors: {e}; install the system CA certificates \
                     (Debian: ca-certificates) or set ca_file"
                ),
            },
        )?;
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .dangerous() // only to install the platform verifier, which verifies
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn read_anchors(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let problem = |what: String| format!("ca_file {}: {what}", path.display());
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| problem(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(problem(
            "holds no certificate (expected -----BEGIN CERTIFICATE-----)".into(),
        ));
    }
    Ok(certs)
}

/// The name the server's certificate must carry: a DNS name or an IP literal.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|_| format!("host {host:?} is neither a DNS name nor an IP address"))
}

/// A handshake error in words a person can act on.
pub fn describe_handshake_error(e: &std::io::Error) -> String {
    let inner = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(cert)) => {
            use rustls::CertificateError as C;
            let fix = match cert {
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "the certificate is for another name: set host to a name it lists"
                }
                C::Expired | C::ExpiredContext { .. } => {
                    "the server's certificate has expired: renew it"
                }
                C::NotValidYet | C::NotValidYetContext { .. } => {
                    "the certificate is not valid yet: check the clocks"
                }
                C::Revoked => "the certificate was revoked: replace it",
                // UnknownIssuer, a self-signed certificate, a broken chain.
                _ => {
                    "it is not signed by a CA this system trusts: put the server's CA \
                     certificate (or its self-signed certificate) in ca_file, or fix the \
                     server's certificate chain"
                }
            };
            format!(
                "TLS certificate not trusted ({}): {fix}",
                variant_name(cert)
            )
        }
        Some(other) => format!("TLS handshake failed: {other}{PORT_HINT}"),
        None => format!("TLS handshake failed: {e}{PORT_HINT}"),
    }
}

const PORT_HINT: &str = " (is the port right? tls = \"implicit\" speaks TLS from the first \
                         byte, usually port 993; port 143 wants tls = \"starttls\")";

/// `UnknownIssuer` from `UnknownIssuer`, `Expired` from `ExpiredContext { .. }`.
fn variant_name(cert: &rustls::CertificateError) -> String {
    let debug = format!("{cert:?}");
    let name = debug.split([' ', '(', '{']).next().unwrap_or(&debug);
    name.trim_end_matches("Context").to_string()
}
