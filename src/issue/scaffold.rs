//! `letterpress new DIR`: a new issue folder with sample sections.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::fs::write_atomic;

/// Creates `dir` with an `issue.toml` dated `date` and three sample
/// sections in the newsletter's `language` (Korean for `ko`, else
/// English); the files written.
pub fn scaffold(dir: &Path, language: &str, date: &str) -> Result<Vec<PathBuf>> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        bail!(
            "{}: the folder already exists and is not empty\n  help: pick a new folder name, e.g. issues/{}",
            dir.display(),
            date
        );
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the folder: {e}", dir.display()))?;
    let korean = crate::config::primary_language(language) == "ko";
    let [intro, story, note] = if korean {
        [INTRO_KO, STORY_KO, NOTE_KO]
    } else {
        [INTRO, STORY, NOTE]
    };
    let files = [
        ("issue.toml", issue_toml(date, korean)),
        ("01-intro.md", intro.to_string()),
        ("02-story.md", story.to_string()),
        ("03-note.md", note.to_string()),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in &files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

fn issue_toml(date: &str, korean: bool) -> String {
    let (subject, preheader) = match korean {
        true => (
            "받은편지함에서 독자가 보는 제목",
            "받은편지함에서 제목 뒤에 보이는 미리보기 글입니다. 이번 호의 이야기를 한 줄로 소개하세요",
        ),
        false => (
            "The subject line readers see",
            "The preview text shown after the subject in the inbox",
        ),
    };
    format!(
        r#"subject   = "{subject}"
preheader = "{preheader}"
date      = {date}
# number    = 1            # shown in the masthead
# toc       = true         # list the story titles at the top
# audience  = ["weekly"]   # only readers carrying one of these tags
# advertising = false      # true prefixes the subject with (광고) / ad_prefix
# sections  = ["01-intro.md", "02-story.md", "03-note.md"]   # explicit order
"#
    )
}

const INTRO: &str = r#"+++
kind = "intro"
+++
Hello {{ name | "reader" }}, welcome to this issue.
"#;

const STORY: &str = r#"+++
title     = "A story title"
link      = "https://example.com/articles/story"
# link_text = "Read the article"
# image     = "https://example.com/img/story.jpg"
# image_alt = "What the image shows"
+++
Write the story in Markdown: **bold**, *italic*, [links](https://example.com),
lists, tables and footnotes all work.
"#;

const NOTE: &str = r#"+++
kind  = "note"
title = "From the editor"
+++
Thanks for reading. Reply to this email to tell us what you think.
"#;

const INTRO_KO: &str = r#"+++
kind = "intro"
+++
안녕하세요, {{ name | "독자" }}님. 이번 호를 시작합니다.
"#;

const STORY_KO: &str = r#"+++
title     = "이야기 제목"
link      = "https://example.com/articles/story"
# link_text = "기사 전문 보기"
# image     = "https://example.com/img/story.jpg"
# image_alt = "이미지가 보여 주는 것"
+++
이야기는 마크다운으로 씁니다. **굵게**, [링크](https://example.com), 목록과 표,
각주를 모두 쓸 수 있습니다.
"#;

const NOTE_KO: &str = r#"+++
kind  = "note"
title = "편집자의 말"
+++
읽어 주셔서 감사합니다. 이 메일에 답장으로 의견을 보내 주세요.
"#;
