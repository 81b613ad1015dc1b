//! The per-SoC reset maps extracted from the kernel's sources (`data/reset-maps/`, made by
//! `scripts/gen-reset-maps`), as typed statics the build script (`build.rs`) generates from
//! them, and the accessors that find a compatible's table.
//!
//! This module owns the kernel's per-SoC facts: every driver in `controllers` and every
//! simulator model reads them here, and none keeps its own copy. It holds no behaviour: what a
//! register write does is the drivers' business. Nothing is parsed at run time; a table the
//! build script finds malformed or inconsistent fails the build, so an accessor's `None` means
//! only "the kernel has no such table".

/// A compatible that probes a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// The compatible string.
    pub compatible: &'static str,
}

/// One sunxi-ng reset map entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SunxiEntry {
    /// Reset id (the DT cell).
    pub id: u32,
    /// Register offset from the CCU base.
    pub reg: u64,
    /// Bits that are clear while the reset is asserted.
    pub mask: u32,
}

/// One SoC's sunxi-ng reset map.
#[derive(Debug, Clone, Copy)]
pub struct SunxiTable {
    /// The kernel's array name.
    pub name: &'static str,
    /// Compatibles using it.
    pub compatibles: &'static [Probe],
    /// The kernel's `nr_resets` (array length).
    pub nr_resets: u32,
    /// The entries, ids increasing; ids below `nr_resets` missing here are holes.
    pub resets: &'static [SunxiEntry],
}

impl SunxiTable {
    /// The entry of `id`, `None` for a hole or an id past the table.
    pub fn entry(&self, id: u32) -> Option<&'static SunxiEntry> {
        by_id(self.resets, id, |e| e.id)
    }
}

/// `CLK_REG_LAYOUT_*` of a CPG/MSSR SoC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcarRegLayout {
    /// `CLK_REG_LAYOUT_RCAR_GEN2_AND_GEN3` (also RZ/G1, RZ/G2).
    RcarGen2AndGen3,
    /// `CLK_REG_LAYOUT_RCAR_GEN4`.
    RcarGen4,
    /// `CLK_REG_LAYOUT_RZ_A`: no software reset registers.
    RzA,
}

/// Which pair of SRCR/SRSTCLR offset tables a CPG/MSSR SoC uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcarSrcr {
    /// `srcr` / `srstclr` (Gen2, Gen3).
    Gen2AndGen3,
    /// `srcr_for_gen4` / `srstclr_for_gen4`.
    Gen4,
}

impl RcarSrcr {
    /// The (SRCR, SRSTCLR) offsets, one pair per reset register.
    pub fn registers(self) -> (&'static [u64], &'static [u64]) {
        let r = &RCAR_REGISTERS;
        match self {
            RcarSrcr::Gen2AndGen3 => (r.srcr, r.srstclr),
            RcarSrcr::Gen4 => (r.srcr_for_gen4, r.srstclr_for_gen4),
        }
    }
}

/// A kernel bug the generator flagged: ids past the kernel's register arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RcarKernelBug {
    /// The first id whose register index is past the SRCR array.
    pub first_id_past_arrays: u32,
    /// Entries of the SRCR array.
    pub srcr_entries: u32,
}

/// One R-Car CPG/MSSR SoC description.
#[derive(Debug, Clone, Copy)]
pub struct RcarInfo {
    /// The kernel's `cpg_mssr_info` name.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// The kernel's `nr_resets` (module clock count).
    pub nr_resets: u32,
    /// `CLK_REG_LAYOUT_*`.
    pub reg_layout: RcarRegLayout,
    /// Whether the SoC registers a reset controller at all (then `srcr` is set).
    pub registers_resets: bool,
    /// The wait between SRCR and SRSTCLR writes of `.reset`.
    pub reset_delay_us: Option<u32>,
    /// Which SRCR/SRSTCLR tables.
    pub srcr: Option<RcarSrcr>,
    /// A kernel bug the generator flagged.
    pub kernel_bug: Option<RcarKernelBug>,
}

