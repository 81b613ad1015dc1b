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
    /// MMC/SD/SDIO host controllers: `mmc-controller.yaml` requires their node name `mmc`.
    Mmc,
}

/// What a rule does with the host property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// Dropped, and this empty property (a flag of the binding) added in its place.
    Flag(&'static str),
    /// Dropped: the binding makes it optional, and the guest driver works without it.
    Optional,
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
        class: Class::Any,
        property: "operating-points-v2",
        replacement: Replacement::Optional,
        binding: "opp/opp-v2-base.yaml: the OPP table is optional for its consumer",
        effect: "the OPP table stays with the host: the guest cannot scale the device's frequency, which stays where the host left it",
    },
];

/// The class of `node`, by what its bindings require of it.
fn class_of(node: &Node<'_, '_>) -> Class {
    if node.base_name() == b"mmc" {
        Class::Mmc
    } else {
        Class::Any
    }
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
}
