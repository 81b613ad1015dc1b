//! The account of one verdict, rule by rule (what `platreset explain` shows): the reset methods
//! in the kernel's order with why each was or was not found, each reset line with its controller,
//! how it is reset and who shares it, the allowlist entry read, each rule with its evidence, the
//! group assigned together, and what to do next.
//!
//! Serialized, an [`Explanation`] is `explain --format json`, a stable interface scripts read:
//! the field order is the key order, and a renderer for people reads the same typed fields.
//!
//! Owns: what an account contains and its JSON shape. Must not: decide anything the policy does
//! not — every pass or fail comes from the [`Verdict`] it is given — nor lay text out for a
//! terminal, or print.
//!
//! A node may list 300,000 resets entries: the per-line parts ([`Lines`], rule 2's evidence) are
//! produced while they are read or written, so an account costs the memory of the tree and the
//! verdict, not another copy per line.

use std::borrow::Cow;
use std::fmt;

use platreset_acpi::AcpiDevice;
use platreset_fdt::{Node, NodeId};
use platreset_reset::handlers::COMPATIBLES;
use platreset_topology::{ResetLine, SHARERS_NAMED};
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;

use crate::allowlist::{self, Entry};
use crate::evidence::{self, Site};
use crate::grade::{AcceptEvidence, KernelEvidence, SHARED_LINE_CAVEAT};
use crate::group::Group;
use crate::policy::{Evaluator, LineSupport, Method, Policy, Reason, Rule, Verdict};

/// The account of one device's verdict. Its JSON is `explain --format json` less the `file`
/// the command adds after it.
#[derive(Serialize)]
pub struct Explanation<'x> {
    /// The node's path, or the ACPI device's namespace path.
    pub node: String,
    /// The node's status (an ACPI device's is "okay").
    pub status: String,
    /// The compatible strings (an ACPI device's `_HID`, then its `_CID`s).
    pub compatible: Vec<String>,
    /// The reset method chosen, and each one considered.
    pub method: Methods<'x>,
    /// The reset lines.
    pub lines: Lines<'x>,
    /// Why `resets` does not resolve, when it does not.
    pub error: Option<String>,
    /// The allowlist entry the rules read.
    pub allowlist: Option<AllowlistUse<'x>>,
    /// What the device's Linux driver does with its reset (generic reset only), with every
    /// call site; added after the fields scripts first read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_driver: Option<KernelDriverUse>,
    /// Each rule that applies, in order.
    pub rules: Vec<RuleCheck<'x>>,
    /// What to do next: each refusal's fix, or how vfio-platform takes an eligible device.
    pub next: Vec<String>,
    /// The verdict explained.
    pub verdict: &'x Verdict,
    /// The devices assigned together with this one, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupExplanation>,
    /// The other nodes whose reset lines this device provides (a UFS host resetting its PHY):
    /// assigning it takes their reset controller from the host. Added field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provides_resets_to: Vec<String>,
}

/// The reset method chosen, and the kernel's candidates in its order of precedence.
#[derive(Serialize)]
pub struct Methods<'x> {
    /// The verdict's method.
    #[serde(serialize_with = "method_name")]
    pub chosen: &'x Method,
    /// ACPI `_RST`, a device-specific handler, the generic reset: found or not, and why.
    pub considered: [Considered; 3],
}

fn method_name<S: Serializer>(method: &&Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

/// One candidate reset method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Considered {
    /// Which.
    pub method: Candidate,
    /// Whether the device has it (and nothing before it in precedence).
    pub found: bool,
    /// Why it was or was not found.
    pub why: String,
}

/// A reset method vfio-platform looks for, named as [`Method::as_str`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidate {
    /// An ACPI `_RST`.
    Acpi,
    /// A handler for the first compatible.
    DeviceSpecific,
    /// The reset controllers named by `resets`.
    Generic,
}

impl Candidate {
    /// Its stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Candidate::Acpi => "acpi",
            Candidate::DeviceSpecific => "device-specific",
            Candidate::Generic => "generic",
        }
    }
}

impl Serialize for Candidate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// A device's reset lines, each described when it is read.
#[derive(Clone, Copy)]
pub struct Lines<'x> {
    /// The evaluator that asks the drivers and the topology, the device, and its lines.
    of: Option<(&'x Evaluator<'x, 'x, 'x, 'x>, NodeId, &'x [ResetLine])>,
}

