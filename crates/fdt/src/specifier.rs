//! Phandle-and-arguments lists (`resets`, `clocks`, `iommus`, `dmas`, …): each entry is a
//! provider's phandle followed by as many argument cells as the provider's `#…-cells` says, read
//! as Linux's `of_parse_phandle_with_args` reads them.
//!
//! Owns: walking such a list once, for every caller (topology's reset lines, the guest-DT clocks
//! and IOMMUs). Must not: know which property or which `#…-cells` means what: the caller names
//! the provider's cell count through a closure, and words the errors for its property.

use crate::node::{Node, NodeId};
use crate::phandle_index::PhandleIndex;
use crate::Fdt;

/// One entry: where it starts, its phandle, the provider it names and its argument cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Specifier<'c> {
    /// Index of the phandle cell in the property.
    pub cell: usize,
    /// The phandle cell's value.
    pub phandle: u32,
    /// The provider node.
    pub provider: NodeId,
    /// The argument cells.
    pub args: &'c [u32],
}

/// Why an entry cannot be read; the walk stops at the first one, as the kernel's does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecifierError {
    /// The phandle names no node (or is 0 / 0xffffffff).
    UnknownPhandle {
        /// Index of the phandle cell.
        cell: usize,
        /// Its value.
        phandle: u32,
    },
    /// The provider's cell count cannot be used: absent, unreadable or above the limit.
    BadCells {
        /// Index of the phandle cell.
        cell: usize,
        /// The provider.
        provider: NodeId,
        /// What is wrong with it (`has no #reset-cells`, …), worded by the caller's reader.
        problem: String,
    },
    /// The list ends inside the entry.
    Truncated {
        /// Index of the phandle cell.
        cell: usize,
        /// The provider.
        provider: NodeId,
        /// Cells the provider takes.
        need: u32,
        /// Cells left.
        have: usize,
    },
}

/// The walk over one list's cells (see [`Fdt::specifiers`]).
pub struct Specifiers<'c, 'f, 'a, F> {
    fdt: &'f Fdt<'a>,
    phandles: &'f PhandleIndex,
    cells: &'c [u32],
    at: usize,
    count: F,
    failed: bool,
}

impl<'c, 'f, 'a, F> Iterator for Specifiers<'c, 'f, 'a, F>
where
    F: FnMut(&Node<'f, 'a>) -> Result<u32, String>,
{
    type Item = Result<Specifier<'c>, SpecifierError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let cell = self.at;
        let &phandle = self.cells.get(cell)?;
        let result = (|| {
            let provider = self
                .phandles
                .lookup(self.fdt, phandle)
                .ok_or(SpecifierError::UnknownPhandle { cell, phandle })?;
            let need = (self.count)(&provider).map_err(|problem| SpecifierError::BadCells {
                cell,
                provider: provider.id(),
                problem,
            })?;
            let have = self.cells.len() - cell - 1;
            let args = usize::try_from(need)
                .ok()
                .and_then(|n| self.cells.get(cell + 1..cell + 1 + n))
                .ok_or(SpecifierError::Truncated { cell, provider: provider.id(), need, have })?;
            self.at = cell + 1 + args.len();
            Ok(Specifier { cell, phandle, provider: provider.id(), args })
        })();
        self.failed = result.is_err();
        Some(result)
    }
}

impl<'a> Fdt<'a> {
    /// The entries of a phandle-and-arguments list whose cells are `cells`, each provider's
    /// argument count given by `count` (its `#…-cells`, or why it cannot be used).
    pub fn specifiers<'c, 'f, F>(
        &'f self,
        phandles: &'f PhandleIndex,
        cells: &'c [u32],
        count: F,
    ) -> Specifiers<'c, 'f, 'a, F>
    where
        F: FnMut(&Node<'f, 'a>) -> Result<u32, String>,
    {
        Specifiers { fdt: self, phandles, cells, at: 0, count, failed: false }
    }
}

/// A provider's `name` property (`#clock-cells`) as a count: the reading most callers want.
pub fn cells_named(node: &Node<'_, '_>, name: &str) -> Result<u32, String> {
    match node.property(name) {
        None => Err(format!("has no {name}")),
        Some(p) => p.u32().map_err(|e| format!("has an unreadable {name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tree() -> Vec<u8> {
        platreset_testkit::dtb_from_text(
            "/dts-v1/;\n/ { a { #c-cells = <1>; phandle = <1>; }; b { #c-cells = <0>; phandle = <2>; }; \
             n { #c-cells = <2>; phandle = <3>; }; };\n",
        )
    }

    #[test]
    fn entries_follow_each_providers_cell_count_and_stop_at_the_first_error() {
        let blob = tree();
        let fdt = Fdt::parse(&blob).unwrap();
        let index = fdt.phandle_index();
        let ph = |path: &str| fdt.find_path(path).unwrap().phandle().unwrap().get();
        let (a, b, n) = (ph("/a"), ph("/b"), ph("/n"));
        let cells = [a, 7, b, n, 1, 2];
        let read: Vec<_> = fdt.specifiers(&index, &cells, |p| cells_named(p, "#c-cells")).collect();
        let args: Vec<&[u32]> = read.iter().map(|r| r.as_ref().unwrap().args).collect();
        assert_eq!(args, [&[7][..], &[][..], &[1, 2][..]]);
        assert_eq!(read[2].as_ref().unwrap().cell, 3);

        let truncated = [a, 7, n, 1];
        let read: Vec<_> = fdt.specifiers(&index, &truncated, |p| cells_named(p, "#c-cells")).collect();
        assert!(
            matches!(read[1], Err(SpecifierError::Truncated { cell: 2, need: 2, have: 1, .. })),
            "{read:?}"
        );
        assert_eq!(read.len(), 2, "nothing after the error");

        let unknown = [0xdead, 1];
        let read: Vec<_> = fdt.specifiers(&index, &unknown, |p| cells_named(p, "#c-cells")).collect();
        assert_eq!(read, [Err(SpecifierError::UnknownPhandle { cell: 0, phandle: 0xdead })]);
        let one = [a, 1];
        let read: Vec<_> = fdt.specifiers(&index, &one, |p| cells_named(p, "#x-cells")).collect();
        assert!(
            matches!(&read[0], Err(SpecifierError::BadCells { problem, .. }) if problem == "has no #x-cells")
        );
    }
}
