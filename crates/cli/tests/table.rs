//! The audit table fits a terminal (issue 17, point 2): a controller said once with its ids and
//! consecutive ids as a range, a reason said once with a count, controller names that tell two
//! controllers apart, rows cut to `--width` (whole with `--wide` and into a pipe), the summary
//! lines after the tables wrapped to it, and on every corpus board no line wider than 120
//! columns at `--width 120`.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use platreset_testkit::{table_row as row, TempFile};

fn audit(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("audit").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Two controllers both named `reset-controller@1000` (under `/soc/a` and `/soc/b`), a node with
/// three consecutive lines and one more on the first and one on the second, two of them shared
/// with a disabled node.
const TREE: &str = r#"/dts-v1/;
/ {
    #address-cells = <1>;
    #size-cells = <1>;
    soc {
        #address-cells = <1>;
        #size-cells = <1>;
        a {
            #address-cells = <1>;
            #size-cells = <1>;
            ra: reset-controller@1000 { compatible = "vendor,rst"; reg = <0x1000 0x10>; #reset-cells = <1>; };
        };
        b {
            #address-cells = <1>;
            #size-cells = <1>;
            rb: reset-controller@1000 { compatible = "vendor,rst"; reg = <0x1000 0x10>; #reset-cells = <1>; };
        };
        dev@2000 { compatible = "vendor,dev"; reg = <0x2000 0x10>;
                   resets = <&ra 4>, <&ra 3>, <&ra 5>, <&ra 9>, <&rb 1>; };
        other@3000 { compatible = "vendor,other"; reg = <0x3000 0x10>; status = "disabled";
                     resets = <&ra 3>, <&ra 4>; };
    };
};
"#;

/// [`TREE`] compiled, in a file of the test's own, removed on drop.
fn tree(test: &str) -> TempFile {
    TempFile::new(&format!("table-{test}"), "dtb", &platreset_testkit::dtb_from_text(TREE))
}

#[test]
fn a_controller_is_said_once_with_its_ids_consecutive_ones_as_a_range() {
    let table = audit(&[tree("ids").path()]);
    let dev = row(&table, "/soc/dev@2000");
    assert!(dev.contains(" a/reset-controller@1000 3-5,9; b/reset-controller@1000 1 "), "{dev}");
    let other = row(&table, "/soc/other@3000");
    assert!(other.contains(" a/reset-controller@1000 3-4 "), "{other}");
}

#[test]
fn a_reason_is_said_once_with_its_count() {
    let table = audit(&[tree("reasons").path()]);
    let dev = row(&table, "/soc/dev@2000");
    assert!(dev.contains("shared with disabled ×2"), "{dev}");
    assert_eq!(dev.matches("shared with disabled").count(), 1, "{dev}");
    assert_eq!(dev.matches("unsupported controller").count(), 1, "{dev}");
}

#[test]
fn controllers_sharing_a_last_component_are_told_apart() {
    let table = audit(&[tree("names").path()]);
    assert!(
        table.contains("a/reset-controller@1000") && table.contains("b/reset-controller@1000"),
        "{table}"
    );
    assert!(!table.contains(" reset-controller@1000 "), "an ambiguous bare name in\n{table}");
}

#[test]
fn width_cuts_the_widest_cells_and_wide_or_a_pipe_gives_whole_rows() {
    let tree = tree("width");
    let file = tree.path();
    let whole = audit(&[file]);
    let widest = |t: &str| {
        t.lines().take_while(|l| !l.starts_with("Summary:")).map(|l| l.chars().count()).max().unwrap()
    };
    assert!(widest(&whole) > 100, "{whole}");
    // Into a pipe, with no --width: whole rows, as --wide gives them.
    assert_eq!(audit(&["--wide", file]), whole);
    let cut = audit(&["--width", "80", file]);
    assert!(widest(&cut) <= 80, "{cut}");
    let dev = row(&cut, "/soc/dev@2000");
    assert!(dev.ends_with('…'), "{dev}");
    // The cut verdict is still coloured: the text is cut, not the escape codes.
    let colored = audit(&["--color", "always", "--width", "80", file]);
    let dev = row(&colored, "/soc/dev@2000");
    assert!(dev.contains("\x1b[31mrefused:") && dev.ends_with("…\x1b[0m"), "{dev:?}");
    // --wide and --width contradict each other.
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(["audit", "--wide", "--width", "80", file])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// Every line of the corpus audit — the titles, the rows, the footnotes and group lines, and the
/// summary lines after the tables — fits 120 columns at `--width 120`, in one run over the whole
/// corpus (whose summary is the longest) and in a run per board (whose summaries differ).
#[test]
fn every_corpus_line_fits_120_columns() {
    let Some(corpus) = platreset_testkit::corpus_dir() else {
        eprintln!("SKIPPED: no DTB corpus (PLATRESET_CORPUS_DIR)");
        return;
    };
    let widest =
        |text: &str| text.lines().map(|l| (l.chars().count(), l.to_string())).max().unwrap_or_default();
    for group in [false, true] {
        let mut args = vec!["--width", "120", corpus.to_str().unwrap()];
        if group {
            args.push("--group");
        }
        let table = audit(&args);
        let lines = table.lines().count();
        let summary = table.lines().skip_while(|l| !l.starts_with("Summary:")).count();
        assert!(lines > 10_000 && summary > 10, "{lines} lines, {summary} after the tables");
        let (width, line) = widest(&table);
        assert!(width <= 120, "{width} columns: {line}");
        eprintln!("{lines} lines (group: {group}), {summary} of them summary, all within 120 columns");
    }
    // Unwrapped, the summary is wider than that: the test could fail.
    let (wide, _) = widest(&audit(&["--wide", corpus.to_str().unwrap()]));
    assert!(wide > 120, "{wide}");
    let boards = platreset_testkit::dtbs_below(&corpus);
    let mut worst = (0, String::new());
    for board in &boards {
        let table = audit(&["--width", "120", board.to_str().unwrap()]);
        let (width, line) = widest(&table);
        assert!(width <= 120, "{}: {width} columns: {line}", board.display());
        worst = worst.max((width, line));
    }
    eprintln!("{} boards one by one: the widest line is {} columns", boards.len(), worst.0);
}

/// The summary lines wrap at spaces with a hanging indent: every continuation is indented, and
/// the words are the whole lines' words, in order.
#[test]
fn summary_lines_wrap_at_spaces_with_a_hanging_indent() {
    let tree = tree("summary");
    let summary = |t: &str| -> Vec<String> {
        t.lines().skip_while(|l| !l.starts_with("Summary:")).map(str::to_string).collect()
    };
    let whole = summary(&audit(&[tree.path()]));
    let narrow = summary(&audit(&["--width", "60", tree.path()]));
    assert!(whole.iter().any(|l| l.chars().count() > 60), "{whole:?}");
    assert!(narrow.iter().all(|l| l.chars().count() <= 60), "{narrow:?}");
    assert!(narrow.len() > whole.len(), "{narrow:?}");
    let words = |lines: &[String]| {
        lines.iter().flat_map(|l| l.split_whitespace()).map(str::to_string).collect::<Vec<_>>()
    };
    assert_eq!(words(&narrow), words(&whole), "wrapped at spaces, nothing cut");
    let starts = |lines: &[String]| lines.iter().filter(|l| !l.starts_with(' ')).count();
    assert_eq!(starts(&narrow), starts(&whole), "every continuation is indented: {narrow:?}");
}