/// The SRCR/SRSTCLR offset tables.
#[derive(Debug, Clone, Copy)]
pub struct RcarRegisters {
    /// Gen2/Gen3 SRCR offsets.
    pub srcr: &'static [u64],
    /// Gen2/Gen3 SRSTCLR offsets.
    pub srstclr: &'static [u64],
    /// Gen4 SRCR offsets.
    pub srcr_for_gen4: &'static [u64],
    /// Gen4 SRSTCLR offsets.
    pub srstclr_for_gen4: &'static [u64],
}

/// A Rockchip CRU's soft-reset block.
#[derive(Debug, Clone, Copy)]
pub struct RockchipTable {
    /// The kernel's init function.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// Offset of SOFTRST_CON0 from the CRU base.
    pub softrst_offset: u64,
    /// Number of registers.
    pub num_regs: u32,
    /// Lines per register.
    pub num_per_reg: u32,
    /// Whether writes use the hiword mask.
    pub hiword_mask: bool,
}

/// Which Qualcomm driver a reset map belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QcomDriver {
    /// A clock controller's BCRs (drivers/clk/qcom/reset.c, `qcom-cc`).
    ClockController,
    /// drivers/reset/reset-qcom-aoss.c (`qcom-aoss`).
    Aoss,
    /// drivers/reset/reset-qcom-pdc.c (`qcom-pdc`): every compatible has its register offset.
    Pdc,
}

/// A compatible with a per-compatible register offset (Qualcomm PDC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetProbe {
    /// The compatible string.
    pub compatible: &'static str,
    /// Register offset, where the driver takes one per compatible (always for the PDC).
    pub offset: Option<u64>,
}

/// One Qualcomm reset map entry (fields per driver; absent ones are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QcomEntry {
    /// Reset id.
    pub id: u32,
    /// Register offset.
    pub reg: u64,
    /// Bit number (below 32).
    pub bit: u32,
    /// Bits to update instead of `BIT(bit)` when non-zero.
    pub bitmask: u32,
    /// Microseconds between assert and deassert (0 means 1).
    pub udelay: u32,
}

/// One Qualcomm reset map.
#[derive(Debug, Clone, Copy)]
pub struct QcomTable {
    /// The kernel's array name.
    pub name: &'static str,
    /// The driver using it.
    pub driver: QcomDriver,
    /// Compatibles.
    pub compatibles: &'static [OffsetProbe],
    /// Array length.
    pub nr_resets: u32,
    /// Entries, ids increasing.
    pub resets: &'static [QcomEntry],
}

impl QcomTable {
    /// The entry of `id`, `None` for a hole or an id past the table.
    pub fn entry(&self, id: u32) -> Option<&'static QcomEntry> {
        by_id(self.resets, id, |e| e.id)
    }
}

/// One reset-imx7 signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImxSignal {
    /// Reset id.
    pub id: u32,
    /// Register offset.
    pub offset: u64,
    /// Mask updated.
    pub bit: u32,
    /// Assert clears the mask.
    pub active_low: bool,
    /// Wait before the deassert write.
    pub deassert_udelay: u32,
}

/// One reset-imx7 variant.
#[derive(Debug, Clone, Copy)]
pub struct ImxTable {
    /// The kernel's array name.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [Probe],
    /// Array length.
    pub nr_resets: u32,
    /// Signals, ids increasing.
    pub resets: &'static [ImxSignal],
}

impl ImxTable {
    /// The signal of `id`, `None` for a hole or an id past the table.
    pub fn signal(&self, id: u32) -> Option<&'static ImxSignal> {
        by_id(self.resets, id, |s| s.id)
    }
}

/// One reset of the i.MX5/6 SRC (arch/arm/mach-imx/src.c `sw_reset_bits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImxSrcBit {
    /// Reset id (the binding's module index).
    pub id: u32,
    /// Register offset (SRC_SCR).
    pub offset: u64,
    /// The self-clearing bit of that register.
    pub scr_bit: u32,
}

/// The i.MX5/6 SRC's resets.
#[derive(Debug, Clone, Copy)]
pub struct ImxSrcTable {
    /// The kernel's array name.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [Probe],
    /// Array length.
    pub nr_resets: u32,
    /// The bits, ids increasing.
    pub resets: &'static [ImxSrcBit],
}

