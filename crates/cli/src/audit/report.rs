//! The audit's records: what one DTB says about each node with `resets` and each controller.
//! The JSON shape of [`NodeRecord`] is the stable `--format jsonl` interface: fields may be
//! added, never renamed, removed or reordered.

use std::borrow::Cow;
use std::collections::BTreeSet;

use platreset_acpi::AcpiDevice;
use platreset_fdt::{Fdt, NodeId};
use platreset_policy::group::Group;
use platreset_policy::policy::{Evaluator, LineSupport, Policy, Reason, Verdict};
use platreset_reset::perform::Support;
use platreset_topology::{Service, Topology, SHARERS_NAMED};
use serde::Serialize;

/// Text that borrows from the tree (or the path cache) while a file is processed, and is made
/// owned only when records must outlive it (`--format json`, `table`, `dot`).
pub type Text<'r> = Cow<'r, str>;

/// One resolved reset line.
#[derive(Debug, Clone, Serialize)]
pub struct LineRecord<'r> {
    /// Controller path.
    pub controller: Text<'r>,
    /// Specifier cells.
    pub args: Cow<'r, [u32]>,
}

/// The policy's verdict as printed.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictRecord {
    /// May the device be handed to a VM?
    pub eligible: bool,
    /// `acpi`, `device-specific`, `generic` or `none`.
    pub method: &'static str,
    /// Every failed rule.
    pub reasons: Vec<Cow<'static, str>>,
    /// Failed rules the user accepted with an option (added after the stable fields).
    pub warnings: Vec<Cow<'static, str>>,
    /// The grade of rule 4's evidence: an allowlist kind, `kernel-driver-recovery`, `-probe`,
    /// `-deassert`, `-unused`, or `none` (added after the stable fields).
    pub evidence_grade: &'static str,
    /// Where that evidence is: the allowlist entry's source, or the Linux driver's call
    /// (`file:line (function)`); null for `none`.
    pub evidence_citation: Option<String>,
    /// Whether the Linux driver takes every line the node has (`all`, `partial`, `none`, `unknown`);
    /// null unless the grade is a kernel-driver one.
    pub evidence_lines: Option<&'static str>,
    /// Whether the node is a passthrough candidate at all: host infrastructure is not (added).
    pub candidate: bool,
    /// The platform service the node provides when it is host infrastructure (`iommu`,
    /// `power-gate`, `power-controller`, `interrupt-controller`, `clock-controller`,
    /// `reset-controller`); null for a device (added).
    pub infrastructure: Option<&'static str>,
    /// The policy's verdict itself, for the table and the picture.
    #[serde(skip)]
    pub verdict: Verdict,
}

impl VerdictRecord {
    /// Short tags of the reasons, for tables.
    pub fn short(&self) -> Vec<&'static str> {
        self.verdict.reasons.iter().map(Reason::short).collect()
    }

    /// Short tags of the accepted warnings, for tables.
    pub fn warning_short(&self) -> Vec<&'static str> {
        self.verdict.warnings.iter().map(Reason::short).collect()
    }

    /// The indices of the lines refused or accepted as shared, sorted: one pass over the
    /// reasons for a node however many lines it has.
    pub fn shared_indices(&self) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .verdict
            .failed()
            .filter_map(|r| match r {
                Reason::SharedLine { index, .. } => Some(*index),
                _ => None,
            })
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }
}

/// One node with `resets` (one JSONL line).
#[derive(Debug, Clone, Serialize)]
pub struct NodeRecord<'r> {
    /// The file as found.
    pub file: Text<'r>,
    /// Full node path.
    pub node: Text<'r>,
    /// First string of `status`; `okay` when absent.
    pub status: Text<'r>,
    /// `compatible` strings.
    pub compatible: Vec<Text<'r>>,
    /// Resolved lines; `None` when the property cannot be resolved.
    pub resets: Option<Vec<LineRecord<'r>>>,
    /// Why `resets` could not be resolved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Other nodes using an identical line, sorted: all of them, or the first
    /// [`SHARERS_NAMED`] when there are more (`shared_with_truncated`).
    pub shared_with: Vec<Text<'r>>,
    /// Whether the node has `iommus`.
    pub iommus: bool,
    /// The policy's verdict.
    pub verdict: VerdictRecord,
    /// `reset-names` strings (empty when absent).
    pub reset_names: Vec<Text<'r>>,
    /// How many other nodes use an identical line (added after the stable fields).
    pub shared_with_count: usize,
    /// Whether `shared_with` names only the first [`SHARERS_NAMED`] of them, by path.
    pub shared_with_truncated: bool,
    /// Whether platreset can reset every line (kernel sequence or pulse).
    #[serde(skip)]
    pub resettable: bool,
    /// The node, for the groups.
    #[serde(skip)]
    pub id: NodeId,
}