impl<'x> Lines<'x> {
    /// No lines (an ACPI device, or a node without `resets`).
    pub fn none() -> Lines<'x> {
        Lines { of: None }
    }

    /// The lines of `node`.
    pub fn of(evaluator: &'x Evaluator<'x, 'x, 'x, 'x>, node: NodeId) -> Lines<'x> {
        let lines = evaluator.topology().consumer(node).map(|c| c.lines()).unwrap_or_default();
        Lines { of: Some((evaluator, node, lines)) }
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.of.map_or(0, |(_, _, lines)| lines.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Each line, described (its sharers looked up) as the iterator reaches it.
    pub fn iter(&self) -> impl Iterator<Item = LineExplanation<'x>> + 'x {
        let (evaluator, node, lines) = match self.of {
            Some((e, node, lines)) => (Some(e), Some(node), lines),
            None => (None, None, &[][..]),
        };
        lines
            .iter()
            .enumerate()
            .filter_map(move |(index, line)| Some(LineExplanation::of(evaluator?, node?, index, line)))
    }
}

impl Serialize for Lines<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// One reset line: how platreset resets it, and who else uses it (the first
/// [`SHARERS_NAMED`] in document order, and how many in all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineExplanation<'x> {
    /// Its position in `resets`.
    pub index: usize,
    /// The controller's path.
    pub controller: Cow<'x, str>,
    /// The specifier cells.
    pub args: &'x [u32],
    /// How it is reset, or why it cannot be.
    pub support: LineSupport,
    /// The first other users.
    pub sharers: Vec<Sharer<'x>>,
    /// How many other users there are in all.
    pub sharer_count: usize,
}

/// Another user of a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sharer<'x> {
    /// Its path.
    pub node: Cow<'x, str>,
    /// Its status.
    pub status: String,
}

impl<'x> LineExplanation<'x> {
    fn of(e: &'x Evaluator<'x, 'x, 'x, 'x>, node: NodeId, index: usize, line: &'x ResetLine) -> Self {
        let topology = e.topology();
        let sharers = topology
            .users_of(line)
            .filter(|&n| n != node)
            .take(SHARERS_NAMED)
            .filter_map(|id| topology.node(id).map(|n| (id, n)))
            .map(|(id, n)| Sharer { node: e.path(id), status: platreset_fdt::shown(n.status()).into_owned() })
            .collect();
        LineExplanation {
            index,
            controller: e.path(line.controller()),
            args: line.args(),
            support: e.line_support(line),
            sharers,
            sharer_count: topology.other_users(line, node),
        }
    }

    /// "kernel" (the driver's `.reset`), "pulse" (assert, wait, deassert) or "unsupported".
    pub fn reset(&self) -> &'static str {
        match self.support {
            LineSupport::Kernel(_) => "kernel",
            LineSupport::Pulse(_) => "pulse",
            LineSupport::Cannot(_) => "unsupported",
        }
    }

    /// The driver that resets it, if one does.
    pub fn driver(&self) -> Option<&'static str> {
        match self.support {
            LineSupport::Kernel(d) | LineSupport::Pulse(d) => Some(d),
            LineSupport::Cannot(_) => None,
        }
    }

    /// Why no driver here can reset it, if none can.
    pub fn why(&self) -> Option<&str> {
        match &self.support {
            LineSupport::Cannot(why) => Some(why),
            _ => None,
        }
    }

    /// Whether [`LineExplanation::sharers`] leaves some out.
    pub fn truncated(&self) -> bool {
        self.sharer_count > self.sharers.len()
    }
}

impl Serialize for LineExplanation<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut line = serializer.serialize_struct("LineExplanation", 10)?;
        line.serialize_field("index", &self.index)?;
        line.serialize_field("controller", &self.controller)?;
        line.serialize_field("args", self.args)?;
        line.serialize_field("reset", self.reset())?;
        line.serialize_field("driver", &self.driver())?;
        line.serialize_field("why", &self.why())?;
        line.serialize_field("shared_with", &SharerNames(&self.sharers))?;
        line.serialize_field("sharers", &self.sharers)?;
        line.serialize_field("shared_with_count", &self.sharer_count)?;
        line.serialize_field("shared_with_truncated", &self.truncated())?;
        line.end()
    }
}

/// Sharers as a list of their paths.
struct SharerNames<'s, 'x>(&'s [Sharer<'x>]);

impl Serialize for SharerNames<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|s| &s.node))
    }
}

/// The allowlist entry the rules read, and the file it is from.
#[derive(Debug, Clone, Copy)]
pub struct AllowlistUse<'x> {
    /// The entry.
    pub entry: &'x Entry,
    /// The allowlist it is from.
    pub source: &'x str,
}

impl Serialize for AllowlistUse<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entry = serializer.serialize_struct("AllowlistUse", 5)?;
        entry.serialize_field("key", &self.entry.key())?;
        entry.serialize_field("dma", &self.entry.dma)?;
        entry.serialize_field("source", self.source)?;
        entry.serialize_field("quiescence", &self.entry.quiescence.as_ref().map(Quiescence))?;
        entry.serialize_field("note", &self.entry.note)?;
        entry.end()
    }
}

/// An entry's evidence of quiescence: `{"kind", "text"}`.
struct Quiescence<'e>(&'e allowlist::Evidence);

impl Serialize for Quiescence<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut q = serializer.serialize_struct("Quiescence", 2)?;
        q.serialize_field("kind", self.0.kind())?;
        q.serialize_field("text", &self.0.to_string())?;
        q.end()
    }
}

/// The Linux driver's evidence about a device's reset, and every reset call it makes.
#[derive(Debug, Clone, Copy)]
pub struct KernelDriverUse {
    /// The driver, its grade and the lines it takes.
    pub evidence: KernelEvidence,
    /// The `--accept-evidence` value that accepts it, if one does.
    pub accepted_with: Option<&'static str>,
}

