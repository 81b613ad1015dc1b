//! The commands on crafted trees (issue 16, point 6): ten thousand nodes on one reset line, one
//! node with thousands of `resets` entries, thousands of controllers. Each output is bounded by
//! the size of the tree — a record names at most 64 sharers and counts the rest — where before
//! every node listed every other (4 GB of JSONL from a 1.8 MB tree). The work behind these
//! outputs is bounded by counting operations in the topology and policy tests
//! (crates/topology/tests/crafted.rs, crates/policy/tests/crafted.rs); here the bound is on
//! bytes, never on time.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// How many sharers a record names (platreset_topology::SHARERS_NAMED).
const NAMED: usize = 64;

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A scratch directory, removed on drop.
struct Scratch(ScratchDir);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        Scratch(ScratchDir::new(&format!("crafted-{tag}")))
    }

    /// Compiles `dts` into `<name>.dtb` here.
    fn dtb(&self, name: &str, dts: &str) -> PathBuf {
        let source = self.0.join(format!("{name}.dts"));
        std::fs::write(&source, dts).unwrap();
        let path = self.0.join(format!("{name}.dtb"));
        std::fs::write(&path, platreset_testkit::compile_dts(&source)).unwrap();
        path
    }
}

/// A device tree: `controllers` reset controllers (phandles 1…, `#reset-cells = <1>`, under
/// /resets), then one device per entry of `devices`: its `resets` as (controller, id) pairs and
/// whether it is enabled. Devices sit 100 to a bus (dtc's parser runs out of stack on ten
/// thousand siblings) with hex unit addresses, so path order is not document order. Phandles are
/// written as numbers: dtc takes quadratic time over many `&label` references in one property.
fn tree(controllers: usize, devices: &[(Vec<(u32, u32)>, bool)]) -> String {
    let mut dts = String::from(
        "/dts-v1/;\n/ {\n\tcompatible = \"acme,crafted\";\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n",
    );
    dts.push_str("\tresets {\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tranges;\n");
    for c in 0..controllers {
        writeln!(
            dts,
            "\t\treset-controller@{:x} {{ compatible = \"acme,reset\"; reg = <{:#x} 0x100>; phandle = <{}>; #reset-cells = <1>; }};",
            0x1000 + c * 0x100,
            0x1000 + c * 0x100,
            c + 1
        )
        .unwrap();
    }
    dts.push_str("\t};\n");
    for (bus, chunk) in devices.chunks(100).enumerate() {
        writeln!(dts, "\tbus@{bus:x} {{\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;\n\t\tranges;")
            .unwrap();
        for (i, (lines, enabled)) in chunk.iter().enumerate() {
            let n = bus * 100 + i;
            let resets: Vec<String> = lines.iter().map(|(c, id)| format!("{} {id}", c + 1)).collect();
            let status = if *enabled { "" } else { "status = \"disabled\"; " };
            writeln!(
                dts,
                "\t\tdevice@{n:x} {{ compatible = \"acme,dev\"; reg = <{:#x} 0x100>; {status}resets = <{}>; }};",
                0x10_0000 + n * 0x100,
                resets.join(" ")
            )
            .unwrap();
        }
        dts.push_str("\t};\n");
    }
    dts.push_str("};\n");
    dts
}

