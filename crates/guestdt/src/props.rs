//! The property policy shared by every target: for each property of a host node, whether the
//! guest node copies it, regenerates it, drops it (with or without a warning) or cannot be built
//! because of it — and why. It follows the 2018 generic-node proposal (REFERENCE §5), and goes
//! further for clocks (fixed-rate guest clocks when the rate is known) and for unknown
//! properties (copied only when they cannot hold a phandle).
//!
//! Owns: the decisions and their reasons. Must not: lay out addresses or interrupts (targets do).

use platreset_fdt::{Fdt, Node, PhandleIndex, Property};

/// What happens to one host property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Copied as is.
    Copy,
    /// Written anew by the target (`reg`, `interrupts`, `phandle`…).
    Regenerate,
    /// Host-only wiring: dropped, nothing lost for the guest.
    Drop,
    /// Dropped, but the guest driver may miss it.
    DropWithWarning,
    /// Replaced by guest fixed-rate clocks with these `(clock name or index, rate in Hz)`.
    FixedClocks(Vec<(String, u64)>),
    /// The node cannot be given to a guest because of this property.
    Refuse,
}

impl Action {
    /// A stable name for JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Copy => "copy",
            Action::Regenerate => "regenerate",
            Action::Drop => "drop",
            Action::DropWithWarning => "drop-with-warning",
            Action::FixedClocks(_) => "fixed-clocks",
            Action::Refuse => "refuse",
        }
    }
}

/// One property's fate, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Property name.
    pub name: String,
    /// What happens to it.
    pub action: Action,
    /// Why.
    pub why: String,
}

/// The user's overrides.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Properties to copy as they are, whatever they hold (`--keep NAME`).
    pub keep: Vec<String>,
    /// Properties to drop (`--drop NAME`).
    pub drop: Vec<String>,
    /// Clock rates by `clock-names` entry or index (`--clock-rate NAME=HZ`).
    pub clock_rates: Vec<(String, u64)>,
}

/// Properties the target writes anew.
const REGENERATED: &[&str] =
    &["reg", "interrupts", "interrupts-extended", "interrupt-parent", "phandle", "linux,phandle"];

/// Host-only wiring: the host keeps the device powered, clocked, reset, pinned and translated.
const HOST_ONLY: &[&str] = &[
    "resets",
    "reset-names",
    "power-domains",
    "power-domain-names",
    "iommus",
    "iommu-map",
    "iommu-map-mask",
    "pinctrl-names",
    "assigned-clocks",
    "assigned-clock-parents",
    "assigned-clock-rates",
];

/// Properties that hold phandles (bindings' `*s` + `#*-cells` pairs and friends): never copied.
const PHANDLE_HOLDERS: &[&str] = &[
    "phys",
    "mboxes",
    "interconnects",
    "nvmem-cells",
    "memory-region",
    "msi-parent",
    "msi-map",
    "thermal-sensors",
    "cooling-device",
    "sound-dai",
    "remote-endpoint",
    "phy-handle",
    "gpios",
    "gpio",
    "io-channels",
    "pwms",
    "hwlocks",
    "operating-points-v2",
    "interrupt-map",
    "power-supply",
];

/// Scalar or flag properties whose cells are numbers, never phandles.
const SCALARS: &[&str] = &[
    "clock-frequency",
    "reg-io-width",
    "reg-shift",
    "bus-width",
    "max-frequency",
    "fifo-size",
    "dma-coherent",
    "current-speed",
    "num-cs",
    "cap-sd-highspeed",
    "cap-mmc-highspeed",
    "max-speed",
    "phy-mode",
    "resets-count",
];

fn is_printable_strings(value: &[u8]) -> bool {
    value.last() == Some(&0)
        && value.len() > 1
        && !value.starts_with(&[0])
        && !value.windows(2).any(|w| w == [0, 0])
        && value.iter().all(|&b| b == 0 || (0x20..0x7f).contains(&b))
}

fn name_holds_phandles(name: &str) -> bool {
    PHANDLE_HOLDERS.contains(&name)
        || name.ends_with("-gpios")
        || name.ends_with("-gpio")
        || name.ends_with("-supply")
        || name.ends_with("-handle")
        || name.ends_with("-parent")
        || name.starts_with("pinctrl-")
        || name.ends_with(",syscon")
        || name.contains("syscon")
}