impl Serialize for KernelDriverUse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let k = &self.evidence;
        let d = k.driver;
        let mut out = serializer.serialize_struct("KernelDriverUse", 12)?;
        out.serialize_field("compatible", k.compatible)?;
        out.serialize_field("driver", d.name)?;
        out.serialize_field("file", d.file)?;
        out.serialize_field("line", &d.line)?;
        out.serialize_field("source", evidence::SOURCE)?;
        out.serialize_field("grade", d.grade.as_str())?;
        out.serialize_field("evidence_grade", k.label())?;
        out.serialize_field("lines", k.lines_label())?;
        out.serialize_field("unclassified", &d.unclassified)?;
        out.serialize_field("accepted_with", &self.accepted_with)?;
        out.serialize_field("citation", &k.site().map(SiteJson))?;
        out.serialize_field("call_sites", &Sites(d.sites))?;
        out.end()
    }
}

/// A call site: `{"op", "call", "file", "function", "line", "paths", "tied"}`.
struct SiteJson<'s>(&'s Site);

impl Serialize for SiteJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let mut out = serializer.serialize_struct("Site", 7)?;
        out.serialize_field("op", s.op)?;
        out.serialize_field("call", s.call)?;
        out.serialize_field("file", s.file)?;
        out.serialize_field("function", s.function)?;
        out.serialize_field("line", &s.line)?;
        out.serialize_field("paths", s.paths)?;
        out.serialize_field("tied", &s.tied)?;
        out.end()
    }
}

struct Sites(&'static [Site]);

impl Serialize for Sites {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(SiteJson))
    }
}

/// One rule applied: failed when the verdict refuses for it, accepted when a refusal was waived.
pub struct RuleCheck<'x> {
    /// Which rule.
    pub rule: Rule,
    /// Whether the verdict has no refusal for it.
    pub pass: bool,
    /// The options that waived its refusals (passed with a warning).
    pub accepted_with: Vec<&'static str>,
    /// What it rests on.
    pub evidence: RuleEvidence<'x>,
    /// The fix for its first refusal, told with what the tree says (see [`Evaluator::fix`]).
    pub fix: Option<Cow<'static, str>>,
}

/// The fix of a refusal, as the device's tree tells it.
type Fix<'f> = &'f dyn Fn(&Reason) -> Cow<'static, str>;

impl<'x> RuleCheck<'x> {
    /// `rule` as the verdict `v` settles it; `evidence` is what it rests on when nothing fails
    /// it; `fix` words a refusal's fix.
    fn of(v: &'x Verdict, rule: Rule, evidence: RuleEvidence<'x>, fix: Fix<'_>) -> RuleCheck<'x> {
        let refused: Vec<&Reason> = v.reasons.iter().filter(|r| r.failed_rule() == rule).collect();
        let waived: Vec<&Reason> = v.warnings.iter().filter(|r| r.failed_rule() == rule).collect();
        let accepted_with = waived.iter().filter_map(|r| r.accepted_by()).collect();
        let fix = refused.first().map(|r| fix(r));
        let (pass, evidence) = match (refused.is_empty(), waived.is_empty()) {
            (false, _) => (false, RuleEvidence::Refused(refused)),
            (true, false) => (true, RuleEvidence::Accepted(waived)),
            (true, true) => (true, evidence),
        };
        RuleCheck { rule, pass, accepted_with, evidence, fix }
    }

    /// Whether it passed only because an option waived its refusals.
    pub fn accepted(&self) -> bool {
        self.pass && !self.accepted_with.is_empty()
    }
}

impl Serialize for RuleCheck<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut rule = serializer.serialize_struct("RuleCheck", 6)?;
        rule.serialize_field("number", &self.rule.number())?;
        rule.serialize_field("rule", self.rule.title())?;
        rule.serialize_field("pass", &self.pass)?;
        rule.serialize_field("accepted_with", &self.accepted_with)?;
        rule.serialize_field("evidence", &Words(&self.evidence))?;
        rule.serialize_field("fix", &self.fix)?;
        rule.end()
    }
}

/// A value serialized as its [`fmt::Display`] text, written as it is produced.
struct Words<'d, D>(&'d D);

impl<D: fmt::Display> Serialize for Words<'_, D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self.0)
    }
}

