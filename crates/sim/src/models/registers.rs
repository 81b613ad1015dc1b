//! The register state several controller models share: a sparse register file and the set of
//! signals a fault keeps stuck.
//!
//! Owns: [`RegFile`] and [`Stuck`]. Leaf of the models: it depends on none of them, and they
//! reach it as a sibling, not through their parent.

/// Plain read/write registers, zero until written, for blocks whose reset bits sit anywhere in
/// a sparse register map (i.MX7 SRC, Qualcomm clock controllers).
#[derive(Debug, Clone, Default)]
pub struct RegFile(std::collections::BTreeMap<u64, u32>);

impl RegFile {
    /// The register at `offset`.
    pub fn get(&self, offset: u64) -> u32 {
        self.0.get(&offset).copied().unwrap_or(0)
    }

    /// A write that leaves the `frozen` bits (stuck signals) as they are.
    pub fn write(&mut self, offset: u64, value: u32, frozen: u32) {
        let old = self.get(offset);
        self.0.insert(offset, (old & frozen) | (value & !frozen));
    }
}

/// Signals a model was told to keep as they are.
#[derive(Debug, Clone, Default)]
pub struct Stuck(Vec<u32>);

impl Stuck {
    /// Adds a stuck signal.
    pub fn add(&mut self, signal: u32) {
        self.0.push(signal);
    }

    /// The bits of register `reg` (32 signals each) that writes may change.
    pub fn writable_mask(&self, reg: u32) -> u32 {
        self.0.iter().filter(|&&s| s / 32 == reg).fold(!0, |mask, s| mask & !(1 << (s % 32)))
    }

    /// Whether a signal is stuck.
    pub fn contains(&self, signal: u32) -> bool {
        self.0.contains(&signal)
    }
}
