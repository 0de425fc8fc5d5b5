//! DKIM over the finished bytes: the message is formatted first, exactly as
//! SMTP DATA carries it, and then signed (mail-auth canonicalises and
//! hashes, relaxed/relaxed; AWS-LC computes the RSA-SHA256 or
//! Ed25519-SHA256 signature in constant time, as fast as OpenSSL), so every
//! header the wire carries can be covered, MIME-Version and Content-Type
//! included. Each `[[dkim]]` table adds its own signature.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use aws_lc_rs::signature::{Ed25519KeyPair, RsaKeyPair, RSA_PKCS1_SHA256};
use mail_auth::common::crypto::{Algorithm, RsaKey, Sha256, SigningKey};
use mail_auth::common::headers::{HeaderWriter, Writable};
use mail_auth::dkim::{Canonicalization, DkimSigner, Done};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;

use crate::config::{Config, Dkim, DkimAlgorithm};

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

/// Every `[dkim]` table's signer, loaded once per run; each message gets
/// one signature per table, in the order of the tables.
pub struct Signer {
    signers: Vec<DkimSigner<Key, Done>>,
}

/// A private key, checked against its table's algorithm.
pub enum Key {
    /// RSA of 2048 bits and more: AWS-LC's constant-time RSA.
    Rsa(RsaKeyPair),
    /// RSA under 2048 bits (AWS-LC refuses them): the slower pure-Rust RSA.
    /// `check` warns about it.
    SmallRsa(Box<RsaKey<Sha256>>),
    /// Ed25519 (RFC 8463).
    Ed25519(Ed25519KeyPair),
}

impl SigningKey for Key {
    type Hasher = Sha256;

    fn sign(&self, input: impl Writable) -> mail_auth::Result<Vec<u8>> {
        let failed = |e: aws_lc_rs::error::Unspecified| {
            mail_auth::Error::Crypto(mail_auth::common::crypto::CryptoError::Library(
                e.to_string(),
            ))
        };
        match self {
            Key::Rsa(pair) => {
                let mut data = Vec::with_capacity(1024);
                input.write(&mut data);
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &aws_lc_rs::rand::SystemRandom::new(),
                    &data,
                    &mut signature,
                )
                .map_err(failed)?;
                Ok(signature)
            }
            Key::SmallRsa(key) => key.sign(input),
            // RFC 8463: Ed25519 signs the SHA-256 of the header data.
            Key::Ed25519(pair) => Ok(pair.sign(self.hash(input).as_ref()).as_ref().to_vec()),
        }
    }

    fn algorithm(&self) -> Algorithm {
        match self {
            Key::Rsa(_) | Key::SmallRsa(_) => Algorithm::RsaSha256,
            Key::Ed25519(_) => Algorithm::Ed25519Sha256,
        }
    }
}

impl Signer {
    /// Reads the key of every `[dkim]` table; `None` when there is none. A
    /// key that cannot be read, or is not a key of its table's algorithm,
    /// is an error naming the file and the table.
    pub fn load(config: &Config) -> Result<Option<Signer>> {
        if config.file.dkim.is_empty() {
            return Ok(None);
        }
        let signers = config
            .file
            .dkim
            .iter()
            .map(|dkim| {
                let key = load_key(config, dkim)?;
                Ok(DkimSigner::from_key(key)
                    .domain(&dkim.domain)
                    .selector(&dkim.selector)
                    .headers(SIGNED.iter().copied())
                    .header_canonicalization(Canonicalization::Relaxed)
                    .body_canonicalization(Canonicalization::Relaxed))
            })
            .collect::<Result<_>>()?;
        Ok(Some(Signer { signers }))
    }

    /// `message` with its DKIM-Signature headers in front, the first
    /// table's on top.
    pub fn sign(&self, message: Vec<u8>) -> Result<Vec<u8>> {
        let mut headers = String::new();
        for signer in &self.signers {
            let signature = signer
                .sign(&message)
                .map_err(|e| anyhow!("cannot sign the message with DKIM: {e}"))?;
            headers.push_str(&signature.to_header());
        }
        let mut signed = Vec::with_capacity(headers.len() + message.len());
        signed.extend_from_slice(headers.as_bytes());
        signed.extend_from_slice(&message);
        Ok(signed)
    }
}

