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

/// A data file's list of tables.
#[derive(Debug, Deserialize)]
struct TableFile<T> {
    tables: Vec<T>,
}

/// The tables of an embedded data file, parsed on first use; empty if it does not parse (which
/// the tests below rule out for the data the binary embeds).
fn tables<T: serde::de::DeserializeOwned>(cell: &'static OnceLock<Vec<T>>, json: &str) -> &'static [T] {
    cell.get_or_init(|| serde_json::from_str::<TableFile<T>>(json).map(|f| f.tables).unwrap_or_default())
}

/// The vendor prefixes of each family's compatibles. A lookup for any other vendor returns
/// `None` without parsing the family's data: an audit of a board with none of these
/// controllers then parses no table at all (a test checks every embedded compatible is covered).
const SUNXI_VENDORS: &[&str] = &["allwinner,", "nextthing,"];
const RCAR_VENDORS: &[&str] = &["renesas,"];
const ROCKCHIP_VENDORS: &[&str] = &["rockchip,"];
const QCOM_VENDORS: &[&str] = &["qcom,"];
const IMX_VENDORS: &[&str] = &["fsl,"];
const TEGRA_VENDORS: &[&str] = &["nvidia,"];
const MFD_VENDORS: &[&str] = &["allwinner,"];

fn from_vendor(compatible: &str, vendors: &[&str]) -> bool {
    vendors.iter().any(|v| compatible.starts_with(v))
}

const SUNXI_JSON: &str = include_str!("../reset-maps/sunxi-ng.json");
const RCAR_JSON: &str = include_str!("../reset-maps/renesas-cpg-mssr.json");

/// Every sunxi-ng table. Empty only if the embedded data did not parse, which the tests of
/// this module rule out for the data the binary was built with.
pub fn sunxi() -> &'static [SunxiTable] {
    static TABLES: OnceLock<Vec<SunxiTable>> = OnceLock::new();
    tables(&TABLES, SUNXI_JSON)
}

/// The sunxi-ng table a compatible probes.
pub fn sunxi_table(compatible: &str) -> Option<&'static SunxiTable> {
    static INDEX: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    if !from_vendor(compatible, SUNXI_VENDORS) {
        return None;
    }
    let index = INDEX.get_or_init(|| {
        sorted_index(
            sunxi()
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.compatibles.iter().map(move |p| (p.compatible.as_str(), i))),
        )
    });
    let i = index.binary_search_by(|(c, _)| (*c).cmp(compatible)).ok()?;
    sunxi().get(index.get(i)?.1)
}

/// `(compatible, table)` pairs sorted by compatible, the first table of a compatible kept (as a
/// linear search would find it).
fn sorted_index(pairs: impl Iterator<Item = (&'static str, usize)>) -> Vec<(&'static str, usize)> {
    let mut index: Vec<(&'static str, usize)> = pairs.collect();
    index.sort_by(|a, b| a.0.cmp(b.0).then(a.1.cmp(&b.1)));
    index.dedup_by(|later, first| later.0 == first.0);
    index
}

fn rcar_file() -> Option<&'static RcarFile> {
    static FILE: OnceLock<Option<RcarFile>> = OnceLock::new();
    FILE.get_or_init(|| serde_json::from_str(RCAR_JSON).ok()).as_ref()
}

/// The R-Car SoC description a compatible names.
pub fn rcar_info(compatible: &str) -> Option<&'static RcarInfo> {
    if !from_vendor(compatible, RCAR_VENDORS) {
        return None;
    }
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

/// A Rockchip CRU's soft-reset block.
#[derive(Debug, Clone, Deserialize)]
pub struct RockchipTable {
    /// Compatibles.
    pub compatibles: Vec<String>,
    /// Offset of SOFTRST_CON0 from the CRU base.
    pub softrst_offset: u64,
    /// Number of registers.
    pub num_regs: u32,
    /// Lines per register.
    pub num_per_reg: u32,
    /// Whether writes use the hiword mask.
    pub hiword_mask: bool,
}

/// A compatible with a per-compatible register offset (Qualcomm PDC).
#[derive(Debug, Clone, Deserialize)]
pub struct OffsetProbe {
    /// The compatible string.
    pub compatible: String,
    /// Register offset, where the driver takes one per compatible.
    #[serde(default)]
    pub offset: Option<u64>,
}

/// One Qualcomm reset map entry (fields per driver; absent ones are 0).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct QcomEntry {
    /// Reset id.
    pub id: u32,
    /// Register offset.
    #[serde(default)]
    pub reg: u64,
    /// Bit number.
    #[serde(default)]
    pub bit: u32,
    /// Bits to update instead of `BIT(bit)` when non-zero.
    #[serde(default)]
    pub bitmask: u32,
    /// Microseconds between assert and deassert (0 means 1).
    #[serde(default)]
    pub udelay: u32,
}

