//! The property policy shared by every target: for each property of a host node, whether the
//! guest node copies it, regenerates it, drops it (with or without a warning) or cannot be built
//! because of it — and why. It follows the 2018 generic-node proposal (REFERENCE §5), and goes
//! further for clocks (fixed-rate guest clocks when the rate is known), for supplies (always-on
//! guest fixed regulators named after the host's, which the host must keep on) and for unknown
//! properties (copied only when they cannot hold a phandle). Every refusal carries the flag that
//! lifts it, when one does, and what that flag costs the guest ([`Fix`]).
//!
//! Owns: the decisions, their reasons and their fixes. Must not: lay out addresses or interrupts
//! (targets do).

use crate::driver_needs::{self, GuestNeed, Resource};
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
    /// A `*-supply` replaced by an always-on guest fixed regulator standing in for this host one.
    FixedRegulator(Supply),
    /// Dropped, and this flag of the device's binding added in its place (`cd-gpios` →
    /// `broken-cd`: [`crate::rules`]).
    ReplacedByFlag(&'static str),
    /// A phandle naming a part of the device that goes with it ([`crate::subnodes`]): written
    /// as the guest copy's phandle.
    LocalReference {
        /// The host phandle it held.
        host_phandle: u32,
    },
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
            Action::FixedRegulator(_) => "fixed-regulator",
            Action::ReplacedByFlag(_) => "replaced-by-flag",
            Action::LocalReference { .. } => "follows-part",
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
    /// For a refusal: the flag that lifts it and what that costs the guest.
    pub fix: Option<Fix>,
    /// Guest fixed clocks only: some rate was read from the running host (`--from-host`).
    pub rates_from_host: bool,
    /// `resets`, and `clocks` of unknown rate: what the guest's Linux driver needs from them
    /// (the kernel-source evidence the decision rests on).
    pub guest_driver: Option<GuestNeed>,
}

/// The flag that lifts a refusal (`--drop NAME`) and what the guest loses by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The property to drop.
    pub drop: String,
    /// What the guest loses, for the user to weigh.
    pub cost: String,
}

impl Fix {
    /// The command-line flag: `--drop NAME`.
    pub fn flag(&self) -> String {
        format!("--drop {}", self.drop)
    }

    /// Adds the flag to `overrides`.
    pub fn apply(&self, overrides: &mut Overrides) {
        if !overrides.drop.contains(&self.drop) {
            overrides.drop.push(self.drop.clone());
        }
    }
}

/// Whether the host keeps a regulator on by itself once its consumer lets go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptOn {
    /// `regulator-always-on`: the host kernel never switches it off.
    AlwaysOn,
    /// `regulator-boot-on` only: on from boot, but the host kernel switches it off when its last
    /// consumer disables it (the host driver does on unbind).
    BootOn,
    /// Neither: nothing keeps it on.
    No,
}

impl KeptOn {
    /// A stable name for JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            KeptOn::AlwaysOn => "always-on",
            KeptOn::BootOn => "boot-on",
            KeptOn::No => "no",
        }
    }
}

/// A host regulator a guest fixed regulator stands in for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supply {
    /// The host regulator node's path.
    pub host: String,
    /// Its name: `regulator-name`, else the node name (the guest regulator's `regulator-name`).
    pub name: String,
    /// The guest node's name: the host node's, without unit address, starting with `regulator`.
    pub node: String,
    /// Its voltage when the host states a fixed one (`regulator-min-microvolt` equal to
    /// `regulator-max-microvolt`).
    pub microvolt: Option<u32>,
    /// The host's `(min, max)` when it states a range instead.
    pub range: Option<(u32, u32)>,
    /// Whether the host keeps it on by itself.
    pub kept_on: KeptOn,
}

impl Supply {
    /// Whether the report must warn: nothing on the host keeps the regulator on.
    pub fn warns(&self) -> bool {
        self.kept_on == KeptOn::No
    }

