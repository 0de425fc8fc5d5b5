//! One MIME message per reader: multipart/alternative (text/plain, then
//! text/html, with inline images in multipart/related), UTF-8 and base64,
//! the bulk-sender headers (List-Id, List-Unsubscribe, One-Click), a
//! Message-ID on the sender's domain and, when configured, a DKIM signature.

pub mod dkim;
pub mod secret;

use std::str::FromStr;
use std::time::SystemTime;

use anyhow::{anyhow, bail, Context, Result};
use lettre::message::header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::compose::Composed;
use crate::config::Config;
use dkim::Signer;

/// A message ready for the wire: envelope and the exact DATA bytes (CRLF).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Envelope sender.
    pub from: Address,
    /// Envelope recipient.
    pub to: Address,
    /// The message as SMTP DATA carries it.
    pub bytes: Vec<u8>,
    /// Whether the envelope sender is a return path of its own (VERP),
    /// which a dry run shows as `Return-Path`.
    pub return_path: bool,
}

/// Whether a message goes to the list or is a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A reader of the list: the Message-ID is derived from the issue and
    /// the address, so a resent copy carries the same id.
    List,
    /// A test send: a fresh Message-ID each time.
    Test,
}

/// Builds the messages of one composed issue.
pub struct Factory<'a> {
    composed: &'a Composed<'a>,
    config: &'a Config,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    domain: String,
    list_id: String,
    feedback_id: Option<HeaderValue>,
    dkim: Option<Signer>,
    date: SystemTime,
    secret: Option<Vec<u8>>,
    /// `[bounces] return_path`: the VERP base of the envelope sender.
    return_path: Option<String>,
}

