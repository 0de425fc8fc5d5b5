//! What a message in the bounce mailbox is, and whom it is about.
//!
//! MIME is read by mail-parser; the fields of a delivery-status or
//! feedback-report part are header blocks, read by mail-parser too. The
//! order in which recipients are looked for: the VERP tag (by the caller,
//! which knows the list), the DSN's Original-Recipient / Final-Recipient,
//! `X-Failed-Recipients`, the returned original's headers, then the
//! addresses in a plain-text notice. The status code decides hard against
//! soft; words decide only where there is no code (or only a generic
//! `X.0.0`).

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use super::reason::Reason;
use super::transcript::{answered, lookups_of, Command};
use crate::list::identity;

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The address does not exist (5.1.x, 5.2.1, "user unknown").
    Hard,
    /// A failure that says nothing about the address (mailbox full, 4.x.x,
    /// policy and reputation blocks).
    Soft,
    /// A reader pressed "this is spam" (ARF, RFC 5965).
    Complaint,
    /// A vacation notice or another automatic answer (RFC 3834).
    AutoReply,
    /// A DSN that says the relay is still trying.
    Delayed,
    /// Anything else: a person's reply, a newsletter.
    Unrecognised,
}

impl Kind {
    /// The word used in output and in `bounces.log`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Complaint => "complaint",
            Kind::AutoReply => "auto-reply",
            Kind::Delayed => "delayed",
            Kind::Unrecognised => "unrecognised",
        }
    }

    /// The kind a word names.
    pub fn parse(word: &str) -> Option<Kind> {
        [
            Kind::Hard,
            Kind::Soft,
            Kind::Complaint,
            Kind::AutoReply,
            Kind::Delayed,
            Kind::Unrecognised,
        ]
        .into_iter()
        .find(|k| k.as_str() == word)
    }

    /// Whether a report of this kind can change a reader's status.
    pub fn acts(self) -> bool {
        matches!(self, Kind::Hard | Kind::Soft | Kind::Complaint)
    }
}

/// One recipient a report names, with what it says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The address as the report gives it (Original-Recipient when present).
    pub address: String,
    /// Other spellings the report gives (Final-Recipient after forwarding).
    pub also: Vec<String>,
    /// Hard, soft, complaint or delayed.
    pub kind: Kind,
    /// The enhanced status code, when there is one.
    pub status: Option<String>,
    /// Why it failed.
    pub reason: Reason,
}

/// What a message says.
#[derive(Debug, Clone)]
pub struct BounceReport {
    /// The kind of the whole message: hard when any recipient is hard.
    pub kind: Kind,
    /// The recipients it names.
    pub recipients: Vec<Recipient>,
    /// The status code that decided the kind.
    pub status: Option<String>,
    /// The reason of the recipient that decided the kind.
    pub reason: Reason,
    /// `<Message-ID>` of the report, or `sha256:…` of its bytes.
    pub id: String,
    /// When the report was written (its Date), in seconds since 1970.
    pub date: Option<i64>,
    /// The addresses the report was delivered to (where a VERP tag is).
    pub envelope: Vec<String>,
    /// Unsubscribe tokens (`t=` and 32 hex digits) anywhere in it: the
    /// returned original's List-Unsubscribe proves whom it was sent to.
    pub tokens: Vec<String>,
}

/// Addresses that are never a bounced reader: the newsletter's own.
#[derive(Debug, Clone, Default)]
pub struct Ours {
    /// Identities of the From, Reply-To and return path addresses.
    pub addresses: Vec<String>,
}

impl Ours {
    fn contains(&self, address: &str) -> bool {
        let key = identity(address);
        let local = key.split('@').next().unwrap_or("");
        self.is_own(address) || DAEMONS.contains(&local)
    }

    /// One of the addresses themselves (or a `+tag` of one), not counting
    /// the mail daemons' names.
    fn is_own(&self, address: &str) -> bool {
        let key = identity(address);
        let local = key.split('@').next().unwrap_or("");
        self.addresses.iter().any(|a| {
            a == &key || {
                let (l, d) = a.split_once('@').unwrap_or((a, ""));
                key.ends_with(&format!("@{d}")) && local.starts_with(&format!("{l}+"))
            }
        })
    }
}

/// Local parts of the senders of failure notices.
const DAEMONS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail-daemon",
    "mailerdaemon",
    "maildaemon",
    "mdaemon",
    "double-bounce",
    "abuse",
    "noreply",
    "no-reply",
];

/// Reads one message. Never fails: what cannot be read is unrecognised.
pub fn classify(raw: &[u8], ours: &Ours) -> BounceReport {
    let id = fallback_id(raw);
    let Some(message) = MessageParser::default().parse(raw) else {
        return BounceReport {
            kind: Kind::Unrecognised,
            recipients: Vec::new(),
            status: None,
            reason: Reason::Undefined,
            id,
            date: None,
            envelope: Vec::new(),
            tokens: Vec::new(),
        };
    };
    let mut report = read(&message, ours);
    report.id = message_id(&message).unwrap_or(id);
    report.date = message.date().map(|d| d.to_timestamp());
    report.envelope = envelope(&message);
    report.tokens = tokens(raw);
    report
}

/// Every `t=` followed by 32 lowercase hex digits (at most 50).
fn tokens(raw: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    for i in t_equals(raw) {
        let Some(candidate) = raw.get(i + 2..i + 34) else {
            continue;
        };
        let after = raw.get(i + 34).copied();
        let hex = candidate
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
        if hex && !after.is_some_and(|b| b.is_ascii_hexdigit()) {
            let token = String::from_utf8_lossy(candidate).into_owned();
            if !found.contains(&token) {
                found.push(token);
            }
        }
        if found.len() >= 50 {
            break;
        }
    }
    found
}

/// The offsets of `t=` in `raw`.
fn t_equals(raw: &[u8]) -> impl Iterator<Item = usize> + '_ {
    raw.windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"t=")
        .map(|(i, _)| i)
}