/// A tree and its phandle index, built once per node decided.
pub struct Tree<'f, 'a> {
    /// The host tree.
    pub fdt: &'f Fdt<'a>,
    /// Its phandles.
    pub phandles: PhandleIndex,
}

impl<'f, 'a> Tree<'f, 'a> {
    /// Indexes `fdt`'s phandles.
    pub fn new(fdt: &'f Fdt<'a>) -> Self {
        Tree { fdt, phandles: fdt.phandle_index() }
    }

    /// The node a phandle names.
    pub fn by_phandle(&self, phandle: u32) -> Option<Node<'f, 'a>> {
        self.phandles.lookup(self.fdt, phandle)
    }
}

/// The rate of clock `index` of `node`, named `name`, if known: the user's, then
/// `assigned-clock-rates` for the same specifier, then the provider's `clock-frequency`.
fn clock_rate(
    tree: &Tree<'_, '_>,
    node: &Node<'_, '_>,
    index: usize,
    name: &str,
    overrides: &Overrides,
) -> Option<u64> {
    if let Some((_, hz)) = overrides.clock_rates.iter().find(|(n, _)| n == name || *n == index.to_string()) {
        return Some(*hz);
    }
    let specs = clock_specifiers(tree, node, "clocks")?;
    let spec = specs.get(index)?;
    if let (Some(assigned), Some(rates)) =
        (clock_specifiers(tree, node, "assigned-clocks"), node.property("assigned-clock-rates"))
    {
        let rates: Vec<u32> = rates.u32s().ok()?.collect();
        if let Some(i) = assigned.iter().position(|a| a == spec) {
            if let Some(&rate) = rates.get(i).filter(|&&r| r != 0) {
                return Some(u64::from(rate));
            }
        }
    }
    let provider = tree.by_phandle(spec.0)?;
    let freq = provider.property("clock-frequency")?;
    let cells: Vec<u32> = freq.u32s().ok()?.collect();
    match cells.as_slice() {
        [hz] => Some(u64::from(*hz)),
        [hi, lo] => Some((u64::from(*hi) << 32) | u64::from(*lo)),
        _ => None,
    }
}

/// `(phandle, args)` of each specifier in a clocks-like property, by the providers' `#clock-cells`.
pub fn clock_specifiers(
    tree: &Tree<'_, '_>,
    node: &Node<'_, '_>,
    name: &str,
) -> Option<Vec<(u32, Vec<u32>)>> {
    let cells: Vec<u32> = node.property(name)?.u32s().ok()?.collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&phandle) = cells.get(i) {
        let provider = tree.by_phandle(phandle)?;
        let n = provider.property("#clock-cells").and_then(|p| p.u32().ok())? as usize;
        let args = cells.get(i + 1..i + 1 + n)?.to_vec();
        out.push((phandle, args));
        i += 1 + n;
    }
    Some(out)
}

fn decide(tree: &Tree<'_, '_>, node: &Node<'_, '_>, prop: &Property<'_>, overrides: &Overrides) -> Decision {
    let name = String::from_utf8_lossy(prop.name()).into_owned();
    let d = |action, why: String| Decision { name: name.clone(), action, why };
    if overrides.drop.contains(&name) {
        return d(Action::Drop, "dropped on request (--drop)".into());
    }
    if overrides.keep.contains(&name) {
        return d(Action::Copy, "kept on request (--keep): the guest gets the host's bytes".into());
    }
    if REGENERATED.contains(&name.as_str()) {
        return d(
            Action::Regenerate,
            "written anew for the guest's address map and interrupt controller".into(),
        );
    }
    if HOST_ONLY.contains(&name.as_str())
        || (name.starts_with("pinctrl-") && name[8..].chars().all(|c| c.is_ascii_digit()))
    {
        return d(
            Action::Drop,
            "host-only wiring: the host keeps the device reset, powered, pinned and behind its IOMMU".into(),
        );
    }
    match name.as_str() {
        "clocks" => return clocks(tree, node, overrides, d),
        "clock-names" => {
            return d(
                Action::Regenerate,
                "follows `clocks`: kept for the guest's fixed clocks, else dropped".into(),
            )
        }
        "dmas" | "dma-names" => {
            return d(
                Action::DropWithWarning,
                "the DMA controller stays with the host: the guest driver must work without external DMA"
                    .into(),
            )
        }
        "gpio-ranges" => {
            return d(
                Action::DropWithWarning,
                "the pin controller stays with the host: no GPIO-to-pin mapping in the guest".into(),
            )
        }
        "compatible" | "status" | "reg-names" | "interrupt-names" | "model" => {
            return d(Action::Copy, "describes the device itself".into())
        }
        _ => {}
    }
    if name.starts_with('#') && name.ends_with("-cells") {
        return d(Action::Copy, "a cell count: a number".into());
    }
    if prop.value().is_empty() {
        return d(Action::Copy, "a flag (empty property)".into());
    }
    if name == "memory-region" {
        return d(Action::Refuse, carve_outs(tree, prop));
    }
    if name_holds_phandles(&name) {
        return d(
            Action::Refuse,
            format!("`{name}` references another host node, which the guest does not have (--drop {name} to go without it)"),
        );
    }
    if is_printable_strings(prop.value()) {
        return d(Action::Copy, "strings cannot hold a phandle".into());
    }
    if SCALARS.contains(&name.as_str()) {
        return d(Action::Copy, "a number by its binding".into());
    }
    d(
        Action::DropWithWarning,
        format!(
            "unknown cells that could hold a phandle: not copied (--keep {name} to copy them as they are)"
        ),
    )
}

