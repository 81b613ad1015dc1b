//! `platreset reset`: the dry-run trace as a user and a script see it.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use serde_json::{json, Value};

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn demo_dtb() -> String {
    platreset_testkit::repo_root().join("data/demo-soc.dtb").display().to_string()
}

fn json_of(args: &[&str]) -> Value {
    let out = platreset(args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_is_the_stable_shape_with_integer_addresses_and_values() {
    let doc = json_of(&["reset", &demo_dtb(), "/soc/mmc@ee100000", "--format", "json"]);
    assert_eq!(doc["node"], "/soc/mmc@ee100000");
    assert_eq!(doc["method"], "generic");
    assert_eq!(
        doc["lines"][0],
        json!({"controller": "/soc/clock-controller@e6150000", "args": [314], "driver": "renesas-cpg-mssr",
               "mode": "kernel", "index": 0, "name": null})
    );
    let ops: Vec<Value> = doc["ops"].as_array().unwrap().clone();
    assert_eq!(ops[0]["op"], "write32");
    assert_eq!(ops[0]["addr"], 3_860_136_120u64, "0xe61500b8 (SRCR3) as a JSON integer");
    assert_eq!(ops[0]["value"], 16384);
    assert_eq!(ops[0]["reg"], "SRCR3");
    assert_eq!(ops[1], json!({"op": "delay_us", "us": 35, "line": 0}));
    assert_eq!(ops[2]["addr"], 0xe615_094cu64);
}

#[test]
fn rz_g2m_sdhi0_in_the_corpus_gives_the_kernels_cpg_sequence() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let dtb = corpus.join("arm64/renesas/r8a774a1-hihope-rzg2m.dtb");
    let doc = json_of(&["reset", dtb.to_str().unwrap(), "/soc/mmc@ee100000", "--format", "json"]);
    let ops: Vec<(String, u64, u64)> = doc["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["op"].as_str().unwrap().to_string(),
                o["addr"].as_u64().unwrap_or(0),
                o["value"].as_u64().or(o["us"].as_u64()).unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("write32".into(), 0xe615_00b8, 0x4000),
            ("delay_us".into(), 0, 35),
            ("write32".into(), 0xe615_094c, 0x4000)
        ]
    );
}