fn read(message: &Message<'_>, ours: &Ours) -> BounceReport {
    let parts = Parts::of(message);
    let mut shut = ours.clone();
    shut.addresses
        .extend(parts.senders.iter().map(|a| identity(a)));
    shut.addresses
        .extend(senders_of(message).iter().map(|a| identity(a)));
    shut.addresses
        .extend(addresses_of(message, "to").iter().map(|a| identity(a)));
    // A DSN's recipient fields are the reporting system's own statement;
    // the senders' addresses are shut out of everything else.
    let (fields_ours, ours) = (ours, &shut);
    let unrecognised = BounceReport {
        kind: Kind::Unrecognised,
        recipients: Vec::new(),
        status: None,
        reason: Reason::Undefined,
        id: String::new(),
        date: None,
        envelope: Vec::new(),
        tokens: Vec::new(),
    };
    if let Some(fields) = &parts.feedback {
        return complaint(fields, &parts, ours);
    }
    if !parts.dsn.is_empty() {
        if let Some(report) = dsn(&parts, message, (fields_ours, ours)) {
            return report;
        }
    }
    if looks_like_failure_notice(message) || returns_a_failed_original(&parts) {
        return notice(&parts, message, ours);
    }
    if is_auto_reply(message) {
        return BounceReport {
            kind: Kind::AutoReply,
            reason: Reason::Vacation,
            ..unrecognised
        };
    }
    unrecognised
}

/// The parts of a report that matter.
#[derive(Default)]
struct Parts {
    /// Per-recipient blocks of `message/(global-)delivery-status`.
    dsn: Vec<Fields>,
    /// `message/feedback-report` fields.
    feedback: Option<Fields>,
    /// Recipients from the returned original's headers.
    original_to: Vec<String>,
    /// The returned original's other addresses (its sender's), never a
    /// failed recipient.
    senders: Vec<String>,
    /// The human-readable notice (text parts outside the original).
    notice: String,
}

/// Header-style fields, names in lower case, values unfolded.
type Fields = Vec<(String, String)>;

impl Parts {
    fn of(message: &Message<'_>) -> Parts {
        let mut parts = Parts::default();
        for part in &message.parts {
            let (ctype, subtype) = part
                .content_type()
                .map(|c| {
                    (
                        c.ctype().to_ascii_lowercase(),
                        c.subtype().unwrap_or("").to_ascii_lowercase(),
                    )
                })
                .unwrap_or_else(|| ("text".into(), "plain".into()));
            match (ctype.as_str(), subtype.as_str(), &part.body) {
                ("message", "delivery-status" | "global-delivery-status", _) => {
                    parts.dsn = recipient_blocks(part.contents());
                }
                ("message", "feedback-report", _) => {
                    parts.feedback = blocks(part.contents()).into_iter().reduce(|mut a, b| {
                        a.extend(b);
                        a
                    });
                }
                (_, _, PartType::Message(original)) => {
                    parts.original_to.extend(addresses_of(original, "to"));
                    parts.senders.extend(senders_of(original));
                }
                ("text" | "message", "rfc822-headers" | "global-headers", _) => {
                    if let Some(headers) = MessageParser::default().parse_headers(part.contents()) {
                        parts.original_to.extend(addresses_of(&headers, "to"));
                        parts.senders.extend(senders_of(&headers));
                    }
                }
                ("text", "plain", PartType::Text(text)) if parts.notice.len() < MAX_NOTICE => {
                    parts.notice.push_str(text);
                    parts.notice.push('\n');
                }
                _ => {}
            }
        }
        if let Some(copy) = inline_original(&parts.notice) {
            if parts.original_to.is_empty() {
                parts.original_to = addresses_of(&copy, "to");
            }
            parts.senders.extend(senders_of(&copy));
        }
        if parts.dsn.is_empty() && parts.feedback.is_none() {
            parts.dsn = text_dsn(&parts.notice);
        }
        if parts.dsn.is_empty() && parts.feedback.is_none() {
            let body = raw_body(message);
            parts.dsn = text_dsn(&body);
            // A MIME structure that does not parse (a boundary parameter
            // on a line of its own) leaves no text part: the body is read.
            if parts.notice.trim().is_empty() {
                parts.notice = body.chars().take(MAX_NOTICE).collect();
            }
        }
        parts
    }
}

/// How much of a notice's text is read: the reason is at the top.
const MAX_NOTICE: usize = 64 * 1024;

/// The per-recipient blocks of a delivery-status part (or of text laid out
/// like one): those with a recipient or an action. A block that runs on
/// into the next without a blank line (AOL writes the per-message fields
/// and the first recipient's as one) is cut before each recipient field
/// that would repeat one it already has.
fn recipient_blocks(body: &[u8]) -> Vec<Fields> {
    let text = String::from_utf8_lossy(&body[..body.len().min(256 * 1024)]).replace("\r\n", "\n");
    let mut cut = String::with_capacity(text.len());
    let mut has = (false, false);
    for line in text.lines().take(20_000) {
        let lower = line.to_ascii_lowercase();
        let (original, last) = (
            lower.starts_with("original-recipient:"),
            lower.starts_with("final-recipient:"),
        );
        if line.trim().is_empty() {
            has = (false, false);
        } else if (original && has.0) || (last && has.1) {
            cut.push('\n');
            has = (false, false);
        }
        has = (has.0 || original, has.1 || last);
        cut.push_str(line);
        cut.push('\n');
    }
    blocks(cut.as_bytes())
        .into_iter()
        .filter(|f| {
            field(f, "final-recipient").is_some()
                || field(f, "original-recipient").is_some()
                || field(f, "action").is_some()
        })
        .collect()
}

/// The body of a message as it came, up to 256 KiB: where its MIME
/// structure is broken (a multipart without its boundaries), the text.
fn raw_body(message: &Message<'_>) -> String {
    let raw = message.raw_message();
    let start = raw
        .windows(3)
        .position(|w| w[..2] == *b"\n\n" || w == b"\n\r\n")
        .map_or(raw.len(), |i| i + 2);
    let raw = raw.get(start..).unwrap_or_default();
    String::from_utf8_lossy(&raw[..raw.len().min(256 * 1024)]).replace("\r\n", "\n")
}

/// Delivery-status fields written in a text part (a report whose MIME
/// boundary is broken, or an MTA that sends them as text): the blocks with
/// a Final-Recipient and a Status or an Action.
fn text_dsn(notice: &str) -> Vec<Fields> {
    if !notice.to_ascii_lowercase().contains("final-recipient:") {
        return Vec::new();
    }
    recipient_blocks(notice.as_bytes())
        .into_iter()
        .filter(|f| {
            field(f, "final-recipient").is_some()
                && (field(f, "status").is_some() || field(f, "action").is_some())
        })
        .collect()
}

