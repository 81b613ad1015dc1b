//! Building the guest node from a host device's decisions: the properties copied, the guest
//! nodes that stand in for host providers — fixed-rate clocks for host clocks, always-on fixed
//! regulators for host supplies — and the errors every target shares.
//!
//! Stand-ins are new guest nodes with phandles of the guest tree (never the host's); which
//! properties of the device node then hold such phandles, and where, is [`local_phandles`]:
//! the overlay targets list exactly those in `__local_fixups__`.
//!
//! Owns: the node's contents apart from `reg` and `interrupts` (each target writes those).

use platreset_dtedit::Node as DtNode;
use thiserror::Error;

use crate::host::{HostDevice, HostError};
use crate::props::{Action, Supply};

/// Why no guest tree can be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GuestError {
    /// A host node cannot become a guest node.
    #[error(transparent)]
    Host(#[from] HostError),
    /// The devices' regions do not fit the target's window.
    #[error("{target}: the devices need {needed:#x} bytes of {window}, which holds {size:#x}: {over:#x} bytes too many ({})", devices.join(", "), over = needed.saturating_sub(*size))]
    WindowFull {
        /// Target.
        target: &'static str,
        /// The window.
        window: String,
        /// Bytes needed (page-aligned).
        needed: u64,
        /// Bytes available.
        size: u64,
        /// The devices.
        devices: Vec<String>,
    },
    /// More interrupts than the target's range.
    #[error("{target}: {needed} interrupt(s) do not fit SPIs {first}-{last}")]
    IrqsFull {
        /// Target.
        target: &'static str,
        /// First SPI.
        first: u32,
        /// Last SPI.
        last: u32,
        /// How many were needed.
        needed: usize,
    },
    /// The tree could not be edited (a name clash in the base).
    #[error("guest tree: {0}")]
    Tree(String),
    /// Two parties of the guest layout claim the same thing.
    #[error("{target}: {what} of {first} and {second} collide: {detail}")]
    Collision {
        /// Target.
        target: &'static str,
        /// Addresses, interrupts…
        what: &'static str,
        /// One party.
        first: String,
        /// The other.
        second: String,
        /// The values.
        detail: String,
    },
    /// A clock rate a guest fixed-rate clock cannot state.
    #[error("{node}: clock `{clock}`: {why}")]
    ClockRate {
        /// Node path.
        node: String,
        /// The clock's name (clock-names entry or index).
        clock: String,
        /// Why.
        why: String,
    },
    /// No phandle is left for a new node of the guest tree.
    #[error("guest tree: no free phandle for {node}: every value from 1 to 0xfffffffe is taken")]
    NoPhandle {
        /// The node that needed one.
        node: String,
    },
    /// Something the target cannot carry (a carve-out, an interrupt…).
    #[error("{target}: {node}: {why}")]
    Unsupported {
        /// Target.
        target: &'static str,
        /// Node path.
        node: String,
        /// Why.
        why: String,
    },
}

/// What a target produces: files, the lines to give the VMM, and where each device landed.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// `(file name suffix, contents)`: e.g. `(".dtbo", …)`, `("-assignable_devices.xml", …)`.
    pub files: Vec<(String, Vec<u8>)>,
    /// Command-line arguments or configuration lines for the VMM, ready to paste.
    pub lines: Vec<String>,
    /// Notes for the user (e.g. a host node that needs a property).
    pub notes: Vec<String>,
    /// Where each device landed.
    pub placed: Vec<Placed>,
}

/// The last GIC SPI number: SPIs are interrupt IDs 32 to 1019 in the GICv2 and GICv3
/// architectures (1020–1023 are special), so SPI numbers run from 0 to 987. A host "SPI" above
/// that is no interrupt the host kernel's GIC driver maps, so VFIO has none to hand on.
pub const LAST_GIC_SPI: u32 = 987;