/// One register access of a Tegra special reset's handler, in the order the kernel makes it
/// (`special_resets[].assert` / `.deassert` in `data/reset-maps/tegra-car.json`). Offsets are
/// from the CAR base; `reg_name` is the register's macro as the kernel source spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarStep {
    /// `writel(value, base + reg)`.
    Write {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: &'static str,
        /// Value written.
        value: u32,
    },
    /// Read the register, OR in `mask`, write it back.
    SetBits {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: &'static str,
        /// Bits set.
        mask: u32,
    },
    /// Read the register, AND out `mask`, write it back.
    ClearBits {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: &'static str,
        /// Bits cleared.
        mask: u32,
    },
    /// A read whose value is unused (the kernel's write barrier).
    Read {
        /// Register offset.
        reg: u64,
        /// Register name.
        reg_name: &'static str,
    },
    /// `udelay(us)`.
    Udelay {
        /// Microseconds.
        us: u32,
    },
}

/// A reset past a Tegra CAR's peripheral banks, driven by the SoC's own handlers.
#[derive(Debug, Clone, Copy)]
pub struct TegraSpecialReset {
    /// The DT id (`banks * 32 + n`).
    pub id: u32,
    /// The binding's name for it (`TEGRA210_RST_ADSP`).
    pub symbol: &'static str,
    /// What the assert handler does.
    pub assert: &'static [CarStep],
    /// What the deassert handler does.
    pub deassert: &'static [CarStep],
}

/// One Tegra CAR (`tables[]` of `data/reset-maps/tegra-car.json`).
#[derive(Debug, Clone, Copy)]
pub struct TegraTable {
    /// The SoC's name (`tegra210-car`).
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// Peripheral reset banks (`periph_banks`), at most [`TEGRA_BANKS`]' length.
    pub banks: u32,
    /// The kernel's `nr_resets`: `banks * 32` plus the special resets.
    pub nr_resets: u32,
    /// The special resets, ids `banks * 32` onwards in order.
    pub special_resets: &'static [TegraSpecialReset],
}

/// One peripheral reset bank of the CAR (the kernel's `periph_regs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TegraBank {
    /// L, H, U, V, W, X or Y.
    pub name: &'static str,
    /// RST_DEVICES_x: the reset state.
    pub rst_reg: u64,
    /// RST_DEV_x_SET.
    pub rst_set_reg: u64,
    /// RST_DEV_x_CLR.
    pub rst_clr_reg: u64,
}

/// The driver a reset-simple table belongs to (all use reset-simple's ops).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimpleDriver {
    /// drivers/reset/reset-simple.c.
    ResetSimple,
    /// drivers/reset/reset-socfpga.c (`altr,rst-mgr`).
    ResetSocfpga,
    /// drivers/reset/reset-sunxi.c (`allwinner,sun6i-a31-ahb1-reset`).
    ResetSunxi,
}

/// A controller bound to reset-simple's ops, with its parameters (`reset_simple_devdata`).
#[derive(Debug, Clone, Copy)]
pub struct SimpleTable {
    /// The kernel's devdata (or init function) name.
    pub name: &'static str,
    /// The driver.
    pub driver: SimpleDriver,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// Offset of the first register from the `reg` base (the default, when
    /// `reg_offset_property` may override it).
    pub reg_offset: u64,
    /// Number of lines; `None`: eight per byte of the `reg` window.
    pub nr_resets: Option<u32>,
    /// Asserting clears the bit.
    pub active_low: bool,
    /// A clear bit reads as asserted.
    pub status_active_low: bool,
    /// The node property that gives `reg_offset`, when one does.
    pub reg_offset_property: Option<&'static str>,
}

/// A reset controller one cell of a multi-function device is: its registers are `size` bytes at
/// `offset` from the start of the parent's first `reg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MfdCell {
    /// The compatible the cell gives to the parent's child node it is matched with.
    pub of_compatible: &'static str,
    /// The cell's platform device name.
    pub name: &'static str,
    /// Offset of the registers from the parent's first `reg`.
    pub offset: u64,
    /// Size of the register window.
    pub size: u64,
}