#[test]
fn a_shared_line_is_traced_with_a_warning_naming_the_collateral_nodes() {
    let out = platreset(&["reset", &demo_dtb(), "/soc/pwm@e6e30000"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("dry run, nothing is written"), "{text}");
    assert!(
        text.contains("warning: reset line 0") && text.contains("/soc/pwm@e6e31000, /soc/pwm@e6e32000"),
        "{text}"
    );
}

#[test]
fn pulse_mode_for_drivers_without_a_reset_sequence_uses_the_given_wait() {
    let doc = json_of(&["reset", &demo_dtb(), "serial0", "--format", "json", "--pulse-us", "25"]);
    assert_eq!(doc["lines"][0]["mode"], "pulse");
    assert_eq!(doc["lines"][0]["driver"], "reset-simple");
    let delays: Vec<&Value> =
        doc["ops"].as_array().unwrap().iter().filter(|o| o["op"] == "delay_us").collect();
    assert_eq!(delays.len(), 1);
    assert_eq!(delays[0]["us"], 25);
}

#[test]
fn line_selection_by_name_and_index_and_assert_only() {
    let doc =
        json_of(&["reset", &demo_dtb(), "&ehci0", "--line", "companion", "--assert", "--format", "json"]);
    assert_eq!(doc["operation"], "assert");
    assert_eq!(doc["lines"].as_array().unwrap().len(), 1);
    assert_eq!(doc["lines"][0]["args"], json!([704]));
    assert_eq!(
        doc["ops"],
        json!([{"op": "write32", "addr": 0xe615_01ccu64, "value": 16, "reg": "SRCR7", "line": 1}])
    );
    let by_index = json_of(&["reset", &demo_dtb(), "ehci0", "--line", "1", "--deassert", "--format", "json"]);
    assert_eq!(by_index["ops"][0]["reg"], "SRSTCLR7");
}

#[test]
fn errors_name_the_node_and_what_is_missing() {
    let dtb = demo_dtb();
    let cases: [(&[&str], &str); 4] = [
        (&["reset", &dtb, "/soc/gpio@e6050000"], "has no resets property"),
        (
            &["reset", &dtb, "ehci0", "--line", "7"],
            "has no reset line 7 (it has lines 0 \"host\", 1 \"companion\")",
        ),
        (&["reset", &dtb, "/soc/nothing"], "no node '/soc/nothing'"),
        (&["reset", "/nonexistent.dtb", "/"], "/nonexistent.dtb"),
    ];
    for (args, needle) in cases {
        let out = platreset(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("platreset: ") && err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn unsupported_firmware_out_of_range_and_wrong_cell_count_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("platreset-reset-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dts = dir.join("bad.dts");
    std::fs::write(
        &dts,
        r#"/dts-v1/;
/ {
    #address-cells = <1>; #size-cells = <1>;
    cpg: clock-controller@e6150000 { compatible = "renesas,r8a774a1-cpg-mssr"; reg = <0xe6150000 0x1000>; #reset-cells = <1>; };
    fw: reset-controller { compatible = "xlnx,zynqmp-reset"; #reset-cells = <1>; };
    odd: reset-controller@1000 { compatible = "vendor,mystery-reset"; reg = <0x1000 0x10>; #reset-cells = <1>; };
    two: reset-controller@2000 { compatible = "snps,dw-high-reset"; reg = <0x2000 0x4>; #reset-cells = <2>; };
    a@1 { resets = <&cpg 1240>; };
    b@2 { resets = <&fw 3>; };
    c@3 { resets = <&odd 1>; };
    d@4 { resets = <&two 1 2>; };
};
"#,
    )
    .unwrap();
    let dtb = dir.join("bad.dtb");
    std::fs::write(&dtb, platreset_testkit::compile_dts(&dts)).unwrap();
    let d = dtb.to_str().unwrap();
    let cases = [
        ("/a@1", "controller /clock-controller@e6150000: reset specifier [1240] is invalid"),
        ("/b@2", "controller /reset-controller is a firmware reset, not MMIO"),
        ("/c@3", "controller /reset-controller@1000 (vendor,mystery-reset) has no driver in platreset"),
        ("/d@4", "controller /reset-controller@2000: reset specifier [1, 2] is invalid"),
    ];
    for (node, needle) in cases {
        let out = platreset(&["reset", d, node]);
        assert_eq!(out.status.code(), Some(1), "{node}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(node) && err.contains(needle), "{node}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A sparse file standing in for /dev/mem, large enough for the demo SoC's CPG at 0xe6150000.
struct FakeMem {
    dir: std::path::PathBuf,
}

impl FakeMem {
    fn new(tag: &str) -> FakeMem {
        let dir = std::env::temp_dir().join(format!("platreset-fakemem-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = std::fs::File::create(dir.join("mem")).unwrap();
        file.set_len(0xf000_0000).unwrap();
        FakeMem { dir }
    }
    fn mem(&self) -> String {
        self.dir.join("mem").display().to_string()
    }
    fn lock(&self) -> String {
        self.dir.join("lock").display().to_string()
    }
    fn set_word(&self, addr: u64, value: u32) {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(self.dir.join("mem")).unwrap();
        f.seek(SeekFrom::Start(addr)).unwrap();
        f.write_all(&value.to_le_bytes()).unwrap();
    }
    fn word(&self, addr: u64) -> u32 {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(self.dir.join("mem")).unwrap();
        f.seek(SeekFrom::Start(addr)).unwrap();
        let mut b = [0u8; 4];
        f.read_exact(&mut b).unwrap();
        u32::from_le_bytes(b)
    }
}

impl Drop for FakeMem {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn devmem_needs_write_hardware_and_writes_only_the_traced_registers() {
    let fake = FakeMem::new("sdhi");
    let dtb = demo_dtb();
    let base =
        ["reset", &dtb, "sdhi0", "--backend", "devmem", "--devmem", &fake.mem(), "--lock", &fake.lock()];
    let refused = platreset(&base);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--write-hardware"));
    assert_eq!(fake.word(0xe615_00b8), 0, "nothing written without the flag");

    let mut args = base.to_vec();
    args.extend(["--write-hardware", "--format", "json"]);
    // Without the built-in allowlist's simulator evidence for the demo SoC, quiescence is unproven.
    let empty = fake.dir.join("empty.toml");
    std::fs::write(&empty, "schema = 1\n").unwrap();
    let mut unproven_args = args.clone();
    unproven_args.extend(["--allowlist", empty.to_str().unwrap(), "--no-builtin-allowlist"]);
    let unproven = platreset(&unproven_args);
    assert_eq!(unproven.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unproven.stderr).contains("quiescence unproven"));
    assert_eq!(fake.word(0xe615_00b8), 0, "nothing written while the policy refuses");
    let out = platreset(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["backend"], "devmem");
    assert_eq!(doc["ops"].as_array().unwrap().len(), 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("its own driver may be using them"));
    // SRCR3 and SRSTCLR3 hold the last value written; their neighbours are untouched.
    assert_eq!(fake.word(0xe615_00b8), 0x4000);
    assert_eq!(fake.word(0xe615_094c), 0x4000);
    assert_eq!(fake.word(0xe615_00b4), 0);
    assert_eq!(fake.word(0xe615_0950), 0);
}

#[test]
fn devmem_refuses_what_the_policy_refuses_unless_forced() {
    let fake = FakeMem::new("pwm");
    let dtb = demo_dtb();
    let mut args = vec!["reset", &dtb, "/soc/pwm@e6e30000", "--backend", "devmem", "--write-hardware"];
    let (mem, lock) = (fake.mem(), fake.lock());
    args.extend(["--devmem", &mem, "--lock", &lock]);
    let out = platreset(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the policy refuses /soc/pwm@e6e30000") && err.contains("shared"), "{err}");
    assert_eq!(fake.word(0xe615_00c4), 0);
    args.push("--force");
    let forced = platreset(&args);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert_eq!(fake.word(0xe615_00c4), 0x0080_0000, "SRCR5 bit 23");
}

#[test]
fn real_corpus_nodes_reset_as_the_worked_examples_say() {
    // CONTROLLERS.md worked examples 1, 2, 4 and 5, on the boards' own device trees.
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    // (file, node, expected (op, addr, value or us))
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, u64, u64)]);
    let cases: [Case<'_>; 4] = [
        (
            "arm64/rockchip/rk3399-rockpro64.dtb",
            "/mmc@fe320000",
            &[
                ("write32", 0xff76_041c, 0x0400_0400),
                ("delay_us", 0, 10),
                ("write32", 0xff76_041c, 0x0400_0000),
            ],
        ),
        (
            "armhf/sun8i-h3-orangepi-pc.dtb",
            "/soc/ethernet@1c30000",
            &[
                ("read32", 0x01c2_02c0, 0),
                ("write32", 0x01c2_02c0, 0),
                ("delay_us", 0, 10),
                ("read32", 0x01c2_02c0, 0),
                ("write32", 0x01c2_02c0, 0x0002_0000),
            ],
        ),
        (
            "armhf/stm32mp157c-dk2.dtb",
            "/soc/mmc@58005000",
            &[("write32", 0x5000_0198, 0x1_0000), ("delay_us", 0, 10), ("write32", 0x5000_019c, 0x1_0000)],
        ),
        (
            "armhf/tegra124-jetson-tk1.dtb",
            "/mmc@700b0600",
            &[("write32", 0x6000_6300, 0x8000), ("delay_us", 0, 1), ("write32", 0x6000_6304, 0x8000)],
        ),
    ];
    for (file, node, expected) in cases {
        let dtb = corpus.join(file);
        let doc = json_of(&["reset", dtb.to_str().unwrap(), node, "--format", "json"]);
        let ops: Vec<(String, u64, u64)> = doc["ops"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let value = o["value"].as_u64().or(o["us"].as_u64()).unwrap_or(0);
                (o["op"].as_str().unwrap().to_string(), o["addr"].as_u64().unwrap_or(0), value)
            })
            .collect();
        let expected: Vec<(String, u64, u64)> =
            expected.iter().map(|(o, a, v)| (o.to_string(), *a, *v)).collect();
        assert_eq!(ops, expected, "{file} {node}");
    }
}

/// Two-line devices whose second line fails when acted on (inline, compiled with dtc; addresses
/// below the fake /dev/mem's end):
/// - `snps,dw-high-reset` at 0x80000: line 0 of `dma@90000` is id 3, RESET0 (0x80000) bit 3.
/// - `altr,rst-mgr` at 0x81000 with a window of 0x14 bytes: module resets start at +0x10, so id 33
///   (bank 1, +0x14) translates but lies past the window: the driver refuses it when acting.
/// - `twice@91000` lists one line twice, which Linux's exclusive array get refuses (-EBUSY).
const TWO_LINES: &str = r#"/dts-v1/;
/ {
    #address-cells = <1>; #size-cells = <1>;
    high: reset-controller@80000 { compatible = "snps,dw-high-reset"; reg = <0x80000 0x8>; #reset-cells = <1>; };
    rst: rstmgr@81000 { compatible = "altr,rst-mgr"; reg = <0x81000 0x14>; #reset-cells = <1>; };
    dma@90000 { reg = <0x90000 0x1000>; resets = <&high 3>, <&rst 33>; reset-names = "bus", "core"; };
    twice@91000 { reg = <0x91000 0x1000>; resets = <&high 4>, <&high 4>; };
};
"#;

/// `TWO_LINES` compiled into `dir`, as a path.
fn two_lines_dtb(dir: &std::path::Path) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let dts = dir.join("two-lines.dts");
    std::fs::write(&dts, TWO_LINES).unwrap();
    let dtb = dir.join("two-lines.dtb");
    std::fs::write(&dtb, platreset_testkit::compile_dts(&dts)).unwrap();
    dtb.display().to_string()
}

/// A failed command's JSON on stdout, checking it failed with `needle` on stderr.
fn failed_json(args: &[&str], needle: &str) -> Value {
    let out = platreset(args);
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("platreset: cannot reset: ") && err.contains(needle), "{args:?}: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (line, undo, op, addr, value) of each access of a JSON report.
fn json_ops(doc: &Value) -> Vec<(u64, bool, String, u64, u64)> {
    doc["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().unwrap(),
                o.get("undo").is_some_and(|u| u == true),
                o["op"].as_str().unwrap().to_string(),
                o["addr"].as_u64().unwrap_or(0),
                o["value"].as_u64().or(o["us"].as_u64()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_failed_second_line_prints_the_report_with_the_undo_and_an_error_field() {
    let dir = std::env::temp_dir().join(format!("platreset-reset-undo-{}", std::process::id()));
    let dtb = two_lines_dtb(&dir);
    let needle =
        "/dma@90000, reset line 1 on controller /rstmgr@81000: reset id 33 maps to offset 0x14, outside";
    let doc = failed_json(&["reset", &dtb, "/dma@90000", "--assert", "--format", "json"], needle);
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["node", "method", "operation", "backend", "lines", "ops", "warnings", "verdict", "error"]
    );
    assert!(doc["error"].as_str().unwrap().contains(needle), "{}", doc["error"]);
    assert_eq!(doc["operation"], "assert");
    assert_eq!(
        doc["lines"],
        json!([
            {"controller": "/reset-controller@80000", "args": [3], "driver": "reset-simple", "mode": null,
             "index": 0, "name": "bus"},
            {"controller": "/rstmgr@81000", "args": [33], "driver": "reset-socfpga", "mode": null,
             "index": 1, "name": "core"}
        ]),
        "the line done and the line that failed"
    );
    // Line 0 asserted (bit 3 set), line 1 refused before any access, line 0 deasserted again.
    assert_eq!(
        json_ops(&doc),
        [
            (0, false, "read32".into(), 0x80000, 0),
            (0, false, "write32".into(), 0x80000, 8),
            (0, true, "read32".into(), 0x80000, 8),
            (0, true, "write32".into(), 0x80000, 0),
        ]
    );
    assert_eq!(doc["ops"][2]["undo"], true);
    assert!(doc["ops"][1].get("undo").is_none(), "only the undo's accesses say so");

    // The text report shows the same, the undo under its own heading.
    let out = platreset(&["reset", &dtb, "/dma@90000", "--assert"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let wanted = [
        "  line 0 \"bus\": /reset-controller@80000 <3>, driver reset-simple, single operation",
        "    write32 0x00080000 RESET0       <- 0x00000008",
        "  line 1 \"core\": /rstmgr@81000 <33>, driver reset-socfpga, single operation",
        "    failed: /dma@90000, reset line 1",
        "  undo line 0 \"bus\": /reset-controller@80000 <3>, driver reset-simple: deassert (a later line failed)",
        "    write32 0x00080000 RESET0       <- 0x00000000",
    ];
    let mut rest = text.as_ref();
    for w in wanted {
        let at = rest.find(w).unwrap_or_else(|| panic!("{w:?} not in order in:\n{text}"));
        rest = &rest[at + w.len()..];
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_second_reset_prints_the_first_lines_pulse_and_no_undo() {
    let dir = std::env::temp_dir().join(format!("platreset-reset-undo-pulse-{}", std::process::id()));
    let dtb = two_lines_dtb(&dir);
    let doc =
        failed_json(&["reset", &dtb, "/dma@90000", "--format", "json"], "outside the controller's window");
    assert_eq!(doc["lines"][0]["mode"], "pulse");
    assert_eq!(doc["lines"][1]["mode"], "pulse");
    assert_eq!(
        json_ops(&doc),
        [
            (0, false, "read32".into(), 0x80000, 0),
            (0, false, "write32".into(), 0x80000, 8),
            (0, false, "delay_us".into(), 0, 10),
            (0, false, "read32".into(), 0x80000, 8),
            (0, false, "write32".into(), 0x80000, 0),
        ],
        "a completed pulse is not undone (Linux's array reset undoes nothing)"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_line_listed_twice_is_refused_with_an_empty_report() {
    let dir = std::env::temp_dir().join(format!("platreset-reset-twice-{}", std::process::id()));
    let dtb = two_lines_dtb(&dir);
    let doc = failed_json(&["reset", &dtb, "/twice@91000", "--format", "json"], "-EBUSY");
    assert_eq!(doc["ops"], json!([]));
    assert_eq!(doc["lines"], json!([]));
    assert!(
        doc["error"].as_str().unwrap().contains("reset lines 0 and 1 are the same line"),
        "{}",
        doc["error"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn devmem_keeps_the_record_of_the_writes_made_before_a_failure_and_undoes_them() {
    let fake = FakeMem::new("undo");
    let dtb = two_lines_dtb(&fake.dir);
    // Another device's line (bit 0) is asserted in RESET0: it must stay so.
    fake.set_word(0x80000, 0x1);
    let (mem, lock) = (fake.mem(), fake.lock());
    let base = ["reset", &dtb, "/dma@90000", "--backend", "devmem", "--write-hardware", "--force"];
    let mut args = base.to_vec();
    args.extend(["--devmem", &mem, "--lock", &lock, "--assert", "--format", "json"]);
    let doc = failed_json(&args, "outside the controller's window");
    assert_eq!(doc["backend"], "devmem");
    assert_eq!(
        json_ops(&doc),
        [
            (0, false, "read32".into(), 0x80000, 1),
            (0, false, "write32".into(), 0x80000, 9),
            (0, true, "read32".into(), 0x80000, 9),
            (0, true, "write32".into(), 0x80000, 1),
        ],
        "the writes that really happened, the undo's included"
    );
    assert_eq!(fake.word(0x80000), 0x1, "line 0 is back as it was");
    assert_eq!(fake.word(0x81010), 0, "the second controller was never written");
}
