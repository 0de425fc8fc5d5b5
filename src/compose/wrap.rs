//! Wrapping plain text at a number of display columns, the way each script
//! expects: Korean keeps words whole and breaks at spaces (like CSS
//! `word-break: keep-all`); Chinese and Japanese may break between
//! ideographs, never before closing or after opening punctuation; URLs are
//! never broken.

use textwrap::core::Word;
use textwrap::{Options, WordSeparator, WordSplitter, WrapAlgorithm};

/// Wraps `text` at `width` display columns, with an indent for the first and
/// for the following lines.
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let options = Options::new(width)
        .initial_indent(first)
        .subsequent_indent(rest)
        .word_separator(WordSeparator::Custom(words))
        .word_splitter(WordSplitter::NoHyphenation)
        .wrap_algorithm(WrapAlgorithm::FirstFit)
        .break_words(false);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| line.trim_end().to_string())
        .collect()
}

/// Display width of `text` (a Hangul or CJK character counts two).
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

/// The break opportunities of a line, as textwrap words.
fn words(line: &str) -> Box<dyn Iterator<Item = Word<'_>> + '_> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes: Vec<(usize, char)> = line.char_indices().collect();
    let mut i = 0;
    while i < bytes.len() {
        // A token runs to the next space; its trailing spaces belong to it.
        let token_start = bytes[i].0;
        while i < bytes.len() && bytes[i].1 != ' ' {
            i += 1;
        }
        let token_end = bytes.get(i).map_or(line.len(), |b| b.0);
        while i < bytes.len() && bytes[i].1 == ' ' {
            i += 1;
        }
        let end = bytes.get(i).map_or(line.len(), |b| b.0);
        let token = &line[token_start..token_end];
        if !is_url(token) {
            for cut in cjk_breaks(token) {
                out.push(Word::from(&line[start..token_start + cut]));
                start = token_start + cut;
            }
        }
        out.push(Word::from(&line[start..end]));
        start = end;
    }
    Box::new(out.into_iter())
}

fn is_url(token: &str) -> bool {
    token.contains("://")
        || token.starts_with("mailto:")
        || token.starts_with("www.")
        || token.starts_with("<http")
}

/// Byte offsets inside `token` where a line may break between two characters.
fn cjk_breaks(token: &str) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut chars = token.char_indices().peekable();
    while let Some((_, a)) = chars.next() {
        let Some(&(at, b)) = chars.peek() else { break };
        let breakable = (is_cjk(a) && (is_cjk(b) || !is_word(b)) || !is_word(a) && is_cjk(b))
            && !no_break_before(b)
            && !no_break_after(a);
        if breakable {
            cuts.push(at);
        }
    }
    cuts
}

/// Han ideographs, kana and CJK punctuation: scripts that break between
/// characters. Hangul is not among them.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{2FFF}'   // radicals
        | '\u{3000}'..='\u{303F}' // CJK punctuation
        | '\u{3040}'..='\u{30FF}' // hiragana, katakana
        | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF00}'..='\u{FF60}' // fullwidth forms
        | '\u{20000}'..='\u{3FFFF}')
}

/// Letters that stick to a neighbouring ideograph: Hangul, Latin, digits.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() && !is_cjk(c)
}

/// Closing punctuation and small kana: never at the start of a line.
fn no_break_before(c: char) -> bool {
    "、。，．・：；？！）」』】〕〉》〙〗〟’”ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ…‥,.!?:;)]}%".contains(c)
}

/// Opening punctuation: never at the end of a line.
fn no_break_after(c: char) -> bool {
    "（「『【〔〈《〘〖〝‘“([{$#".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_fits(lines: &[String], width: usize) {
        for line in lines {
            assert!(
                super::width(line) <= width,
                "{line:?} is {} wide",
                super::width(line)
            );
        }
    }

    #[test]
    fn korean_wraps_at_spaces_only() {
        let text = "2022년 11월 30일 오픈AI는 AI챗봇 ‘챗GPT’를 세상에 내놨습니다. 1년 만에 주간 사용자는 1억 명을 넘었고, 이번 개발자 행사에서는 누구나 자기만의 챗봇을 만드는 기능을 발표했습니다.";
        let lines = wrap(text, 72, "", "");
        assert!(lines.len() > 1);
        assert_fits(&lines, 72);
        let words: Vec<&str> = text.split(' ').collect();
        for line in &lines {
            for word in line.split(' ') {
                assert!(words.contains(&word), "word {word:?} was broken");
            }
        }
        assert_eq!(lines.join(" "), text);
    }

    #[test]
    fn hangul_counts_two_columns() {
        let text = "가".repeat(20) + " " + &"나".repeat(20);
        let lines = wrap(&text, 72, "", "");
        assert_eq!(lines, vec!["가".repeat(20), "나".repeat(20)]);
    }

    #[test]
    fn chinese_and_japanese_break_between_ideographs() {
        let text = "人工智能初创公司正在经历一场危机，因为平台公司不断推出新功能。".repeat(3);
        let lines = wrap(&text, 40, "", "");
        assert!(lines.len() > 2);
        assert_fits(&lines, 40);
        assert_eq!(lines.concat(), text);
        for line in &lines[1..] {
            assert!(
                !line.starts_with(['，', '。']),
                "line starts with closing punctuation: {line}"
            );
        }
        let ja = "東京タワーは「日本の象徴」です。".repeat(4);
        let lines = wrap(&ja, 30, "", "");
        assert_fits(&lines, 30);
        for line in &lines {
            assert!(
                !line.ends_with('「'),
                "line ends with opening bracket: {line}"
            );
        }
    }

    #[test]
    fn long_url_is_never_broken() {
        let url = format!("https://example.com/{}", "ab-cd/ef_".repeat(20));
        assert_eq!(url.chars().count(), 200);
        let text = format!("자세한 내용은 {url} 에서 확인하세요. 漢字{url}");
        let lines = wrap(&text, 72, "", "");
        assert!(lines.iter().any(|l| l == &url), "{lines:#?}");
        assert!(
            lines
                .iter()
                .all(|l| !l.contains("https") || l.contains(&url)),
            "{lines:#?}"
        );
    }

    #[test]
    fn mixed_width_text_fits_with_indents() {
        let text = "Gmail clips 메시지 over 102 KB, and 한국어 words stay whole while English words wrap normally at spaces.";
        let lines = wrap(text, 30, "- ", "  ");
        assert_fits(&lines, 30);
        assert!(lines[0].starts_with("- "));
        assert!(lines[1..].iter().all(|l| l.starts_with("  ")));
    }
}