/// What a rule rests on; its text is written when shown (a refusal per line makes it long).
pub enum RuleEvidence<'x> {
    /// Rule 1: the method found.
    Method(&'x Method),
    /// Rule 2: how each line is reset ("line 0: kernel (driver), …").
    Drivers(Lines<'x>),
    /// Rule 3: no line is shared.
    Dedicated,
    /// Rule 4: the allowlist's evidence that the reset quiesces the device, if it has some.
    Quiescence(Option<&'x allowlist::Evidence>),
    /// Rule 4: the Linux driver's evidence, accepted with `--accept-evidence`.
    KernelDriver(KernelDriverUse),
    /// Rule 5: whether the node has `iommus`, and the allowlist entry that may record no DMA.
    Dma {
        /// Whether the node has `iommus`.
        iommus: bool,
        /// The entry read.
        entry: Option<&'x Entry>,
    },
    /// The verdict's refusals for the rule.
    Refused(Vec<&'x Reason>),
    /// The refusals an option waived (shown after "accepted: ").
    Accepted(Vec<&'x Reason>),
}

impl fmt::Display for RuleEvidence<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons = |f: &mut fmt::Formatter<'_>, reasons: &[&Reason]| {
            for (i, r) in reasons.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                f.write_str(&r.text())?;
            }
            Ok(())
        };
        match self {
            RuleEvidence::Method(method) => write!(f, "method {}", method.as_str()),
            RuleEvidence::Drivers(lines) => {
                for (i, l) in lines.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "line {}: {} ({})", l.index, l.reset(), l.driver().unwrap_or("-"))?;
                }
                Ok(())
            }
            RuleEvidence::Dedicated => f.write_str("every line is dedicated"),
            RuleEvidence::Quiescence(Some(evidence)) => write!(f, "{evidence}"),
            RuleEvidence::Quiescence(None) => f.write_str("no reset, nothing to prove"),
            RuleEvidence::KernelDriver(k) => {
                write!(f, "{}", k.evidence)?;
                if let Some(option) = k.accepted_with {
                    write!(f, "; accepted as proof with --accept-evidence {option}")?;
                }
                // Where it matters: rule 3 read the sharing from this tree alone.
                write!(f, "; note: {SHARED_LINE_CAVEAT}")
            }
            RuleEvidence::Dma { iommus: true, .. } => f.write_str("the node has iommus"),
            RuleEvidence::Dma { iommus: false, entry: Some(e) } if !e.dma => {
                write!(f, "the allowlist records {} as not mastering DMA", e.key())
            }
            RuleEvidence::Dma { .. } => Ok(()),
            RuleEvidence::Refused(refused) => reasons(f, refused),
            RuleEvidence::Accepted(waived) => {
                f.write_str("accepted: ")?;
                reasons(f, waived)
            }
        }
    }
}

/// The devices that share reset lines with one, and the verdict on assigning them together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupExplanation {
    /// The enabled members, each with its verdict when assigned with the others.
    pub members: Vec<Member>,
    /// The disabled members' paths: reset with the group, never assigned.
    pub also_reset: Vec<String>,
    /// Whether the group may be handed to one VM.
    pub eligible: bool,
    /// Whether the device shares no line (a group of one).
    pub single: bool,
    /// The members that are host infrastructure, with the service each provides: never
    /// assigned, they keep the lines they use shared (added).
    pub host_infrastructure: Vec<HostMember>,
}

/// A member of a group that stays with the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostMember {
    /// Its path.
    pub node: String,
    /// The service it provides (`power-gate`, …).
    pub infrastructure: &'static str,
}

/// An enabled member of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    /// Its path.
    pub node: String,
    /// Its verdict, assigned together with the group.
    pub verdict: Verdict,
}

impl GroupExplanation {
    /// The group of `node` (its closure under "shares a line with") and the policy's verdict on it.
    pub fn of(e: &Evaluator<'_, '_, '_, '_>, node: NodeId) -> GroupExplanation {
        let group = Group::of(e.topology(), node);
        let verdict = e.group_verdict(&group);
        let eligible = verdict.eligible();
        GroupExplanation {
            also_reset: verdict.also_reset.iter().map(|&id| e.path(id).into_owned()).collect(),
            members: verdict
                .assign
                .into_iter()
                .map(|(id, verdict)| Member { node: e.path(id).into_owned(), verdict })
                .collect(),
            eligible,
            single: group.is_single(),
            host_infrastructure: verdict
                .host
                .iter()
                .filter_map(|&id| {
                    let service = e.infrastructure(id)?;
                    Some(HostMember { node: e.path(id).into_owned(), infrastructure: service.as_str() })
                })
                .collect(),
        }
    }
}

impl<'x> Explanation<'x> {
    /// The account of a device-tree node, on the verdict `v` the evaluator `e` gave about it.
    pub fn of(e: &'x Evaluator<'x, 'x, 'x, 'x>, node: &Node<'_, '_>, v: &'x Verdict) -> Explanation<'x> {
        let consumer = e.topology().consumer(node.id());
        let compatible: Vec<String> =
            node.compatible().map(|c| platreset_fdt::shown(c).into_owned()).collect();
        let companion = e.companion(node.id());
        let entry = e.allowlist_entry(node.id());

        let acpi_why = match companion {
            Some(d) if d.rst => {
                format!("the ACPI companion {} (same MMIO) has _RST: vfio-platform evaluates it", d.path)
            }
            Some(d) => format!(
                "the ACPI companion {} (same MMIO) has no _RST; vfio-platform resets ACPI devices only through _RST and looks no further",
                d.path
            ),
            None => "no ACPI companion: a device-tree device (pass --acpi DIR for a host with ACPI tables)".into(),
        };
        let first = compatible.first().map(String::as_str).unwrap_or_default();
        let handler = COMPATIBLES.iter().find(|c| **c == first);
        let handler_why = match handler {
            Some(h) => format!("a handler is registered for the first compatible \"{h}\""),
            None => format!(
                "no handler is registered for the first compatible \"{first}\" (only {} have one)",
                COMPATIBLES.join(", ")
            ),
        };
        let considered = [
            Considered { method: Candidate::Acpi, found: companion.is_some_and(|d| d.rst), why: acpi_why },
            Considered {
                method: Candidate::DeviceSpecific,
                found: handler.is_some() && companion.is_none(),
                why: handler_why,
            },
            Considered {
                method: Candidate::Generic,
                found: consumer.is_some() && handler.is_none() && companion.is_none(),
                why: if consumer.is_some() {
                    "the node has resets"
                } else {
                    "the node has no resets property"
                }
                .into(),
            },
        ];

