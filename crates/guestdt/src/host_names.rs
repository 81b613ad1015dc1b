//! The host names a guest output carries, checked before anything is built: a host tree is
//! untrusted input whose names the strict reader does not check (it may hold any byte but NUL),
//! and each of these names ends up in DTS source, a DTB, an XML attribute or a VMM's
//! configuration line. Every name is checked by the one rule set, [`platreset_dtedit::names`],
//! on its raw bytes, so the error names the offending byte:
//! - each node name on the device's path (the path goes into xl's `dtdev`, ImageBuilder's
//!   `DOMU_PASSTHROUGH_PATHS`, `xen,path`, the sysfs names of crosvm and AVF) and each of its
//!   property names (copied into the guest node);
//! - its label, by `dtc`'s rule (crosvm's `dt-symbol=`, AVF's `dtbo_label`, `__symbols__`);
//! - the guest nodes named after host strings: each fixed clock's `clk-<tag>-<clock name>` and
//!   each fixed regulator's name from the host regulator node's.
//!
//! Owns: which host names reach the output, and the [`HostError::BadName`] for each bad one.
//! Must not: repair a name (a crafted name is refused, never rewritten into a plausible one).

use platreset_dtedit::names::{label_problem, node_name_problem, printable, property_name_problem};
use platreset_fdt::Node;

use crate::build::fixed_clock_node_name;
use crate::host::HostError;
use crate::props::{cost_of_dropping, Action, Decision, Fix};

/// The device's path with every name made printable, for messages.
pub(crate) fn printable_path(node: &Node<'_, '_>) -> String {
    let mut names = Vec::new();
    let mut at = Some(*node);
    while let Some(n) = at {
        if n.parent().is_some() {
            names.push(printable(n.name()));
        }
        at = n.parent();
    }
    if names.is_empty() {
        return "/".into();
    }
    names.iter().rev().flat_map(|name| ["/", name.as_str()]).collect()
}

/// The first bad node name on `node`'s path, from the root down: the path itself is in doubt,
/// so nothing else about the node is worth reporting.
pub(crate) fn check_path(node: &Node<'_, '_>) -> Result<(), HostError> {
    let mut chain = Vec::new();
    let mut at = Some(*node);
    while let Some(n) = at {
        if n.parent().is_some() {
            chain.push(n);
        }
        at = n.parent();
    }
    for n in chain.iter().rev() {
        if let Some(problem) = node_name_problem(n.name()) {
            return Err(HostError::BadName {
                node: printable_path(node),
                what: format!("node name `{}` on its path", printable(n.name())),
                problem,
                fix: None,
            });
        }
    }
    Ok(())
}

/// Whether `name` is a property name the guest node may carry.
pub(crate) fn is_good_property_name(name: &[u8]) -> bool {
    property_name_problem(name).is_none()
}

/// Every bad name among `node`'s properties, its label and the stand-in nodes its decisions
/// create (`tag` names its fixed clocks); `path` is the node's (already checked) path.
pub(crate) fn check_names(
    node: &Node<'_, '_>,
    path: &str,
    label: Option<&str>,
    tag: &str,
    decisions: &[Decision],
) -> Vec<HostError> {
    let bad = |what: String, problem| HostError::BadName { node: path.to_string(), what, problem, fix: None };
    // Dropping the property removes the stand-in, and the name with it.
    let lifted_by = |property: &str, error: HostError| match error {
        HostError::BadName { node, what, problem, .. } => HostError::BadName {
            node,
            what,
            problem,
            fix: Some(Fix { drop: property.to_string(), cost: cost_of_dropping(property, None) }),
        },
        other => other,
    };
    let mut problems = Vec::new();
    for prop in node.properties() {
        if let Some(problem) = property_name_problem(prop.name()) {
            problems.push(bad(format!("property name `{}`", printable(prop.name())), problem));
        }
    }
    if let Some(label) = label {
        if let Some(problem) = label_problem(label.as_bytes()) {
            problems
                .push(bad(format!("its label `{}` in /__symbols__", printable(label.as_bytes())), problem));
        }
    }
    for decision in decisions {
        match &decision.action {
            Action::FixedClocks(rates) => {
                for (clock, _) in rates {
                    let name = fixed_clock_node_name(tag, clock);
                    if let Some(problem) = node_name_problem(name.as_bytes()) {
                        let what = format!(
                            "clock `{}` (clock-names) would name the guest clock node `{}`",
                            printable(clock.as_bytes()),
                            printable(name.as_bytes())
                        );
                        problems.push(lifted_by(&decision.name, bad(what, problem)));
                    }
                }
            }
            Action::FixedRegulator(supply) => {
                if let Some(problem) = node_name_problem(supply.node.as_bytes()) {
                    let what = format!(
                        "`{}` names host regulator {}, whose name would name the guest regulator node `{}`",
                        printable(decision.name.as_bytes()),
                        printable(supply.host.as_bytes()),
                        printable(supply.node.as_bytes())
                    );
                    problems.push(lifted_by(&decision.name, bad(what, problem)));
                }
            }
            _ => {}
        }
    }
    problems
}
