//! The safety policy (DESIGN "The policy, in one place"), one rule at a time:
//! 1. a reset method exists, in the kernel's precedence: ACPI `_RST`, a device-specific handler
//!    for the first compatible, the generic reset through `resets` (`reset_required` decides
//!    whether "none" blocks);
//! 2. generic reset: every specifier resolves and a driver here can reset each line;
//! 3. no line is shared with another node (sharing only with disabled nodes may be accepted);
//! 4. the allowlist records evidence that the reset quiesces the device, or its Linux driver's
//!    grade is one `--accept-evidence` accepts with every line taken (or `--trust-reset`);
//! 5. the device's DMA is confined by an IOMMU, or the allowlist records it as non-DMA.
//!
//! Owns: which rules apply and in what order. `audit`, `explain` and `reset` all ask an
//! [`Evaluator`], so they cannot disagree. Must not: word the reasons (that is `reason`), read
//! files, or perform a reset.

use std::borrow::Cow;
use std::sync::OnceLock;

use platreset_acpi::AcpiDevice;
use platreset_fdt::NodeId;
use platreset_reset::perform::{support, Support};
use platreset_reset::{ResetOps, DEFAULT_PULSE_US};
use platreset_topology::{Consumer, ResetLine, Service, Topology, SHARERS_NAMED};
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::allowlist::{Allowlist, Entry};
use crate::companion::CompanionIndex;
use crate::grade::{AcceptEvidence, DriverEvidence, EvidenceSummary, Grade, Hint, KernelEvidence};
pub use crate::reason::{not_a_candidate, service_noun, IommuPlace, Reason, Rule};
use platreset_reset::handlers::COMPATIBLES;

/// How vfio-platform would reset the device, in the kernel's order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    /// The ACPI companion's `_RST` method.
    Acpi {
        /// The companion's namespace path.
        path: String,
    },
    /// A device-specific handler registered for the device's first compatible.
    DeviceSpecific(&'static str),
    /// Through the reset controllers named by `resets` (the unmerged generic reset).
    Generic,
    /// No reset method.
    None,
}

impl Method {
    /// The stable name used in JSON output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Acpi { .. } => "acpi",
            Method::DeviceSpecific(_) => "device-specific",
            Method::Generic => "generic",
            Method::None => "none",
        }
    }
}

/// The user's choices that change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// vfio-platform's `reset_required` module parameter (default true).
    pub reset_required: bool,
    /// Accept a reset whose quiescence is unproven (rule 4).
    pub trust_reset: bool,
    /// Accept a line shared only with disabled nodes (rule 3).
    pub allow_shared_with_disabled: bool,
    /// Accept platreset's assert/deassert pulse where the driver has no `.reset` (rule 2).
    pub allow_pulse: bool,
    /// The pulse width, for drivers without `.reset`.
    pub pulse_us: u32,
    /// The weakest Linux-driver grade accepted as proof of quiescence (rule 4), every line of
    /// the node taken by the driver; `None` (the default) accepts none.
    pub accept_evidence: Option<AcceptEvidence>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            reset_required: true,
            trust_reset: false,
            allow_shared_with_disabled: false,
            allow_pulse: false,
            pulse_us: DEFAULT_PULSE_US,
            accept_evidence: None,
        }
    }
}

impl Options {
    /// The verdict: each failed rule refused, or accepted as a warning when an option waives it.
    fn split(
        &self,
        method: Method,
        failed: Vec<Reason>,
        evidence: EvidenceSummary,
        infrastructure: Option<Service>,
    ) -> Verdict {
        let mut verdict =
            Verdict { method, reasons: Vec::new(), warnings: Vec::new(), evidence, infrastructure };
        if failed.iter().any(|r| self.accepts(r)) {
            for reason in failed {
                if self.accepts(&reason) {
                    verdict.warnings.push(reason);
                } else {
                    verdict.reasons.push(reason);
                }
            }
        } else {
            verdict.reasons = failed;
        }
        verdict
    }

    /// Says, in rule 4's refusal, what `--accept-evidence` would change: the value that would
    /// accept the driver's evidence, and whether the device would then be eligible (every other
    /// failed rule waived by the options given, and the node no host infrastructure).
    fn hint(&self, failed: &mut [Reason], candidate: bool) {
        if self.trust_reset {
            return;
        }
        let others_waived = candidate
            && failed.iter().all(|r| matches!(r, Reason::QuiescenceUnproven { .. }) || self.accepts(r));
        for reason in failed.iter_mut() {
            if let Reason::QuiescenceUnproven { driver: DriverEvidence::Found(k), hint } = reason {
                *hint = k.would_be_accepted_with().map(|option| Hint { option, eligible: others_waived });
            }
        }
    }