/// Splits the body of a delivery-status or feedback-report part into its
/// blocks, each read as headers by mail-parser.
fn blocks(body: &[u8]) -> Vec<Fields> {
    let text = String::from_utf8_lossy(&body[..body.len().min(256 * 1024)]).replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .take(1000)
        .filter_map(|block| {
            let raw = format!("{}\n\n", block.trim_matches('\n'));
            let parsed = MessageParser::default().parse_headers(raw.as_bytes())?;
            let fields: Fields = parsed
                .headers_raw()
                .map(|(name, value)| (name.to_ascii_lowercase(), unfold(value)))
                .collect();
            (!fields.is_empty()).then_some(fields)
        })
        .collect()
}

fn unfold(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn field<'a>(fields: &'a Fields, name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The address in a DSN recipient field: `rfc822; a@b`, `utf-8; 김@b`.
fn recipient_field(value: &str) -> Option<String> {
    let address = value.split_once(';').map_or(value, |(_, a)| a).trim();
    let address = address.trim_matches(['<', '>', '"', '\'', '`', ' ']);
    let address = decode_xtext_utf8(address);
    plausible(&address).then_some(address)
}

/// RFC 6533 writes non-ASCII in `utf-8-addr-xtext` as `\x{HEX}`.
fn decode_xtext_utf8(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(i) = rest.find("\\x{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        match after.find('}').and_then(|end| {
            u32::from_str_radix(&after[..end], 16)
                .ok()
                .and_then(char::from_u32)
                .map(|c| (c, end))
        }) {
            Some((c, end)) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("\\x{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The addresses of a message's headers that name its sender, not its
/// recipients: From, Sender, Reply-To, Return-Path (of a report: the
/// reporting system; of a returned original: the list). A report's `To`
/// is the original's envelope sender, so it is one too.
fn senders_of(message: &Message<'_>) -> Vec<String> {
    const HEADERS: &[&str] = &["from", "sender", "reply-to", "return-path", "errors-to"];
    // A list's own addresses: List-Post, List-Subscribe, X-ML-Info …
    let list = |n: &str| {
        let n = n.to_ascii_lowercase();
        n.starts_with("list-") || n.starts_with("x-ml-")
    };
    message
        .headers_raw()
        .filter(|(n, _)| HEADERS.iter().any(|h| n.eq_ignore_ascii_case(h)) || list(n))
        .flat_map(|(_, v)| addresses_in(v))
        .take(50)
        .collect()
}

fn addresses_of(message: &Message<'_>, header: &str) -> Vec<String> {
    let list = match header {
        "to" => message.to(),
        _ => None,
    };
    list.into_iter()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address().map(str::to_string))
        .collect()
}

fn complaint(fields: &Fields, parts: &Parts, ours: &Ours) -> BounceReport {
    let mut found: Vec<String> = fields
        .iter()
        .filter(|(n, _)| n == "original-rcpt-to")
        .filter_map(|(_, v)| recipient_field(v))
        .collect();
    if found.is_empty() {
        found = parts.original_to.clone();
    }
    let recipients = unique(found, ours)
        .into_iter()
        .map(|address| Recipient {
            address,
            also: Vec::new(),
            kind: Kind::Complaint,
            status: None,
            reason: Reason::Feedback,
        })
        .collect();
    BounceReport {
        kind: Kind::Complaint,
        recipients,
        status: None,
        reason: Reason::Feedback,
        id: String::new(),
        date: None,
        envelope: Vec::new(),
        tokens: Vec::new(),
    }
}

/// A DSN: one verdict per recipient block. `None` when it has no block
/// that says failed or delayed (a success notice).
fn dsn(
    parts: &Parts,
    message: &Message<'_>,
    (fields_ours, ours): (&Ours, &Ours),
) -> Option<BounceReport> {
    let mut recipients = Vec::new();
    let mut unnamed: Option<Verdict> = None;
    let notice = notice_text(&parts.notice);
    let mta = lookups_of(message.headers_raw());
    for block in &parts.dsn {
        match block_verdict(block, &notice, &mta) {
            Some(Ok(r)) if !fields_ours.contains(&r.address) => {
                // The block's own diagnostic naming it confirms it.
                let own = field(block, "diagnostic-code").unwrap_or("");
                let text = format!("{notice}\n{own}");
                recipients.extend(as_the_notice_says(r, &text, fields_ours));
            }
            Some(Err(unnamed_block)) => {
                unnamed.get_or_insert(unnamed_block);
            }
            _ => {}
        }
    }
    if parts.dsn.len() == 1 {
        recipients.iter_mut().for_each(|r| may_pass(r, &notice));
    }
    if recipients.is_empty() {
        let said = unnamed?;
        let mut found = checked(failed_header(message), &notice, ours);
        if found.is_empty() {
            found = parts.original_to.clone();
        }
        recipients = named(unique(found, ours), &said);
        if recipients.is_empty() {
            return Some(verdict(Vec::new(), said));
        }
    }
    let failed: Vec<Recipient> = recipients
        .iter()
        .filter(|r| r.kind != Kind::Delayed)
        .cloned()
        .collect();
    Some(if failed.is_empty() {
        let said = Verdict::of(&recipients[0]);
        verdict(recipients, said)
    } else {
        let decisive = failed
            .iter()
            .find(|r| r.kind == Kind::Hard)
            .unwrap_or(&failed[0]);
        let said = Verdict::of(decisive);
        verdict(failed, said)
    })
}

/// A report about one recipient whose fields say hard while its own notice
/// says the failure may pass (a full disk, a full mailbox): it contradicts
/// itself, and a reader is not marked gone on a report that says the
/// failure may pass; the notice's reason is taken (soft).
fn may_pass(r: &mut Recipient, notice: &str) {
    use Reason::*;
    if r.kind != Kind::Hard {
        return;
    }
    let (_, reason) = failure_at(None, notice, None);
    let passes = [
        MailboxFull,
        SystemFull,
        Expired,
        SystemError,
        TooManyConn,
        NetworkError,
    ];
    if passes.contains(&reason) {
        (r.kind, r.reason) = (Kind::Soft, reason);
    }
}

/// What one per-recipient block of a DSN says: the recipient with its
/// verdict; the verdict alone when the block names nobody; `None` for a
/// block that is neither failed nor delayed (delivered, relayed).
fn block_verdict(block: &Fields, notice: &str, mta: &[&str]) -> Option<Result<Recipient, Verdict>> {
    let status = field(block, "status").and_then(first_code);
    let action = field(block, "action").map(str::to_ascii_lowercase);
    let diagnostic = field(block, "diagnostic-code").unwrap_or("");
    let original = field(block, "original-recipient").and_then(recipient_field);
    let last = field(block, "final-recipient").and_then(recipient_field);
    let named = original.as_deref().or(last.as_deref()).unwrap_or("");
    let category = field(block, "x-powermta-bouncecategory").unwrap_or("");
    let at = answered(&format!("{diagnostic}\n{category}"), mta)
        .or_else(|| answered(about(notice, named), mta))
        .or_else(|| answered(notice, mta));
    let mut said = failure_at(status.as_deref(), diagnostic, at);
    for text in [about(notice, named), about(notice, "")] {
        if said.1 == Reason::Undefined {
            said = failure_at(status.as_deref(), text, at);
        }
    }
    let remote = field(block, "remote-mta").unwrap_or("");
    let (kind, reason) = match status.as_deref().and_then(code_kind) {
        // Only a generic code (X.0.0) leaves the words to the host's rules.
        None => by_remote_host(&format!("{remote} {notice}"), at, said),
        Some(_) => said,
    };
    let kind = match action.as_deref() {
        Some(a) if a.starts_with("delayed") => Kind::Delayed,
        Some(a) if a.starts_with("failed") => kind,
        None if status.as_deref().is_some_and(|s| s.starts_with('5')) => kind,
        _ => return None,
    };
    let status = decisive_code(status.as_deref(), diagnostic);
    let (address, also) = match (original, last) {
        (Some(o), Some(f)) if identity(&o) != identity(&f) => (o, vec![f]),
        (Some(o), _) => (o, Vec::new()),
        (None, Some(f)) => (f, Vec::new()),
        (None, None) => {
            return Some(Err(Verdict {
                kind,
                status,
                reason,
            }))
        }
    };
    Some(Ok(Recipient {
        address,
        also,
        kind,
        status,
        reason,
    }))
}

/// Receiving systems whose answer at one SMTP step means another reason
/// than its words (Sisimai's per-host rules): NTT DOCOMO's "Unknown user"
/// after DATA is its filter refusing the sender.
const REMOTE_HOSTS: &[(&str, Command, Reason)] =
    &[("mfsmax.docomo.ne.jp", Command::Data, Reason::Rejected)];

/// The verdict as the receiving system named in `text` means it.
fn by_remote_host(text: &str, at: Option<Command>, said: (Kind, Reason)) -> (Kind, Reason) {
    let lower = text.to_ascii_lowercase();
    REMOTE_HOSTS
        .iter()
        .find(|(host, step, _)| at == Some(*step) && lower.contains(host))
        .map_or(said, |(_, _, reason)| (kind_of(*reason, None), *reason))
}

/// The part of a notice about one recipient: from where it names the
/// address to the next 600 bytes; all of it (up to 4 KiB) when it does not.
fn about<'a>(notice: &'a str, address: &str) -> &'a str {
    let lower = notice.to_lowercase();
    let start = match address.is_empty() || lower.len() != notice.len() {
        true => None,
        false => lower.find(&address.to_lowercase()),
    };
    let (from, len) = start.map_or((0, 4096), |i| (i, 600));
    let mut end = (from + len).min(notice.len());
    while !notice.is_char_boundary(end) {
        end -= 1;
    }
    &notice[from..end]
}

