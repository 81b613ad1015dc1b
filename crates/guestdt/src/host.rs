//! What a guest node is built from: the host node's MMIO regions (CPU addresses) and its
//! interrupts as GIC SPIs with their trigger type, plus the property decisions. A node that
//! cannot become a guest node is refused with every problem at once ([`HostError::Several`]),
//! each refused property with the flag that lifts it ([`crate::props::Fix`]).
//!
//! Owns: reading the host's wiring. Must not: choose guest addresses or numbers (targets do).

use platreset_dtedit::names::NameProblem;
use platreset_fdt::Node;
use thiserror::Error;

use crate::host_names::{check_names, check_path, is_good_property_name};
use crate::props::{decide_all, Action, Decision, Fix, Overrides, Tree};

/// A host interrupt the guest can receive: a GIC shared peripheral interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostIrq {
    /// SPI number (GIC interrupt ID − 32).
    pub spi: u32,
    /// Trigger type in the GIC binding's encoding (1 edge rising, 4 level high…).
    pub trigger: u32,
}

/// Why a host node cannot become a guest node.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostError {
    /// The node has no MMIO region.
    #[error("{node} has no reg: nothing to map into the guest")]
    NoRegs {
        /// Node path.
        node: String,
    },
    /// `reg` does not translate to CPU addresses.
    #[error("{node}: reg cannot be translated to CPU addresses ({why})")]
    BadReg {
        /// Node path.
        node: String,
        /// Why.
        why: String,
    },
    /// An interrupt that does not go to the GIC as an SPI.
    #[error("{node}: interrupt {index} ({why}): the guest's interrupt controller cannot deliver it")]
    Irq {
        /// Node path.
        node: String,
        /// Position in `interrupts`.
        index: usize,
        /// Why.
        why: String,
    },
    /// A property the policy refuses.
    #[error("{node}: property {property}: {why}")]
    Refused {
        /// Node path.
        node: String,
        /// The property.
        property: String,
        /// Why.
        why: String,
        /// The flag that lifts the refusal and its cost to the guest, when one does.
        fix: Option<Fix>,
    },
    /// A host name the guest output would carry that the specification (or, for a label, `dtc`)
    /// does not allow: a crafted tree. Only a name that comes with a property the guest can go
    /// without (a clock or a supply named after host strings) has a flag that lifts it.
    #[error("{node}: {what}: {problem}")]
    BadName {
        /// Node path, every name made printable.
        node: String,
        /// Which name, made printable.
        what: String,
        /// What is wrong with it: the offending byte and its offset.
        problem: NameProblem,
        /// The `--drop` that lifts it, when dropping a property removes the name.
        fix: Option<Fix>,
    },
    /// Subnodes (the guest node is one node).
    #[error("{node} has subnodes ({first}…): a guest node is built from one node only")]
    Subnodes {
        /// Node path.
        node: String,
        /// The first subnode.
        first: String,
    },
    /// Several of the above for one node, in the order found: subnodes, properties in host
    /// order, `reg`, interrupts.
    #[error("{node}: {} problems: {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several {
        /// Node path.
        node: String,
        /// Each problem (none of them `Several`).
        problems: Vec<HostError>,
    },
}

impl HostError {
    /// The path of the node refused.
    pub fn node(&self) -> &str {
        match self {
            HostError::NoRegs { node }
            | HostError::BadReg { node, .. }
            | HostError::Irq { node, .. }
            | HostError::Refused { node, .. }
            | HostError::BadName { node, .. }
            | HostError::Subnodes { node, .. }
            | HostError::Several { node, .. } => node,
        }
    }

    /// Every single problem this error stands for: itself, or each of [`HostError::Several`].
    pub fn problems(&self) -> &[HostError] {
        match self {
            HostError::Several { problems, .. } => problems,
            one => std::slice::from_ref(one),
        }
    }

    /// The flag that lifts this problem and what it costs the guest; `None` when no flag does
    /// (subnodes, interrupts the guest's GIC cannot deliver, regions…) or for [`HostError::Several`].
    pub fn fix(&self) -> Option<&Fix> {
        match self {
            HostError::Refused { fix, .. } | HostError::BadName { fix, .. } => fix.as_ref(),
            _ => None,
        }
    }

    /// The overrides that lift every problem, when a flag lifts each: `base` plus their `--drop`s.
    pub fn lifted(&self, base: &Overrides) -> Option<Overrides> {
        let mut overrides = base.clone();
        for problem in self.problems() {
            problem.fix()?.apply(&mut overrides);
        }
        Some(overrides)
    }
}

