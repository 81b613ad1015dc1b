//! Which compatibles the kernel's generic reset module (`kmod/vfio-platform-reset-generic`) may
//! take on one board: vfio-platform looks a reset handler up by a device's **first** compatible,
//! so a compatible is listed only when every enabled device carrying it first is eligible through
//! the generic method — and each device left out says which rule excluded it.
//!
//! Owns: that decision and its reasons. Must not: write the module's files or load it (the CLI
//! does), or re-decide eligibility (each device's verdict is the [`Evaluator`]'s).
//!
//! The module is stricter than the policy in one place and this plan follows it: it refuses a
//! line that any other node lists, even a disabled one, so a device accepted only through
//! `--allow-shared-with-disabled` is left out here. And it reaches further in one: it resets
//! through the kernel's own reset framework, which drives the firmware interfaces (SCMI, TI-SCI,
//! ZynqMP/Versal EEMI, BPMP, Raspberry Pi) that platreset cannot drive from userspace — a line
//! refused only for that (rule 2) is no obstacle here; every other rule still applies.

use std::collections::BTreeMap;

use platreset_fdt::NodeId;

use platreset_reset::perform::Support;

use crate::policy::{Evaluator, Method, Reason};

/// The longest compatible the plan passes to the module (module parameters share one page).
const MAX_COMPATIBLE: usize = 128;

/// Why one device keeps its compatible out of the module's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exclusion {
    /// The policy refuses the device: these rules failed.
    Refused(Vec<Reason>),
    /// vfio-platform would not use the generic reset for it (ACPI `_RST` or a device-specific
    /// handler comes first), so the module has nothing to add.
    OtherMethod(Method),
    /// Eligible only because a line shared with disabled nodes was accepted; the module refuses
    /// any shared line.
    SharedWithDisabled(Reason),
    /// Another device with the same first compatible is left out, and the module's handler would
    /// cover both.
    Sibling {
        /// That device's path.
        excluded: String,
    },
    /// The compatible cannot be passed in the module's `compatibles=` parameter.
    UnusableCompatible(&'static str),
}

impl Exclusion {
    /// The rule number behind the exclusion (0 for the module's own limits).
    pub fn rule(&self) -> u8 {
        match self {
            Exclusion::Refused(reasons) => reasons.first().map_or(0, Reason::rule),
            Exclusion::OtherMethod(_) => 1,
            Exclusion::SharedWithDisabled(_) => 3,
            Exclusion::Sibling { .. } | Exclusion::UnusableCompatible(_) => 0,
        }
    }

    /// In words.
    pub fn text(&self) -> String {
        match self {
            Exclusion::Refused(reasons) => {
                reasons.iter().map(|r| r.to_string()).collect::<Vec<_>>().join("; ")
            }
            Exclusion::OtherMethod(method) => match method {
                Method::Acpi { path } => {
                    format!("vfio-platform resets it through ACPI {path}._RST, not its DT lines")
                }
                Method::DeviceSpecific(handler) => {
                    format!("vfio-platform resets it with the device-specific handler for {handler}")
                }
                Method::Generic | Method::None => format!("its reset method is {}", method.as_str()),
            },
            Exclusion::SharedWithDisabled(reason) => format!(
                "{reason}: accepted by --allow-shared-with-disabled, but the module refuses any line \
                 another node lists"
            ),
            Exclusion::Sibling { excluded } => {
                format!(
                    "{excluded} has the same first compatible and is left out; one handler would cover both"
                )
            }
            Exclusion::UnusableCompatible(why) => format!("the compatible {why}"),
        }
    }
}

/// A compatible the module may take, with the devices it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Included {
    /// The first compatible.
    pub compatible: String,
    /// The enabled devices carrying it first (their paths).
    pub devices: Vec<String>,
    /// Whether one of its lines is reset by a pulse (the controller has no `.reset`).
    pub pulse: bool,
    /// The firmware interfaces its lines go through, which the kernel drives and platreset
    /// cannot (empty for register-level controllers).
    pub firmware: Vec<&'static str>,
}

/// A device left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excluded {
    /// Its first compatible.
    pub compatible: String,
    /// Its path.
    pub device: String,
    /// Why.
    pub why: Exclusion,
}

/// The module's list for one board.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulePlan {
    /// The compatibles to pass, sorted.
    pub included: Vec<Included>,
    /// Every enabled device with reset lines, or sharing a first compatible with one, left out.
    pub excluded: Vec<Excluded>,
    /// The pulse width to give the module (`pulse_us=`), when an included line needs a pulse.
    pub pulse_us: Option<u32>,
}

impl ModulePlan {
    /// The value of the module's `compatibles=` parameter (`a;b`).
    pub fn parameter(&self) -> String {
        self.included.iter().map(|i| i.compatible.as_str()).collect::<Vec<_>>().join(";")
    }
}

