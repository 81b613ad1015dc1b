//! Rule 4's evidence grades as a user meets them (issue 14, points 2 and 3): `audit` counts the
//! enabled devices per grade (table summary, JSON summary) and adds each device's grade and
//! citation to its record; `--accept-evidence` is a policy option of every command that takes
//! them; `explain` lists the driver's reset calls.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// An R-Car SDHI (recovery-reset), an RK3399 dw_mmc (probe-reset) and a widget no driver lists,
/// each behind an IOMMU on its own line; and a disabled SDHI.
const BOARD: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	compatible = "acme,board";
	cpg: clock-controller@e6150000 {
		compatible = "renesas,r8a774a1-cpg-mssr";
		reg = <0xe6150000 0x1000>;
		#reset-cells = <1>;
	};
	smmu: iommu@2000 {
		compatible = "arm,mmu-500";
		reg = <0x2000 0x1000>;
		#iommu-cells = <1>;
	};
	mmc@10000 {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		reg = <0x10000 0x100>;
		resets = <&cpg 314>;
		iommus = <&smmu 1>;
	};
	mmc@12000 {
		compatible = "rockchip,rk3399-dw-mshc", "rockchip,rk3288-dw-mshc";
		reg = <0x12000 0x100>;
		resets = <&cpg 311>;
		reset-names = "reset";
		iommus = <&smmu 3>;
	};
	widget@15000 {
		compatible = "acme,widget";
		reg = <0x15000 0x100>;
		resets = <&cpg 308>;
		iommus = <&smmu 6>;
	};
	mmc@16000 {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		reg = <0x16000 0x100>;
		resets = <&cpg 307>;
		iommus = <&smmu 7>;
		status = "disabled";
	};
};
"#;

/// BOARD compiled into a file of its own (removed when the test process ends is not needed:
/// the name carries the process id and test).
fn board(tag: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("platreset-grades-{tag}-{}.dtb", std::process::id()));
    std::fs::write(&path, platreset_testkit::dtb_from_text(BOARD)).unwrap();
    path
}

