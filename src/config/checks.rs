//! The checks values of several tables share: ranges, one-line text,
//! header tokens, names and URLs, and the rule that ties a verdict to its key.

/// What is wrong with a value, and what to do about it.
pub(super) type RuleResult = std::result::Result<(), (String, &'static str)>;

/// A check of one text value.
pub(super) type Check = fn(&str) -> RuleResult;

/// One value's check: the key it is at and what is wrong with it.
pub(super) struct Rule {
    pub(super) key: &'static [&'static str],
    /// Which of the tables of an array (`[[dkim]]`) the key is in.
    pub(super) index: Option<usize>,
    pub(super) verdict: RuleResult,
}

impl Rule {
    pub(super) fn at(self, index: usize) -> Rule {
        Rule {
            index: Some(index),
            ..self
        }
    }
}

pub(super) fn rule(key: &'static [&'static str], verdict: RuleResult) -> Rule {
    Rule {
        key,
        index: None,
        verdict,
    }
}

/// The rules of the optional text values that are present, in order.
pub(super) fn present(values: Vec<(&'static [&'static str], Option<&str>, Check)>) -> Vec<Rule> {
    values
        .into_iter()
        .filter_map(|(key, value, check)| value.map(|value| rule(key, check(value))))
        .collect()
}

pub(super) fn float_in(value: f64, min: f64, max: f64, zero_ok: bool) -> RuleResult {
    if value.is_finite() && ((zero_ok && value == 0.0) || (min..=max).contains(&value)) {
        return Ok(());
    }
    let zero = if zero_ok { "0 (no limit) or " } else { "" };
    Err((
        format!("{value} is out of range: it must be {zero}from {min} to {max}"),
        "use a plain number in that range",
    ))
}

pub(super) fn int_in(value: u64, min: u64, max: u64) -> RuleResult {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err((
            format!("{value} is out of range: it must be from {min} to {max}"),
            "use a whole number in that range",
        ))
    }
}

/// Text on one line, of bounded length (it reaches headers and pages).
pub(super) fn one_line(value: &str, max: usize) -> RuleResult {
    if value.chars().any(char::is_control) {
        return Err((
            "contains a line break or control character".into(),
            "write the value on one line",
        ));
    }
    if value.chars().count() > max {
        return Err((format!("is longer than {max} characters"), "shorten it"));
    }
    Ok(())
}

/// A value written into a header as it is: printable ASCII, no spaces.
pub(super) fn header_token(value: &str, max: usize, allowed: &str, header: &str) -> RuleResult {
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || allowed.contains(*c)))
    {
        Some(c) => Err((
            format!(
                "`{}` contains {c:?}, which the {header} header cannot carry",
                value.escape_debug()
            ),
            "use letters, digits and . - _ only",
        )),
        None if value.is_empty() || value.len() > max => Err((
            format!("must be 1 to {max} characters"),
            "use letters, digits and . - _ only",
        )),
        None => Ok(()),
    }
}

/// A host name or an IP address.
pub(super) fn host_name(value: &str) -> RuleResult {
    if value.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    dns_name(value)
}

/// A DNS name: labels of letters, digits, `-` and `_`, joined by dots.
pub(super) fn dns_name(value: &str) -> RuleResult {
    let good_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if value.len() <= 253 && value.split('.').all(good_label) {
        Ok(())
    } else {
        Err((
            format!("`{}` is not a DNS name", value.escape_debug()),
            "use a name such as example.com: letters, digits and - between dots (punycode for other scripts)",
        ))
    }
}

/// An `http(s)://` URL that can stand as it is in a header (`<…>`), an
/// HTML attribute and a plain-text line.
pub(super) fn web_url(value: &str) -> RuleResult {
    let help = "use an https:// URL such as https://news.example.com/unsubscribe";
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err((
            format!("`{}` is not an http(s) URL", value.escape_debug()),
            help,
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    if let Some(c) = value
        .chars()
        .find(|c| !c.is_ascii_graphic() || "<>\"'\\^`{|}".contains(*c))
    {
        return Err((
            format!(
                "`{}` contains {c:?}, which a URL in a header or page cannot carry",
                value.escape_debug()
            ),
            "percent-encode it",
        ));
    }
    if value.len() > 500
        || (host_name(host).is_err() && !(host.starts_with('[') && host.ends_with(']')))
    {
        return Err((
            format!("`{}` has no valid host", value.escape_debug()),
            help,
        ));
    }
    Ok(())
}

/// The name of an environment variable.
pub(super) fn env_name(value: &str) -> RuleResult {
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err((
            format!(
                "`{}` is not the name of an environment variable",
                value.escape_debug()
            ),
            "use a name such as LETTERPRESS_UNSUBSCRIBE_SECRET",
        ))
    }
}
/// One table (`[dkim]`) or an array of them (`[[dkim]]`), read as a list;
/// a mistake inside a table keeps its own message and place.
pub(super) fn one_or_many<'de, D, T>(deserializer: D) -> std::result::Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    struct OneOrMany<T>(std::marker::PhantomData<T>);
    impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("one table or an array of tables")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|d| vec![d])
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            seq: A,
        ) -> std::result::Result<Vec<T>, A::Error> {
            <Vec<T> as serde::Deserialize>::deserialize(
                serde::de::value::SeqAccessDeserializer::new(seq),
            )
        }
    }
    deserializer.deserialize_any(OneOrMany(std::marker::PhantomData))
}
