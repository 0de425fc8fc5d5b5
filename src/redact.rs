//! Text fit for a log that never holds a reader's address or a token:
//! `serve`'s log, and whatever the send, the welcome and the scheduler
//! print while `serve` runs them.

/// `text` fit for serve's log, which never holds a reader's address or a
/// token: every word with an `@` (or `%40`) in it becomes `…`, a URL's
/// query (where tokens travel) becomes `?…`, control characters become `?`
/// and line breaks ` | `, so one event stays one line. Every line serve
/// logs that carries text from elsewhere (an error, a relay's reply, a
/// file's line) goes through it.
pub(crate) fn loggable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str(" | ");
        }
        let mut first = true;
        for word in line.split(' ') {
            if !first {
                out.push(' ');
            }
            first = false;
            let lower = word.to_ascii_lowercase();
            if word.contains('@') || lower.contains("%40") {
                out.push('…');
                continue;
            }
            let word = match word.find('?') {
                Some(at) if word[at..].contains('=') => format!("{}?…", &word[..at]),
                _ => word.to_string(),
            };
            out.extend(word.chars().map(|c| if c.is_control() { '?' } else { c }));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_lines_carry_no_address_or_token() {
        let relay = "cannot send to <jane+x@example.com>: 550 5.1.1 jane+x@example.com: no such user\nsecond line";
        assert_eq!(
            super::loggable(relay),
            "cannot send to … 550 5.1.1 … no such user | second line"
        );
        assert_eq!(
            super::loggable(
                "GET https://n.example.com/unsubscribe?e=a%40example.org&t=0a1b2c failed"
            ),
            "GET … failed"
        );
        assert_eq!(
            super::loggable("link https://n.example.com/subscribe/confirm?t=AbC_d-1 x\u{7}"),
            "link https://n.example.com/subscribe/confirm?… x?"
        );
        assert_eq!(
            super::loggable("list.toml:3: bad value"),
            "list.toml:3: bad value"
        );
    }
}
