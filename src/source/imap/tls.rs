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
            let fix = match cert {
                rustls::CertificateError::UnknownIssuer
                | rustls::CertificateError::BadSignature => {
                    "the server's certificate is not signed by a trusted CA: add the CA \
                     certificate to ca_file, or fix the server's certificate chain"
                }
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => {
                    "the certificate is for another name: set host to a name the \
                     certificate lists"
                }
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => {
                    "the server's certificate has expired: renew it"
                }
                _ => "check the server's certificate",
            };
            format!("TLS certificate not trusted ({cert:?}): {fix}")
        }
        Some(other) => format!("TLS handshake failed: {other}"),
        None => format!("TLS handshake failed: {e}"),
    }
}