/// Why a `memory-region` stops the build: the carve-outs it names, with their host ranges.
fn carve_outs(tree: &Tree<'_, '_>, prop: &Property<'_>) -> String {
    let regions: Vec<String> = prop
        .u32s()
        .map(|cells| {
            cells
                .filter_map(|ph| tree.by_phandle(ph))
                .map(|n| match n.reg_cpu().ok().and_then(|r| r.first().copied()) {
                    Some(r) => format!("{} ({:#x} + {:#x})", n.path(), r.address, r.size),
                    None => format!("{} (dynamically allocated)", n.path()),
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "`memory-region` names host carve-out(s) {}: platreset carries no carve-out to a guest yet, for any target (QEMU and crosvm give the guest its own RAM; Xen's partial device tree keeps only /passthrough and /aliases); map the memory yourself and --drop memory-region",
        if regions.is_empty() { "that cannot be resolved".to_string() } else { regions.join(", ") }
    )
}

fn clocks(
    tree: &Tree<'_, '_>,
    node: &Node<'_, '_>,
    overrides: &Overrides,
    d: impl Fn(Action, String) -> Decision,
) -> Decision {
    let Some(specs) = clock_specifiers(tree, node, "clocks") else {
        return d(Action::Refuse, "`clocks` cannot be parsed (unknown provider or #clock-cells)".into());
    };
    let names: Vec<String> = node
        .property("clock-names")
        .map(|p| p.strings().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        .unwrap_or_default();
    let rates: Vec<Option<(String, u64)>> = (0..specs.len())
        .map(|i| {
            let name = names.get(i).cloned().unwrap_or_else(|| i.to_string());
            clock_rate(tree, node, i, &name, overrides).map(|hz| (name, hz))
        })
        .collect();
    if rates.iter().all(Option::is_some) {
        let rates: Vec<(String, u64)> = rates.into_iter().flatten().collect();
        let list: Vec<String> = rates.iter().map(|(n, hz)| format!("{n} = {hz} Hz")).collect();
        return d(
            Action::FixedClocks(rates),
            format!("guest fixed-rate clocks with the host's rates ({})", list.join(", ")),
        );
    }
    if node.property("power-domains").is_some() {
        return d(
            Action::DropWithWarning,
            "rates unknown, but the node has power-domains: the host keeps its clocks running while it is powered".into(),
        );
    }
    let unknown: Vec<String> = rates
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_none())
        .map(|(i, _)| names.get(i).cloned().unwrap_or_else(|| i.to_string()))
        .collect();
    d(
        Action::Refuse,
        format!(
            "`clocks`: the rate of {} is unknown and no power domain keeps it running (give it with --clock-rate NAME=HZ)",
            unknown.join(", ")
        ),
    )
}

/// The decision for every property of `node`, in property order.
pub fn decide_all(tree: &Tree<'_, '_>, node: &Node<'_, '_>, overrides: &Overrides) -> Vec<Decision> {
    node.properties().map(|p| decide(tree, node, &p, overrides)).collect()
}
