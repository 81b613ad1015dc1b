//! The one pass over the structure block: validates every token and builds flat tables of nodes
//! and properties (document order, parent/child/sibling links as indices). Everything else in the
//! crate reads these tables, never the raw tokens, so the blob is checked exactly once.
//! Iterative, with a depth cap: a hostile blob can neither overflow the stack nor loop.

use crate::bytes::align4;
use crate::error::FdtError;
use crate::header::Header;
use crate::names::NameTable;
use crate::records::{NodeRec, PropRec, NONE};

/// How many levels of nodes are accepted, the root's included (so the deepest node has
/// `depth()` 63; `TooDeep` reports the level that exceeded it). Real trees stay below 12.
pub const MAX_DEPTH: usize = 64;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// The property token at or after `pos` (skipping NOPs) in an already validated structure
/// block, and where the next token starts; `None` at the end of the node's properties.
pub(crate) fn prop_at(block: &[u8], mut pos: usize) -> Option<(PropRec, usize)> {
    loop {
        let (&token, after) = block.get(pos..)?.split_first_chunk::<4>()?;
        match u32::from_be_bytes(token) {
            FDT_NOP => pos += 4,
            FDT_PROP => {
                let (&[l0, l1, l2, l3, n0, n1, n2, n3], _) = after.split_first_chunk::<8>()?;
                let len = u32::from_be_bytes([l0, l1, l2, l3]);
                let rec = PropRec { offset: pos as u32, nameoff: u32::from_be_bytes([n0, n1, n2, n3]), len };
                return Some((rec, align4(pos + 12 + len as usize)?));
            }
            _ => return None,
        }
    }
}

/// The flat table built by [`walk`]. Properties are not tabled: four tokens in five are
/// properties, and reading one again from the validated block costs less than storing it.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub nodes: Vec<NodeRec>,
}

fn end_err(offset: usize, why: &'static str) -> FdtError {
    FdtError::UnexpectedEnd { offset, why }
}

/// What [`properties`] found.
struct Run {
    /// Where the properties end.
    end: usize,
    /// Classes of the names met.
    classes: u32,
    /// The phandle, when classified (0: none).
    phandle: u32,
}

/// Consumes the run of FDT_PROP (and FDT_NOP) tokens starting at `pos`: the properties of the
/// node just opened. Returns where the run ends and the classes of the names met. A loop of its
/// own because properties are four in five tokens: the common path takes no dispatch.
#[inline(always)]
fn properties(
    block: &[u8],
    mut pos: usize,
    names: Option<&NameTable<'_>>,
    name_limit: usize,
    strings_size: usize,
) -> Result<Run, FdtError> {
    let struct_end = block.len();
    let mut run = Run { end: pos, classes: 0, phandle: 0 };
    let (primary_class, legacy_class) = names.map_or((None, None), NameTable::phandle_classes);
    // The first `phandle` and the first `linux,phandle`: Some(value) when one cell, else None.
    let (mut primary, mut legacy): (Option<Option<u32>>, Option<Option<u32>>) = (None, None);
    loop {
        run.end = pos;
        let rest = block.get(pos..).unwrap_or_default();
        // Anything but a property (or a missing token) is for the caller's dispatch to judge.
        let Some((&token, after)) = rest.split_first_chunk::<4>() else { return Ok(run) };
        match u32::from_be_bytes(token) {
            FDT_PROP => {}
            FDT_NOP => {
                pos += 4;
                continue;
            }
            _ => return Ok(run),
        }
        let Some((&[l0, l1, l2, l3, n0, n1, n2, n3], value)) = after.split_first_chunk::<8>() else {
            return Err(FdtError::Truncated {
                what: "property header",
                offset: pos,
                need: 12,
                have: rest.len(),
            });
        };
        let len = u32::from_be_bytes([l0, l1, l2, l3]);
        let nameoff = u32::from_be_bytes([n0, n1, n2, n3]);
        if len as usize > value.len() {
            return Err(FdtError::PropertyOverflow { offset: pos, len, end: struct_end });
        }
        if nameoff as usize >= name_limit {
            return Err(FdtError::BadNameOffset { offset: pos, nameoff, strings_size });
        }
        if let Some(class) = names.and_then(|t| t.classify(nameoff)) {
            run.classes |= 1 << class;
            // libfdt's rule: the first `phandle` when it is one cell, else the first
            // `linux,phandle` when it is.
            let one_cell = value.first_chunk::<4>().filter(|_| len == 4).map(|c| u32::from_be_bytes(*c));
            if Some(class) == primary_class && primary.is_none() {
                primary = Some(one_cell);
            } else if Some(class) == legacy_class && legacy.is_none() {
                legacy = Some(one_cell);
            }
            run.phandle = primary.flatten().or(legacy.flatten()).unwrap_or(0);
        }
        // pos + 12 + len <= struct_end, which fits a u32: the sum cannot overflow.
        pos = align4(pos + 12 + len as usize).ok_or(end_err(pos, "in a property value"))?;
    }
}

