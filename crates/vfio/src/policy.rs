//! The safety policy, one rule at a time. Each failed rule is a [`Reason`] the user sees.
//!
//! Rules so far (DESIGN "The policy, in one place"): a reset exists, every line resolves, no line
//! is shared with another node, and the device's DMA is confined by an IOMMU. Later rules
//! (ACPI `_RST`, device-specific handlers, controller support, quiescence evidence) extend this
//! module; `audit` and `explain` both call [`verdict`], so they cannot disagree.

use std::fmt;

use platreset_fdt::NodeId;
use platreset_topology::{ResetLine, Topology};

/// How vfio-platform would reset the device, in the kernel's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A device-specific handler registered for the device's first compatible.
    DeviceSpecific(&'static str),
    /// Through the reset controllers named by `resets` (the unmerged generic reset).
    Generic,
    /// No reset method.
    None,
}

impl Method {
    /// The stable name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::DeviceSpecific(_) => "device-specific",
            Method::Generic => "generic",
            Method::None => "none",
        }
    }
}

/// Why a device may not be handed to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The node has no reset at all.
    NoReset,
    /// A `resets` specifier does not resolve (the detail is reported beside the verdict).
    Unresolvable,
    /// Line `index` is used by `others` other nodes too.
    SharedLine {
        /// Position of the line in `resets`.
        index: usize,
        /// Controller path.
        controller: String,
        /// Specifier cells.
        args: Vec<u32>,
        /// How many other nodes use it.
        others: usize,
    },
    /// No `iommus`: the device could DMA anywhere in host memory.
    NoIommu,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.fixed_text() {
            return f.write_str(text);
        }
        match self {
            Reason::SharedLine { index, controller, args, others } => {
                write!(f, "reset line {index} ({controller} [")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, "]) is shared with {others} other node(s)")
            }
            _ => Ok(()),
        }
    }
}

impl Reason {
    /// The reason as text: borrowed for the fixed ones, formatted only for those with details.
    pub fn text(&self) -> std::borrow::Cow<'static, str> {
        match self.fixed_text() {
            Some(text) => text.into(),
            None => self.to_string().into(),
        }
    }

    /// The text of the reasons that carry no details.
    fn fixed_text(&self) -> Option<&'static str> {
        match self {
            Reason::NoReset => Some("no reset method: the node has no resets"),
            Reason::Unresolvable => Some("reset specifier cannot be resolved"),
            Reason::NoIommu => Some("no iommus: the device's DMA is not confined by an IOMMU"),
            Reason::SharedLine { .. } => None,
        }
    }

    /// A short tag for tables ("shared line").
    pub fn short(&self) -> &'static str {
        match self {
            Reason::NoReset => "no reset",
            Reason::Unresolvable => "unresolvable",
            Reason::SharedLine { .. } => "shared line",
            Reason::NoIommu => "no IOMMU",
        }
    }

    /// A one-line hint on what to do about it.
    pub fn fix(&self) -> &'static str {
        match self {
            Reason::NoReset => {
                "describe the device's reset line in DT (resets = <&ctrl id>) or provide ACPI _RST"
            }
            Reason::Unresolvable => {
                "fix the resets property: every phandle must name a node with #reset-cells"
            }
            Reason::SharedLine { .. } => {
                "a shared line resets the other devices too: assign them together or not at all"
            }
            Reason::NoIommu => "add an IOMMU (iommus = <&smmu id>) or record the device as non-DMA",
        }
    }
}

/// The policy's decision for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reset method found.
    pub method: Method,
    /// Every failed rule, in rule order; empty means eligible.
    pub reasons: Vec<Reason>,
}

impl Verdict {
    /// Whether the device may be handed to a VM.
    pub fn eligible(&self) -> bool {
        self.reasons.is_empty()
    }
}

/// Applies every rule to `node` of the topology's tree.
pub fn verdict(topology: &Topology<'_, '_>, node: NodeId) -> Verdict {
    let dt_node = topology.node(node);
    let iommus = dt_node.is_some_and(|n| n.property("iommus").is_some());
    // A device-specific handler for the first compatible takes precedence over `resets`.
    let first = dt_node.and_then(|n| n.compatible().next()).map(String::from_utf8_lossy);
    if let Some(handler) = first.as_deref().and_then(crate::handlers::handler_for) {
        let reasons = if iommus { Vec::new() } else { vec![Reason::NoIommu] };
        return Verdict { method: Method::DeviceSpecific(handler.compatible()), reasons };
    }
    let Some(consumer) = topology.consumer(node) else {
        let mut reasons = vec![Reason::NoReset];
        if !iommus {
            reasons.push(Reason::NoIommu);
        }
        return Verdict { method: Method::None, reasons };
    };
    let mut reasons = Vec::new();
    match &consumer.resets {
        Err(_) => reasons.push(Reason::Unresolvable),
        Ok(lines) => {
            for (index, line) in lines.iter().enumerate() {
                let others = topology.other_users(line, node);
                if others > 0 {
                    reasons.push(shared(topology, index, line, others));
                }
            }
        }
    }
    if !consumer.iommus {
        reasons.push(Reason::NoIommu);
    }
    Verdict { method: Method::Generic, reasons }
}