/// One Qualcomm reset map.
#[derive(Debug, Clone, Deserialize)]
pub struct QcomTable {
    /// The kernel's array name.
    pub name: String,
    /// `qcom-cc`, `qcom-aoss` or `qcom-pdc`.
    pub driver: String,
    /// Compatibles.
    pub compatibles: Vec<OffsetProbe>,
    /// Array length.
    pub nr_resets: u32,
    /// Entries.
    pub resets: Vec<QcomEntry>,
}

/// One reset-imx7 signal.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct ImxSignal {
    /// Reset id.
    pub id: u32,
    /// Register offset.
    pub offset: u64,
    /// Mask updated (absent in the i.MX5/6 table, which this type only skips over).
    #[serde(default)]
    pub bit: u32,
    /// Assert clears the mask.
    #[serde(default)]
    pub active_low: bool,
    /// Wait before the deassert write.
    #[serde(default)]
    pub deassert_udelay: u32,
}

/// One reset-imx7 variant.
#[derive(Debug, Clone, Deserialize)]
pub struct ImxTable {
    /// The kernel's array name.
    pub name: String,
    /// Driver (`reset-imx7` here).
    pub driver: String,
    /// Compatibles.
    pub compatibles: Vec<Probe>,
    /// Array length.
    pub nr_resets: u32,
    /// Signals.
    pub resets: Vec<ImxSignal>,
}

const ROCKCHIP_JSON: &str = include_str!("../reset-maps/rockchip.json");
const QCOM_JSON: &str = include_str!("../reset-maps/qcom-gcc.json");
const IMX_JSON: &str = include_str!("../reset-maps/imx-src.json");

/// The Rockchip CRU a compatible names.
pub fn rockchip(compatible: &str) -> Option<&'static RockchipTable> {
    static TABLES: OnceLock<Vec<RockchipTable>> = OnceLock::new();
    if !from_vendor(compatible, ROCKCHIP_VENDORS) {
        return None;
    }
    tables(&TABLES, ROCKCHIP_JSON).iter().find(|t| t.compatibles.iter().any(|c| c == compatible))
}

/// The Qualcomm reset map a compatible probes, with the compatible's own offset (PDC).
pub fn qcom(compatible: &str) -> Option<(&'static QcomTable, Option<u64>)> {
    static TABLES: OnceLock<Vec<QcomTable>> = OnceLock::new();
    static INDEX: OnceLock<Vec<(&'static str, usize)>> = OnceLock::new();
    if !from_vendor(compatible, QCOM_VENDORS) {
        return None;
    }
    let tables = tables(&TABLES, QCOM_JSON);
    let index = INDEX.get_or_init(|| {
        sorted_index(
            tables
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.compatibles.iter().map(move |p| (p.compatible.as_str(), i))),
        )
    });
    let table = tables.get(index.get(index.binary_search_by(|(c, _)| (*c).cmp(compatible)).ok()?)?.1)?;
    table.compatibles.iter().find(|p| p.compatible == compatible).map(|p| (table, p.offset))
}

