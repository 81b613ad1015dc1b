//! Loading a tree the strict reader has parsed: every node and property, in document order, and
//! the header fields the tree itself does not hold (boot CPU, memory reservations).

use platreset_fdt::Fdt;

use crate::tree::{Node, Prop};
use crate::write::WriteOptions;

/// Copies a parsed DTB into an editable tree: every node and every property (duplicates
/// included), in document order. Names are converted to text lossily: bytes that are not UTF-8
/// become U+FFFD, which [`crate::to_dtb`] then refuses as a character no name may have, so such a
/// tree is never written back altered.
pub fn from_fdt(fdt: &Fdt<'_>) -> Node {
    // Document order is depth-first pre-order, so the nodes still open form a path from the
    // root: each node closes the open nodes at its depth or deeper, then opens itself.
    let mut open: Vec<Node> = Vec::new();
    for node in fdt.nodes() {
        close_to(&mut open, node.depth());
        let mut copy = Node::new(node.name_lossy());
        copy.props = node.properties().map(|p| Prop::new(p.name_lossy(), p.value().to_vec())).collect();
        open.push(copy);
    }
    close_to(&mut open, 1);
    // The reader guarantees a root, so `open` holds exactly it.
    open.pop().unwrap_or_default()
}

/// Pops the open nodes until `depth` remain, each popped node becoming its parent's last child.
fn close_to(open: &mut Vec<Node>, depth: usize) {
    while open.len() > depth {
        let Some(done) = open.pop() else { return };
        match open.last_mut() {
            Some(parent) => parent.children.push(done),
            // Only the root has no parent; it stays open (the reader gives a tree one root).
            None => {
                open.push(done);
                return;
            }
        }
    }
}

impl WriteOptions {
    /// The boot CPU and memory reservations of a parsed DTB, so that writing its tree back keeps
    /// them.
    pub fn from_fdt(fdt: &Fdt<'_>) -> WriteOptions {
        WriteOptions {
            boot_cpuid: fdt.header().boot_cpuid_phys,
            // `Fdt::parse` has read the reservation block already and rejects a blob whose block
            // is malformed, so this cannot fail for a parsed tree.
            reservations: fdt
                .reservations()
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.address, r.size))
                .collect(),
        }
    }
}
