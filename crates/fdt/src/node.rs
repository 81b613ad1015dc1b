//! Node handles over the flat tables: names, links, properties, paths and `reg` decoding.

use std::borrow::Cow;

use crate::error::FdtError;
use crate::names::NameTable;
use crate::phandle::Phandle;
use crate::property::{Property, StringList};
use crate::records::{NodeRec, NONE};
use crate::Fdt;

/// A node's index in its tree (document order; the root is 0). Stable for the tree's lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The index as a number, for tables keyed by node.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One entry of a decoded `reg` property, in the parent bus's address space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegEntry {
    /// Bus address.
    pub address: u64,
    /// Size in bytes; 0 when the parent has `#size-cells = <0>`.
    pub size: u64,
}

/// A node of a parsed tree.
#[derive(Clone, Copy)]
pub struct Node<'f, 'a> {
    fdt: &'f Fdt<'a>,
    index: u32,
}

impl std::fmt::Debug for Node<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Node({} @ {:#x})", self.path(), self.offset())
    }
}

impl PartialEq for Node<'_, '_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.fdt, other.fdt) && self.index == other.index
    }
}

impl Eq for Node<'_, '_> {}

impl<'f, 'a> Node<'f, 'a> {
    pub(crate) fn new(fdt: &'f Fdt<'a>, index: u32) -> Self {
        Node { fdt, index }
    }

    fn rec(&self) -> &'f NodeRec {
        // Node handles are only made for indices below the table's length (Fdt::root, Fdt::node,
        // Fdt::nodes and the link fields, which the walk only sets to pushed indices).
        &self.fdt.tables().nodes[self.index as usize]
    }

    fn link(&self, index: u32) -> Option<Node<'f, 'a>> {
        (index != NONE).then(|| Node::new(self.fdt, index))
    }

    /// The tree this node belongs to.
    pub fn fdt(&self) -> &'f Fdt<'a> {
        self.fdt
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        NodeId(self.index)
    }

    /// With a tree parsed by [`crate::Fdt::parse_classifying`]: bit i is set when the node has a
    /// property named by entry i of the names given there. 0 for other trees.
    pub fn classes(&self) -> u32 {
        self.rec().classes
    }

    /// Offset of the node's FDT_BEGIN_NODE token in the blob.
    pub fn offset(&self) -> usize {
        self.rec().offset as usize
    }

    /// Nesting depth; the root is 0.
    pub fn depth(&self) -> usize {
        usize::from(self.rec().depth)
    }

    /// The node's name with its unit address (`pwm@e6e30000`), as raw bytes. The root's is empty.
    pub fn name(&self) -> &'a [u8] {
        let r = self.rec();
        let start = r.name_start as usize;
        self.fdt.blob().get(start..start + r.name_len as usize).unwrap_or_default()
    }

    /// The name as text: invalid UTF-8 replaced, and ASCII control characters (which no valid
    /// node name has, and which a terminal would obey: ESC, CR, LF) written as `\u{1b}`.
    pub fn name_lossy(&self) -> Cow<'a, str> {
        shown(self.name())
    }

    /// The name without its unit address (`pwm`).
    pub fn base_name(&self) -> &'a [u8] {
        let name = self.name();
        name.iter().position(|&b| b == b'@').map_or(name, |at| &name[..at])
    }

    /// The unit address after `@`, if any.
    pub fn unit_address(&self) -> Option<&'a [u8]> {
        let name = self.name();
        name.iter().position(|&b| b == b'@').map(|at| &name[at + 1..])
    }

    /// The parent, `None` for the root.
    pub fn parent(&self) -> Option<Node<'f, 'a>> {
        self.link(self.rec().parent)
    }

    /// The direct children, in document order.
    pub fn children(&self) -> Children<'f, 'a> {
        Children { fdt: self.fdt, next: self.rec().first_child }
    }

    /// The child with exactly this name (including its unit address).
    pub fn child(&self, name: &[u8]) -> Option<Node<'f, 'a>> {
        self.children().find(|c| c.name() == name)
    }

    /// The properties, in document order.
    pub fn properties(&self) -> Properties<'f, 'a> {
        Properties { fdt: self.fdt, pos: self.rec().props_offset as usize }
    }

    /// The properties whose names `table` knows, with the name's index in the table. Cheaper
    /// than [`Node::properties`] plus [`NameTable::get`] for a table of this tree.
    pub fn classified_properties<'t>(
        &self,
        table: &'t NameTable<'a>,
    ) -> impl Iterator<Item = (usize, Property<'a>)> + 't
    where
        'f: 't,
    {
        let own = table.is_for(self.fdt.strings());
        self.properties().filter_map(move |p| {
            let index = if own { table.classify(p.name_offset()) } else { table.get(&p) };
            index.map(|i| (i, p))
        })
    }

    /// The property called `name`, if present (the first one, should a blob repeat it).
    pub fn property(&self, name: &str) -> Option<Property<'a>> {
        self.properties().find(|p| p.is_named(name))
    }

    /// Full path, `/` for the root; names converted lossily.
    pub fn path(&self) -> String {
        // Typical paths are under 48 bytes: one allocation, no regrowth.
        let mut out = String::with_capacity(48);
        self.write_path(&mut out);
        out
    }

    /// Appends the full path to `out` (saves an allocation in loops).
    pub fn write_path(&self, out: &mut String) {
        // The walk caps depth at MAX_DEPTH, so the chain fits this array.
        let mut chain = [0u32; crate::MAX_DEPTH + 1];
        let mut len = 0;
        let mut at = self.index;
        while at != 0 && at != NONE && len < chain.len() {
            chain[len] = at;
            len += 1;
            at = self.fdt.tables().nodes.get(at as usize).map_or(NONE, |r| r.parent);
        }
        if len == 0 {
            out.push('/');
        }
        for &index in chain[..len].iter().rev() {
            out.push('/');
            push_shown(out, Node::new(self.fdt, index).name());
        }
    }

    /// The `status` property's first string; `okay` when absent.
    pub fn status(&self) -> &'a [u8] {
        self.property("status").map_or(b"okay", |p| p.first_string())
    }

    /// Whether the node is enabled (`status` absent, `okay` or `ok`), as the kernel decides.
    pub fn is_enabled(&self) -> bool {
        matches!(self.status(), b"okay" | b"ok")
    }

    /// The `compatible` strings (empty when absent).
    pub fn compatible(&self) -> StringList<'a> {
        self.property("compatible").map(|p| p.strings()).unwrap_or_default()
    }

    /// The node's phandle: `phandle`, else `linux,phandle`, each only when exactly one cell and
    /// neither 0 nor 0xffffffff.
    pub fn phandle(&self) -> Option<Phandle> {
        if self.fdt.classification().is_some_and(NameTable::records_phandles) {
            // The walk already applied the rule below.
            return Phandle::new(self.rec().phandle);
        }
        let read = |name| self.property(name).and_then(|p| p.u32().ok());
        read("phandle").or_else(|| read("linux,phandle")).and_then(Phandle::new)
    }

    /// This node's `#address-cells` for its children (2 when absent, as the DT specification says).
    pub fn address_cells(&self) -> Result<u32, FdtError> {
        self.cells_property("#address-cells", 2)
    }

    /// This node's `#size-cells` for its children (1 when absent).
    pub fn size_cells(&self) -> Result<u32, FdtError> {
        self.cells_property("#size-cells", 1)
    }

    fn cells_property(&self, name: &str, default: u32) -> Result<u32, FdtError> {
        match self.property(name) {
            None => Ok(default),
            Some(p) => {
                let v = p.u32()?;
                if v > 4 {
                    return Err(p.bad_value(format!("{v} cells is beyond the 4 this reader supports")));
                }
                Ok(v)
            }
        }
    }

    /// The `reg` property decoded with the parent's `#address-cells`/`#size-cells`; empty when
    /// the node has no `reg`. Values wider than 64 bits are an error.
    pub fn reg(&self) -> Result<Vec<RegEntry>, FdtError> {
        let Some(prop) = self.property("reg") else {
            return Ok(Vec::new());
        };
        let (ac, sc) = match self.parent() {
            Some(parent) => (parent.address_cells()?, parent.size_cells()?),
            None => (2, 1),
        };
        prop.decode_pairs(ac, sc)
            .map(|pairs| pairs.into_iter().map(|(address, size)| RegEntry { address, size }).collect())
    }
}

