//! Why a message bounced, in Sisimai's vocabulary, and what each reason
//! means for the reader: the address is gone (hard), the failure may pass
//! (soft), the receiver refused the *sender* (never the reader's fault), or
//! it is no failure at all.

use serde::Serialize;

use super::phrases::PHRASES;

macro_rules! reasons {
    ($($variant:ident => $word:literal,)*) => {
        /// A bounce reason (Sisimai's names).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Reason {
            $(
                #[doc = concat!("`", $word, "`")]
                $variant,
            )*
        }

        impl Reason {
            /// Every reason, in the order of the vocabulary.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            /// The word used in output and in `bounces.log`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $word,)*
                }
            }
        }
    };
}

reasons! {
    UserUnknown => "userunknown",
    HostUnknown => "hostunknown",
    HasMoved => "hasmoved",
    Suspend => "suspend",
    NotAccept => "notaccept",
    MailboxFull => "mailboxfull",
    Expired => "expired",
    SystemError => "systemerror",
    SystemFull => "systemfull",
    TooManyConn => "toomanyconn",
    NetworkError => "networkerror",
    MailerError => "mailererror",
    ExceedLimit => "exceedlimit",
    MesgTooBig => "mesgtoobig",
    SyntaxError => "syntaxerror",
    ContentError => "contenterror",
    OnHold => "onhold",
    Undefined => "undefined",
    Filtered => "filtered",
    Rejected => "rejected",
    Blocked => "blocked",
    SpamDetected => "spamdetected",
    PolicyViolation => "policyviolation",
    SecurityError => "securityerror",
    NoRelaying => "norelaying",
    AuthFailure => "authfailure",
    BadReputation => "badreputation",
    RequirePtr => "requireptr",
    NotCompliantRfc => "notcompliantrfc",
    VirusDetected => "virusdetected",
    Speeding => "speeding",
    Delivered => "delivered",
    Feedback => "feedback",
    Vacation => "vacation",
}

impl Reason {
    /// The reason a word names; the words of older `bounces.log` lines and
    /// output (`unknown`, `full`, `policy`, ...) read as their new names.
    pub fn parse(word: &str) -> Option<Reason> {
        let word = word.trim().to_ascii_lowercase();
        let old = match word.as_str() {
            "unknown" | "user-unknown" | "nouser" => Some(Reason::UserUnknown),
            "full" | "quota" | "mailbox-full" => Some(Reason::MailboxFull),
            "policy" => Some(Reason::PolicyViolation),
            "spam" => Some(Reason::SpamDetected),
            "complaint" => Some(Reason::Feedback),
            "auto-reply" => Some(Reason::Vacation),
            "delayed" => Some(Reason::Expired),
            "-" | "" => Some(Reason::Undefined),
            _ => None,
        };
        old.or_else(|| Reason::ALL.iter().copied().find(|r| r.as_str() == word))
    }

    /// The receiver refused the sender, its server or its content: never
    /// the reader's fault, never a mark against the reader.
    pub fn sender_side(self) -> bool {
        use Reason::*;
        matches!(
            self,
            Rejected
                | Blocked
                | SpamDetected
                | PolicyViolation
                | SecurityError
                | NoRelaying
                | AuthFailure
                | BadReputation
                | RequirePtr
                | NotCompliantRfc
                | VirusDetected
                | Speeding
                | ContentError
        )
    }

    /// The address is gone: the reader is marked bounced at once (unless
    /// the status is a temporary 4.x.x).
    pub fn hard(self) -> bool {
        use Reason::*;
        matches!(
            self,
            UserUnknown | HostUnknown | HasMoved | Suspend | NotAccept
        )
    }

    /// Not a failure: a delivery, a complaint, an automatic reply.
    pub fn not_a_failure(self) -> bool {
        matches!(
            self,
            Reason::Delivered | Reason::Feedback | Reason::Vacation
        )
    }
}

/// The reason an error message gives: its words first (Sisimai's phrases),
/// then its enhanced status code; `Undefined` when neither says.
pub fn find(status: Option<&str>, text: &str) -> Reason {
    let text = text.to_lowercase();
    // A local mailer program's own failure (procmail, a pipe), whatever
    // words it prints.
    text.starts_with("x-unix;")
        .then_some(Reason::MailerError)
        .or_else(|| by_words(&text))
        .or_else(|| more_words(&text))
        .or_else(|| status.and_then(by_code))
        .unwrap_or(Reason::Undefined)
}

/// The first reason whose phrase the (lower-case) text contains.
pub fn by_words(text: &str) -> Option<Reason> {
    if text.trim().is_empty() {
        return None;
    }
    for (reason, phrases, pairs) in PHRASES {
        let pair = |(a, b): &(&str, &str)| {
            text.find(a)
                .is_some_and(|i| text[i + a.len()..].contains(b))
        };
        if phrases.iter().any(|p| text.contains(p)) || pairs.iter().any(pair) {
            return Some(*reason);
        }
    }
    text.contains(" has been replaced by ")
        .then_some(Reason::HasMoved)
}

