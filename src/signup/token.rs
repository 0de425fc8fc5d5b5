//! The signed tokens of double opt-in, so that nothing is stored before a
//! reader confirms.
//!
//! A confirmation token is base64url (no padding) of
//! `version · issued (u64, seconds) · source · address length · address ·
//! topic count · topic marks · sealed name · MAC`, where the MAC is the
//! first 16 bytes of HMAC-SHA256(secret, "letterpress confirm\0" ‖
//! everything before it). The topics the reader chose travel as marks (the
//! first 6 bytes of the SHA-256 of each tag), so fifty topics of any length
//! fit in a link and nobody can change them; a version 1 token (from before
//! topics) has no count and no marks.
//! The name is sealed: XORed with an HMAC-SHA256 keystream keyed by the
//! secret, the time and the address, so the confirmation mail never carries
//! text a stranger typed, not even in its link. The address is the
//! recipient's own and travels in the clear.
//!
//! A form stamp is `<seconds>.<hex MAC>`: when the form was served, so that
//! a submission can be refused when it comes too fast (a bot) or too late.

use base64::Engine;
use jiff::Timestamp;

use crate::list::Source;
use crate::sign::{hex, mac, same_bytes};

/// How long a confirmation link works.
pub const VALID_SECS: i64 = 7 * 24 * 3600;

/// The earliest a form may come back after it was served.
pub const FORM_MIN_SECS: i64 = 2;

/// The latest a form may come back: a day, then it is served again.
pub const FORM_MAX_SECS: i64 = 24 * 3600;

const VERSION: u8 = 2;
/// Tokens signed before topics: no topic count, no marks.
const VERSION_WITHOUT_TOPICS: u8 = 1;
const MAC_BYTES: usize = 16;
const MARK_BYTES: usize = 6;
/// The longest token accepted (an address of 254 octets and a name of 150
/// characters fit well within it).
const MAX_TOKEN_CHARS: usize = 2048;

/// What a confirmation link carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// The address to subscribe.
    pub address: String,
    /// The name given in the form, if any.
    pub name: Option<String>,
    /// How the request came.
    pub source: Source,
    /// When the confirmation was asked for (whole seconds).
    pub issued: Timestamp,
    /// The topics chosen, as marks of their tags, at most
    /// [`crate::config::MAX_TOPICS`].
    pub topics: Vec<TopicMark>,
}

/// A topic as a confirmation token carries it: the first bytes of the
/// SHA-256 of its tag, read back against the topics of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TopicMark([u8; MARK_BYTES]);

impl TopicMark {
    /// The mark of `tag`.
    pub fn of(tag: &str) -> TopicMark {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(tag.as_bytes());
        let mut mark = [0; MARK_BYTES];
        mark.copy_from_slice(&digest[..MARK_BYTES]);
        TopicMark(mark)
    }

    /// The marks of `tags`, in order.
    pub fn all<S: AsRef<str>>(tags: &[S]) -> Vec<TopicMark> {
        tags.iter().map(|t| TopicMark::of(t.as_ref())).collect()
    }

    /// Which of `tags` these marks name, in the order of `tags`.
    pub fn tags<'a, S: AsRef<str>>(marks: &[TopicMark], tags: &'a [S]) -> Vec<&'a str> {
        tags.iter()
            .map(AsRef::as_ref)
            .filter(|t| marks.contains(&TopicMark::of(t)))
            .collect()
    }
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Not a token, cut short, or changed.
    Tampered,
    /// Older than [`VALID_SECS`] (or from the future).
    Expired,
}

/// XORs `bytes` with the keystream of (`issued`, `address`).
fn seal(secret: &[u8], issued: i64, address: &str, bytes: &mut [u8]) {
    for (counter, chunk) in bytes.chunks_mut(32).enumerate() {
        let block = mac(
            secret,
            b"letterpress name\0",
            &[
                &issued.to_be_bytes(),
                address.as_bytes(),
                &[0],
                &(counter as u32).to_be_bytes(),
            ],
        );
        for (b, k) in chunk.iter_mut().zip(block) {
            *b ^= k;
        }
    }
}

fn source_byte(source: Source) -> u8 {
    match source {
        Source::Form => 0,
        Source::Cli => 1,
        Source::Import => 2,
    }
}