    /// What the host must do, naming the regulator.
    pub fn host_duty(&self) -> String {
        let who = format!("`{}` ({})", self.name, self.host);
        match self.kept_on {
            KeptOn::AlwaysOn => format!(
                "the host must keep {who} on after unbinding the device: it is regulator-always-on, so the host kernel does"
            ),
            KeptOn::BootOn => format!(
                "the host must keep {who} on after unbinding the device: it is regulator-boot-on, but the host kernel may switch it off when the host driver lets go; add regulator-always-on to the host node"
            ),
            KeptOn::No => format!(
                "the host must keep {who} on after unbinding the device, but it is neither regulator-always-on nor regulator-boot-on: the host kernel may switch it off when the host driver lets go; add regulator-always-on to the host node"
            ),
        }
    }

    /// The guest regulator, as one phrase.
    pub fn guest_side(&self) -> String {
        let voltage = match (self.microvolt, self.range) {
            (Some(uv), _) => format!("at {}", volts(uv)),
            (None, Some((min, max))) => format!(
                "with no voltage: the host's ranges {} to {}, so the guest's is unknown; a guest driver that reads or sets it (MMC switching vqmmc to 1.8V for UHS, say) gets an error and keeps what the host left",
                volts(min),
                volts(max)
            ),
            (None, None) => "with no voltage: the host states none; a guest driver that reads or sets it gets an error and keeps what the host left".to_string(),
        };
        format!("guest regulator-fixed `{}`, always on, {voltage}", self.name)
    }
}

/// Microvolts as volts, one word: `3300000` → `3.3V`.
fn volts(microvolt: u32) -> String {
    let whole = microvolt / 1_000_000;
    let fraction = format!("{:06}", microvolt % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{whole}V")
    } else {
        format!("{whole}.{fraction}V")
    }
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
    /// The running host's clocks (`--from-host`): after the user's rates, before the tree's.
    pub host_clocks: Option<std::sync::Arc<HostClocks>>,
}

/// The running host's clocks, as its kernel's clock summary shows them.
#[derive(Debug, Clone, Default)]
pub struct HostClocks {
    /// Where they were read (the file), for the report.
    pub source: String,
    /// Every clock.
    pub clocks: Vec<HostClock>,
    /// Whether the kernel lists consumers at all (older kernels do not).
    pub lists_consumers: bool,
}

/// One clock of the running host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostClock {
    /// Its name in the clock framework.
    pub name: String,
    /// Its rate in Hz.
    pub rate: u64,
    /// `(device, connection id)` of each consumer the kernel lists.
    pub consumers: Vec<(String, String)>,
}

impl HostClocks {
    /// The rate of clock `index` of `node` (named `name` when it has `clock-names`) on the
    /// running host, with where it came from: the consumer the kernel lists for the device and
    /// connection id, else the provider's `clock-output-names` entry for the specifier.
    fn rate(
        &self,
        tree: &Tree<'_, '_>,
        node: &Node<'_, '_>,
        index: usize,
        name: &str,
    ) -> Result<(u64, String), String> {
        let device = node.platform_device_name();
        // A driver that asks for its only clock without a name gets the first one.
        let connection = if node.property("clock-names").is_some() {
            Some(name.to_string())
        } else {
            (index == 0).then(|| "no_connection_id".to_string())
        };
        if let (Some(device), Some(connection)) = (&device, &connection) {
            let wanted = (device.clone(), connection.clone());
            // A driver that asks without a name gets the first clock whatever clock-names says
            // (pl011 takes its `uartclk` so, as the real kernel's summary shows).
            let unnamed = (device.clone(), "no_connection_id".to_string());
            let mut asks = vec![&wanted];
            if index == 0 && wanted != unnamed {
                asks.push(&unnamed);
            }
            for ask in asks {
                if let Some(clock) = self.clocks.iter().find(|c| c.consumers.contains(ask)) {
                    let how = if ask.1 == "no_connection_id" {
                        "without a name".into()
                    } else {
                        format!("as `{}`", ask.1)
                    };
                    return Ok((
                        clock.rate,
                        format!(
                            "the running host: clock `{}`, which {device} takes {how} ({})",
                            clock.name, self.source
                        ),
                    ));
                }
            }
        }
        let spec = clock_specifiers(tree, node, "clocks").and_then(|s| s.get(index).cloned());
        let provider = spec.as_ref().and_then(|s| tree.by_phandle(s.0));
        if let (Some(spec), Some(provider)) = (&spec, &provider) {
            if let Some(output) = output_name(provider, &spec.1) {
                if let Some(clock) = self.clocks.iter().find(|c| c.name == output) {
                    return Ok((
                        clock.rate,
                        format!(
                            "the running host: clock `{output}` (clock-output-names of {}) ({})",
                            provider.path(),
                            self.source
                        ),
                    ));
                }
            }
        }
        let named = provider.is_some_and(|p| p.property("clock-output-names").is_some());
        Err(match (&device, self.lists_consumers) {
            (Some(device), true) => format!(
                "the running host lists no consumer {device} `{}`: read the rates while the host driver still holds the device, before unbinding it",
                connection.unwrap_or_else(|| index.to_string())
            ),
            _ if named => "the running host has no clock of that clock-output-names entry".into(),
            _ => "the running kernel's clock summary lists no consumers (older kernels do not) and the provider names its clocks in no clock-output-names".into(),
        })
    }
}

