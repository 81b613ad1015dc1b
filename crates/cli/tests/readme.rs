//! The README's examples are the binary's output (issue 17, point 8): every `$ platreset …` line in
//! a fenced block is run, and the lines under it must appear in its output, in order. A line
//! that is only `…` stands for lines left out; each run of lines between two of them must appear
//! whole and in order. Commands run in a directory where `data/demo-soc.dtb` is the repository's
//! and a corpus DTB named in a command is the corpus's (skipped, visibly, without the corpus).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// One example: the command line after `$ platreset ` and the lines shown under it.
struct Example {
    line: usize,
    args: String,
    expected: Vec<String>,
}

fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut in_block = false;
    let mut current: Option<Example> = None;
    for (i, line) in readme.lines().enumerate() {
        if line.starts_with("```") {
            if in_block {
                out.extend(current.take());
            }
            in_block = !in_block;
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(args) = line.strip_prefix("$ platreset ") {
            out.extend(current.take());
            current = Some(Example { line: i + 1, args: args.to_string(), expected: Vec::new() });
        } else if let Some(example) = current.as_mut() {
            example.expected.push(line.to_string());
        }
    }
    out
}

/// Splits a command line the way the README writes them (single quotes, no other escapes).
fn words(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in args.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(word);
    }
    out
}

/// Whether `expected` (with `…` lines standing for lines left out) appears in `output`.
fn shows(output: &[&str], expected: &[String]) -> Result<(), String> {
    let mut at = 0;
    for segment in expected.split(|l| l.trim() == "…") {
        if segment.is_empty() {
            continue;
        }
        let found = (at..=output.len().saturating_sub(segment.len()))
            .find(|&start| output[start..start + segment.len()].iter().zip(segment).all(|(o, e)| o == e));
        match found {
            Some(start) => at = start + segment.len(),
            None => return Err(format!("not in the output (from line {at} on):\n{}", segment.join("\n"))),
        }
    }
    Ok(())
}

/// A directory to run the examples in, with the DTBs they name.
fn stage(corpus: Option<&Path>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("platreset-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let root = platreset_testkit::repo_root();
    std::os::unix::fs::symlink(root.join("data/demo-soc.dtb"), dir.join("data/demo-soc.dtb")).unwrap();
    if let Some(corpus) = corpus {
        let board = corpus.join("arm64/renesas/r8a774a1-hihope-rzg2m.dtb");
        std::os::unix::fs::symlink(board, dir.join("r8a774a1-hihope-rzg2m.dtb")).unwrap();
    }
    dir
}

#[test]
fn every_readme_example_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(platreset_testkit::repo_root().join("README.md")).unwrap();
    let all = examples(&readme);
    assert!(all.len() >= 6, "{} examples", all.len());
    let corpus = platreset_testkit::corpus_dir();
    let dir = stage(corpus.as_deref());
    let (mut checked, mut failures) = (0, Vec::new());
    for example in &all {
        let args = words(&example.args);
        if args.iter().any(|a| a.starts_with("r8a774a1")) && corpus.is_none() {
            eprintln!("SKIPPED: README line {} needs the DTB corpus", example.line);
            continue;
        }
        let out =
            Command::new(env!("CARGO_BIN_EXE_platreset")).args(&args).current_dir(&dir).output().unwrap();
        let text =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let lines: Vec<&str> = text.lines().collect();
        if let Err(why) = shows(&lines, &example.expected) {
            failures.push(format!(
                "README line {}: platreset {}\n{why}\n--- the output:\n{text}",
                example.line, example.args
            ));
        }
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(checked >= 4, "{checked} examples checked");
}

#[test]
fn an_elided_example_still_has_to_match() {
    let out = ["a", "b", "c", "d"];
    let expect = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    assert!(shows(&out, &expect(&["a", "…", "d"])).is_ok());
    assert!(shows(&out, &expect(&["b", "c"])).is_ok());
    assert!(shows(&out, &expect(&["c", "…", "b"])).is_err(), "order counts");
    assert!(shows(&out, &expect(&["a", "c"])).is_err(), "a segment is contiguous");
    assert_eq!(words("audit --compatible 'a b' x.dtb"), ["audit", "--compatible", "a b", "x.dtb"]);
}

/// `n` as the README writes it: `8,728`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The number after `before` and up to the next non-digit in `text`.
fn number_after(text: &str, before: &str) -> u64 {
    let at = text.find(before).unwrap_or_else(|| panic!("no {before:?} in:\n{text}")) + before.len();
    text[at..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap()
}

#[test]
fn the_readme_corpus_figures_are_the_binarys() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let readme = std::fs::read_to_string(platreset_testkit::repo_root().join("README.md")).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).arg(&corpus).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let audit = run(&["audit"]);
    let line = audit.lines().find(|l| l.starts_with("Coverage:")).unwrap();
    let covered = number_after(line, "every line of ");
    let enabled = number_after(line, &format!("every line of {covered} of "));
    let percent = line.rsplit('(').next().unwrap().trim_end_matches(')');
    let said =
        format!("{} of the {} enabled nodes with resets ({percent})", thousands(covered), thousands(enabled));
    assert!(readme.contains(&said), "README should say {said:?}");
    let verify = run(&["verify", "--all", "--okay"]);
    let verified = number_after(&verify, "unreadable); ");
    let said = format!("`--okay`, {} devices verified", thousands(verified));
    assert!(readme.contains(&said), "README should say {said:?}");
}
