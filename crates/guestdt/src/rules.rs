//! Per-class rules: what a device class's binding offers in place of a host link the guest
//! cannot have, so the common classes build without flags — an MMC host polls for the card
//! instead of reading the host's card-detect GPIO (`broken-cd`), a device without its OPP table
//! runs at the frequency the host left. Each rule names the binding it follows.
//!
//! Owns: the table of rules and which class a node belongs to. Must not: decide anything the
//! binding does not say; a link no binding replaces stays a refusal in `props` (with its flag).

use platreset_fdt::Node;

/// The classes rules apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Any device.
    Any,
    /// MMC/SD/SDIO host controllers: `mmc-controller.yaml` names their node `mmc`; older trees
    /// say `sdhci`/`dwmmc`, so the compatible counts too.
    Mmc,
    /// Qualcomm UFS host controllers (`ufs/qcom,ufs.yaml`, compatible `qcom,ufshc`).
    QcomUfs,
    /// Synopsys DesignWare Ethernet MACs driven by stmmac (`net/snps,dwmac.yaml` and the glue
    /// bindings that reference it).
    Stmmac,
}

/// What a rule does with the host property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// Dropped, and this empty property (a flag of the binding) added in its place.
    Flag(&'static str),
    /// Dropped: the binding makes it optional, and the guest driver works without it.
    Optional,
    /// Needed: the guest driver fails to probe without it, and no guest node can stand in
    /// for what it names. A refusal no flag lifts.
    Required,
}

/// One rule: for devices of `class`, host property `property` becomes `replacement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    class: Class,
    /// The host property.
    pub property: &'static str,
    /// What the guest gets instead.
    pub replacement: Replacement,
    /// The binding that offers it, and what it says.
    pub binding: &'static str,
    /// What it means for the guest, and what the host must do.
    pub effect: &'static str,
}

/// The rules, most specific class first.
const RULES: &[Rule] = &[
    Rule {
        class: Class::Mmc,
        property: "cd-gpios",
        replacement: Replacement::Flag("broken-cd"),
        binding: "mmc/mmc-controller.yaml: broken-cd, there is no card detection available and polling must be used",
        effect: "the card-detect GPIO stays with the host: the guest polls for the card",
    },
    Rule {
        class: Class::Mmc,
        property: "wp-gpios",
        replacement: Replacement::Flag("disable-wp"),
        binding: "mmc/mmc-controller.yaml: disable-wp, no physical write-protect line is present",
        effect: "the write-protect GPIO stays with the host: the guest treats the card as writable",
    },
    Rule {
        class: Class::QcomUfs,
        property: "phys",
        replacement: Replacement::Required,
        binding: "ufs/qcom,ufs.yaml: phys; ufs-qcom takes it with devm_phy_get and fails its probe without it (drivers/ufs/host/ufs-qcom.c:1001)",
        effect: "the UFS PHY is a host device of its own (registers, clocks, resets): the guest cannot drive the controller without it, and platreset does not hand a PHY over with its controller",
    },
    Rule {
        class: Class::QcomUfs,
        property: "reset-gpios",
        replacement: Replacement::Optional,
        binding: "ufs/qcom,ufs.yaml: reset-gpios (the UFS device's RESET pin) is optional; ufs-qcom takes it with devm_gpiod_get_optional (drivers/ufs/host/ufs-qcom.c:1008)",
        effect: "the guest cannot pulse the UFS device's RESET pin: the device stays as the host left it, out of reset",
    },
    Rule {
        class: Class::Stmmac,
        property: "snps,reset-gpio",
        replacement: Replacement::Optional,
        binding: "net/snps,dwmac.yaml: snps,reset-gpio (the PHY's reset, deprecated) is optional; stmmac takes it with devm_gpiod_get_optional (stmmac_mdio.c:357)",
        effect: "the guest cannot reset the PHY through its GPIO: the PHY stays as the host left it, out of reset",
    },
    Rule {
        class: Class::Any,
        property: "allwinner,sram",
        replacement: Replacement::Required,
        binding: "sram/allwinner,sun4i-a10-system-control.yaml: allwinner,sram names the SRAM section the host's SRAM controller maps to the device; sunxi_sram_claim fails without it (drivers/soc/sunxi/sunxi_sram.c:175), and its callers fail their probe (cedrus: drivers/staging/media/sunxi/cedrus/cedrus_hw.c:259)",
        effect: "the SRAM mapping is a register of the host's system controller: the guest cannot claim it, and platreset does not hand the system controller over",
    },
    Rule {
        class: Class::Any,
        property: "interconnects",
        replacement: Replacement::Optional,
        binding: "interconnect/interconnect.txt: without `interconnects` Linux's of_icc_get returns no path and the driver casts no bandwidth votes (drivers/interconnect/core.c:462)",
        effect: "the guest casts no bandwidth votes; unbinding the host driver drops the host's too, so the path runs at the provider's floor and other users' votes: keep a vote on the host if the device needs bandwidth",
    },
    Rule {
        class: Class::Any,
        property: "operating-points-v2",
        replacement: Replacement::Optional,
        binding: "opp/opp-v2-base.yaml: the OPP table is optional for its consumer",
        effect: "the OPP table stays with the host: the guest cannot scale the device's frequency, which stays where the host left it",
    },
];