        let lines = Lines::of(e, node.id());
        let id = node.id();
        let fix = |r: &Reason| e.fix(id, r);
        let mut rules = vec![RuleCheck::of(v, Rule::MethodExists, RuleEvidence::Method(&v.method), &fix)];
        if v.method == Method::Generic {
            rules.push(RuleCheck::of(v, Rule::LinesResettable, RuleEvidence::Drivers(lines), &fix));
            rules.push(RuleCheck::of(v, Rule::LinesDedicated, RuleEvidence::Dedicated, &fix));
        }
        let grade = e.grade(node.id(), &v.method);
        let accept = e.policy().options.accept_evidence;
        let kernel_driver = grade.kernel().map(|k| KernelDriverUse {
            evidence: *k,
            accepted_with: accept.filter(|_| k.accepted_by(accept)).map(AcceptEvidence::as_str),
        });
        push_entry_rules(&mut rules, v, entry, kernel_driver, node.property("iommus").is_some(), &fix);
        if v.infrastructure.is_some() {
            // The rules are shown as they stand, but no fix: none would make a candidate of it.
            rules.iter_mut().for_each(|r| r.fix = None);
        }

        Explanation {
            node: node.path(),
            status: platreset_fdt::shown(node.status()).into_owned(),
            compatible,
            method: Methods { chosen: &v.method, considered },
            lines,
            error: consumer.and_then(|c| c.resets.as_ref().err()).map(ToString::to_string),
            allowlist: entry.map(|entry| AllowlistUse { entry, source: e.policy().allowlist.source() }),
            kernel_driver,
            rules,
            next: next_steps(v, node, &fix),
            verdict: v,
            group: None,
            provides_resets_to: reset_consumers(e, id),
        }
    }

    /// The account of an ACPI device (named by its namespace path), on the verdict `v` about it.
    pub fn of_acpi(policy: &'x Policy, device: &AcpiDevice, v: &'x Verdict) -> Explanation<'x> {
        let ids = device.hid.iter().chain(&device.cids).map(String::as_bytes);
        let entry = policy.allowlist.lookup(ids, std::iter::empty::<&[u8]>());
        let rst_why = if device.rst {
            "the device has a _RST method: vfio-platform evaluates it"
        } else if device.prr {
            "no _RST (a _PRR power-resource reset exists, which vfio-platform does not use)"
        } else {
            "no _RST method in the device's scope"
        };
        let considered = [
            Considered { method: Candidate::Acpi, found: device.rst, why: rst_why.into() },
            Considered {
                method: Candidate::DeviceSpecific,
                found: false,
                why: "an ACPI device: vfio-platform looks up handlers only for device-tree devices".into(),
            },
            Considered {
                method: Candidate::Generic,
                found: false,
                why: "an ACPI device has no resets property".into(),
            },
        ];
        let fix = |r: &Reason| r.fix();
        let mut rules = vec![RuleCheck::of(v, Rule::MethodExists, RuleEvidence::Method(&v.method), &fix)];
        // An ACPI device's IOMMU mapping is in the IORT, which is not read: never "has iommus".
        push_entry_rules(&mut rules, v, entry, None, false, &fix);
        Explanation {
            node: device.path.clone(),
            status: "okay".into(),
            compatible: device.hid.iter().chain(&device.cids).cloned().collect(),
            method: Methods { chosen: &v.method, considered },
            lines: Lines::none(),
            error: None,
            allowlist: entry.map(|entry| AllowlistUse { entry, source: policy.allowlist.source() }),
            kernel_driver: None,
            rules,
            next: v.reasons.iter().map(|r| r.fix().into_owned()).collect(),
            verdict: v,
            group: None,
            provides_resets_to: Vec::new(),
        }
    }
}

/// Rules 4 and 5, which read the allowlist: the same for device-tree and ACPI devices.
fn push_entry_rules<'x>(
    rules: &mut Vec<RuleCheck<'x>>,
    v: &'x Verdict,
    entry: Option<&'x Entry>,
    kernel_driver: Option<KernelDriverUse>,
    iommus: bool,
    fix: Fix<'_>,
) {
    if v.method != Method::None {
        let quiescence = entry.and_then(|e| e.quiescence.as_ref());
        let evidence = match (quiescence, kernel_driver) {
            (None, Some(k)) if k.accepted_with.is_some() => RuleEvidence::KernelDriver(k),
            _ => RuleEvidence::Quiescence(quiescence),
        };
        rules.push(RuleCheck::of(v, Rule::ResetQuiesces, evidence, fix));
    }
    rules.push(RuleCheck::of(v, Rule::DmaConfined, RuleEvidence::Dma { iommus, entry }, fix));
}