/// The public half of a key as DNS publishes it in `p=`: the DER
/// SubjectPublicKeyInfo for RSA (what `openssl pkey -pubout` gives and
/// receivers read), the 32 raw bytes for Ed25519 (RFC 8463).
pub fn public_key(key: &Key) -> Vec<u8> {
    use aws_lc_rs::signature::KeyPair;
    match key {
        Key::Rsa(pair) => rsa_spki(pair.public_key().as_ref()),
        Key::SmallRsa(key) => rsa_spki(&key.public_key()),
        Key::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
    }
}

/// A PKCS#1 RSAPublicKey wrapped in a SubjectPublicKeyInfo (rsaEncryption).
fn rsa_spki(pkcs1: &[u8]) -> Vec<u8> {
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }
    // SEQUENCE { OID 1.2.840.113549.1.1.1, NULL }
    const ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut bits = vec![0u8];
    bits.extend_from_slice(pkcs1);
    let mut content = ALGORITHM.to_vec();
    content.extend(der(0x03, &bits));
    der(0x30, &content)
}

/// The key a message speaks of: `[dkim] private_key_file`, and for
/// `[[dkim]]` tables the selector that tells them apart.
pub fn key_name(config: &Config, dkim: &Dkim) -> String {
    match config.file.dkim.len() {
        1 => "[dkim] private_key_file".into(),
        _ => format!(
            "private_key_file of the [[dkim]] table with selector = {:?}",
            dkim.selector
        ),
    }
}

/// Where the key of `dkim` lives.
pub fn key_path(config: &Config, dkim: &Dkim) -> PathBuf {
    config.resolve(&dkim.private_key_file)
}

/// Reads and checks the key of one `[dkim]` table.
pub fn load_key(config: &Config, dkim: &Dkim) -> Result<Key> {
    let path = key_path(config, dkim);
    let text = crate::error::read_input(&path)
        .with_context(|| {
            format!(
                "cannot read the DKIM private key ({})",
                key_name(config, dkim)
            )
        })?
        .into_bytes();
    parse_key(&text, dkim.algorithm).map_err(|why| {
        anyhow!(
            "{}: not {} DKIM private key ({}): {why}\n  help: {}",
            path.display(),
            match dkim.algorithm {
                DkimAlgorithm::Rsa => "an RSA",
                DkimAlgorithm::Ed25519 => "an Ed25519",
            },
            key_name(config, dkim),
            match dkim.algorithm {
                DkimAlgorithm::Rsa => "an RSA key is PEM, PKCS#1 (BEGIN RSA PRIVATE KEY) or PKCS#8 (BEGIN PRIVATE KEY), e.g. from `openssl genrsa 2048`; for an Ed25519 key set algorithm = \"ed25519\"",
                DkimAlgorithm::Ed25519 => "an Ed25519 key is the base64 of the 32-byte seed, or PKCS#8 PEM from `openssl genpkey -algorithm ed25519`; for an RSA key set algorithm = \"rsa\"",
            }
        )
    })
}

/// A key of `algorithm` from the text of its file.
fn parse_key(text: &[u8], algorithm: DkimAlgorithm) -> std::result::Result<Key, String> {
    let text = text.trim_ascii();
    let pem = || match PrivateKeyDer::from_pem_slice(text) {
        Ok(der) => Ok(der),
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            Err("no complete PEM private key in the file (is it cut short?)".to_string())
        }
        Err(e) => Err(format!("the PEM cannot be read ({e})")),
    };
    match algorithm {
        DkimAlgorithm::Rsa => {
            let der = pem()?;
            let fast = match &der {
                PrivateKeyDer::Pkcs1(k) => RsaKeyPair::from_der(k.secret_pkcs1_der()),
                PrivateKeyDer::Pkcs8(k) => RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
                _ => return Err("a SEC1 (elliptic curve) key, not RSA".into()),
            };
            match fast {
                Ok(pair) => Ok(Key::Rsa(pair)),
                // AWS-LC signs with 2048 bits and more; a 1024-bit key (still
                // accepted by receivers) goes to the pure-Rust RSA.
                Err(e) if e.to_string().as_str() == "TooSmall" => {
                    RsaKey::<Sha256>::from_key_der(der.clone_key())
                        .map(|key| Key::SmallRsa(Box::new(key)))
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(match e.to_string().as_str() {
                    "WrongAlgorithm" => "the PEM holds a key of another algorithm".into(),
                    "TooLarge" => "the key is larger than AWS-LC signs with".into(),
                    other => format!("the key is damaged or not RSA ({other})"),
                }),
            }
        }
        DkimAlgorithm::Ed25519 => {
            if text.starts_with(b"-----BEGIN") {
                return match pem()? {
                    PrivateKeyDer::Pkcs8(k) => {
                        Ed25519KeyPair::from_pkcs8_maybe_unchecked(k.secret_pkcs8_der())
                            .map(Key::Ed25519)
                            .map_err(|e| match e.to_string().as_str() {
                                "WrongAlgorithm" => {
                                    "the PEM holds a key of another algorithm".to_string()
                                }
                                other => format!("the key is damaged or not Ed25519 ({other})"),
                            })
                    }
                    _ => Err("the PEM holds an RSA or elliptic curve key".into()),
                };
            }
            let seed = ed25519_seed(text)?;
            Ed25519KeyPair::from_seed_unchecked(&seed)
                .map(Key::Ed25519)
                .map_err(|e| e.to_string())
        }
    }
}

