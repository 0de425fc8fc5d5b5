//! The SMTP command a refusal answered, read from the transcript forms the
//! major MTAs write into their reports. A mailbox lookup answers `RCPT TO`;
//! what is refused after `DATA` was refused for the message (a filter, a
//! rule of the receiving server), not for the address.

/// The step of an SMTP session a failure was given at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// The greeting or the connection itself.
    Connect,
    /// `HELO` / `EHLO` (and `STARTTLS`, `AUTH`).
    Hello,
    /// `MAIL FROM`.
    Mail,
    /// `RCPT TO`.
    Rcpt,
    /// `DATA` or the end of the message's data.
    Data,
}

impl Command {
    /// Given before the message was sent: the refusal cannot be of the
    /// message's contents.
    pub fn before_data(self) -> bool {
        !matches!(self, Command::Data)
    }
}

/// The forms, in lower case, with the command each names.
const FORMS: &[(&str, Command)] = &[
    // Sendmail, Exchange, Notes, Courier: `>>> RCPT To:<…>` / `<<< 550 …`,
    // also "while talking to mx.example.net.: >>> DATA".
    (">>> rcpt", Command::Rcpt),
    (">>> data", Command::Data),
    (">>> mail from", Command::Mail),
    (">>> helo", Command::Hello),
    (">>> ehlo", Command::Hello),
    (">>> starttls", Command::Hello),
    // Postfix: "(in reply to RCPT TO command)", "(in reply to end of DATA
    // command)", "while receiving the initial server greeting".
    ("in reply to rcpt", Command::Rcpt),
    ("in reply to end of data", Command::Data),
    ("in reply to data", Command::Data),
    ("in reply to mail", Command::Mail),
    ("in reply to helo", Command::Hello),
    ("in reply to ehlo", Command::Hello),
    ("in reply to starttls", Command::Hello),
    ("initial server greeting", Command::Connect),
    // Exim: "SMTP error from remote mail server after RCPT TO:<…>:",
    // "after end of data", "after initial connection".
    ("after rcpt", Command::Rcpt),
    ("after end of data", Command::Data),
    ("after data", Command::Data),
    ("after mail from", Command::Mail),
    ("after helo", Command::Hello),
    ("after ehlo", Command::Hello),
    ("after initial connection", Command::Connect),
    ("after pipelined", Command::Rcpt),
    // Others: "in response to RCPT TO", "RCPT TO command", "DATA command",
    // "SMTP command:\nDATA" (m-FILTER), "during RCPT".
    ("in response to rcpt", Command::Rcpt),
    ("in response to end of data", Command::Data),
    ("in response to data", Command::Data),
    ("in response to mail from", Command::Mail),
    ("rcpt to command", Command::Rcpt),
    ("end of data", Command::Data),
    ("data command", Command::Data),
    ("mail from command", Command::Mail),
    ("smtp command\ndata", Command::Data),
    ("smtp command\nrcpt", Command::Rcpt),
    ("smtp command\nmail", Command::Mail),
    ("during rcpt", Command::Rcpt),
    // qmail: "most progress was RCPT TO response", "… does not like
    // recipient."; X3: "SMTP:RCPT host".
    ("progress was rcpt", Command::Rcpt),
    ("does not like recipient", Command::Rcpt),
    ("smtp:rcpt", Command::Rcpt),
    ("smtp:data", Command::Data),
];

/// Phrases only a mailbox lookup gives (the receiving system's directory
/// does not list the address): an answer to `RCPT TO` wherever the report
/// leaves the command out.
const LOOKUPS: &[&str] = &[
    "not listed in",
    "ディレクトリには見つかりません",
    "ディレクトリのリストにありません",
    "recipient name is not recognized",
    "no valid recipients",
    "address not found",
    "recipientnotfound",
    "recipnotfound",
    "bad-mailbox",
    // Yahoo's delivery daemon ("dd"); the same words from other systems
    // come without it.
    "dd this user doesn't have a",
    // InterScan MSS, which looks the address up before it relays.
    "please check if address is correct",
    "and other recipients in the same domain",
    // Sendmail's local mailer, which opens the mailbox itself.
    "mail.local: unknown user",
];