fn jsonl(out: &Output) -> Vec<Value> {
    stdout(out).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// In a DOT picture: how many shared-line nodes, and how many edges from them to devices.
fn shared_fans(dot: &str) -> (usize, usize) {
    let from_line = |l: &&str| l.trim_start().starts_with("\"0:line:");
    let nodes = dot.lines().filter(from_line).filter(|l| l.contains("[shape=ellipse")).count();
    let edges = dot.lines().filter(from_line).filter(|l| l.contains(" -> ")).count();
    (nodes, edges)
}

/// The longest node path of the crafted trees ("/bus@63/device@270f").
const PATH: usize = 24;

#[test]
fn ten_thousand_nodes_on_one_line_are_audited_in_output_linear_in_the_tree() {
    let dir = Scratch::new("share");
    let nodes = 10_000;
    let dtb = dir.dtb("share", &tree(1, &vec![(vec![(0, 7)], true); nodes]));
    let file = dtb.to_str().unwrap();
    // What one node's record may carry: its own fields, 64 names in shared_with, 64 more in the
    // shared line's reason, and the fixed reasons. Naming every sharer was 10,000 names a node.
    let per_node = 2 * NAMED * (PATH + 4) + 1_024;

    let out = platreset(&["audit", "--format", "jsonl", file]);
    assert!(out.status.success());
    assert!(out.stdout.len() <= nodes * per_node, "{} bytes of JSONL", out.stdout.len());
    let records = jsonl(&out);
    assert_eq!(records.len(), nodes);
    for r in &records {
        assert_eq!(r["shared_with"].as_array().unwrap().len(), NAMED);
        assert_eq!(
            (r["shared_with_count"].as_u64(), r["shared_with_truncated"].as_bool()),
            (Some(9_999), Some(true))
        );
        let shared = r["verdict"]["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|r| r.as_str().filter(|t| t.contains("is shared with")));
        let shared = shared.unwrap();
        assert!(
            shared.contains("is shared with 9999 other nodes: ") && shared.ends_with(" and 9935 more"),
            "{shared}"
        );
    }
    // The first named sharers are the first by path: device@10 sorts before device@2.
    assert_eq!(records[0]["shared_with"][0], "/bus@0/device@1");
    assert_eq!(records[0]["shared_with"][1], "/bus@0/device@10");

    let out = platreset(&["audit", "--format", "table", file]);
    assert!(out.stdout.len() <= nodes * per_node / 2, "{} bytes of table", out.stdout.len());
    let text = stdout(&out);
    assert!(text.contains(" *9999 "), "the SHARED column counts every sharer");
    // One footnote for the one shared line, naming its first users and counting the rest.
    assert_eq!(text.matches(" and 9935 more\n").count(), 1);

    // Per node: its statement (label, tooltip with its path and verdict) and one edge from the
    // line; the one shared line is one node, whatever its number of users.
    let out = platreset(&["audit", "--format", "dot", file]);
    assert!(out.stdout.len() <= nodes * 512, "{} bytes of dot", out.stdout.len());
    assert_eq!(shared_fans(&stdout(&out)), (1, nodes));

    let out = platreset(&["audit", "--format", "json", "--group", file]);
    // Pretty-printed: a name is a line of its own; the group lists every member once.
    assert!(out.stdout.len() <= nodes * 2 * per_node, "{} bytes of JSON", out.stdout.len());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file_doc = &doc["files"][0];
    assert_eq!(file_doc["nodes"][0]["shared_with_count"], 9_999);
    let groups = file_doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["members"].as_array().unwrap().len(), nodes);
}

#[test]
fn explain_names_at_most_64_sharers_of_a_line_and_counts_the_rest() {
    let dir = Scratch::new("explain");
    let nodes = 10_000;
    let mut devices = vec![(vec![(0, 7)], true); nodes];
    devices[0].0.push((0, 8)); // and a dedicated line
    let dtb = dir.dtb("share", &tree(1, &devices));
    let file = dtb.to_str().unwrap();
    let out = platreset(&["explain", file, "/bus@0/device@0", "--format", "json"]);
    assert!(out.status.success());
    assert!(out.stdout.len() <= 3 * NAMED * (PATH + 40) + 8_192, "{} bytes", out.stdout.len());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let line = &doc["lines"][0];
    assert_eq!(line["shared_with"].as_array().unwrap().len(), NAMED);
    assert_eq!(line["sharers"].as_array().unwrap().len(), NAMED);
    assert_eq!(
        (line["shared_with_count"].as_u64(), line["shared_with_truncated"].as_bool()),
        (Some(9_999), Some(true))
    );
    assert_eq!(line["shared_with"][0], "/bus@0/device@1", "document order");
    let dedicated = &doc["lines"][1];
    assert_eq!(
        (dedicated["shared_with_count"].as_u64(), dedicated["shared_with_truncated"].as_bool()),
        (Some(0), Some(false))
    );

    let out = platreset(&["explain", file, "/bus@0/device@0"]);
    let text = stdout(&out);
    assert!(text.contains("/bus@0/device@40 (okay) and 9935 more\n"), "{text}");

    // The group of ten thousand: each member once, with a verdict bounded in size.
    let out = platreset(&["explain", file, "/bus@0/device@0", "--group", "--format", "json"]);
    assert!(out.stdout.len() <= nodes * 1_024, "{} bytes", out.stdout.len());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["group"]["members"].as_array().unwrap().len(), nodes);
}