impl<'a> Factory<'a> {
    /// Prepares the headers shared by every reader. `date` is the Date of
    /// every message of this run.
    pub fn new(
        composed: &'a Composed<'a>,
        secret: Option<Vec<u8>>,
        date: SystemTime,
    ) -> Result<Factory<'a>> {
        let config = composed.config();
        let newsletter = config.newsletter();
        let mut from = Mailbox::from_str(newsletter.from.get_ref()).map_err(|e| {
            anyhow!(
                "{}: `from = \"{}\"` is not a mailbox: {e}",
                config.path.display(),
                newsletter.from.get_ref()
            )
        })?;
        from.email = header_address(&from.email);
        let reply_to = newsletter
            .reply_to
            .as_ref()
            .map(|r| {
                Mailbox::from_str(r.get_ref()).map(|mut mailbox| {
                    mailbox.email = header_address(&mailbox.email);
                    mailbox
                })
            })
            .transpose()
            .map_err(|e| {
                anyhow!(
                    "{}: `reply_to` is not a mailbox: {e}",
                    config.path.display()
                )
            })?;
        let domain = config.from_domain();
        let list_id = match &newsletter.list_id {
            Some(id) => id.clone(),
            None => format!("{}.{}", from.email.user(), domain),
        };
        let feedback_id = newsletter
            .feedback_id
            .as_ref()
            .map(|v| raw_header("Feedback-ID", v.clone(), "[newsletter] feedback_id"))
            .transpose()?;
        let dkim = Signer::load(config)?;
        Ok(Factory {
            composed,
            config,
            from,
            reply_to,
            domain,
            list_id,
            feedback_id,
            dkim,
            date,
            secret,
            return_path: config.bounces().return_path.clone(),
        })
    }

    /// The envelope sender: for a list message with `[bounces]
    /// return_path`, the VERP address that names the reader; for a test
    /// send, the return path itself; else the From address.
    fn envelope_sender(&self, to: &Address, purpose: Purpose) -> Address {
        let Some(base) = &self.return_path else {
            return self.from.email.clone();
        };
        let tagged = match (purpose, &self.secret) {
            (Purpose::List, Some(secret)) => crate::verp::envelope(base, secret, to.as_ref()),
            _ => None,
        };
        tagged
            .or_else(|| Address::from_str(base).ok())
            .unwrap_or_else(|| self.from.email.clone())
    }

    /// The subject of every message.
    pub fn subject(&self) -> &str {
        self.composed.subject()
    }

    /// How the messages carry the issue's images, when it has some.
    pub fn images_line(&self) -> Option<String> {
        self.composed.images_line()
    }

    /// The message for one reader.
    pub fn build(&self, to: &Address, name: Option<&str>, purpose: Purpose) -> Result<Outgoing> {
        let issue = self.composed.issue;
        let values = crate::compose::values::values(
            self.config,
            issue,
            AsRef::<str>::as_ref(to),
            name,
            self.secret.as_deref(),
        );
        let text = self.composed.text(&values);
        let html = self.composed.mail_html(&values);

        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name.map(str::to_string), header_address(to)))
            .date(self.date)
            .message_id(Some(self.message_id(to, purpose)))
            .raw_header(raw_header(
                "List-Id",
                format!("<{}>", self.list_id),
                "[newsletter] list_id",
            )?);
        builder = match encoded_subject(self.composed.subject()) {
            Some(header) => builder.raw_header(header),
            None => builder.subject(self.composed.subject()),
        };
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        builder = self.list_headers(builder, &values.unsubscribe_url)?;
        let message = builder
            .multipart(self.body(text, html))
            .context("cannot build the message")?;
        let mut bytes = message.formatted();
        if let Some(dkim) = &self.dkim {
            bytes = dkim.sign(bytes)?;
        }
        Ok(Outgoing {
            from: self.envelope_sender(to, purpose),
            to: to.clone(),
            bytes,
            return_path: self.return_path.is_some(),
        })
    }

    /// List-Unsubscribe (with the one-click POST when `serve` answers
    /// it) and Feedback-ID.
    fn list_headers(
        &self,
        mut builder: lettre::message::MessageBuilder,
        unsubscribe_url: &str,
    ) -> Result<lettre::message::MessageBuilder> {
        let unsubscribe = self.list_unsubscribe(unsubscribe_url);
        if !unsubscribe.is_empty() {
            builder = builder.raw_header(raw_header(
                "List-Unsubscribe",
                unsubscribe,
                "[unsubscribe]",
            )?);
        }
        if self.config.file.unsubscribe.url.is_some() {
            builder = builder.raw_header(raw_header(
                "List-Unsubscribe-Post",
                "List-Unsubscribe=One-Click".into(),
                "List-Unsubscribe-Post",
            )?);
        }
        if let Some(feedback_id) = &self.feedback_id {
            builder = builder.raw_header(feedback_id.clone());
        }
        Ok(builder)
    }

    fn body(&self, text: String, html: String) -> MultiPart {
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(base64(text));
        let html = SinglePart::builder()
            .header(ContentType::TEXT_HTML)
            .body(base64(html));
        if self.composed.inline_images().next().is_none() {
            return MultiPart::alternative().singlepart(text).singlepart(html);
        }
        let mut related = MultiPart::related().singlepart(html);
        for (image, cid) in self.composed.inline_images() {
            let content_type = ContentType::parse(image.content_type).expect("a known image type");
            // The file's own name (with the extension of what it now is):
            // clients that list the parts show it rather than "no name".
            let name = std::path::Path::new(&image.src)
                .with_extension(crate::images::extension(image.content_type))
                .file_name()
                .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned());
            related = related.singlepart(
                Attachment::new_inline_with_name(cid.to_string(), name)
                    .body(image.bytes.clone(), content_type),
            );
        }
        MultiPart::alternative().singlepart(text).multipart(related)
    }

    /// `<https://…>, <mailto:…>`: the reader's one-click link and the mailto.
    fn list_unsubscribe(&self, url: &str) -> String {
        let unsubscribe = &self.config.file.unsubscribe;
        let mut targets = Vec::new();
        if unsubscribe.url.is_some() {
            targets.push(format!("<{url}>"));
        }
        if let Some(mailto) = &unsubscribe.mailto {
            targets.push(format!("<mailto:{mailto}?subject=unsubscribe>"));
        }
        targets.join(", ")
    }

    fn message_id(&self, to: &Address, purpose: Purpose) -> String {
        let mut hash = Sha256::new();
        let address = crate::address::identity(AsRef::<str>::as_ref(to));
        for part in [
            self.list_id.as_str(),
            self.composed.issue.slug.as_str(),
            address.as_str(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        if purpose == Purpose::Test {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            hash.update(nanos.to_le_bytes());
        }
        let digest = hash.finalize();
        let id: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("<lp.{id}@{}>", self.domain)
    }
}

/// An address as the message's headers carry it: an internationalised
/// domain as punycode (its A-label), so that the headers stay ASCII for a
/// relay without SMTPUTF8, which gets the envelope in punycode too. The
/// message is built before its connection is chosen, and signed once, so
/// every relay gets this form. A local part that is not ASCII stays as it
/// is: only a relay with SMTPUTF8 can take that reader at all.
pub(crate) fn header_address(address: &Address) -> Address {
    crate::address::ascii_form(address).unwrap_or_else(|| address.clone())
}

/// A subject holding `=?` is encoded whole: lettre leaves ASCII words as
/// they are, and a word like `=?utf-8?b?…?=` would be decoded by mail
/// programs into text the editor never wrote.
pub(crate) fn encoded_subject(subject: &str) -> Option<HeaderValue> {
    if !subject.contains("=?") {
        return None;
    }
    let mut encoded = String::new();
    let mut writer = email_encoding::headers::writer::EmailWriter::new(
        &mut encoded,
        "Subject: ".len(),
        0,
        false,
    );
    email_encoding::headers::rfc2047::encode(subject, &mut writer).ok()?;
    drop(writer);
    Some(HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str("Subject"),
        subject.to_string(),
        encoded,
    ))
}

