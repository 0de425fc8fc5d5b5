//! The confirmation mail of double opt-in: multipart text + HTML in the
//! theme's colours and fonts, with the newsletter's name, the address and
//! the link, and nothing else a stranger could have typed.

use std::str::FromStr;
use std::time::SystemTime;

use anyhow::{anyhow, Context, Result};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use maud::{html, DOCTYPE};

use crate::compose::Theme;
use crate::config::Config;
use crate::message::dkim::Signer;
use crate::message::{base64, encoded_subject, header_address, raw_header, Outgoing};
use crate::words::{fill, words, Words};

/// Builds confirmation mails for one newsletter.
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
        let address: &str = to.as_ref();
        let say = |text: &str| fill(text, &self.newsletter, address);
        let subject = say(w.mail_subject);
        let text = format!(
            "{}\n\n{}\n\n{}\n\n{link}\n\n{}\n",
            self.newsletter,
            say(w.mail_intro),
            say(w.mail_action),
            say(w.mail_ignore)
        );
        let html = self.html(&subject, link, &say);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, header_address(to)))
            .date(SystemTime::now())
            .message_id(Some(format!(
                "<lp.confirm.{:016x}{:016x}@{}>",
                fastrand::u64(..),
                fastrand::u64(..),
                self.domain
            )))
            .raw_header(raw_header(
                "Auto-Submitted",
                "auto-generated".into(),
                "the confirmation mail",
            )?);
        builder = match encoded_subject(&subject) {
            Some(header) => builder.raw_header(header),
            None => builder.subject(subject),
        };
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        let body = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(base64(text)),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(base64(html)),
            );
        let message = builder
            .multipart(body)
            .context("cannot build the confirmation mail")?;
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

    fn html(&self, subject: &str, link: &str, say: &dyn Fn(&str) -> String) -> String {
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
                    title { (subject) }
                }
                body style=(format!("margin:0;padding:16px 0;background:{}", c.background)) {
                    div style=(column) {
                        h1 style=(format!("margin:0 0 16px;font-size:22px;font-family:{};word-break:keep-all", t.heading_font_family)) { (self.newsletter) }
                        p { (say(w.mail_intro)) }
                        p { (say(w.mail_action)) }
                        p style="margin:24px 0" { a href=(link) style=(button) { (w.mail_button) } }
                        p style=(format!("{small};word-break:break-all")) { a href=(link) style=(format!("color:{}", c.accent)) { (link) } }
                        p style=(small) { (say(w.mail_ignore)) }
                    }
                }
            }
        }
        .into_string()
    }
}
