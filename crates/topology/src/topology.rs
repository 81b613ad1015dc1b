//! Building the topology in one pass over the tree.
//!
//! Everything is kept in vectors sorted by node or by line and searched by bisection: a tree
//! has a few hundred controllers and consumers, and an audit builds thousands of topologies, so
//! a handful of allocations per tree beats hash maps.
//!
//! Crafted trees are another matter (ten thousand nodes on one line, one node with 300,000
//! lines): every question about sharing is answered from per-line counts kept at build time, or
//! by visiting at most a bounded prefix of a line's users, never by rescanning a line per user.
//! [`Topology::sharing_work`] counts the users visited, so tests can bound the work.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use platreset_fdt::{Fdt, Node, NodeId, PhandleIndex, Property, StringList};

use crate::line::ResetLine;
use crate::resolve::{resolve, ResolveError};
use crate::service::{Provides, Service};

/// A node that has a `resets` property.
#[derive(Debug, Clone)]
pub struct Consumer<'a> {
    /// The node.
    pub node: NodeId,
    /// Its `status` (first string; `okay` when absent).
    pub status: &'a [u8],
    compatible: Option<Property<'a>>,
    reset_names: Option<Property<'a>>,
    /// Whether it has an `iommus` property.
    pub iommus: bool,
    /// The platform service it provides to other devices, when it is host infrastructure
    /// (an IOMMU, a power gate, a clock controller, …).
    pub service: Option<Service>,
    /// Its resolved lines, in property order, or why they cannot be resolved.
    pub resets: Result<Vec<ResetLine>, ResolveError>,
}

impl<'a> Consumer<'a> {
    /// The `compatible` strings.
    pub fn compatible(&self) -> StringList<'a> {
        self.compatible.map(|p| p.strings()).unwrap_or_default()
    }

    /// The `reset-names` strings (empty when absent).
    pub fn reset_names(&self) -> StringList<'a> {
        self.reset_names.map(|p| p.strings()).unwrap_or_default()
    }

    /// Whether `status` says enabled (`okay`/`ok`).
    pub fn is_enabled(&self) -> bool {
        matches!(self.status, b"okay" | b"ok")
    }

    /// The resolved lines (empty when unresolvable).
    pub fn lines(&self) -> &[ResetLine] {
        self.resets.as_deref().unwrap_or_default()
    }
}

/// A reset controller: a node with `#reset-cells`.
#[derive(Debug, Clone)]
pub struct Controller<'a> {
    /// The node.
    pub node: NodeId,
    /// Its `#reset-cells`, or why it cannot be read.
    pub reset_cells: Result<u32, String>,
    compatible: Option<Property<'a>>,
    /// Distinct consumer nodes whose resolved lines use this controller.
    pub consumers: usize,
    /// Distinct lines of this controller used by two or more nodes.
    pub shared_lines: usize,
}

impl<'a> Controller<'a> {
    /// The `compatible` strings.
    pub fn compatible(&self) -> StringList<'a> {
        self.compatible.map(|p| p.strings()).unwrap_or_default()
    }
}

/// How many sharers one record names: a list of other nodes (`shared_with`, a shared line's
/// reason) names at most this many, in a stated order, and gives the count beside it, so what a
/// node's record carries stays bounded however many nodes share its lines.
pub const SHARERS_NAMED: usize = 64;

/// One distinct line and where its users sit in [`Topology::users`]. The line itself is read
/// from its first user's `resets` (a line is 72 bytes; a node may list 300,000 of them); the
/// controller and first cell are kept here, so a search reads the line only to settle a tie.
#[derive(Debug, Clone, Copy)]
struct Span {
    /// Ordered as the line is: controller, then first cell (none before any).
    key: (NodeId, Option<u32>),
    /// The first user (index into `consumers`) and the line's position in its lines.
    at: (u32, u32),
    /// First index into `users`.
    start: u32,
    /// Number of users (distinct consumers).
    len: u32,
    /// How many of them are enabled.
    enabled: u32,
}

/// The reset topology of one tree.
#[derive(Debug)]
pub struct Topology<'f, 'a> {
    fdt: &'f Fdt<'a>,
    /// In document order (so sorted by node).
    consumers: Vec<Consumer<'a>>,
    /// In document order.
    controllers: Vec<Controller<'a>>,
    /// Every distinct resolved line, sorted.
    spans: Vec<Span>,
    /// Indices into `consumers`: each span's users, in document order, each consumer once.
    users: Vec<u32>,
    /// Every node with `#iommu-cells`, in document order.
    iommu_providers: Vec<NodeId>,
    phandles: PhandleIndex,
    /// Per consumer: how many other nodes share one of its lines (computed on first use).
    sharer_counts: OnceLock<Vec<u32>>,
    /// Users visited by sharing queries (see [`Topology::sharing_work`]).
    work: AtomicU64,
}

