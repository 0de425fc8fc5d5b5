//! The client side of TLS, the same for the SMTP relay and the IMAP
//! mailbox: the web PKI roots, a private CA when the config names one, and
//! rustls's safe defaults.

use std::sync::Arc;

use anyhow::{anyhow, Result};
use rustls::pki_types::CertificateDer;

/// Trusts the web PKI roots and, when given, the server's private CA
/// (`ca`: the file it was read from, and its PEM text).
pub fn client_config(
    ca: Option<&(std::path::PathBuf, Vec<u8>)>,
) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some((path, pem)) = ca {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert =
                cert.map_err(|e| anyhow!("{}: not a PEM certificate: {e}", path.display()))?;
            roots
                .add(cert)
                .map_err(|e| anyhow!("{}: {e}", path.display()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
