//! The per-SoC reset maps extracted from the kernel's sources (`data/reset-maps/`, made by
//! `scripts/gen-reset-maps`), embedded in the binary and parsed once on first use.

use std::sync::OnceLock;

use serde::Deserialize;

/// A compatible that probes a table.
#[derive(Debug, Clone, Deserialize)]
pub struct Probe {
    /// The compatible string.
    pub compatible: String,
}

/// One sunxi-ng reset map entry.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct SunxiEntry {
    /// Reset id (the DT cell).
    pub id: u32,
    /// Register offset from the CCU base.
    pub reg: u64,
    /// Bits that are clear while the reset is asserted.
    pub mask: u32,
}

/// One SoC's sunxi-ng reset map.
#[derive(Debug, Clone, Deserialize)]
pub struct SunxiTable {
    /// The kernel's array name.
    pub name: String,
    /// Compatibles using it.
    pub compatibles: Vec<Probe>,
    /// The kernel's `nr_resets` (array length).
    pub nr_resets: u32,
    /// The entries, sorted by id; ids below `nr_resets` missing here are holes.
    pub resets: Vec<SunxiEntry>,
}

#[derive(Debug, Deserialize)]
struct SunxiFile {
    tables: Vec<SunxiTable>,
}

/// One R-Car CPG/MSSR SoC description.
#[derive(Debug, Clone, Deserialize)]
pub struct RcarInfo {
    /// Compatibles.
    pub compatibles: Vec<String>,
    /// The kernel's `nr_resets` (module clock count).
    pub nr_resets: u32,
    /// `CLK_REG_LAYOUT_*`.
    pub reg_layout: String,
    /// Whether the SoC registers a reset controller at all.
    pub registers_resets: bool,
    /// The wait between SRCR and SRSTCLR writes of `.reset`.
    pub reset_delay_us: Option<u32>,
    /// Which SRCR table (`srcr`, `srcr_for_gen4`).
    pub srcr: Option<String>,
    /// A kernel bug the generator flagged (ids past the kernel's arrays).
    #[serde(default)]
    pub kernel_bug: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct RcarFile {
    registers: RcarRegisters,
    tables: Vec<RcarInfo>,
}

/// The SRCR/SRSTCLR offset tables.
#[derive(Debug, Clone, Deserialize)]
pub struct RcarRegisters {
    /// Gen2/Gen3 SRCR offsets.
    pub srcr: Vec<u64>,
    /// Gen2/Gen3 SRSTCLR offsets.
    pub srstclr: Vec<u64>,
    /// Gen4 SRCR offsets.
    pub srcr_for_gen4: Vec<u64>,
    /// Gen4 SRSTCLR offsets.
    pub srstclr_for_gen4: Vec<u64>,
}

const SUNXI_JSON: &str = include_str!("../../../data/reset-maps/sunxi-ng.json");
const RCAR_JSON: &str = include_str!("../../../data/reset-maps/renesas-cpg-mssr.json");

/// Every sunxi-ng table. Empty only if the embedded data did not parse, which the tests of
/// this module rule out for the data the binary was built with.
pub fn sunxi() -> &'static [SunxiTable] {
    static TABLES: OnceLock<Vec<SunxiTable>> = OnceLock::new();
    TABLES.get_or_init(|| serde_json::from_str::<SunxiFile>(SUNXI_JSON).map(|f| f.tables).unwrap_or_default())
}

/// The sunxi-ng table a compatible probes.
pub fn sunxi_table(compatible: &str) -> Option<&'static SunxiTable> {
    sunxi().iter().find(|t| t.compatibles.iter().any(|p| p.compatible == compatible))
}

fn rcar_file() -> Option<&'static RcarFile> {
    static FILE: OnceLock<Option<RcarFile>> = OnceLock::new();
    FILE.get_or_init(|| serde_json::from_str(RCAR_JSON).ok()).as_ref()
}

/// The R-Car SoC description a compatible names.
pub fn rcar_info(compatible: &str) -> Option<&'static RcarInfo> {
    rcar_file()?.tables.iter().find(|t| t.compatibles.iter().any(|c| c == compatible))
}

/// The R-Car register offset tables.
pub fn rcar_registers() -> Option<&'static RcarRegisters> {
    rcar_file().map(|f| &f.registers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_maps_parse_and_hold_the_worked_examples() {
        assert!(sunxi().len() >= 30, "sunxi-ng tables: {}", sunxi().len());
        // CONTROLLERS.md worked example 2: H3 id 12 (BUS_EMAC) -> 0x2C0, mask 0x00020000.
        let h3 = sunxi_table("allwinner,sun8i-h3-ccu").unwrap();
        let emac = h3.resets.iter().find(|e| e.id == 12).unwrap();
        assert_eq!((emac.reg, emac.mask), (0x2C0, 0x0002_0000));
        let regs = rcar_registers().unwrap();
        assert_eq!(regs.srcr.len(), 12);
        assert_eq!(regs.srcr_for_gen4.len(), 28);
        assert_eq!(rcar_info("renesas,r8a774a1-cpg-mssr").unwrap().reset_delay_us, Some(35));
        assert_eq!(rcar_info("renesas,r8a779f0-cpg-mssr").unwrap().reset_delay_us, Some(1000));
    }
}