/// What to do next: for host infrastructure, nothing but leave it to the host; else each
/// refusal's fix once, or, for an eligible device, how vfio-platform takes it.
/// The paths of the nodes other than `id` with a reset line of controller `id`, in tree order.
fn reset_consumers(e: &Evaluator<'_, '_, '_, '_>, id: NodeId) -> Vec<String> {
    let topology = e.topology();
    topology
        .consumers()
        .iter()
        .filter(|c| c.node != id)
        .filter(|c| c.resets.as_ref().is_ok_and(|lines| lines.iter().any(|l| l.controller() == id)))
        .filter_map(|c| topology.fdt().node(c.node).map(|n| n.path()))
        .collect()
}

fn next_steps(v: &Verdict, node: &Node<'_, '_>, fix: Fix<'_>) -> Vec<String> {
    if let Some(service) = v.infrastructure {
        // The rules' fixes would make a candidate of what must stay with the host: not offered.
        return vec![format!("{}: leave it to the host", crate::policy::not_a_candidate(service))];
    }
    if !v.eligible() {
        let mut steps: Vec<String> = Vec::new();
        for fix in v.reasons.iter().map(fix) {
            if !steps.iter().any(|s| *s == fix) {
                steps.push(fix.into_owned());
            }
        }
        return steps;
    }
    // The name the kernel gives its platform device (of_device_make_bus_id's rule).
    let device = node.platform_device_name().unwrap_or_else(|| node.name_lossy().into_owned());
    vec![
        format!("echo vfio-platform > /sys/bus/platform/devices/{device}/driver_override"),
        format!("echo {device} > /sys/bus/platform/devices/{device}/driver/unbind"),
        format!("echo {device} > /sys/bus/platform/drivers_probe"),
    ]
}

#[cfg(test)]
mod tests {
    use platreset_acpi::{AcpiDevice, Crs};
    use platreset_fdt::Fdt;
    use platreset_topology::Topology;

    use super::*;
    use crate::allowlist::Allowlist;
    use crate::policy::Options;

    /// Runs `check` on the explanation of `path` in a compiled tree, under `options`.
    fn explain<R>(blob: &[u8], path: &str, options: Options, check: impl FnOnce(&Explanation<'_>) -> R) -> R {
        let fdt = Fdt::parse(blob).unwrap();
        let topology = Topology::build(&fdt);
        let policy = Policy { options, allowlist: Allowlist::builtin().unwrap() };
        let evaluator = Evaluator::new(&policy, &topology, &[]);
        let node = fdt.find_path(path).unwrap();
        let verdict = evaluator.verdict(node.id());
        check(&Explanation::of(&evaluator, &node, &verdict))
    }

    /// Each rule as (number, title, pass).
    fn rules(x: &Explanation<'_>) -> Vec<(u8, &'static str, bool)> {
        x.rules.iter().map(|r| (r.rule.number(), r.rule.title(), r.pass)).collect()
    }

    /// A device on a dedicated line, two sharing a line with a disabled one (one of them with a
    /// device-specific handler), one without resets, and one whose driver can only pulse.
    const SMALL: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	compatible = "acme,board";
	cpg: clock-controller@e6150000 {
		compatible = "renesas,r8a774a1-cpg-mssr";
		reg = <0xe6150000 0x1000>;
		#reset-cells = <1>;
	};
	rst: reset-controller@1000 {
		compatible = "snps,dw-low-reset";
		reg = <0x1000 0x100>;
		#reset-cells = <1>;
	};
	smmu: iommu@2000 {
		compatible = "arm,mmu-500";
		reg = <0x2000 0x1000>;
		#iommu-cells = <1>;
	};
	mmc@10000 {
		compatible = "acme,mmc";
		reg = <0x10000 0x100>;
		resets = <&cpg 812>;
		iommus = <&smmu 1>;
	};
	uart@11000 {
		compatible = "acme,uart";
		reg = <0x11000 0x100>;
		resets = <&cpg 207>;
	};
	uart@12000 {
		compatible = "acme,uart";
		reg = <0x12000 0x100>;
		resets = <&cpg 207>;
		status = "disabled";
	};
	timer@13000 {
		compatible = "acme,timer";
		reg = <0x13000 0x100>;
	};
	ethernet@14000 {
		compatible = "calxeda,hb-xgmac";
		reg = <0x14000 0x100>;
		resets = <&cpg 207>;
	};
	spi@15000 {
		compatible = "acme,spi";
		reg = <0x15000 0x100>;
		resets = <&rst 5>;
		iommus = <&smmu 2>;
	};
};
"#;

    #[test]
    fn a_dedicated_line_behind_an_iommu_fails_only_rule_4_until_the_reset_is_trusted() {
        let blob = platreset_testkit::dtb_from_text(SMALL);
        explain(&blob, "/mmc@10000", Options::default(), |x| {
            assert_eq!(
                rules(x),
                [
                    (1, "a reset method exists", true),
                    (2, "every reset line resolves and a driver here can reset it", true),
                    (3, "no reset line is shared with another node", true),
                    (4, "the reset is known to stop the device's DMA and interrupts", false),
                    (5, "DMA is confined by an IOMMU, or the device does not master DMA", true),
                ]
            );
            assert_eq!(x.rules[0].evidence.to_string(), "method generic");
            assert_eq!(x.rules[2].evidence.to_string(), "every line is dedicated");
            assert_eq!(x.rules[3].fix, Some(x.verdict.reasons[0].fix()));
            assert_eq!(x.rules[4].evidence.to_string(), "the node has iommus");
            let found: Vec<bool> = x.method.considered.iter().map(|m| m.found).collect();
            assert_eq!(found, [false, false, true], "the generic reset, through resets");
            assert_eq!(x.lines.len(), 1);
            assert_eq!(x.next, [x.verdict.reasons[0].fix()]);
        });
        explain(&blob, "/mmc@10000", Options { trust_reset: true, ..Options::default() }, |x| {
            assert!(x.rules.iter().all(|r| r.pass), "{:?}", rules(x));
            assert!(x.rules[3].accepted(), "rule 4 passes with a warning");
            assert_eq!(x.rules[3].accepted_with, ["--trust-reset"]);
            assert!(x.rules[3].evidence.to_string().starts_with("accepted: resettable, quiescence unproven"));
            assert_eq!(x.next[0], "echo vfio-platform > /sys/bus/platform/devices/10000.mmc/driver_override");
        });
    }

