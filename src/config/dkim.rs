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

/// One table (`[dkim]`) or an array of them (`[[dkim]]`), read as a list;
/// a mistake inside a table keeps its own message and place.
pub(super) fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<Vec<Dkim>, D::Error> {
    struct OneOrMany;
    impl<'de> serde::de::Visitor<'de> for OneOrMany {
        type Value = Vec<Dkim>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a [dkim] table or [[dkim]] tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Vec<Dkim>, A::Error> {
            Dkim::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|d| vec![d])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            seq: A,
        ) -> std::result::Result<Vec<Dkim>, A::Error> {
            Vec::<Dkim>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(OneOrMany)
}