/// A multi-function device whose driver creates reset controllers as cells
/// (`mfd_parents` of `data/reset-maps/reset-simple.json`).
#[derive(Debug, Clone, Copy)]
pub struct MfdParent {
    /// The kernel's cell-set name (`sun6i_a31_prcm_data`).
    pub name: &'static str,
    /// The parent's compatibles.
    pub compatibles: &'static [&'static str],
    /// The MFD driver.
    pub file: &'static str,
    /// Its reset-controller cells.
    pub cells: &'static [MfdCell],
}

/// A line of a Meson table that lists its lines: bit `bit` of the block's one reset register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MesonBit {
    /// Reset id.
    pub id: u32,
    /// Bit number (below 32).
    pub bit: u32,
}

/// Which Meson driver a table belongs to, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MesonKind {
    /// drivers/reset/reset-meson.c (`meson_reset_param`): 32 lines a bank.
    Reset {
        /// Banks of 32 lines.
        reg_count: u32,
        /// Offset of the level registers.
        level_offset: u64,
    },
    /// drivers/clk/meson/meson-aoclk.c.
    AoClk {
        /// The reset register.
        reset_reg: u64,
        /// Its lines.
        resets: &'static [MesonBit],
    },
    /// drivers/reset/reset-meson-audio-arb.c.
    AudioArb {
        /// Its lines.
        resets: &'static [MesonBit],
    },
    /// drivers/clk/meson/axg-audio.c.
    AudioClkc {
        /// Whether the SoC's clock controller registers resets.
        registers_resets: bool,
        /// Offset of the reset registers.
        reset_offset: u64,
        /// Distance between them.
        reg_stride: u32,
    },
}

/// One Amlogic Meson reset description (`data/reset-maps/meson.json`).
#[derive(Debug, Clone, Copy)]
pub struct MesonTable {
    /// The kernel's name for it.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// Number of lines.
    pub nr_resets: u32,
    /// The driver and its parameters.
    pub kind: MesonKind,
}

/// One line of an Aspeed SCU table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AspeedLine {
    /// Reset id.
    pub id: u32,
    /// SCU register offset.
    pub reg: u64,
    /// Bit number (below 32).
    pub bit: u32,
    /// The binding's name.
    pub symbol: &'static str,
}

/// How an Aspeed SCU maps an id to its register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspeedLayout {
    /// clk-aspeed.c: the id indexes the table (`resets` has every id); one read/write register
    /// per bank.
    Indexed,
    /// clk-ast2600.c: `reg = id < 32 ? reset_ctrl : reset_ctrl2`, bit `id % 32`; each register
    /// is write-1-to-set, its clear register `clear_offset` above it.
    SetClear {
        /// Distance to the clear register.
        clear_offset: u64,
    },
}

/// One Aspeed SCU reset map (`data/reset-maps/aspeed.json`).
#[derive(Debug, Clone, Copy)]
pub struct AspeedTable {
    /// The kernel's name for it.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// Number of lines.
    pub nr_resets: u32,
    /// The first reset register.
    pub reset_ctrl: u64,
    /// The second reset register.
    pub reset_ctrl2: u64,
    /// How ids map to registers.
    pub layout: AspeedLayout,
    /// The lines the kernel names, ids increasing.
    pub resets: &'static [AspeedLine],
}

/// The reset ops an STM32MP RCC is driven with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stm32Ops {
    /// drivers/clk/clk-stm32mp1.c (`stm32_reset_ops`): the STM32MP15.
    ClkStm32mp1,
    /// drivers/clk/stm32/reset-stm32.c: the STM32MP13.
    ResetStm32,
}

/// One STM32MP RCC (`data/reset-maps/stm32mp1.json`).
#[derive(Debug, Clone, Copy)]
pub struct Stm32Table {
    /// The kernel's data name.
    pub name: &'static str,
    /// Compatibles.
    pub compatibles: &'static [&'static str],
    /// The kernel's `nr_resets`.
    pub nr_resets: u32,
    /// Distance from a SET register to its CLR register.
    pub clear_offset: u64,
    /// The driver's reset ops.
    pub ops: Stm32Ops,
}