/// The users of one line, in document order; what it visited is added to the topology's work
/// count when it is dropped (one atomic add per query, not per user).
struct Users<'t> {
    ids: std::slice::Iter<'t, u32>,
    consumers: &'t [Consumer<'t>],
    visited: u64,
    work: &'t AtomicU64,
}

impl Iterator for Users<'_> {
    type Item = NodeId;

    fn next(&mut self) -> Option<NodeId> {
        let &i = self.ids.next()?;
        self.visited += 1;
        self.consumers.get(i as usize).map(|c| c.node)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.ids.size_hint()
    }
}

impl Drop for Users<'_> {
    fn drop(&mut self) {
        self.work.fetch_add(self.visited, Ordering::Relaxed);
    }
}

/// The property names the topology reads. Parse with
/// `Fdt::parse_classifying(blob, scratch, PROPERTY_NAMES)` and [`Topology::build`] skips every
/// node that has none of the names it needs without looking at its properties.
/// A `static`, not a `const`: the topology recognises a tree classified by this very list by
/// its address, and a `const` may be placed anew at each use.
pub static PROPERTY_NAMES: &[&str] = &[
    "resets",
    "reset-names",
    "status",
    "compatible",
    "iommus",
    "#reset-cells",
    "#iommu-cells",
    "#power-domain-cells",
    "interrupt-controller",
    "#clock-cells",
    "phandle",
    "linux,phandle",
];
const RESETS: usize = 0;
const RESET_NAMES: usize = 1;
const STATUS: usize = 2;
const COMPATIBLE: usize = 3;
const IOMMUS: usize = 4;
const RESET_CELLS: usize = 5;
const IOMMU_CELLS: usize = 6;
const POWER_DOMAIN_CELLS: usize = 7;
const PHANDLE: usize = 10;
const LINUX_PHANDLE: usize = 11;
// The per-node pass destructures the first ten classes in this order.
const _: () = assert!(
    RESETS == 0
        && RESET_NAMES == 1
        && STATUS == 2
        && COMPATIBLE == 3
        && IOMMUS == 4
        && RESET_CELLS == 5
        && IOMMU_CELLS == 6
        && POWER_DOMAIN_CELLS == 7
        && PHANDLE == 10
);

