//! VERP: each list message's envelope sender names its reader, so a bounce
//! maps back to the reader even when the report leaves the address out.
//!
//! With `return_path = "bounces@news.example.com"` a reader's envelope
//! sender is `bounces+<tag>@news.example.com`, where the tag is the first
//! 10 bytes of HMAC-SHA256 keyed with the unsubscribe secret over
//! `verp:` and the address's identity, as 20 lowercase hex digits. The tag
//! does not show the address, and nobody without the secret can make the
//! tag of another reader; letterpress finds the reader again by computing
//! the tags of the list.

use std::collections::HashMap;

use lettre::Address;

use crate::address::identity;

/// The length of a tag, in characters.
pub const TAG_LEN: usize = 20;

/// The tag of `address` under `secret`.
pub fn tag(secret: &[u8], address: &str) -> String {
    let digest = crate::sign::mac(secret, b"verp:", &[identity(address).as_bytes()]);
    crate::sign::hex(&digest[..TAG_LEN / 2])
}

/// The envelope sender of a message to `address`: `<local>+<tag>@<domain>`
/// of `base`. `base` was checked at load to leave room for the tag.
pub fn envelope(base: &str, secret: &[u8], address: &str) -> Option<Address> {
    let (local, domain) = base.rsplit_once('@')?;
    Address::new(format!("{local}+{}", tag(secret, address)), domain).ok()
}

/// The tag in `address` when it is a VERP form of `base` (compared without
/// regard to case, as mail systems may change it).
pub fn tag_in(base: &str, address: &str) -> Option<String> {
    let (base_local, base_domain) = base.rsplit_once('@')?;
    let (local, domain) = address.trim().rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(base_domain) {
        return None;
    }
    let (head, tag) = local.split_once('+')?;
    let tag = tag.to_ascii_lowercase();
    (head.eq_ignore_ascii_case(base_local)
        && tag.len() == TAG_LEN
        && tag.bytes().all(|b| b.is_ascii_hexdigit()))
    .then_some(tag)
}

/// The readers of a list by their tags.
pub struct TagIndex {
    by_tag: HashMap<String, usize>,
}

impl TagIndex {
    /// Computes the tag of every address of a list, by its index in `keys`
    /// (the list's entries, in order).
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>, secret: &[u8]) -> TagIndex {
        let by_tag = keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| (tag(secret, key), i))
            .collect();
        TagIndex { by_tag }
    }

    /// The entry a tag names, if it is a reader of the list.
    pub fn entry(&self, tag: &str) -> Option<usize> {
        self.by_tag.get(tag).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_readers_without_showing_them() {
        let a = tag(b"a long enough secret", "Reader@Example.com");
        assert_eq!(a.len(), TAG_LEN);
        assert_eq!(a, tag(b"a long enough secret", "reader@example.com"));
        assert_ne!(a, tag(b"another long secret!", "reader@example.com"));
        assert_ne!(a, tag(b"a long enough secret", "other@example.com"));
        let verp = envelope(
            "bounces@news.example.com",
            b"a long enough secret",
            "reader@example.com",
        )
        .unwrap();
        let text: &str = verp.as_ref();
        assert!(!text.contains("reader"), "{text}");
        assert_eq!(text, format!("bounces+{a}@news.example.com"));
        assert_eq!(
            tag_in("bounces@news.example.com", &text.to_uppercase()),
            Some(a)
        );
        assert_eq!(
            tag_in("bounces@news.example.com", "bounces@news.example.com"),
            None
        );
        assert_eq!(
            tag_in(
                "bounces@news.example.com",
                "other+0123456789abcdef0123@news.example.com"
            ),
            None
        );
        assert_eq!(
            tag_in("bounces@news.example.com", "bounces+xyz@news.example.com"),
            None
        );
    }
}
