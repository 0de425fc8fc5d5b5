//! `[[topics]]`: what readers may choose on the subscribe form (and, later,
//! on their own page); an issue reaches the readers of a topic through its
//! `audience` tags. Each topic's name and description is one text, or one
//! per language (`name = { ko = "주간", en = "Weekly" }`).

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::checks::{one_line, rule, Rule, RuleResult};
use super::language::{language_tag, primary_language};
use super::subscribe::{tag_word, Subscribe};

/// The most topics a newsletter may offer: a form of checkboxes a reader
/// can take in at a glance, and a bound on every loop over them.
pub const MAX_TOPICS: usize = 50;

/// The longest topic name.
const MAX_NAME_CHARS: usize = 100;

/// The longest topic description.
const MAX_DESCRIPTION_CHARS: usize = 300;

/// The most languages one text may be written in.
const MAX_LANGUAGES: usize = 20;

/// One `[[topics]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// The list tag a reader who chooses the topic carries.
    pub tag: String,
    /// What readers see.
    pub name: Text,
    /// One line under the name.
    pub description: Option<Text>,
}

/// A text of the config written once, or once per language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    /// `name = "Weekly"`.
    One(String),
    /// `name = { ko = "주간", en = "Weekly" }`, in the order written.
    ByLanguage(Vec<(String, String)>),
}

impl Text {
    /// The text for a newsletter in `language`: the same tag, else the
    /// same primary language (`en` for `en-GB`), else the first written.
    pub fn get(&self, language: &str) -> &str {
        let texts = match self {
            Text::One(text) => return text,
            Text::ByLanguage(texts) => texts,
        };
        let primary = primary_language(language);
        texts
            .iter()
            .find(|(lang, _)| lang.eq_ignore_ascii_case(language))
            .or_else(|| texts.iter().find(|(lang, _)| *lang == primary))
            .or_else(|| texts.first())
            .map_or("", |(_, text)| text)
    }

    /// Every (language, text) written; the language is empty for one text.
    fn all(&self) -> Vec<(&str, &str)> {
        match self {
            Text::One(text) => vec![("", text)],
            Text::ByLanguage(texts) => texts.iter().map(|(l, t)| (&l[..], &t[..])).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Text;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string, or a table of strings by language code such as { ko = \"주간\", en = \"Weekly\" }")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Text, E> {
                Ok(Text::One(value.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                let mut texts = Vec::new();
                while let Some((lang, text)) = map.next_entry::<String, Spanned<String>>()? {
                    if texts.len() == MAX_LANGUAGES {
                        return Err(serde::de::Error::custom(format!(
                            "more than {MAX_LANGUAGES} languages"
                        )));
                    }
                    texts.push((lang, text));
                }
                // The parser hands the keys over sorted: their places give
                // the order they were written in.
                texts.sort_by_key(|(_, text)| text.span().start);
                Ok(Text::ByLanguage(
                    texts
                        .into_iter()
                        .map(|(l, t)| (l, t.into_inner()))
                        .collect(),
                ))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl Topic {
    /// The name for a newsletter in `language`.
    pub fn name(&self, language: &str) -> &str {
        self.name.get(language)
    }

    /// The description for a newsletter in `language`, if there is one.
    pub fn description(&self, language: &str) -> Option<&str> {
        self.description
            .as_ref()
            .map(|d| d.get(language))
            .filter(|d| !d.is_empty())
    }
}

/// The checks of every topic, and of `[subscribe] default_topics` against
/// them.
pub(super) fn rules(topics: &[Topic], subscribe: Option<&Subscribe>) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut seen = HashSet::new();
    for (i, topic) in topics.iter().enumerate() {
        if i == MAX_TOPICS {
            rules.push(rule(&["topics"], too_many(topics.len())).at(i));
            break;
        }
        rules.push(rule(&["topics", "tag"], tag_word(&topic.tag)).at(i));
        if !seen.insert(topic.tag.as_str()) {
            rules.push(rule(&["topics", "tag"], duplicate(&topic.tag)).at(i));
        }
        rules.extend(
            text_rules(&topic.name, MAX_NAME_CHARS)
                .into_iter()
                .map(|verdict| rule(&["topics", "name"], verdict).at(i)),
        );
        if let Some(description) = &topic.description {
            rules.extend(
                text_rules(description, MAX_DESCRIPTION_CHARS)
                    .into_iter()
                    .map(|verdict| rule(&["topics", "description"], verdict).at(i)),
            );
        }
    }
    let defaults = subscribe.and_then(|s| s.default_topics.as_deref());
    for tag in defaults.unwrap_or_default() {
        if !topics.iter().any(|t| t.tag == *tag) {
            rules.push(rule(
                &["subscribe", "default_topics"],
                Err((
                    format!(
                        "`{}` is not the tag of a [[topics]] table",
                        tag.escape_debug()
                    ),
                    "name only tags that a [[topics]] table has as its `tag`",
                )),
            ));
        }
    }
    rules
}

fn too_many(count: usize) -> RuleResult {
    Err((
        format!("{count} topics are more than the {MAX_TOPICS} a form can offer"),
        "merge or remove topics; readers can still carry other tags",
    ))
}

fn duplicate(tag: &str) -> RuleResult {
    Err((
        format!("the tag `{}` is a topic already", tag.escape_debug()),
        "give each topic its own tag, or remove this one",
    ))
}

/// The verdicts on each text of a name or description: present, one
/// line, bounded, and written under language codes.
fn text_rules(text: &Text, max: usize) -> Vec<RuleResult> {
    let mut verdicts = Vec::new();
    if matches!(text, Text::ByLanguage(texts) if texts.is_empty()) {
        verdicts.push(Err((
            "has no text".into(),
            "write a text, or a table such as { ko = \"주간\", en = \"Weekly\" }",
        )));
    }
    for (lang, value) in text.all() {
        if !lang.is_empty() && language_tag(lang).is_err() {
            verdicts.push(Err((
                format!("`{}` is not a language code", lang.escape_debug()),
                "write each text under a BCP 47 tag such as ko, en or en-GB",
            )));
        }
        if value.trim().is_empty() {
            verdicts.push(Err((
                "is empty".into(),
                "write what readers should see, such as \"Weekly\"",
            )));
        }
        verdicts.push(one_line(value, max));
    }
    verdicts
}
