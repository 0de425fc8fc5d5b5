//! `[dkim]` or `[[dkim]]`: message signing, with its checks.

use std::path::PathBuf;

use serde::Deserialize;

use super::checks::{dns_name, rule, Rule};

/// A `[dkim]` table, or each of the `[[dkim]]` tables.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dkim {
    /// The signing domain (`d=`).
    pub domain: String,
    /// The selector (`s=`).
    pub selector: String,
    /// The private key, relative to the config file.
    pub private_key_file: PathBuf,
    /// `rsa` (PKCS#1 or PKCS#8 PEM, the default) or `ed25519` (the base64
    /// of the 32-byte seed, or PKCS#8 PEM).
    #[serde(default)]
    pub algorithm: DkimAlgorithm,
}

/// DKIM signing algorithms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DkimAlgorithm {
    /// rsa-sha256.
    #[default]
    Rsa,
    /// ed25519-sha256.
    Ed25519,
}

impl Dkim {
    /// The checks of the `index`th table.
    pub(super) fn rules(&self, index: usize) -> Vec<Rule> {
        vec![
            rule(&["dkim", "domain"], dns_name(&self.domain)).at(index),
            rule(&["dkim", "selector"], dns_name(&self.selector)).at(index),
        ]
    }
}
