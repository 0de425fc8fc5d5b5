//! DKIM over the finished bytes: the message is formatted first, exactly as
//! SMTP DATA carries it, and then signed (mail-auth, relaxed/relaxed,
//! RSA-SHA256 or Ed25519-SHA256), so every header the wire carries can be
//! covered, MIME-Version and Content-Type included.

use anyhow::{anyhow, Context, Result};
use mail_auth::common::crypto::{Ed25519Key, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::{Canonicalization, DkimSigner, Done, NeedDomain};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;

use crate::config::{Config, DkimAlgorithm};

/// The headers signed, in this order. A listed header the message does not
/// carry (Reply-To, Feedback-ID when unset) is signed as absent, so it
/// cannot be added in transit either.
pub const SIGNED: &[&str] = &[
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Reply-To",
    "Feedback-ID",
];

/// The `[dkim]` signer, loaded once per run.
pub enum Signer {
    /// rsa-sha256.
    Rsa(DkimSigner<RsaKey<Sha256>, Done>),
    /// ed25519-sha256.
    Ed25519(DkimSigner<Ed25519Key, Done>),
}

impl Signer {
    /// Reads the key `[dkim] private_key_file` names.
    pub fn load(config: &Config) -> Result<Signer> {
        let dkim = config.file.dkim.as_ref().expect("caller checked");
        let path = config.resolve(&dkim.private_key_file);
        let key = crate::error::read_input(&path)
            .context("cannot read the DKIM private key ([dkim] private_key_file)")?;
        let not_a_key = |e: String| {
            anyhow!(
                "{}: not a {:?} DKIM key ({e})\n  help: RSA keys are PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY); Ed25519 keys are the base64 of the 32-byte seed",
                path.display(),
                dkim.algorithm
            )
        };
        Ok(match dkim.algorithm {
            DkimAlgorithm::Rsa => {
                let der = PrivateKeyDer::from_pem_slice(key.trim().as_bytes())
                    .map_err(|e| not_a_key(e.to_string()))?;
                let key =
                    RsaKey::<Sha256>::from_key_der(der).map_err(|e| not_a_key(e.to_string()))?;
                Signer::Rsa(ready(
                    DkimSigner::from_key(key),
                    &dkim.domain,
                    &dkim.selector,
                ))
            }
            DkimAlgorithm::Ed25519 => {
                let seed = ed25519_seed(key.trim()).map_err(not_a_key)?;
                let pair = ring::signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                    .map_err(|e| not_a_key(e.to_string()))?;
                use ring::signature::KeyPair;
                let key = Ed25519Key::from_seed_and_public_key(&seed, pair.public_key().as_ref())
                    .map_err(|e| not_a_key(e.to_string()))?;
                Signer::Ed25519(ready(
                    DkimSigner::from_key(key),
                    &dkim.domain,
                    &dkim.selector,
                ))
            }
        })
    }

    /// `message` with its DKIM-Signature header in front.
    pub fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        let signature = match self {
            Signer::Rsa(s) => s.sign(&message),
            Signer::Ed25519(s) => s.sign(&message),
        }
        .map_err(|e| anyhow!("cannot sign the message with DKIM: {e}"))?;
        let header = signature.to_header();
        let mut signed = Vec::with_capacity(header.len() + message.len());
        signed.extend_from_slice(header.as_bytes());
        signed.extend_from_slice(&message);
        Ok(signed)
    }
}

fn ready<T: SigningKey>(
    signer: DkimSigner<T, NeedDomain>,
    domain: &str,
    selector: &str,
) -> DkimSigner<T, Done> {
    signer
        .domain(domain)
        .selector(selector)
        .headers(SIGNED.iter().copied())
        .header_canonicalization(Canonicalization::Relaxed)
        .body_canonicalization(Canonicalization::Relaxed)
}

/// The 32-byte seed of an Ed25519 key written as base64.
fn ed25519_seed(text: &str) -> std::result::Result<Vec<u8>, String> {
    use base64::Engine;
    let seed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| e.to_string())?;
    match seed.len() {
        32 => Ok(seed),
        n => Err(format!("{n} bytes, not a 32-byte seed")),
    }
}