/// What a report says of its recipients: kind, code and reason.
#[derive(Debug, Clone)]
struct Verdict {
    kind: Kind,
    status: Option<String>,
    reason: Reason,
}

impl Verdict {
    fn of(r: &Recipient) -> Verdict {
        Verdict {
            kind: r.kind,
            status: r.status.clone(),
            reason: r.reason,
        }
    }
}

fn verdict(recipients: Vec<Recipient>, said: Verdict) -> BounceReport {
    BounceReport {
        kind: said.kind,
        recipients,
        status: said.status,
        reason: said.reason,
        id: String::new(),
        date: None,
        envelope: Vec::new(),
        tokens: Vec::new(),
    }
}

/// A plain-text failure notice (qmail, Exim, Yahoo, older Exchange).
fn notice(parts: &Parts, message: &Message<'_>, ours: &Ours) -> BounceReport {
    let text = notice_text(&parts.notice);
    let status = first_code(&text);
    let delayed = status.as_deref().is_some_and(|s| s.starts_with('4'))
        && contains_any(&text.to_lowercase(), DELAY_WORDS)
        || status.is_none() && contains_any(&text.to_lowercase(), DELAY_WORDS);
    let failed = contains_any(&text.to_lowercase(), FAILURE_WORDS);
    let mta = lookups_of(message.headers_raw());
    let at = answered(&parts.notice, &mta);
    let (kind, reason) = failure_at(status.as_deref(), &text, at);
    let kind = match delayed && !failed {
        true => Kind::Delayed,
        false => kind,
    };
    let status = decisive_code(status.as_deref(), "");
    let said = Verdict {
        kind,
        status,
        reason,
    };
    let mut found = checked(failed_header(message), &text, ours);
    if found.is_empty() {
        found = notice_recipients(parts, message, &text, ours);
    }
    let shown = contradicted(&text);
    found.retain(|a| !shown.contains(&identity(a)));
    let mut recipients = named(unique_sent(found, ours, &parts.original_to), &said);
    if recipients.len() > 1 && kind != Kind::Delayed {
        each_own_reason(&mut recipients, &text, at);
    }
    verdict(recipients, said)
}

/// The failed recipients of a plain notice: those it names that the
/// returned original was sent to; the ones it names when it names none of
/// those (a forward); the original's `To` when it names nobody.
fn notice_recipients(parts: &Parts, message: &Message<'_>, text: &str, ours: &Ours) -> Vec<String> {
    let to = parts.original_to.clone();
    let sender = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .map(identity);
    let named: Vec<String> = unique_sent(addresses_in(&recipient_lines(text)), ours, &to)
        .into_iter()
        .filter(|a| Some(identity(a)) != sender && !looks_like_an_id(a))
        .collect();
    let keys: Vec<String> = to.iter().map(|a| identity(a)).collect();
    let listed = listed_first(text);
    let in_list = |a: &String| listed.contains(&identity(a));
    // Those the original was sent to, and the others the notice lists the
    // same way (each opening its line) when it lists one of those so.
    let both: Vec<String> = named
        .iter()
        .filter(|a| keys.contains(&identity(a)))
        .cloned()
        .collect();
    let both = match both.iter().any(in_list) {
        true => named
            .iter()
            .filter(|a| keys.contains(&identity(a)) || in_list(a))
            .cloned()
            .collect(),
        false => both,
    };
    match (both.is_empty(), named.is_empty()) {
        (false, _) => both,
        (true, false) => named,
        (true, true) => to,
    }
}

