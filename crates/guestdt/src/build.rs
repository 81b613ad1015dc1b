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
    let phandle = root.max_phandle() + 1;
    stand_in.set_u32s("phandle", &[phandle]);
    root.add_child(stand_in).map_err(|e| GuestError::Tree(e.to_string()))?;
    Ok(phandle)
}

/// A fixed-rate clock standing in for the host clock `clock` of the device tagged `tag`.
fn create_fixed_clock_node(tag: &str, clock: &str, hz: u64) -> DtNode {
    let mut clk = DtNode::new(format!("clk-{tag}-{clock}").replace(['_', ' '], "-"));
    clk.set_str("compatible", "fixed-clock");
    clk.set_u32s("#clock-cells", &[0]);
    match u32::try_from(hz) {
        Ok(hz) => clk.set_u32s("clock-frequency", &[hz]),
        Err(_) => clk.set_u64s("clock-frequency", &[hz]),
    };
    clk
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
                    phandles.push(add_stand_in(root, create_fixed_clock_node(&tag, clock, *hz))?);
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
            // A placeholder keeps the host's order: the target writes the value.
            Action::Regenerate if decision.name == "reg" || decision.name == "interrupts" => {
                node.set(&decision.name, Vec::new());
            }
            Action::Regenerate | Action::Drop | Action::DropWithWarning | Action::Refuse => {}
        }
    }
    Ok(node)
}

/// The properties of `device`'s guest node ([`guest_node`]) that hold phandles of stand-ins, in
/// property order, each with the byte offsets of those phandles: `clocks` one cell per fixed
/// clock (`#clock-cells = <0>`), each `*-supply` one cell.
pub fn local_phandles(device: &HostDevice) -> Vec<(String, Vec<u32>)> {
    let offsets = |n: usize| (0..n).map(|i| u32::try_from(i * 4).unwrap_or(u32::MAX)).collect();
    device
        .decisions
        .iter()
        .filter_map(|d| match &d.action {
            Action::FixedClocks(rates) if !rates.is_empty() => Some((d.name.clone(), offsets(rates.len()))),
            Action::FixedRegulator(_) => Some((d.name.clone(), offsets(1))),
            _ => None,
        })
        .collect()
}
