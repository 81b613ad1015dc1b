//! Translating a node's `reg` from its bus's address space to a CPU physical address, by walking
//! `ranges` up to the root (DT specification §2.3.8; REFERENCE §3 "Addresses"). An empty `ranges`
//! maps a bus 1:1; an absent one means the bus is not memory-mapped, and so neither is the node.

use crate::error::FdtError;
use crate::node::{Node, RegEntry};

impl Node<'_, '_> {
    /// The `reg` entries as CPU physical addresses (sizes unchanged).
    pub fn reg_cpu(&self) -> Result<Vec<RegEntry>, FdtError> {
        self.reg()?
            .into_iter()
            .map(|entry| {
                Ok(RegEntry { address: self.translate(entry.address, entry.size)?, size: entry.size })
            })
            .collect()
    }

    /// Translates `[address, address + size)` of this node's parent bus to the CPU's address
    /// space. The whole span must fall inside one `ranges` entry at every level.
    pub fn translate(&self, address: u64, size: u64) -> Result<u64, FdtError> {
        let mut address = address;
        let mut bus = self.parent();
        while let Some(node) = bus {
            let Some(parent) = node.parent() else { break }; // the root's space is the CPU's
            let fail =
                |why: String| FdtError::Untranslatable { node: self.path(), bus: node.path(), address, why };
            let Some(ranges) = node.property("ranges") else {
                return Err(fail("the bus has no `ranges`: it is not memory-mapped".into()));
            };
            if !ranges.value().is_empty() {
                let (child_ac, parent_ac, sc) =
                    (node.address_cells()?, parent.address_cells()?, node.size_cells()?);
                let cells: Vec<u32> = ranges.u32s()?.collect();
                let stride = (child_ac + parent_ac + sc) as usize;
                if stride == 0 || !cells.len().is_multiple_of(stride) {
                    return Err(ranges.bad_value(format!(
                        "{} cells do not divide into entries of {child_ac}+{parent_ac}+{sc} cells",
                        cells.len()
                    )));
                }
                let mut mapped = None;
                for entry in cells.chunks_exact(stride) {
                    let (child, rest) = entry.split_at(child_ac as usize);
                    let (parent_base, len) = rest.split_at(parent_ac as usize);
                    let (child, parent_base, len) =
                        (ranges.number(child)?, ranges.number(parent_base)?, ranges.number(len)?);
                    let end =
                        address.checked_add(size).ok_or_else(|| fail("address + size overflows".into()))?;
                    if address >= child && end <= child.saturating_add(len) {
                        let translated = parent_base
                            .checked_add(address - child)
                            .ok_or_else(|| fail("the translated address overflows".into()))?;
                        mapped = Some(translated);
                        break;
                    }
                }
                address =
                    mapped.ok_or_else(|| fail(format!("no `ranges` entry covers {size:#x} bytes there")))?;
            }
            bus = Some(parent);
        }
        Ok(address)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Fdt, FdtError, RegEntry};

    fn cpu(path: &str) -> Result<Vec<RegEntry>, FdtError> {
        let blob = platreset_testkit::fixture("address-translation");
        let fdt = Fdt::parse(&blob).unwrap();
        let node = fdt.find_path(path).unwrap();
        node.reg_cpu()
    }

    #[test]
    fn gxbb_reset_controller_is_at_c1104404() {
        // REFERENCE §3: reg <0x0 0x4404 0x0 0x9c> under bus@c1100000 is at 0xc1104404.
        assert_eq!(
            cpu("/soc/bus@c1100000/reset-controller@4404").unwrap(),
            [RegEntry { address: 0xc110_4404, size: 0x9c }]
        );
    }

    #[test]
    fn offsets_add_up_through_two_levels_of_ranges_with_different_cell_counts() {
        assert_eq!(
            cpu("/soc/outer@40000000/inner@100000/device@200").unwrap(),
            [RegEntry { address: 0x4010_0200, size: 0x100 }, RegEntry { address: 0x4010_1000, size: 0x10 },]
        );
    }

    #[test]
    fn a_bus_without_ranges_is_not_memory_mapped() {
        let err = cpu("/soc/i2c@50000000/eeprom@50").unwrap_err();
        match err {
            FdtError::Untranslatable { bus, why, .. } => {
                assert_eq!(bus, "/soc/i2c@50000000");
                assert!(why.contains("not memory-mapped"), "{why}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reg_crossing_the_end_of_its_bus_window_is_refused() {
        assert!(matches!(cpu("/soc/bus@c1100000/straddles@fff00"), Err(FdtError::Untranslatable { .. })));
    }
}
