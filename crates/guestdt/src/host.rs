//! What a guest node is built from: the host node's MMIO regions (CPU addresses) and its
//! interrupts as GIC SPIs with their trigger type, plus the property decisions. A node that
//! cannot become a guest node is refused with every problem at once ([`HostError::Several`]),
//! each refused property with the flag that lifts it ([`crate::props::Fix`]).
//!
//! Owns: reading the host's wiring. Must not: choose guest addresses or numbers (targets do).

use platreset_dtedit::names::NameProblem;
use platreset_fdt::{Node, SpecifierError};
use thiserror::Error;

use crate::driver_needs::GuestNeed;
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
        /// The flag that lifts the refusal and its cost to the guest, when one does (boxed, as
        /// the next: every `Result` of the crate carries this variant's size).
        fix: Option<Box<Fix>>,
        /// `clocks` and `resets` only: what the guest's Linux driver needs from them, by the
        /// evidence.
        guest_driver: Option<Box<GuestNeed>>,
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
    /// A subnode that cannot go with the device ([`crate::subnodes`]).
    #[error("{node}: subnode {first}: {why}")]
    Subnodes {
        /// Node path.
        node: String,
        /// The subnode's name.
        first: String,
        /// Why it cannot go.
        why: String,
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
            HostError::Refused { fix, .. } => fix.as_deref(),
            HostError::BadName { fix, .. } => fix.as_ref(),
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
    /// The nodes copied beneath the guest node (an MDIO bus, configuration nodes).
    pub carried: Vec<crate::subnodes::Carried>,
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
        let parts = crate::subnodes::find(tree, node);
        for (first, why) in parts.problems {
            problems.push(HostError::Subnodes { node: path.clone(), first, why });
        }
        let mut decisions = decide_all(tree, node, overrides);
        crate::subnodes::follow_references(node, &parts.carried, &mut decisions);
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
                fix: refused.fix.clone().map(Box::new),
                guest_driver: refused.guest_driver.clone().map(Box::new),
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
            carried: parts.carried,
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

/// Interrupt controllers stacked on the GIC that hand each interrupt to it unchanged: their
/// Linux driver takes the GIC binding's three cells and allocates the parent interrupt with the
/// same specifier (`parent_fwspec = *fwspec`), adding only wake-up or legacy masking. An
/// interrupt routed through one is the GIC SPI its cells name, and VFIO receives it as such.
const GIC_PASS_THROUGH: &[(&[u8], &str)] = &[
    (b"nvidia,tegra20-ictlr", "drivers/irqchip/irq-tegra.c:263"),
    (b"nvidia,tegra30-ictlr", "drivers/irqchip/irq-tegra.c:263"),
    (b"nvidia,tegra210-ictlr", "drivers/irqchip/irq-tegra.c:263"),
    (b"fsl,imx6q-gpc", "arch/arm/mach-imx/gpc.c (imx_gpc_domain_alloc)"),
    (b"fsl,imx7d-gpc", "drivers/irqchip/irq-imx-gpcv2.c:184"),
    (b"fsl,imx8mq-gpc", "drivers/irqchip/irq-imx-gpcv2.c:184"),
];

/// The GIC behind `controller`: itself, or the GIC a chain of pass-through controllers
/// ([`GIC_PASS_THROUGH`]) ends at. A chain longer than a real tree has is a loop.
fn gic_behind<'f, 'a>(tree: &Tree<'f, 'a>, controller: Node<'f, 'a>) -> Result<Node<'f, 'a>, String> {
    let mut at = controller;
    for _ in 0..8 {
        if is_gic(&at) {
            return Ok(at);
        }
        if !at.compatible().any(|c| GIC_PASS_THROUGH.iter().any(|(p, _)| *p == c)) {
            return Err(format!("it goes to {}, not the GIC", at.path()));
        }
        at = own_interrupt_parent(tree, &at).ok_or_else(|| {
            format!("{} passes its interrupts on, but names no interrupt-parent", at.path())
        })?;
    }
    Err(format!("{}: its interrupt-parent chain does not end at a GIC", controller.path()))
}

/// The controller `controller`'s own interrupts go to: its `interrupt-parent`, else its
/// ancestors'. A controller is not its own parent.
fn own_interrupt_parent<'f, 'a>(tree: &Tree<'f, 'a>, controller: &Node<'f, 'a>) -> Option<Node<'f, 'a>> {
    interrupt_parent(tree, controller).filter(|p| p.offset() != controller.offset())
}

/// One interrupt specifier for the GIC as a host SPI: three cells, or four with GICv3's PPI
/// partition (`arm,gic-v3.yaml`; 0 for an SPI).
fn gic_spi(cells: &[u32]) -> Result<HostIrq, String> {
    match cells {
        [0, spi, flags] | [0, spi, flags, 0] => Ok(HostIrq { spi: *spi, trigger: flags & 0xf }),
        [0, _, _, partition] => {
            Err(format!("an SPI with PPI partition {partition}: no GIC binding has that"))
        }
        [kind, _, _] | [kind, _, _, _] => {
            Err(format!("a GIC interrupt of type {kind} (PPI): private to a CPU"))
        }
        _ => Err(format!("{} cells, not the GIC binding's 3 or 4", cells.len())),
    }
}

fn irqs(tree: &Tree<'_, '_>, node: &Node<'_, '_>) -> Result<Vec<HostIrq>, HostError> {
    let path = node.path();
    let err = |index, why: String| HostError::Irq { node: path.clone(), index, why };
    // `interrupts-extended` wins over `interrupts` (devicetree specification 2.4.1.3).
    if let Some(prop) = node.property("interrupts-extended") {
        let cells: Vec<u32> = prop.u32s().map_err(|e| err(0, e.to_string()))?.collect();
        let count = |c: &Node<'_, '_>| platreset_fdt::cells_named(c, "#interrupt-cells");
        return tree
            .fdt
            .specifiers(&tree.phandles, &cells, count)
            .enumerate()
            .map(|(i, spec)| {
                let spec = spec.map_err(|e| {
                    err(
                        i,
                        match e {
                            SpecifierError::UnknownPhandle { phandle, .. } => {
                                format!("phandle {phandle:#x} names no node")
                            }
                            SpecifierError::BadCells { problem, .. } => format!("its controller {problem}"),
                            SpecifierError::Truncated { need, have, .. } => {
                                format!("truncated: {have} of {need} cells")
                            }
                        },
                    )
                })?;
                let controller =
                    tree.fdt.node(spec.provider).ok_or_else(|| err(i, "no such controller".into()))?;
                gic_behind(tree, controller).map_err(|why| err(i, why))?;
                gic_spi(spec.args).map_err(|why| err(i, why))
            })
            .collect();
    }
    let Some(prop) = node.property("interrupts") else { return Ok(Vec::new()) };
    let cells: Vec<u32> = prop.u32s().map_err(|e| err(0, e.to_string()))?.collect();
    let parent = interrupt_parent(tree, node).ok_or_else(|| err(0, "no interrupt-parent".into()))?;
    let parent = gic_behind(tree, parent).map_err(|why| err(0, why))?;
    let parent_path = parent.path();
    let n = parent.property("#interrupt-cells").and_then(|p| p.u32().ok()).unwrap_or(3) as usize;
    if n != 3 && n != 4 {
        return Err(err(
            0,
            format!("{parent_path} has #interrupt-cells = {n}, not the GIC binding's 3 or 4"),
        ));
    }
    cells
        .chunks(n)
        .enumerate()
        .map(|(i, c)| match c {
            c if c.len() < n => Err(err(i, format!("truncated: {} of {n} cells", c.len()))),
            c => gic_spi(c).map_err(|why| err(i, why)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use platreset_fdt::Fdt;

    const TREE: &str = "/dts-v1/;\n/ {\n\
        \tinterrupt-parent = <&ictlr>;\n\
        \tgic: interrupt-controller@1000 { compatible = \"arm,cortex-a15-gic\"; interrupt-controller; #interrupt-cells = <3>; };\n\
        \tictlr: interrupt-controller@2000 { compatible = \"nvidia,tegra124-ictlr\", \"nvidia,tegra30-ictlr\";\n\
        \t\tinterrupt-controller; #interrupt-cells = <3>; interrupt-parent = <&gic>; };\n\
        \tgpio: gpio@3000 { interrupt-controller; #interrupt-cells = <2>; };\n\
        \tloop: interrupt-controller@4000 { compatible = \"nvidia,tegra30-ictlr\"; interrupt-controller;\n\
        \t\t#interrupt-cells = <3>; interrupt-parent = <&loop>; };\n\
        \tdc@5000 { interrupts = <0 73 4>; };\n\
        \tvic@6000 { interrupts-extended = <&gic 0 72 4>, <&ictlr 0 74 1>; };\n\
        \tphy@7000 { interrupts-extended = <&gic 0 75 4>, <&gpio 3 8>; };\n\
        \tbad@8000 { interrupt-parent = <&loop>; interrupts = <0 1 4>; };\n\
        \tppi@9000 { interrupt-parent = <&gic>; interrupts = <1 9 4>; };\n\
        \tgic3: interrupt-controller@a000 { compatible = \"arm,gic-v3\"; interrupt-controller; #interrupt-cells = <4>; };\n\
        \tgicv3-user@b000 { interrupt-parent = <&gic3>; interrupts = <0 40 4 0>, <0 41 1 0>; };\n\
        \tpartitioned@c000 { interrupt-parent = <&gic3>; interrupts = <0 42 4 1>; };\n};\n";

    fn irqs_of(path: &str) -> Result<Vec<(u32, u32)>, String> {
        let blob = platreset_testkit::dtb_from_text(TREE);
        let fdt = Fdt::parse(&blob).unwrap();
        let tree = Tree::new(&fdt);
        let node = fdt.find_path(path).unwrap();
        irqs(&tree, &node).map(|v| v.iter().map(|i| (i.spi, i.trigger)).collect()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_pass_through_controller_hands_its_gic_spis_on_unchanged() {
        assert_eq!(irqs_of("/dc@5000"), Ok(vec![(73, 4)]));
    }

    #[test]
    fn a_gicv3_with_four_cells_gives_its_spis_and_refuses_a_partition() {
        assert_eq!(irqs_of("/gicv3-user@b000"), Ok(vec![(40, 4), (41, 1)]));
        let partitioned = irqs_of("/partitioned@c000").unwrap_err();
        assert!(partitioned.contains("PPI partition 1"), "{partitioned}");
    }

    #[test]
    fn interrupts_extended_is_read_entry_by_entry() {
        assert_eq!(irqs_of("/vic@6000"), Ok(vec![(72, 4), (74, 1)]));
        let gpio = irqs_of("/phy@7000").unwrap_err();
        assert!(gpio.contains("interrupt 1") && gpio.contains("/gpio@3000, not the GIC"), "{gpio}");
    }

    #[test]
    fn a_loop_of_controllers_and_a_ppi_are_refused_with_the_reason() {
        let looped = irqs_of("/bad@8000").unwrap_err();
        assert!(looped.contains("names no interrupt-parent"), "{looped}");
        let ppi = irqs_of("/ppi@9000").unwrap_err();
        assert!(ppi.contains("PPI"), "{ppi}");
    }
}