/// Every interrupt of `device` must be a GIC SPI (at most [`LAST_GIC_SPI`]): `target` carries the
/// host's SPI numbers into its output (crosvm as placeholders, AVF as what pvmfw's `/host`
/// check is told), so a number no GIC has would be written as if it were one.
pub(crate) fn check_gic_spis(target: &'static str, device: &HostDevice, vmm: &str) -> Result<(), GuestError> {
    match device.irqs.iter().enumerate().find(|(_, irq)| irq.spi > LAST_GIC_SPI) {
        Some((index, irq)) => Err(GuestError::Unsupported {
            target,
            node: device.path.clone(),
            why: format!(
                "interrupt {index} is SPI {}, beyond the GIC's last SPI ({LAST_GIC_SPI}, interrupt ID 1019): \
                 no host interrupt has that number, so VFIO has none to give {vmm}",
                irq.spi
            ),
        }),
        None => Ok(()),
    }
}

/// Guest windows are laid out in 4 KiB pages.
pub(crate) const PAGE: u64 = 4096;

/// `n` rounded up to whole pages; saturating, since a size that large fits no window anyway.
pub(crate) fn page_up(n: u64) -> u64 {
    n.checked_add(PAGE - 1).map_or(u64::MAX, |v| v & !(PAGE - 1))
}

/// Where a device landed in the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// Host node path.
    pub path: String,
    /// `(host CPU address, guest address, size)` per region.
    pub regs: Vec<(u64, u64, u64)>,
    /// `(guest SPI, trigger)` per interrupt.
    pub irqs: Vec<(u32, u32)>,
}

/// Adds `stand_in` under `root` with the next free phandle, or finds the one already there with
/// the same contents (a regulator two devices share); returns its phandle. A name another node
/// holds gets a `-2`, `-3`… suffix.
fn add_stand_in(root: &mut DtNode, mut stand_in: DtNode) -> Result<u32, GuestError> {
    let wanted = stand_in.props.clone();
    let same = |node: &DtNode| {
        node.children.is_empty() && node.props.iter().filter(|p| p.name != "phandle").eq(wanted.iter())
    };
    let base = stand_in.name.clone();
    let mut n = 1;
    while let Some(existing) = root.child(&stand_in.name) {
        if same(existing) {
            if let Some(p) = existing.prop("phandle").and_then(|p| <[u8; 4]>::try_from(p).ok()) {
                return Ok(u32::from_be_bytes(p));
            }
        }
        n += 1;
        stand_in.name = format!("{base}-{n}");
    }
    let phandle = root.free_phandle().ok_or_else(|| GuestError::NoPhandle { node: stand_in.name.clone() })?;
    stand_in.set_u32s("phandle", &[phandle]);
    root.add_child(stand_in).map_err(|e| GuestError::Tree(e.to_string()))?;
    Ok(phandle)
}

/// The name of the fixed-rate clock node standing in for host clock `clock` of the device
/// tagged `tag`.
pub(crate) fn fixed_clock_node_name(tag: &str, clock: &str) -> String {
    format!("clk-{tag}-{clock}").replace(['_', ' '], "-")
}

/// The fastest rate a guest fixed-rate clock can state: the fixed-clock binding
/// (`Documentation/devicetree/bindings/clock/fixed-clock.yaml`) makes `clock-frequency` one u32
/// cell, and Linux's driver reads it with `of_property_read_u32`, so a two-cell value would be
/// read as its high cell (4294967296 Hz as 1 Hz).
pub const MAX_FIXED_CLOCK_HZ: u64 = u32::MAX as u64;

/// Why `hz` cannot be a fixed clock's rate, if it cannot.
pub fn fixed_clock_rate_problem(hz: u64) -> Option<String> {
    (hz > MAX_FIXED_CLOCK_HZ).then(|| {
        format!(
            "{hz} Hz is more than a fixed-clock's clock-frequency holds: the binding makes it one u32 \
             cell, at most {MAX_FIXED_CLOCK_HZ} Hz (Linux's fixed-clock driver would read a two-cell \
             value as its high cell)"
        )
    })
}