/// The addresses that open a line of a notice (after spaces, `<`, quotes):
/// the layout of a list of failed recipients.
fn listed_first(text: &str) -> Vec<String> {
    text.lines()
        .take(5000)
        .filter_map(|line| {
            let line = line.trim_start_matches([' ', '\t', '<', '"', '\'']);
            let first = addresses_in(line).into_iter().next()?;
            line.to_lowercase()
                .starts_with(&first.to_lowercase())
                .then(|| identity(&first))
        })
        .collect()
}

/// For a notice that names several recipients, each one's reason from the
/// text that follows its address, where that says one.
fn each_own_reason(recipients: &mut [Recipient], text: &str, at: Option<Command>) {
    let all: Vec<String> = recipients
        .iter()
        .map(|r| r.address.to_lowercase())
        .collect();
    for r in recipients {
        let own = about(text, &r.address);
        if own.len() == text.len().min(4096) {
            continue;
        }
        // Up to where the notice turns to another recipient.
        let lower = own.to_lowercase();
        let me = r.address.to_lowercase();
        let end = all
            .iter()
            .filter(|a| **a != me && !me.contains(a.as_str()))
            .filter_map(|a| lower.find(a.as_str()))
            .filter(|i| *i > 0 && own.is_char_boundary(*i))
            .min()
            .unwrap_or(own.len());
        let own = &own[..end];
        let code = first_code(own);
        let (kind, reason) = failure_at(code.as_deref(), own, answered(own, &[]).or(at));
        if reason != Reason::Undefined {
            (r.kind, r.reason) = (kind, reason);
            r.status = code.or(r.status.take());
        }
    }
}

/// Recipients found outside DSN fields, each with the report's verdict.
fn named(addresses: Vec<String>, said: &Verdict) -> Vec<Recipient> {
    addresses
        .into_iter()
        .map(|address| Recipient {
            address,
            also: Vec::new(),
            kind: said.kind,
            status: said.status.clone(),
            reason: said.reason,
        })
        .collect()
}

const DELAY_WORDS: &[&str] = &[
    "delayed",
    "still being retried",
    "will continue trying",
    "will retry",
    "not yet been delivered",
    "has not been delivered yet",
];

const FAILURE_WORDS: &[&str] = &[
    "permanent",
    "could not be delivered",
    "couldn't be delivered",
    "failed",
    "undeliverable",
    "unable to deliver",
    "did not reach",
    "wasn't delivered",
    "was not delivered",
];

/// The notice without the copy of the original that follows it.
fn notice_text(notice: &str) -> String {
    const MARKERS: &[&str] = &[
        "------ This is a copy of the message",
        "--- Below this line is a copy of the message",
        "----- Original message -----",
        "-----Original Message-----",
        "------ Original message follows",
        "--- Original message follows",
        "\nOriginal message follows",
        "----- Transcript of session follows -----\n\n\n",
        "Original message headers:",
        "----- The header of the original message",
        "\nReceived: ",
        "\nReturn-Path: ",
        "\nOriginal mail as follows:",
    ];
    let end = MARKERS
        .iter()
        .filter_map(|m| notice.find(m))
        .min()
        .unwrap_or(notice.len());
    notice[..end].to_string()
}

/// The headers of an original copied into the notice as text (Exim, qmail).
fn inline_original(notice: &str) -> Option<Message<'_>> {
    const MARKERS: &[&str] = &[
        "------ This is a copy of the message, including all the headers. ------",
        "--- Below this line is a copy of the message.",
        "------ Original message follows",
        "--- Original message follows",
        "\nOriginal message follows",
        "\nOriginal Message:",
        "\nMessage headers follow.",
    ];
    let start = MARKERS
        .iter()
        .filter_map(|m| notice.find(m).map(|i| i + m.len()))
        .min()?;
    let copy = notice[start..].trim_start_matches(['.', ' ', '-', '\r', '\n']);
    MessageParser::default().parse_headers(copy.as_bytes())
}

/// A recipient the report's fields name, checked against its own words:
/// where the notice does not name it but names one address of the same
/// local part at another domain, the fields disagree with the text and the
/// text's address is taken; where it names several such, none is (no
/// address rather than a possibly wrong one).
fn as_the_notice_says(mut r: Recipient, text: &str, ours: &Ours) -> Option<Recipient> {
    if contradicted(text).contains(&identity(&r.address)) {
        return None;
    }
    let named = unique(addresses_in(&recipient_lines(text)), ours);
    let keys: Vec<String> = std::iter::once(&r.address)
        .chain(&r.also)
        .map(|a| identity(a))
        .collect();
    if named.iter().any(|n| keys.contains(&identity(n))) {
        return Some(r);
    }
    let local = |a: &str| a.rsplit_once('@').map(|(l, _)| l.to_lowercase());
    let mine = local(&r.address);
    let rivals: Vec<String> = named.into_iter().filter(|n| local(n) == mine).collect();
    match rivals.as_slice() {
        [] => Some(r),
        [one] => {
            (r.address, r.also) = (one.clone(), Vec::new());
            Some(r)
        }
        _ => None,
    }
}

/// [`as_the_notice_says`] for bare addresses (`X-Failed-Recipients`).
fn checked(found: Vec<String>, text: &str, ours: &Ours) -> Vec<String> {
    let said = Verdict {
        kind: Kind::Hard,
        status: None,
        reason: Reason::Undefined,
    };
    named(found, &said)
        .into_iter()
        .filter_map(|r| as_the_notice_says(r, text, ours))
        .map(|r| r.address)
        .collect()
}

