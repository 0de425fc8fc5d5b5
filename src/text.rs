//! The small words of letterpress's own messages.

/// "s" for counts other than one.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