/// The token of `confirmation` under `secret`.
pub fn sign(secret: &[u8], confirmation: &Confirmation) -> String {
    let issued = confirmation.issued.as_second();
    let address = confirmation.address.as_bytes();
    let mut bytes = vec![VERSION];
    bytes.extend_from_slice(&issued.to_be_bytes());
    bytes.push(source_byte(confirmation.source));
    bytes.push(u8::try_from(address.len()).unwrap_or(u8::MAX));
    bytes.extend_from_slice(&address[..address.len().min(255)]);
    let topics = &confirmation.topics[..confirmation.topics.len().min(MAX_MARKS)];
    bytes.push(u8::try_from(topics.len()).unwrap_or(u8::MAX));
    for mark in topics {
        bytes.extend_from_slice(&mark.0);
    }
    let mut name = confirmation.name.clone().unwrap_or_default().into_bytes();
    seal(secret, issued, &confirmation.address, &mut name);
    bytes.extend_from_slice(&name);
    let tag = mac(secret, b"letterpress confirm\0", &[&bytes]);
    bytes.extend_from_slice(&tag[..MAC_BYTES]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The confirmation in `token`, if `secret` signed it and it has not
/// expired at `now`.
pub fn open(secret: &[u8], token: &str, now: Timestamp) -> Result<Confirmation, Invalid> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(Invalid::Tampered);
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim())
        .map_err(|_| Invalid::Tampered)?;
    if bytes.len() < 11 + MAC_BYTES {
        return Err(Invalid::Tampered);
    }
    let (body, tag) = bytes.split_at(bytes.len() - MAC_BYTES);
    let expected = mac(secret, b"letterpress confirm\0", &[body]);
    if !same_bytes(&expected[..MAC_BYTES], tag)
        || ![VERSION, VERSION_WITHOUT_TOPICS].contains(&body[0])
    {
        return Err(Invalid::Tampered);
    }
    let issued = i64::from_be_bytes(body[1..9].try_into().expect("8 bytes"));
    let source = match body[9] {
        0 => Source::Form,
        1 => Source::Cli,
        2 => Source::Import,
        _ => return Err(Invalid::Tampered),
    };
    let length = usize::from(body[10]);
    let rest = &body[11..];
    if rest.len() < length {
        return Err(Invalid::Tampered);
    }
    let address = std::str::from_utf8(&rest[..length])
        .map_err(|_| Invalid::Tampered)?
        .to_string();
    let (topics, rest) = match body[0] {
        VERSION => marks(&rest[length..])?,
        _ => (Vec::new(), &rest[length..]),
    };
    let mut name = rest.to_vec();
    seal(secret, issued, &address, &mut name);
    let name = String::from_utf8(name).map_err(|_| Invalid::Tampered)?;
    let age = now.as_second() - issued;
    if !(-60..=VALID_SECS).contains(&age) {
        return Err(Invalid::Expired);
    }
    Ok(Confirmation {
        address,
        name: (!name.is_empty()).then_some(name),
        source,
        issued: Timestamp::from_second(issued).map_err(|_| Invalid::Tampered)?,
        topics,
    })
}

/// The most marks a token carries.
const MAX_MARKS: usize = crate::config::MAX_TOPICS;

/// The topic count and marks at the start of `bytes`, and what follows.
fn marks(bytes: &[u8]) -> Result<(Vec<TopicMark>, &[u8]), Invalid> {
    let (&count, rest) = bytes.split_first().ok_or(Invalid::Tampered)?;
    let count = usize::from(count);
    if count > MAX_MARKS || rest.len() < count * MARK_BYTES {
        return Err(Invalid::Tampered);
    }
    let (marks, rest) = rest.split_at(count * MARK_BYTES);
    let marks = marks
        .chunks_exact(MARK_BYTES)
        .map(|m| TopicMark(m.try_into().expect("chunks of MARK_BYTES")))
        .collect();
    Ok((marks, rest))
}

/// The stamp of a form served at `now`.
pub fn form_stamp(secret: &[u8], now: Timestamp) -> String {
    let secs = now.as_second();
    let tag = mac(secret, b"letterpress form\0", &[&secs.to_be_bytes()]);
    format!("{secs}.{}", hex(&tag[..MAC_BYTES]))
}

/// Why a form's stamp is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// No stamp, or a forged one: the form did not come from this server.
    Missing,
    /// Sent back sooner than [`FORM_MIN_SECS`]: a bot.
    TooFast,
    /// Older than [`FORM_MAX_SECS`].
    Stale,
}