include!(concat!(env!("OUT_DIR"), "/maps_generated.rs"));

/// The table of `compatible` through a sorted `(compatible, table)` index.
fn lookup<T>(index: &[(&str, usize)], tables: &'static [T], compatible: &str) -> Option<&'static T> {
    let at = index.binary_search_by(|(c, _)| (*c).cmp(compatible)).ok()?;
    tables.get(index.get(at)?.1)
}

/// The entry of `id` in entries sorted by id (the build script checks they are).
fn by_id<T>(entries: &'static [T], id: u32, key: impl Fn(&T) -> u32) -> Option<&'static T> {
    entries.get(entries.binary_search_by_key(&id, key).ok()?)
}

/// Every sunxi-ng table.
pub fn sunxi() -> &'static [SunxiTable] {
    SUNXI
}

/// The sunxi-ng table a compatible probes.
pub fn sunxi_table(compatible: &str) -> Option<&'static SunxiTable> {
    lookup(SUNXI_INDEX, SUNXI, compatible)
}

/// The R-Car SoC description a compatible names.
pub fn rcar_info(compatible: &str) -> Option<&'static RcarInfo> {
    lookup(RCAR_INDEX, RCAR, compatible)
}

/// The R-Car register offset tables.
pub fn rcar_registers() -> &'static RcarRegisters {
    &RCAR_REGISTERS
}

/// The Rockchip CRU a compatible names.
pub fn rockchip(compatible: &str) -> Option<&'static RockchipTable> {
    lookup(ROCKCHIP_INDEX, ROCKCHIP, compatible)
}

/// The Qualcomm reset map a compatible probes, with the compatible's own offset (PDC).
pub fn qcom(compatible: &str) -> Option<(&'static QcomTable, Option<u64>)> {
    let table = lookup(QCOM_INDEX, QCOM, compatible)?;
    table.compatibles.iter().find(|p| p.compatible == compatible).map(|p| (table, p.offset))
}

/// The reset-imx7 variant a compatible probes.
pub fn imx7(compatible: &str) -> Option<&'static ImxTable> {
    lookup(IMX7_INDEX, IMX7, compatible)
}

/// The i.MX5/6 SRC reset table a compatible probes.
pub fn imx_src(compatible: &str) -> Option<&'static ImxSrcTable> {
    lookup(IMX_SRC_INDEX, IMX_SRC, compatible)
}

/// The Tegra CAR a compatible names.
pub fn tegra(compatible: &str) -> Option<&'static TegraTable> {
    lookup(TEGRA_INDEX, TEGRA, compatible)
}

/// The CAR's peripheral reset banks in id order; a CAR uses the first `banks` of them.
pub fn tegra_banks() -> &'static [TegraBank] {
    TEGRA_BANKS
}

/// The multi-function device a compatible probes, if its driver creates reset controllers.
pub fn mfd_parent(compatible: &str) -> Option<&'static MfdParent> {
    lookup(MFD_INDEX, MFD_PARENTS, compatible)
}

/// The reset-simple parameters a compatible probes.
pub fn reset_simple(compatible: &str) -> Option<&'static SimpleTable> {
    lookup(RESET_SIMPLE_INDEX, RESET_SIMPLE, compatible)
}

/// The Meson reset description a compatible probes.
pub fn meson(compatible: &str) -> Option<&'static MesonTable> {
    lookup(MESON_INDEX, MESON, compatible)
}

/// The Aspeed SCU reset map a compatible probes.
pub fn aspeed(compatible: &str) -> Option<&'static AspeedTable> {
    lookup(ASPEED_INDEX, ASPEED, compatible)
}