/// The provider's `clock-output-names` entry for specifier `args`: the only one for
/// `#clock-cells = <0>`, else the entry whose `clock-indices` value (or position) is `args[0]`.
fn output_name(provider: &Node<'_, '_>, args: &[u32]) -> Option<String> {
    let names: Vec<String> = provider
        .property("clock-output-names")?
        .strings()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    let position = match args {
        [] => 0,
        [index] => match provider.property("clock-indices").and_then(|p| p.u32s().ok()) {
            Some(indices) => indices.into_iter().position(|i| i == *index)?,
            None => usize::try_from(*index).ok()?,
        },
        _ => return None,
    };
    names.get(position).cloned()
}

/// Properties the target writes anew.
const REGENERATED: &[&str] =
    &["reg", "interrupts", "interrupts-extended", "interrupt-parent", "phandle", "linux,phandle"];

/// Host-only wiring: the host keeps the device powered, clocked, reset, pinned and translated
/// (`resets` too, decided in `resets()`: unless the guest's driver requires a line).
const HOST_ONLY: &[&str] = &[
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

/// Why a host-only property is dropped.
const HOST_ONLY_WHY: &str =
    "host-only wiring: the host keeps the device reset, powered, pinned and behind its IOMMU";

/// The strings of string-list property `name` of `node` (none when it is absent).
fn string_list(node: &Node<'_, '_>, name: &str) -> Vec<String> {
    node.property(name)
        .map(|p| p.strings().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        .unwrap_or_default()
}

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
    // net/ethernet-controller.yaml
    "rx-fifo-depth",
    "tx-fifo-depth",
    "max-frame-size",
    "rx-internal-delay-ps",
    "tx-internal-delay-ps",
    // net/snps,dwmac.yaml: the MAC's numbers and those of its configuration nodes (none of
    // them names a node; the ones that do, `snps,axi-config` and the MTL pair, are references)
    "snps,reset-delays-us",
    "snps,pbl",
    "snps,txpbl",
    "snps,rxpbl",
    "snps,ps-speed",
    "snps,wr_osr_lmt",
    "snps,rd_osr_lmt",
    "snps,blen",
    "snps,rx-queues-to-use",
    "snps,tx-queues-to-use",
    "snps,map-to-dma-channel",
    "snps,priority",
    "snps,weight",
    "snps,send_slope",
    "snps,idle_slope",
    "snps,high_credit",
    "snps,low_credit",
    // dma/dma-controller.yaml and dma-common.yaml: a DMA controller's counts (rcar-dmac fails its
    // probe without dma-channels)
    "dma-channels",
    "dma-requests",
    "dma-channel-mask",
    "dma-masters",
    // watchdog/watchdog.yaml, i2c/i2c-controller.yaml, spi/spi-controller.yaml,
    // mmc/mmc-controller.yaml: numbers
    "timeout-sec",
    "i2c-scl-rising-time-ns",
    "i2c-scl-falling-time-ns",
    "i2c-scl-internal-delay-ns",
    "i2c-sda-falling-time-ns",
    "i2c-sda-hold-time-ns",
    "i2c-digital-filter-width-ns",
    "spi-max-frequency",
    "spi-rx-bus-width",
    "spi-tx-bus-width",
    "fixed-emmc-driver-type",
    // eeprom/at24.yaml: an I2C EEPROM's geometry
    "pagesize",
    "address-width",
    // mmc/sdhci-msm.yaml: the DLL's settings
    "qcom,dll-config",
    "qcom,ddr-config",
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
    /// Every non-zero `assigned-clock-rates` entry of the tree: the clock, the rate and the
    /// node that assigns it.
    assigned: Vec<(ClockSpecifier, u32, String)>,
}

/// A clock as a consumer names it: the provider's phandle and the specifier's cells.
type ClockSpecifier = (u32, Vec<u32>);

impl<'f, 'a> Tree<'f, 'a> {
    /// Indexes `fdt`'s phandles and its assigned clock rates.
    pub fn new(fdt: &'f Fdt<'a>) -> Self {
        let mut tree = Tree { fdt, phandles: fdt.phandle_index(), assigned: Vec::new() };
        let mut assigned = Vec::new();
        for node in fdt.nodes() {
            let Some(rates) = node.property("assigned-clock-rates").and_then(|p| p.u32s().ok()) else {
                continue;
            };
            let Some(clocks) = clock_specifiers(&tree, &node, "assigned-clocks") else { continue };
            // A rate of 0 leaves the clock as it is (the assigned-clock-rates binding).
            let path = node.path();
            assigned.extend(
                clocks.into_iter().zip(rates).filter(|(_, r)| *r != 0).map(|(c, r)| (c, r, path.clone())),
            );
        }
        tree.assigned = assigned;
        tree
    }

    /// The node a phandle names.
    pub fn by_phandle(&self, phandle: u32) -> Option<Node<'f, 'a>> {
        self.phandles.lookup(self.fdt, phandle)
    }
}

/// The rate of clock `index` of `node`, named `name`, if known, with where it came from: the
/// user's, then `assigned-clock-rates` for the same clock (the node's own, else the tree's),
/// then what the provider states.
fn clock_rate(
    tree: &Tree<'_, '_>,
    node: &Node<'_, '_>,
    index: usize,
    name: &str,
    overrides: &Overrides,
) -> Option<(u64, RateSource)> {
    if let Some((_, hz)) = overrides.clock_rates.iter().find(|(n, _)| n == name || *n == index.to_string()) {
        return Some((*hz, RateSource::User));
    }
    if let Some(live) = &overrides.host_clocks {
        if let Ok((hz, from)) = live.rate(tree, node, index, name) {
            return Some((hz, RateSource::RunningHost(from)));
        }
    }
    let specs = clock_specifiers(tree, node, "clocks")?;
    let spec = specs.get(index)?;
    let path = node.path();
    if let Some((_, rate, by)) = tree.assigned.iter().find(|(c, _, by)| c == spec && *by == path) {
        return Some((u64::from(*rate), RateSource::Tree(format!("assigned-clock-rates of {by}"))));
    }
    // Another node's assignment holds once that node has probed; nodes that disagree leave the
    // rate to whichever probed last, which the tree cannot say.
    let mut others = tree.assigned.iter().filter(|(c, _, _)| c == spec);
    if let Some((_, rate, by)) = others.next() {
        return others
            .all(|(_, r, _)| r == rate)
            .then(|| (u64::from(*rate), RateSource::Tree(format!("assigned-clock-rates of {by}"))));
    }
    provider_rate(tree, spec, 0).map(|(hz, from)| (hz, RateSource::Tree(from)))
}

/// Where a guest clock's rate came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RateSource {
    /// `--clock-rate`.
    User,
    /// The running host's clock summary, and which clock of it.
    RunningHost(String),
    /// The host tree, and where in it.
    Tree(String),
}

