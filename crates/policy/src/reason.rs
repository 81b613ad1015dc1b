//! Why a device may not be handed to a VM: each failed policy rule as a [`Reason`], with its
//! wording, a short tag for tables, the [`Rule`] it belongs to, the fix, and the flag (if any)
//! that lets a user accept it as a warning; and each rule's number and title.
//!
//! Owns: the words. Must not: decide which reasons apply (that is `policy`).

use std::borrow::Cow;
use std::fmt;

use platreset_topology::Service;

use crate::grade::{DriverEvidence, Hint};

/// One of the policy's rules (DESIGN "The policy, in one place"), in the order they apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// 1: a reset method exists.
    MethodExists,
    /// 2: the generic reset can reset every line.
    LinesResettable,
    /// 3: no line is shared.
    LinesDedicated,
    /// 4: the reset is known to quiesce the device.
    ResetQuiesces,
    /// 5: DMA is confined, or there is none.
    DmaConfined,
}

impl Rule {
    /// Every rule, in order.
    pub const ALL: [Rule; 5] = [
        Rule::MethodExists,
        Rule::LinesResettable,
        Rule::LinesDedicated,
        Rule::ResetQuiesces,
        Rule::DmaConfined,
    ];

    /// Its number, 1 to 5, as the documents and `kmod`'s JSON cite it.
    pub fn number(self) -> u8 {
        match self {
            Rule::MethodExists => 1,
            Rule::LinesResettable => 2,
            Rule::LinesDedicated => 3,
            Rule::ResetQuiesces => 4,
            Rule::DmaConfined => 5,
        }
    }

    /// What it requires, as `explain` states it.
    pub fn title(self) -> &'static str {
        match self {
            Rule::MethodExists => "a reset method exists",
            Rule::LinesResettable => "every reset line resolves and a driver here can reset it",
            Rule::LinesDedicated => "no reset line is shared with another node",
            Rule::ResetQuiesces => "the reset is known to stop the device's DMA and interrupts",
            Rule::DmaConfined => "DMA is confined by an IOMMU, or the device does not master DMA",
        }
    }
}

/// Why a device may not be handed to a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Rule 1: the node has no reset at all.
    NoReset,
    /// Rule 1: the device has an ACPI companion without `_RST`; vfio-platform then looks no further.
    AcpiWithoutRst {
        /// The companion's namespace path.
        path: String,
    },
    /// Rule 2: a `resets` specifier does not resolve (the detail is reported beside the verdict).
    Unresolvable,
    /// Rule 2: no driver here can reset line `index`.
    Unsupported {
        /// Position of the line in `resets`.
        index: usize,
        /// Controller path.
        controller: String,
        /// Why (no driver, firmware interface, id the driver refuses).
        why: String,
    },
    /// Rule 2: the line's driver has assert and deassert but no `.reset`: Linux's
    /// `reset_control_reset` fails with -ENOTSUPP, and the family documents no pulse width.
    PulseOnly {
        /// Position of the line in `resets`.
        index: usize,
        /// Controller path.
        controller: String,
        /// The driver.
        driver: &'static str,
    },
    /// Rule 3: line `index` is used by other nodes too.
    SharedLine {
        /// Position of the line in `resets`.
        index: usize,
        /// Controller path.
        controller: String,
        /// Specifier cells.
        args: Vec<u32>,
        /// The other nodes, sorted: all of them, or the first
        /// [`SHARERS_NAMED`](platreset_topology::SHARERS_NAMED) when there are more.
        others: Vec<String>,
        /// How many other nodes there are (`others.len()` unless the list was cut).
        count: usize,
        /// Whether every other node is disabled (then the host uses none of them).
        only_disabled: bool,
        /// The named other nodes that are host infrastructure (a power gate, a clock
        /// controller, …), with the service each provides: they never go to a guest.
        host: Vec<(String, Service)>,
    },
    /// Rule 4: nothing records that the reset stops the device's DMA and interrupts (the
    /// Linux driver's evidence, when there is some, is not accepted).
    QuiescenceUnproven {
        /// What the device's Linux driver does with its reset.
        driver: DriverEvidence,
        /// What `--accept-evidence` would change, when it would accept the driver's evidence.
        hint: Option<Hint>,
    },
    /// Rule 5: no `iommus`, and the device is not recorded as non-DMA.
    NoIommu,
    /// Rule 5, for an ACPI device: its IOMMU mapping lives in the IORT, which is not read here.
    IommuUnknown,
}