/// A header written exactly as given: never RFC 2047-encoded, never folded
/// (RFC 2369 headers must stay readable and DKIM-stable). Only printable
/// ASCII on one line is accepted, so no value can inject a header.
pub(crate) fn raw_header(name: &'static str, value: String, source: &str) -> Result<HeaderValue> {
    if let Some(c) = value.chars().find(|c| !(' '..='~').contains(c)) {
        bail!(
            "the {name} header from {source} contains {:?}; header values must be printable ASCII on one line",
            c
        );
    }
    if value.len() + name.len() + 2 > 998 {
        bail!("the {name} header from {source} is longer than 998 octets");
    }
    Ok(HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(name),
        value.clone(),
        value,
    ))
}

/// A text part in base64 (a third larger than UTF-8 Korean, where
/// quoted-printable triples it), with CRLF line ends as MIME wants them and
/// encoded lines of 76 characters.
pub(crate) fn base64(text: String) -> Body {
    use base64::Engine;
    let mut canonical = Vec::with_capacity(text.len() + text.len() / 32);
    for line in text.split_inclusive('\n') {
        let content = line
            .strip_suffix('\n')
            .map_or(line, |l| l.strip_suffix('\r').unwrap_or(l));
        canonical.extend_from_slice(content.as_bytes());
        if line.ends_with('\n') {
            canonical.extend_from_slice(b"\r\n");
        }
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(&canonical);
    let mut wrapped = Vec::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        wrapped.extend_from_slice(chunk);
        wrapped.extend_from_slice(b"\r\n");
    }
    Body::dangerous_pre_encoded(wrapped, ContentTransferEncoding::Base64)
}

/// The Date of a run: `SOURCE_DATE_EPOCH` when set (reproducible output),
/// else now.
pub fn run_date() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map_or_else(SystemTime::now, |secs| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs)
        })
}