impl std::fmt::Display for RateSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RateSource::User => f.write_str("--clock-rate"),
            RateSource::RunningHost(from) | RateSource::Tree(from) => f.write_str(from),
        }
    }
}

/// The rate a provider states for clock `spec`: a fixed clock's `clock-frequency`, or a
/// fixed-factor clock's parent rate × `clock-mult` / `clock-div`.
fn provider_rate(tree: &Tree<'_, '_>, spec: &ClockSpecifier, depth: usize) -> Option<(u64, String)> {
    // A chain of fixed-factor clocks longer than this is a loop.
    if depth > 16 {
        return None;
    }
    let provider = tree.by_phandle(spec.0)?;
    if let Some(freq) = provider.property("clock-frequency") {
        let cells: Vec<u32> = freq.u32s().ok()?.collect();
        let hz = match cells.as_slice() {
            [hz] => u64::from(*hz),
            [hi, lo] => (u64::from(*hi) << 32) | u64::from(*lo),
            _ => return None,
        };
        return Some((hz, format!("clock-frequency of {}", provider.path())));
    }
    if provider.compatible().any(|c| c == b"fixed-factor-clock") && spec.1.is_empty() {
        let mult = provider.property("clock-mult")?.u32().ok()?;
        let div = provider.property("clock-div")?.u32().ok().filter(|&d| d != 0)?;
        let parent = clock_specifiers(tree, &provider, "clocks")?.into_iter().next()?;
        let (hz, from) = provider_rate(tree, &parent, depth + 1)?;
        let rate = hz.checked_mul(u64::from(mult))? / u64::from(div);
        return Some((rate, format!("{from} × {mult} / {div} ({})", provider.path())));
    }
    None
}