/// The addresses of notice lines that contradict themselves: a link shown
/// as one address whose `mailto:` target is another. Which one failed
/// cannot be told, so neither is given.
fn contradicted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.contains("mailto:")).take(100) {
        let on_line: Vec<String> = addresses_in(line).iter().map(|a| identity(a)).collect();
        let targets: Vec<String> = line
            .split("mailto:")
            .skip(1)
            .filter_map(|t| addresses_in(t).into_iter().next())
            .map(|a| identity(&a))
            .collect();
        if on_line.iter().any(|a| !targets.contains(a)) {
            out.extend(on_line);
        }
    }
    out
}

/// Exim and Gmail name the failed recipients in `X-Failed-Recipients`.
fn failed_header(message: &Message<'_>) -> Vec<String> {
    message
        .headers_raw()
        .filter(|(n, _)| n.eq_ignore_ascii_case("x-failed-recipients"))
        .flat_map(|(_, v)| {
            v.split(',')
                .map(|a| a.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|a| a.contains('@'))
        .collect()
}

/// The lines of a notice that can name a failed recipient: not the header
/// lines of a copied original that name its sender, its `To` or identify
/// it (From, Message-ID, Received and the like, with their folded
/// continuations), nor an SMTP transcript's `MAIL FROM`.
fn recipient_lines(text: &str) -> String {
    const SHUT: &[&str] = &[
        "from:",
        "sender:",
        "reply-to:",
        "return-path:",
        "message-id:",
        "references:",
        "in-reply-to:",
        "received:",
        "errors-to:",
        "list-",
        "dkim-signature:",
        "x-",
        "resent-",
        "content-id:",
        "envelope-from",
        "mail from",
        // A quoted header of the original ("Your message To: …"): whom it
        // was sent to, not whom the notice says failed.
        "to:",
    ];
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.lines().take(5000) {
        let lower = line
            .trim_start_matches(['>', '<', ' ', '\t'])
            .to_ascii_lowercase();
        // An indented "Name: value" is a field of its own (a list of
        // "MAIL FROM: …" then "RCPT TO: …"), not a continuation.
        let field = lower.split_once(':').is_some_and(|(n, _)| {
            (1..30).contains(&n.len())
                && n.chars()
                    .all(|c| c.is_ascii_alphabetic() || " -".contains(c))
        });
        let folded = line.starts_with([' ', '\t']) && !field;
        if !folded || !skipping {
            skipping = SHUT.iter().any(|h| lower.starts_with(h)) || lower.contains("mail from:");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// A Message-ID that looks like an address (`20080429.0000@host`): a local
/// part of dotted runs of digits and hex.
fn looks_like_an_id(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    let hexish = local
        .chars()
        .filter(|c| c.is_ascii_hexdigit() || *c == '.')
        .count();
    local.contains('.') && local.len() >= 16 && hexish * 10 >= local.len() * 9
}

/// Addresses written in running text, as in `<gone@example.org>:`.
fn addresses_in(text: &str) -> Vec<String> {
    let is_local = |c: char| c.is_alphanumeric() || ".!#$%&'*+-/=?^_`{|}~".contains(c);
    let is_domain = |c: char| c.is_alphanumeric() || ".-".contains(c);
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@').take(200) {
        let local_start = text[..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_local(*c))
            .last()
            .map_or(at, |(i, _)| i);
        let domain_end = text[at + 1..]
            .char_indices()
            .find(|(_, c)| !is_domain(*c))
            .map_or(text.len(), |(i, _)| at + 1 + i);
        let local = text[local_start..at].trim_start_matches(['.', '\'', '`', '"']);
        let domain = text[at + 1..domain_end].trim_end_matches('.');
        if !local.is_empty() && domain.contains('.') && !local.starts_with("lp.") {
            found.push(format!("{local}@{domain}"));
        }
    }
    found
}

/// Whether a string from a report can be an address: an `@`, bounded, and
/// no spaces or control characters (it reaches the terminal and the log).
fn plausible(address: &str) -> bool {
    address.contains('@')
        && address.len() <= 320
        && !address.contains(|c: char| c.is_whitespace() || c.is_control())
}

/// [`unique`], keeping a daemon's name (`postmaster@…`) that the returned
/// original was sent to (`sent`): there it is the failed recipient.
fn unique_sent(found: Vec<String>, ours: &Ours, sent: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|a| {
            let to_it = sent.iter().any(|s| identity(s) == identity(a));
            plausible(a) && !(ours.is_own(a) || !to_it && ours.contains(a))
        })
        .filter(|a| seen.insert(identity(a)))
        .take(100)
        .collect()
}

/// Each address once, without the newsletter's own.
fn unique(found: Vec<String>, ours: &Ours) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|a| plausible(a) && !ours.contains(a) && seen.insert(identity(a)))
        .take(100)
        .collect()
}

/// Hard or soft, from the code when it says, else from the words.
pub fn failure_kind(status: Option<&str>, text: &str) -> Kind {
    failure(status, text).0
}

/// The kind and the reason of a failure: the reason from the words (and
/// the code where the words say nothing), the kind from the reason by the
/// policy: a hard reason is hard unless the code is a temporary 4.x.x. A
/// refusal letterpress's own relay gave during a send answers the
/// recipient (`RCPT TO`).
pub fn failure(status: Option<&str>, text: &str) -> (Kind, Reason) {
    failure_at(status, text, Some(Command::Rcpt))
}

/// [`failure`], knowing the SMTP command the refusal answered. Words of a
/// missing mailbox are a missing mailbox when the code says so (5.1.0,
/// 5.1.1, 5.1.3, 5.1.10) or the refusal came before `DATA` (a mailbox
/// lookup answers `RCPT TO`); said after `DATA`, or where the report says
/// neither, they come from a filter or a rule of the receiving server:
/// `filtered`, as Sisimai reads them (a soft bounce, not a hard one).
pub fn failure_at(status: Option<&str>, text: &str, at: Option<Command>) -> (Kind, Reason) {
    let code = decisive_code(status, text).or_else(|| status.map(str::to_string));
    let reason = match super::reason::find(code.as_deref(), text) {
        Reason::Undefined => words_reason(text).unwrap_or(Reason::Undefined),
        found => found,
    };
    let lookup = code.as_deref().is_some_and(lookup_code) || at.is_some_and(Command::before_data);
    let reason = match reason {
        Reason::UserUnknown if !lookup => Reason::Filtered,
        other => other,
    };
    (kind_of(reason, code.as_deref()), reason)
}

/// A code that says the mailbox was looked up and not found: 5.1.0,
/// 5.1.1, 5.1.3 and Microsoft's 5.1.10.
fn lookup_code(code: &str) -> bool {
    ["5.1.0", "5.1.1", "5.1.3", "5.1.10"].contains(&code)
}

/// The kind a reason makes by the policy.
pub fn kind_of(reason: Reason, status: Option<&str>) -> Kind {
    match reason {
        Reason::Feedback => Kind::Complaint,
        Reason::Vacation => Kind::AutoReply,
        Reason::Delivered => Kind::Unrecognised,
        r if r.hard() && !status.is_some_and(|s| s.starts_with('4')) => Kind::Hard,
        _ => Kind::Soft,
    }
}

/// The code worth recording: the status, or the one in the diagnostic
/// when the status is a generic `X.0.0`.
fn decisive_code(status: Option<&str>, diagnostic: &str) -> Option<String> {
    match status {
        Some(s) if code_kind(s).is_some() => Some(s.to_string()),
        _ => first_code(diagnostic).filter(|c| code_kind(c).is_some()),
    }
}

/// What an enhanced status code says: 5.1.x and 5.2.1 hard; 5.2.2, other
/// 5.x.x (5.7.x policy included) and 4.x.x soft; `None` for a generic
/// `X.0.0` (the words decide) and for success.
pub fn code_kind(code: &str) -> Option<Kind> {
    let mut parts = code.split('.');
    let class = parts.next()?;
    let subject: u32 = parts.next()?.parse().ok()?;
    let detail: u32 = parts.next()?.parse().ok()?;
    match (class, subject, detail) {
        (_, 0, 0) => None,
        ("5", 1, _) | ("5", 2, 1) => Some(Kind::Hard),
        ("5" | "4", _, _) => Some(Kind::Soft),
        _ => None,
    }
}

/// The first enhanced status code (`5.1.1`) in `text`.
pub fn first_code(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'2' || b == b'4' || b == b'5') || bytes.get(i + 1) != Some(&b'.') {
            continue;
        }
        if i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'.') {
            continue;
        }
        let rest = &text[i + 2..];
        let subject: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if subject.is_empty() || subject.len() > 3 {
            continue;
        }
        let after = &rest[subject.len()..];
        let Some(after) = after.strip_prefix('.') else {
            continue;
        };
        let detail: String = after.chars().take_while(char::is_ascii_digit).collect();
        let next = after[detail.len()..].chars().next();
        if detail.is_empty()
            || detail.len() > 3
            || next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            continue;
        }
        if b == b'2' {
            continue;
        }
        return Some(format!("{}.{subject}.{detail}", b as char));
    }
    None
}

