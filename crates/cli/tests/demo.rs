//! `platreset demo`, the README's first command, and the DTB it embeds.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn demo_runs_without_hardware_and_shows_a_shared_line_and_an_eligible_device() {
    let out = Command::new(env!("CARGO_BIN_EXE_platreset")).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("/soc/pwm@e6e30000 shares a line with /soc/pwm@e6e31000, /soc/pwm@e6e32000"),
        "{text}"
    );
    assert!(text.contains("/soc/mmc@ee100000") && text.contains("eligible"), "{text}");
    assert!(text.contains("refused: no IOMMU"), "{text}");
    assert!(text.contains("write32 0xe61500b8 SRCR3        <- 0x00004000"), "the reset step: {text}");
    assert!(text.contains("dry run, nothing is written"), "{text}");
    assert!(text.contains("[FAIL] 3. no reset line is shared with another node"), "the explain step: {text}");
    assert!(text.contains("PASS /soc/mmc@ee100000 (dedicated line): last write at"), "{text}");
    assert!(
        text.contains(
            "FAIL /soc/pwm@e6e30000 (shared line): also reset: /soc/pwm@e6e31000, /soc/pwm@e6e32000"
        ),
        "{text}"
    );
    assert!(text.contains("FAIL /soc/dma-controller@e6700000 (broken IP"), "{text}");
    assert!(
        text.contains("options vfio_platform_reset_generic compatibles=\"renesas,etheravb-r8a774a1;renesas,sdhi-r8a774a1\""),
        "the kmod step: {text}"
    );
}

#[test]
fn embedded_demo_dtb_is_what_dtc_makes_of_the_committed_source() {
    let root = platreset_testkit::repo_root();
    let compiled = platreset_testkit::compile_dts(&root.join("data/demo-soc.dts"));
    let committed = std::fs::read(root.join("data/demo-soc.dtb")).unwrap();
    assert!(
        compiled == committed,
        "data/demo-soc.dtb is stale: run `dtc -@ -q -I dts -O dtb -o data/demo-soc.dtb data/demo-soc.dts`"
    );
}

#[test]
fn demo_can_write_its_dtb_for_other_commands() {
    let path = std::env::temp_dir().join(format!("platreset-demo-out-{}.dtb", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_platreset"))
        .args(["demo", "--write-dtb"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let written = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(written, std::fs::read(platreset_testkit::repo_root().join("data/demo-soc.dtb")).unwrap());
}
