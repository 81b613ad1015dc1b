//! Building the topology in one pass over the tree.

use std::collections::{BTreeMap, HashMap};

use platreset_fdt::{Fdt, FdtError, Node, NodeId, PhandleIndex, Property, StringList};

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

/// A reset controller: a node with `#reset-cells`, or one that a `resets` specifier points at.
#[derive(Debug, Clone)]
pub struct Controller<'a> {
    /// The node.
    pub node: NodeId,
    /// Its `#reset-cells` reading: `None` when absent, `Some(Err(text))` when unreadable.
    pub reset_cells: Option<Result<u32, String>>,
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
    consumers: Vec<Consumer<'a>>,
    /// Controllers, in document order.
    controllers: Vec<Controller<'a>>,
    /// Line → indices of the consumers using it (each consumer once, ascending).
    users: HashMap<ResetLine, Vec<u32>>,
    phandles: PhandleIndex,
}

// Property names the pass classifies, by index.
const NAMES: &[&str] =
    &["resets", "reset-names", "status", "compatible", "iommus", "#reset-cells", "phandle", "linux,phandle"];
const RESETS: usize = 0;
const RESET_NAMES: usize = 1;
const STATUS: usize = 2;
const COMPATIBLE: usize = 3;
const IOMMUS: usize = 4;
const RESET_CELLS: usize = 5;
const PHANDLE: usize = 6;
const LINUX_PHANDLE: usize = 7;

impl<'f, 'a> Topology<'f, 'a> {
    /// Analyses `fdt`: one pass over every property, then resolution of each `resets`.
    pub fn build(fdt: &'f Fdt<'a>) -> Topology<'f, 'a> {
        let names = fdt.name_table(NAMES);
        let mut phandles = PhandleIndex::default();
        let mut pending: Vec<(Consumer<'a>, Property<'a>)> = Vec::new();
        let mut cells: BTreeMap<NodeId, (Result<u32, FdtError>, Option<Property<'a>>)> = BTreeMap::new();
        for node in fdt.nodes() {
            let mut found: [Option<Property<'a>>; NAMES.len()] = [None; NAMES.len()];
            for prop in node.properties() {
                if let Some(i) = names.get(&prop) {
                    found[i].get_or_insert(prop);
                }
            }
            let phandle = found[PHANDLE]
                .and_then(|p| p.u32().ok())
                .or_else(|| found[LINUX_PHANDLE].and_then(|p| p.u32().ok()))
                .and_then(platreset_fdt::Phandle::new);
            if let Some(phandle) = phandle {
                phandles.insert(phandle, node.id());
            }
            if let Some(p) = found[RESET_CELLS] {
                cells.insert(node.id(), (p.u32(), found[COMPATIBLE]));
            }
            if let Some(resets) = found[RESETS] {
                let consumer = Consumer {
                    node: node.id(),
                    status: found[STATUS].map_or(b"okay", |p| p.first_string()),
                    compatible: found[COMPATIBLE],
                    reset_names: found[RESET_NAMES],
                    iommus: found[IOMMUS].is_some(),
                    resets: Ok(Vec::new()),
                };
                pending.push((consumer, resets));
            }
        }

        let reset_cells = |id: NodeId| cells.get(&id).map(|(r, _)| r.clone().map_err(|e| e.to_string()));
        let mut consumers = Vec::with_capacity(pending.len());
        let mut users: HashMap<ResetLine, Vec<u32>> = HashMap::new();
        for (index, (mut consumer, prop)) in pending.into_iter().enumerate() {
            consumer.resets = resolve(fdt, &prop, &phandles, reset_cells);
            for line in consumer.lines() {
                let list = users.entry(line.clone()).or_default();
                if list.last() != Some(&(index as u32)) {
                    list.push(index as u32);
                }
            }
            consumers.push(consumer);
        }

        let mut controllers: BTreeMap<NodeId, Controller<'a>> = cells
            .iter()
            .map(|(&id, (r, compatible))| {
                let controller = Controller {
                    node: id,
                    reset_cells: Some(r.clone().map_err(|e| e.to_string())),
                    compatible: *compatible,
                    consumers: 0,
                    shared_lines: 0,
                };
                (id, controller)
            })
            .collect();
        let mut per_controller: HashMap<NodeId, Vec<u32>> = HashMap::new();
        for (line, list) in &users {
            per_controller.entry(line.controller).or_default().extend(list);
            if let Some(c) = controllers.get_mut(&line.controller) {
                c.shared_lines += usize::from(list.len() > 1);
            }
        }
        for (id, mut list) in per_controller {
            list.sort_unstable();
            list.dedup();
            if let Some(c) = controllers.get_mut(&id) {
                c.consumers = list.len();
            }
        }
        Topology { fdt, consumers, controllers: controllers.into_values().collect(), users, phandles }
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

    /// The nodes (other than the consumer itself) that use `line`, in document order.
    pub fn users_of(&self, line: &ResetLine) -> impl Iterator<Item = NodeId> + '_ {
        self.users
            .get(line)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.consumers.get(i as usize).map(|c| c.node))
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
