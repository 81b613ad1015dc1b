//! `platreset audit` as a user runs it: formats, filters, directories, bad input, exit codes.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory holding compiled fixtures, removed on drop.
struct Scratch(ScratchDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch(ScratchDir::new(&format!("cli-{tag}")))
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

fn jsonl(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn jsonl_has_one_line_per_node_with_resets_in_the_stable_shape() {
    let dir = Scratch::new("shape");
    let file = dir.write("t.dtb", &platreset_testkit::fixture("topology-sharing"));
    let out = platreset(&["audit", "--format", "jsonl", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 15);
    let first = &lines[0];
    let keys: Vec<&str> = first.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "file",
            "node",
            "status",
            "compatible",
            "resets",
            "shared_with",
            "iommus",
            "verdict",
            "reset_names",
            "shared_with_count",
            "shared_with_truncated"
        ],
        "stable fields first, then added ones"
    );
    assert_eq!(first["file"], file.to_str().unwrap());
    assert_eq!(first["node"], "/device@10000");
    assert_eq!(first["status"], "okay");
    assert_eq!(first["compatible"], serde_json::json!(["test,dedicated"]));
    assert_eq!(first["resets"], serde_json::json!([{"controller": "/reset-controller@1000", "args": [1]}]));
    let verdict_keys: Vec<&str> = first["verdict"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        verdict_keys,
        [
            "eligible",
            "method",
            "reasons",
            "warnings",
            "evidence_grade",
            "evidence_citation",
            "evidence_lines",
            "candidate",
            "infrastructure"
        ],
        "stable fields first, then added ones"
    );
    assert_eq!(first["verdict"]["evidence_grade"], "none", "no Linux driver lists test,dedicated");
    assert_eq!(
        (&first["verdict"]["evidence_citation"], &first["verdict"]["evidence_lines"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(first["verdict"]["method"], "generic");
    assert_eq!(first["verdict"]["eligible"], false);
    let reasons = first["verdict"]["reasons"].as_array().unwrap();
    assert!(
        reasons[0].as_str().unwrap().contains("(test,reset-one-cell) has no driver in platreset"),
        "{reasons:?}"
    );

    let shared = lines.iter().find(|l| l["node"] == "/device@13000").unwrap();
    assert_eq!(shared["status"], "disabled");
    assert_eq!(shared["shared_with"], serde_json::json!(["/device@11000", "/device@12000"]));
    assert_eq!(shared["shared_with_count"], 2);
    assert_eq!(shared["shared_with_truncated"], false);

    let broken = lines.iter().find(|l| l["node"] == "/unknown-phandle@20000").unwrap();
    assert_eq!(broken["resets"], Value::Null);
    assert!(broken["error"].as_str().unwrap().contains("0x4242"));
    let keys: Vec<&str> = broken.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys[4..6], ["resets", "error"], "error follows resets");
}

#[test]
fn directories_are_walked_recursively_in_sorted_order_and_paths_joined_to_the_argument() {
    let dir = Scratch::new("walk");
    let blob = platreset_testkit::fixture("topology-sharing");
    for rel in ["b/z.dtb", "a-b.dtb", "a/y.dtb", "a/x.dtb", "a/not-a-dtb.txt"] {
        dir.write(rel, &blob);
    }
    let arg = format!("{}/", dir.path().display());
    let out = platreset(&["audit", "--format", "jsonl", &arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut files: Vec<String> =
        jsonl(&out).iter().map(|l| l["file"].as_str().unwrap().to_string()).collect();
    files.dedup();
    // String order of the relative paths: "a-b.dtb" < "a/x.dtb" ('-' sorts before '/').
    let expected: Vec<String> =
        ["a-b.dtb", "a/x.dtb", "a/y.dtb", "b/z.dtb"].iter().map(|r| format!("{arg}{r}")).collect();
    assert_eq!(files, expected);
}

#[test]
fn a_file_that_fails_is_reported_with_its_offset_and_the_others_still_audited() {
    let dir = Scratch::new("bad");
    let blob = platreset_testkit::fixture("topology-sharing");
    dir.write("1-good.dtb", &blob);
    dir.write("2-truncated.dtb", &blob[..blob.len() / 2]);
    dir.write("3-good.dtb", &blob);
    let out = platreset(&["audit", "--format", "jsonl", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "a failed file makes the exit code non-zero");
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 15 + 1 + 15);
    let error = &lines[15];
    assert!(error["file"].as_str().unwrap().ends_with("2-truncated.dtb"));
    assert_eq!(error.as_object().unwrap().len(), 2, "an unparsable file gives {{file, error}}");
    let err = stderr(&out);
    assert!(err.contains("2-truncated.dtb") && err.contains("totalsize"), "{err}");
    assert!(err.contains("1 of 3 input file(s) could not be audited"), "{err}");
}

#[test]
fn garbage_and_empty_files_are_errors_not_panics() {
    let dir = Scratch::new("garbage");
    let empty = dir.write("empty.dtb", b"");
    let junk = dir.write("junk.dtb", &[0xd0, 0x0d, 0xfe, 0xed, 0xff, 0xff, 0xff, 0xff]);
    for file in [empty, junk] {
        let out = platreset(&["audit", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        // Said once: in the table, and counted on stderr.
        assert!(stdout(&out).contains(": not audited: invalid DTB: "), "{}", stdout(&out));
        assert_eq!(err, "platreset: 1 of 1 input file(s) could not be audited\n");
        let jsonl = platreset(&["audit", "--format", "jsonl", file.to_str().unwrap()]);
        assert!(stderr(&jsonl).starts_with("platreset: invalid DTB: "), "{}", stderr(&jsonl));
    }
}

#[test]
fn a_missing_path_is_named_in_the_error() {
    let out = platreset(&["audit", "/nonexistent/board.dtb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/board.dtb"), "{}", stderr(&out));
    let json = platreset(&["audit", "--format", "jsonl", "/nonexistent/board.dtb"]);
    assert_eq!(json.status.code(), Some(1));
    let line = &jsonl(&json)[0];
    assert_eq!(line["file"], "/nonexistent/board.dtb");
    assert!(line["error"].as_str().unwrap().contains("No such file"), "{line}");
}

#[test]
fn a_file_whose_size_is_not_reported_is_still_read() {
    // /proc files report size 0; a DTB behind such a file must still be read whole.
    let dir = Scratch::new("pipe");
    let blob = platreset_testkit::fixture("topology-sharing");
    let file = dir.write("t.dtb", &blob);
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{} audit --format jsonl /dev/stdin < {}",
            env!("CARGO_BIN_EXE_platreset"),
            file.display()
        ))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(jsonl(&out).len(), 15);
    let piped = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat {} | {} audit --format jsonl /dev/stdin",
            file.display(),
            env!("CARGO_BIN_EXE_platreset")
        ))
        .output()
        .unwrap();
    assert!(piped.status.success(), "{}", stderr(&piped));
    assert_eq!(jsonl(&piped).len(), 15);
}

#[test]
fn without_path_the_host_fdt_is_read_or_its_absence_explained() {
    let out = platreset(&["audit", "--format", "jsonl"]);
    if Path::new("/sys/firmware/fdt").exists() {
        assert!(out.status.success() || stderr(&out).contains("/sys/firmware/fdt"));
    } else {
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(err.contains("/sys/firmware/fdt") && err.contains("pass a DTB"), "{err}");
    }
}

#[test]
fn okay_and_compatible_filters_select_nodes_but_sharing_still_counts_every_node() {
    let dir = Scratch::new("filters");
    let file = dir.write("t.dtb", &platreset_testkit::fixture("topology-sharing"));
    let f = file.to_str().unwrap();
    let okay = jsonl(&platreset(&["audit", "--format", "jsonl", "--okay", f]));
    assert_eq!(okay.len(), 14);
    assert!(okay.iter().all(|l| l["status"] == "okay"));
    let a = okay.iter().find(|l| l["node"] == "/device@11000").unwrap();
    assert_eq!(
        a["shared_with"],
        serde_json::json!(["/device@12000", "/device@13000"]),
        "disabled sharer kept"
    );

    let shared = jsonl(&platreset(&["audit", "--format", "jsonl", "--compatible", "test,sh*", f]));
    assert_eq!(shared.len(), 3);
    let two = jsonl(&platreset(&[
        "audit",
        "--format",
        "jsonl",
        "--compatible",
        "test,twice",
        "--compatible",
        "*dedicated",
        f,
    ]));
    assert_eq!(two.len(), 2);
}

#[test]
fn json_format_is_one_document_with_files_controllers_and_a_summary() {
    let dir = Scratch::new("json");
    let file = dir.write("t.dtb", &platreset_testkit::fixture("topology-sharing"));
    let out = platreset(&["audit", "--format", "json", file.to_str().unwrap()]);
    assert!(out.status.success());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["files"][0]["nodes"].as_array().unwrap().len(), 15);
    assert_eq!(doc["files"][0]["controllers"].as_array().unwrap().len(), 5);
    let summary = &doc["summary"];
    assert_eq!(summary["nodes"], 15);
    assert_eq!(summary["sharing"], 5);
    assert_eq!(summary["unresolvable"], 8);
    assert_eq!(summary["eligible"], 0, "no driver here can reset the test,* controllers");
}

/// The audit of tests/dts/policy.dts with `options`: the eligible nodes and each node's warnings.
fn policy_audit(options: &[&str]) -> (Vec<String>, Vec<(String, Vec<String>)>) {
    let dir = Scratch::new("policy");
    let file = dir.write("p.dtb", &platreset_testkit::fixture("policy"));
    let mut args = vec!["audit", "--format", "jsonl", file.to_str().unwrap()];
    args.extend_from_slice(options);
    let out = platreset(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = jsonl(&out);
    let eligible = lines
        .iter()
        .filter(|l| l["verdict"]["eligible"] == true)
        .map(|l| l["node"].as_str().unwrap().to_string())
        .collect();
    let warnings = lines
        .iter()
        .map(|l| {
            let w =
                l["verdict"]["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string());
            (l["node"].as_str().unwrap().to_string(), w.collect())
        })
        .collect();
    (eligible, warnings)
}

#[test]
fn policy_options_waive_only_the_rules_they_name() {
    let (eligible, warnings) = policy_audit(&[]);
    assert_eq!(eligible, ["/sata@ee300000"], "only the device with recorded evidence");
    assert!(warnings.iter().all(|(_, w)| w.is_empty()));

    let (eligible, _) = policy_audit(&["--trust-reset"]);
    assert_eq!(
        eligible,
        ["/ethernet@e6800000", "/usb@ee080000", "/sata@ee300000", "/ethernet@e0700000", "/serial@e1010000"]
    );

    let (eligible, warnings) =
        policy_audit(&["--trust-reset", "--allow-pulse", "--allow-shared-with-disabled"]);
    assert_eq!(
        eligible,
        [
            "/ethernet@e6800000",
            "/usb@ee080000",
            "/sata@ee300000",
            "/serial@e6e60000",
            "/mmc@fe320000",
            "/ethernet@e0700000",
            "/serial@e1010000"
        ]
    );
    let serial = &warnings.iter().find(|(n, _)| n == "/serial@e6e60000").unwrap().1;
    assert!(serial[0].contains("shared only with 1 disabled node: /serial@e6e68000"), "{serial:?}");
}

#[test]
fn a_bad_allowlist_is_refused_naming_the_file_and_line() {
    let dir = Scratch::new("allowlist");
    let file = dir.write("p.dtb", &platreset_testkit::fixture("policy"));
    let list = dir.write("list.toml", b"schema = 1\n[[entry]]\ndevice = \"a,b\"\ndma = maybe\n");
    let out = platreset(&["audit", file.to_str().unwrap(), "--allowlist", list.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("invalid allowlist") && err.contains("list.toml") && err.contains("line 4"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing is printed before the policy is known");
}

#[test]
fn table_marks_shared_lines_and_ends_with_a_summary() {
    let dir = Scratch::new("table");
    let file = dir.write("t.dtb", &platreset_testkit::fixture("topology-sharing"));
    let out = platreset(&["audit", file.to_str().unwrap()]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("* /device@11000 shares a line with /device@12000, /device@13000"), "{text}");
    assert!(
        text.contains("Summary: 1 file(s) (0 failed); 15 node(s) with resets (14 enabled); 5 share a line"),
        "{text}"
    );
}

/// Renders `graph` to SVG with graphviz's `dot`, failing on anything it rejects.
fn svg_of(dir: &Scratch, name: &str, graph: &str) -> String {
    let dot_file = dir.write(&format!("{name}.dot"), graph.as_bytes());
    let rendered = Command::new("dot")
        .arg("-Tsvg")
        .arg(&dot_file)
        .output()
        .unwrap_or_else(|e| panic!("graphviz's `dot` is a test dependency; run scripts/setup ({e})"));
    assert!(
        rendered.status.success(),
        "dot rejected the graph: {}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    stdout(&rendered)
}

#[test]
fn dot_output_renders_with_graphviz_and_draws_each_shared_line_once_with_its_users() {
    let dir = Scratch::new("dot");
    let demo = platreset_testkit::repo_root().join("data/demo-soc.dtb");
    let out = platreset(&["audit", "--format", "dot", demo.to_str().unwrap()]);
    assert!(out.status.success());
    let graph = stdout(&out);
    let count = |needle: &str| graph.matches(needle).count();
    // The PWMs' line 523 and the USB pair's line 703: one node each, fed by their controller,
    // with an edge to each user.
    let cpg = "\"0:/soc/clock-controller@e6150000\"";
    for (line, users) in [
        ("523", &["pwm@e6e30000", "pwm@e6e31000", "pwm@e6e32000"][..]),
        ("703", &["usb-phy@ee080200", "usb@ee080100"][..]),
    ] {
        let id = format!("\"0:line:/soc/clock-controller@e6150000:{line}\"");
        assert_eq!(count(&format!("    {id} [shape=ellipse")), 1, "line {line} drawn once: {graph}");
        assert_eq!(count(&format!("{cpg} -> {id} ")), 1, "fed by its controller: {graph}");
        assert_eq!(count(&format!("    {id} -> ")), users.len(), "{graph}");
        for user in users {
            assert_eq!(count(&format!("{id} -> \"0:/soc/{user}\" [color=red")), 1, "{user}: {graph}");
        }
    }
    assert_eq!(count("[shape=ellipse"), 3, "two shared lines and the legend's");
    // A line of one device is an edge labelled with its cells.
    assert_eq!(count(&format!("{cpg} -> \"0:/soc/mmc@ee100000\" [label=\"314\"]")), 1, "{graph}");
    assert_eq!(count(&format!("{cpg} -> \"0:/soc/usb@ee080100\" [label=\"704\"]")), 1, "{graph}");
    // Short labels, full paths in tooltips; a legend.
    assert!(
        graph.contains(
            "[label=\"pwm@e6e30000\", tooltip=\"/soc/pwm@e6e30000\\nstatus okay; refused: shared line"
        ),
        "{graph}"
    );
    assert!(
        graph.contains(
            "tooltip=\"shared reset line /soc/clock-controller@e6150000 <523>: used by 3 device(s)"
        ),
        "{graph}"
    );
    assert!(graph.contains("subgraph \"cluster_legend\"") && graph.contains("label=\"Legend\""));
    let svg = svg_of(&dir, "demo", &graph);
    assert!(svg.contains("xlink:title=\"/soc/pwm@e6e30000&#10;status okay"), "tooltips reach the SVG");
    assert!(svg.contains(">Legend</text>"));

    // Every way a `resets` property can resolve or fail renders too.
    let file = dir.write("t.dtb", &platreset_testkit::fixture("topology-sharing"));
    let out = platreset(&["audit", "--format", "dot", file.to_str().unwrap()]);
    assert!(out.status.success());
    let graph = stdout(&out);
    assert!(graph.contains(":line:"), "the fixture's shared lines are drawn as lines");
    svg_of(&dir, "fixture", &graph);
}

#[test]
fn help_teaches_formats_and_examples() {
    let out = platreset(&["audit", "--help"]);
    let text = stdout(&out);
    for needle in ["jsonl", "dot", "--okay", "--compatible", "/sys/firmware/fdt", "Examples:"] {
        assert!(text.contains(needle), "--help lacks {needle}: {text}");
    }
}

#[test]
fn output_order_does_not_depend_on_the_number_of_threads() {
    let dir = Scratch::new("jobs");
    let fixtures = ["topology-sharing", "resets-shapes", "address-translation"];
    let blobs: Vec<Vec<u8>> = fixtures.iter().map(|f| platreset_testkit::fixture(f)).collect();
    for i in 0..40 {
        dir.write(&format!("d{}/f{i:02}.dtb", i % 3), &blobs[i % blobs.len()]);
    }
    dir.write("d1/broken.dtb", b"not a dtb");
    let d = dir.path().to_str().unwrap();
    let one = platreset(&["audit", "--format", "jsonl", "-j", "1", d]);
    assert_eq!(one.status.code(), Some(1), "the broken file fails the run");
    for jobs in ["2", "3", "8"] {
        let many = platreset(&["audit", "--format", "jsonl", "-j", jobs, d]);
        assert_eq!(stdout(&one), stdout(&many), "-j {jobs}");
        assert_eq!(many.status.code(), Some(1));
    }
}

#[test]
fn group_proposes_each_set_of_line_sharing_devices_once() {
    let dir = Scratch::new("group");
    let file = dir.write("p.dtb", &platreset_testkit::fixture("policy"));
    let out = platreset(&["audit", "--format", "json", "--group", "--trust-reset", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = doc["files"][0]["groups"].as_array().unwrap();
    let summary: Vec<(Vec<&str>, bool)> = groups
        .iter()
        .map(|g| {
            let members =
                g["members"].as_array().unwrap().iter().map(|m| m["node"].as_str().unwrap()).collect();
            (members, g["eligible"].as_bool().unwrap())
        })
        .collect();
    assert_eq!(
        summary,
        [
            (vec!["/pwm@e6e30000", "/pwm@e6e31000"], false),
            (vec!["/serial@e6e60000"], true),
            (vec!["/dma-controller@e7300000", "/dma-controller@e7310000", "/dma-controller@e7320000"], true),
        ]
    );
    assert_eq!(groups[0]["also_reset"], serde_json::json!(["/pwm@e6e32000"]));
    let without = platreset(&["audit", "--format", "json", file.to_str().unwrap()]);
    let doc: Value = serde_json::from_slice(&without.stdout).unwrap();
    assert!(doc["files"][0].get("groups").is_none(), "no groups unless asked");
    let jsonl = platreset(&["audit", "--format", "jsonl", "--group", file.to_str().unwrap()]);
    assert_eq!(jsonl.status.code(), Some(2), "a usage error");
    assert!(stderr(&jsonl).contains("--group needs --format table or json: the jsonl shape"));
    let dot = platreset(&["audit", "--format", "dot", "--group", file.to_str().unwrap()]);
    assert_eq!(dot.status.code(), Some(2));
    assert!(stderr(&dot).contains("the dot picture draws every shared line already"), "{}", stderr(&dot));
}

#[test]
fn the_summary_says_what_each_option_would_make_eligible() {
    let demo = platreset_testkit::repo_root().join("data/demo-soc.dtb");
    let out = platreset(&["audit", demo.to_str().unwrap()]);
    let text = stdout(&out);
    assert!(
        text.contains("Refused enabled node(s) the options would make eligible: --accept-evidence kernel-driver --allow-pulse: 1; --allow-pulse --trust-reset: 1\n"),
        "{text}"
    );
    assert!(text.contains("Refused enabled node(s) no option makes eligible: 5 (each needs"), "{text}");
    // Each count is what the options really do.
    let with = platreset(&["audit", demo.to_str().unwrap(), "--allow-pulse", "--trust-reset"]);
    assert!(stdout(&with).contains("; 3 eligible;"), "2 eligible before, 1 more: {}", stdout(&with));
    let json = platreset(&["audit", "--format", "json", demo.to_str().unwrap()]);
    let doc: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["summary"]["eligible_with"]["--allow-pulse --trust-reset"], 1);
    assert_eq!(doc["summary"]["refused_whatever_the_options"], 5);
}
