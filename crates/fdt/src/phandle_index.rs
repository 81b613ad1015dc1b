//! The index from phandle to node, built once per tree.
//!
//! Owns: [`PhandleIndex`] and the first-in-document-order rule for duplicated phandles.

use crate::node::{Node, NodeId};
use crate::phandle::Phandle;
use crate::Fdt;

/// Phandle → node. When several nodes claim one phandle the first in document order wins, as in
/// libfdt's `fdt_node_offset_by_phandle`; the others are kept in [`PhandleIndex::duplicates`].
///
/// A sorted vector, not a hash map: trees hold a few hundred phandles, built once and looked up
/// a few times each, and one allocation per tree matters when auditing thousands of trees.
#[derive(Debug, Default, Clone)]
pub struct PhandleIndex {
    sorted: Vec<(Phandle, NodeId)>,
    duplicates: Vec<(Phandle, NodeId)>,
}

impl PhandleIndex {
    pub(crate) fn build(fdt: &Fdt<'_>) -> PhandleIndex {
        // Node::phandle applies libfdt's rule (and uses the walk's record when it has one).
        PhandleIndex::from_pairs(fdt.nodes().filter_map(|n| n.phandle().map(|p| (p, n.id()))).collect())
    }

    /// Builds the index from (phandle, node) pairs given in document order.
    pub fn from_pairs(mut pairs: Vec<(Phandle, NodeId)>) -> PhandleIndex {
        // dtc numbers phandles 1..=n: when they are that dense, place each pair at its slot
        // directly instead of sorting.
        let n = pairs.len();
        if pairs.iter().all(|(p, _)| (p.get() as usize) <= n) {
            let mut slots: Vec<Option<(Phandle, NodeId)>> = vec![None; n];
            let mut duplicates = Vec::new();
            for pair in pairs {
                match slots.get_mut(pair.0.get() as usize - 1) {
                    Some(slot @ None) => *slot = Some(pair),
                    _ => duplicates.push(pair),
                }
            }
            return PhandleIndex { sorted: slots.into_iter().flatten().collect(), duplicates };
        }
        // Stable sort: among equal phandles the first in document order stays first.
        pairs.sort_by_key(|&(p, _)| p);
        let mut duplicates = Vec::new();
        pairs.dedup_by(|later, first| {
            let same = later.0 == first.0;
            if same {
                duplicates.push(*later);
            }
            same
        });
        PhandleIndex { sorted: pairs, duplicates }
    }

    /// The node holding `phandle`.
    pub fn get(&self, phandle: Phandle) -> Option<NodeId> {
        self.sorted.binary_search_by_key(&phandle, |&(p, _)| p).ok().map(|i| self.sorted[i].1)
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
        self.sorted.len()
    }

    /// Whether the tree defines no phandle.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }
}