/// What letterpress's own words of a failure say, where Sisimai's phrases
/// and the code say nothing.
fn words_reason(text: &str) -> Option<Reason> {
    let text = text.to_lowercase();
    const SOFT: &[&str] = &[
        "mailbox full",
        "mailbox is full",
        "quota",
        "insufficient storage",
        "mailbox has exceeded",
        "too many messages",
    ];
    const HARD: &[&str] = &[
        "user unknown",
        "unknown user",
        "no such user",
        "no such mailbox",
        "no mailbox here",
        "mailbox unavailable",
        "mailbox not found",
        "mailbox does not exist",
        "does not exist",
        "doesn't exist",
        "doesn't have a",
        "recipient not found",
        "recipnotfound",
        "recipientnotfound",
        "address rejected",
        "invalid recipient",
        "invalid mailbox",
        "account disabled",
        "account has been disabled",
        "account is disabled",
        "unknown recipient",
        "not a valid mailbox",
        "unrouteable address",
        "no such recipient",
        "address not found",
        "email account that you tried to reach does not exist",
    ];
    if contains_any(&text, SOFT) {
        Some(Reason::MailboxFull)
    } else if contains_any(&text, HARD) {
        Some(Reason::UserUnknown)
    } else {
        None
    }
}

fn contains_any(text: &str, words: &[&str]) -> bool {
    words.iter().any(|w| text.contains(w))
}

/// A failure notice sent by a mail system rather than a person.
/// Subjects of failure notices, in the languages readers write in.
const SUBJECTS: &[&str] = &[
    "undeliver",
    "delivery status notification",
    "mail delivery failed",
    "returned mail",
    "failure notice",
    "delivery failure",
    "delivery has failed",
    "could not be delivered",
    "unzustellbar",
    "non remis",
    "mail delivery failure",
    "delivery notification",
    "delivery failed",
    "failed delivery",
    "mail system error",
    "nondeliverable",
    "non-deliverable",
    "onbestelbaar",
    "non recapitabile",
    "no se pudo entregar",
    "não entregue",
    "メールエラー",
    "エラー通知",
    "配信エラー",
    "送信エラー",
    "不達",
    "배달 실패",
    "전송 실패",
    "反送",
    "退信",
];

/// A message that returns an original (attached, or its headers) with a
/// notice that says it was not delivered, whatever its sender and subject
/// (KDDI's "Your mail sent on: … Could not be delivered to: …").
fn returns_a_failed_original(parts: &Parts) -> bool {
    const SAID: &[&str] = &[
        "could not be delivered to",
        "your mail sent on:",
        "undeliverable",
        "unable to deliver",
        "was not delivered",
    ];
    !parts.original_to.is_empty() && contains_any(&parts.notice.to_lowercase(), SAID)
}

fn looks_like_failure_notice(message: &Message<'_>) -> bool {
    let from = message.from().and_then(|f| f.first());
    let local = from
        .and_then(|a| a.address())
        .map(|a| a.split('@').next().unwrap_or("").to_lowercase())
        .unwrap_or_default();
    let name = from
        .and_then(|a| a.name())
        .map(str::to_lowercase)
        .unwrap_or_default();
    let subject = message.subject().unwrap_or("").to_lowercase();
    let daemon = [
        "mailer-daemon",
        "postmaster",
        "post_master",
        "mail-daemon",
        "mailerdaemon",
        "maildaemon",
    ]
    .contains(&local.as_str())
        || name.contains("mail delivery")
        || name.contains("mailer-daemon");
    let reply = subject.starts_with("re:") || subject.starts_with("fw");
    let failed_header = message
        .headers_raw()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-failed-recipients"));
    // fml, a mailing-list server, refuses a post from its -admin address.
    let list_server = local.ends_with("-admin")
        && message
            .headers_raw()
            .any(|(n, _)| n.eq_ignore_ascii_case("x-mlserver"));
    daemon || failed_header || list_server || (!reply && contains_any(&subject, SUBJECTS))
}

