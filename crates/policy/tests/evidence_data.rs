//! The committed kernel-driver evidence (`data/evidence/`, written by `scripts/gen-evidence`)
//! says what the drivers do, checked against drivers read by hand in Debian's linux-source-6.1
//! 6.1.192-3 (every file:line below is into that tree). Whether the data is still what the
//! generator extracts is `scripts/gen-evidence --check` (run by scripts/test and the last test
//! here).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use std::process::Command;

fn load(name: &str) -> Value {
    let path = platreset_testkit::repo_root().join("data/evidence").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The driver entry of kernel-drivers.json for `file` and its driver structure `driver`.
fn driver(doc: &Value, file: &str, driver: &str) -> Value {
    doc["drivers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["file"] == file && d["driver"] == driver)
        .unwrap_or_else(|| panic!("no {file}:{driver} in kernel-drivers.json"))
        .clone()
}

/// The one compatibles.json entry of `compatible` (a compatible several drivers list fails).
fn compatible(doc: &Value, compatible: &str) -> Value {
    let list = doc["compatibles"][compatible].as_array().unwrap_or_else(|| panic!("{compatible} missing"));
    assert_eq!(list.len(), 1, "{compatible}: {list:?}");
    list[0].clone()
}

/// Whether `list` (getters, uses or pulses) has an entry with all of `want`'s fields.
fn has(list: &Value, want: &Value) -> bool {
    list.as_array().unwrap().iter().any(|e| want.as_object().unwrap().iter().all(|(k, v)| &e[k] == v))
}

#[test]
fn renesas_sdhi_resets_the_ip_in_its_reset_path() {
    // renesas_sdhi_core.c: renesas_sdhi_probe (l. 958) gets the node's only reset, optional
    // and exclusive; renesas_sdhi_reset (l. 580, installed as host->reset at l. 1012, which the
    // TMIO core calls on errors and timeouts) pulses it with reset_control_reset (l. 588).
    // R-Car Gen3 nodes (renesas,sdhi-r8a774a1, ...) carry "renesas,rcar-gen3-sdhi" as fallback.
    let doc = load("kernel-drivers.json");
    let d =
        driver(&doc, "drivers/mmc/host/renesas_sdhi_internal_dmac.c", "renesas_internal_dmac_sdhi_driver");
    assert_eq!(d["grade"], "recovery-reset");
    assert!(d["compatibles"].as_array().unwrap().contains(&Value::from("renesas,rcar-gen3-sdhi")));
    let getter = serde_json::json!({"call": "devm_reset_control_get_optional_exclusive", "control": "rstc",
        "file": "drivers/mmc/host/renesas_sdhi_core.c", "function": "renesas_sdhi_probe", "line": 958,
        "optional": true, "shared": false, "index": 0});
    assert!(has(&d["getters"], &getter), "{}", d["getters"]);
    let pulse = serde_json::json!({"path": "recovery", "root": "renesas_sdhi_reset", "control": "rstc",
        "how": "reset_control_reset", "at": "drivers/mmc/host/renesas_sdhi_core.c:588"});
    assert!(has(&d["pulses"], &pulse), "{}", d["pulses"]);
    let c = compatible(&load("compatibles.json"), "renesas,rcar-gen3-sdhi");
    assert_eq!(c["grade"], "recovery-reset");
}

#[test]
fn rockchip_dw_mmc_pulses_its_named_reset_at_probe_with_a_delay() {
    // dw_mmc.c: dw_mci_parse_dt (l. 3310) gets "reset", optional exclusive; dw_mci_probe asserts
    // it (l. 3427), usleep_range(10, 50), deasserts (l. 3429); the error path (l. 3573) and
    // dw_mci_remove (l. 3601) assert it again. No pulse outside probe. RK3399 nodes carry
    // "rockchip,rk3288-dw-mshc" as fallback (dw_mmc-rockchip.c's table).
    let doc = load("kernel-drivers.json");
    let d = driver(&doc, "drivers/mmc/host/dw_mmc-rockchip.c", "dw_mci_rockchip_pltfm_driver");
    assert_eq!(d["grade"], "probe-reset");
    assert_eq!(d["coverage"]["names"], serde_json::json!(["reset"]));
    let pulse = serde_json::json!({"path": "probe", "root": "dw_mci_rockchip_probe", "control": "rstc",
        "how": "assert+deassert", "at": "drivers/mmc/host/dw_mmc.c:3427",
        "deassert_at": "drivers/mmc/host/dw_mmc.c:3429", "delay": ["usleep_range(10, 50)"]});
    assert!(has(&d["pulses"], &pulse), "{}", d["pulses"]);
    let remove = serde_json::json!({"op": "assert", "function": "dw_mci_remove", "line": 3601,
        "paths": ["remove"], "tied": true});
    assert!(has(&d["uses"], &remove), "{}", d["uses"]);
    assert_eq!(d["asserted_in"], serde_json::json!(["probe", "remove"]));
    let c = compatible(&load("compatibles.json"), "rockchip,rk3288-dw-mshc");
    assert_eq!(c["grade"], "probe-reset");
}

#[test]
fn stmmac_pulses_stmmac_rst_at_probe_and_only_deasserts_the_shared_ahb_reset() {
    // stmmac_platform.c: stmmac_probe_config_dt gets stmmac_rst (l. 634, optional exclusive,
    // named STMMAC_RESOURCE_NAME: a macro, recorded as the expression) and stmmac_ahb_rst (l. 641,
    // "ahb", optional shared). stmmac_main.c: stmmac_dvr_probe asserts/deasserts stmmac_rst
    // (l. 7327-7328, reset() at l. 7333 when assert is unsupported), deasserts the ahb reset
    // (l. 7336); stmmac_dvr_remove asserts both (l. 7578-7579). Reached from dwmac-generic.c.
    let doc = load("kernel-drivers.json");
    let d = driver(&doc, "drivers/net/ethernet/stmicro/stmmac/dwmac-generic.c", "dwmac_generic_driver");
    assert_eq!(d["grade"], "probe-reset");
    let f = "drivers/net/ethernet/stmicro/stmmac/stmmac_platform.c";
    for (control, line, shared) in [("stmmac_rst", 634, false), ("stmmac_ahb_rst", 641, true)] {
        let g = serde_json::json!({"control": control, "file": f, "function": "stmmac_probe_config_dt",
            "line": line, "optional": true, "shared": shared});
        assert!(has(&d["getters"], &g), "{control}: {}", d["getters"]);
    }
    assert!(has(
        &d["getters"],
        &serde_json::json!({"control": "stmmac_rst", "name_expr": "STMMAC_RESOURCE_NAME"})
    ));
    assert!(has(&d["getters"], &serde_json::json!({"control": "stmmac_ahb_rst", "name": "ahb"})));
    let m = "drivers/net/ethernet/stmicro/stmmac/stmmac_main.c";
    let pulse = serde_json::json!({"path": "probe", "control": "stmmac_rst", "how": "assert+deassert",
        "at": format!("{m}:7327"), "deassert_at": format!("{m}:7328")});
    assert!(has(&d["pulses"], &pulse), "{}", d["pulses"]);
    for (op, control, function, line, path) in [
        ("deassert", "stmmac_ahb_rst", "stmmac_dvr_probe", 7336, "probe"),
        ("assert", "stmmac_rst", "stmmac_dvr_remove", 7578, "remove"),
        ("assert", "stmmac_ahb_rst", "stmmac_dvr_remove", 7579, "remove"),
    ] {
        let u = serde_json::json!({"op": op, "control": control, "file": m, "function": function,
            "line": line, "paths": [path], "tied": true});
        assert!(has(&d["uses"], &u), "{op} {control}: {}", d["uses"]);
    }
    // No pulse of the shared ahb reset anywhere.
    assert!(!has(&d["pulses"], &serde_json::json!({"control": "stmmac_ahb_rst"})));
    assert_eq!(compatible(&load("compatibles.json"), "snps,dwmac-3.70a")["grade"], "probe-reset");
}

#[test]
fn a_driver_that_takes_its_reset_and_never_uses_it_is_unused() {
    // phy-rockchip-inno-csidphy.c: rockchip_inno_csidphy_probe gets "apb" (l. 438,
    // devm_reset_control_get: required, exclusive) into priv->rst, and nothing in the file ever
    // asserts, deasserts or resets it.
    let doc = load("kernel-drivers.json");
    let d = driver(&doc, "drivers/phy/rockchip/phy-rockchip-inno-csidphy.c", "rockchip_inno_csidphy_driver");
    assert_eq!(d["grade"], "unused");
    assert_eq!(d["uses_reset_api"], true);
    assert_eq!(d["uses"], serde_json::json!([]));
    assert_eq!(d["unclassified"], 0);
    let g = serde_json::json!({"call": "devm_reset_control_get", "control": "rst", "name": "apb",
        "function": "rockchip_inno_csidphy_probe", "line": 438, "optional": false, "shared": false});
    assert!(has(&d["getters"], &g), "{}", d["getters"]);
    let c = compatible(&load("compatibles.json"), "rockchip,rk3326-csi-dphy");
    assert_eq!((c["grade"].as_str(), c["names"].clone()), (Some("unused"), serde_json::json!(["apb"])));
}

#[test]
fn a_driver_without_any_reset_api_is_unused_with_nothing_recorded() {
    // gpio-mxc.c (660 lines) neither includes <linux/reset.h> nor calls any reset API.
    let doc = load("kernel-drivers.json");
    let d = driver(&doc, "drivers/gpio/gpio-mxc.c", "mxc_gpio_driver");
    assert_eq!(d["grade"], "unused");
    assert_eq!(d["uses_reset_api"], false);
    assert_eq!((d["getters"].clone(), d["uses"].clone()), (serde_json::json!([]), serde_json::json!([])));
    assert_eq!(compatible(&load("compatibles.json"), "fsl,imx35-gpio")["grade"], "unused");
}

#[test]
fn the_aspeed_i2c_bus_only_deasserts_at_probe_and_asserts_at_remove() {
    // i2c-aspeed.c: aspeed_i2c_probe_bus gets the shared reset (l. 1021) and deasserts it
    // (l. 1027); aspeed_i2c_remove_bus asserts it (l. 1099). Never pulsed: deassert-only, with
    // the assert on the way out recorded.
    let doc = load("kernel-drivers.json");
    let d = driver(&doc, "drivers/i2c/busses/i2c-aspeed.c", "aspeed_i2c_bus_driver");
    assert_eq!(d["grade"], "deassert-only");
    assert_eq!(d["asserted_in"], serde_json::json!(["remove"]));
    assert!(has(&d["getters"], &serde_json::json!({"line": 1021, "shared": true, "index": 0})));
    assert_eq!(d["pulses"], serde_json::json!([]));
}

#[test]
fn counts_and_source_are_consistent() {
    let doc = load("kernel-drivers.json");
    assert_eq!(doc["source"], "linux-source-6.1 6.1.192-3");
    let drivers = doc["drivers"].as_array().unwrap();
    assert_eq!(doc["counts"]["drivers"], drivers.len());
    for grade in ["recovery-reset", "probe-reset", "deassert-only", "unused"] {
        let n = drivers.iter().filter(|d| d["grade"] == grade).count();
        assert_eq!(doc["counts"]["drivers_per_grade"][grade], n, "{grade}");
        assert!(n > 0, "{grade}");
    }
    let compat = load("compatibles.json");
    assert_eq!(compat["source"], doc["source"]);
    assert_eq!(doc["counts"]["compatibles"], compat["compatibles"].as_object().unwrap().len());
}

#[test]
fn evidence_matches_what_the_generator_extracts_from_the_kernel_source() {
    let root = platreset_testkit::repo_root();
    let out = Command::new(root.join("scripts/gen-evidence"))
        .args(["--check", "--offline"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/gen-evidence: {e}"));
    match out.status.code() {
        Some(0) => {}
        Some(77) => eprintln!("SKIPPED: linux-source-6.1 is not cached; scripts/test (or scripts/gen-evidence --check) fetches it"),
        _ => panic!(
            "data/evidence differs from the generator's output:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