/// Words Sisimai's phrases miss that letterpress has met, by reason.
const MORE_WORDS: &[(Reason, &[&str])] = &[
    // Google Groups: the group refuses the sender's post (in every
    // language its notice links its help centre).
    (Reason::Rejected, &["groups.google.com/support"]),
    // fml refusing a post: "You are not a member of this mailing list".
    (Reason::Rejected, &["not a member of this mailing list"]),
    (Reason::SystemError, &["duplicated message-id"]),
    // InterScan MSS: "Unable to deliver message to <…> (and other
    // recipients in the same domain). Please check if address is
    // correct."
    (
        Reason::UserUnknown,
        &[
            "and other recipients in the same domain",
            "please check if address is correct",
        ],
    ),
    (
        Reason::SecurityError,
        &["please turn on smtp authentication"],
    ),
    (Reason::AuthFailure, &["dmarc check failed"]),
    (Reason::Blocked, &["spamhaus.org/query"]),
    (
        Reason::MailboxFull,
        &[
            "mailbox full",
            "quota",
            "insufficient storage",
            "too many messages",
        ],
    ),
    (
        Reason::UserUnknown,
        &[
            "user unknown",
            "unknown user",
            "no such user",
            "no mailbox here",
            "mailbox unavailable",
            "recipient not found",
            "recipnotfound",
            "recipientnotfound",
            "address not found",
            "invalid final delivery userid",
            "not listed in domino directory",
            "not listed in public name & address book",
            "ディレクトリには見つかりません",
            "ディレクトリのリストにありません",
            "no valid recipients for this",
            "unknown recipient",
            "account disabled",
            "doesn't have a",
            "does not exist",
            "doesn't exist",
        ],
    ),
    // DragonFly Mail Agent: "DNS lookup failure: host … not found".
    (Reason::HostUnknown, &["dns lookup failure: host"]),
];

/// The first reason of [`MORE_WORDS`] whose words the text contains.
fn more_words(text: &str) -> Option<Reason> {
    MORE_WORDS
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(reason, _)| *reason)
}

/// What an enhanced status code says (RFC 3463, as Sisimai reads it).
pub fn by_code(code: &str) -> Option<Reason> {
    use Reason::*;
    let mut parts = code.split('.');
    let class = parts.next()?;
    let subject: u32 = parts.next()?.parse().ok()?;
    let detail: u32 = parts.next()?.parse().ok()?;
    let reason = match (subject, detail) {
        (1, 0 | 1 | 3) if class == "5" => UserUnknown,
        (1, 2) if class == "5" => HostUnknown,
        (1, 4) => Filtered,
        (1, 6) => HasMoved,
        (1, 7 | 8) => Rejected,
        (1, 10) => NotAccept,
        (2, 1) if class == "4" => Suspend,
        (2, 0 | 1 | 4) => Filtered,
        (2, 2) => MailboxFull,
        (2, 3) => ExceedLimit,
        (3, 1) | (4, 5) => SystemFull,
        (3, 2) => NotAccept,
        (3, 4) => MesgTooBig,
        (3, 0 | 3 | 5) | (1, 9) | (4, 3) => SystemError,
        (4, 1 | 7) => Expired,
        (4, 4) if class == "5" => HostUnknown,
        (4, 0 | 2 | 4 | 6 | 8) => NetworkError,
        (5, 2 | 6) => SyntaxError,
        (5, 3) => TooManyConn,
        (5, 4 | 5) => SystemError,
        (6, 0..=3 | 5..=9) => ContentError,
        (7, 1 | 2) if class == "4" => Blocked,
        (7, 16) => MesgTooBig,
        (7, 24 | 26) | (7, 23) => AuthFailure,
        (7, 25) => RequirePtr,
        (7, 0..=15) => SecurityError,
        _ => return None,
    };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_then_codes() {
        assert_eq!(
            find(Some("5.1.1"), "550 5.1.1 No such user"),
            Reason::UserUnknown
        );
        assert_eq!(find(Some("5.2.2"), "552 mailbox full"), Reason::MailboxFull);
        assert_eq!(find(Some("4.4.7"), ""), Reason::Expired);
        assert_eq!(
            find(Some("5.7.1"), "blocked using zen.spamhaus.org"),
            Reason::Blocked
        );
        assert_eq!(find(None, "nothing to go by"), Reason::Undefined);
    }

    #[test]
    fn old_words_read_as_new_ones() {
        assert_eq!(Reason::parse("unknown"), Some(Reason::UserUnknown));
        assert_eq!(Reason::parse("full"), Some(Reason::MailboxFull));
        assert_eq!(Reason::parse("spamdetected"), Some(Reason::SpamDetected));
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(*r));
        }
    }
}
