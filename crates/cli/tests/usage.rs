//! A new user's mistakes (issue 17, points 6 and 7): options that contradict each other are usage
//! errors (exit 2) that say what to do, and bad input gets the right words, once.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::process::{Command, Output};

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").to_str().unwrap().to_string()
}

/// A scratch directory, removed on drop.
struct Scratch(ScratchDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch(ScratchDir::new(&format!("usage-{tag}")))
    }
}

#[test]
fn options_that_do_nothing_where_they_are_given_are_usage_errors() {
    let demo = demo();
    for (args, says) in [
        (vec!["reset", &demo, "sdhi0", "--write-hardware"], "--write-hardware acts on --backend devmem only"),
        (vec!["reset", &demo, "sdhi0", "--force"], "--force acts on --backend devmem only"),
        (vec!["verify", &demo, "sdhi0", "--okay"], "--okay picks the enabled devices of --all"),
        (
            vec!["audit", "--group", "--format", "dot", &demo],
            "the dot picture draws every shared line already",
        ),
    ] {
        let out = platreset(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}: nothing done");
    }
    // Given where they act, the same options are accepted.
    let out = platreset(&["verify", "--all", "--okay", &demo]);
    assert_eq!(out.status.code(), Some(3), "runs (and finds the shared PWM line): {}", stderr(&out));
}

#[test]
fn a_directory_without_dtbs_is_an_error_naming_it() {
    let dir = Scratch::new("empty");
    std::fs::write(dir.0.join("notes.txt"), b"no DTB here").unwrap();
    let shown = dir.0.display().to_string();
    for command in ["audit", "verify"] {
        let args: Vec<&str> =
            if command == "verify" { vec!["verify", "--all", &shown] } else { vec!["audit", &shown] };
        let out = platreset(&args);
        assert_eq!(out.status.code(), Some(1), "{command}");
        let err = stderr(&out);
        assert!(err.contains("no *.dtb file in it or below it") && err.contains(&shown), "{command}: {err}");
    }
}

#[test]
fn dts_source_given_as_a_dtb_says_how_to_compile_it() {
    let dts = platreset_testkit::repo_root().join("data/demo-soc.dts");
    for args in [vec!["explain", dts.to_str().unwrap(), "sdhi0"], vec!["audit", dts.to_str().unwrap()]] {
        let out = platreset(&args);
        assert_eq!(out.status.code(), Some(1));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(
            all.contains("DTS source perhaps: compile it first with `dtc -I dts -O dtb"),
            "{args:?}: {all}"
        );
    }
}

#[test]
fn verify_counts_what_it_could_not_verify_in_its_own_words() {
    let dir = Scratch::new("verify-words");
    std::fs::copy(demo(), dir.0.join("good.dtb")).unwrap();
    std::fs::write(dir.0.join("bad.dtb"), b"junk").unwrap();
    let out = platreset(&["verify", "--all", dir.0.to_str().unwrap()]);
    assert!(stderr(&out).contains("1 of 2 input file(s) could not be verified"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("audited"), "{}", stderr(&out));
}

#[test]
fn guest_dt_options_that_contradict_are_refused_and_a_drop_of_nothing_is_a_warning() {
    let demo = demo();
    for (args, says) in [
        (
            vec!["guest-dt", &demo, "sdhi0", "--target", "qemu", "--dom0less"],
            "--dom0less is a form of the xen output",
        ),
        (
            vec!["guest-dt", &demo, "sdhi0", "--target", "qemu", "--keep", "status", "--drop", "status"],
            "--keep status and --drop status ask for opposite things",
        ),
    ] {
        let out = platreset(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    let rate = "core=200000000";
    let out = platreset(&[
        "guest-dt",
        &demo,
        "sdhi0",
        "--clock-rate",
        rate,
        "--target",
        "qemu",
        "--drop",
        "vmmc-suply",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: --drop vmmc-suply: /soc/mmc@ee100000 has no property vmmc-suply"),
        "{}",
        stderr(&out)
    );
    assert!(
        platreset(&["guest-dt", &demo, "sdhi0", "--target", "xen", "--dom0less", "-o", "/dev/null"])
            .status
            .code()
            != Some(2)
    );
}

#[test]
fn every_help_page_shows_its_examples_once() {
    for command in ["audit", "explain", "reset", "acpi", "verify", "guest-dt", "host", "kmod", "demo"] {
        let out = platreset(&[command, "--help"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.matches("Examples:").count() <= 1, "{command} --help:\n{text}");
    }
}