#[test]
fn one_node_with_thousands_of_resets_entries_is_audited_and_explained_in_output_linear_in_them() {
    let dir = Scratch::new("lines");
    // One node on 20,000 distinct lines; 200 others each on one of its lines; one more listing
    // a single line 2,000 times that 100 others share.
    let entries = 20_000u32;
    let mut devices = vec![((0..entries).map(|id| (0, id)).collect::<Vec<_>>(), true)];
    devices.extend((0..200).map(|n| (vec![(0, n * 100)], true)));
    devices.push((vec![(1, 5); 2_000], true));
    devices.extend((0..100).map(|_| (vec![(1, 5)], false)));
    let dtb = dir.dtb("lines", &tree(2, &devices));
    let file = dtb.to_str().unwrap();

    let out = platreset(&["audit", "--format", "jsonl", file]);
    assert!(out.status.success());
    let records = jsonl(&out);
    let big = &records[0];
    assert_eq!(big["resets"].as_array().unwrap().len(), entries as usize);
    assert_eq!(
        (big["shared_with_count"].as_u64(), big["shared_with_truncated"].as_bool()),
        (Some(200), Some(true))
    );
    let first = &records[0]["shared_with"];
    assert_eq!(first.as_array().unwrap().len(), NAMED);
    // The repeated line: a reason per entry, each naming at most 64 of the 100 sharers.
    let repeated = &records[201];
    let reasons = repeated["verdict"]["reasons"].as_array().unwrap();
    let shared: Vec<&str> = reasons
        .iter()
        .filter_map(Value::as_str)
        .filter(|t| t.contains("is shared only with 100 disabled nodes"))
        .collect();
    assert_eq!(shared.len(), 2_000);
    assert!(shared.iter().all(|t| t.ends_with(" and 36 more")));
    // Per resets entry: its line record and reason (a name per shared line of the big node, at
    // most 64 names per entry of the repeated one).
    let total_entries = entries as usize + 200 + 2_000 + 100;
    let per_entry = 300;
    let named = 2_000 * NAMED * (PATH + 2) + 2 * NAMED * (PATH + 2);
    assert!(out.stdout.len() <= total_entries * per_entry + named, "{} bytes of JSONL", out.stdout.len());

    // 200 lines shared by the big node and one other each, and the repeated line: 201 line
    // nodes; an edge from a line to each entry using it.
    let out = platreset(&["audit", "--format", "dot", file]);
    assert_eq!(shared_fans(&stdout(&out)), (201, 200 + 200 + 2_000 + 100));

    let out = platreset(&["explain", file, "/bus@0/device@0", "--format", "json"]);
    assert!(out.status.success());
    assert!(out.stdout.len() <= entries as usize * 600, "{} bytes of explain", out.stdout.len());
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["lines"].as_array().unwrap().len(), entries as usize);
    assert_eq!(doc["lines"][100]["shared_with"], serde_json::json!(["/bus@0/device@2"]));
    assert_eq!(doc["lines"][101]["shared_with_count"], 0);
}