/// Checks the stamp a submitted form carried.
pub fn check_form_stamp(secret: &[u8], stamp: &str, now: Timestamp) -> Result<(), Stamp> {
    let Some((secs, _)) = stamp.split_once('.') else {
        return Err(Stamp::Missing);
    };
    let Ok(served) = secs.parse::<i64>() else {
        return Err(Stamp::Missing);
    };
    let expected = form_stamp(
        secret,
        Timestamp::from_second(served).map_err(|_| Stamp::Missing)?,
    );
    if !same_bytes(expected.as_bytes(), stamp.as_bytes()) {
        return Err(Stamp::Missing);
    }
    let age = now.as_second() - served;
    if age < FORM_MIN_SECS {
        return Err(Stamp::TooFast);
    }
    if age > FORM_MAX_SECS {
        return Err(Stamp::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret of at least sixteen bytes";

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(secs).unwrap()
    }

    fn confirmation(name: Option<&str>) -> Confirmation {
        Confirmation {
            address: "reader@example.com".into(),
            name: name.map(str::to_string),
            source: Source::Form,
            issued: at(1_800_000_000),
            topics: Vec::new(),
        }
    }

    #[test]
    fn the_chosen_topics_travel_signed_and_older_tokens_still_open() {
        let mut c = confirmation(Some("Jane"));
        let offered = [
            "weekly",
            "events",
            "a topic whose tag is long and written in 한국어",
        ];
        c.topics = TopicMark::all(&offered[..2]);
        let token = sign(SECRET, &c);
        let opened = open(SECRET, &token, at(1_800_000_100)).unwrap();
        assert_eq!(opened, c);
        assert_eq!(
            TopicMark::tags(&opened.topics, &offered),
            ["weekly", "events"]
        );
        // Fifty topics fit in a link of bounded length.
        let many: Vec<String> = (0..crate::config::MAX_TOPICS)
            .map(|i| format!("{i}{}", "x".repeat(90)))
            .collect();
        c.topics = TopicMark::all(&many);
        let long = sign(SECRET, &c);
        assert!(long.len() < MAX_TOKEN_CHARS, "{}", long.len());
        assert_eq!(
            open(SECRET, &long, at(1_800_000_100)).unwrap().topics.len(),
            50
        );

        // A token signed before topics: no count and no marks.
        let c = confirmation(Some("Jane"));
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sign(SECRET, &c))
            .unwrap();
        let count_at = 11 + c.address.len();
        assert_eq!(raw[count_at], 0);
        let mut old = raw[..raw.len() - MAC_BYTES].to_vec();
        old.remove(count_at);
        old[0] = VERSION_WITHOUT_TOPICS;
        let tag = mac(SECRET, b"letterpress confirm\0", &[&old]);
        old.extend_from_slice(&tag[..MAC_BYTES]);
        let old = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(old);
        assert_eq!(open(SECRET, &old, at(1_800_000_100)), Ok(c));
    }

    #[test]
    fn a_token_opens_to_what_was_signed_and_hides_the_name() {
        let c = confirmation(Some("<script>alert(1)</script> https://spam.example.net"));
        let token = sign(SECRET, &c);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(open(SECRET, &token, at(1_800_000_100)), Ok(c.clone()));
        // The sealed name is not readable in the decoded token either.
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token)
            .unwrap();
        assert!(!raw.windows(6).any(|w| w == b"script"));
        assert!(!raw.windows(4).any(|w| w == b"spam"));
        let plain = confirmation(None);
        assert_eq!(
            open(SECRET, &sign(SECRET, &plain), at(1_800_000_000)),
            Ok(plain)
        );
    }

    #[test]
    fn changed_foreign_and_expired_tokens_are_refused() {
        // Every byte counts, the chosen topics' marks too.
        let mut chosen = confirmation(Some("Jane"));
        chosen.topics = TopicMark::all(&["weekly", "events"]);
        let token = sign(SECRET, &chosen);
        let now = at(1_800_000_100);
        assert_eq!(
            open(b"another secret, sixteen+", &token, now),
            Err(Invalid::Tampered)
        );
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                open(SECRET, &changed, now).is_err(),
                "byte {i} changed and accepted"
            );
        }
        assert_eq!(
            open(SECRET, &token[..token.len() - 2], now),
            Err(Invalid::Tampered)
        );
        assert_eq!(open(SECRET, "", now), Err(Invalid::Tampered));
        assert_eq!(open(SECRET, "!!!", now), Err(Invalid::Tampered));
        let late = at(1_800_000_000 + VALID_SECS + 1);
        assert_eq!(open(SECRET, &token, late), Err(Invalid::Expired));
        assert!(open(SECRET, &token, at(1_800_000_000 + VALID_SECS)).is_ok());
    }

    #[test]
    fn form_stamps_refuse_fast_stale_and_forged_forms() {
        let served = at(1_800_000_000);
        let stamp = form_stamp(SECRET, served);
        assert_eq!(
            check_form_stamp(SECRET, &stamp, at(1_800_000_001)),
            Err(Stamp::TooFast)
        );
        assert_eq!(check_form_stamp(SECRET, &stamp, at(1_800_000_002)), Ok(()));
        let stale = at(1_800_000_000 + FORM_MAX_SECS + 1);
        assert_eq!(check_form_stamp(SECRET, &stamp, stale), Err(Stamp::Stale));
        let forged = stamp.replace("1800000000.", "1700000000.");
        assert_eq!(
            check_form_stamp(SECRET, &forged, at(1_800_000_010)),
            Err(Stamp::Missing)
        );
        assert_eq!(
            check_form_stamp(SECRET, "", at(1_800_000_010)),
            Err(Stamp::Missing)
        );
    }
}
