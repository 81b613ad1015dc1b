//! The one pass over the structure block: validates every token and builds flat tables of nodes
//! and properties (document order, parent/child/sibling links as indices). Everything else in the
//! crate reads these tables, never the raw tokens, so the blob is checked exactly once.
//! Iterative, with a depth cap: a hostile blob can neither overflow the stack nor loop.

use crate::bytes::{align4, be32};
use crate::error::FdtError;
use crate::header::Header;

/// Deepest node nesting accepted (the root is depth 0). Real trees stay below 12.
pub const MAX_DEPTH: usize = 64;

const FDT_BEGIN_NODE: u32 = 1;
const FDT_END_NODE: u32 = 2;
const FDT_PROP: u32 = 3;
const FDT_NOP: u32 = 4;
const FDT_END: u32 = 9;

/// "No such node" in the link fields.
pub(crate) const NONE: u32 = u32::MAX;

/// A node as found in the structure block. Offsets are absolute in the blob.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NodeRec {
    pub offset: u32,
    pub name_start: u32,
    pub name_len: u32,
    pub parent: u32,
    pub first_child: u32,
    pub next_sibling: u32,
    pub props_start: u32,
    pub props_len: u32,
    pub depth: u16,
}

/// A property as found in the structure block.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PropRec {
    pub offset: u32,
    pub nameoff: u32,
    pub value_start: u32,
    pub len: u32,
}

/// The flat tables built by [`walk`].
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub nodes: Vec<NodeRec>,
    pub props: Vec<PropRec>,
}

fn end_err(offset: usize, why: &'static str) -> FdtError {
    FdtError::UnexpectedEnd { offset, why }
}

/// Walks the structure block of `blob` once, filling `tables` (cleared first, so callers can reuse
/// their allocations from file to file).
pub(crate) fn walk(blob: &[u8], header: &Header, tables: &mut Tables) -> Result<(), FdtError> {
    let Header { struct_start, struct_end, strings_start, strings_end, .. } = *header;
    // Only the structure block may be read as tokens; a blob whose totalsize fits a u32 keeps every
    // offset below 2^32, so the u32 fields of the tables cannot truncate.
    let block = blob.get(..struct_end).ok_or(end_err(struct_end, "outside the blob"))?;
    let strings = blob.get(strings_start..strings_end).unwrap_or_default();
    // A name offset is valid iff a NUL follows it inside the strings block.
    let name_limit = strings.iter().rposition(|&b| b == 0).map_or(0, |last| last + 1);

    tables.nodes.clear();
    tables.props.clear();
    // Stack of (node index, index of its last child so far).
    let mut stack: Vec<(u32, u32)> = Vec::with_capacity(16);
    let mut root_done = false;
    let mut pos = struct_start;
    loop {
        let token = be32(block, pos).ok_or(end_err(
            pos,
            if root_done { "without FDT_END" } else { "inside an open node (missing FDT_END_NODE)" },
        ))?;
        match token {
            FDT_BEGIN_NODE => {
                if root_done {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_BEGIN_NODE",
                        offset: pos,
                        why: "a second root node after the first was closed",
                    });
                }
                let depth = stack.len();
                if depth >= MAX_DEPTH {
                    return Err(FdtError::TooDeep { offset: pos, depth: depth + 1, max: MAX_DEPTH });
                }
                let name_start = pos + 4;
                let name_len = block
                    .get(name_start..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0))
                    .ok_or(FdtError::UnterminatedName { offset: name_start })?;
                let index = tables.nodes.len() as u32;
                let parent = match stack.last_mut() {
                    Some((parent, last_child)) => {
                        let p = *parent;
                        if *last_child == NONE {
                            tables.nodes[p as usize].first_child = index;
                        } else {
                            tables.nodes[*last_child as usize].next_sibling = index;
                        }
                        *last_child = index;
                        p
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
                    props_start: tables.props.len() as u32,
                    props_len: 0,
                    depth: depth as u16,
                });
                stack.push((index, NONE));
                pos = align4(name_start + name_len + 1).ok_or(end_err(pos, "in a node name"))?;
            }
            FDT_END_NODE => {
                if stack.pop().is_none() {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_END_NODE",
                        offset: pos,
                        why: "no node is open",
                    });
                }
                root_done = stack.is_empty();
                pos += 4;
            }
            FDT_PROP => {
                let Some(&(node, last_child)) = stack.last() else {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_PROP",
                        offset: pos,
                        why: "a property outside any node",
                    });
                };
                if last_child != NONE {
                    return Err(FdtError::UnexpectedToken {
                        token: "FDT_PROP",
                        offset: pos,
                        why: "a property after a subnode (properties must come first)",
                    });
                }
                let (Some(len), Some(nameoff)) = (be32(block, pos + 4), be32(block, pos + 8)) else {
                    return Err(FdtError::Truncated {
                        what: "property header",
                        offset: pos,
                        need: 12,
                        have: struct_end.saturating_sub(pos),
                    });
                };
                let value_start = pos + 12;
                let value_end = value_start
                    .checked_add(len as usize)
                    .filter(|&end| end <= struct_end)
                    .ok_or(FdtError::PropertyOverflow { offset: pos, len, end: struct_end })?;
                if nameoff as usize >= name_limit {
                    return Err(FdtError::BadNameOffset {
                        offset: pos,
                        nameoff,
                        strings_size: strings.len(),
                    });
                }
                tables.props.push(PropRec {
                    offset: pos as u32,
                    nameoff,
                    value_start: value_start as u32,
                    len,
                });
                tables.nodes[node as usize].props_len += 1;
                pos = align4(value_end).ok_or(end_err(pos, "in a property value"))?;
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