fn owned(text: Text<'_>) -> Text<'static> {
    Cow::Owned(text.into_owned())
}

fn owned_all(list: Vec<Text<'_>>) -> Vec<Text<'static>> {
    list.into_iter().map(owned).collect()
}

impl NodeRecord<'_> {
    /// The same record, owning all its text.
    pub fn into_owned(self) -> NodeRecord<'static> {
        NodeRecord {
            file: owned(self.file),
            node: owned(self.node),
            status: owned(self.status),
            compatible: owned_all(self.compatible),
            resets: self.resets.map(|lines| {
                lines
                    .into_iter()
                    .map(|l| LineRecord {
                        controller: owned(l.controller),
                        args: Cow::Owned(l.args.into_owned()),
                    })
                    .collect()
            }),
            error: self.error,
            shared_with: owned_all(self.shared_with),
            iommus: self.iommus,
            verdict: self.verdict,
            reset_names: owned_all(self.reset_names),
            shared_with_count: self.shared_with_count,
            shared_with_truncated: self.shared_with_truncated,
            resettable: self.resettable,
            id: self.id,
        }
    }

    /// Whether `status` says enabled.
    pub fn is_enabled(&self) -> bool {
        self.status == "okay" || self.status == "ok"
    }
}

/// One reset controller.
#[derive(Debug, Clone, Serialize)]
pub struct ControllerRecord {
    /// Controller path.
    pub node: String,
    /// `compatible` strings.
    pub compatible: Vec<String>,
    /// `#reset-cells`, `None` when absent or unreadable.
    pub reset_cells: Option<u32>,
    /// Distinct consumer nodes.
    pub consumers: usize,
    /// Lines used by more than one node.
    pub shared_lines: usize,
    /// What platreset can do with it: `kernel`, `pulse`, `no-reset`, `firmware`, `unsupported`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reset: Option<&'static str>,
    /// The driver platreset binds to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver: Option<&'static str>,
}

/// A member of an assignable group, with its verdict when assigned with the others.
#[derive(Debug, Clone, Serialize)]
pub struct GroupMember {
    /// Node path.
    pub node: String,
    /// Eligible together with the group?
    pub eligible: bool,
    /// What still refuses it.
    pub reasons: Vec<Cow<'static, str>>,
}

/// Devices that share reset lines, proposed as one assignable unit (`--group`).
#[derive(Debug, Clone, Serialize)]
pub struct GroupRecord {
    /// Enabled members: assigned together.
    pub members: Vec<GroupMember>,
    /// Disabled members: reset with the group, never assigned.
    pub also_reset: Vec<String>,
    /// Whether every enabled member may go to one VM together.
    pub eligible: bool,
    /// Members that are host infrastructure: never assigned, their lines stay shared (added;
    /// absent when there are none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_infrastructure: Vec<HostMember>,
}

/// A member of a group that stays with the host.
#[derive(Debug, Clone, Serialize)]
pub struct HostMember {
    /// Node path.
    pub node: String,
    /// The service it provides (`power-gate`, …).
    pub infrastructure: &'static str,
}

/// Everything the audit found in one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileReport {
    /// Nodes with `resets` that pass the filters.
    pub nodes: Vec<NodeRecord<'static>>,
    /// Every reset controller.
    pub controllers: Vec<ControllerRecord>,
    /// With `--group`: every group of two or more nodes sharing lines (one of them reported).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupRecord>,
}