/// Why `compatible` cannot be a module parameter item, if it cannot: the module splits its list
/// on `;`, and the kernel's parameter parser on whitespace and quotes.
fn unusable(compatible: &str) -> Option<&'static str> {
    if compatible.is_empty() {
        Some("is empty")
    } else if compatible.len() > MAX_COMPATIBLE {
        Some("is longer than 128 bytes")
    } else if !compatible.bytes().all(|b| b.is_ascii_graphic() && b != b';' && b != b'"' && b != b'\\') {
        Some("holds a character a module parameter cannot carry (whitespace, ';', '\"', '\\' or non-ASCII)")
    } else {
        None
    }
}

/// The reasons left once the lines refused only because their controller is firmware (which
/// the kernel's framework drives) are set aside, with those firmware interfaces.
fn beyond_firmware(
    evaluator: &Evaluator<'_, '_, '_, '_>,
    id: NodeId,
    reasons: &[Reason],
) -> (Vec<Reason>, Vec<&'static str>) {
    let lines = evaluator.topology().consumer(id).and_then(|c| c.resets.as_ref().ok());
    let mut left = Vec::new();
    let mut firmware = Vec::new();
    for reason in reasons {
        let interface = match reason {
            Reason::Unsupported { index, .. } => lines
                .and_then(|lines| lines.get(*index))
                .and_then(|line| evaluator.controller_support(line.controller()))
                .and_then(|support| match support {
                    Support::Firmware(interface) => Some(*interface),
                    _ => None,
                }),
            _ => None,
        };
        match interface {
            Some(interface) => {
                if !firmware.contains(&interface) {
                    firmware.push(interface);
                }
            }
            None => left.push(reason.clone()),
        }
    }
    (left, firmware)
}