impl<'f, 'a> Topology<'f, 'a> {
    /// Analyses `fdt`: one pass over every property, then resolution of each `resets`.
    pub fn build(fdt: &'f Fdt<'a>) -> Topology<'f, 'a> {
        let own;
        let (names, masks) = match fdt.classification() {
            Some(table) if std::ptr::eq(table.names(), PROPERTY_NAMES) => (table, true),
            _ => {
                own = fdt.name_table(PROPERTY_NAMES);
                (&own, false)
            }
        };
        let mut phandle_pairs = Vec::new();
        let mut controllers: Vec<Controller<'a>> = Vec::new();
        let mut pending: Vec<(Consumer<'a>, Property<'a>)> = Vec::new();
        let mut iommu_providers = Vec::new();
        for node in fdt.nodes() {
            if masks {
                // The walk classified every property and recorded the phandle: most nodes are
                // done without looking at their properties at all.
                let classes = node.classes();
                if classes & (1 << PHANDLE | 1 << LINUX_PHANDLE) != 0 {
                    if let Some(phandle) = node.phandle() {
                        phandle_pairs.push((phandle, node.id()));
                    }
                }
                if classes & (1 << RESETS | 1 << RESET_CELLS | 1 << IOMMU_CELLS) == 0 {
                    continue;
                }
            } else if let Some(phandle) = node.phandle() {
                phandle_pairs.push((phandle, node.id()));
            }
            // Few nodes are controllers or consumers: look at their properties, once.
            let mut found: [Option<Property<'a>>; 10] = [None; 10];
            for (i, prop) in node.classified_properties(names) {
                if let Some(slot) = found.get_mut(i) {
                    slot.get_or_insert(prop);
                }
            }
            let [resets, reset_names, status, compatible, iommus, cells, iommu_cells, power_cells, interrupts, clocks] =
                found;
            if iommu_cells.is_some() {
                iommu_providers.push(node.id());
            }
            if resets.is_none() && cells.is_none() {
                continue;
            }
            if let Some(p) = cells {
                controllers.push(Controller {
                    node: node.id(),
                    reset_cells: p.u32().map_err(|e| e.to_string()),
                    compatible,
                    consumers: 0,
                    shared_lines: 0,
                });
            }
            if let Some(resets) = resets {
                let provides = Provides {
                    iommu: iommu_cells.is_some(),
                    power_domain_cells: power_cells.map(|p| p.u32().ok()),
                    interrupts: interrupts.is_some(),
                    clocks: clocks.is_some(),
                    resets: cells.is_some(),
                    // Looked up only where it decides something: few nodes provide clocks or resets.
                    own_interrupts: (clocks.is_some() || cells.is_some())
                        && crate::service::has_interrupts(&node, 0),
                };
                let parent = node.parent();
                let parent_powers = parent.as_ref().is_some_and(|p| {
                    if masks {
                        p.classes() & (1 << POWER_DOMAIN_CELLS) != 0
                    } else {
                        p.property("#power-domain-cells").is_some()
                    }
                });
                let consumer = Consumer {
                    node: node.id(),
                    status: status.map_or(b"okay", |p| p.first_string()),
                    compatible,
                    reset_names,
                    iommus: iommus.is_some(),
                    service: provides.service(parent.as_ref(), parent_powers),
                    resets: Ok(Vec::new()),
                };
                pending.push((consumer, resets));
            }
        }
        let phandles = PhandleIndex::from_pairs(phandle_pairs);

        let find = |controllers: &[Controller<'a>], id: NodeId| {
            controllers.binary_search_by_key(&id, |c| c.node).ok()
        };
        let reset_cells = |id: NodeId| find(&controllers, id).map(|i| controllers[i].reset_cells.clone());
        let mut consumers = Vec::with_capacity(pending.len());
        for (mut consumer, prop) in pending {
            consumer.resets = resolve(fdt, &prop, &phandles, reset_cells);
            consumers.push(consumer);
        }
        // (consumer, position in its lines) for every resolved line, sorted by line then
        // consumer, each consumer once per line: eight bytes a line, not a copy of it.
        let line_at = |&(c, i): &(u32, u32)| &consumers[c as usize].lines()[i as usize];
        let mut pairs: Vec<(u32, u32)> = consumers
            .iter()
            .enumerate()
            .flat_map(|(c, consumer)| (0..consumer.lines().len() as u32).map(move |i| (c as u32, i)))
            .collect();
        pairs.sort_unstable_by(|a, b| line_at(a).cmp(line_at(b)).then(a.0.cmp(&b.0)));
        pairs.dedup_by(|b, a| a.0 == b.0 && line_at(a) == line_at(b));

        // Per controller: distinct consumers, and lines with more than one user.
        let mut per_controller: Vec<(NodeId, u32)> =
            pairs.iter().map(|p| (line_at(p).controller(), p.0)).collect();
        per_controller.sort_unstable();
        per_controller.dedup();
        for group in per_controller.chunk_by(|a, b| a.0 == b.0) {
            if let Some(i) = find(&controllers, group[0].0) {
                controllers[i].consumers = group.len();
            }
        }
        // Per line: its users, how many, how many enabled.
        let mut spans = Vec::new();
        let mut users = Vec::with_capacity(pairs.len());
        for group in pairs.chunk_by(|a, b| line_at(a) == line_at(b)) {
            if let Some(i) = find(&controllers, line_at(&group[0]).controller()) {
                controllers[i].shared_lines += usize::from(group.len() > 1);
            }
            let enabled = group.iter().filter(|(c, _)| consumers[*c as usize].is_enabled()).count();
            let line = line_at(&group[0]);
            spans.push(Span {
                key: (line.controller(), line.args().first().copied()),
                at: group[0],
                start: users.len() as u32,
                len: group.len() as u32,
                enabled: enabled as u32,
            });
            users.extend(group.iter().map(|(c, _)| *c));
        }
        drop(pairs);
        Topology {
            fdt,
            consumers,
            controllers,
            spans,
            users,
            iommu_providers,
            phandles,
            sharer_counts: OnceLock::new(),
            work: AtomicU64::new(0),
        }
    }

    /// The tree analysed.
    pub fn fdt(&self) -> &'f Fdt<'a> {
        self.fdt
    }

    /// A node of the tree by id.
    pub fn node(&self, id: NodeId) -> Option<Node<'f, 'a>> {
        self.fdt.node(id)
    }

    /// Every node with `resets`, in document order.
    pub fn consumers(&self) -> &[Consumer<'a>] {
        &self.consumers
    }

    /// Every reset controller (node with `#reset-cells`), in document order.
    pub fn controllers(&self) -> &[Controller<'a>] {
        &self.controllers
    }

    /// Every node with `#iommu-cells` (an IOMMU), in document order: none when the tree
    /// describes no IOMMU, so no device can be given `iommus`.
    pub fn iommu_providers(&self) -> &[NodeId] {
        &self.iommu_providers
    }

    /// The platform service `node` provides to other devices, when it is host infrastructure:
    /// a consumer's as the pass found it, another node's read from its properties.
    pub fn service_of(&self, node: NodeId) -> Option<Service> {
        match self.consumer(node) {
            Some(consumer) => consumer.service,
            None => self.fdt.node(node).and_then(|n| Provides::service_of(&n)),
        }
    }

    /// The phandle index built during the pass.
    pub fn phandles(&self) -> &PhandleIndex {
        &self.phandles
    }

    /// The consumer record of a node, if it has `resets`.
    pub fn consumer(&self, node: NodeId) -> Option<&Consumer<'a>> {
        self.consumers.binary_search_by_key(&node, |c| c.node).ok().and_then(|i| self.consumers.get(i))
    }