/// The reset-imx7 variant a compatible probes.
pub fn imx7(compatible: &str) -> Option<&'static ImxTable> {
    static TABLES: OnceLock<Vec<ImxTable>> = OnceLock::new();
    if !from_vendor(compatible, IMX_VENDORS) {
        return None;
    }
    tables(&TABLES, IMX_JSON)
        .iter()
        .filter(|t| t.driver == "reset-imx7")
        .find(|t| t.compatibles.iter().any(|p| p.compatible == compatible))
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn the_vendor_gate_never_hides_an_embedded_table() {
        let mut checked = 0;
        for (json, vendors) in [
            (SUNXI_JSON, SUNXI_VENDORS),
            (RCAR_JSON, RCAR_VENDORS),
            (ROCKCHIP_JSON, ROCKCHIP_VENDORS),
            (QCOM_JSON, QCOM_VENDORS),
            (IMX_JSON, IMX_VENDORS),
        ] {
            let doc: serde_json::Value = serde_json::from_str(json).unwrap();
            for table in doc["tables"].as_array().unwrap() {
                for c in table["compatibles"].as_array().unwrap() {
                    let c = c.as_str().or_else(|| c["compatible"].as_str()).unwrap();
                    assert!(from_vendor(c, vendors), "{c} is not under {vendors:?}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150, "{checked}");
        assert!(sunxi_table("marvell,pxa168-apbc").is_none() && qcom("marvell,x").is_none());
        // The index finds what a linear search finds, for every embedded compatible.
        for t in sunxi() {
            for p in &t.compatibles {
                let linear =
                    sunxi().iter().find(|t| t.compatibles.iter().any(|q| q.compatible == p.compatible));
                assert!(std::ptr::eq(sunxi_table(&p.compatible).unwrap(), linear.unwrap()));
            }
        }
        let doc: serde_json::Value = serde_json::from_str(QCOM_JSON).unwrap();
        for (i, table) in doc["tables"].as_array().unwrap().iter().enumerate() {
            for c in table["compatibles"].as_array().unwrap() {
                let c = c["compatible"].as_str().unwrap();
                let first =
                    doc["tables"].as_array().unwrap().iter().position(|t| {
                        t["compatibles"].as_array().unwrap().iter().any(|p| p["compatible"] == c)
                    });
                let (found, _) = qcom(c).unwrap();
                assert_eq!(
                    found.name,
                    doc["tables"][first.unwrap()]["name"].as_str().unwrap(),
                    "{c} (table {i})"
                );
            }
        }
    }

    #[test]
    fn every_embedded_family_parses() {
        let rk = rockchip("rockchip,rk3399-cru").unwrap();
        assert_eq!((rk.softrst_offset, rk.num_regs), (0x400, 21));
        assert_eq!(rockchip("rockchip,rk3288-cru").unwrap().softrst_offset, 0x1B8);
        let (gcc, _) = qcom("qcom,gcc-sdm845").unwrap();
        assert_eq!(gcc.driver, "qcom-cc");
        assert_eq!(qcom("qcom,sdm845-pdc-global").unwrap().1, Some(0x100));
        assert_eq!(imx7("fsl,imx8mq-src").unwrap().nr_resets, 53);
    }
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    // The accessors treat unparsable data as empty (no panic at run time); these tests are what
    // guarantees the data the binary embeds parses completely.
    #[test]
    fn every_embedded_file_parses_without_error() {
        let check = |name: &str, result: Result<usize, serde_json::Error>| match result {
            Ok(n) => assert!(n > 0, "{name}: no tables"),
            Err(e) => panic!("{name}: {e}"),
        };
        check("sunxi-ng", serde_json::from_str::<TableFile<SunxiTable>>(SUNXI_JSON).map(|f| f.tables.len()));
        check("renesas", serde_json::from_str::<RcarFile>(RCAR_JSON).map(|f| f.tables.len()));
        check(
            "rockchip",
            serde_json::from_str::<TableFile<RockchipTable>>(ROCKCHIP_JSON).map(|f| f.tables.len()),
        );
        check("qcom", serde_json::from_str::<TableFile<QcomTable>>(QCOM_JSON).map(|f| f.tables.len()));
        check("imx", serde_json::from_str::<TableFile<ImxTable>>(IMX_JSON).map(|f| f.tables.len()));
    }
}

#[cfg(test)]
mod tegra_tests {
    // The bank counts the driver hard-codes are the ones the kernel data records.
    #[test]
    fn tegra_bank_counts_match_the_extracted_data() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../reset-maps/tegra-car.json")).unwrap();
        for table in data["tables"].as_array().unwrap() {
            let banks = table["banks"].as_u64().unwrap() as u32;
            for compatible in table["compatibles"].as_array().unwrap() {
                let c = compatible.as_str().unwrap();
                let ours = crate::controllers::tegra::COMPATIBLES.iter().find(|(k, _)| *k == c);
                assert_eq!(ours.map(|(_, b)| *b), Some(banks), "{c}");
            }
        }
    }
}

/// One register access of a Tegra special reset's handler, in the order the kernel makes it
/// (`special_resets[].assert` / `.deassert` in `data/reset-maps/tegra-car.json`). Offsets are
/// from the CAR base; `reg_name` is the register's macro as the kernel source spells it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum CarStep {
    /// `writel(value, base + reg)`.
    Write {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: String,
        /// Value written.
        value: u32,
    },
    /// Read the register, OR in `mask`, write it back.
    SetBits {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: String,
        /// Bits set.
        mask: u32,
    },
    /// Read the register, AND out `mask`, write it back.
    ClearBits {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: String,
        /// Bits cleared.
        mask: u32,
    },
    /// A read whose value is unused (the kernel's write barrier).
    Read {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: String,
    },
    /// `udelay(us)`.
    Udelay {
        /// Microseconds.
        us: u32,
    },
}

/// A reset past a Tegra CAR's peripheral banks, driven by the SoC's own handlers.
#[derive(Debug, Clone, Deserialize)]
pub struct TegraSpecialReset {
    /// The DT id (`banks * 32 + n`).
    pub id: u32,
    /// The binding's name for it (`TEGRA210_RST_ADSP`).
    pub symbol: String,
    /// What the assert handler does.
    pub assert: Vec<CarStep>,
    /// What the deassert handler does.
    pub deassert: Vec<CarStep>,
}

/// One Tegra CAR (`tables[]` of `data/reset-maps/tegra-car.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct TegraTable {
    /// The SoC's name (`tegra210-car`).
    pub name: String,
    /// Compatibles.
    pub compatibles: Vec<String>,
    /// Peripheral reset banks (`periph_banks`).
    pub banks: u32,
    /// The kernel's `nr_resets`: `banks * 32` plus the special resets.
    pub nr_resets: u32,
    /// The special resets, in id order.
    #[serde(default)]
    pub special_resets: Vec<TegraSpecialReset>,
}

