//! Finding a device-tree node's ACPI companion by address: the first of the host's ACPI devices
//! (in the host's order) with a `_CRS` memory range overlapping the node's registers.
//!
//! Owns: an index of every device's ranges that answers in logarithmic time, so a tree of many
//! nodes against a namespace of many devices costs n·log n, not n·m. Must not: decide what a
//! companion means for the verdict (`policy.rs` does).

use std::collections::BTreeMap;

use platreset_acpi::AcpiDevice;

/// The address space cut into segments, each owned by the first device open over it, with a
/// sparse table of minimum owners over runs of segments.
#[derive(Debug, Default)]
pub(crate) struct CompanionIndex {
    /// `starts[i]..starts[i + 1]` is segment `i` (the last runs to the end of the space).
    starts: Vec<u128>,
    /// `min_owner[k][i]`: the first device open anywhere over segments `i..i + 2^k`
    /// (`usize::MAX` for none).
    min_owner: Vec<Vec<usize>>,
}

const NONE: usize = usize::MAX;

impl CompanionIndex {
    /// Indexes the memory ranges of `devices`.
    pub(crate) fn new(devices: &[AcpiDevice]) -> CompanionIndex {
        let mut events: Vec<(u128, bool, usize)> = devices
            .iter()
            .enumerate()
            .flat_map(|(d, device)| device.mmio.iter().map(move |r| (d, r)))
            .filter(|(_, r)| r.len > 0)
            .flat_map(|(d, r)| {
                let start = u128::from(r.base);
                [(start, true, d), (start + u128::from(r.len), false, d)]
            })
            .collect();
        events.sort_unstable();
        // Devices open at the sweep's position, with how many of their ranges are.
        let mut open: BTreeMap<usize, usize> = BTreeMap::new();
        let mut starts = Vec::new();
        let mut owners = Vec::new();
        let mut i = 0;
        while i < events.len() {
            let at = events[i].0;
            while let Some(&(pos, start, d)) = events.get(i).filter(|e| e.0 == at) {
                debug_assert_eq!(pos, at);
                if start {
                    *open.entry(d).or_default() += 1;
                } else if let Some(n) = open.get_mut(&d) {
                    *n -= 1;
                    if *n == 0 {
                        open.remove(&d);
                    }
                }
                i += 1;
            }
            let owner = open.keys().next().copied().unwrap_or(NONE);
            if owners.last() != Some(&owner) {
                starts.push(at);
                owners.push(owner);
            }
        }
        let n = starts.len();
        let mut min_owner = vec![owners];
        let mut width = 1;
        while width * 2 <= n {
            let prev = &min_owner[min_owner.len() - 1];
            let next = (0..=n - 2 * width).map(|i| prev[i].min(prev[i + width])).collect();
            min_owner.push(next);
            width *= 2;
        }
        CompanionIndex { starts, min_owner }
    }

    /// The first device with a range overlapping the `len` bytes from `base` (none for `len` 0).
    pub(crate) fn first_overlapping(&self, base: u64, len: u64) -> Option<usize> {
        if len == 0 {
            return None;
        }
        let (lo, hi) = (u128::from(base), u128::from(base) + u128::from(len));
        // Segments from the one holding `lo` to the last starting before `hi`.
        let first = self.starts.partition_point(|&s| s <= lo).saturating_sub(1);
        let last = self.starts.partition_point(|&s| s < hi).checked_sub(1)?;
        if first > last {
            return None;
        }
        let count = last - first + 1;
        let level = (usize::BITS - 1 - count.leading_zeros()) as usize;
        let table = self.min_owner.get(level)?;
        let owner = table.get(first)?.min(table.get(last + 1 - (1 << level))?);
        (*owner != NONE).then_some(*owner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platreset_acpi::{Crs, MemRange};

    fn device(ranges: &[(u64, u64)]) -> AcpiDevice {
        AcpiDevice {
            path: "\\_SB.DEV".into(),
            hid: None,
            cids: Vec::new(),
            rst: false,
            prr: false,
            mmio: ranges.iter().map(|&(base, len)| MemRange { base, len }).collect(),
            crs: Crs::Static,
        }
    }

    /// What the index replaces: the first device in order with an overlapping range.
    fn scan(devices: &[AcpiDevice], base: u64, len: u64) -> Option<usize> {
        devices.iter().position(|d| d.mmio.iter().any(|r| r.overlaps(base, len)))
    }

    #[test]
    fn answers_what_a_scan_in_order_answers() {
        // Nested, overlapping, adjacent, repeated and empty ranges, one reaching 2^64, a device
        // with two ranges, and a later device inside an earlier one.
        let devices = vec![
            device(&[(0x1000, 0x1000), (0x9000, 0x10)]),
            device(&[(0x1800, 0x100)]),
            device(&[(0x0, 0x800), (0x2000, 0x0)]),
            device(&[(0x1000, 0x1000)]),
            device(&[(u64::MAX - 0xF, 0x10)]),
            device(&[(0x8000, 0x2000)]),
            device(&[]),
            device(&[(0x1F00, 0x300)]),
        ];
        let index = CompanionIndex::new(&devices);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut probes: Vec<(u64, u64)> = vec![
            (0, 1),
            (0x7FF, 2),
            (0x800, 0x800),
            (0x1FFF, 1),
            (0x2000, 0x10),
            (0x21FF, 1),
            (0x2200, 0x5000),
            (u64::MAX, 1),
            (u64::MAX - 0x20, 0x11),
            (0x9008, 0),
            (0, u64::MAX),
        ];
        probes.extend((0..2000).map(|_| (next() % 0xC000, next() % 0x3000)));
        for (base, len) in probes {
            assert_eq!(
                index.first_overlapping(base, len),
                scan(&devices, base, len),
                "[{base:#x}, +{len:#x})"
            );
        }
    }

    #[test]
    fn no_devices_no_companion() {
        let index = CompanionIndex::new(&[]);
        assert_eq!(index.first_overlapping(0x1000, 0x10), None);
    }
}