    fn accepts(&self, reason: &Reason) -> bool {
        match reason {
            Reason::NoReset | Reason::AcpiWithoutRst { .. } => !self.reset_required,
            Reason::PulseOnly { .. } => self.allow_pulse,
            Reason::SharedLine { only_disabled, .. } => *only_disabled && self.allow_shared_with_disabled,
            Reason::QuiescenceUnproven { .. } => self.trust_reset,
            _ => false,
        }
    }
}

/// The options and the allowlist: everything the rules need beyond one device tree.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The user's choices.
    pub options: Options,
    /// What is known about devices' resets.
    pub allowlist: Allowlist,
}

/// The policy's decision for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The reset method found.
    pub method: Method,
    /// Every failed rule, in rule order; empty means eligible.
    pub reasons: Vec<Reason>,
    /// Failed rules the user accepted with an option, in rule order.
    pub warnings: Vec<Reason>,
    /// The grade of rule 4's evidence, whatever the verdict.
    pub evidence: EvidenceSummary,
    /// The platform service the node provides to other devices when it is host infrastructure
    /// (an IOMMU, a power gate, …): then it is no passthrough candidate, whatever the rules say.
    pub infrastructure: Option<Service>,
}

impl Verdict {
    /// Whether the device may be handed to a VM: every rule holds, and it is a candidate.
    pub fn eligible(&self) -> bool {
        self.reasons.is_empty() && self.infrastructure.is_none()
    }

    /// Whether the node is a passthrough candidate at all: host infrastructure is not.
    pub fn candidate(&self) -> bool {
        self.infrastructure.is_none()
    }

    /// Every failed rule, refused or accepted.
    pub fn failed(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().chain(&self.warnings)
    }
}

/// `{"eligible", "method", "reasons", "warnings"}`, then the added `evidence_grade`,
/// `evidence_citation`, `evidence_lines`, `candidate` and `infrastructure`: the verdict object
/// `audit`'s stable JSONL carries, each reason as its text (worded as it is written: a verdict
/// may hold 300,000).
impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("Verdict", 9)?;
        map.serialize_field("eligible", &self.eligible())?;
        map.serialize_field("method", self.method.as_str())?;
        map.serialize_field("reasons", &Texts(&self.reasons))?;
        map.serialize_field("warnings", &Texts(&self.warnings))?;
        map.serialize_field("evidence_grade", self.evidence.grade)?;
        map.serialize_field("evidence_citation", &self.evidence.citation)?;
        map.serialize_field("evidence_lines", &self.evidence.lines)?;
        map.serialize_field("candidate", &self.candidate())?;
        map.serialize_field("infrastructure", &self.infrastructure.map(Service::as_str))?;
        map.end()
    }
}

/// Reasons as a list of their texts.
struct Texts<'r>(&'r [Reason]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(Reason::text))
    }
}

/// The verdict on an ACPI-described device (no device tree): vfio-platform resets it only
/// through `_RST`; its IOMMU mapping would be in the IORT, which is not read here.
pub fn acpi_verdict(policy: &Policy, device: &AcpiDevice) -> Verdict {
    let mut failed = Vec::new();
    let method = if device.rst {
        Method::Acpi { path: device.path.clone() }
    } else {
        failed.push(Reason::AcpiWithoutRst { path: device.path.clone() });
        Method::None
    };
    let ids = device.hid.iter().chain(&device.cids).map(String::as_bytes);
    let entry = policy.allowlist.lookup(ids, std::iter::empty::<&[u8]>());
    let quiescence = entry.and_then(|e| e.quiescence.as_ref());
    if method != Method::None && quiescence.is_none() {
        failed.push(Reason::QuiescenceUnproven { driver: DriverEvidence::NotApplicable, hint: None });
    }
    if entry.is_none_or(|e| e.dma) {
        failed.push(Reason::IommuUnknown);
    }
    let evidence = quiescence.map_or(Grade::None, Grade::Allowlist).summary();
    policy.options.split(method, failed, evidence, None)
}

/// Whether platreset can reset one line, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineSupport {
    /// The driver's own `.reset`, as Linux performs it.
    Kernel(&'static str),
    /// assert, wait, deassert: the driver has no `.reset`.
    Pulse(&'static str),
    /// No driver here can reset it.
    Cannot(String),
}

/// A controller, what platreset can do with it, and its driver when it has one.
type BoundController = (NodeId, Support, Option<Box<dyn ResetOps>>);

/// Other nodes that share reset lines with a device: the first
/// [`SHARERS_NAMED`] in path order (then document order), and how many there are in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharers {
    /// The first ones, by path.
    pub named: Vec<NodeId>,
    /// How many there are.
    pub count: usize,
}

impl Sharers {
    /// Whether `named` leaves some out.
    pub fn truncated(&self) -> bool {
        self.count > self.named.len()
    }
}

