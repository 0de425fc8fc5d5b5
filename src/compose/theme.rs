//! Themes: `templates/<name>/theme.toml` (colours, fonts, widths, labels)
//! and `style.css`. The structure of the email is code; the look is here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Deserialize;

use crate::config::{primary_language, Config};
use crate::error::{read_input, Located};

/// Themes compiled into the binary, so an installed letterpress works anywhere.
const BUILT_IN: &[(&str, &str, &str)] = &[
    (
        "default",
        include_str!("../../templates/default/theme.toml"),
        include_str!("../../templates/default/style.css"),
    ),
    (
        "letter",
        include_str!("../../templates/letter/theme.toml"),
        include_str!("../../templates/letter/style.css"),
    ),
];

/// Colours of one scheme, as six-digit hex.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Colors {
    /// Around the column.
    pub background: String,
    /// The column.
    pub surface: String,
    /// Body text.
    pub text: String,
    /// Dates, footer, captions.
    pub muted: String,
    /// Links, rules, button background.
    pub accent: String,
    /// Button label.
    pub button_text: String,
    /// Hairlines and quote bars.
    pub border: String,
    /// Background of notes and quotes.
    pub tint: String,
}

/// Words the layout prints, in one language.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// Default button label.
    pub read_more: String,
    /// Heading of the table of contents.
    pub contents: String,
    /// "View in browser" link.
    pub view_in_browser: String,
    /// Unsubscribe link.
    pub unsubscribe: String,
    /// Why the reader gets this; `{newsletter}` is replaced by its name.
    pub why: String,
    /// The issue number; `{number}` is replaced, as in "No. {number}".
    pub issue_number: String,
    /// Heading of the footnotes.
    pub notes: String,
    /// The link to the reader's preference page (with `[preferences]`);
    /// letterpress's own words for the language when a theme has none.
    pub preferences: Option<String>,
}

/// `theme.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeFile {
    /// Width of the column on large screens, px.
    pub max_width: u32,
    /// Horizontal padding inside the column, px.
    pub gutter: u32,
    /// Font stack of the text.
    pub font_family: String,
    /// Font stack of headings.
    pub heading_font_family: String,
    /// Optional logo image URL for the masthead.
    pub logo: Option<String>,
    /// Logo width, px.
    #[serde(default = "default_logo_width")]
    pub logo_width: u32,
    /// Light colours.
    pub colors: Colors,
    /// Dark-mode colours (`prefers-color-scheme: dark`).
    pub dark: Colors,
    /// Labels per language; `en` is the fallback.
    pub labels: BTreeMap<String, Labels>,
}

fn default_logo_width() -> u32 {
    160
}

/// A loaded theme.
#[derive(Debug, Clone)]
pub struct Theme {
    /// Where it came from (a folder, or `built-in:<name>`).
    pub origin: PathBuf,
    /// The settings.
    pub file: ThemeFile,
    /// The rules to inline into `style` attributes, `var(--…)` resolved.
    pub inline_css: String,
    /// The at-rules (`@media …`) that stay in a `<style>` block.
    pub at_rules: String,
    /// The labels for the newsletter's language.
    pub labels: Labels,
    /// The text of theme.toml, for checks that point at a line.
    pub toml_text: String,
}

impl Theme {
    /// Loads the theme the config names.
    pub fn load(config: &Config) -> Result<Theme> {
        let name = &config.newsletter().theme;
        let folder = if name.contains('/') {
            Some(config.resolve(Path::new(name)))
        } else {
            let local = config.project_dir.join("templates").join(name);
            local.is_dir().then_some(local)
        };
        let (origin, toml_text, css_text) = match folder {
            Some(dir) => {
                let toml_text = read_input(&dir.join("theme.toml"))?;
                let css_text = read_input(&dir.join("style.css"))?;
                (dir, toml_text, css_text)
            }
            None => {
                let Some((_, t, c)) = BUILT_IN.iter().find(|(n, _, _)| n == name) else {
                    let known: Vec<_> = BUILT_IN.iter().map(|(n, _, _)| *n).collect();
                    return Err(Located::file(&config.path, format!("unknown theme `{name}`"))
                        .help(format!(
                            "use one of the built-in themes ({}), a folder templates/{name}/, or a path containing `/`",
                            known.join(", ")
                        ))
                        .into());
                };
                (
                    PathBuf::from(format!("built-in:{name}")),
                    t.to_string(),
                    c.to_string(),
                )
            }
        };
        Theme::from_parts(
            origin,
            &toml_text,
            &css_text,
            &config.newsletter().language,
            config.is_korean(),
        )
    }

    /// Builds a theme from the text of its two files.
    pub fn from_parts(
        origin: PathBuf,
        toml_text: &str,
        css_text: &str,
        language: &str,
        korean: bool,
    ) -> Result<Theme> {
        let toml_path = origin.join("theme.toml");
        let file: ThemeFile = toml::from_str(toml_text)
            .map_err(|e| Located::from_toml(&toml_path, toml_text, 0, &e))?;
        for (scheme, colors) in [("colors", &file.colors), ("dark", &file.dark)] {
            for (key, value) in colors.entries() {
                if !is_hex_colour(value) {
                    return Err(Located::file(&toml_path, format!("[{scheme}] {key} = \"{value}\" is not a six-digit hex colour"))
                        .help("write colours as \"#rrggbb\"; short forms and names render unevenly in mail clients")
                        .into());
                }
            }
        }
        let labels = file
            .labels
            .get(&primary_language(language))
            .or_else(|| file.labels.get("en"))
            .cloned()
            .ok_or_else(|| {
                Located::file(&toml_path, "the theme has no [labels.en] table")
                    .help("add [labels.en] with every label")
            })?;
        let css = resolve_vars(
            &origin.join("style.css"),
            css_text,
            &variables(&file, korean),
        )?;
        let (inline_css, at_rules) = split_at_rules(&css);
        Ok(Theme {
            origin,
            file,
            inline_css,
            at_rules,
            labels,
            toml_text: toml_text.to_string(),
        })
    }