    #[test]
    fn each_line_says_how_it_is_reset_and_who_shares_it() {
        let blob = platreset_testkit::dtb_from_text(SMALL);
        explain(&blob, "/uart@11000", Options::default(), |x| {
            let lines: Vec<LineExplanation<'_>> = x.lines.iter().collect();
            let [line] = lines.as_slice() else { panic!("{lines:?}") };
            assert_eq!(
                (line.index, line.controller.as_ref(), line.args),
                (0, "/clock-controller@e6150000", &[207][..])
            );
            let sharers: Vec<(&str, &str)> =
                line.sharers.iter().map(|s| (s.node.as_ref(), s.status.as_str())).collect();
            assert_eq!(sharers, [("/uart@12000", "disabled"), ("/ethernet@14000", "okay")], "document order");
            assert_eq!((line.sharer_count, line.truncated()), (2, false));
            let rule_3 = &x.rules[2];
            assert_eq!((rule_3.rule, rule_3.pass), (Rule::LinesDedicated, false));
            assert!(
                rule_3.evidence.to_string().contains("is shared with 2 other nodes"),
                "{}",
                rule_3.evidence
            );
            assert_eq!(
                x.rules[1].evidence.to_string(),
                format!("line 0: {} ({})", line.reset(), line.driver().unwrap_or("-"))
            );
        });
    }

    #[test]
    fn a_line_the_driver_can_only_pulse_fails_rule_2_unless_the_pulse_is_accepted() {
        let blob = platreset_testkit::dtb_from_text(SMALL);
        explain(&blob, "/spi@15000", Options { trust_reset: true, ..Options::default() }, |x| {
            let line = x.lines.iter().next().unwrap();
            assert_eq!((line.reset(), line.driver(), line.why()), ("pulse", Some("reset-simple"), None));
            let rule_2 = &x.rules[1];
            assert_eq!((rule_2.rule.number(), rule_2.pass), (2, false));
            assert!(rule_2.evidence.to_string().contains("has no .reset"), "{}", rule_2.evidence);
            assert_eq!(rule_2.fix, Some(x.verdict.reasons[0].fix()));
        });
        let accepting = Options { trust_reset: true, allow_pulse: true, ..Options::default() };
        explain(&blob, "/spi@15000", accepting, |x| {
            assert!(x.verdict.eligible());
            assert!(x.rules[1].accepted() && x.rules[1].fix.is_none());
            assert_eq!(x.rules[1].accepted_with, ["--allow-pulse"]);
        });
    }

    #[test]
    fn without_resets_or_with_a_handler_only_the_rules_that_apply_are_listed() {
        let blob = platreset_testkit::dtb_from_text(SMALL);
        explain(&blob, "/timer@13000", Options::default(), |x| {
            assert_eq!(
                x.rules.iter().map(|r| (r.rule, r.pass)).collect::<Vec<_>>(),
                [(Rule::MethodExists, false), (Rule::DmaConfined, false)]
            );
            assert_eq!(x.method.considered[2].why, "the node has no resets property");
            assert!(x.lines.is_empty() && x.lines.iter().next().is_none());
        });
        explain(&blob, "/ethernet@14000", Options::default(), |x| {
            assert_eq!(*x.method.chosen, Method::DeviceSpecific("calxeda,hb-xgmac"));
            let found: Vec<(Candidate, bool)> =
                x.method.considered.iter().map(|m| (m.method, m.found)).collect();
            assert_eq!(
                found,
                [(Candidate::Acpi, false), (Candidate::DeviceSpecific, true), (Candidate::Generic, false)]
            );
            let numbers: Vec<u8> = x.rules.iter().map(|r| r.rule.number()).collect();
            assert_eq!(numbers, [1, 4, 5], "rules 2 and 3 are the generic reset's");
        });
    }