/// Which nodes to report.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Enabled nodes only.
    pub okay: bool,
    /// Glob patterns; a node passes when one of its compatible strings matches one of them.
    pub compatible: Vec<String>,
    /// Also propose the groups of nodes sharing lines as assignable units (table and json).
    pub groups: bool,
    /// Glob patterns; a node passes when its full path matches one of them.
    pub node: Vec<String>,
    /// Only nodes with this verdict.
    pub verdict: Option<VerdictFilter>,
}

/// The verdicts `audit --verdict` selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VerdictFilter {
    /// May be handed to a VM (with or without accepted warnings).
    Eligible,
    /// May not: a candidate the rules refuse.
    Refused,
    /// Host infrastructure (an IOMMU, a power gate, a clock controller, …): no candidate.
    Infrastructure,
}

impl Filter {
    fn accepts(&self, enabled: bool, compatible: &[Text<'_>]) -> bool {
        (!self.okay || enabled)
            && (self.compatible.is_empty()
                || self.compatible.iter().any(|p| compatible.iter().any(|c| glob_match(p, c))))
    }

    fn accepts_path(&self, path: &str) -> bool {
        self.node.is_empty() || self.node.iter().any(|p| glob_match(p, path))
    }

    fn accepts_verdict(&self, verdict: &Verdict) -> bool {
        match self.verdict {
            None => true,
            Some(VerdictFilter::Eligible) => verdict.eligible(),
            Some(VerdictFilter::Refused) => verdict.candidate() && !verdict.eligible(),
            Some(VerdictFilter::Infrastructure) => !verdict.candidate(),
        }
    }
}

fn text(bytes: &[u8]) -> Text<'_> {
    platreset_fdt::shown(bytes)
}

/// Builds the report of one parsed file, every record owning its text.
/// Controllers are bound to drivers, so records say whether platreset can reset them.
pub fn build(file: &str, fdt: &Fdt<'_>, filter: &Filter, policy: &Policy, acpi: &[AcpiDevice]) -> FileReport {
    let topology = Topology::build(fdt);
    let evaluator = Evaluator::new(policy, &topology, acpi);
    let mut nodes = Vec::new();
    let controllers = visit_evaluated(file, &evaluator, filter, |record| nodes.push(record.into_owned()));
    let groups = if filter.groups { groups(&evaluator, &nodes) } else { Vec::new() };
    FileReport { nodes, controllers, groups }
}