/// The 32-byte seed of an Ed25519 key written as base64.
fn ed25519_seed(text: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use base64::Engine;
    let seed = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("not base64 ({e})"))?;
    match seed.len() {
        32 => Ok(seed),
        n => Err(format!("{n} bytes, not a 32-byte seed")),
    }
}

/// Whether the file at `path` can be read by others than its owner (its
/// mode, when it has one).
pub fn readable_by_others(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    (mode & 0o077 != 0).then_some(mode & 0o777)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh key made by openssl, as PEM.
    fn openssl(args: &[&str]) -> Vec<u8> {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A 1024-bit RSA key, which AWS-LC does not sign with, still signs;
    /// keys of 2048 and 4096 bits take the fast path.
    #[test]
    fn rsa_keys_of_every_common_size_sign() {
        for (bits, fast) in [("1024", false), ("2048", true), ("4096", true)] {
            let pem = openssl(&["genrsa", "-traditional", bits]);
            let key = parse_key(&pem, DkimAlgorithm::Rsa).unwrap();
            assert_eq!(matches!(key, Key::Rsa(_)), fast, "{bits} bits");
            let signature = key.sign(&b"header data"[..]).unwrap();
            assert_eq!(signature.len() * 8, bits.parse::<usize>().unwrap());
        }
    }

    /// Time per signature of each RSA implementation at hand, on the
    /// headers a message signs: `cargo test --lib signing_speed -- --ignored
    /// --nocapture`.
    #[test]
    #[ignore = "a measurement, not a test"]
    fn signing_speed() {
        let pem = openssl(&["genrsa", "-traditional", "2048"]);
        let der = PrivateKeyDer::from_pem_slice(&pem).unwrap();
        let rust_crypto = RsaKey::<Sha256>::from_key_der(der.clone_key()).unwrap();
        let aws_lc = parse_key(&pem, DkimAlgorithm::Rsa).unwrap();
        let ring = ring::signature::RsaKeyPair::from_der(der.secret_der()).unwrap();
        let ed = parse_key(
            b"q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=",
            DkimAlgorithm::Ed25519,
        )
        .unwrap();
        let input: &[u8] = &[b'x'; 600];
        let time = |name: &str, n: u32, f: &dyn Fn()| {
            let start = std::time::Instant::now();
            for _ in 0..n {
                f();
            }
            let each = start.elapsed() / n;
            eprintln!("{name}: {each:?} per signature");
        };
        time("rsa-2048, mail-auth rust-crypto (rsa crate)", 20, &|| {
            rust_crypto.sign(input).unwrap();
        });
        time("rsa-2048, ring", 200, &|| {
            let mut signature = [0; 256];
            let rng = ring::rand::SystemRandom::new();
            ring.sign(
                &ring::signature::RSA_PKCS1_SHA256,
                &rng,
                input,
                &mut signature,
            )
            .unwrap();
        });
        time("rsa-2048, aws-lc-rs", 200, &|| {
            aws_lc.sign(input).unwrap();
        });
        time("ed25519, aws-lc-rs", 2000, &|| {
            ed.sign(input).unwrap();
        });
    }
}