fn platreset(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn audit_counts_enabled_devices_per_grade_and_adds_each_one_s_grade_and_citation() {
    let dtb = board("audit");
    let file = dtb.to_str().unwrap();
    let table = stdout(&platreset(&["audit", file]));
    assert!(
        table.contains(
            "Quiescence evidence of the enabled node(s): 1 kernel-driver-recovery (1 taking every line), 1 kernel-driver-probe (1 taking every line), 1 none"
        ),
        "{table}"
    );
    let row = table.lines().find(|l| l.contains("/mmc@10000")).unwrap();
    assert!(row.ends_with("refused: quiescence unproven [recovery]"), "{row}");
    let row = table.lines().find(|l| l.contains("/widget@15000")).unwrap();
    assert!(row.ends_with("refused: quiescence unproven"), "no tag for none: {row}");

    let out = platreset(&["audit", "--format", "jsonl", file]);
    let records: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let sdhi = records.iter().find(|r| r["node"] == "/mmc@10000").unwrap();
    assert_eq!(sdhi["verdict"]["evidence_grade"], "kernel-driver-recovery");
    assert_eq!(
        sdhi["verdict"]["evidence_citation"],
        "drivers/mmc/host/renesas_sdhi_core.c:588 (renesas_sdhi_reset)"
    );
    assert_eq!(sdhi["verdict"]["evidence_lines"], "all");
    let reason = sdhi["verdict"]["reasons"][0].as_str().unwrap();
    assert!(
        reason.ends_with("with --accept-evidence kernel-driver this device would be eligible"),
        "{reason}"
    );

    let out = platreset(&["audit", "--format", "json", file]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &doc["summary"];
    assert_eq!(summary["evidence_grades"]["kernel-driver-recovery"], 1, "the disabled SDHI is not counted");
    assert_eq!(summary["evidence_grades"]["kernel-driver-probe"], 1);
    assert_eq!(summary["evidence_grades"]["none"], 1);
    assert_eq!(summary["evidence_grades"]["hardware"], 0, "every grade is named");
    assert_eq!(summary["evidence_grades_every_line"]["kernel-driver-recovery"], 1);
    let _ = std::fs::remove_file(&dtb);
}

#[test]
fn accept_evidence_makes_eligible_exactly_the_grades_it_names() {
    let dtb = board("accept");
    let file = dtb.to_str().unwrap();
    let eligible = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["audit", "--format", "jsonl", file];
        args.extend(extra);
        let out = platreset(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|r| r["verdict"]["eligible"] == true)
            .map(|r| r["node"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(eligible(&[]).is_empty(), "the default stays strict");
    assert_eq!(eligible(&["--accept-evidence", "kernel-driver"]), ["/mmc@10000", "/mmc@16000"]);
    assert_eq!(eligible(&["--accept-evidence", "kernel-driver-recovery"]), ["/mmc@10000", "/mmc@16000"]);
    assert_eq!(
        eligible(&["--accept-evidence", "kernel-driver-probe"]),
        ["/mmc@10000", "/mmc@12000", "/mmc@16000"]
    );
    let bad = platreset(&["audit", file, "--accept-evidence", "kernel-driver-unused"]);
    assert_eq!(bad.status.code(), Some(2), "not a value: unused is never evidence");
    let help = stdout(&platreset(&["explain", "--help"]));
    assert!(help.contains("--accept-evidence <GRADE>") && help.contains("reset.yaml"), "{help}");
    let _ = std::fs::remove_file(&dtb);
}

#[test]
fn explain_shows_the_driver_s_reset_calls_and_the_grade_rule_4_rests_on() {
    let dtb = board("explain");
    let file = dtb.to_str().unwrap();
    let text = stdout(&platreset(&["explain", file, "/mmc@12000"]));
    assert!(text.contains("matched by rockchip,rk3288-dw-mshc: dw_mci_rockchip_pltfm_driver"), "{text}");
    assert!(text.contains("grade: probe-reset (kernel-driver-probe); lines taken: all"), "{text}");
    for call in [
        "dw_mmc.c:3310 dw_mci_parse_dt()",
        "dw_mmc.c:3427 dw_mci_probe() reset_control_assert [probe]  <- cited",
        "dw_mmc.c:3601 dw_mci_remove()",
    ] {
        assert!(text.contains(call), "{call}: {text}");
    }
    let accepted =
        stdout(&platreset(&["explain", file, "/mmc@12000", "--accept-evidence", "kernel-driver-probe"]));
    let rule_4 = accepted.lines().find(|l| l.contains(" 4. ")).unwrap();
    assert!(
        rule_4.starts_with("  [pass] 4.")
            && rule_4.contains("accepted as proof with --accept-evidence kernel-driver-probe"),
        "{rule_4}"
    );
    assert!(rule_4.contains("reset.yaml"), "the caveat where the DT's sharing is relied on: {rule_4}");

    let out = platreset(&["explain", file, "/mmc@10000", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let k = &doc["kernel_driver"];
    assert_eq!(
        (k["driver"].as_str(), k["grade"].as_str()),
        (Some("renesas_internal_dmac_sdhi_driver"), Some("recovery-reset"))
    );
    assert_eq!(k["citation"]["function"], "renesas_sdhi_reset");
    assert_eq!(k["call_sites"].as_array().unwrap().len(), 2, "{k}");
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "node",
            "status",
            "compatible",
            "method",
            "lines",
            "error",
            "allowlist",
            "kernel_driver",
            "rules",
            "next",
            "verdict",
            "file"
        ]
    );
    let widget: Value =
        serde_json::from_slice(&platreset(&["explain", file, "/widget@15000", "--format", "json"]).stdout)
            .unwrap();
    assert!(widget.get("kernel_driver").is_none(), "added only when a driver lists the device");
    let _ = std::fs::remove_file(&dtb);
}
