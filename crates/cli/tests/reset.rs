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
    unproven_args.extend(["--allowlist", empty.to_str().unwrap()]);
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