fn shared(topology: &Topology<'_, '_>, index: usize, line: &ResetLine, others: usize) -> Reason {
    let controller = topology.node(line.controller()).map(|n| n.path()).unwrap_or_default();
    Reason::SharedLine { index, controller, args: line.args().to_vec(), others }
}

#[cfg(test)]
mod tests {
    use platreset_fdt::Fdt;
    use platreset_topology::Topology;

    use super::*;

    fn verdict_of(path: &str) -> Verdict {
        verdict_in("topology-sharing", path)
    }

    fn verdict_in(fixture: &str, path: &str) -> Verdict {
        let blob = platreset_testkit::fixture(fixture);
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        verdict(&topology, fdt.find_path(path).unwrap().id())
    }

    #[test]
    fn dedicated_line_behind_an_iommu_is_eligible() {
        let v = verdict_of("/device@10000");
        assert_eq!(v.method, Method::Generic);
        assert!(v.eligible(), "{:?}", v.reasons);
    }

    #[test]
    fn shared_line_is_refused_naming_the_line_and_how_many_share_it() {
        let v = verdict_of("/device@11000");
        assert!(!v.eligible());
        assert_eq!(
            v.reasons[0].to_string(),
            "reset line 0 (/reset-controller@1000 [2]) is shared with 2 other node(s)"
        );
        assert_eq!(v.reasons[1], Reason::NoIommu);
    }

    #[test]
    fn only_the_shared_line_of_several_is_reported() {
        let v = verdict_of("/device@15000");
        let shared: Vec<usize> = v
            .reasons
            .iter()
            .filter_map(|r| match r {
                Reason::SharedLine { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        assert_eq!(shared, [1]);
    }

    #[test]
    fn a_device_specific_handler_takes_precedence_over_resets() {
        // tests/dts/device-specific.dts: calxeda,hb-xgmac with a shared reset line and an IOMMU.
        let v = verdict_in("device-specific", "/xgmac-with-shared-reset@40000");
        assert_eq!(v.method, Method::DeviceSpecific("calxeda,hb-xgmac"));
        assert_eq!(v.method.as_str(), "device-specific");
        assert!(v.eligible(), "the handler resets it, the shared line is not used: {:?}", v.reasons);
        let bare = verdict_in("device-specific", "/xgmac-without-resets@41000");
        assert_eq!(bare.method, Method::DeviceSpecific("calxeda,hb-xgmac"));
        assert_eq!(bare.reasons, [Reason::NoIommu]);
        let second = verdict_in("device-specific", "/xgmac-second@43000");
        assert_eq!(second.method, Method::None, "only the first compatible selects a handler");
        let neighbour = verdict_in("device-specific", "/neighbour@42000");
        assert!(neighbour.reasons.iter().any(|r| matches!(r, Reason::SharedLine { .. })));
    }

    #[test]
    fn unresolvable_resets_are_refused_with_method_generic() {
        let v = verdict_of("/unknown-phandle@20000");
        assert_eq!(v.method, Method::Generic);
        assert_eq!(v.reasons[0], Reason::Unresolvable);
    }

    #[test]
    fn a_node_without_resets_has_no_method_and_is_refused() {
        let v = verdict_of("/plain@30000");
        assert_eq!(v.method, Method::None);
        assert_eq!(v.reasons, [Reason::NoReset, Reason::NoIommu]);
    }

    #[test]
    fn text_and_display_agree() {
        let reasons = [
            Reason::NoReset,
            Reason::Unresolvable,
            Reason::SharedLine { index: 1, controller: "/c".into(), args: vec![3], others: 2 },
            Reason::NoIommu,
        ];
        for r in reasons {
            assert_eq!(r.text(), r.to_string());
        }
    }

    #[test]
    fn every_reason_has_a_short_tag_and_a_fix() {
        let reasons = [
            Reason::NoReset,
            Reason::Unresolvable,
            Reason::SharedLine { index: 0, controller: "/c".into(), args: vec![1, 2], others: 1 },
            Reason::NoIommu,
        ];
        for r in reasons {
            assert!(!r.short().is_empty() && !r.fix().is_empty() && !r.to_string().is_empty());
        }
    }
}
