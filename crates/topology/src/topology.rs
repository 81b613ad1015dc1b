//! Building the topology in one pass over the tree.
//!
//! Everything is kept in vectors sorted by node or by line and searched by bisection: a tree
//! has a few hundred controllers and consumers, and an audit builds thousands of topologies, so
//! a handful of allocations per tree beats hash maps.

use platreset_fdt::{Fdt, Node, NodeId, PhandleIndex, Property, StringList};

use crate::line::ResetLine;
use crate::resolve::{resolve, ResolveError};

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

/// The reset topology of one tree.
#[derive(Debug)]
pub struct Topology<'f, 'a> {
    fdt: &'f Fdt<'a>,
    /// In document order (so sorted by node).
    consumers: Vec<Consumer<'a>>,
    /// In document order.
    controllers: Vec<Controller<'a>>,
    /// (line, index into `consumers`), sorted; each consumer once per line.
    users: Vec<(ResetLine, u32)>,
    phandles: PhandleIndex,
}

/// The property names the topology reads. Parse with
/// `Fdt::parse_classifying(blob, scratch, PROPERTY_NAMES)` and [`Topology::build`] skips every
/// node that has none of the names it needs without looking at its properties.
/// A `static`, not a `const`: the topology recognises a tree classified by this very list by
/// its address, and a `const` may be placed anew at each use.
pub static PROPERTY_NAMES: &[&str] =
    &["resets", "reset-names", "status", "compatible", "iommus", "#reset-cells", "phandle", "linux,phandle"];
const RESETS: usize = 0;
const RESET_NAMES: usize = 1;
const STATUS: usize = 2;
const COMPATIBLE: usize = 3;
const IOMMUS: usize = 4;
const RESET_CELLS: usize = 5;
const PHANDLE: usize = 6;
const LINUX_PHANDLE: usize = 7;
// The per-node pass destructures the first six classes in this order.
const _: () = assert!(
    RESETS == 0 && RESET_NAMES == 1 && STATUS == 2 && COMPATIBLE == 3 && IOMMUS == 4 && RESET_CELLS == 5
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
                if classes & (1 << RESETS | 1 << RESET_CELLS) == 0 {
                    continue;
                }
            } else if let Some(phandle) = node.phandle() {
                phandle_pairs.push((phandle, node.id()));
            }
            // Few nodes are controllers or consumers: look at their properties, once.
            let mut found: [Option<Property<'a>>; 6] = [None; 6];
            for (i, prop) in node.classified_properties(names) {
                if let Some(slot) = found.get_mut(i) {
                    slot.get_or_insert(prop);
                }
            }
            let [resets, reset_names, status, compatible, iommus, cells] = found;
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
                let consumer = Consumer {
                    node: node.id(),
                    status: status.map_or(b"okay", |p| p.first_string()),
                    compatible,
                    reset_names,
                    iommus: iommus.is_some(),
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
        let mut users: Vec<(ResetLine, u32)> = Vec::new();
        for (index, (mut consumer, prop)) in pending.into_iter().enumerate() {
            consumer.resets = resolve(fdt, &prop, &phandles, reset_cells);
            users.extend(consumer.lines().iter().map(|&line| (line, index as u32)));
            consumers.push(consumer);
        }
        users.sort_unstable();
        users.dedup();

        // Per controller: distinct consumers, and lines with more than one user.
        let mut per_controller: Vec<(NodeId, u32)> =
            users.iter().map(|(l, c)| (l.controller(), *c)).collect();
        per_controller.sort_unstable();
        per_controller.dedup();
        for group in per_controller.chunk_by(|a, b| a.0 == b.0) {
            if let Some(i) = find(&controllers, group[0].0) {
                controllers[i].consumers = group.len();
            }
        }
        for group in users.chunk_by(|a, b| a.0 == b.0) {
            if let Some(i) = find(&controllers, group[0].0.controller()) {
                controllers[i].shared_lines += usize::from(group.len() > 1);
            }
        }
        Topology { fdt, consumers, controllers, users, phandles }
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

    /// Every node that uses `line`, in document order.
    pub fn users_of(&self, line: &ResetLine) -> impl Iterator<Item = NodeId> + '_ {
        let line = *line;
        let start = self.users.partition_point(|(l, _)| *l < line);
        self.users[start..]
            .iter()
            .take_while(move |(l, _)| *l == line)
            .filter_map(|&(_, i)| self.consumers.get(i as usize).map(|c| c.node))
    }

    /// Other nodes (any status) that use a line identical to one of `consumer`'s, each once,
    /// in document order.
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

    /// How many other nodes use `line` besides `node`.
    pub fn other_users(&self, line: &ResetLine, node: NodeId) -> usize {
        self.users_of(line).filter(|&n| n != node).count()
    }
}