/// The groups of the reported nodes that share lines, each once, in the order of their first
/// reported member.
fn groups(evaluator: &Evaluator<'_, '_, '_, '_>, nodes: &[NodeRecord<'_>]) -> Vec<GroupRecord> {
    let topology = evaluator.topology();
    let mut seen: BTreeSet<NodeId> = BTreeSet::new();
    let mut out = Vec::new();
    // Host infrastructure is no candidate: a group is proposed from a device, never from it.
    for record in nodes.iter().filter(|n| !n.shared_with.is_empty() && n.verdict.candidate) {
        if seen.contains(&record.id) {
            continue;
        }
        let group = Group::of(topology, record.id);
        seen.extend(&group.members);
        let verdict = evaluator.group_verdict(&group);
        out.push(GroupRecord {
            eligible: verdict.eligible(),
            members: verdict
                .assign
                .iter()
                .map(|(id, v)| GroupMember {
                    node: evaluator.path(*id).into_owned(),
                    eligible: v.eligible(),
                    reasons: v.reasons.iter().map(Reason::text).collect(),
                })
                .collect(),
            also_reset: verdict.also_reset.iter().map(|id| evaluator.path(*id).into_owned()).collect(),
            host_infrastructure: verdict
                .host
                .iter()
                .filter_map(|&id| {
                    let service = evaluator.infrastructure(id)?;
                    Some(HostMember {
                        node: evaluator.path(id).into_owned(),
                        infrastructure: service.as_str(),
                    })
                })
                .collect(),
        });
    }
    out
}

/// Hands each node record of one parsed file to `emit`, borrowing its text from the tree, and
/// returns the controller inventory. The streaming path: nothing is copied that is not written.
/// Controllers are bound once per file, for the policy's rule 2 and the coverage figures.
pub fn visit(
    file: &str,
    fdt: &Fdt<'_>,
    filter: &Filter,
    policy: &Policy,
    acpi: &[AcpiDevice],
    emit: impl FnMut(NodeRecord<'_>),
) -> Vec<ControllerRecord> {
    let topology = Topology::build(fdt);
    let evaluator = Evaluator::new(policy, &topology, acpi);
    visit_evaluated(file, &evaluator, filter, emit)
}

/// [`visit`] with the tree's topology and policy evaluator already built.
fn visit_evaluated(
    file: &str,
    evaluator: &Evaluator<'_, '_, '_, '_>,
    filter: &Filter,
    mut emit: impl FnMut(NodeRecord<'_>),
) -> Vec<ControllerRecord> {
    let topology = evaluator.topology();
    let line_ok = |line: &platreset_topology::ResetLine| {
        matches!(evaluator.line_support(line), LineSupport::Kernel(_) | LineSupport::Pulse(_))
    };
    let path_of = |id: NodeId| -> Text<'_> { evaluator.path(id) };

    for consumer in topology.consumers() {
        let compatible: Vec<Text<'_>> = consumer.compatible().map(text).collect();
        if !filter.accepts(consumer.is_enabled(), &compatible) {
            continue;
        }
        let node = path_of(consumer.node);
        if !filter.accepts_path(&node) {
            continue;
        }
        let verdict = evaluator.verdict(consumer.node);
        if !filter.accepts_verdict(&verdict) {
            continue;
        }
        let (resets, error) = match &consumer.resets {
            Ok(lines) => {
                let lines = lines
                    .iter()
                    .map(|l| LineRecord {
                        controller: path_of(l.controller()),
                        args: Cow::Borrowed(l.args()),
                    })
                    .collect();
                (Some(lines), None)
            }
            Err(e) => (None, Some(e.to_string())),
        };
        // The first sharers by path, and how many: bounded, however crowded the lines.
        let sharers = evaluator.sharers(consumer);
        let mut shared_with: Vec<Text<'_>> = sharers.named.iter().map(|&id| path_of(id)).collect();
        // Sorted by path already: equal paths (a malformed tree's twin nodes) are adjacent.
        shared_with.dedup();
        emit(NodeRecord {
            file: Cow::Borrowed(file),
            node,
            status: text(consumer.status),
            compatible,
            resets,
            error,
            shared_with,
            iommus: consumer.iommus,
            verdict: VerdictRecord {
                eligible: verdict.eligible(),
                method: verdict.method.as_str(),
                reasons: verdict.reasons.iter().map(Reason::text).collect(),
                warnings: verdict.warnings.iter().map(Reason::text).collect(),
                evidence_grade: verdict.evidence.grade,
                evidence_citation: verdict.evidence.citation.clone(),
                evidence_lines: verdict.evidence.lines,
                candidate: verdict.candidate(),
                infrastructure: verdict.infrastructure.map(Service::as_str),
                verdict,
            },
            reset_names: consumer.reset_names().map(text).collect(),
            shared_with_count: sharers.count,
            shared_with_truncated: sharers.count > SHARERS_NAMED,
            resettable: consumer
                .resets
                .as_ref()
                .is_ok_and(|lines| !lines.is_empty() && lines.iter().all(line_ok)),
            id: consumer.node,
        });
    }
    topology
        .controllers()
        .iter()
        .map(|c| ControllerRecord {
            node: path_of(c.node).into_owned(),
            compatible: c.compatible().map(|t| text(t).into_owned()).collect(),
            reset_cells: c.reset_cells.as_ref().ok().copied(),
            consumers: c.consumers,
            shared_lines: c.shared_lines,
            reset: evaluator.controller_support(c.node).map(Support::as_str),
            driver: evaluator.controller_support(c.node).and_then(Support::driver),
        })
        .collect()
}

/// Shell-style glob over the whole string: `*` any run, `?` one character.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry.
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn glob_matches_whole_strings_with_star_and_question_mark() {
        assert!(glob_match("renesas,*", "renesas,pwm-rcar"));
        assert!(glob_match("*pwm*", "renesas,pwm-rcar"));
        assert!(glob_match("renesas,pwm-r8a77?5", "renesas,pwm-r8a7795"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("renesas,*", "rockchip,rk3399-cru"));
        assert!(!glob_match("renesas", "renesas,pwm-rcar"), "no pattern characters: exact match");
        assert!(glob_match("*", ""));
        assert!(!glob_match("?", ""));
    }
}