/// RFC 3834 and the common vacation conventions: the headers, else the
/// subject or the opening of the text in the languages readers write in.
fn is_auto_reply(message: &Message<'_>) -> bool {
    let header = |name: &str| {
        message
            .headers_raw()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    if header("auto-submitted").is_some_and(|v| !v.starts_with("no")) {
        return true;
    }
    const FLAGS: &[&str] = &[
        "x-autoreply",
        "x-autorespond",
        "x-autoresponder",
        "x-mail-autoreply",
        "x-autoreply-from",
        "x-vacation",
    ];
    if FLAGS.iter().any(|h| header(h).is_some())
        || header("precedence").is_some_and(|v| v == "auto_reply")
        || header("x-autogenerated").is_some_and(|v| v == "reply")
    {
        return true;
    }
    let subject = message.subject().unwrap_or("").to_lowercase();
    let opening: String = message
        .body_text(0)
        .map(|t| t.chars().take(2000).collect::<String>().to_lowercase())
        .unwrap_or_default();
    contains_any(&subject, AUTO_SUBJECTS) || contains_any(&opening, AUTO_BODIES)
}

/// Subjects of automatic replies (English, German, French, Spanish,
/// Italian, Portuguese, Dutch, Swedish, Polish, Korean, Japanese, Chinese).
const AUTO_SUBJECTS: &[&str] = &[
    "out of office",
    "out of the office",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "auto response",
    "autoresponse",
    "auto:",
    "vacation",
    "on holiday",
    "abwesenheit",
    "automatische antwort",
    "nicht im büro",
    "réponse automatique",
    "absent du bureau",
    "absence du bureau",
    "respuesta automática",
    "fuera de la oficina",
    "risposta automatica",
    "fuori ufficio",
    "fuori sede",
    "resposta automática",
    "fora do escritório",
    "ausência",
    "automatisch antwoord",
    "afwezigheid",
    "afwezig",
    "niet op kantoor",
    "autosvar",
    "frånvaro",
    "automatyczna odpowiedź",
    "부재중",
    "자동 응답",
    "자동응답",
    "휴가",
    "自動応答",
    "自動返信",
    "不在",
    "休暇",
    "自动回复",
];

/// Openings of automatic replies: phrases people do not write by hand.
const AUTO_BODIES: &[&str] = &[
    "i am out of the office",
    "i'm out of the office",
    "i am currently out of the office",
    "this is an automatic reply",
    "this is an automated reply",
    "automatic reply:",
    "ich bin bis",
    "ich bin derzeit nicht im büro",
    "ich bin zurzeit nicht im büro",
    "dies ist eine automatische antwort",
    "je suis absent",
    "je suis actuellement absent",
    "ceci est une réponse automatique",
    "estoy fuera de la oficina",
    "esta es una respuesta automática",
    "sono fuori ufficio",
    "questa è una risposta automatica",
    "estou fora do escritório",
    "esta é uma resposta automática",
    "ik ben afwezig",
    "ik ben niet op kantoor",
    "dit is een automatisch antwoord",
    "부재중입니다",
    "자동 응답 메일",
    "자동응답 메일",
    "不在にしております",
    "自動返信メール",
    "自動応答メッセージ",
];

/// The addresses the report was delivered to.
fn envelope(message: &Message<'_>) -> Vec<String> {
    const HEADERS: &[&str] = &[
        "to",
        "delivered-to",
        "x-original-to",
        "envelope-to",
        "x-envelope-to",
    ];
    message
        .headers_raw()
        .filter(|(n, _)| HEADERS.iter().any(|h| n.eq_ignore_ascii_case(h)))
        .flat_map(|(_, v)| addresses_in(v))
        .take(50)
        .collect()
}

fn message_id(message: &Message<'_>) -> Option<String> {
    let id = message.message_id()?;
    let fits = !id.is_empty()
        && id.len() <= 250
        && id
            .chars()
            .all(|c| c.is_ascii_graphic() && !"\"\\<>".contains(c));
    fits.then(|| format!("<{id}>"))
}

fn fallback_id(raw: &[u8]) -> String {
    let digest = Sha256::digest(raw);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_hard_and_soft() {
        assert_eq!(code_kind("5.1.1"), Some(Kind::Hard));
        assert_eq!(code_kind("5.1.10"), Some(Kind::Hard));
        assert_eq!(code_kind("5.2.1"), Some(Kind::Hard));
        assert_eq!(code_kind("5.2.2"), Some(Kind::Soft));
        assert_eq!(code_kind("5.7.26"), Some(Kind::Soft));
        assert_eq!(code_kind("4.4.7"), Some(Kind::Soft));
        assert_eq!(code_kind("5.0.0"), None);
        assert_eq!(code_kind("2.0.0"), None);
        assert_eq!(
            failure_kind(Some("5.0.0"), "550 No Such User Here"),
            Kind::Hard
        );
        assert_eq!(failure_kind(None, "552 mailbox full"), Kind::Soft);
    }

    #[test]
    fn finds_enhanced_codes_in_text() {
        assert_eq!(
            first_code("smtp; 550 5.1.1 <a@example.org>: Recipient address rejected").as_deref(),
            Some("5.1.1")
        );
        assert_eq!(first_code("(#5.1.1)").as_deref(), Some("5.1.1"));
        assert_eq!(first_code("version 15.5.1.2 and 250 2.0.0 ok"), None);
        assert_eq!(first_code("4.4.7 expired").as_deref(), Some("4.4.7"));
        assert_eq!(first_code("at 10.0.0.1"), None);
    }

    #[test]
    fn control_characters_never_make_an_address() {
        assert_eq!(recipient_field("rfc822; a\u{1b}[31m@example.org"), None);
        assert!(unique(vec!["b\u{7}@example.org".into()], &Ours::default()).is_empty());
    }

    #[test]
    fn decodes_utf8_addr_xtext() {
        assert_eq!(
            recipient_field("utf-8; \\x{AE40}\\x{B3C5}\\x{C790}@example.com").as_deref(),
            Some("김독자@example.com")
        );
        assert_eq!(
            recipient_field("rfc822;<Gone@Example.org>").as_deref(),
            Some("Gone@Example.org")
        );
    }
}