    /// The controller record of a node, if it has `#reset-cells`.
    pub fn controller(&self, node: NodeId) -> Option<&Controller<'a>> {
        self.controllers.binary_search_by_key(&node, |c| c.node).ok().and_then(|i| self.controllers.get(i))
    }

    fn span_line(&self, span: &Span) -> &ResetLine {
        &self.consumers[span.at.0 as usize].lines()[span.at.1 as usize]
    }

    fn span_index(&self, line: &ResetLine) -> Option<usize> {
        let key = (line.controller(), line.args().first().copied());
        self.spans.binary_search_by(|s| s.key.cmp(&key).then_with(|| self.span_line(s).cmp(line))).ok()
    }

    fn span(&self, line: &ResetLine) -> Option<&Span> {
        self.span_index(line).and_then(|i| self.spans.get(i))
    }

    fn span_users(&self, span: Option<&Span>) -> &[u32] {
        span.and_then(|s| self.users.get(s.start as usize..(s.start + s.len) as usize)).unwrap_or_default()
    }

    fn consumer_index(&self, node: NodeId) -> Option<u32> {
        self.consumers.binary_search_by_key(&node, |c| c.node).ok().map(|i| i as u32)
    }

    /// Every node that uses `line`, in document order. Visiting a line's users costs one step
    /// per user: ask [`Topology::user_count`] for how many there are.
    pub fn users_of(&self, line: &ResetLine) -> impl Iterator<Item = NodeId> + '_ {
        Users {
            ids: self.span_users(self.span(line)).iter(),
            consumers: &self.consumers,
            visited: 0,
            work: &self.work,
        }
    }

    /// Every distinct resolved line with how many nodes use it, sorted by line.
    pub fn lines(&self) -> impl Iterator<Item = (&ResetLine, usize)> + '_ {
        self.spans.iter().map(|s| (self.span_line(s), s.len as usize))
    }

    /// How many nodes use `line` (each once, whatever its status).
    pub fn user_count(&self, line: &ResetLine) -> usize {
        self.span(line).map_or(0, |s| s.len as usize)
    }

    /// How many enabled nodes use `line`.
    pub fn enabled_user_count(&self, line: &ResetLine) -> usize {
        self.span(line).map_or(0, |s| s.enabled as usize)
    }

    /// Other nodes (any status) that use a line identical to one of `consumer`'s, each once,
    /// in document order. All of them: its cost is the users of every line of the consumer, so
    /// a report uses [`Topology::sharer_count`] and names a bounded few.
    pub fn shared_with(&self, consumer: &Consumer<'a>) -> Vec<NodeId> {
        let mut out: Vec<NodeId> = consumer
            .lines()
            .iter()
            .flat_map(|line| self.users_of(line))
            .filter(|&n| n != consumer.node)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// How many other nodes (any status) use a line identical to one of `consumer`'s: the length
    /// of [`Topology::shared_with`], without listing them.
    pub fn sharer_count(&self, consumer: &Consumer<'a>) -> usize {
        let counts = self.sharer_counts.get_or_init(|| self.count_sharers());
        self.consumer_index(consumer.node).and_then(|i| counts.get(i as usize)).map_or(0, |&n| n as usize)
    }

    /// Every consumer's sharer count, in one pass. The users of a consumer's crowded lines
    /// (more users than a record names) are counted once per distinct set of crowded lines; its
    /// other shared lines' users (a bounded few per line) are checked against the crowded ones
    /// by bisection, or, past a handful of crowded lines, against marks left by walking them.
    /// Ten thousand nodes on one line, or on the same two lines plus a private one each, cost a
    /// pass over each line, not a pass per user, and nothing is kept but the counts. Left
    /// superlinear: many nodes each on several crowded lines in pairwise different
    /// combinations, each combination walked once (15,000 nodes on 7 of 17 crowded lines, a
    /// 1.6 MB tree: about a second); no tree seen in the wild comes close.
    fn count_sharers(&self) -> Vec<u32> {
        /// Crowded lines checked one by one; past this many, their users are marked instead.
        const BISECT: usize = 8;
        let crowded = |span: u32| self.spans[span as usize].len as usize > SHARERS_NAMED + 1;
        let users = |span: u32| self.span_users(self.spans.get(span as usize));
        let mut counts = vec![0u32; self.consumers.len()];
        let mut union_of: HashMap<Vec<u32>, u32> = HashMap::new();
        // Per consumer index: the consumer whose crowded lines it was last seen on, and whose
        // other lines.
        let mut in_crowded: Vec<u32> = vec![u32::MAX; self.consumers.len()];
        let mut seen: Vec<u32> = vec![u32::MAX; self.consumers.len()];
        let (mut shared, mut big): (Vec<u32>, Vec<u32>) = (Vec::new(), Vec::new());
        let mut visited = 0u64;
        for (index, consumer) in self.consumers.iter().enumerate() {
            let mark = index as u32;
            // The distinct lines of this consumer that someone else uses, as span indices.
            shared.clear();
            shared.extend(consumer.lines().iter().filter_map(|line| {
                let i = self.span_index(line)?;
                (self.spans[i].len > 1).then_some(i as u32)
            }));
            shared.sort_unstable();
            shared.dedup();
            if let [only] = shared.as_slice() {
                counts[index] = self.spans[*only as usize].len - 1;
                continue;
            }
            big.clear();
            big.extend(shared.iter().copied().filter(|&s| crowded(s)));
            let small = shared.len() > big.len();
            // Marks the users of the crowded lines and counts them.
            let mut walk = |in_crowded: &mut Vec<u32>| {
                let mut n = 0u32;
                for &user in big.iter().flat_map(|&s| users(s)) {
                    visited += 1;
                    if in_crowded[user as usize] != mark {
                        in_crowded[user as usize] = mark;
                        n += 1;
                    }
                }
                n
            };
            let (mut count, marked) = match big.as_slice() {
                [] => (0, true),
                [one] => (self.spans[*one as usize].len, false),
                _ => match union_of.get(big.as_slice()) {
                    Some(&n) if !small || big.len() <= BISECT => (n, false),
                    _ => {
                        let n = walk(&mut in_crowded);
                        union_of.insert(big.clone(), n);
                        (n, true)
                    }
                },
            };
            if small {
                let on_crowded = |user: u32| {
                    if marked {
                        in_crowded[user as usize] == mark
                    } else {
                        big.iter().any(|&s| users(s).binary_search(&user).is_ok())
                    }
                };
                for &s in shared.iter().filter(|&&s| !crowded(s)) {
                    for &user in users(s) {
                        visited += 1;
                        if seen[user as usize] != mark && !on_crowded(user) {
                            seen[user as usize] = mark;
                            count += 1;
                        }
                    }
                }
            }
            // The consumer uses each of these lines, so it was counted once (if at all).
            counts[index] = count.saturating_sub(1);
        }
        self.work.fetch_add(visited, Ordering::Relaxed);
        counts
    }

    /// How many other nodes use `line` besides `node`.
    pub fn other_users(&self, line: &ResetLine, node: NodeId) -> usize {
        let span = self.span(line);
        let uses = self.consumer_index(node).is_some_and(|i| self.span_users(span).binary_search(&i).is_ok());
        span.map_or(0, |s| s.len as usize) - usize::from(uses)
    }

    /// Users visited so far by sharing queries ([`Topology::users_of`], [`Topology::shared_with`],
    /// the sharer counts) on this topology: a measure of work, so tests can bound it by the size
    /// of the tree rather than time it.
    pub fn sharing_work(&self) -> u64 {
        self.work.load(Ordering::Relaxed)
    }
}