/// The plan for the board `evaluator` was built on, in one pass over its nodes.
pub fn plan(evaluator: &Evaluator<'_, '_, '_, '_>) -> ModulePlan {
    let topology = evaluator.topology();
    let fdt = topology.fdt();
    // Every enabled node by first compatible; only compatibles some node with resets carries
    // first are of interest (the module has nothing to do for the others).
    let mut groups: BTreeMap<&[u8], Vec<NodeId>> = BTreeMap::new();
    for consumer in topology.consumers() {
        if let Some(first) = consumer.compatible().next() {
            groups.entry(first).or_default();
        }
    }
    for node in fdt.nodes() {
        if !node.is_enabled() {
            continue;
        }
        if let Some(first) = node.compatible().next() {
            if let Some(members) = groups.get_mut(first) {
                members.push(node.id());
            }
        }
    }
    let mut result = ModulePlan::default();
    let mut any_pulse = false;
    for (first, members) in groups {
        if members.is_empty() {
            continue;
        }
        let compatible = String::from_utf8_lossy(first).into_owned();
        // The compatible is the module's key: one it cannot carry keeps every member out.
        let unusable_why = unusable(&compatible);
        let mut pulse = false;
        let mut firmware: Vec<&'static str> = Vec::new();
        let mut why_out: Vec<Option<Exclusion>> = Vec::with_capacity(members.len());
        for &id in &members {
            if let Some(why) = unusable_why {
                why_out.push(Some(Exclusion::UnusableCompatible(why)));
                continue;
            }
            let verdict = evaluator.verdict(id);
            let (refused, through) = beyond_firmware(evaluator, id, &verdict.reasons);
            for interface in through {
                if !firmware.contains(&interface) {
                    firmware.push(interface);
                }
            }
            let why = if !refused.is_empty() {
                Some(Exclusion::Refused(refused))
            } else if verdict.method != Method::Generic {
                Some(Exclusion::OtherMethod(verdict.method.clone()))
            } else {
                verdict
                    .warnings
                    .iter()
                    .find(|r| matches!(r, Reason::SharedLine { .. }))
                    .map(|r| Exclusion::SharedWithDisabled(r.clone()))
            };
            if why.is_none() {
                pulse |= verdict.warnings.iter().any(|r| matches!(r, Reason::PulseOnly { .. }));
            }
            why_out.push(why);
        }
        let path = |id: NodeId| evaluator.path(id).into_owned();
        let Some(first_out) =
            members.iter().zip(&why_out).find(|(_, why)| why.is_some()).map(|(&id, _)| path(id))
        else {
            any_pulse |= pulse;
            let devices = members.iter().map(|&id| path(id)).collect();
            result.included.push(Included { compatible, devices, pulse, firmware });
            continue;
        };
        // Those refused first, then their eligible siblings, which one handler would cover too.
        let (refused, siblings): (Vec<_>, Vec<_>) =
            members.iter().zip(why_out).partition(|(_, why)| why.is_some());
        for (&id, why) in refused.into_iter().chain(siblings) {
            let why = why.unwrap_or_else(|| Exclusion::Sibling { excluded: first_out.clone() });
            result.excluded.push(Excluded { compatible: compatible.clone(), device: path(id), why });
        }
    }
    result.pulse_us = any_pulse.then_some(evaluator.policy().options.pulse_us);
    result
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use platreset_fdt::Fdt;
    use platreset_topology::Topology;

    use super::*;
    use crate::allowlist::Allowlist;
    use crate::policy::{Options, Policy};

    fn plan_of(options: Options) -> ModulePlan {
        let blob = platreset_testkit::fixture("generic-module");
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let policy = Policy { options, allowlist: Allowlist::builtin().unwrap() };
        plan(&Evaluator::new(&policy, &topology, &[]))
    }

    fn trusting() -> Options {
        Options { trust_reset: true, ..Options::default() }
    }

    fn excluded<'p>(plan: &'p ModulePlan, device: &str) -> &'p Exclusion {
        &plan
            .excluded
            .iter()
            .find(|e| e.device == device)
            .unwrap_or_else(|| panic!("{device} not excluded: {plan:?}"))
            .why
    }

    #[test]
    fn a_compatible_is_listed_when_every_enabled_device_carrying_it_first_is_eligible() {
        let plan = plan_of(trusting());
        assert_eq!(plan.parameter(), "acme,dedicated;acme,firmware-reset");
        assert_eq!(
            plan.included[0].devices,
            vec!["/mmc@ee100000", "/mmc@ee120000"],
            "the disabled one is not a device"
        );
        assert_eq!(plan.pulse_us, None);
    }

    #[test]
    fn the_default_policy_lists_nothing_without_quiescence_evidence() {
        let plan = plan_of(Options::default());
        assert!(plan.included.is_empty(), "{plan:?}");
        assert!(
            matches!(excluded(&plan, "/mmc@ee100000"), Exclusion::Refused(r) if r.iter().any(|r| r.rule() == 4))
        );
    }

    #[test]
    fn a_shared_line_keeps_both_sharers_out_naming_each_other() {
        let plan = plan_of(trusting());
        let why = excluded(&plan, "/pwm@e6e30000");
        assert_eq!(why.rule(), 3);
        assert!(why.text().contains("/pwm@e6e31000"), "{}", why.text());
    }

    #[test]
    fn one_refused_instance_keeps_its_eligible_siblings_out() {
        let plan = plan_of(trusting());
        assert_eq!(excluded(&plan, "/dma@e7300000").rule(), 5);
        assert_eq!(
            excluded(&plan, "/dma@e6700000"),
            &Exclusion::Sibling { excluded: "/dma@e7300000".into() }
        );
    }

    #[test]
    fn a_pulse_only_line_is_listed_with_allow_pulse_and_sets_the_module_pulse() {
        assert_eq!(excluded(&plan_of(trusting()), "/serial@e6e60000").rule(), 2);
        let plan = plan_of(Options { allow_pulse: true, pulse_us: 25, ..trusting() });
        assert_eq!(plan.parameter(), "acme,dedicated;acme,firmware-reset;acme,pulsed");
        assert_eq!(plan.pulse_us, Some(25));
        assert!(plan.included[2].pulse && !plan.included[0].pulse);
    }

    #[test]
    fn sharing_with_a_disabled_node_is_refused_even_when_the_policy_waives_it() {
        let plan = plan_of(Options { allow_shared_with_disabled: true, ..trusting() });
        let why = excluded(&plan, "/spi@e6e90000");
        assert!(matches!(why, Exclusion::SharedWithDisabled(_)), "{why:?}");
        assert!(why.text().contains("the module refuses any line another node lists"));
    }

    #[test]
    fn a_line_platreset_refuses_only_for_its_firmware_is_the_kernels_to_reset() {
        let plan = plan_of(trusting());
        let firmware = plan.included.iter().find(|i| i.compatible == "acme,firmware-reset").unwrap();
        assert_eq!(firmware.firmware.len(), 1);
        assert!(firmware.firmware[0].contains("ZynqMP"), "{:?}", firmware.firmware);
        // Every other rule still applies: without --trust-reset it is out for rule 4 alone.
        let plan = plan_of(Options::default());
        let why = excluded(&plan, "/ethernet@ff0b0000");
        assert!(
            matches!(why, Exclusion::Refused(r) if r.iter().map(Reason::rule).collect::<Vec<_>>() == [4]),
            "{why:?}"
        );
    }

    #[test]
    fn a_device_specific_handler_leaves_nothing_for_the_module() {
        let plan = plan_of(trusting());
        assert!(matches!(
            excluded(&plan, "/ethernet@fff50000"),
            Exclusion::OtherMethod(Method::DeviceSpecific(_))
        ));
    }

    #[test]
    fn compatibles_a_module_parameter_cannot_carry_are_refused() {
        assert!(unusable("acme,ok-1.0_x+y").is_none());
        for bad in ["", "a;b", "a b", "a\"b", "a\\b", "caf\u{e9}"] {
            assert!(unusable(bad).is_some(), "{bad:?}");
        }
        assert!(unusable(&"a".repeat(129)).is_some());
    }
}
