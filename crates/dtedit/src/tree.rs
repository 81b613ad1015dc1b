//! The editable tree: nodes own their properties and children, in order. Setters encode values
//! the way the specification's property types are laid out (big-endian cells, NUL-terminated
//! strings); lookups are by exact name, or by path from a node.

use thiserror::Error;

/// An editable device-tree node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// The name with its unit address (`uart@1000`); empty for the root.
    pub name: String,
    /// The properties, in order.
    pub props: Vec<Prop>,
    /// The child nodes, in order.
    pub children: Vec<Node>,
}

/// A property: a name and a raw value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prop {
    /// The property's name.
    pub name: String,
    /// The value, exactly as it is stored in a DTB.
    pub value: Vec<u8>,
}

impl Prop {
    /// A property with this name and value.
    pub fn new(name: impl Into<String>, value: Vec<u8>) -> Prop {
        Prop { name: name.into(), value }
    }
}

/// An edit that would make the tree unwritable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EditError {
    /// [`Node::add_child`] with a name the node already has among its children.
    #[error("node `{parent}` already has a child named `{name}`")]
    DuplicateChild {
        /// The parent's name (`""` for the root).
        parent: String,
        /// The name both children have.
        name: String,
    },
}

/// Big-endian cells, as the specification stores `<u32>` and `<prop-encoded-array>` values.
fn cells_to_bytes(cells: &[u32]) -> Vec<u8> {
    cells.iter().flat_map(|c| c.to_be_bytes()).collect()
}

impl Node {
    /// A node without properties or children. Use `""` for the root.
    pub fn new(name: impl Into<String>) -> Node {
        Node { name: name.into(), props: Vec::new(), children: Vec::new() }
    }

    /// Sets property `name` to `value`: replaces the value of the first property so named
    /// (keeping its place), or appends a new property.
    pub fn set(&mut self, name: &str, value: Vec<u8>) -> &mut Self {
        match self.props.iter_mut().find(|p| p.name == name) {
            Some(prop) => prop.value = value,
            None => self.props.push(Prop::new(name, value)),
        }
        self
    }

    /// Sets a list of 32-bit cells, each stored big-endian (`<0x1 0x2>`).
    pub fn set_u32s(&mut self, name: &str, cells: &[u32]) -> &mut Self {
        self.set(name, cells_to_bytes(cells))
    }

    /// Sets a list of 64-bit numbers, each stored as two big-endian cells, high cell first
    /// (`/bits/ 64 <…>`).
    pub fn set_u64s(&mut self, name: &str, cells: &[u64]) -> &mut Self {
        self.set(name, cells.iter().flat_map(|c| c.to_be_bytes()).collect())
    }

    /// Sets one NUL-terminated string. A NUL inside `s` is stored as is (the value then reads
    /// as a string list).
    pub fn set_str(&mut self, name: &str, s: &str) -> &mut Self {
        self.set_strs(name, &[s])
    }

    /// Sets a string list: each string followed by a NUL (`"a", "b"`).
    pub fn set_strs(&mut self, name: &str, list: &[&str]) -> &mut Self {
        let mut value = Vec::with_capacity(list.iter().map(|s| s.len() + 1).sum());
        for s in list {
            value.extend_from_slice(s.as_bytes());
            value.push(0);
        }
        self.set(name, value)
    }

    /// Sets an empty property (a flag such as `ranges;` or `dma-coherent;`).
    pub fn set_empty(&mut self, name: &str) -> &mut Self {
        self.set(name, Vec::new())
    }

    /// The value of the first property called `name`.
    pub fn prop(&self, name: &str) -> Option<&[u8]> {
        self.props.iter().find(|p| p.name == name).map(|p| p.value.as_slice())
    }

    /// Removes the first property called `name` and returns its value.
    pub fn remove(&mut self, name: &str) -> Option<Vec<u8>> {
        let at = self.props.iter().position(|p| p.name == name)?;
        Some(self.props.remove(at).value)
    }

