//! The shape of the code: every top-level module of `src/` uses only the
//! modules below it. The order is written down once, here; a module that
//! reaches up (or a new module missing from the order) fails this test
//! with the file that does it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every top-level module, bottom to top: a module may use only those
/// before it.
#[rustfmt::skip]
const ORDER: &[&str] = &[
    // Leaves: what everyone shares.
    "error", "text", "time", "redact", "address", "percent", "tls", "fs", "sign", "erasure", "verp",
    // The list and the config.
    "list", "config", "words",
    // An issue, composed, as a message.
    "issue", "images", "window", "compose", "message", "project",
    // Sending, counting and what the relay said.
    "send", "tracking", "build", "bounces", "rights", "dispatch",
    // The commands and the reader's side.
    "check", "stats", "init", "signup", "consent", "schedule", "timetable", "web", "args", "cli",
];

// Test that no module uses one above it in ORDER, and that ORDER names
// every top-level module.
#[test]
fn modules_only_look_down() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let tops = top_modules(&src);
    let listed: BTreeSet<String> = ORDER.iter().map(|m| m.to_string()).collect();
    assert_eq!(
        tops, listed,
        "tests/layers.rs ORDER must name every top-level module of src/ once"
    );
    let rank = |m: &str| ORDER.iter().position(|o| *o == m).unwrap();
    let mut upward = Vec::new();
    for file in rust_files(&src) {
        let me = top_of(&src, &file);
        if me == "lib" || me == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for used in crate_paths(&without_tests(&text)) {
            if tops.contains(&used) && used != me && rank(&used) > rank(&me) {
                upward.push(format!("{}: {me} uses {used}", file.display()));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "modules that reach up (see ORDER in tests/layers.rs):\n{}",
        upward.join("\n")
    );
}

// Test that the checker sees the paths a module can use another by.
#[test]
fn the_checker_finds_crate_paths_outside_tests() {
    let text = "use crate::config::Config;\nuse crate::{send, bounces::{log, Kind}, fs};\n// crate::web in a comment\nfn f() { crate::cli::run(); }\n#[cfg(test)]\nmod tests {\n    use crate::schedule;\n}\n";
    let found = crate_paths(&without_tests(text));
    let expected: BTreeSet<String> = ["config", "send", "bounces", "fs", "cli"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, expected);
}

fn top_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path.file_stem()?.to_string_lossy().into_owned();
            let module = path.is_dir() || path.extension().is_some_and(|x| x == "rs");
            (module && name != "lib" && name != "main").then_some(name)
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn top_of(src: &Path, file: &Path) -> String {
    let first = file.strip_prefix(src).unwrap().components().next().unwrap();
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The text without `#[cfg(test)]` items and `//` comments.
fn without_tests(text: &str) -> String {
    let mut out = String::new();
    let (mut skipping, mut depth, mut opened) = (false, 0i32, false);
    for line in text.lines() {
        if !skipping && line.trim_start().starts_with("#[cfg(test)]") {
            (skipping, depth, opened) = (true, 0, false);
        }
        if skipping {
            depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
            opened |= line.contains('{');
            if opened && depth <= 0 {
                skipping = false;
            }
            continue;
        }
        out.push_str(line.split("//").next().unwrap_or(""));
        out.push('\n');
    }
    out
}

/// The top-level names after `crate::`, including each of a `crate::{…}`
/// group's.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = BTreeSet::new();
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // The group's top-level items, up to its closing brace.
            let (mut depth, mut item) = (0, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(&item));
                        item.clear();
                    }
                    _ if depth == 0 => item.push(c),
                    _ => {}
                }
            }
            found.insert(ident(&item));
        } else {
            found.insert(ident(rest));
        }
    }
    found.remove("");
    found
}
