//! Signatures: HMAC-SHA256 under a secret, the readers' unsubscribe tokens,
//! hex and a comparison whose time does not tell where two values differ.
//!
//! Every signature letterpress makes goes through [`mac`]: the unsubscribe
//! tokens here, the VERP tags, the double opt-in tokens and form stamps,
//! and the click signatures.
//!
//! The unsubscribe link is `<[unsubscribe].url>?e=<address>&t=<token>&i=<issue>`,
//! where the token is the first 16 bytes of
//! HMAC-SHA256(secret, the address's identity), as 32 lowercase hex digits.
//! Anybody holding the secret can verify it; nobody without it can forge a
//! link that unsubscribes someone else.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::address::identity;

/// HMAC-SHA256 under `secret` of `label` and then `parts`.
pub fn mac(secret: &[u8], label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(label);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// `bytes` as lowercase hex digits, two for each byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `a` and `b` are equal, in a time that does not depend on where
/// they differ: every check of a token, stamp or signature goes through it.
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of `address` under `secret`.
pub fn token(secret: &[u8], address: &str) -> String {
    mac_hex(secret, &identity(address))
}

fn mac_hex(secret: &[u8], key: &str) -> String {
    hex(&mac(secret, b"", &[key.as_bytes()])[..16])
}

/// The token of `address`'s preference page under `secret`: another
/// label than the unsubscribe token's, so neither opens the other.
pub fn preferences_token(secret: &[u8], address: &str) -> String {
    hex(&mac(
        secret,
        b"letterpress preferences",
        &[identity(address).as_bytes()],
    )[..16])
}

/// Whether `token` opens the preference page of `address` (constant time).
pub fn verify_preferences(secret: &[u8], address: &str, token: &str) -> bool {
    same_bytes(
        preferences_token(secret, address).as_bytes(),
        token.as_bytes(),
    )
}

/// Whether `token` is the token of `address` under `secret` (constant time).
/// Links sent before addresses had one identity were signed over the
/// address in lower case; for an internationalised domain written as
/// punycode that differs, and those links keep working.
pub fn verify(secret: &[u8], address: &str, token: &str) -> bool {
    let same = |expected: String| same_bytes(expected.as_bytes(), token.as_bytes());
    let legacy = address.trim().to_lowercase();
    same(self::token(secret, address))
        || (legacy != identity(address) && same(mac_hex(secret, &legacy)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_per_reader_and_case_insensitive() {
        let a = token(b"secret", "Reader@Example.com");
        assert_eq!(a.len(), 32);
        assert_eq!(a, token(b"secret", "reader@example.com"));
        assert_ne!(a, token(b"secret", "other@example.com"));
        assert_ne!(a, token(b"other secret", "reader@example.com"));
        assert!(verify(b"secret", "reader@example.com", &a));
        assert!(!verify(b"secret", "other@example.com", &a));
        let p = preferences_token(b"secret", "Reader@Example.com");
        assert_ne!(p, a, "an unsubscribe token opens no preference page");
        assert!(verify_preferences(b"secret", "reader@example.com", &p));
        assert!(!verify_preferences(b"secret", "reader@example.com", &a));
        assert!(!verify(b"secret", "reader@example.com", &p));
    }
}
