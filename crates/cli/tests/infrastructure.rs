//! `audit` and `explain` on host infrastructure (issue 17, point 3): IOMMUs, power gates, clock
//! controllers, … with resets are shown as no passthrough candidates, counted apart from the
//! eligible and refused devices and from what the options would change, carried in JSONL as
//! added fields; `--group` keeps them with the host; `explain` says why and what a line shared
//! with one means; the `iommus` fix says when it cannot be acted on.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use platreset_testkit::{table_row as row, TempFile};
use serde_json::Value;

fn platreset(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A compiled DTB in a file of the test's own, removed on drop.
fn dtb(test: &str, blob: &[u8]) -> TempFile {
    TempFile::new(&format!("infra-{test}"), "dtb", blob)
}

fn fixture(test: &str) -> TempFile {
    dtb(test, &platreset_testkit::fixture("infrastructure"))
}

#[test]
fn the_table_shows_infrastructure_as_no_candidate_and_counts_it_apart() {
    let file = fixture("table");
    let table = platreset(&["audit", file.path()]);
    assert!(row(&table, "/pmc@7000e400/powergates/dis").ends_with("not a candidate (power gate)"), "{table}");
    assert!(row(&table, "/iommu@12000000").ends_with("not a candidate (IOMMU)"), "{table}");
    assert!(row(&table, "/apb@70000000/clock@70110000").ends_with("not a candidate (clock controller)"));
    assert!(row(&table, "/sata@70020000").contains("refused: shared line"), "{table}");
    let infra =
        table.lines().find(|l| l.starts_with("Host infrastructure")).unwrap_or_else(|| panic!("{table}"));
    assert_eq!(
        infra,
        "Host infrastructure, not passthrough candidates: 6 node(s) with resets (6 enabled): 3 power-gate, \
         1 clock-controller, 1 interrupt-controller, 1 iommu"
    );
    // --refused is the candidates the rules refuse; --verdict infrastructure the rest.
    let refused = platreset(&["audit", "--refused", file.path()]);
    assert!(!refused.contains("not a candidate") && refused.contains("/sata@70020000"), "{refused}");
    let infra = platreset(&["audit", "--verdict", "infrastructure", file.path()]);
    let rows: Vec<&str> = infra.lines().filter(|l| l.starts_with("  /")).collect();
    assert_eq!(rows.len(), 6, "{infra}");
    assert!(rows.iter().all(|r| r.contains("not a candidate")), "{infra}");
}

#[test]
fn jsonl_adds_candidate_and_infrastructure_to_the_verdict() {
    let file = fixture("jsonl");
    let out = platreset(&["audit", "--format", "jsonl", file.path()]);
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let record = |node: &str| records.iter().find(|r| r["node"] == node).unwrap_or_else(|| panic!("{node}"));
    let gate = &record("/pmc@7000e400/powergates/venc")["verdict"];
    assert_eq!(
        (&gate["eligible"], &gate["candidate"], &gate["infrastructure"]),
        (&Value::from(false), &Value::from(false), &Value::from("power-gate"))
    );
    let sata = &record("/sata@70020000")["verdict"];
    assert_eq!((&sata["candidate"], &sata["infrastructure"]), (&Value::from(true), &Value::Null));
    // The stable fields keep their meaning: a gate's reasons are still the rules it fails.
    assert!(gate["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r.as_str().unwrap().starts_with("reset line 0")));
}

/// An HDMI transmitter that provides a clock (so it is a clock controller) and a twin device
/// without `#clock-cells`, each on a dedicated line behind an IOMMU: only rule 4 refuses them.
const TWINS: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	cpg: clock-controller@e6150000 {
		compatible = "renesas,r8a774a1-cpg-mssr";
		reg = <0xe6150000 0x1000>;
		#reset-cells = <1>;
	};
	smmu: iommu@1000 { compatible = "arm,mmu-500"; reg = <0x1000 0x100>; #iommu-cells = <1>; };
	hdmi@2000 { compatible = "acme,hdmi"; reg = <0x2000 0x100>; resets = <&cpg 1>; iommus = <&smmu 1>; #clock-cells = <0>; };
	video@3000 { compatible = "acme,video"; reg = <0x3000 0x100>; resets = <&cpg 2>; iommus = <&smmu 2>; };
};
"#;

#[test]
fn no_option_is_offered_to_make_infrastructure_eligible() {
    let file = dtb("twins", &platreset_testkit::dtb_from_text(TWINS));
    let doc: Value = serde_json::from_str(&platreset(&["audit", "--format", "json", file.path()])).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["eligible_with"], serde_json::json!({"--trust-reset": 1}), "the video device only");
    assert_eq!(summary["refused_whatever_the_options"], 0, "the HDMI clock provider is not refused");
    assert_eq!(summary["infrastructure"], serde_json::json!({"clock-controller": 1}));
    let trusting = platreset(&["audit", "--trust-reset", file.path()]);
    assert!(row(&trusting, "/video@3000").contains("eligible"), "{trusting}");
    assert!(row(&trusting, "/hdmi@2000").ends_with("not a candidate (clock controller)"), "{trusting}");
    assert!(trusting.contains("; 1 eligible;"), "{trusting}");
}

#[test]
fn group_keeps_infrastructure_with_the_host() {
    let file = fixture("group");
    let table = platreset(&["audit", "--group", file.path()]);
    let group =
        table.lines().find(|l| l.starts_with("  group {/sata@70020000")).unwrap_or_else(|| panic!("{table}"));
    assert!(group.starts_with("  group {/sata@70020000, /usb@70090000}: refused"), "{group}");
    assert!(
        table.contains("    kept by the host (infrastructure, never assigned): /pmc@7000e400/powergates/venc (power-gate)"),
        "{table}"
    );
    assert!(
        !table.lines().any(|l| l.starts_with("  group {/pmc")),
        "no group is proposed from a gate:\n{table}"
    );
    let doc: Value =
        serde_json::from_str(&platreset(&["audit", "--group", "--format", "json", file.path()])).unwrap();
    let groups = doc["files"][0]["groups"].as_array().unwrap();
    for g in groups {
        for m in g["members"].as_array().unwrap() {
            assert!(!m["node"].as_str().unwrap().starts_with("/pmc"), "{g}");
        }
    }
    assert!(
        groups.iter().any(|g| g["host_infrastructure"][0]["infrastructure"] == "power-gate"),
        "{groups:?}"
    );
}

#[test]
fn explain_says_infrastructure_is_no_candidate_and_what_a_shared_gate_means() {
    let file = fixture("explain");
    let gate = platreset(&["explain", file.path(), "/pmc@7000e400/powergates/dis"]);
    assert!(
        gate.contains("Verdict: not a candidate: a power gate serves other devices on the host; it is not a passthrough candidate"),
        "{gate}"
    );
    assert!(!gate.contains("fix:"), "no rule offers a fix for host infrastructure: {gate}");
    let next = gate.split("\nNext:\n").nth(1).unwrap();
    assert_eq!(next.lines().count(), 1, "no fix that would make a candidate of it: {next}");
    let dc = platreset(&["explain", file.path(), "/host1x@50000000/dc@54200000", "--group"]);
    assert!(
        dc.contains("/pmc@7000e400/powergates/dis is a power gate (the host's power-domain driver"),
        "{dc}"
    );
    assert!(!dc.contains("assign them together"), "{dc}");
    assert!(
        dc.contains(
            "kept by the host (infrastructure, never assigned): /pmc@7000e400/powergates/dis (power-gate)"
        ),
        "{dc}"
    );
    let serial = platreset(&["explain", file.path(), "/apb@70000000/serial@70006000"]);
    assert!(
        serial.contains(
            "fix: no device on /apb@70000000 is behind an IOMMU (the tree's IOMMUs, /iommu@12000000"
        ),
        "{serial}"
    );
    let json: Value = serde_json::from_str(&platreset(&[
        "explain",
        file.path(),
        "/host1x@50000000/dc@54200000",
        "--group",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(json["verdict"]["candidate"], true);
    assert_eq!(json["group"]["host_infrastructure"][0]["node"], "/pmc@7000e400/powergates/dis");
}

/// Corpus boards: the Jetson TX1's display encoders share lines with PMC power gates; the Orange
/// Pi PC (Allwinner H3) describes no IOMMU.
#[test]
fn on_corpus_boards_gates_are_named_and_a_missing_iommu_is_said() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let tx1 = corpus.join("arm64/nvidia/tegra210-p2371-2180.dtb");
    let tx1 = tx1.to_str().unwrap();
    let table = platreset(&["audit", "--okay", "--wide", tx1]);
    assert!(row(&table, "/pmc@7000e400/powergates/sor").ends_with("not a candidate (power gate)"), "{table}");
    let dpaux = platreset(&["explain", tx1, "/host1x@50000000/dpaux@54040000"]);
    assert!(dpaux.contains("/pmc@7000e400/powergates/sor is a power gate"), "{dpaux}");
    assert!(!dpaux.contains("assign them together"), "{dpaux}");
    let h3 = corpus.join("armhf/sun8i-h3-orangepi-pc.dtb");
    let mmc = platreset(&["explain", h3.to_str().unwrap(), "/soc/mmc@1c0f000"]);
    assert!(mmc.contains("fix: the SoC's device tree describes no IOMMU (no node has #iommu-cells), so iommus cannot be added"), "{mmc}");
}

/// A UFS-style host: a device with interrupts of its own that is also its PHY's reset controller.
const PROVIDER: &str = "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
    \trc: reset-controller@1000 { compatible = \"snps,dw-high-reset\"; reg = <0x1000 0x4>; #reset-cells = <1>; };\n\
    \tufs: ufshc@2000 { compatible = \"acme,ufshc\"; reg = <0x2000 0x100>; interrupts = <0 5 4>;\n\
    \t\tresets = <&rc 0>; #reset-cells = <1>; };\n\
    \tphy@3000 { compatible = \"acme,ufs-phy\"; reg = <0x3000 0x100>; resets = <&ufs 0>; };\n};\n";

#[test]
fn explain_says_a_device_is_also_another_nodes_reset_controller() {
    let file = dtb("provider", &platreset_testkit::dtb_from_text(PROVIDER));
    let text = platreset(&["explain", file.path(), "/ufshc@2000", "--trust-reset"]);
    assert!(!text.contains("not a candidate"), "a device with interrupts is a candidate:\n{text}");
    assert!(
        text.contains(
            "note: it is also the reset controller of /phy@3000: assigning it takes that controller"
        ),
        "{text}"
    );
    let json: Value =
        serde_json::from_str(&platreset(&["explain", file.path(), "/ufshc@2000", "--format", "json"]))
            .unwrap();
    assert_eq!(json["provides_resets_to"], serde_json::json!(["/phy@3000"]));
    // A node that provides no line has no such field (it is added, never empty).
    let plain: Value =
        serde_json::from_str(&platreset(&["explain", file.path(), "/phy@3000", "--format", "json"])).unwrap();
    assert!(plain.get("provides_resets_to").is_none(), "{plain}");
}