/// Where an IOMMU could confine a device's DMA, as the tree tells it: what makes rule 5's fix
/// one that can be acted on or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IommuPlace {
    /// No node of the tree has `#iommu-cells`: there is no IOMMU to name in `iommus`.
    NoneInTree,
    /// The tree has IOMMUs, but no device on the device's bus is behind one.
    OffBus {
        /// The bus (the device's parent).
        bus: String,
        /// The IOMMUs the tree describes: the first few, then "and N more".
        iommus: Vec<String>,
    },
    /// A device beside it is behind an IOMMU: `iommus` may well be added.
    OnBus,
}

/// A host service named for people: "a power gate".
pub fn service_noun(service: Service) -> &'static str {
    match service {
        Service::Iommu => "an IOMMU",
        Service::PowerGate => "a power gate",
        Service::PowerController => "a power controller",
        Service::InterruptController => "an interrupt controller",
        Service::ClockController => "a clock controller",
        Service::ResetController => "a reset controller",
    }
}

/// What it means that a device's reset line is also the line of a host service.
fn host_drives_the_line(service: Service) -> &'static str {
    match service {
        Service::PowerGate | Service::PowerController => {
            "the host's power-domain driver also drives this line when it powers the domain on or off"
        }
        Service::Iommu => {
            "the host's IOMMU driver owns it, and a reset drops the translations of every device behind it"
        }
        Service::InterruptController => "the host's interrupt handling of other devices depends on it",
        Service::ClockController => "the host's clock driver owns it, and other devices' clocks come from it",
        Service::ResetController => {
            "the host's reset driver owns it, and other devices' resets go through it"
        }
    }
}

/// Why host infrastructure is no passthrough candidate: "a power gate serves other devices on
/// the host; it is not a passthrough candidate".
pub fn not_a_candidate(service: Service) -> String {
    format!("{} serves other devices on the host; it is not a passthrough candidate", service_noun(service))
}

/// The fix of a line shared with host infrastructure: no group takes it.
fn shared_with_host(host: &[(String, Service)]) -> String {
    let mut out = String::from("the line is shared with host infrastructure, which cannot go to a guest: ");
    for (i, (path, service)) in host.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        out.push_str(path);
        out.push_str(" is ");
        out.push_str(service_noun(*service));
        out.push_str(" (");
        out.push_str(host_drives_the_line(*service));
        out.push(')');
    }
    out.push_str(
        ". The line is not the device's alone, and assigning the sharers together (--group) cannot change that: \
         leave the device to the host",
    );
    out
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Rule 4's refusal, before what the driver evidence adds.
const QUIESCENCE_UNPROVEN: &str =
    "resettable, quiescence unproven: nothing records that its reset stops DMA and interrupts";

/// Appends `n` in decimal (the audit words thousands of reasons: no formatting machinery).
fn push_number(out: &mut String, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        // n % 10 < 10: the cast cannot truncate.
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend(digits[i..].iter().map(|&d| char::from(d)));
}

/// "reset line N (CONTROLLER" — the start of every per-line reason.
fn line_prefix(index: usize, controller: &str, capacity: usize) -> String {
    let mut out = String::with_capacity(32 + controller.len() + capacity);
    out.push_str("reset line ");
    push_number(&mut out, index);
    out.push_str(" (");
    out.push_str(controller);
    out
}

