//! Phandles and the index from phandle to node.

use std::collections::HashMap;
use std::num::NonZeroU32;

use crate::node::{Node, NodeId};
use crate::Fdt;

/// A valid phandle: neither 0 nor 0xffffffff (both mean "none" in the DT specification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phandle(NonZeroU32);

impl Phandle {
    /// The phandle for this cell value, if it is a valid one.
    pub fn new(value: u32) -> Option<Phandle> {
        if value == u32::MAX {
            return None;
        }
        NonZeroU32::new(value).map(Phandle)
    }

    /// The cell value.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl std::fmt::Display for Phandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#x}", self.get())
    }
}

/// Phandle → node. When several nodes claim one phandle the first in document order wins, as in
/// libfdt's `fdt_node_offset_by_phandle`; the others are kept in [`PhandleIndex::duplicates`].
#[derive(Debug, Default, Clone)]
pub struct PhandleIndex {
    map: HashMap<Phandle, NodeId>,
    duplicates: Vec<(Phandle, NodeId)>,
}

impl PhandleIndex {
    pub(crate) fn build(fdt: &Fdt<'_>) -> PhandleIndex {
        let names = fdt.name_table(&["phandle", "linux,phandle"]);
        let mut index = PhandleIndex::default();
        for node in fdt.nodes() {
            let (mut primary, mut legacy) = (None, None);
            for prop in node.properties() {
                match names.get(&prop) {
                    Some(0) if primary.is_none() => primary = Some(prop),
                    Some(1) if legacy.is_none() => legacy = Some(prop),
                    _ => {}
                }
            }
            let value = primary
                .and_then(|p| p.u32().ok())
                .or_else(|| legacy.and_then(|p| p.u32().ok()))
                .and_then(Phandle::new);
            if let Some(phandle) = value {
                index.insert(phandle, node.id());
            }
        }
        index
    }

    /// Records `phandle` for `node` unless an earlier node holds it.
    pub fn insert(&mut self, phandle: Phandle, node: NodeId) {
        match self.map.entry(phandle) {
            std::collections::hash_map::Entry::Occupied(_) => self.duplicates.push((phandle, node)),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(node);
            }
        }
    }

    /// The node holding `phandle`.
    pub fn get(&self, phandle: Phandle) -> Option<NodeId> {
        self.map.get(&phandle).copied()
    }

    /// The node a raw cell refers to (`None` for 0, 0xffffffff and unknown values).
    pub fn lookup<'f, 'a>(&self, fdt: &'f Fdt<'a>, cell: u32) -> Option<Node<'f, 'a>> {
        Phandle::new(cell).and_then(|p| self.get(p)).and_then(|id| fdt.node(id))
    }

    /// Nodes that claimed a phandle an earlier node already held (ignored by lookups).
    pub fn duplicates(&self) -> &[(Phandle, NodeId)] {
        &self.duplicates
    }

    /// How many distinct phandles the tree defines.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the tree defines no phandle.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