/// A fixed-rate clock standing in for the host clock `clock` of the device tagged `tag`; refused
/// for a rate beyond one cell ([`MAX_FIXED_CLOCK_HZ`]).
fn create_fixed_clock_node(
    device: &HostDevice,
    tag: &str,
    clock: &str,
    hz: u64,
) -> Result<DtNode, GuestError> {
    let hz = u32::try_from(hz).map_err(|_| GuestError::ClockRate {
        node: device.path.clone(),
        clock: platreset_dtedit::names::printable(clock.as_bytes()),
        why: fixed_clock_rate_problem(hz).unwrap_or_default(),
    })?;
    let mut clk = DtNode::new(fixed_clock_node_name(tag, clock));
    clk.set_str("compatible", "fixed-clock");
    clk.set_u32s("#clock-cells", &[0]);
    clk.set_u32s("clock-frequency", &[hz]);
    Ok(clk)
}

/// An always-on fixed regulator standing in for the host regulator of `supply`, named after it,
/// with its voltage when the host states a fixed one.
fn create_fixed_regulator_node(supply: &Supply) -> DtNode {
    let mut regulator = DtNode::new(supply.node.clone());
    regulator.set_str("compatible", "regulator-fixed");
    regulator.set_str("regulator-name", &supply.name);
    if let Some(uv) = supply.microvolt {
        regulator.set_u32s("regulator-min-microvolt", &[uv]);
        regulator.set_u32s("regulator-max-microvolt", &[uv]);
    }
    regulator.set_empty("regulator-always-on");
    regulator
}

/// The guest node `name` for `device`: copied properties in host order, and the stand-ins
/// (fixed-rate clocks, fixed regulators) added under `root` for the providers the policy
/// replaced, the device's properties pointing at them.
pub fn guest_node(device: &HostDevice, name: &str, root: &mut DtNode) -> Result<DtNode, GuestError> {
    let mut node = DtNode::new(name);
    for decision in &device.decisions {
        match &decision.action {
            Action::Copy => {
                if let Some(value) = device.value(&decision.name) {
                    node.set(&decision.name, value.to_vec());
                }
            }
            Action::FixedClocks(rates) => {
                let tag = device.label.clone().unwrap_or_else(|| device.base_name.clone());
                let mut phandles = Vec::new();
                let mut names = Vec::new();
                for (clock, hz) in rates {
                    phandles.push(add_stand_in(root, create_fixed_clock_node(device, &tag, clock, *hz)?)?);
                    names.push(clock.as_str());
                }
                node.set_u32s("clocks", &phandles);
                if device.value("clock-names").is_some() {
                    node.set_strs("clock-names", &names);
                }
            }
            Action::FixedRegulator(supply) => {
                let phandle = add_stand_in(root, create_fixed_regulator_node(supply))?;
                node.set_u32s(&decision.name, &[phandle]);
            }
            Action::ReplacedByFlag(flag) => {
                node.set_empty(flag);
            }
            // A placeholder keeps the host's order: the part's guest phandle comes below.
            Action::LocalReference { .. } => {
                node.set_u32s(&decision.name, &[0]);
            }
            // A placeholder keeps the host's order: the target writes the value.
            Action::Regenerate if decision.name == "reg" || decision.name == "interrupts" => {
                node.set(&decision.name, Vec::new());
            }
            Action::Regenerate | Action::Drop | Action::DropWithWarning | Action::Refuse => {}
        }
    }
    // The parts' phandles after every stand-in's, which are in `root` by now: no value twice.
    let renumbered = carry_parts(device, root, &mut node)?;
    for decision in &device.decisions {
        if let Action::LocalReference { host_phandle } = decision.action {
            let guest =
                renumbered.iter().find(|(host, _)| *host == host_phandle).map(|(_, g)| *g).ok_or_else(
                    || {
                        GuestError::Tree(format!(
                            "{}: `{}` names host phandle {host_phandle:#x}, which no carried node holds",
                            device.path, decision.name
                        ))
                    },
                )?;
            node.set_u32s(&decision.name, &[guest]);
        }
    }
    Ok(node)
}