/// A host device ready to be laid out by a target.
#[derive(Debug, Clone)]
pub struct HostDevice {
    /// Node path.
    pub path: String,
    /// Node name without the unit address.
    pub base_name: String,
    /// The name Linux gives its platform device (`e6800000.ethernet`).
    pub kernel_name: Option<String>,
    /// DT label, if the host tree has one for it.
    pub label: Option<String>,
    /// MMIO regions, CPU addresses.
    pub regions: Vec<(u64, u64)>,
    /// Interrupts.
    pub irqs: Vec<HostIrq>,
    /// The host IOMMUs behind which the device sits: `(IOMMU node path, specifier cells)`.
    pub iommus: Vec<(String, Vec<u32>)>,
    /// Those of the IOMMUs that are Arm SMMUs, by path: their specifier cells start with a
    /// stream ID (other IOMMUs' cells are micro-TLB or group numbers).
    pub arm_smmus: Vec<String>,
    /// What happens to each property.
    pub decisions: Vec<Decision>,
    /// Property values, for the ones copied.
    pub values: Vec<(String, Vec<u8>)>,
}

impl HostDevice {
    /// Reads `node` of `tree` under the property policy. A node that cannot be read is refused
    /// with every problem found: one, or [`HostError::Several`].
    pub fn read(
        tree: &Tree<'_, '_>,
        node: &Node<'_, '_>,
        overrides: &Overrides,
    ) -> Result<HostDevice, HostError> {
        // A crafted name on the path puts every message about the node in doubt: that alone.
        check_path(node)?;
        let path = node.path();
        let mut problems = Vec::new();
        // A child a rule drops with its property (the OPP table) is no part of the device.
        if let Some(child) = node.children().find(|c| !crate::rules::drops_child(c)) {
            problems.push(HostError::Subnodes {
                node: path.clone(),
                first: platreset_dtedit::names::printable(child.name()),
            });
        }
        let decisions = decide_all(tree, node, overrides);
        let label = label_of(tree, node);
        let name = node.name_lossy();
        let base_name = name.split('@').next().unwrap_or_default().to_string();
        let tag = label.as_deref().unwrap_or(&base_name);
        problems.extend(check_names(node, &path, label.as_deref(), tag, &decisions));
        // A property with a bad name is refused as such, not by what the policy makes of it.
        let well_named = |d: &&Decision| is_good_property_name(d.name.as_bytes());
        for refused in decisions.iter().filter(|d| d.action == Action::Refuse).filter(well_named) {
            problems.push(HostError::Refused {
                node: path.clone(),
                property: refused.name.clone(),
                why: refused.why.clone(),
                fix: refused.fix.clone(),
            });
        }
        let regions: Vec<(u64, u64)> = match node.reg_cpu() {
            Ok(regs) if regs.is_empty() => {
                problems.push(HostError::NoRegs { node: path.clone() });
                Vec::new()
            }
            Ok(regs) => regs.into_iter().map(|r| (r.address, r.size)).collect(),
            Err(e) => {
                problems.push(HostError::BadReg { node: path.clone(), why: e.to_string() });
                Vec::new()
            }
        };
        let irqs = irqs(tree, node).unwrap_or_else(|e| {
            problems.push(e);
            Vec::new()
        });
        match problems.len() {
            0 => {}
            1 => return Err(problems.remove(0)),
            _ => return Err(HostError::Several { node: path, problems }),
        }
        let values = node
            .properties()
            .map(|p| (String::from_utf8_lossy(p.name()).into_owned(), p.value().to_vec()))
            .collect();
        let iommus = iommus(tree, node);
        let arm_smmus = arm_smmus(tree, &iommus);
        let kernel_name = node.platform_device_name();
        Ok(HostDevice {
            path,
            base_name,
            kernel_name,
            label,
            regions,
            irqs,
            iommus,
            arm_smmus,
            decisions,
            values,
        })
    }

    /// Its name in `/sys/bus/platform/devices`: the user's when given (`names` by host path), else
    /// the kernel's for a DT platform device ([`platreset_fdt::Node::platform_device_name`]).
    pub fn sysfs_name(&self, names: &[(String, String)]) -> String {
        names.iter().find(|(path, _)| *path == self.path).map_or_else(
            || self.kernel_name.clone().unwrap_or_else(|| self.base_name.clone()),
            |(_, name)| name.clone(),
        )
    }