    /// The child with exactly this name (unit address included).
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child with exactly this name, for editing.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Node> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// Appends `node` as the last child and returns it for editing; an error when a child of
    /// that name exists already.
    pub fn add_child(&mut self, node: Node) -> Result<&mut Node, EditError> {
        if self.child(&node.name).is_some() {
            return Err(EditError::DuplicateChild { parent: self.name.clone(), name: node.name });
        }
        let at = self.children.len();
        self.children.push(node);
        Ok(&mut self.children[at])
    }

    /// The child called `name`, after appending an empty one when there is none.
    pub fn child_or_insert(&mut self, name: &str) -> &mut Node {
        let at = match self.children.iter().position(|c| c.name == name) {
            Some(at) => at,
            None => {
                self.children.push(Node::new(name));
                self.children.len() - 1
            }
        };
        &mut self.children[at]
    }

    /// Removes the child with exactly this name and returns it.
    pub fn remove_child(&mut self, name: &str) -> Option<Node> {
        let at = self.children.iter().position(|c| c.name == name)?;
        Some(self.children.remove(at))
    }

    /// The node at `path` below this one (`/a/b@1`; the leading `/` is optional, `/` and `""`
    /// are this node). A component matches a child's full name, or, when it has no `@`, the one
    /// child whose name without unit address equals it (as [`platreset_fdt::Fdt::find_path`]
    /// does); `None` when nothing or more than one child matches.
    pub fn find(&self, path: &str) -> Option<&Node> {
        let mut node = self;
        for component in components(path) {
            let at = child_index(&node.children, component)?;
            node = &node.children[at];
        }
        Some(node)
    }

    /// Like [`Node::find`], for editing.
    pub fn find_mut(&mut self, path: &str) -> Option<&mut Node> {
        let mut node = self;
        for component in components(path) {
            let at = child_index(&node.children, component)?;
            node = &mut node.children[at];
        }
        Some(node)
    }

    /// The largest phandle in this subtree: the value of every `phandle` and `linux,phandle`
    /// property that is one cell and a valid phandle (neither 0 nor 0xffffffff). 0 when there is
    /// none, so `max_phandle() + 1` is always free (unless it is 0xffffffff, which is no phandle).
    pub fn max_phandle(&self) -> u32 {
        let mut max = 0;
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            for prop in &node.props {
                if prop.name != "phandle" && prop.name != "linux,phandle" {
                    continue;
                }
                if let Ok(cell) = <[u8; 4]>::try_from(prop.value.as_slice()) {
                    let value = u32::from_be_bytes(cell);
                    if value != u32::MAX {
                        max = max.max(value);
                    }
                }
            }
            pending.extend(node.children.iter());
        }
        max
    }

    /// A phandle no node of this subtree holds, for a new node: `max_phandle() + 1` while that is
    /// a valid phandle (as `dtc` numbers), else the lowest value from 1 that no `phandle` or
    /// `linux,phandle` uses — never 0 nor 0xffffffff, which are no phandles. `None` only when
    /// every one of the 2³² − 2 valid values is taken.
    pub fn free_phandle(&self) -> Option<u32> {
        let max = self.max_phandle();
        if max < u32::MAX - 1 {
            return Some(max + 1);
        }
        // The top is taken (a base that numbers from the top down, or a crafted one): the first
        // gap from 1 in the sorted values in use.
        let mut used = self.phandles();
        used.sort_unstable();
        used.dedup();
        let mut candidate = 1u32;
        for value in used {
            if value > candidate {
                break;
            }
            if value == candidate {
                candidate = candidate.checked_add(1)?;
            }
        }
        (candidate < u32::MAX).then_some(candidate)
    }

    /// `n` distinct phandles no node of this subtree holds, in the order [`Node::free_phandle`]
    /// would hand them out one at a time: upwards from `max_phandle() + 1`, then the gaps from
    /// 1. `None` when fewer than `n` are left.
    pub fn free_phandles(&self, n: usize) -> Option<Vec<u32>> {
        let mut used = self.phandles();
        used.sort_unstable();
        used.dedup();
        let max = self.max_phandle();
        let out: Vec<u32> = (max.saturating_add(1)..u32::MAX)
            .chain(1..max)
            .filter(|v| used.binary_search(v).is_err())
            .take(n)
            .collect();
        (out.len() == n).then_some(out)
    }

    /// Every one-cell `phandle` and `linux,phandle` value in this subtree, in no order.
    fn phandles(&self) -> Vec<u32> {
        let mut values = Vec::new();
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            for prop in node.props.iter().filter(|p| p.name == "phandle" || p.name == "linux,phandle") {
                if let Ok(cell) = <[u8; 4]>::try_from(prop.value.as_slice()) {
                    values.push(u32::from_be_bytes(cell));
                }
            }
            pending.extend(node.children.iter());
        }
        values
    }

    /// Number of nodes in this subtree, this one included.
    pub fn node_count(&self) -> usize {
        let mut count = 0;
        let mut pending = vec![self];
        while let Some(node) = pending.pop() {
            count += 1;
            pending.extend(node.children.iter());
        }
        count
    }
}

