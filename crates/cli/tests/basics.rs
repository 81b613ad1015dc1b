//! The basics people expect (issue 17, point 9): shell completions, manual pages, colour on a
//! terminal only (`--color`, `NO_COLOR`), audit filters by verdict and node path, `--sort`, `-q`.
//! Each test runs the binary as a user would, on the repository's demo DTB.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).env_remove("NO_COLOR").output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn demo() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").to_str().unwrap().to_string()
}

/// The demo's records with `extra` options, as (node, eligible, status) in output order.
fn records(extra: &[&str]) -> Vec<(String, bool, String)> {
    let demo = demo();
    let mut args = vec!["audit", "--format", "jsonl", demo.as_str()];
    args.extend_from_slice(extra);
    let out = platreset(&args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    stdout(&out)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["node"].as_str().unwrap().to_string(),
                v["verdict"]["eligible"].as_bool().unwrap(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = platreset(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let script = stdout(&out);
        for sub in ["audit", "explain", "verify", "guest-dt", "host", "completions"] {
            assert!(script.contains(sub), "{shell} completion lacks {sub}");
        }
        assert!(script.contains("color"), "{shell}: global options too");
    }
    // bash can load it.
    let out = platreset(&["completions", "bash"]);
    let loaded = Command::new("bash")
        .args(["-c", "source /dev/stdin && complete -p platreset"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&out.stdout)?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(loaded.status.success() && stdout(&loaded).contains("platreset"), "{}", stdout(&loaded));
    assert_eq!(
        platreset(&["completions", "tcsh"]).status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
}

#[test]
fn man_pages_render_for_the_tool_and_each_command() {
    let out = platreset(&["man"]);
    assert!(out.status.success());
    let page = stdout(&out);
    assert!(page.contains(".TH platreset 1"), "{page}");
    assert!(page.contains("audit") && page.contains("completions"), "the page lists the commands");
    let out = platreset(&["man", "host", "bind"]);
    let page = stdout(&out);
    assert!(page.contains(".TH platreset-host-bind 1"), "{page}");
    assert!(page.contains("platreset host bind"), "the synopsis is the full invocation");
    assert!(platreset(&["manpage", "audit"]).status.success(), "manpage is an alias");
    let out = platreset(&["man", "audti"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("audit, explain"), "names the commands");
    // man itself renders it, where man is installed.
    let dir = std::env::temp_dir().join(format!("platreset-man-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("platreset-audit.1");
    std::fs::write(&file, platreset(&["man", "audit"]).stdout).unwrap();
    match Command::new("man").arg("-l").arg(&file).env("MANWIDTH", "80").output() {
        Ok(shown) => {
            assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
            let text = stdout(&shown);
            assert!(text.contains("platreset-audit") && text.contains("--sort"), "{text}");
        }
        Err(e) => eprintln!("man is not installed ({e}): the page was checked as roff only"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let demo = demo();
    let sgr = |o: &Output| o.stdout.contains(&0x1b);
    // A pipe: none, whatever the command.
    for args in [vec!["audit", demo.as_str()], vec!["explain", demo.as_str(), "mmc0"]] {
        assert!(!sgr(&platreset(&args)), "{args:?}");
    }
    // Asked for: the verdict in its colour, and nothing else changed.
    let plain = platreset(&["audit", demo.as_str()]);
    let coloured = platreset(&["audit", "--color", "always", demo.as_str()]);
    let text = stdout(&coloured);
    assert!(text.contains("\x1b[32meligible [simulator]\x1b[0m"), "{text}");
    assert!(text.contains("\x1b[31mrefused: no IOMMU [simulator]\x1b[0m"), "{text}");
    let stripped =
        text.replace("\x1b[32m", "").replace("\x1b[31m", "").replace("\x1b[33m", "").replace("\x1b[0m", "");
    assert_eq!(stripped, stdout(&plain));
    // Machine formats never.
    let json = platreset(&["audit", "--color", "always", "--format", "jsonl", demo.as_str()]);
    assert!(!sgr(&json));
    // explain's and verify's marks; --color is accepted after the subcommand too.
    let out = platreset(&["explain", demo.as_str(), "mmc0", "--color", "always"]);
    assert!(stdout(&out).contains("[\x1b[32mpass\x1b[0m]"), "{}", stdout(&out));
    let out = platreset(&["verify", "--color", "always", demo.as_str(), "sdhi0", "--fault", "stuck-reset"]);
    assert!(stdout(&out).contains("[\x1b[31mFAIL\x1b[0m]"), "{}", stdout(&out));
    // NO_COLOR does not override an explicit --color always.
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(["audit", "--color", "always", demo.as_str()])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(sgr(&out));
}

/// Runs `platreset ARGS` on a pseudo-terminal (util-linux `script`), returning what it printed;
/// `None` where `script` is missing.
fn on_a_terminal(args: &str, no_color: Option<&str>) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_platreset");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("{bin} {args}"), "/dev/null"]).env("TERM", "xterm").stdin(Stdio::null());
    match no_color {
        Some(v) => cmd.env("NO_COLOR", v),
        None => cmd.env_remove("NO_COLOR"),
    };
    let out = cmd.output().ok()?;
    out.status.success().then(|| stdout(&out))
}

#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let args = format!("audit {}", demo());
    let Some(shown) = on_a_terminal(&args, None) else {
        eprintln!("util-linux `script` is not installed: terminal colour not checked");
        return;
    };
    assert!(shown.contains("\x1b[32meligible"), "{shown:?}");
    let shown = on_a_terminal(&args, Some("1")).unwrap();
    assert!(!shown.contains('\x1b'), "NO_COLOR honoured: {shown:?}");
    let shown = on_a_terminal(&args, Some("")).unwrap();
    assert!(shown.contains('\x1b'), "an empty NO_COLOR is no request");
    let shown = on_a_terminal(&format!("{args} --color never"), None).unwrap();
    assert!(!shown.contains('\x1b'), "--color never: {shown:?}");
}

#[test]
fn verdict_and_node_filters_select_exactly() {
    let all = records(&[]);
    let eligible: Vec<_> = all.iter().filter(|r| r.1).cloned().collect();
    let refused: Vec<_> = all.iter().filter(|r| !r.1).cloned().collect();
    assert!(!eligible.is_empty() && !refused.is_empty(), "the demo has both");
    assert_eq!(records(&["--eligible"]), eligible);
    assert_eq!(records(&["--verdict", "eligible"]), eligible);
    assert_eq!(records(&["--refused"]), refused);
    assert_eq!(records(&["--verdict", "refused"]), refused);
    let pwms: Vec<_> = all.iter().filter(|r| r.0.starts_with("/soc/pwm@")).cloned().collect();
    assert_eq!(pwms.len(), 3);
    assert_eq!(records(&["--node", "/soc/pwm@*"]), pwms);
    assert_eq!(records(&["--node", "/soc/pwm@*", "--okay"]).len(), 2, "filters combine");
    assert_eq!(records(&["--node", "/soc/pwm@e6e3?000", "--node", "/soc/mmc@*"]).len(), 4, "any pattern");
    assert_eq!(records(&["--node", "pwm*"]), vec![], "the whole path must match");
    // Sharing is still counted over every node: a filtered pwm still shares with the others.
    let demo = demo();
    let out = platreset(&["audit", "--format", "jsonl", "--node", "/soc/pwm@e6e30000", demo.as_str()]);
    let v: Value = serde_json::from_str(stdout(&out).lines().next().unwrap()).unwrap();
    assert_eq!(v["shared_with_count"], 2);
    assert_eq!(platreset(&["audit", "--eligible", "--refused", demo.as_str()]).status.code(), Some(2));
}

#[test]
fn sort_orders_by_each_key_and_keeps_the_tree_order_on_ties() {
    let all = records(&[]);
    let by_node = records(&["--sort", "node"]);
    let mut expected = all.clone();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(by_node, expected);
    let by_verdict = records(&["--sort", "verdict"]);
    let mut expected = all.clone();
    expected.sort_by_key(|r| !r.1);
    assert_eq!(by_verdict, expected, "eligible first, stable");
    let by_status = records(&["--sort", "status"]);
    assert_eq!(by_status[0].2, "disabled");
    assert_eq!(by_status.len(), all.len());
    let by_controller = records(&["--sort", "controller"]);
    assert_eq!(
        by_controller.last().unwrap().0,
        "/soc/serial@e6e60000",
        "reset-controller@… after clock-controller@…"
    );
    // The table follows the same order.
    let demo = demo();
    let out = platreset(&["audit", "--sort", "verdict", demo.as_str()]);
    let table = stdout(&out);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("  /"))
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let names: Vec<&str> = by_verdict.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(rows, names);
}

#[test]
fn quiet_prints_only_the_summary_and_the_failures() {
    let demo = demo();
    let full = stdout(&platreset(&["audit", demo.as_str()]));
    let out = platreset(&["audit", "-q", demo.as_str()]);
    assert!(out.status.success());
    let quiet = stdout(&out);
    assert!(quiet.starts_with("Summary: "), "{quiet}");
    assert!(full.ends_with(&quiet), "the summary is the full table's");
    assert!(!quiet.contains("NODE") && !quiet.contains("/soc/"), "{quiet}");
    // A file that could not be audited is still named, with why.
    let dir = std::env::temp_dir().join(format!("platreset-quiet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.dtb");
    std::fs::write(&bad, b"not a dtb").unwrap();
    let out = platreset(&["audit", "--quiet", demo.as_str(), bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let quiet = stdout(&out);
    assert!(quiet.starts_with(&format!("{}: not audited: invalid DTB", bad.display())), "{quiet}");
    assert!(!quiet.contains("/soc/"), "{quiet}");
    let _ = std::fs::remove_dir_all(&dir);
    let out = platreset(&["audit", "-q", "--format", "json", demo.as_str()]);
    assert_eq!(out.status.code(), Some(2), "-q is for the table");
}