const TEGRA_JSON: &str = include_str!("../reset-maps/tegra-car.json");

/// The Tegra CAR a compatible names.
pub fn tegra(compatible: &str) -> Option<&'static TegraTable> {
    static TABLES: OnceLock<Vec<TegraTable>> = OnceLock::new();
    if !from_vendor(compatible, TEGRA_VENDORS) {
        return None;
    }
    tables(&TABLES, TEGRA_JSON).iter().find(|t| t.compatibles.iter().any(|c| c == compatible))
}

/// A reset controller one cell of a multi-function device is: its registers are `size` bytes at
/// `offset` from the start of the parent's first `reg`.
#[derive(Debug, Clone, Deserialize)]
pub struct MfdCell {
    /// The compatible the cell gives to the parent's child node it is matched with.
    pub of_compatible: String,
    /// The cell's platform device name.
    pub name: String,
    /// Offset of the registers from the parent's first `reg`.
    pub offset: u64,
    /// Size of the register window.
    pub size: u64,
}

/// A multi-function device whose driver creates reset controllers as cells
/// (`mfd_parents` of `data/reset-maps/reset-simple.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct MfdParent {
    /// The kernel's cell-set name (`sun6i_a31_prcm_data`).
    pub name: String,
    /// The parent's compatibles.
    pub compatibles: Vec<String>,
    /// The MFD driver.
    pub file: String,
    /// Its reset-controller cells.
    pub cells: Vec<MfdCell>,
}

#[derive(Debug, Deserialize)]
struct MfdFile {
    mfd_parents: Vec<MfdParent>,
}

const RESET_SIMPLE_JSON: &str = include_str!("../reset-maps/reset-simple.json");