    /// The value of a host property.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

/// `iommus` as `(IOMMU path, cells)`, by each IOMMU's `#iommu-cells`; what cannot be parsed is left out.
fn iommus(tree: &Tree<'_, '_>, node: &Node<'_, '_>) -> Vec<(String, Vec<u32>)> {
    let Some(cells) = node.property("iommus").and_then(|p| p.u32s().ok()).map(|c| c.collect::<Vec<u32>>())
    else {
        return Vec::new();
    };
    // An IOMMU without #iommu-cells takes none (as before); the list stops at what cannot be read.
    let count =
        |iommu: &Node<'_, '_>| Ok(iommu.property("#iommu-cells").and_then(|p| p.u32().ok()).unwrap_or(0));
    tree.fdt
        .specifiers(&tree.phandles, &cells, count)
        .map_while(Result::ok)
        .filter_map(|s| tree.fdt.node(s.provider).map(|iommu| (iommu.path(), s.args.to_vec())))
        .collect()
}

/// Compatibles of Arm's SMMU architecture (Linux's arm-smmu and arm-smmu-v3 drivers match
/// these; vendors list one of them as a fallback).
const ARM_SMMU_COMPATIBLES: &[&[u8]] = &[
    b"arm,smmu-v1",
    b"arm,smmu-v2",
    b"arm,mmu-400",
    b"arm,mmu-401",
    b"arm,mmu-500",
    b"arm,smmu-v3",
    b"cavium,smmu-v2",
    b"qcom,smmu-v2",
    b"nvidia,smmu-500",
];

/// The paths among `iommus` whose node is an Arm SMMU.
fn arm_smmus(tree: &Tree<'_, '_>, iommus: &[(String, Vec<u32>)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (path, _) in iommus {
        let is_smmu =
            tree.fdt.find_path(path).is_ok_and(|n| n.compatible().any(|c| ARM_SMMU_COMPATIBLES.contains(&c)));
        if is_smmu && !out.contains(path) {
            out.push(path.clone());
        }
    }
    out
}

/// The node's label in `/__symbols__`, if any (the first, in property order).
fn label_of(tree: &Tree<'_, '_>, node: &Node<'_, '_>) -> Option<String> {
    let symbols = tree.fdt.find_path("/__symbols__").ok()?;
    let path = node.path();
    symbols
        .properties()
        .find(|p| p.first_string() == path.as_bytes())
        .map(|p| String::from_utf8_lossy(p.name()).into_owned())
}

/// The interrupt controller a node's interrupts go to: the nearest `interrupt-parent` up the tree.
fn interrupt_parent<'f, 'a>(tree: &Tree<'f, 'a>, node: &Node<'f, 'a>) -> Option<Node<'f, 'a>> {
    let mut at = Some(*node);
    while let Some(n) = at {
        if let Some(p) = n.property("interrupt-parent") {
            return p.u32().ok().and_then(|ph| tree.by_phandle(ph));
        }
        at = n.parent();
    }
    None
}

fn is_gic(node: &Node<'_, '_>) -> bool {
    node.property("interrupt-controller").is_some()
        && node
            .compatible()
            .any(|c| c.starts_with(b"arm,gic") || c.starts_with(b"arm,cortex-a") && c.ends_with(b"-gic"))
}

fn irqs(tree: &Tree<'_, '_>, node: &Node<'_, '_>) -> Result<Vec<HostIrq>, HostError> {
    let path = node.path();
    let err = |index, why: String| HostError::Irq { node: path.clone(), index, why };
    if node.property("interrupts-extended").is_some() {
        return Err(err(0, "interrupts-extended (several controllers) is not supported yet".into()));
    }
    let Some(prop) = node.property("interrupts") else { return Ok(Vec::new()) };
    let cells: Vec<u32> = prop.u32s().map_err(|e| err(0, e.to_string()))?.collect();
    let parent = interrupt_parent(tree, node).ok_or_else(|| err(0, "no interrupt-parent".into()))?;
    let parent_path = parent.path();
    if !is_gic(&parent) {
        return Err(err(0, format!("it goes to {parent_path}, not the GIC")));
    }
    let n = parent.property("#interrupt-cells").and_then(|p| p.u32().ok()).unwrap_or(3) as usize;
    if n < 3 {
        return Err(err(0, format!("{parent_path} has #interrupt-cells = {n}, not the GIC binding's 3")));
    }
    cells
        .chunks(n)
        .enumerate()
        .map(|(i, c)| match c {
            c if c.len() < n => Err(err(i, format!("truncated: {} of {n} cells", c.len()))),
            [0, spi, flags, ..] => Ok(HostIrq { spi: *spi, trigger: flags & 0xf }),
            [kind, ..] => Err(err(i, format!("a GIC interrupt of type {kind} (PPI): private to a CPU"))),
            [] => Err(err(i, "empty".into())),
        })
        .collect()
}