fn components(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|c| !c.is_empty())
}

fn child_index(children: &[Node], component: &str) -> Option<usize> {
    if let Some(at) = children.iter().position(|c| c.name == component) {
        return Some(at);
    }
    if component.contains('@') {
        return None;
    }
    let base = |name: &str| name.split_once('@').map_or(name, |(base, _)| base) == component;
    let mut matches = children.iter().enumerate().filter(|(_, c)| base(&c.name));
    let (at, _) = matches.next()?;
    matches.next().is_none().then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_in_place_and_appends_new_names() {
        let mut node = Node::new("n");
        node.set_u32s("a", &[1]).set_u32s("b", &[2]).set_u32s("a", &[3]);
        let names: Vec<&str> = node.props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(node.prop("a"), Some(&[0, 0, 0, 3][..]));
    }

    #[test]
    fn find_matches_full_names_and_unambiguous_base_names() {
        let mut root = Node::new("");
        let soc = root.child_or_insert("soc");
        soc.child_or_insert("uart@1000");
        soc.child_or_insert("i2c@1");
        soc.child_or_insert("i2c@2");
        assert_eq!(root.find("/soc/uart@1000").map(|n| n.name.as_str()), Some("uart@1000"));
        assert_eq!(root.find("soc/uart").map(|n| n.name.as_str()), Some("uart@1000"));
        assert!(root.find("/soc/i2c").is_none(), "two i2c@… children: ambiguous");
        assert!(root.find("/soc/uart@2000").is_none());
        assert_eq!(root.find("/").map(|n| n.name.as_str()), Some(""));
    }

    #[test]
    fn max_phandle_ignores_malformed_and_reserved_values() {
        let mut root = Node::new("");
        root.child_or_insert("a").set_u32s("phandle", &[7]);
        root.child_or_insert("b").set_u32s("linux,phandle", &[9]);
        root.child_or_insert("c").set_u32s("phandle", &[u32::MAX]);
        root.child_or_insert("d").set_u32s("phandle", &[100, 1]);
        assert_eq!(root.max_phandle(), 9);
        assert_eq!(Node::new("").max_phandle(), 0);
    }

    #[test]
    fn free_phandle_follows_the_largest_and_else_takes_the_first_gap() {
        let mut root = Node::new("");
        assert_eq!(root.free_phandle(), Some(1));
        root.child_or_insert("a").set_u32s("phandle", &[7]);
        assert_eq!(root.free_phandle(), Some(8), "as dtc numbers: after the largest");
        root.child_or_insert("b").set_u32s("phandle", &[u32::MAX - 1]);
        root.child_or_insert("c").set_u32s("phandle", &[1]);
        root.child_or_insert("d").set_u32s("linux,phandle", &[2]);
        assert_eq!(root.free_phandle(), Some(3), "0xfffffffe taken: never 0xffffffff, the first gap");
        root.child_or_insert("e").set_u32s("phandle", &[u32::MAX]);
        assert_eq!(root.free_phandle(), Some(3), "an invalid 0xffffffff changes nothing");
    }
}
