//! Language tags: `[newsletter] language`, and what follows from it.

/// Whether `tag` is a well-formed BCP 47 language tag of the usual shape,
/// language[-script][-region] (`ko`, `en-GB`, `zh-Hant-TW`); a name or
/// code people often write instead (`korean`, `kr`, `kor`) is refused with
/// the tag they meant.
pub fn language_tag(tag: &str) -> std::result::Result<(), (String, String)> {
    const MEANT: &[(&str, &str)] = &[
        ("korean", "ko"),
        ("kr", "ko"),
        ("kor", "ko"),
        ("한국어", "ko"),
        ("english", "en"),
        ("eng", "en"),
        ("japanese", "ja"),
        ("jp", "ja"),
        ("jpn", "ja"),
        ("日本語", "ja"),
        ("chinese", "zh"),
        ("cn", "zh"),
        ("zho", "zh"),
        ("chi", "zh"),
        ("中文", "zh"),
    ];
    let lower = tag.trim().to_lowercase();
    let mut parts = lower.split(['-', '_']);
    let primary = parts.next().unwrap_or("");
    if let Some((_, meant)) = MEANT.iter().find(|(wrong, _)| *wrong == primary) {
        return Err((
            "is not a language tag".into(),
            format!("did you mean \"{meant}\"? Languages are written as BCP 47 tags: \"ko\" (Korean), \"en\" (English), \"ja\" (Japanese), \"zh\" (Chinese)"),
        ));
    }
    let alpha = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic())
    };
    let mut rest: Vec<&str> = parts.collect();
    if rest.first().is_some_and(|s| alpha(s, 4..=4)) {
        rest.remove(0);
    }
    if let Some(region) = rest.first() {
        let digits = region.len() == 3 && region.bytes().all(|b| b.is_ascii_digit());
        if alpha(region, 2..=2) || digits {
            rest.remove(0);
        }
    }
    if alpha(primary, 2..=3) && rest.is_empty() && tag == tag.trim() {
        return Ok(());
    }
    Err((
        "is not a language tag".into(),
        "write a BCP 47 tag: a two-letter language, optionally a script and a region, such as \"ko\", \"en\", \"en-GB\" or \"zh-Hant-TW\"".into(),
    ))
}

/// A sensible time zone for a newsletter in `language`, when one zone
/// covers nearly all its readers.
pub fn default_time_zone(language: &str) -> Option<&'static str> {
    match primary_language(language).as_str() {
        "ko" => Some("Asia/Seoul"),
        "ja" => Some("Asia/Tokyo"),
        _ => None,
    }
}

/// The primary subtag of a language tag, lowercased: `ko-KR` → `ko`.
pub fn primary_language(tag: &str) -> String {
    tag.split(['-', '_'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}