/// Walks the structure block of `blob` once, filling `tables` (cleared first, so callers can reuse
/// their allocations from file to file).
///
/// With `names`, every property's name is classified as it is met and the node's `classes` bit
/// set, so that later passes can skip nodes without touching their properties.
pub(crate) fn walk(
    blob: &[u8],
    header: &Header,
    tables: &mut Tables,
    names: Option<&NameTable<'_>>,
) -> Result<(), FdtError> {
    let Header { struct_start, struct_end, strings_start, strings_end, .. } = *header;
    // Only the structure block may be read as tokens; a blob whose totalsize fits a u32 keeps every
    // offset below 2^32, so the u32 fields of the tables cannot truncate.
    let block = blob.get(..struct_end).ok_or(end_err(struct_end, "outside the blob"))?;
    let strings = blob.get(strings_start..strings_end).unwrap_or_default();
    // A name offset is valid iff a NUL follows it inside the strings block.
    let name_limit = memchr::memrchr(0, strings).map_or(0, |last| last + 1);

    tables.nodes.clear();
    // Open nodes: (node index, index of its last child so far). MAX_DEPTH bounds it.
    let mut stack = [(NONE, NONE); MAX_DEPTH];
    let mut depth = 0usize;
    let mut root_done = false;
    let mut pos = struct_start;
    loop {
        let rest = block.get(pos..).unwrap_or_default();
        let Some((&token, after)) = rest.split_first_chunk::<4>() else {
            return Err(end_err(
                pos,
                if root_done { "without FDT_END" } else { "inside an open node (missing FDT_END_NODE)" },
            ));
        };
        match u32::from_be_bytes(token) {
            FDT_PROP => {
                // A node's properties are consumed right after its FDT_BEGIN_NODE (below), so a
                // property met here follows a subnode or lies outside every node.
                return Err(FdtError::UnexpectedToken {
                    token: "FDT_PROP",
                    offset: pos,
                    why: if depth == 0 {
                        "a property outside any node"
                    } else {
                        "a property after a subnode (properties must come first)"
                    },
                });
            }
            FDT_BEGIN_NODE => {
                if root_done {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_BEGIN_NODE",
                        offset: pos,
                        why: "a second root node after the first was closed",
                    });
                }
                if depth >= MAX_DEPTH {
                    return Err(FdtError::TooDeep { offset: pos, depth: depth + 1, max: MAX_DEPTH });
                }
                let name_start = pos + 4;
                let name_len =
                    memchr::memchr(0, after).ok_or(FdtError::UnterminatedName { offset: name_start })?;
                let index = tables.nodes.len() as u32;
                let parent = match depth.checked_sub(1).and_then(|d| stack.get_mut(d)) {
                    Some((parent, last_child)) => {
                        let link = match *last_child {
                            NONE => tables.nodes.get_mut(*parent as usize).map(|n| &mut n.first_child),
                            sibling => tables.nodes.get_mut(sibling as usize).map(|n| &mut n.next_sibling),
                        };
                        if let Some(link) = link {
                            *link = index;
                        }
                        *last_child = index;
                        *parent
                    }
                    None => NONE,
                };
                tables.nodes.push(NodeRec {
                    offset: pos as u32,
                    name_start: name_start as u32,
                    name_len: name_len as u32,
                    parent,
                    first_child: NONE,
                    next_sibling: NONE,
                    props_offset: 0,
                    classes: 0,
                    phandle: 0,
                    depth: depth as u16,
                });
                stack[depth] = (index, NONE);
                depth += 1;
                pos = align4(name_start + name_len + 1).ok_or(end_err(pos, "in a node name"))?;
                let run = properties(block, pos, names, name_limit, strings.len())?;
                if let Some(node) = tables.nodes.last_mut() {
                    node.props_offset = pos as u32;
                    node.classes = run.classes;
                    node.phandle = run.phandle;
                }
                pos = run.end;
            }
            FDT_END_NODE => {
                if depth == 0 {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_END_NODE",
                        offset: pos,
                        why: "no node is open",
                    });
                }
                depth -= 1;
                root_done = depth == 0;
                pos += 4;
            }
            FDT_NOP => pos += 4,
            FDT_END => {
                if !root_done {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_END",
                        offset: pos,
                        why: if tables.nodes.is_empty() {
                            "the tree has no root node"
                        } else {
                            "nodes are still open"
                        },
                    });
                }
                return Ok(());
            }
            other => return Err(FdtError::BadToken { token: other, offset: pos }),
        }
    }
}
