//! The name Linux gives the platform device it makes for a DT node — the name under
//! `/sys/bus/platform/devices/` — as `of_device_make_bus_id()` (drivers/of/platform.c, 6.1) builds
//! it: walking up from the node, the first node whose first `reg` translates to a CPU address
//! gives `<address in hex>.<node name>` (or `<address>.<bit>.<name>` when it has a `mask`), each
//! node passed on the way adds its name in front, `:`-separated.
//!
//! Owns: that rule, once, for every caller (the guest-DT targets and `explain`'s next steps).

use crate::node::Node;

/// A node's name without its unit address (`%pOFn`).
fn base_name(node: &Node<'_, '_>) -> String {
    String::from_utf8_lossy(node.base_name()).into_owned()
}

impl Node<'_, '_> {
    /// The platform device name the kernel gives this node (`e6800000.ethernet`); `None` for the
    /// root, which is no platform device.
    pub fn platform_device_name(&self) -> Option<String> {
        let mut name: Option<String> = None;
        let mut node = *self;
        while let Some(parent) = node.parent() {
            let translated = node.reg().ok().and_then(|reg| reg.first().copied()).and_then(|first| {
                // of_translate_address takes the address alone; a zero size keeps our
                // span check from refusing what the kernel accepts.
                node.translate(first.address, 0).ok()
            });
            if let Some(address) = translated {
                let head = match node.property("mask").and_then(|p| p.u32().ok()) {
                    // ffs(mask) - 1: the lowest set bit's index; ffs(0) - 1 is -1, printed by %x as ffffffff.
                    Some(mask) => {
                        let bit = if mask == 0 { u32::MAX } else { mask.trailing_zeros() };
                        format!("{address:x}.{bit:x}.{}", base_name(&node))
                    }
                    None => format!("{address:x}.{}", base_name(&node)),
                };
                return Some(match name {
                    Some(tail) => format!("{head}:{tail}"),
                    None => head,
                });
            }
            let here = String::from_utf8_lossy(node.name()).into_owned();
            name = Some(match name {
                Some(tail) => format!("{here}:{tail}"),
                None => here,
            });
            node = parent;
        }
        name
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use crate::Fdt;

    fn names(dts_body: &str) -> Vec<(String, Option<String>)> {
        let blob = platreset_testkit::dtb_from_text(&format!(
            "/dts-v1/;\n/ {{\n#address-cells = <1>;\n#size-cells = <1>;\n{dts_body}\n}};\n"
        ));
        let fdt = Fdt::parse(&blob).unwrap();
        fdt.nodes().map(|n| (n.path(), n.platform_device_name())).collect()
    }

    fn name_of(all: &[(String, Option<String>)], path: &str) -> Option<String> {
        all.iter().find(|(p, _)| p == path).and_then(|(_, n)| n.clone())
    }

    #[test]
    fn a_node_with_reg_is_named_by_its_translated_address_and_base_name() {
        let all = names(
            "soc { compatible = \"simple-bus\"; #address-cells = <1>; #size-cells = <1>; \
             ranges = <0x0 0xe0000000 0x10000000>; \
             ethernet@6800000 { reg = <0x6800000 0x800>; }; \
             gpio@50000 { reg = <0x50000 0x50>; mask = <0x30>; }; \
             bus { leds { }; }; };",
        );
        assert_eq!(name_of(&all, "/soc/ethernet@6800000").as_deref(), Some("e6800000.ethernet"));
        assert_eq!(name_of(&all, "/soc/gpio@50000").as_deref(), Some("e0050000.4.gpio"));
        // No reg on the way up: every ancestor below the root adds its name.
        assert_eq!(name_of(&all, "/soc/bus/leds").as_deref(), Some("soc:bus:leds"));
        assert_eq!(name_of(&all, "/").as_deref(), None);
    }

    #[test]
    fn a_node_without_a_translatable_reg_takes_its_ancestors_names_until_one_translates() {
        let all = names(
            "dev@1000 { reg = <0x1000 0x100>; #address-cells = <1>; #size-cells = <0>; \
             port@2 { reg = <2>; }; }; \
             plain { };",
        );
        // dev@1000's children are not memory-mapped (no ranges): named after the translated parent.
        assert_eq!(name_of(&all, "/dev@1000/port@2").as_deref(), Some("1000.dev:port@2"));
        assert_eq!(name_of(&all, "/plain").as_deref(), Some("plain"));
    }
}