/// Who, besides the device and those assigned with it, uses one of its lines.
#[derive(Debug, Clone)]
pub(crate) struct LineSharers {
    /// The first [`SHARERS_NAMED`] of them, by path.
    named: Vec<NodeId>,
    /// How many.
    count: usize,
    /// Whether every one of them is disabled.
    only_disabled: bool,
}

/// The policy applied to one device tree: controllers bound once, the machine's compatible read
/// once, ACPI companions found by address.
pub struct Evaluator<'p, 't, 'f, 'a> {
    policy: &'p Policy,
    topology: &'t Topology<'f, 'a>,
    machine: Vec<&'a [u8]>,
    controllers: Vec<BoundController>,
    acpi: &'p [AcpiDevice],
    /// `acpi` indexed by address (built on first need).
    companions: OnceLock<CompanionIndex>,
    paths: Vec<(NodeId, String)>,
    /// For each line with more users than a record names: its first users by path (built on
    /// first need, one pass per such line).
    crowded: OnceLock<Vec<(ResetLine, Vec<NodeId>)>>,
}

impl<'p, 't, 'f, 'a> Evaluator<'p, 't, 'f, 'a> {
    /// Binds every controller of `topology`; `acpi` are the host's ACPI devices (empty for a
    /// device-tree host).
    pub fn new(policy: &'p Policy, topology: &'t Topology<'f, 'a>, acpi: &'p [AcpiDevice]) -> Self {
        let fdt = topology.fdt();
        let machine: Vec<&'a [u8]> = fdt.root().compatible().collect();
        let mut controllers: Vec<_> = topology
            .controllers()
            .iter()
            .filter_map(|c| fdt.node(c.node).map(|n| (c.node, n)))
            .map(|(id, n)| {
                let (support, ops) = support(&n, policy.options.pulse_us);
                (id, support, ops)
            })
            .collect();
        controllers.sort_unstable_by_key(|(id, _, _)| *id);
        // Every path a verdict or a report names is a consumer's or a controller's: build each once.
        let mut paths: Vec<(NodeId, String)> = topology
            .consumers()
            .iter()
            .map(|c| c.node)
            .chain(topology.controllers().iter().map(|c| c.node))
            .filter_map(|id| fdt.node(id).map(|n| (id, n.path())))
            .collect();
        paths.sort_unstable_by_key(|(id, _)| *id);
        Evaluator {
            policy,
            topology,
            machine,
            controllers,
            acpi,
            companions: OnceLock::new(),
            paths,
            crowded: OnceLock::new(),
        }
    }

