//! Hostile input (issue 18): every read bounded and non-blocking, numbers checked against what
//! their consumer can represent, every report honest. Each case asserts the clean error or the
//! safe result. Bounds are by construction (file kinds, sizes, counts); the watchdog in [`run`]
//! only turns a hang into a failure instead of a stuck test run, it measures nothing.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished command left.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs platreset with `args`; a command still running after a minute has hung (the cases here
/// finish in milliseconds) and fails the test.
fn run(args: &[&str]) -> Ran {
    let scratch = Scratch::new(&format!("run-{}", args.len()));
    let (out, err) = (scratch.0.join("out"), scratch.0.join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("platreset {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: String::from_utf8_lossy(&std::fs::read(out).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(err).unwrap()).into_owned(),
    }
}

/// A scratch directory, removed on drop.
struct Scratch(ScratchDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch(ScratchDir::new(&format!("hostile-{tag}")))
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn fifo(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        assert!(Command::new("mkfifo").arg(&path).status().unwrap().success());
        path
    }

    fn link(&self, rel: &str, to: &Path) -> PathBuf {
        let path = self.path(rel);
        std::os::unix::fs::symlink(to, &path).unwrap();
        path
    }
}

fn demo() -> PathBuf {
    platreset_testkit::repo_root().join("data/demo-soc.dtb")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A directory of DTBs with a link to /dev/zero and a FIFO among them, both named `*.dtb`.
fn poisoned_directory(dir: &Scratch) {
    std::fs::copy(demo(), dir.path("good.dtb")).unwrap();
    dir.link("zero.dtb", Path::new("/dev/zero"));
    dir.fifo("pipe.dtb");
}

#[test]
fn audit_refuses_a_fifo_and_a_device_named_dtb_and_audits_the_rest() {
    let dir = Scratch::new("audit-dir");
    poisoned_directory(&dir);
    let out = run(&["audit", "--format", "jsonl", s(&dir.0)]);
    assert_eq!(out.code, Some(1), "some inputs failed: {}", out.stderr);
    assert!(out.stdout.contains("good.dtb"), "the good file is audited");
    for (name, kind) in [("zero.dtb", "a character device"), ("pipe.dtb", "a FIFO")] {
        let line =
            out.stdout.lines().chain(out.stderr.lines()).find(|l| l.contains(name)).unwrap_or_default();
        assert!(line.contains(&format!("not a regular file ({kind})")), "{name}: {line}");
    }
    // Named directly, a FIFO is a stream the user chose (`/dev/stdin`, `<(…)`): one without a
    // writer reads as empty at once, an invalid DTB.
    let out = run(&["audit", s(&dir.path("pipe.dtb"))]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.contains("not audited: invalid DTB: truncated at offset 0x0"), "{}", out.stdout);
    let out = run(&["audit", s(&dir.path("zero.dtb"))]);
    assert_eq!(out.code, Some(1));
    assert!(out.stdout.contains("cannot read: not a regular file (a character device)"), "{}", out.stdout);
}

#[test]
fn verify_all_refuses_a_fifo_and_a_device_named_dtb_and_verifies_the_rest() {
    let dir = Scratch::new("verify-dir");
    poisoned_directory(&dir);
    let out = run(&["verify", "--all", s(&dir.0)]);
    assert!(out.stdout.contains("good.dtb"), "{}", out.stdout);
    assert!(out.stdout.contains("3 file(s) (2 unreadable)"), "{}", out.stdout);
    for name in ["zero.dtb", "pipe.dtb"] {
        let line = out.stderr.lines().find(|l| l.contains(name)).unwrap_or_default();
        assert!(line.contains("not a regular file"), "{name}: {}", out.stderr);
    }
    let out = run(&["verify", s(&dir.path("zero.dtb")), "sdhi0"]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("not a regular file (a character device)"), "{}", out.stderr);
}

#[test]
fn an_allowlist_that_is_a_fifo_or_a_device_is_refused_naming_it() {
    let dir = Scratch::new("allowlist");
    let fifo = dir.fifo("allow.toml");
    let zero = dir.link("zero.toml", Path::new("/dev/zero"));
    for list in [&fifo, &zero] {
        for args in [
            vec!["audit", s(&demo()), "--allowlist", s(list)],
            vec!["verify", "--all", s(&demo()), "--allowlist", s(list)],
            vec!["reset", s(&demo()), "sdhi0", "--allowlist", s(list)],
        ] {
            let out = run(&args);
            assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
            assert!(
                out.stderr.contains("not a regular file") && out.stderr.contains(s(list)),
                "{args:?}: {}",
                out.stderr
            );
        }
    }
    let binary = dir.path("binary.toml");
    std::fs::write(&binary, b"[[device]]\ncompatible = \"a\xff\"\n").unwrap();
    let out = run(&["audit", s(&demo()), "--allowlist", s(&binary)]);
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("not UTF-8 text (at byte 26)"), "{}", out.stderr);
}

#[test]
fn a_named_dtb_that_is_a_device_is_refused_and_a_fifo_without_writer_reads_as_empty() {
    let dir = Scratch::new("dtb-fifo");
    let fifo = dir.fifo("board.dtb");
    let zero = dir.link("zero.dtb", Path::new("/dev/zero"));
    for command in [
        vec!["guest-dt", "DTB", "sdhi0", "--target", "qemu"],
        vec!["reset", "DTB", "sdhi0"],
        vec!["verify", "DTB", "sdhi0"],
        vec!["explain", "DTB", "sdhi0"],
        vec!["kmod", "DTB"],
    ] {
        for (dtb, expected) in
            [(&fifo, "truncated at offset 0x0"), (&zero, "not a regular file (a character device)")]
        {
            let args: Vec<&str> = command.iter().map(|a| if *a == "DTB" { s(dtb) } else { a }).collect();
            let out = run(&args);
            assert_eq!(out.code, Some(1), "{args:?}: {}", out.stderr);
            assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        }
    }
}

#[test]
fn a_dtb_piped_to_a_named_stdin_is_read_as_far_as_its_header_says() {
    let sh = |script: String| {
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bin = env!("CARGO_BIN_EXE_platreset");
    let (code, stdout, stderr) = sh(format!("cat {} /dev/zero | {bin} explain /dev/stdin sdhi0", s(&demo())));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("/soc/mmc@ee100000"), "{stdout}");
    // Endless zeros are not a DTB: refused after its first 8 bytes, not read for ever.
    let (code, stdout, _) = sh(format!("cat /dev/zero | {bin} audit /dev/stdin"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("invalid DTB: bad magic"), "{stdout}");
    // Redirected from the device itself, stdin is the device: refused unread.
    let (code, stdout, _) = sh(format!("{bin} audit /dev/stdin < /dev/zero"));
    assert_eq!(code, Some(1));
    assert!(stdout.contains("not a regular file (a character device)"), "{stdout}");
}

#[test]
fn a_pulse_longer_than_a_second_is_refused_before_anything_runs() {
    for command in ["verify", "reset"] {
        let out = run(&[command, s(&demo()), "sdhi0", "--pulse-us", "4294967295"]);
        assert_eq!(out.code, Some(2), "{command}: {}", out.stderr);
        assert!(out.stderr.contains("4294967295 is not in 0..=1000000"), "{command}: {}", out.stderr);
        let ok = run(&[command, s(&demo()), "sdhi0", "--pulse-us", "1000000"]);
        assert_eq!(ok.code, Some(0), "{command}: {}", ok.stderr);
    }
}

/// A DTB whose device node is named `dev<forged>@1000` (and labelled `forged`), `forged` being
/// 12 bytes a terminal would obey: dtc refuses such a name, so a placeholder is patched.
fn forged_name(dir: &Scratch, forged: &[u8; 12]) -> PathBuf {
    let mut blob = platreset_testkit::dtb_from_text(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \trst: reset-controller@100 { compatible = \"snps,dw-high-reset\"; reg = <0x100 0x4>; #reset-cells = <1>; };\n\
         \tforged: devXXXXXXXXXXXX@1000 { compatible = \"acme,dev\"; reg = <0x1000 0x100>; resets = <&rst 1>; };\n};\n",
    );
    let mut patched = 0;
    while let Some(at) = blob.windows(12).position(|w| w == b"XXXXXXXXXXXX") {
        blob[at..at + 12].copy_from_slice(forged);
        patched += 1;
    }
    assert_eq!(patched, 2, "the node's name and its __symbols__ path");
    let path = dir.path("forged.dtb");
    std::fs::write(&path, blob).unwrap();
    path
}

#[test]
fn a_node_name_cannot_forge_or_rewrite_what_the_terminal_shows() {
    let dir = Scratch::new("forged");
    // Clear the screen, go back to the start of the line, start a new row reading ELIGIBLE.
    let dtb = forged_name(&dir, b"\x1b[2J\r\nELIGIB");
    let obeyed = |text: &str| text.chars().any(|c| matches!(c, '\u{1b}' | '\r'));
    for args in [
        vec!["audit", s(&dtb)],
        vec!["explain", s(&dtb), "forged"],
        vec!["verify", s(&dtb), "forged"],
        vec!["reset", s(&dtb), "forged"],
        vec!["kmod", s(&dtb)],
        vec!["explain", s(&dtb), "/nonexistent"],
    ] {
        let out = run(&args);
        assert!(!obeyed(&out.stdout) && !obeyed(&out.stderr), "{args:?}: {:?} {:?}", out.stdout, out.stderr);
        assert!(
            !out.stdout.lines().chain(out.stderr.lines()).any(|l| l.starts_with("ELIGIB")),
            "{args:?}: a forged line: {}",
            out.stdout
        );
    }
    let out = run(&["audit", s(&dtb)]);
    assert!(out.stdout.contains("/dev\\u{1b}[2J\\u{d}\\u{a}ELIGIB@1000"), "{}", out.stdout);
    // What is shown can be typed back.
    let out = run(&["explain", s(&dtb), "/dev\\u{1b}[2J\\u{d}\\u{a}ELIGIB@1000"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    // JSON keeps the same text, escaped once more by JSON itself.
    let out = run(&["audit", "--format", "jsonl", s(&dtb)]);
    let line: serde_json::Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(line["node"], "/dev\\u{1b}[2J\\u{d}\\u{a}ELIGIB@1000");
}

#[test]
fn with_colour_on_a_crafted_name_is_still_escaped_and_only_the_renderers_sgr_passes() {
    let dir = Scratch::new("forged-colour");
    let dtb = forged_name(&dir, b"\x1b[32m\r\nELIGI");
    for args in [
        vec!["audit", "--color", "always", s(&dtb)],
        vec!["explain", "--color", "always", s(&dtb), "forged"],
        vec!["verify", "--color", "always", s(&dtb), "forged"],
    ] {
        let out = run(&args);
        assert!(out.stdout.contains("\\u{1b}[32m\\u{d}\\u{a}ELIGI@1000"), "{args:?}: {}", out.stdout);
        // Every ESC printed starts one of the renderer's own sequences, each closed by a reset.
        let own = ["\x1b[32m", "\x1b[31m", "\x1b[33m", "\x1b[0m"];
        let mut rest = out.stdout.as_str();
        let (mut opened, mut closed) = (0, 0);
        while let Some(at) = rest.find('\x1b') {
            rest = &rest[at..];
            let seq = own.iter().find(|s| rest.starts_with(**s));
            let seq = seq
                .unwrap_or_else(|| panic!("{args:?}: a foreign sequence: {:?}", &rest[..rest.len().min(12)]));
            if *seq == "\x1b[0m" {
                closed += 1;
            } else {
                opened += 1;
            }
            rest = &rest[seq.len()..];
        }
        assert!(opened > 0 && opened == closed, "{args:?}: {opened} styles, {closed} resets");
        assert!(!out.stdout.contains('\r') && !out.stdout.lines().any(|l| l.starts_with("ELIGI")));
    }
}

#[test]
fn a_file_name_cannot_rewrite_what_the_terminal_shows() {
    let dir = Scratch::new("forged-file");
    let name = "board\u{1b}[2J\u{202e}.dtb";
    std::fs::copy(demo(), dir.path(name)).unwrap();
    std::fs::write(dir.path("bad\u{1b}[31m.dtb"), b"not a dtb").unwrap();
    let out = run(&["audit", s(&dir.0)]);
    for text in [&out.stdout, &out.stderr] {
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'), "{text:?}");
    }
    assert!(out.stdout.contains("board\\u{1b}[2J\\u{202e}.dtb"), "{}", out.stdout);
}

#[test]
fn a_compatible_string_cannot_start_a_forged_line() {
    let dir = Scratch::new("forged-compatible");
    let mut blob = platreset_testkit::dtb_from_text(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \trst: reset-controller@100 { compatible = \"snps,dw-high-reset\"; reg = <0x100 0x4>; #reset-cells = <1>; };\n\
         \tdev: dev@1000 { compatible = \"acme,YYYYYYYY\"; reg = <0x1000 0x100>; resets = <&rst 1>; };\n};\n",
    );
    let at = blob.windows(8).position(|w| w == b"YYYYYYYY").unwrap();
    blob[at..at + 8].copy_from_slice(b"\nELIGIBL");
    let dtb = dir.path("compatible.dtb");
    std::fs::write(&dtb, blob).unwrap();
    for args in
        [vec!["explain", s(&dtb), "dev"], vec!["audit", s(&dtb)], vec!["audit", "--format", "json", s(&dtb)]]
    {
        let out = run(&args);
        assert!(!out.stdout.lines().any(|l| l.starts_with("ELIGIBL")), "{args:?}: {}", out.stdout);
    }
    assert!(run(&["explain", s(&dtb), "dev"]).stdout.contains("acme,\\u{a}ELIGIBL"));
}