/// The words of a compatible's model part (`qcom,sdm845-ufshc` → `sdm845`, `ufshc`).
fn model_words(compatible: &[u8]) -> impl Iterator<Item = &[u8]> {
    let model = compatible.iter().position(|&b| b == b',').map_or(compatible, |i| &compatible[i + 1..]);
    model.split(|&b| b == b'-' || b == b'_')
}

/// The class of `node`, by its node name (what its binding requires) or its compatible.
fn class_of(node: &Node<'_, '_>) -> Class {
    const MMC_WORDS: &[&[u8]] = &[b"mmc", b"sdhci", b"mshc", b"sdmmc", b"sdmmc2", b"dwmmc"];
    let is_phy = |c: &[u8]| model_words(c).any(|w| w == b"phy");
    if MMC_WORDS.contains(&node.base_name())
        || node.compatible().any(|c| !is_phy(c) && model_words(c).any(|w| MMC_WORDS.contains(&w)))
    {
        return Class::Mmc;
    }
    if node.compatible().any(|c| c == b"qcom,ufshc") {
        return Class::QcomUfs;
    }
    let stmmac = |c: &[u8]| {
        c.starts_with(b"snps,dwmac")
            || c.starts_with(b"snps,dwxgmac")
            || c.starts_with(b"snps,dwc-qos-ethernet")
            || model_words(c).any(|w| w == b"dwmac" || w == b"ethqos")
            || (c.starts_with(b"rockchip,") && c.ends_with(b"-gmac"))
    };
    if node.compatible().any(stmmac) {
        return Class::Stmmac;
    }
    Class::Any
}

/// Whether `node` is a stmmac Ethernet MAC (its configuration nodes go with it: [`crate::subnodes`]).
pub fn is_stmmac(node: &Node<'_, '_>) -> bool {
    class_of(node) == Class::Stmmac
}

/// The rule for host property `name` of `node`, if its class has one.
pub fn for_property(node: &Node<'_, '_>, name: &str) -> Option<&'static Rule> {
    let class = class_of(node);
    RULES.iter().find(|r| r.property == name && (r.class == class || r.class == Class::Any))
}

/// Whether a child of a device is wiring a rule drops with it, not part of the device: the OPP
/// table node (`compatible = "operating-points-v2"`) goes with `operating-points-v2`.
pub fn drops_child(child: &Node<'_, '_>) -> bool {
    child.compatible().any(|c| c == b"operating-points-v2")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use platreset_fdt::Fdt;

    #[test]
    fn an_mmc_host_polls_and_any_device_goes_without_its_opp_table() {
        let blob = platreset_testkit::dtb_from_text(
            "/dts-v1/;\n/ {\n\tmmc@1000 { cd-gpios = <1 2 3>; opp: opp-table { compatible = \"operating-points-v2\"; }; };\n\
             \tserial@2000 { cd-gpios = <1 2 3>; operating-points-v2 = <&opp>; };\n};\n",
        );
        let fdt = Fdt::parse(&blob).unwrap();
        let mmc = fdt.find_path("/mmc@1000").unwrap();
        let serial = fdt.find_path("/serial@2000").unwrap();
        assert_eq!(for_property(&mmc, "cd-gpios").unwrap().replacement, Replacement::Flag("broken-cd"));
        assert!(for_property(&serial, "cd-gpios").is_none(), "not an MMC host: no rule");
        assert_eq!(for_property(&serial, "operating-points-v2").unwrap().replacement, Replacement::Optional);
        assert!(drops_child(&mmc.children().next().unwrap()));
    }

    #[test]
    fn classes_come_from_the_node_name_or_the_compatible_and_a_phy_is_no_host() {
        let blob = platreset_testkit::dtb_from_text(
            "/dts-v1/;\n/ {\n\tsdhci@1000 { compatible = \"qcom,sm8450-sdhci\", \"qcom,sdhci-msm-v5\"; };\n\
             \tphy@2000 { compatible = \"rockchip,rk3399-emmc-phy\"; };\n\
             \tufshc@3000 { compatible = \"qcom,sdm845-ufshc\", \"qcom,ufshc\", \"jedec,ufs-2.0\"; };\n\
             \tethernet@4000 { compatible = \"qcom,sm8150-ethqos\"; };\n\
             \tethernet@5000 { compatible = \"renesas,etheravb-r8a774a1\"; };\n};\n",
        );
        let fdt = Fdt::parse(&blob).unwrap();
        let class = |path: &str| class_of(&fdt.find_path(path).unwrap());
        assert_eq!(class("/sdhci@1000"), Class::Mmc);
        assert_eq!(class("/phy@2000"), Class::Any, "an eMMC PHY is no MMC host");
        assert_eq!(class("/ufshc@3000"), Class::QcomUfs);
        assert_eq!(class("/ethernet@4000"), Class::Stmmac);
        assert_eq!(class("/ethernet@5000"), Class::Any);
        let ufs = fdt.find_path("/ufshc@3000").unwrap();
        assert_eq!(for_property(&ufs, "reset-gpios").unwrap().replacement, Replacement::Optional);
        let phy = fdt.find_path("/phy@2000").unwrap();
        assert!(for_property(&phy, "reset-gpios").is_none(), "only where the binding makes it optional");
        assert!(for_property(&phy, "interconnects").is_some());
        assert_eq!(
            for_property(&ufs, "phys").unwrap().replacement,
            Replacement::Required,
            "no flag: ufs-qcom needs it"
        );
    }
}
