//! The audit agrees exactly with an independent libfdt walk (`scripts/reference-audit`, Python
//! with Debian's pylibfdt): every node, status, compatible, resolved line, `shared_with` set and
//! verdict, on our fixtures and on the whole Debian corpus.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn agree(target: &Path, tag: &str) {
    let root = platreset_testkit::repo_root();
    let ours = std::env::temp_dir().join(format!("platreset-ours-{tag}-{}.jsonl", std::process::id()));
    let theirs = std::env::temp_dir().join(format!("platreset-ref-{tag}-{}.jsonl", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(["audit", "--format", "jsonl"])
        .arg(target)
        .output()
        .unwrap();
    std::fs::write(&ours, &out.stdout).unwrap();
    let reference =
        Command::new(root.join("scripts/reference-audit")).arg(target).output().unwrap_or_else(|e| {
            panic!(
                "scripts/reference-audit needs /usr/bin/python3 with python3-libfdt; run scripts/setup ({e})"
            )
        });
    assert!(
        reference.status.code().is_some_and(|c| c <= 1),
        "reference failed: {}",
        String::from_utf8_lossy(&reference.stderr)
    );
    assert_eq!(out.status.code(), reference.status.code(), "both fail on the same inputs, or neither");
    std::fs::write(&theirs, &reference.stdout).unwrap();
    let compare = Command::new(root.join("scripts/compare-audit")).arg(&theirs).arg(&ours).output().unwrap();
    let report = String::from_utf8_lossy(&compare.stdout).into_owned();
    let _ = (std::fs::remove_file(&ours), std::fs::remove_file(&theirs));
    assert!(compare.status.success(), "platreset disagrees with the libfdt reference:\n{report}");
    eprintln!("{tag}: {}", report.trim());
}

#[test]
fn audit_agrees_with_the_libfdt_reference_on_every_fixture() {
    let dir = std::env::temp_dir().join(format!("platreset-ref-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixtures = platreset_testkit::fixtures_dir();
    for entry in std::fs::read_dir(&fixtures).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "dts") {
            let blob = platreset_testkit::compile_dts(&path);
            std::fs::write(dir.join(path.file_stem().unwrap()).with_extension("dtb"), blob).unwrap();
        }
    }
    std::fs::copy(platreset_testkit::repo_root().join("data/demo-soc.dtb"), dir.join("demo-soc.dtb"))
        .unwrap();
    agree(&dir, "fixtures");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn audit_agrees_with_the_libfdt_reference_on_the_whole_corpus() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    agree(&corpus, "corpus");
}