/// The STM32MP RCC a compatible probes.
pub fn stm32(compatible: &str) -> Option<&'static Stm32Table> {
    lookup(STM32_INDEX, STM32, compatible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_maps_hold_the_worked_examples() {
        assert!(sunxi().len() >= 30, "sunxi-ng tables: {}", sunxi().len());
        // CONTROLLERS.md worked example 2: H3 id 12 (BUS_EMAC) -> 0x2C0, mask 0x00020000.
        let h3 = sunxi_table("allwinner,sun8i-h3-ccu").unwrap();
        let emac = h3.entry(12).unwrap();
        assert_eq!((emac.reg, emac.mask), (0x2C0, 0x0002_0000));
        let regs = rcar_registers();
        assert_eq!(regs.srcr.len(), 12);
        assert_eq!(regs.srcr_for_gen4.len(), 28);
        assert_eq!(rcar_info("renesas,r8a774a1-cpg-mssr").unwrap().reset_delay_us, Some(35));
        let v3u = rcar_info("renesas,r8a779f0-cpg-mssr").unwrap();
        assert_eq!((v3u.reset_delay_us, v3u.srcr), (Some(1000), Some(RcarSrcr::Gen4)));
        assert_eq!(rcar_info("renesas,r7s9210-cpg-mssr").unwrap().srcr, None);
        let rk = rockchip("rockchip,rk3399-cru").unwrap();
        assert_eq!((rk.softrst_offset, rk.num_regs), (0x400, 21));
        assert_eq!(rockchip("rockchip,rk3288-cru").unwrap().softrst_offset, 0x1B8);
        assert_eq!(qcom("qcom,gcc-sdm845").unwrap().0.driver, QcomDriver::ClockController);
        assert_eq!(qcom("qcom,sdm845-pdc-global").unwrap().1, Some(0x100));
        assert_eq!(qcom("qcom,sdm845-aoss-cc").unwrap().0.driver, QcomDriver::Aoss);
        assert_eq!(imx7("fsl,imx8mq-src").unwrap().nr_resets, 53);
        // arch/arm/mach-imx/src.c sw_reset_bits: BP_SRC_SCR_SW_{GPU,VPU,IPU1,OPEN_VG,IPU2}_RST.
        let src = imx_src("fsl,imx51-src").unwrap();
        assert_eq!(src.resets.iter().map(|b| b.scr_bit).collect::<Vec<_>>(), [1, 2, 3, 4, 12]);
        assert!(sunxi_table("marvell,pxa168-apbc").is_none() && qcom("marvell,x").is_none());
    }

    // reset-meson.c meson_reset_param: meson8b {8 regs, level 0x7c}, a1 {3, 0x40}, s4 {6, 0x40}.
    #[test]
    fn meson_reset_params_are_the_kernels() {
        for (c, banks, level) in [
            ("amlogic,meson8b-reset", 8, 0x7C),
            ("amlogic,meson-gxbb-reset", 8, 0x7C),
            ("amlogic,meson-axg-reset", 8, 0x7C),
            ("amlogic,meson-a1-reset", 3, 0x40),
            ("amlogic,meson-s4-reset", 6, 0x40),
        ] {
            let kind = meson(c).unwrap().kind;
            assert_eq!(kind, MesonKind::Reset { reg_count: banks, level_offset: level }, "{c}");
        }
        assert!(matches!(meson("amlogic,meson-axg-aoclkc").unwrap().kind, MesonKind::AoClk { .. }));
    }

    // clk-aspeed.c aspeed_resets: ten lines of SCU04, the last (CRT1) bit 5 of SCU0D4;
    // clk-ast2600.c: SCU040 / SCU050, clear registers at +4.
    #[test]
    fn aspeed_maps_are_the_kernels() {
        let g5 = aspeed("aspeed,ast2500-scu").unwrap();
        let lines: Vec<(u64, u32)> = g5.resets.iter().map(|l| (l.reg, l.bit)).collect();
        assert_eq!(
            lines,
            [(4, 25), (4, 24), (4, 23), (4, 22), (4, 18), (4, 9), (4, 10), (4, 2), (4, 1), (0xD4, 5)]
        );
        assert_eq!(g5.layout, AspeedLayout::Indexed);
        let g6 = aspeed("aspeed,ast2600-scu").unwrap();
        assert_eq!((g6.reset_ctrl, g6.reset_ctrl2, g6.nr_resets), (0x40, 0x50, 64));
        assert_eq!(g6.layout, AspeedLayout::SetClear { clear_offset: 4 });
    }

    // reset-simple.c of_device_id data, reset-socfpga.c and reset-sunxi.c.
    #[test]
    fn reset_simple_parameters_are_the_kernels() {
        let s10 = reset_simple("altr,stratix10-rst-mgr").unwrap();
        assert_eq!(
            (s10.reg_offset, s10.nr_resets, s10.active_low, s10.status_active_low),
            (0x20, Some(256), false, true)
        );
        let low = reset_simple("snps,dw-low-reset").unwrap();
        assert_eq!((low.nr_resets, low.active_low, low.status_active_low), (None, true, true));
        let a10 = reset_simple("altr,rst-mgr").unwrap();
        assert_eq!(
            (a10.driver, a10.reg_offset, a10.reg_offset_property),
            (SimpleDriver::ResetSocfpga, 0x10, Some("altr,modrst-offset"))
        );
        let ahb1 = reset_simple("allwinner,sun6i-a31-ahb1-reset").unwrap();
        assert_eq!(
            (ahb1.driver, ahb1.active_low, ahb1.status_active_low),
            (SimpleDriver::ResetSunxi, true, false)
        );
    }

    // clk-stm32mp1.c stm32mp1_data{,_secure}: clear_offset 4; the MP13 uses reset-stm32.c.
    #[test]
    fn stm32_rccs_are_the_kernels() {
        for c in ["st,stm32mp1-rcc", "st,stm32mp1-rcc-secure"] {
            let t = stm32(c).unwrap();
            assert_eq!((t.ops, t.clear_offset), (Stm32Ops::ClkStm32mp1, 4), "{c}");
        }
        assert_eq!(stm32("st,stm32mp13-rcc").unwrap().ops, Stm32Ops::ResetStm32);
    }

    /// Each index finds what a linear search for the first table listing a compatible finds.
    fn index_is_first_match<T>(
        tables: &'static [T],
        find: impl Fn(&str) -> Option<&'static T>,
        compatibles: impl Fn(&T) -> Vec<&'static str>,
    ) -> usize {
        let mut checked = 0;
        for table in tables {
            for c in compatibles(table) {
                let linear = tables.iter().find(|t| compatibles(t).contains(&c));
                assert!(std::ptr::eq(find(c).unwrap(), linear.unwrap()), "{c}");
                checked += 1;
            }
        }
        checked
    }

    #[test]
    fn every_index_finds_the_first_table_of_every_compatible() {
        let names = |l: &[&'static str]| l.to_vec();
        let probes = |l: &[Probe]| l.iter().map(|p| p.compatible).collect::<Vec<_>>();
        let mut checked = index_is_first_match(SUNXI, sunxi_table, |t| probes(t.compatibles));
        checked += index_is_first_match(RCAR, rcar_info, |t| names(t.compatibles));
        checked += index_is_first_match(ROCKCHIP, rockchip, |t| names(t.compatibles));
        checked += index_is_first_match(
            QCOM,
            |c| qcom(c).map(|(t, _)| t),
            |t| t.compatibles.iter().map(|p| p.compatible).collect(),
        );
        checked += index_is_first_match(IMX7, imx7, |t| probes(t.compatibles));
        checked += index_is_first_match(IMX_SRC, imx_src, |t| probes(t.compatibles));
        checked += index_is_first_match(TEGRA, tegra, |t| names(t.compatibles));
        checked += index_is_first_match(MFD_PARENTS, mfd_parent, |t| names(t.compatibles));
        checked += index_is_first_match(RESET_SIMPLE, reset_simple, |t| names(t.compatibles));
        checked += index_is_first_match(MESON, meson, |t| names(t.compatibles));
        checked += index_is_first_match(ASPEED, aspeed, |t| names(t.compatibles));
        checked += index_is_first_match(STM32, stm32, |t| names(t.compatibles));
        assert!(checked > 200, "{checked}");
        for index in [SUNXI_INDEX, RCAR_INDEX, QCOM_INDEX, TEGRA_INDEX, MESON_INDEX] {
            assert!(index.windows(2).all(|w| w[0].0 < w[1].0), "sorted, one row a compatible");
        }
    }

    // The bank counts are the kernel's periph_banks: tegra20 3, tegra30 / tegra114 5,
    // tegra124 / tegra132 6, tegra210 7; periph_regs L, H, U, V, W, X, Y.
    #[test]
    fn tegra_bank_counts_are_the_kernels() {
        for (c, banks) in [
            ("nvidia,tegra20-car", 3),
            ("nvidia,tegra30-car", 5),
            ("nvidia,tegra114-car", 5),
            ("nvidia,tegra124-car", 6),
            ("nvidia,tegra132-car", 6),
            ("nvidia,tegra210-car", 7),
        ] {
            assert_eq!(tegra(c).unwrap().banks, banks, "{c}");
        }
        let names: Vec<&str> = tegra_banks().iter().map(|b| b.name).collect();
        assert_eq!(names, ["L", "H", "U", "V", "W", "X", "Y"]);
        // clk.c periph_regs[6] (Y): RST_DEVICES_Y 0x2A4, RST_DEV_Y_SET 0x2A8, _CLR 0x2AC.
        let y = tegra_banks()[6];
        assert_eq!((y.rst_reg, y.rst_set_reg, y.rst_clr_reg), (0x2A4, 0x2A8, 0x2AC));
    }

    // clk-tegra210.c: TEGRA210_RST_DFLL_DVCO (224) sets / clears bit 0 of RST_DFLL_DVCO (0x2F4),
    // each followed by a read of it; TEGRA210_RST_ADSP (225) writes GENMASK(26, 21) | BIT(7) to
    // RST_DEV_Y_SET, and releases BIT(21) first, 5 us before GENMASK(26, 22) | BIT(7).
    #[test]
    fn tegra210_special_resets_are_the_kernels_handlers() {
        let t210 = tegra("nvidia,tegra210-car").unwrap();
        assert_eq!((t210.banks, t210.nr_resets), (7, 226));
        let dvco = &t210.special_resets[0];
        assert_eq!((dvco.id, dvco.symbol), (224, "TEGRA210_RST_DFLL_DVCO"));
        let name = "RST_DFLL_DVCO";
        assert_eq!(
            dvco.assert,
            [
                CarStep::SetBits { reg: 0x2F4, reg_name: name, mask: 1 },
                CarStep::Read { reg: 0x2F4, reg_name: name }
            ]
        );
        assert_eq!(dvco.deassert[0], CarStep::ClearBits { reg: 0x2F4, reg_name: name, mask: 1 });
        let adsp = &t210.special_resets[1];
        assert_eq!(adsp.id, 225);
        let set = "CLK_RST_CONTROLLER_RST_DEV_Y_SET";
        let clr = "CLK_RST_CONTROLLER_RST_DEV_Y_CLR";
        assert_eq!(adsp.assert, [CarStep::Write { reg: 0x2A8, reg_name: set, value: 0x07E0_0080 }]);
        assert_eq!(
            adsp.deassert,
            [
                CarStep::Write { reg: 0x2AC, reg_name: clr, value: 0x0020_0000 },
                CarStep::Udelay { us: 5 },
                CarStep::Write { reg: 0x2AC, reg_name: clr, value: 0x07C0_0080 }
            ]
        );
    }

    // drivers/mfd/sun6i-prcm.c: both PRCMs give their "allwinner,sun6i-a31-clock-reset" cell
    // DEFINE_RES_MEM(0xb0, 4).
    #[test]
    fn sun6i_prcm_reset_cell_is_four_bytes_at_0xb0() {
        assert_eq!(MFD_PARENTS.len(), 2);
        for prcm in ["allwinner,sun6i-a31-prcm", "allwinner,sun8i-a23-prcm"] {
            let parent = mfd_parent(prcm).unwrap();
            let cell = parent.cells.iter().find(|c| c.of_compatible == "allwinner,sun6i-a31-clock-reset");
            assert_eq!(cell.map(|c| (c.offset, c.size)), Some((0xB0, 4)), "{prcm}");
        }
        assert!(mfd_parent("allwinner,sun9i-a80-prcm").is_none());
    }
}