impl Reason {
    /// The reason as text: borrowed for the fixed ones, built only for those with details.
    pub fn text(&self) -> Cow<'static, str> {
        if let Some(text) = self.fixed_text() {
            return text.into();
        }
        let text = match self {
            Reason::AcpiWithoutRst { path } => format!(
                "the ACPI companion {path} has no _RST: vfio-platform resets ACPI devices only through _RST"
            ),
            Reason::Unsupported { index, controller, why } => {
                let mut out = line_prefix(*index, controller, why.len() + 24);
                out.push_str(") cannot be reset here: ");
                out.push_str(why);
                out
            }
            Reason::PulseOnly { index, controller, driver } => {
                let mut out = line_prefix(*index, controller, 160);
                out.push_str("): the ");
                out.push_str(driver);
                out.push_str(
                    " driver has no .reset, so Linux's reset_control_reset fails (-ENOTSUPP); \
                     only an assert/deassert pulse of undocumented width",
                );
                out
            }
            Reason::SharedLine { index, controller, args, others, count, only_disabled, .. } => {
                let names: usize = others.iter().map(|o| o.len() + 2).sum();
                let mut out = line_prefix(*index, controller, names + 64);
                out.push_str(" [");
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    push_number(&mut out, *a as usize);
                }
                let n = (*count).max(others.len());
                out.push_str(if *only_disabled { "]) is shared only with " } else { "]) is shared with " });
                push_number(&mut out, n);
                out.push_str(match (*only_disabled, n == 1) {
                    (true, true) => " disabled node: ",
                    (true, false) => " disabled nodes: ",
                    (false, true) => " other node: ",
                    (false, false) => " other nodes: ",
                });
                for (i, other) in others.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(other);
                }
                if n > others.len() {
                    // A crowded line: the first ones by path, then how many more.
                    out.push_str(" and ");
                    push_number(&mut out, n - others.len());
                    out.push_str(" more");
                }
                out
            }
            Reason::QuiescenceUnproven { driver, hint } => {
                let mut out = String::from(QUIESCENCE_UNPROVEN);
                match driver {
                    DriverEvidence::NotApplicable => {}
                    DriverEvidence::NoDriver => out.push_str("; no Linux driver lists its compatibles"),
                    DriverEvidence::Found(k) => {
                        out.push_str("; ");
                        out.push_str(&k.to_string());
                    }
                }
                match hint {
                    Some(Hint { option, eligible: true }) => {
                        out.push_str("; with --accept-evidence ");
                        out.push_str(option);
                        out.push_str(" this device would be eligible");
                    }
                    Some(Hint { option, eligible: false }) => {
                        out.push_str("; --accept-evidence ");
                        out.push_str(option);
                        out.push_str(" would accept this evidence (other rules still refuse the device)");
                    }
                    None => {}
                }
                out
            }
            _ => String::new(),
        };
        text.into()
    }

    /// The text of the reasons that carry no details.
    fn fixed_text(&self) -> Option<&'static str> {
        match self {
            Reason::NoReset => Some("no reset method: the node has no resets"),
            Reason::Unresolvable => Some("reset specifier cannot be resolved"),
            Reason::NoIommu => Some("no iommus: the device's DMA is not confined by an IOMMU"),
            Reason::IommuUnknown => Some(
                "ACPI describes IOMMU mappings in the IORT table, which platreset does not read: DMA confinement unknown",
            ),
            _ => None,
        }
    }

    /// The policy rule it fails.
    pub fn failed_rule(&self) -> Rule {
        match self {
            Reason::NoReset | Reason::AcpiWithoutRst { .. } => Rule::MethodExists,
            Reason::Unresolvable | Reason::Unsupported { .. } | Reason::PulseOnly { .. } => {
                Rule::LinesResettable
            }
            Reason::SharedLine { .. } => Rule::LinesDedicated,
            Reason::QuiescenceUnproven { .. } => Rule::ResetQuiesces,
            Reason::NoIommu | Reason::IommuUnknown => Rule::DmaConfined,
        }
    }

    /// The number of the policy rule it fails (DESIGN "The policy, in one place", 1 to 5).
    pub fn rule(&self) -> u8 {
        self.failed_rule().number()
    }

    /// A short tag for tables ("shared line").
    pub fn short(&self) -> &'static str {
        match self {
            Reason::NoReset => "no reset",
            Reason::AcpiWithoutRst { .. } => "ACPI, no _RST",
            Reason::Unresolvable => "unresolvable",
            Reason::Unsupported { .. } => "unsupported controller",
            Reason::PulseOnly { .. } => "pulse only",
            Reason::SharedLine { only_disabled: false, .. } => "shared line",
            Reason::SharedLine { only_disabled: true, .. } => "shared with disabled",
            Reason::QuiescenceUnproven { .. } => "quiescence unproven",
            Reason::NoIommu => "no IOMMU",
            Reason::IommuUnknown => "IOMMU unknown",
        }
    }

    /// A one-line hint on what to do about it, from the reason alone (for `NoIommu`, without
    /// knowing whether the tree has an IOMMU: [`Reason::fix_with`] says that).
    pub fn fix(&self) -> Cow<'static, str> {
        self.fix_with(None)
    }

    /// The hint, told with where an IOMMU could be (`NoIommu`: none in the tree, none on the
    /// device's bus), and naming the sharers that are host infrastructure (`SharedLine`).
    pub fn fix_with(&self, iommu: Option<&IommuPlace>) -> Cow<'static, str> {
        match (self, iommu) {
            (Reason::SharedLine { host, only_disabled: false, .. }, _) if !host.is_empty() => {
                Cow::Owned(shared_with_host(host))
            }
            (Reason::NoIommu, Some(IommuPlace::NoneInTree)) => Cow::Borrowed(
                "the SoC's device tree describes no IOMMU (no node has #iommu-cells), so iommus cannot be added: \
                 only an allowlist record dma = false (a device that does not master DMA) can make it eligible",
            ),
            (Reason::NoIommu, Some(IommuPlace::OffBus { bus, iommus })) => Cow::Owned(format!(
                "no device on {bus} is behind an IOMMU (the tree's IOMMUs, {}, serve other devices), so adding \
                 iommus is not known to be possible: record the device as dma = false in the allowlist if it \
                 does not master DMA",
                iommus.join(", ")
            )),
            _ => Cow::Borrowed(self.fixed_fix()),
        }
    }

    fn fixed_fix(&self) -> &'static str {
        match self {
            Reason::NoReset => {
                "describe the device's reset line in DT (resets = <&ctrl id>) or provide ACPI _RST"
            }
            Reason::AcpiWithoutRst { .. } => "add a _RST method to the device in the firmware's ACPI tables",
            Reason::Unresolvable => {
                "fix the resets property: every phandle must name a node with #reset-cells"
            }
            Reason::Unsupported { .. } => {
                "see docs/CONTROLLERS.md for the controllers platreset drives; a firmware reset needs the firmware's own path"
            }
            Reason::PulseOnly { .. } => {
                "accept platreset's assert, wait, deassert pulse with --allow-pulse (set the width with --pulse-us)"
            }
            Reason::SharedLine { only_disabled: false, .. } => {
                "a shared line resets the other devices too: assign them together (--group) or not at all"
            }
            Reason::SharedLine { only_disabled: true, .. } => {
                "the host uses none of the sharers: accept with --allow-shared-with-disabled"
            }
            Reason::QuiescenceUnproven { .. } => {
                "record evidence in data/allowlist.toml (or --allowlist), or accept the risk with --trust-reset"
            }
            Reason::NoIommu => "add an IOMMU (iommus = <&smmu id>) or record the device as dma = false in the allowlist",
            Reason::IommuUnknown => {
                "check the IORT by hand (acpidump -n IORT, iasl -d), or record the device as dma = false in the allowlist"
            }
        }
    }

    /// The option that turns this reason into an accepted warning, if any.
    pub fn accepted_by(&self) -> Option<&'static str> {
        match self {
            Reason::NoReset | Reason::AcpiWithoutRst { .. } => Some("--reset-required false"),
            Reason::PulseOnly { .. } => Some("--allow-pulse"),
            Reason::SharedLine { only_disabled: true, .. } => Some("--allow-shared-with-disabled"),
            Reason::QuiescenceUnproven { .. } => Some("--trust-reset"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Reason> {
        vec![
            Reason::NoReset,
            Reason::AcpiWithoutRst { path: "\\_SB.ETH0".into() },
            Reason::Unresolvable,
            Reason::Unsupported { index: 0, controller: "/c".into(), why: "no driver".into() },
            Reason::PulseOnly { index: 1, controller: "/cru".into(), driver: "rockchip-softrst" },
            Reason::SharedLine {
                index: 1,
                controller: "/c".into(),
                args: vec![3, 4],
                others: vec!["/a".into(), "/b".into()],
                count: 2,
                only_disabled: false,
                host: vec![],
            },
            Reason::SharedLine {
                index: 0,
                controller: "/c".into(),
                args: vec![3],
                others: vec!["/a".into()],
                count: 1,
                only_disabled: true,
                host: vec![],
            },
            Reason::QuiescenceUnproven { driver: DriverEvidence::NotApplicable, hint: None },
            Reason::NoIommu,
            Reason::IommuUnknown,
        ]
    }

    #[test]
    fn text_and_display_agree_and_numbers_are_decimal() {
        for r in all() {
            assert_eq!(r.text(), r.to_string());
        }
        for n in [0, 7, 10, 523, 4_294_967_295, usize::MAX] {
            let mut out = String::new();
            push_number(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    #[test]
    fn every_reason_has_words_a_tag_a_rule_and_a_fix() {
        for r in all() {
            assert!(!r.short().is_empty() && !r.fix().is_empty() && !r.to_string().is_empty(), "{r:?}");
            assert!((1..=5).contains(&r.rule()));
        }
    }

    #[test]
    fn rules_are_numbered_in_order_and_each_has_a_reason_that_fails_it() {
        let numbers: Vec<u8> = Rule::ALL.iter().map(|r| r.number()).collect();
        assert_eq!(numbers, [1, 2, 3, 4, 5]);
        for rule in Rule::ALL {
            assert!(all().iter().any(|r| r.failed_rule() == rule), "{rule:?} has no reason");
        }
        assert_eq!(Rule::LinesDedicated.title(), "no reset line is shared with another node");
    }

    #[test]
    fn a_shared_line_names_every_other_node() {
        let r = &all()[5];
        assert_eq!(r.to_string(), "reset line 1 (/c [3, 4]) is shared with 2 other nodes: /a, /b");
        assert_eq!(r.accepted_by(), None, "sharing with a node the host may use is never waived");
        let r = &all()[6];
        assert_eq!(r.to_string(), "reset line 0 (/c [3]) is shared only with 1 disabled node: /a");
        assert_eq!(r.accepted_by(), Some("--allow-shared-with-disabled"));
    }

    #[test]
    fn a_crowded_line_names_the_first_sharers_then_how_many_more() {
        let others: Vec<String> = (0..64).map(|i| format!("/n{i:04}")).collect();
        let r = Reason::SharedLine {
            index: 0,
            controller: "/c".into(),
            args: vec![7],
            others: others.clone(),
            count: 9_999,
            only_disabled: false,
            host: vec![],
        };
        let text = r.to_string();
        let expected = format!(
            "reset line 0 (/c [7]) is shared with 9999 other nodes: {} and 9935 more",
            others.join(", ")
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn only_the_documented_options_waive_a_rule() {
        let waivable: Vec<&str> = all().iter().filter_map(Reason::accepted_by).collect();
        assert_eq!(
            waivable,
            [
                "--reset-required false",
                "--reset-required false",
                "--allow-pulse",
                "--allow-shared-with-disabled",
                "--trust-reset"
            ]
        );
    }
}
