//! Host infrastructure: nodes that provide a platform service to other devices (an IOMMU, a
//! power controller or one of its power gates, an interrupt controller, a clock or reset
//! controller), recognised by the provider properties the device-tree bindings give them.
//!
//! Owns: the classification of one node from its own provider properties and its parent's.
//! Must not: say what the classification means for passthrough (that is the policy's), or word
//! it for people beyond a stable name.

use platreset_fdt::Node;

/// The platform service a node provides to other devices on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// `#iommu-cells`: translates other devices' DMA.
    Iommu,
    /// One power domain: `#power-domain-cells = <0>`, or a subnode of a power controller
    /// (Tegra's `pmc/powergates/*`, Rockchip's `power-controller/power-domain@*`).
    PowerGate,
    /// `#power-domain-cells` of one or more cells: a controller of several power domains.
    PowerController,
    /// `interrupt-controller`: other devices' interrupts go through it.
    InterruptController,
    /// `#clock-cells`: other devices' clocks come from it.
    ClockController,
    /// `#reset-cells`: other devices' reset lines go through it.
    ResetController,
}

impl Service {
    /// Every kind, in the order a node providing several is named by the first.
    pub const ALL: [Service; 6] = [
        Service::Iommu,
        Service::PowerGate,
        Service::PowerController,
        Service::InterruptController,
        Service::ClockController,
        Service::ResetController,
    ];

    /// The stable name JSON carries (`power-gate`).
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Iommu => "iommu",
            Service::PowerGate => "power-gate",
            Service::PowerController => "power-controller",
            Service::InterruptController => "interrupt-controller",
            Service::ClockController => "clock-controller",
            Service::ResetController => "reset-controller",
        }
    }
}

/// The provider properties of one node (and of its parent) the classification reads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Provides {
    /// Has `#iommu-cells`.
    pub iommu: bool,
    /// Its `#power-domain-cells` value, when present (`Some(None)` when unreadable).
    pub power_domain_cells: Option<Option<u32>>,
    /// Has `interrupt-controller`.
    pub interrupts: bool,
    /// Has `#clock-cells`.
    pub clocks: bool,
    /// Has `#reset-cells`.
    pub resets: bool,
    /// Has interrupts of its own (`interrupts` or `interrupts-extended`, on the node or a node
    /// below it): a device that also hands out a clock or a reset line (a UFS host resetting its
    /// PHY, R-Car sound's audio clock, whose interrupts sit on its units' subnodes) is a device
    /// first, and a passthrough candidate.
    pub own_interrupts: bool,
}

/// Whether `node` or a node below it has `interrupts` or `interrupts-extended`. Subnodes of a
/// device are a few levels deep at most; deeper ones are not looked at.
pub(crate) fn has_interrupts(node: &Node<'_, '_>, depth: usize) -> bool {
    node.property("interrupts").is_some()
        || node.property("interrupts-extended").is_some()
        || (depth < 4 && node.children().any(|c| has_interrupts(&c, depth + 1)))
}

/// Container names under which the power-controller bindings put one subnode per domain.
const POWER_DOMAIN_CONTAINERS: [&[u8]; 3] = [b"powergates", b"power-domains", b"domains"];

impl Provides {
    /// The provider properties `node` has, read by name: for a node the topology's pass did not
    /// look at (one without `resets`).
    pub(crate) fn of(node: &Node<'_, '_>) -> Provides {
        let mut provides = Provides::default();
        for prop in node.properties() {
            match prop.name() {
                b"#iommu-cells" => provides.iommu = true,
                b"#power-domain-cells" => {
                    provides.power_domain_cells.get_or_insert(prop.u32().ok());
                }
                b"interrupt-controller" => provides.interrupts = true,
                b"#clock-cells" => provides.clocks = true,
                b"#reset-cells" => provides.resets = true,
                _ => {}
            }
        }
        provides.own_interrupts = has_interrupts(node, 0);
        provides
    }

    /// The service `node` provides, from its properties and its parent's.
    pub(crate) fn service_of(node: &Node<'_, '_>) -> Option<Service> {
        let parent = node.parent();
        let parent_powers = parent.as_ref().is_some_and(|p| p.property("#power-domain-cells").is_some());
        Provides::of(node).service(parent.as_ref(), parent_powers)
    }

    /// The service a node with these properties provides, `parent_powers` saying whether its
    /// parent is a power controller (has `#power-domain-cells`) and `parent` is the parent
    /// node, whose name tells a container of power domains.
    pub(crate) fn service(&self, parent: Option<&Node<'_, '_>>, parent_powers: bool) -> Option<Service> {
        if self.iommu {
            return Some(Service::Iommu);
        }
        let in_container = parent.is_some_and(|p| {
            // Tegra: pmc/powergates/<domain>; Rockchip: power-controller/power-domain@N, whose
            // parent has #power-domain-cells; Marvell Dove: power-management/domains/<domain>.
            parent_powers || POWER_DOMAIN_CONTAINERS.contains(&p.base_name())
        });
        match self.power_domain_cells {
            // A provider of one domain (zero cells) is a gate, whatever its parent.
            Some(Some(0)) => return Some(Service::PowerGate),
            Some(_) if in_container => return Some(Service::PowerGate),
            Some(_) => return Some(Service::PowerController),
            None if in_container => return Some(Service::PowerGate),
            None => {}
        }
        if self.interrupts {
            Some(Service::InterruptController)
        } else if self.clocks && !self.own_interrupts {
            Some(Service::ClockController)
        } else if self.resets && !self.own_interrupts {
            Some(Service::ResetController)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_stable_and_distinct() {
        let names: Vec<&str> = Service::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "iommu",
                "power-gate",
                "power-controller",
                "interrupt-controller",
                "clock-controller",
                "reset-controller"
            ]
        );
    }

    #[test]
    fn an_iommu_wins_and_nothing_provided_is_no_service() {
        let all = Provides {
            iommu: true,
            power_domain_cells: Some(Some(1)),
            interrupts: true,
            clocks: true,
            resets: true,
            own_interrupts: true,
        };
        assert_eq!(all.service(None, false), Some(Service::Iommu));
        // A device with interrupts of its own that also provides a clock and a reset line.
        let device = Provides { clocks: true, resets: true, own_interrupts: true, ..Provides::default() };
        assert_eq!(device.service(None, false), None);
        let controller = Provides { clocks: true, resets: true, ..Provides::default() };
        assert_eq!(controller.service(None, false), Some(Service::ClockController));
        assert_eq!(Provides::default().service(None, false), None);
        assert_eq!(Provides::default().service(None, true), None, "a parent alone needs a container name");
    }

    #[test]
    fn power_domain_cells_tell_a_gate_from_a_controller() {
        let cells = |n| Provides { power_domain_cells: Some(Some(n)), clocks: true, ..Provides::default() };
        assert_eq!(cells(0).service(None, false), Some(Service::PowerGate));
        assert_eq!(cells(1).service(None, false), Some(Service::PowerController));
        assert_eq!(
            cells(1).service(None, true),
            Some(Service::PowerController),
            "no node to name a container"
        );
        let clocks = Provides { clocks: true, ..Provides::default() };
        assert_eq!(clocks.service(None, false), Some(Service::ClockController));
        let both = Provides { interrupts: true, clocks: true, ..Provides::default() };
        assert_eq!(both.service(None, false), Some(Service::InterruptController));
    }
}