    /// The full path of a node (cached for consumers and controllers).
    pub fn path(&self, id: NodeId) -> Cow<'_, str> {
        match self.paths.binary_search_by_key(&id, |(i, _)| *i) {
            Ok(i) => Cow::Borrowed(self.paths[i].1.as_str()),
            Err(_) => Cow::Owned(self.topology.node(id).map(|n| n.path()).unwrap_or_default()),
        }
    }

    /// `ids` sorted by path, then by document order (the order every list of sharers is in).
    fn sort_by_path(&self, ids: &mut Vec<NodeId>) {
        let mut keyed: Vec<(Cow<'_, str>, NodeId)> = ids.iter().map(|&id| (self.path(id), id)).collect();
        keyed.sort_unstable();
        ids.clear();
        ids.extend(keyed.into_iter().map(|(_, id)| id));
    }

    /// The first `SHARERS_NAMED + 1` users of `line` by path: enough to name the other users of
    /// any one of them. Bounded work for every question after the first about a crowded line.
    fn first_users(&self, line: &ResetLine) -> Cow<'_, [NodeId]> {
        let topology = self.topology;
        if topology.user_count(line) <= SHARERS_NAMED + 1 {
            let mut all: Vec<NodeId> = topology.users_of(line).collect();
            self.sort_by_path(&mut all);
            return Cow::Owned(all);
        }
        let crowded = self.crowded.get_or_init(|| {
            topology
                .lines()
                .filter(|&(_, users)| users > SHARERS_NAMED + 1)
                .map(|(line, _)| {
                    let mut keyed: Vec<(Cow<'_, str>, NodeId)> =
                        topology.users_of(line).map(|id| (self.path(id), id)).collect();
                    keyed.select_nth_unstable(SHARERS_NAMED);
                    keyed.truncate(SHARERS_NAMED + 1);
                    keyed.sort_unstable();
                    (*line, keyed.into_iter().map(|(_, id)| id).collect())
                })
                .collect()
        });
        match crowded.binary_search_by(|(l, _)| l.cmp(line)) {
            Ok(i) => Cow::Borrowed(crowded[i].1.as_slice()),
            Err(_) => Cow::Owned(Vec::new()),
        }
    }

    /// The nodes besides `consumer` that use one of its lines: the first
    /// [`SHARERS_NAMED`] by path, and how many. Work bounded by its lines times that limit, however
    /// many nodes share them.
    pub fn sharers(&self, consumer: &Consumer<'a>) -> Sharers {
        let mut lines: Vec<&ResetLine> = consumer.lines().iter().collect();
        lines.sort_unstable();
        lines.dedup();
        let mut named: Vec<NodeId> = Vec::new();
        let trim = |named: &mut Vec<NodeId>| {
            self.sort_by_path(named);
            named.dedup();
            named.truncate(SHARERS_NAMED);
        };
        for line in lines {
            // The first SHARERS_NAMED others of the union are among each line's first
            // SHARERS_NAMED + 1 users (one of which may be the consumer itself).
            let other = |&id: &NodeId| id != consumer.node;
            match self.topology.user_count(line) {
                0 | 1 => continue,
                n if n <= SHARERS_NAMED + 1 => named.extend(self.topology.users_of(line).filter(other)),
                _ => named.extend(self.first_users(line).iter().copied().filter(other)),
            }
            if named.len() > 4 * SHARERS_NAMED {
                trim(&mut named);
            }
        }
        trim(&mut named);
        Sharers { named, count: self.topology.sharer_count(consumer) }
    }

    /// The other users of `line` besides `node` (which uses it), from the line's counts.
    fn line_sharers(&self, line: &ResetLine, node: NodeId, enabled: bool) -> Option<LineSharers> {
        let count = self.topology.user_count(line).checked_sub(1).filter(|&n| n > 0)?;
        let named: Vec<NodeId> =
            self.first_users(line).iter().copied().filter(|&id| id != node).take(SHARERS_NAMED).collect();
        let enabled_others = self.topology.enabled_user_count(line).saturating_sub(usize::from(enabled));
        Some(LineSharers { named, count, only_disabled: enabled_others == 0 })
    }

    /// The users of `line` that are neither `node` nor in `together` (sorted): one pass over the
    /// line's users.
    pub(crate) fn line_sharers_apart(
        &self,
        line: &ResetLine,
        node: NodeId,
        together: &[NodeId],
    ) -> Option<LineSharers> {
        let mut others: Vec<NodeId> = self
            .topology
            .users_of(line)
            .filter(|&n| n != node && together.binary_search(&n).is_err())
            .collect();
        if others.is_empty() {
            return None;
        }
        let only_disabled =
            others.iter().all(|&o| self.topology.consumer(o).is_some_and(|c| !c.is_enabled()));
        let count = others.len();
        if count > SHARERS_NAMED {
            let mut keyed: Vec<(Cow<'_, str>, NodeId)> =
                others.iter().map(|&id| (self.path(id), id)).collect();
            keyed.select_nth_unstable(SHARERS_NAMED - 1);
            others = keyed.into_iter().take(SHARERS_NAMED).map(|(_, id)| id).collect();
        }
        self.sort_by_path(&mut others);
        Some(LineSharers { named: others, count, only_disabled })
    }

    /// The policy applied.
    pub fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// The topology evaluated.
    pub fn topology(&self) -> &'t Topology<'f, 'a> {
        self.topology
    }

    /// What platreset can do with a controller, when it is one.
    pub fn controller_support(&self, controller: NodeId) -> Option<&Support> {
        self.bound(controller).map(|(_, s, _)| s)
    }

    fn bound(&self, controller: NodeId) -> Option<&BoundController> {
        let i = self.controllers.binary_search_by_key(&controller, |(id, _, _)| *id).ok()?;
        self.controllers.get(i)
    }

    /// Whether a driver here can reset `line`, and how.
    pub fn line_support(&self, line: &ResetLine) -> LineSupport {
        let Some((_, support, ops)) = self.bound(line.controller()) else {
            return LineSupport::Cannot("not a reset controller".into());
        };
        let how = match support {
            Support::Kernel(d) => LineSupport::Kernel(d),
            Support::Pulse(d) => LineSupport::Pulse(d),
            Support::NoReset(d) => {
                return LineSupport::Cannot(format!(
                    "the {d} driver can neither reset nor assert and deassert"
                ))
            }
            Support::Firmware(i) => {
                return LineSupport::Cannot(format!(
                    "a firmware reset ({i}), which platreset cannot drive or check"
                ))
            }
            Support::Unsupported(why) => return LineSupport::Cannot(why.clone()),
        };
        match ops.as_ref().map(|o| o.xlate(line.args())) {
            Some(Ok(_)) => how,
            Some(Err(e)) => LineSupport::Cannot(e.to_string()),
            None => LineSupport::Cannot("no driver".into()),
        }
    }

    /// The machine's compatible strings (the root node's).
    pub fn machine(&self) -> &[&'a [u8]] {
        &self.machine
    }

    /// The ACPI device describing the same hardware as `node`: the one whose `_CRS` memory
    /// overlaps the node's first `reg` window (vfio-platform probes an ACPI companion first).
    pub fn companion(&self, node: NodeId) -> Option<&'p AcpiDevice> {
        if self.acpi.is_empty() {
            return None;
        }
        let reg = self.topology.node(node)?.reg_cpu().ok()?;
        let first = reg.first()?;
        let index = self.companions.get_or_init(|| CompanionIndex::new(self.acpi));
        self.acpi.get(index.first_overlapping(first.address, first.size.max(1))?)
    }

    /// The allowlist entry for `node`, if any.
    pub fn allowlist_entry(&self, node: NodeId) -> Option<&'p Entry> {
        self.entry_for(node, self.topology.consumer(node))
    }

    fn entry_for(&self, node: NodeId, consumer: Option<&Consumer<'a>>) -> Option<&'p Entry> {
        let machine = self.machine.iter().copied();
        let allowlist = &self.policy.allowlist;
        if let Some(acpi) = self.companion(node) {
            let dt = self.topology.node(node)?;
            let ids = acpi.hid.iter().chain(&acpi.cids).map(String::as_bytes);
            return allowlist.lookup(ids.chain(dt.compatible()), machine);
        }
        // A consumer's compatible was found while the topology was built: no property scan.
        match consumer {
            Some(consumer) => allowlist.lookup(consumer.compatible(), machine),
            None => allowlist.lookup(self.topology.node(node)?.compatible(), machine),
        }
    }

    /// Applies every rule to `node`.
    pub fn verdict(&self, node: NodeId) -> Verdict {
        let enabled = self.topology.consumer(node).is_some_and(|c| c.is_enabled());
        self.verdict_sharing(node, &|line| self.line_sharers(line, node, enabled))
    }

    /// Applies every rule to `node`, treating lines shared only with `together` (devices
    /// assigned with it, sorted) as dedicated. Each line's users are visited once per call;
    /// a group's verdicts ([`Evaluator::group_verdict`]) visit each line once for the group.
    pub fn verdict_with(&self, node: NodeId, together: &[NodeId]) -> Verdict {
        if together.is_empty() {
            return self.verdict(node);
        }
        self.verdict_sharing(node, &|line| self.line_sharers_apart(line, node, together))
    }

    /// Applies every rule to `node`, `sharers` saying who else uses each of its lines.
    pub(crate) fn verdict_sharing(
        &self,
        node: NodeId,
        sharers: &dyn Fn(&ResetLine) -> Option<LineSharers>,
    ) -> Verdict {
        let consumer = self.topology.consumer(node);
        let mut failed = Vec::with_capacity(4);
        let method = self.method(node, consumer, sharers, &mut failed);
        let entry = self.entry_for(node, consumer);
        let quiescence = entry.and_then(|e| e.quiescence.as_ref());
        let driver = self.driver_evidence(&method, consumer);
        if method != Method::None && quiescence.is_none() {
            let accepted = matches!(driver, DriverEvidence::Found(k) if k.accepted_by(self.policy.options.accept_evidence));
            if !accepted {
                failed.push(Reason::QuiescenceUnproven { driver, hint: None });
            }
        }
        let iommus = match consumer {
            Some(consumer) => consumer.iommus,
            None => self.topology.node(node).is_some_and(|n| n.property("iommus").is_some()),
        };
        if !iommus && entry.is_none_or(|e| e.dma) {
            failed.push(Reason::NoIommu);
        }
        let infrastructure = match consumer {
            Some(consumer) => consumer.service,
            None => self.topology.service_of(node),
        };
        self.policy.options.hint(&mut failed, infrastructure.is_none());
        let evidence = match (quiescence, driver) {
            (Some(q), _) => Grade::Allowlist(q),
            (None, DriverEvidence::Found(k)) => Grade::KernelDriver(k),
            (None, _) => Grade::None,
        };
        self.policy.options.split(method, failed, evidence.summary(), infrastructure)
    }

    /// The platform service `node` provides on the host, when it is infrastructure.
    pub fn infrastructure(&self, node: NodeId) -> Option<Service> {
        self.topology.service_of(node)
    }

    /// Where an IOMMU could confine `node`'s DMA: nowhere when the tree describes none, not on
    /// its bus when no device beside it (its parent's children) has `iommus`.
    pub fn iommu_place(&self, node: NodeId) -> IommuPlace {
        let providers = self.topology.iommu_providers();
        if providers.is_empty() {
            return IommuPlace::NoneInTree;
        }
        let Some(parent) = self.topology.node(node).and_then(|n| n.parent()) else {
            return IommuPlace::OnBus;
        };
        if parent.children().any(|c| c.id() != node && c.property("iommus").is_some()) {
            return IommuPlace::OnBus;
        }
        // A few named, then how many more (a fix is one line).
        const NAMED: usize = 4;
        let mut iommus: Vec<String> =
            providers.iter().take(NAMED).map(|&id| self.path(id).into_owned()).collect();
        if providers.len() > NAMED {
            iommus.push(format!("and {} more", providers.len() - NAMED));
        }
        IommuPlace::OffBus { bus: parent.path(), iommus }
    }

    /// The fix for `reason`, refusing `node`, told with what the tree says about it: whether an
    /// IOMMU can be added at all, which sharers are host infrastructure.
    pub fn fix(&self, node: NodeId, reason: &Reason) -> Cow<'static, str> {
        match reason {
            Reason::NoIommu => reason.fix_with(Some(&self.iommu_place(node))),
            _ => reason.fix(),
        }
    }

    /// What the Linux driver of a device reset by `method` does with its reset: only the
    /// generic reset is the driver's `resets`.
    fn driver_evidence(&self, method: &Method, consumer: Option<&Consumer<'a>>) -> DriverEvidence {
        let (Method::Generic, Some(consumer)) = (method, consumer) else {
            return DriverEvidence::NotApplicable;
        };
        // Unresolvable resets (rule 2 refuses them): count the lines by their names, at least one.
        let count = match &consumer.resets {
            Ok(lines) => lines.len(),
            Err(_) => consumer.reset_names().count().max(1),
        };
        match KernelEvidence::of(consumer.compatible(), consumer.reset_names(), count) {
            Some(k) => DriverEvidence::Found(k),
            None => DriverEvidence::NoDriver,
        }
    }

    /// The grade of the evidence rule 4 rests on for `node`, reset by `method` (the verdict's):
    /// the allowlist entry's kind, else the Linux driver's grade, else none.
    pub fn grade(&self, node: NodeId, method: &Method) -> Grade<'p> {
        let consumer = self.topology.consumer(node);
        if let Some(evidence) = self.entry_for(node, consumer).and_then(|e| e.quiescence.as_ref()) {
            return Grade::Allowlist(evidence);
        }
        match self.driver_evidence(method, consumer) {
            DriverEvidence::Found(k) => Grade::KernelDriver(k),
            DriverEvidence::NotApplicable | DriverEvidence::NoDriver => Grade::None,
        }
    }

    /// Rule 1, and rules 2 and 3 for the generic method.
    fn method(
        &self,
        node: NodeId,
        consumer: Option<&Consumer<'a>>,
        sharers: &dyn Fn(&ResetLine) -> Option<LineSharers>,
        failed: &mut Vec<Reason>,
    ) -> Method {
        if let Some(acpi) = self.companion(node) {
            if acpi.rst {
                return Method::Acpi { path: acpi.path.clone() };
            }
            failed.push(Reason::AcpiWithoutRst { path: acpi.path.clone() });
            return Method::None;
        }
        let first = match consumer {
            Some(consumer) => consumer.compatible().next(),
            None => self.topology.node(node).and_then(|n| n.compatible().next()),
        };
        let handler = first.and_then(|c| COMPATIBLES.iter().find(|h| h.as_bytes() == c));
        if let Some(handler) = handler {
            return Method::DeviceSpecific(handler);
        }
        let Some(consumer) = consumer else {
            failed.push(Reason::NoReset);
            return Method::None;
        };
        let lines = match &consumer.resets {
            Err(_) => {
                failed.push(Reason::Unresolvable);
                return Method::Generic;
            }
            Ok(lines) => lines,
        };
        let path = |id| self.path(id).into_owned();
        for (index, line) in lines.iter().enumerate() {
            match self.line_support(line) {
                LineSupport::Kernel(_) => {}
                LineSupport::Pulse(driver) => {
                    failed.push(Reason::PulseOnly { index, controller: path(line.controller()), driver })
                }
                LineSupport::Cannot(why) => {
                    failed.push(Reason::Unsupported { index, controller: path(line.controller()), why })
                }
            }
        }
        for (index, line) in lines.iter().enumerate() {
            let Some(LineSharers { named, count, only_disabled }) = sharers(line) else { continue };
            // The named sharers that are host infrastructure: they never go to a guest, so no
            // group takes the line (bounded: at most SHARERS_NAMED are named).
            let host = named
                .iter()
                .filter_map(|&id| self.infrastructure(id).map(|service| (path(id), service)))
                .collect();
            failed.push(Reason::SharedLine {
                index,
                controller: path(line.controller()),
                args: line.args().to_vec(),
                others: named.into_iter().map(path).collect(),
                count,
                only_disabled,
                host,
            });
        }
        Method::Generic
    }
}