    #[test]
    fn the_json_keys_are_explain_s_in_its_order() {
        let blob = platreset_testkit::dtb_from_text(SMALL);
        let json = explain(&blob, "/uart@11000", Options::default(), |x| serde_json::to_string(x).unwrap());
        let keys = [
            "{\"node\":\"/uart@11000\",\"status\":\"okay\",\"compatible\":[\"acme,uart\"],\"method\":{\"chosen\":\"generic\",\"considered\":[{\"method\":\"acpi\",\"found\":false,\"why\":",
            "{\"method\":\"generic\",\"found\":true,\"why\":\"the node has resets\"}]},\"lines\":[{\"index\":0,\"controller\":\"/clock-controller@e6150000\",\"args\":[207],\"reset\":\"kernel\",\"driver\":\"renesas-cpg-mssr\",\"why\":null,",
            "\"shared_with\":[\"/uart@12000\",\"/ethernet@14000\"],\"sharers\":[{\"node\":\"/uart@12000\",\"status\":\"disabled\"},{\"node\":\"/ethernet@14000\",\"status\":\"okay\"}],\"shared_with_count\":2,\"shared_with_truncated\":false}],\"error\":null,\"allowlist\":null,\"rules\":[{\"number\":1,\"rule\":\"a reset method exists\",\"pass\":true,\"accepted_with\":[],\"evidence\":\"method generic\",\"fix\":null},",
            "],\"next\":[",
            "\"verdict\":{\"eligible\":false,\"method\":\"generic\",\"reasons\":[\"reset line 0 (/clock-controller@e6150000 [207]) is shared with 2 other nodes: /ethernet@14000, /uart@12000\",",
        ];
        let mut at = 0;
        for key in keys {
            let found = json[at..].find(key).unwrap_or_else(|| panic!("{key} after {at} in {json}"));
            at += found + key.len();
        }
        assert!(json.ends_with("\"warnings\":[],\"evidence_grade\":\"none\",\"evidence_citation\":null,\"evidence_lines\":null,\"candidate\":true,\"infrastructure\":null}}"), "no group unless asked for: {json}");
    }

    #[test]
    fn the_allowlist_entry_read_is_shown_with_its_evidence() {
        let blob = platreset_testkit::fixture("policy");
        explain(&blob, "/sata@ee300000", Options::default(), |x| {
            let used = x.allowlist.unwrap();
            assert_eq!(used.entry.key(), "renesas,sata-r8a7795");
            assert!(x.rules.iter().all(|r| r.pass && !r.accepted()));
            let quiescence = used.entry.quiescence.as_ref().unwrap();
            assert_eq!(x.rules[3].evidence.to_string(), quiescence.to_string());
            let json = serde_json::to_string(&used).unwrap();
            assert!(json.starts_with("{\"key\":\"renesas,sata-r8a7795\",\"dma\":true,\"source\":"), "{json}");
            assert!(json.contains(&format!("\"quiescence\":{{\"kind\":\"{}\",\"text\":", quiescence.kind())));
        });
    }

    #[test]
    fn a_group_lists_its_enabled_members_with_their_verdicts_and_the_disabled_ones_apart() {
        let blob = platreset_testkit::fixture("policy");
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let policy = Policy {
            options: Options { trust_reset: true, ..Options::default() },
            allowlist: Allowlist::builtin().unwrap(),
        };
        let evaluator = Evaluator::new(&policy, &topology, &[]);
        let group = GroupExplanation::of(&evaluator, fdt.find_path("/pwm@e6e30000").unwrap().id());
        let members: Vec<&str> = group.members.iter().map(|m| m.node.as_str()).collect();
        assert_eq!(members, ["/pwm@e6e30000", "/pwm@e6e31000"]);
        assert_eq!(group.also_reset, ["/pwm@e6e32000"]);
        assert!(!group.single && !group.eligible, "no IOMMU for the PWMs");
        assert_eq!(
            group.members[0].verdict.reasons,
            [Reason::NoIommu],
            "together, the line is no longer shared"
        );
        let single = GroupExplanation::of(&evaluator, fdt.find_path("/ethernet@e6800000").unwrap().id());
        assert!(single.single && single.eligible && single.also_reset.is_empty());
    }

    #[test]
    fn an_acpi_device_is_reset_only_through_rst() {
        let device = AcpiDevice {
            path: "\\_SB.GPU0".into(),
            hid: Some("ACME0002".into()),
            cids: vec!["PRP0001".into()],
            rst: false,
            prr: true,
            crs: Crs::Static,
            mmio: Vec::new(),
        };
        let policy = Policy { options: Options::default(), allowlist: Allowlist::builtin().unwrap() };
        let verdict = crate::policy::acpi_verdict(&policy, &device);
        let x = Explanation::of_acpi(&policy, &device, &verdict);
        assert_eq!(x.compatible, ["ACME0002", "PRP0001"]);
        assert_eq!(
            x.rules.iter().map(|r| (r.rule.number(), r.pass)).collect::<Vec<_>>(),
            [(1, false), (5, false)]
        );
        assert!(x.method.considered[0].why.contains("_PRR"));
        assert!(x.method.considered.iter().all(|m| !m.found));
        assert!(x.lines.is_empty());
        assert_eq!(x.next, verdict.reasons.iter().map(|r| r.fix().to_string()).collect::<Vec<_>>());
    }

    #[test]
    fn candidates_are_named_as_the_methods_they_find() {
        assert_eq!(Candidate::Generic.as_str(), Method::Generic.as_str());
        assert_eq!(Candidate::DeviceSpecific.as_str(), Method::DeviceSpecific("x").as_str());
        assert_eq!(Candidate::Acpi.as_str(), Method::Acpi { path: String::new() }.as_str());
    }
}