/// The parts that go with `device` ([`crate::subnodes`]) copied beneath `node`, each `phandle`
/// renumbered to one that neither `root` nor another part holds; returns `(host, guest)` pairs.
/// Moved nodes are children after the properties, so the copies come first among them.
fn carry_parts(
    device: &HostDevice,
    root: &mut DtNode,
    node: &mut DtNode,
) -> Result<Vec<(u32, u32)>, GuestError> {
    fn host_phandles(node: &DtNode, out: &mut Vec<u32>) {
        if let Some(p) = node.prop("phandle").and_then(|v| <[u8; 4]>::try_from(v).ok()) {
            out.push(u32::from_be_bytes(p));
        }
        node.children.iter().for_each(|c| host_phandles(c, out));
    }
    fn rewrite(node: &mut DtNode, map: &[(u32, u32)]) {
        // `linux,phandle` is the old spelling of `phandle`: the guest gets the new one only.
        node.remove("linux,phandle");
        if let Some(p) = node.prop("phandle").and_then(|v| <[u8; 4]>::try_from(v).ok()) {
            let host = u32::from_be_bytes(p);
            if let Some((_, guest)) = map.iter().find(|(h, _)| *h == host) {
                node.set_u32s("phandle", &[*guest]);
            }
        }
        node.children.iter_mut().for_each(|c| rewrite(c, map));
    }
    // The parts' supplies first: their stand-ins join `root`, so the parts' phandles avoid them.
    let mut supplied = Vec::new();
    for part in &device.carried {
        for (at, prop, supply) in &part.supplies {
            supplied.push((
                at.as_str(),
                prop.as_str(),
                add_stand_in(root, create_fixed_regulator_node(supply))?,
            ));
        }
    }
    let mut hosts = Vec::new();
    device.carried.iter().for_each(|c| host_phandles(&c.node, &mut hosts));
    let guests = root
        .free_phandles(hosts.len())
        .ok_or_else(|| GuestError::NoPhandle { node: format!("{} (its parts)", device.path) })?;
    let map: Vec<(u32, u32)> = hosts.into_iter().zip(guests).collect();
    for part in &device.carried {
        let mut copy = part.node.clone();
        rewrite(&mut copy, &map);
        node.add_child(copy).map_err(|e| GuestError::Tree(e.to_string()))?;
    }
    for (at, prop, phandle) in supplied {
        let holder = node.find_mut(at).ok_or_else(|| {
            GuestError::Tree(format!("{}: no carried node {at} for its `{prop}`", device.path))
        })?;
        holder.set_u32s(prop, &[phandle]);
    }
    Ok(map)
}

/// A phandle for the device node `node` about to join `root`: one neither holds (its parts
/// have phandles already, from [`guest_node`]).
pub(crate) fn device_phandle(root: &DtNode, node: &DtNode) -> Result<u32, GuestError> {
    let mut both = root.clone();
    both.children.push(node.clone());
    both.free_phandle().ok_or_else(|| GuestError::NoPhandle { node: node.name.clone() })
}

/// The `__local_fixups__` entry for `device`'s guest node `name` in an overlay: its properties
/// that hold the overlay's own phandles ([`local_phandles`]), and below it the nodes of its parts
/// whose supplies point at guest regulators. `None` when nothing needs fixing up.
pub(crate) fn local_fixups(device: &HostDevice, name: &str) -> Option<DtNode> {
    let mut fixups = DtNode::new(name);
    for (prop, offsets) in local_phandles(device) {
        fixups.set_u32s(&prop, &offsets);
    }
    for part in &device.carried {
        for (at, prop, _) in &part.supplies {
            let holder = at.split('/').fold(&mut fixups, |node, component| node.child_or_insert(component));
            holder.set_u32s(prop, &[0]);
        }
    }
    (!fixups.props.is_empty() || !fixups.children.is_empty()).then_some(fixups)
}

/// The properties of `device`'s guest node ([`guest_node`]) that hold phandles of stand-ins or
/// of its carried parts, in property order, each with the byte offsets of those phandles:
/// `clocks` one cell per fixed clock (`#clock-cells = <0>`), each `*-supply` and each reference
/// to a part one cell.
pub fn local_phandles(device: &HostDevice) -> Vec<(String, Vec<u32>)> {
    let offsets = |n: usize| (0..n).map(|i| u32::try_from(i * 4).unwrap_or(u32::MAX)).collect();
    device
        .decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::FixedClocks(rates) if !rates.is_empty() => Some((d.name.clone(), offsets(rates.len()))),
            Action::FixedRegulator(_) | Action::LocalReference { .. } => Some((d.name.clone(), offsets(1))),
            _ => None,
        })
        .collect()
}