/// `(phandle, args)` of each specifier in a clocks-like property, by the providers' `#clock-cells`.
pub fn clock_specifiers(tree: &Tree<'_, '_>, node: &Node<'_, '_>, name: &str) -> Option<Vec<ClockSpecifier>> {
    let cells: Vec<u32> = node.property(name)?.u32s().ok()?.collect();
    tree.fdt
        .specifiers(&tree.phandles, &cells, |p| platreset_fdt::cells_named(p, "#clock-cells"))
        .map(|entry| entry.ok().map(|s| (s.phandle, s.args.to_vec())))
        .collect()
}

pub(crate) fn decide(
    tree: &Tree<'_, '_>,
    node: &Node<'_, '_>,
    prop: &Property<'_>,
    overrides: &Overrides,
) -> Decision {
    let name = String::from_utf8_lossy(prop.name()).into_owned();
    let d = |action, why: String| Decision {
        name: name.clone(),
        action,
        why,
        fix: None,
        rates_from_host: false,
        guest_driver: None,
    };
    if overrides.drop.contains(&name) {
        return d(Action::Drop, "dropped on request (--drop)".into());
    }
    if overrides.keep.contains(&name) {
        return d(Action::Copy, "kept on request (--keep): the guest gets the host's bytes".into());
    }
    if let Some(rule) = crate::rules::for_property(node, &name) {
        return match rule.replacement {
            crate::rules::Replacement::Flag(flag) => d(
                Action::ReplacedByFlag(flag),
                format!("replaced by `{flag}` ({}): {}", rule.binding, rule.effect),
            ),
            crate::rules::Replacement::Optional => {
                d(Action::DropWithWarning, format!("optional ({}): {}", rule.binding, rule.effect))
            }
            crate::rules::Replacement::Required => {
                let target = referenced(tree, prop);
                let what =
                    target.map_or_else(|| "another host node".to_string(), |t| format!("host node {t}"));
                d(
                    Action::Refuse,
                    format!("`{name}`: the driver requires {what} ({}): {}", rule.binding, rule.effect),
                )
            }
        };
    }
    if REGENERATED.contains(&name.as_str()) {
        return d(
            Action::Regenerate,
            "written anew for the guest's address map and interrupt controller".into(),
        );
    }
    if name == "resets" {
        return resets(tree, node, d);
    }
    if HOST_ONLY.contains(&name.as_str())
        || (name.starts_with("pinctrl-") && name[8..].chars().all(|c| c.is_ascii_digit()))
    {
        return d(Action::Drop, HOST_ONLY_WHY.into());
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
        return refuse(d(Action::Refuse, carve_outs(tree, prop)), cost_of_dropping(&name, None));
    }
    if name.ends_with("-supply") {
        return supply(tree, prop, d);
    }
    if name_holds_phandles(&name) {
        let target = referenced(tree, prop);
        let what =
            target.as_deref().map_or_else(|| "another host node".to_string(), |t| format!("host node {t}"));
        return refuse(
            d(
                Action::Refuse,
                format!("`{name}` references {what}, which the guest does not have (--drop {name} to go without it)"),
            ),
            cost_of_dropping(&name, target.as_deref()),
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

/// A refusal lifted by dropping the property, at `cost` to the guest.
fn refuse(decision: Decision, cost: String) -> Decision {
    let fix = Fix { drop: decision.name.clone(), cost };
    Decision { fix: Some(fix), ..decision }
}

/// The host node the first cell of `prop` names as a phandle, if it names one.
fn referenced(tree: &Tree<'_, '_>, prop: &Property<'_>) -> Option<String> {
    let phandle = prop.u32s().ok()?.next()?;
    tree.by_phandle(phandle).map(|n| n.path())
}

/// What the guest loses when the host reference `name` (to `target`) is dropped.
pub(crate) fn cost_of_dropping(name: &str, target: Option<&str>) -> String {
    let stem = name.trim_end_matches("-gpios").trim_end_matches("-gpio");
    let gpio = name != stem || name == "gpios" || name == "gpio";
    match name {
        "cd-gpios" => return "the guest cannot see card insertion".into(),
        "wp-gpios" => return "the guest cannot read the write-protect switch: the card counts as writable".into(),
        "phys" | "phy-handle" => {
            return "the guest cannot power or configure the PHY: it works only as the host left it, and the host driver usually powers it off when it lets go of the device (phy_power_off at unbind)".into()
        }
        "memory-region" => {
            return "the guest driver gets no carve-out: it allocates from guest RAM or fails; map the memory yourself if it needs that range".into()
        }
        "mboxes" => return "the guest cannot message the mailbox's other end (firmware or coprocessor)".into(),
        "interconnects" => {
            return "the guest cannot vote for interconnect bandwidth: the host's votes stay as they are".into()
        }
        "nvmem-cells" => {
            return "the guest cannot read the NVMEM cells (a MAC address, calibration data): defaults apply".into()
        }
        "msi-parent" | "msi-map" => return "the guest gets no MSIs: the driver uses wired interrupts or fails".into(),
        "pwms" => return "the guest cannot drive the PWM".into(),
        "clocks" => return "the guest driver gets no clock: one that needs it fails to probe".into(),
        "io-channels" => return "the guest cannot read the ADC channels".into(),
        "operating-points-v2" => return "the guest gets no OPP table: no frequency scaling".into(),
        "hwlocks" => return "the guest cannot take the hardware spinlock it shares with the host".into(),
        _ => {}
    }
    if gpio && (stem.ends_with("reset") || stem == "rst") {
        return "the guest cannot reset the device through its GPIO: the host must leave it out of reset"
            .into();
    }
    if gpio && ["enable", "en", "power", "pwr", "powerdown", "shutdown"].contains(&stem) {
        return "the guest cannot switch the device on or off through its GPIO: the host must leave it on"
            .into();
    }
    if gpio {
        return format!(
            "the guest cannot drive or read the `{name}` line (the GPIO controller stays with the host)"
        );
    }
    if name.ends_with("-supply") {
        return "the guest driver gets no regulator: Linux gives it a dummy one, or a driver that requires it fails to probe".into();
    }
    if name.contains("syscon") {
        return "the guest cannot reach the system controller's registers: what the driver does through them fails".into();
    }
    match target {
        Some(t) => format!("the guest driver goes without `{name}`, its link to {t}"),
        None => format!("the guest driver goes without `{name}`"),
    }
}

/// A `*-supply`: an always-on guest fixed regulator standing in for the host's, when the
/// property names one regulator; refused otherwise.
fn supply(tree: &Tree<'_, '_>, prop: &Property<'_>, d: impl Fn(Action, String) -> Decision) -> Decision {
    let name = String::from_utf8_lossy(prop.name()).into_owned();
    let regulator = match prop.u32() {
        Ok(phandle) => tree.by_phandle(phandle),
        Err(_) => None,
    };
    let Some(regulator) = regulator else {
        return refuse(
            d(
                Action::Refuse,
                format!(
                    "`{name}` does not name one host regulator by phandle (--drop {name} to go without it)"
                ),
            ),
            cost_of_dropping(&name, None),
        );
    };
    let u32_of = |p: &str| regulator.property(p).and_then(|v| v.u32().ok());
    let (min, max) = (u32_of("regulator-min-microvolt"), u32_of("regulator-max-microvolt"));
    let node_name = regulator.name_lossy();
    let stem = node_name.split('@').next().unwrap_or_default();
    let guest_node =
        if stem.starts_with("regulator") { stem.to_string() } else { format!("regulator-{stem}") };
    let supply = Supply {
        host: regulator.path(),
        name: regulator
            .property("regulator-name")
            .map(|p| String::from_utf8_lossy(p.first_string()).into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| node_name.clone().into_owned()),
        node: guest_node,
        microvolt: min.filter(|_| min == max),
        range: min.zip(max).filter(|(lo, hi)| lo != hi),
        kept_on: if regulator.property("regulator-always-on").is_some() {
            KeptOn::AlwaysOn
        } else if regulator.property("regulator-boot-on").is_some() {
            KeptOn::BootOn
        } else {
            KeptOn::No
        },
    };
    let why = format!("{}; {}", supply.guest_side(), supply.host_duty());
    d(Action::FixedRegulator(supply), why)
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
        return refuse(
            d(Action::Refuse, "`clocks` cannot be parsed (unknown provider or #clock-cells)".into()),
            "the guest driver gets no clock: one that needs it fails to probe".into(),
        );
    };
    let names = string_list(node, "clock-names");
    // A clock's name for --clock-rate and the messages: its `clock-names` entry, else its index.
    let name_of = |i: usize| names.get(i).cloned().unwrap_or_else(|| i.to_string());
    let rates: Vec<Option<(String, u64, RateSource)>> = (0..specs.len())
        .map(|i| {
            let name = name_of(i);
            clock_rate(tree, node, i, &name, overrides).map(|(hz, from)| (name, hz, from))
        })
        .collect();
    if rates.iter().all(Option::is_some) {
        let rates: Vec<(String, u64, RateSource)> = rates.into_iter().flatten().collect();
        let list: Vec<String> =
            rates.iter().map(|(n, hz, from)| format!("{n} = {hz} Hz, from {from}")).collect();
        let rates_from_host = rates.iter().any(|(_, _, from)| matches!(from, RateSource::RunningHost(_)));
        let decision = d(
            Action::FixedClocks(rates.into_iter().map(|(n, hz, _)| (n, hz)).collect()),
            format!("guest fixed-rate clocks with the host's rates ({})", list.join("; ")),
        );
        return Decision { rates_from_host, ..decision };
    }
    // Without fixed clocks the guest gets none: fine only for a driver that probes without them.
    let need = driver_needs::guest_need(node, Resource::Clocks, &names, specs.len());
    let unknown: Vec<String> =
        rates.iter().enumerate().filter(|(_, r)| r.is_none()).map(|(i, _)| name_of(i)).collect();
    let cost = match &need {
        GuestNeed::Required { .. } => format!(
            "{}: the guest tree would not work; if you know the rate, --clock-rate {}=HZ instead keeps a fixed clock",
            need.sentence(),
            unknown.join("=HZ --clock-rate ")
        ),
        _ => format!(
            "the guest driver gets no clock: one that needs it fails to probe, one that reads its rate cannot time the device; if you know the rate, --clock-rate {}=HZ instead keeps a fixed clock",
            unknown.join("=HZ --clock-rate ")
        ),
    };
    let with_need = |decision: Decision| Decision { guest_driver: Some(need.clone()), ..decision };
    if node.property("power-domains").is_some() && !matches!(need, GuestNeed::Required { .. }) {
        return with_need(d(
            Action::DropWithWarning,
            format!("rates unknown, and {}; the node has power-domains: vfio-platform holds the device runtime-active while a VM has it open (pm_runtime_get_sync, vfio_platform_common.c:255), and a clock domain (Renesas CPG/MSSR and others) then runs its clocks; a domain that only switches power does not, and then the host must keep the clocks on", need.sentence()),
        ));
    }
    // The rate is the host clock driver's, computed at run time: only the running host knows it.
    let how = match &overrides.host_clocks {
        Some(live) => {
            let whys: Vec<String> = rates
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_none())
                .filter_map(|(i, _)| {
                    let name = name_of(i);
                    live.rate(tree, node, i, &name).err().map(|why| format!("{name}: {why}"))
                })
                .collect();
            format!("--from-host found none ({}); give it with --clock-rate NAME=HZ", whys.join("; "))
        }
        None => "the host's clock driver computes it at run time: read it from the running host with --from-host, or give it with --clock-rate NAME=HZ".into(),
    };
    let why = match &need {
        GuestNeed::Required { .. } => format!(
            "`clocks`: {}, and the rate of {} is unknown ({how})",
            need.sentence(),
            unknown.join(", ")
        ),
        _ => format!(
            "`clocks`: the rate of {} is unknown and no power domain keeps it running ({how})",
            unknown.join(", ")
        ),
    };
    with_need(refuse(d(Action::Refuse, why), cost))
}

/// `resets`: host-only wiring (the host resets the device through VFIO), unless the guest's
/// driver fails its probe without a reset line the node has — no guest device can stand in for
/// the host's reset controller, so the tree would not work.
fn resets(tree: &Tree<'_, '_>, node: &Node<'_, '_>, d: impl Fn(Action, String) -> Decision) -> Decision {
    let names = string_list(node, "reset-names");
    let count = node
        .property("resets")
        .and_then(|p| p.u32s().ok())
        .map(|cells| {
            let cells: Vec<u32> = cells.collect();
            tree.fdt
                .specifiers(&tree.phandles, &cells, |p| platreset_fdt::cells_named(p, "#reset-cells"))
                .count()
        })
        .unwrap_or(0);
    let need = driver_needs::guest_need(node, Resource::Resets, &names, count);
    let decision = if need.is_required() {
        refuse(
            d(
                Action::Refuse,
                format!(
                    "`resets`: {}; no guest device can stand in for the host's reset controller",
                    need.sentence()
                ),
            ),
            format!("{}: the guest tree would not work", need.sentence()),
        )
    } else {
        d(Action::Drop, HOST_ONLY_WHY.into())
    };
    Decision { guest_driver: Some(need), ..decision }
}

/// The decision for every property of `node`, in property order.
pub fn decide_all(tree: &Tree<'_, '_>, node: &Node<'_, '_>, overrides: &Overrides) -> Vec<Decision> {
    node.properties().map(|p| decide(tree, node, &p, overrides)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volts_drop_trailing_zeros_and_keep_whole_volts_plain() {
        assert_eq!(volts(3_300_000), "3.3V");
        assert_eq!(volts(1_800_000), "1.8V");
        assert_eq!(volts(5_000_000), "5V");
        assert_eq!(volts(1_234_567), "1.234567V");
        assert_eq!(volts(900_000), "0.9V");
    }

    #[test]
    fn the_cost_of_dropping_a_reference_says_what_the_guest_loses() {
        assert_eq!(cost_of_dropping("cd-gpios", None), "the guest cannot see card insertion");
        assert!(cost_of_dropping("reset-gpios", None).contains("out of reset"));
        assert!(cost_of_dropping("snps,reset-gpio", None).contains("out of reset"));
        assert!(cost_of_dropping("enable-gpios", None).contains("leave it on"));
        assert!(cost_of_dropping("led-gpios", None).contains("`led-gpios` line"));
        assert!(cost_of_dropping("interconnects", None).contains("bandwidth"));
        assert!(cost_of_dropping("acme,syscon", Some("/syscon@1000")).contains("system controller"));
        assert_eq!(
            cost_of_dropping("acme,companion", Some("/companion@2000")),
            "the guest driver goes without `acme,companion`, its link to /companion@2000"
        );
    }
}