/// The multi-function device a compatible probes, if its driver creates reset controllers.
pub fn mfd_parent(compatible: &str) -> Option<&'static MfdParent> {
    static PARENTS: OnceLock<Vec<MfdParent>> = OnceLock::new();
    if !from_vendor(compatible, MFD_VENDORS) {
        return None;
    }
    PARENTS
        .get_or_init(|| {
            serde_json::from_str::<MfdFile>(RESET_SIMPLE_JSON).map(|f| f.mfd_parents).unwrap_or_default()
        })
        .iter()
        .find(|p| p.compatibles.iter().any(|c| c == compatible))
}

#[cfg(test)]
mod tegra_and_mfd_tests {
    use super::*;

    #[test]
    fn embedded_tegra_and_mfd_data_parse_completely() {
        let cars = serde_json::from_str::<TableFile<TegraTable>>(TEGRA_JSON).unwrap();
        assert_eq!(cars.tables.len(), 6);
        let mfd = serde_json::from_str::<MfdFile>(RESET_SIMPLE_JSON).unwrap();
        assert_eq!(mfd.mfd_parents.len(), 2);
        for c in cars.tables.iter().flat_map(|t| &t.compatibles) {
            assert!(from_vendor(c, TEGRA_VENDORS) && tegra(c).is_some(), "{c}");
        }
        for c in mfd.mfd_parents.iter().flat_map(|p| &p.compatibles) {
            assert!(from_vendor(c, MFD_VENDORS) && mfd_parent(c).is_some(), "{c}");
        }
    }

    // clk-tegra210.c: TEGRA210_RST_DFLL_DVCO (224) sets / clears bit 0 of RST_DFLL_DVCO (0x2F4),
    // each followed by a read of it; TEGRA210_RST_ADSP (225) writes GENMASK(26, 21) | BIT(7) to
    // RST_DEV_Y_SET, and releases BIT(21) first, 5 us before GENMASK(26, 22) | BIT(7).
    #[test]
    fn tegra210_special_resets_are_the_kernels_handlers() {
        let t210 = tegra("nvidia,tegra210-car").unwrap();
        assert_eq!((t210.banks, t210.nr_resets), (7, 226));
        let dvco = &t210.special_resets[0];
        assert_eq!((dvco.id, dvco.symbol.as_str()), (224, "TEGRA210_RST_DFLL_DVCO"));
        let name = "RST_DFLL_DVCO".to_string();
        assert_eq!(
            dvco.assert,
            [
                CarStep::SetBits { reg: 0x2F4, reg_name: name.clone(), mask: 1 },
                CarStep::Read { reg: 0x2F4, reg_name: name.clone() }
            ]
        );
        assert_eq!(dvco.deassert[0], CarStep::ClearBits { reg: 0x2F4, reg_name: name, mask: 1 });
        let adsp = &t210.special_resets[1];
        assert_eq!(adsp.id, 225);
        let set = "CLK_RST_CONTROLLER_RST_DEV_Y_SET".to_string();
        let clr = "CLK_RST_CONTROLLER_RST_DEV_Y_CLR".to_string();
        assert_eq!(adsp.assert, [CarStep::Write { reg: 0x2A8, reg_name: set, value: 0x07E0_0080 }]);
        assert_eq!(
            adsp.deassert,
            [
                CarStep::Write { reg: 0x2AC, reg_name: clr.clone(), value: 0x0020_0000 },
                CarStep::Udelay { us: 5 },
                CarStep::Write { reg: 0x2AC, reg_name: clr, value: 0x07C0_0080 }
            ]
        );
    }

    // drivers/mfd/sun6i-prcm.c: both PRCMs give their "allwinner,sun6i-a31-clock-reset" cell
    // DEFINE_RES_MEM(0xb0, 4).
    #[test]
    fn sun6i_prcm_reset_cell_is_four_bytes_at_0xb0() {
        for prcm in ["allwinner,sun6i-a31-prcm", "allwinner,sun8i-a23-prcm"] {
            let parent = mfd_parent(prcm).unwrap();
            let cell = parent.cells.iter().find(|c| c.of_compatible == "allwinner,sun6i-a31-clock-reset");
            assert_eq!(cell.map(|c| (c.offset, c.size)), Some((0xB0, 4)), "{prcm}");
        }
        assert!(mfd_parent("allwinner,sun9i-a80-prcm").is_none());
    }
}