#[test]
fn verify_of_a_node_with_thousands_of_lines_reports_in_proportion_to_them() {
    // A reset-simple block with 4,096 lines and a device on 2,000 of them.
    let mut dts = String::from(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \trst: reset-controller@1000 { compatible = \"snps,dw-low-reset\"; reg = <0x1000 0x200>; phandle = <1>; #reset-cells = <1>; };\n",
    );
    let lines = 2_000;
    let resets: Vec<String> = (0..lines).map(|id| format!("1 {id}")).collect();
    writeln!(
        dts,
        "\tdevice@100000 {{ compatible = \"acme,dev\"; reg = <0x100000 0x100>; resets = <{}>; }};\n}};",
        resets.join(" ")
    )
    .unwrap();
    let dir = Scratch::new("verify");
    let dtb = dir.dtb("verify", &dts);
    let out = platreset(&["verify", dtb.to_str().unwrap(), "/device@100000", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["pass"], true, "{}", String::from_utf8_lossy(&out.stderr));
    // Per line: its assert, wait and deassert accesses and its verdict reason.
    assert!(doc["ops"].as_array().unwrap().len() <= 8 * lines);
    assert!(out.stdout.len() <= lines * 1_024, "{} bytes", out.stdout.len());
}

#[test]
fn verify_all_over_hundreds_of_controllers_verifies_each_device_once() {
    let controllers = 200;
    let devices: Vec<(Vec<(u32, u32)>, bool)> =
        (0..controllers as u32).map(|c| (vec![(c, 1)], true)).collect();
    let dir = Scratch::new("verify-all");
    let dts = tree(controllers, &devices).replace("acme,reset", "snps,dw-low-reset");
    let dtb = dir.dtb("many", &dts);
    let out = platreset(&["verify", "--all", dtb.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["summary"]["verified"], controllers);
    assert_eq!(doc["summary"]["passed"], controllers);
    assert!(out.stdout.len() <= controllers * 8_192, "{} bytes", out.stdout.len());
}

#[test]
fn the_reference_names_and_counts_crowded_sharers_as_the_audit_does() {
    // 120 nodes on line 7 (every third disabled), 80 of them also on line 8 and 70 on line 9
    // (crowded, in different combinations), pairs on their own lines: compared with
    // scripts/reference-audit field by field, reasons included.
    let devices: Vec<(Vec<(u32, u32)>, bool)> = (0..120u32)
        .map(|n| {
            let mut lines = vec![(0, 7)];
            if n < 80 {
                lines.push((0, 8));
            }
            if n >= 50 {
                lines.push((0, 9));
            }
            lines.push((0, 100 + n / 2));
            (lines, n % 3 != 0)
        })
        .collect();
    let dir = Scratch::new("reference");
    let dtb = dir.dtb("crowded", &tree(1, &devices));
    let root = platreset_testkit::repo_root();
    let ours = platreset(&["audit", "--format", "jsonl", dtb.to_str().unwrap()]);
    let records = jsonl(&ours);
    assert!(records.iter().all(|r| r["shared_with_truncated"] == true));
    let reference =
        Command::new(root.join("scripts/reference-audit")).arg(&dtb).output().unwrap_or_else(|e| {
            panic!(
                "scripts/reference-audit needs /usr/bin/python3 with python3-libfdt; run scripts/setup ({e})"
            )
        });
    assert!(reference.status.success(), "{}", String::from_utf8_lossy(&reference.stderr));
    let (a, b) = (dir.0.join("ref.jsonl"), dir.0.join("ours.jsonl"));
    std::fs::write(&a, &reference.stdout).unwrap();
    std::fs::write(&b, &ours.stdout).unwrap();
    let compare = Command::new(root.join("scripts/compare-audit")).arg(&a).arg(&b).output().unwrap();
    assert!(compare.status.success(), "{}", stdout(&compare));
    assert_path_order_differs_from_document_order(&records);
}

/// The crafted trees are only a test of "first by path" if the two orders differ.
fn assert_path_order_differs_from_document_order(records: &[Value]) {
    let paths: Vec<&str> = records.iter().map(|r| r["node"].as_str().unwrap()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_ne!(paths, sorted);
}