/// Iterator over a node's children.
pub struct Children<'f, 'a> {
    fdt: &'f Fdt<'a>,
    next: u32,
}

impl<'f, 'a> Iterator for Children<'f, 'a> {
    type Item = Node<'f, 'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next == NONE {
            return None;
        }
        let node = Node::new(self.fdt, self.next);
        self.next = node.rec().next_sibling;
        Some(node)
    }
}

/// Iterator over a node's properties.
pub struct Properties<'f, 'a> {
    fdt: &'f Fdt<'a>,
    pos: usize,
}

impl<'a> Iterator for Properties<'_, 'a> {
    type Item = Property<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let block = self.fdt.blob().get(..self.fdt.header().struct_end).unwrap_or_default();
        let (rec, next) = crate::tree::prop_at(block, self.pos)?;
        self.pos = next;
        Some(Property::from_rec(self.fdt, &rec))
    }
}

/// `bytes` as text when they are printable ASCII (every real node name): the fast path.
fn plain_ascii(bytes: &[u8]) -> Option<&str> {
    if bytes.iter().all(|&b| (0x20..0x7f).contains(&b)) {
        std::str::from_utf8(bytes).ok()
    } else {
        None
    }
}

/// Bytes from the tree (a name, a string property) as text to show: invalid UTF-8 replaced and
/// ASCII control characters — which no valid name or compatible has, and which a terminal would
/// obey (ESC, CR, LF) — written as `\u{1b}`.
pub fn shown(bytes: &[u8]) -> Cow<'_, str> {
    if let Some(text) = plain_ascii(bytes) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    push_shown(&mut out, bytes);
    Cow::Owned(out)
}

/// Appends bytes from the tree as [`shown`] writes them.
fn push_shown(out: &mut String, name: &[u8]) {
    if let Some(text) = plain_ascii(name) {
        out.push_str(text);
        return;
    }
    for c in String::from_utf8_lossy(name).chars() {
        if c.is_ascii_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
}
