//! Addresses: which spellings name the same reader, and which addresses
//! letterpress can deliver to.
//!
//! Every place that compares, de-duplicates, journals, hashes or signs an
//! address goes through [`identity`]: the list, the editor, the CSV import,
//! the journal, the unsubscribe token and the shard hash.

use std::str::FromStr;

use lettre::address::Envelope;
use lettre::message::Mailbox;
use lettre::Address;

/// The longest address SMTP carries (RFC 5321 §4.5.3.1.3: a path of 256
/// octets, less the angle brackets).
pub const MAX_ADDRESS_OCTETS: usize = 254;

/// The key under which an address is the same reader however it is
/// spelled: trimmed, the local part and the domain in lower case (full
/// Unicode, so `Élise@` and `élise@` are one reader), and the domain in its
/// Unicode form, so `bücher.example` and `xn--bcher-kva.example` are one
/// domain.
pub fn identity(address: &str) -> String {
    let address = address.trim();
    let Some((local, domain)) = address.rsplit_once('@') else {
        return address.to_lowercase();
    };
    let domain = if domain.is_ascii() && !domain.to_ascii_lowercase().contains("xn--") {
        domain.to_ascii_lowercase()
    } else {
        match idna::domain_to_unicode(domain) {
            (unicode, Ok(())) => unicode,
            (_, Err(_)) => domain.to_lowercase(),
        }
    };
    let mut key = local.to_lowercase();
    key.push('@');
    key.push_str(&domain);
    key
}

/// The address of a mailbox as a config writes it: `Name <addr>` or
/// `addr` (the value was checked to be a mailbox where it was read).
pub fn mailbox_address(mailbox: &str) -> &str {
    mailbox
        .rsplit_once('<')
        .map_or(mailbox, |(_, a)| a.trim_end_matches('>'))
        .trim()
}

/// Parses an address and makes sure a message to it can be built and
/// carried by SMTP; the error says why not.
pub fn parse_address(email: &str) -> Result<Address, String> {
    if email.chars().any(char::is_control) {
        return Err(format!(
            "`{}` contains a line break or control character",
            email.escape_debug()
        ));
    }
    if email != email.trim() {
        return Err(format!("`{email}` has spaces around it"));
    }
    if email.len() > MAX_ADDRESS_OCTETS {
        return Err(format!(
            "`{email}` is {} octets long; SMTP carries addresses of at most {MAX_ADDRESS_OCTETS}",
            email.len()
        ));
    }
    let address = Address::from_str(email)
        .map_err(|e| format!("`{email}` is not a valid email address ({e})"))?;
    if is_plain(&address) {
        return Ok(address);
    }
    // lettre accepts some addresses (a quoted local part with a space) that
    // its own header writer then cannot read back, so no message to them
    // could be built: find those here, not in the middle of a send.
    let header = Mailbox::new(None, address.clone()).to_string();
    let round_trip = Mailbox::from_str(&header).ok().map(|m| m.email);
    if round_trip.as_ref() != Some(&address)
        || Envelope::new(Some(address.clone()), vec![address.clone()]).is_err()
    {
        return Err(format!(
            "`{email}` cannot be written into a message header (quoted local parts with spaces or special characters are not supported)"
        ));
    }
    Ok(address)
}

/// An ASCII dot-atom at an ASCII host name: written into a header as it
/// is and read back the same, so it needs no round trip to prove it.
fn is_plain(address: &Address) -> bool {
    let atext = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c);
    let user = address.user().as_bytes();
    let domain = address.domain().as_bytes();
    !user.is_empty()
        && user
            .split(|&c| c == b'.')
            .all(|atom| !atom.is_empty() && atom.iter().all(|&c| atext(c)))
        && domain
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
}

/// Whether `address` is its own [`identity`]: the common case of an
/// address already in lower-case ASCII, which needs no copy.
pub fn is_own_identity(address: &str) -> bool {
    address
        .bytes()
        .all(|c| c.is_ascii() && !c.is_ascii_uppercase() && !c.is_ascii_whitespace())
        && !address.contains("xn--")
}

/// The form of `address` to give a relay that does not offer SMTPUTF8: the
/// domain as punycode. `None` when the local part is not ASCII, which such
/// a relay cannot carry at all.
pub fn ascii_form(address: &Address) -> Option<Address> {
    if AsRef::<str>::as_ref(address).is_ascii() {
        return Some(address.clone());
    }
    if !address.user().is_ascii() {
        return None;
    }
    let domain = idna::domain_to_ascii(address.domain()).ok()?;
    Address::new(address.user(), domain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_identity_for_every_spelling() {
        assert_eq!(identity(" Reader@Example.COM "), "reader@example.com");
        assert_eq!(identity("Élise@example.com"), identity("élise@example.com"));
        assert_eq!(
            identity("a@xn--bcher-kva.example"),
            identity("A@Bücher.example")
        );
        assert_ne!(identity("a@example.com"), identity("b@example.com"));
    }

    #[test]
    fn addresses_no_message_can_carry_are_refused() {
        assert!(parse_address("reader@example.com").is_ok());
        assert!(parse_address("first.last+tag@sub.example.com").is_ok());
        for plain in ["reader@example.com", "a.b+c@x-y.example.org"] {
            assert!(is_plain(&Address::from_str(plain).unwrap()));
            assert!(is_own_identity(plain));
            assert_eq!(identity(plain), plain);
        }
        for other in ["\"a b\"@example.com", "독자@example.com", "a@[127.0.0.1]"] {
            if let Ok(address) = Address::from_str(other) {
                assert!(!is_plain(&address), "{other}");
            }
        }
        assert!(!is_own_identity("Reader@example.com"));
        assert!(!is_own_identity("a@xn--bcher-kva.example"));
        assert!(!is_own_identity(" a@example.com"));
        assert!(parse_address("김독자@example.com").is_ok());
        let err = parse_address("\"john doe\"@example.com").unwrap_err();
        assert!(err.contains("cannot be written"), "{err}");
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(parse_address(&long).unwrap_err().contains("254"));
    }

    #[test]
    fn ascii_forms_for_relays_without_smtputf8() {
        let idn = Address::from_str("reader@bücher.example").unwrap();
        assert_eq!(
            AsRef::<str>::as_ref(&ascii_form(&idn).unwrap()),
            "reader@xn--bcher-kva.example"
        );
        let local = Address::from_str("독자@example.com").unwrap();
        assert!(ascii_form(&local).is_none());
    }
}