#[cfg(test)]
mod tests {
    use platreset_acpi::{AcpiDevice, Crs, MemRange};
    use platreset_fdt::Fdt;
    use platreset_topology::Topology;

    use super::*;
    use crate::group::Group;

    /// Runs `check` on the evaluator of a fixture (tests/dts/<fixture>.dts).
    fn with<R>(
        fixture: &str,
        options: Options,
        acpi: &[AcpiDevice],
        check: impl FnOnce(&Fdt<'_>, &Evaluator<'_, '_, '_, '_>) -> R,
    ) -> R {
        let blob = platreset_testkit::fixture(fixture);
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let policy = Policy { options, allowlist: Allowlist::builtin().unwrap() };
        let evaluator = Evaluator::new(&policy, &topology, acpi);
        check(&fdt, &evaluator)
    }

    fn verdict(path: &str, options: Options) -> Verdict {
        with("policy", options, &[], |fdt, e| e.verdict(fdt.find_path(path).unwrap().id()))
    }

    fn trusting() -> Options {
        Options { trust_reset: true, ..Options::default() }
    }

    fn rules(v: &Verdict) -> Vec<u8> {
        v.reasons.iter().map(Reason::rule).collect()
    }

    #[test]
    fn rule_1_a_node_without_resets_has_no_method_and_is_refused_while_reset_is_required() {
        let v = verdict("/timer@e6050000", Options::default());
        assert_eq!(v.method, Method::None);
        assert_eq!(v.reasons, [Reason::NoReset, Reason::NoIommu], "rule 4 does not apply without a reset");
        let v = verdict("/timer@e6050000", Options { reset_required: false, ..Options::default() });
        assert_eq!(v.reasons, [Reason::NoIommu], "reset_required=0 waives the reset, nothing else");
        assert_eq!(v.warnings, [Reason::NoReset]);
    }

    #[test]
    fn rule_1_a_device_specific_handler_takes_precedence_over_resets() {
        // tests/dts/device-specific.dts: calxeda,hb-xgmac with a shared reset line and an IOMMU.
        with("device-specific", Options::default(), &[], |fdt, e| {
            let v = |p: &str| e.verdict(fdt.find_path(p).unwrap().id());
            let shared = v("/xgmac-with-shared-reset@40000");
            assert_eq!(shared.method, Method::DeviceSpecific("calxeda,hb-xgmac"));
            assert!(
                shared.eligible(),
                "the handler resets it and the allowlist records it: {:?}",
                shared.reasons
            );
            let bare = v("/xgmac-without-resets@41000");
            assert_eq!(bare.method, Method::DeviceSpecific("calxeda,hb-xgmac"));
            assert_eq!(bare.reasons, [Reason::NoIommu]);
            assert_eq!(v("/xgmac-second@43000").method, Method::None, "only the first compatible counts");
            assert!(v("/neighbour@42000").reasons.iter().any(|r| matches!(r, Reason::SharedLine { .. })));
        });
    }

    fn companion(rst: bool, base: u64) -> AcpiDevice {
        AcpiDevice {
            path: "\\_SB.ETH1".into(),
            hid: Some("ACME0001".into()),
            cids: Vec::new(),
            rst,
            prr: false,
            crs: Crs::Static,
            mmio: vec![MemRange { base, len: 0x1000 }],
        }
    }

    #[test]
    fn rule_1_an_acpi_companion_comes_first_and_its_rst_decides() {
        let with_rst = [companion(true, 0xe070_0000)];
        with("policy", trusting(), &with_rst, |fdt, e| {
            let v = e.verdict(fdt.find_path("/ethernet@e0700000").unwrap().id());
            assert_eq!(v.method, Method::Acpi { path: "\\_SB.ETH1".into() });
            assert_eq!(v.method.as_str(), "acpi");
            let elsewhere = e.verdict(fdt.find_path("/ethernet@e6800000").unwrap().id());
            assert_eq!(elsewhere.method, Method::Generic, "matched by address, not by chance");
        });
        let without = [companion(false, 0xe070_8000)];
        with("policy", trusting(), &without, |fdt, e| {
            let v = e.verdict(fdt.find_path("/ethernet@e0700000").unwrap().id());
            assert_eq!(v.method, Method::None, "the kernel does not fall back to DT resets");
            assert_eq!(v.reasons, [Reason::AcpiWithoutRst { path: "\\_SB.ETH1".into() }]);
        });
    }

    #[test]
    fn rule_2_unresolvable_resets_are_refused_with_method_generic() {
        with("topology-sharing", Options::default(), &[], |fdt, e| {
            let v = e.verdict(fdt.find_path("/unknown-phandle@20000").unwrap().id());
            assert_eq!(v.method, Method::Generic);
            assert_eq!(v.reasons[0], Reason::Unresolvable);
        });
    }

    #[test]
    fn rule_2_each_line_needs_a_driver_here_that_can_reset_it() {
        for (path, why) in [
            ("/ethernet@ff0b0000", "a firmware reset (Xilinx ZynqMP"),
            ("/spi@10001000", "acme,mystery-reset"),
            ("/timer@e6040000", "1299"),
        ] {
            let v = verdict(path, trusting());
            let [Reason::Unsupported { index: 0, why: got, .. }] = v.reasons.as_slice() else {
                panic!("{path}: {:?}", v.reasons)
            };
            assert!(got.contains(why), "{path}: {got}");
        }
    }

    #[test]
    fn rule_2_a_pulse_only_driver_is_refused_unless_the_pulse_is_accepted() {
        let v = verdict("/mmc@fe320000", trusting());
        assert_eq!(
            v.reasons,
            [Reason::PulseOnly {
                index: 0,
                controller: "/clock-controller@ff760000".into(),
                driver: "rockchip-softrst"
            }]
        );
        let v = verdict("/mmc@fe320000", Options { allow_pulse: true, ..trusting() });
        assert!(v.eligible() && v.warnings.len() == 2, "{v:?}");
    }

    #[test]
    fn rule_3_dedicated_lines_pass_however_many_there_are() {
        for path in ["/ethernet@e6800000", "/usb@ee080000"] {
            let v = verdict(path, Options::default());
            assert_eq!(v.method, Method::Generic);
            assert!(matches!(v.reasons[..], [Reason::QuiescenceUnproven { .. }]), "{path}: {:?}", v.reasons);
            assert!(verdict(path, trusting()).eligible());
        }
    }

    #[test]
    fn rule_3_a_shared_line_is_refused_naming_every_other_node_whatever_its_status() {
        let v = verdict("/pwm@e6e30000", trusting());
        assert_eq!(rules(&v), [3, 5]);
        assert_eq!(
            v.reasons[0].to_string(),
            "reset line 0 (/clock-controller@e6150000 [523]) is shared with 2 other nodes: /pwm@e6e31000, /pwm@e6e32000"
        );
        let accepting = Options { allow_shared_with_disabled: true, ..trusting() };
        assert_eq!(rules(&verdict("/pwm@e6e30000", accepting)), [3, 5], "an enabled sharer is never waived");
    }

    #[test]
    fn rule_3_a_line_shared_only_with_disabled_nodes_may_be_accepted() {
        let v = verdict("/serial@e6e60000", trusting());
        assert_eq!(v.reasons.len(), 1);
        assert_eq!(v.reasons[0].short(), "shared with disabled");
        let v = verdict("/serial@e6e60000", Options { allow_shared_with_disabled: true, ..trusting() });
        assert!(v.eligible());
        assert_eq!(v.warnings.iter().map(Reason::rule).collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn rule_4_evidence_in_the_allowlist_proves_quiescence() {
        let v = verdict("/sata@ee300000", Options::default());
        assert!(v.eligible(), "hardware evidence for renesas,sata-r8a7795: {:?}", v.reasons);
        assert!(v.warnings.is_empty());
    }

    #[test]
    fn rule_5_the_allowlist_can_record_a_device_as_non_dma() {
        let blob = platreset_testkit::fixture("policy");
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let text = "schema = 1\n[[entry]]\ndevice = \"renesas,r8a774a1-tmu\"\ndma = false\n";
        let policy =
            Policy { options: Options::default(), allowlist: Allowlist::parse("t.toml", text).unwrap() };
        let v =
            Evaluator::new(&policy, &topology, &[]).verdict(fdt.find_path("/timer@e6050000").unwrap().id());
        assert_eq!(v.reasons, [Reason::NoReset], "no IOMMU is needed for a device that cannot DMA");
    }

    #[test]
    fn a_group_is_the_closure_of_shared_lines_and_assigns_its_enabled_members() {
        with("policy", trusting(), &[], |fdt, e| {
            let id = |p: &str| fdt.find_path(p).unwrap().id();
            let group = Group::of(e.topology(), id("/dma-controller@e7300000"));
            let chain = ["/dma-controller@e7300000", "/dma-controller@e7310000", "/dma-controller@e7320000"];
            assert_eq!(group.members, chain.map(id));
            let verdict = e.group_verdict(&group);
            assert!(verdict.eligible(), "{verdict:?}");
            assert!(Group::of(e.topology(), id("/ethernet@e6800000")).is_single());

            let pwms = e.group_verdict(&Group::of(e.topology(), id("/pwm@e6e31000")));
            assert_eq!(pwms.also_reset, [id("/pwm@e6e32000")]);
            assert_eq!(pwms.assign.len(), 2);
            for (_, v) in &pwms.assign {
                assert_eq!(v.reasons, [Reason::NoIommu], "together, the shared line is no longer a reason");
            }
        });
    }
}
