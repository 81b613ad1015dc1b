//! Every document the code cites exists in the repository: each "REFERENCE §N" names a section
//! of docs/REFERENCE.md, and each `docs/NAME.md` of this repository exists.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() && !path.ends_with("target") {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_cited_reference_section_and_repository_document_exists() {
    let root = platreset_testkit::repo_root();
    let reference = std::fs::read_to_string(root.join("docs/REFERENCE.md")).unwrap();
    let mut files = Vec::new();
    sources(&root.join("crates"), &mut files);
    let mut cited = 0;
    for file in &files {
        if file.ends_with("tests/docs.rs") {
            continue; // this file words the patterns themselves
        }
        let text = std::fs::read_to_string(file).unwrap();
        for (at, _) in text.match_indices("REFERENCE §") {
            let number: String =
                text[at + "REFERENCE §".len()..].chars().take_while(char::is_ascii_digit).collect();
            assert!(
                reference.contains(&format!("\n## {number}. ")),
                "{} cites REFERENCE §{number}, which docs/REFERENCE.md does not have",
                file.display()
            );
            cited += 1;
        }
        for (at, _) in text.match_indices("docs/") {
            let name: String =
                text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c)).collect();
            let name = name.trim_end_matches('.');
            // Another project's docs (AVF's docs/device_assignment.md) are cited with their repository.
            if name.ends_with(".md")
                && text[..at].rfind('\n').is_some_and(|line| !text[line..at].contains("packages/"))
            {
                assert!(
                    root.join(name).is_file(),
                    "{} cites {name}, which is not in the repository",
                    file.display()
                );
            }
        }
    }
    assert!(cited > 20, "only {cited} citations found: is the scan reading the sources?");
}