/// Reporting systems known by a header of their reports, and the phrases
/// each gives only for a mailbox it looked up and did not find (as
/// Sisimai's modules for them read them).
const MTAS: &[(&str, &str, &[&str])] = &[
    (
        "x-nai-header",
        "modified by mcafee",
        &[
            " user not exist",
            " unknown.",
            "550 unknown user ",
            "no such user",
        ],
    ),
    ("from", "post_master@vtext.com", &["no such user here"]),
    (
        "x-mailer",
        "<smtp32 v",
        &["unknown user", "invalid final delivery userid"],
    ),
];

/// The lookup phrases of the system that wrote a report, by its headers.
pub fn lookups_of<'a>(headers: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (name, value) in headers.take(500) {
        let value = value.to_ascii_lowercase();
        for (header, mark, phrases) in MTAS {
            if name.eq_ignore_ascii_case(header) && value.contains(mark) {
                out.extend_from_slice(phrases);
            }
        }
    }
    out
}

/// The command a failure answered: `RCPT TO` where the report says what
/// only a mailbox lookup says (`mta`: the reporting system's own such
/// phrases, from [`lookups_of`]), whatever step its transcript shows; else
/// the one the report names.
pub fn answered(text: &str, mta: &[&str]) -> Option<Command> {
    let lower = text.to_lowercase();
    let lookup = LOOKUPS.iter().chain(mta).any(|p| lower.contains(p));
    match lookup {
        true => Some(Command::Rcpt),
        false => command(text),
    }
}

/// The SMTP command a report says its failure answered: of the forms it
/// contains, the last one (a transcript runs MAIL, RCPT, DATA in order and
/// stops at the refusal). `None` when the report names none.
pub fn command(text: &str) -> Option<Command> {
    let lower = text.to_ascii_lowercase().replace("\r\n", "\n");
    FORMS
        .iter()
        .filter_map(|(form, cmd)| lower.rfind(form).map(|at| (at, form.len(), *cmd)))
        // The latest form wins; at one place, the longer (more precise) one.
        .max_by_key(|(at, len, _)| (*at, *len))
        .map(|(_, _, cmd)| cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_of_each_mtas_transcript() {
        let cases: &[(&str, Option<Command>)] = &[
            (
                "host mx.example.org[192.0.2.1] said: 550 5.1.1 <a@example.org>: \
                 User unknown (in reply to RCPT TO command)",
                Some(Command::Rcpt),
            ),
            (
                "550 5.7.1 Message rejected (in reply to end of DATA command)",
                Some(Command::Data),
            ),
            (
                "SMTP error from remote mail server after RCPT TO:<a@example.org>:\n\
                 550 No such user",
                Some(Command::Rcpt),
            ),
            (
                "SMTP error from remote mail server after end of data:\n550 rejected",
                Some(Command::Data),
            ),
            (
                "SMTP error from remote mail server after initial connection:\n554 go away",
                Some(Command::Connect),
            ),
            (
                "... while talking to mx.example.org.:\n>>> MAIL From:<l@example.com>\n\
                 <<< 250 ok\n>>> RCPT To:<a@example.org>\n<<< 550 User unknown",
                Some(Command::Rcpt),
            ),
            (
                ">>> RCPT To:<a@example.org>\n<<< 250 ok\n>>> DATA\n<<< 550 User unknown",
                Some(Command::Data),
            ),
            ("-------SMTP command\r\nDATA\r\n", Some(Command::Data)),
            ("550 <a@example.org> No such user here", None),
        ];
        for (text, want) in cases {
            assert_eq!(command(text), *want, "{text}");
        }
    }
}
