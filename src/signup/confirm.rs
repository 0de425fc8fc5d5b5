//! The confirmation mail of double opt-in: multipart text + HTML in the
//! theme's colours and fonts, with the newsletter's name, the address and
//! the link, and nothing else a stranger could have typed.

use std::str::FromStr;
use std::time::SystemTime;

use anyhow::{anyhow, Context, Result};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use maud::{html, DOCTYPE};

use crate::compose::Theme;
use crate::config::Config;
use crate::message::dkim::Signer;
use crate::message::{base64, encoded_subject, header_address, raw_header, Outgoing};
use crate::words::{fill, words, Words};

/// A service mail's words, filled in: paragraphs, a button to a link, a
/// small last line, and perhaps a JSON file.
pub struct Letter {
    /// A word for the Message-ID: `confirm`, `preferences`, `data`.
    pub purpose: &'static str,
    /// The subject.
    pub subject: String,
    /// The paragraphs, in order.
    pub paragraphs: Vec<String>,
    /// The button's label and link.
    pub button: Option<(String, String)>,
    /// The small print under it.
    pub footnote: String,
    /// A JSON file: its name and bytes.
    pub attachment: Option<(String, Vec<u8>)>,
}

/// Builds confirmation mails (and the other service mails) for one
/// newsletter.
pub struct Confirmer {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    domain: String,
    newsletter: String,
    /// The newsletter's language tag, for `<html lang>`.
    language: String,
    words: &'static Words,
    theme: Theme,
    dkim: Option<Signer>,
}

impl Confirmer {
    /// Reads what every confirmation mail shares.
    pub fn new(config: &Config) -> Result<Confirmer> {
        let newsletter = config.newsletter();
        let mut from = Mailbox::from_str(newsletter.from.get_ref())
            .map_err(|e| anyhow!("{}: `from` is not a mailbox: {e}", config.path.display()))?;
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
        let dkim = Signer::load(config)?;
        Ok(Confirmer {
            domain: from.email.domain().to_string(),
            from,
            reply_to,
            newsletter: newsletter.name.clone(),
            language: newsletter.language.clone(),
            words: words(&newsletter.language),
            theme: Theme::load(config)?,
            dkim,
        })
    }

    /// The mail asking `to` to open `link`.
    pub fn message(&self, to: &Address, link: &str) -> Result<Outgoing> {
        let w = self.words;
        let say = |text: &str| fill(text, &self.newsletter, to.as_ref());
        self.letter(
            to,
            &Letter {
                purpose: "confirm",
                subject: say(w.mail_subject),
                paragraphs: vec![say(w.mail_intro), say(w.mail_action)],
                button: Some((w.mail_button.to_string(), link.to_string())),
                footnote: say(w.mail_ignore),
                attachment: None,
            },
        )
    }

    /// A service mail to `to` (not an issue: no List-Unsubscribe), in the
    /// theme's colours, signed like every message.
    pub fn letter(&self, to: &Address, letter: &Letter) -> Result<Outgoing> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, header_address(to)))
            .date(SystemTime::now())
            .message_id(Some(format!(
                "<lp.{}.{:016x}{:016x}@{}>",
                letter.purpose,
                fastrand::u64(..),
                fastrand::u64(..),
                self.domain
            )))
            .raw_header(raw_header(
                "Auto-Submitted",
                "auto-generated".into(),
                "a service mail",
            )?);
        builder = match encoded_subject(&letter.subject) {
            Some(header) => builder.raw_header(header),
            None => builder.subject(letter.subject.clone()),
        };
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let message = builder
            .multipart(self.body(letter))
            .with_context(|| format!("cannot build the {} mail", letter.purpose))?;
        let mut bytes = message.formatted();
        if let Some(dkim) = &self.dkim {
            bytes = dkim.sign(bytes)?;
        }
        Ok(Outgoing {
            from: self.from.email.clone(),
            to: to.clone(),
            bytes,
            return_path: false,
        })
    }

    /// The text and the HTML, and the attachment beside them when there is one.
    fn body(&self, letter: &Letter) -> MultiPart {
        let mut text = format!("{}\n\n", self.newsletter);
        for paragraph in &letter.paragraphs {
            text.push_str(paragraph);
            text.push_str("\n\n");
        }
        if let Some((_, link)) = &letter.button {
            text.push_str(link);
            text.push_str("\n\n");
        }
        text.push_str(&letter.footnote);
        text.push('\n');
        let part =
            |kind: ContentType, body: String| SinglePart::builder().header(kind).body(base64(body));
        let body = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, text))
            .singlepart(part(ContentType::TEXT_HTML, self.html(letter)));
        match &letter.attachment {
            None => body,
            Some((name, bytes)) => {
                MultiPart::mixed()
                    .multipart(body)
                    .singlepart(Attachment::new(name.clone()).body(
                        bytes.clone(),
                        ContentType::parse("application/json").expect("a MIME type"),
                    ))
            }
        }
    }

    fn html(&self, letter: &Letter) -> String {
        let t = &self.theme.file;
        let c = &t.colors;
        let w = self.words;
        let column = format!(
            "max-width:{}px;margin:0 auto;padding:28px {}px;background:{};color:{};font-family:{};font-size:16px;line-height:1.6;word-break:{};overflow-wrap:break-word",
            t.max_width, t.gutter, c.surface, c.text, t.font_family, w.word_break
        );
        let button = format!(
            "display:inline-block;padding:12px 22px;border-radius:6px;background:{};color:{};text-decoration:none;font-weight:bold",
            c.accent, c.button_text
        );
        let small = format!("color:{};font-size:13px", c.muted);
        html! {
            (DOCTYPE)
            html lang=(self.language) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (letter.subject) }
                }
                body style=(format!("margin:0;padding:16px 0;background:{}", c.background)) {
                    div style=(column) {
                        h1 style=(format!("margin:0 0 16px;font-size:22px;font-family:{};word-break:keep-all", t.heading_font_family)) { (self.newsletter) }
                        @for paragraph in &letter.paragraphs { p style="white-space:pre-line" { (paragraph) } }
                        @if let Some((label, link)) = &letter.button {
                            p style="margin:24px 0" { a href=(link) style=(button) { (label) } }
                            p style=(format!("{small};word-break:break-all")) { a href=(link) style=(format!("color:{}", c.accent)) { (link) } }
                        }
                        p style=(small) { (letter.footnote) }
                    }
                }
            }
        }
        .into_string()
    }
}