    /// Width of the content inside the column (images), px.
    pub fn content_width(&self) -> u32 {
        self.file.max_width.saturating_sub(2 * self.file.gutter)
    }
}

impl Colors {
    fn entries(&self) -> [(&'static str, &str); 8] {
        [
            ("background", &self.background),
            ("surface", &self.surface),
            ("text", &self.text),
            ("muted", &self.muted),
            ("accent", &self.accent),
            ("button_text", &self.button_text),
            ("border", &self.border),
            ("tint", &self.tint),
        ]
    }
}

fn is_hex_colour(value: &str) -> bool {
    value.len() == 7 && value.starts_with('#') && value[1..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The names `style.css` may use as `var(--name)`.
fn variables(file: &ThemeFile, korean: bool) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for (key, value) in file.colors.entries() {
        vars.insert(
            format!("color-{}", key.replace('_', "-")),
            value.to_string(),
        );
    }
    for (key, value) in file.dark.entries() {
        vars.insert(format!("dark-{}", key.replace('_', "-")), value.to_string());
    }
    vars.insert("max-width".into(), format!("{}px", file.max_width));
    vars.insert("gutter".into(), format!("{}px", file.gutter));
    vars.insert("font-family".into(), file.font_family.clone());
    vars.insert(
        "heading-font-family".into(),
        file.heading_font_family.clone(),
    );
    // Korean keeps words whole; Chinese and Japanese may break between ideographs.
    vars.insert(
        "word-break".into(),
        if korean { "keep-all" } else { "normal" }.into(),
    );
    vars
}

/// Replaces each `var(--name)` in `css` by its value.
fn resolve_vars(path: &Path, css: &str, vars: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::with_capacity(css.len());
    let mut rest = 0;
    while let Some(found) = css[rest..].find("var(--") {
        let start = rest + found;
        let name_start = start + "var(--".len();
        let Some(len) = css[name_start..].find(')') else {
            return Err(Located::at(path, css, start, "`var(` is not closed").into());
        };
        let name = css[name_start..name_start + len].trim();
        let Some(value) = vars.get(name) else {
            let known: Vec<_> = vars.keys().map(|k| format!("--{k}")).collect();
            return Err(Located::at(
                path,
                css,
                start,
                format!("unknown theme variable `--{name}`"),
            )
            .help(format!("use one of {}", known.join(", ")))
            .into());
        };
        out.push_str(&css[rest..start]);
        out.push_str(value);
        rest = name_start + len + 1;
    }
    out.push_str(&css[rest..]);
    Ok(out)
}

/// Splits a stylesheet into its plain rules and its top-level at-rules.
fn split_at_rules(css: &str) -> (String, String) {
    let (mut rules, mut at_rules) = (String::new(), String::new());
    let mut depth = 0usize;
    let mut start = 0;
    let mut in_comment = false;
    let bytes = css.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if in_comment {
            if bytes[i..].starts_with(b"*/") {
                in_comment = false;
                i += 1;
                if depth == 0 {
                    start = i + 1;
                }
            }
        } else if bytes[i..].starts_with(b"/*") {
            in_comment = true;
        } else if bytes[i] == b'{' {
            depth += 1;
        } else if bytes[i] == b'}' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                let statement = css[start..=i].trim();
                let target = if statement.starts_with('@') {
                    &mut at_rules
                } else {
                    &mut rules
                };
                target.push_str(statement);
                target.push('\n');
                start = i + 1;
            }
        }
        i += 1;
    }
    (rules, at_rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn built_in(name: &str, language: &str) -> Theme {
        let (_, t, c) = BUILT_IN.iter().find(|(n, _, _)| *n == name).unwrap();
        Theme::from_parts(PathBuf::from(name), t, c, language, language == "ko").unwrap()
    }

    #[test]
    fn built_in_themes_load_and_resolve_every_variable() {
        for (name, _, _) in BUILT_IN {
            let theme = built_in(name, "ko");
            assert!(!theme.inline_css.contains("var(--"), "{name}");
            assert!(!theme.at_rules.contains("var(--"), "{name}");
            assert!(theme.inline_css.contains("keep-all"), "{name}");
            assert!(theme.at_rules.starts_with("@media"), "{name}");
            assert!(!theme.inline_css.contains("@media"), "{name}");
            assert_eq!(theme.labels.read_more, theme.file.labels["ko"].read_more);
        }
    }

    #[test]
    fn falls_back_to_english_labels() {
        let theme = built_in("default", "fr");
        assert_eq!(
            theme.labels.unsubscribe,
            theme.file.labels["en"].unsubscribe
        );
        assert!(!theme.inline_css.contains("keep-all"));
    }

    #[test]
    fn errors_on_unknown_variable_with_line() {
        let err = resolve_vars(
            Path::new("style.css"),
            "a{}\nb { color: var(--nope) }",
            &BTreeMap::new(),
        )
        .unwrap_err();
        let located = err.downcast_ref::<Located>().unwrap();
        assert_eq!((located.line, located.column), (2, 12));
    }
}
