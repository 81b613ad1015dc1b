//! The sunxi-ng CCU, reset-simple and Aspeed SCU hardware models: platreset's real drivers pass
//! every `verify` check on a dedicated line, a shared line names its other devices, a stuck reset
//! bit is caught, and each family's typical driver mistake is caught by the check it breaks.
//! The models' per-compatible data is checked against `data/reset-maps/`.
//!
//! Register addresses are the fixture's `reg` (CPU view, through the buses' `ranges`) plus the
//! offsets of the kernel's tables; each test says where its numbers come from.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{failed, verify_generic, writes, LEFT_IN_RESET, STUCK};
use platreset_fdt::Fdt;
use platreset_reset::{maps, Mmio, MmioOp, PhysAddr, Reg};
use platreset_sim::models::{aspeed, simple, sunxi};
use platreset_sim::verify::{Performer, Report};
use platreset_sim::{Fault, ResetHw, SimMmio};

fn run(fixture: &str, path: &str, faults: &[Fault]) -> Report {
    verify_generic(&platreset_testkit::fixture(fixture), path, faults, Performer::Resolved)
}

type Sequence = dyn Fn(&mut SimMmio<'_>) -> Result<(), String>;

fn run_custom(fixture: &str, path: &str, sequence: &Sequence) -> Report {
    verify_generic(&platreset_testkit::fixture(fixture), path, &[], Performer::Custom(sequence))
}

fn reg(addr: u64) -> Reg {
    Reg { addr: PhysAddr::new(addr), name: format!("{addr:#x}").into() }
}

fn read(mmio: &mut SimMmio<'_>, addr: u64) -> Result<u32, String> {
    mmio.read32(&reg(addr)).map_err(|e| e.to_string())
}

fn write(mmio: &mut SimMmio<'_>, addr: u64, value: u32) -> Result<(), String> {
    mmio.write32(&reg(addr), value).map_err(|e| e.to_string())
}

fn delay(mmio: &mut SimMmio<'_>, us: u32) -> Result<(), String> {
    mmio.delay_us(us).map_err(|e| e.to_string())
}

fn delays(report: &Report) -> Vec<u32> {
    report
        .ops
        .iter()
        .filter_map(|op| if let MmioOp::DelayUs { us } = op { Some(*us) } else { None })
        .collect()
}

/// A controller's hardware model, built from a fixture node by its family's constructor.
fn hw(
    fixture: &str,
    path: &str,
    compatible: &str,
    model: fn(&str, &platreset_fdt::Node<'_, '_>) -> Option<Box<dyn ResetHw>>,
) -> Box<dyn ResetHw> {
    let blob = platreset_testkit::fixture(fixture);
    let fdt = Fdt::parse(&blob).unwrap();
    let node = fdt.find_path(path).unwrap();
    model(compatible, &node).unwrap_or_else(|| panic!("no model for {compatible} at {path}"))
}

// ---------------------------------------------------------------------------------------------
// A minimal reader for the pretty-printed data files: enough to cross-check a few fields.

/// The top-level `{…}` objects of the JSON array that follows `"key": [` in `text`.
fn objects<'t>(text: &'t str, key: &str) -> Vec<&'t str> {
    let start = text.find(&format!("\"{key}\": [")).unwrap() + key.len() + 4;
    let (mut depth, mut open, mut found) = (0, 0, Vec::new());
    for (i, ch) in text[start..].char_indices() {
        match ch {
            '{' => {
                if depth == 0 {
                    open = start + i;
                }
                depth += 1;
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    found.push(&text[open..=start + i]);
                }
            }
            ']' if depth == 0 => break,
            _ => {}
        }
    }
    found
}

/// The raw value of `"key": value` in a flat object (up to `,`, `}` or `]`).
fn field<'t>(object: &'t str, key: &str) -> Option<&'t str> {
    let at = object.find(&format!("\"{key}\": "))? + key.len() + 4;
    let rest = &object[at..];
    if rest.starts_with('[') {
        return Some(&rest[..=rest.find(']')?]);
    }
    Some(rest[..rest.find([',', '}', ']', '\n']).unwrap_or(rest.len())].trim())
}

fn number(object: &str, key: &str) -> u64 {
    field(object, key).unwrap().parse().unwrap()
}

fn data(file: &str) -> String {
    std::fs::read_to_string(platreset_testkit::repo_root().join("data/reset-maps").join(file)).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Allwinner sunxi-ng CCU

/// sun8i_h3_ccu_resets: every mask on BUS_SOFT_RST_REG0 (+0x2C0), all set: the register of a
/// running H3 as the model starts it.
fn h3_reg0_released() -> u32 {
    let h3 = maps::sunxi_table("allwinner,sun8i-h3-ccu").unwrap();
    h3.resets.iter().filter(|e| e.reg == 0x2C0).fold(0, |v, e| v | e.mask)
}

#[test]
fn sunxi_h3_emac_reset_clears_then_sets_bit_17_of_ccu_2c0_and_passes_every_check() {
    let report = run("sim-sunxi", "/soc/ethernet@1c30000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 2: H3 id 12 (BUS_EMAC) -> CCU+0x2C0 mask 0x00020000, RMW
    // clear, 10 us, RMW set. The CCU is at 0x01c20000 (fixture).
    let released = h3_reg0_released();
    assert_eq!(writes(&report), [(0x01c2_02c0, released & !0x0002_0000), (0x01c2_02c0, released)]);
    assert_eq!(delays(&report), [10]);
}

#[test]
fn sunxi_shared_usb_lines_reset_ohci1_too() {
    let report = run("sim-sunxi", "/soc/usb@1c1b000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/usb@1c1b400"]);
}

#[test]
fn sunxi_stuck_reset_bit_is_caught() {
    let report = run("sim-sunxi", "/soc/ethernet@1c30000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sunxi_asserting_by_setting_the_bit_leaves_the_device_in_reset() {
    // The H3 EMAC's bit (CCU 0x01c20000 + 0x2C0, mask 0x00020000) driven with the polarity of an
    // active-high block: "assert" sets the already set bit, "deassert" clears it.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let (addr, mask) = (0x01c2_02c0, 0x0002_0000);
        let v = read(mmio, addr)?;
        write(mmio, addr, v | mask)?;
        delay(mmio, 10)?;
        let v = read(mmio, addr)?;
        write(mmio, addr, v & !mask)
    };
    let report = run_custom("sim-sunxi", "/soc/ethernet@1c30000", &wrong);
    assert_eq!(failed(&report), LEFT_IN_RESET);
}

#[test]
fn every_sunxi_ng_map_entry_is_one_active_low_bit_of_its_ccu() {
    let tables = maps::sunxi();
    assert!(tables.len() >= 30, "sunxi-ng tables: {}", tables.len());
    for table in tables {
        for probe in table.compatibles {
            let mut ccu = hw("sim-sunxi", "/soc/clock@1c20000", probe.compatible, sunxi::model);
            for entry in table.resets {
                assert_eq!(entry.mask.count_ones(), 1, "{} id {}", table.name, entry.id);
                let signal = ccu.signal(&[entry.id]).unwrap();
                assert!(!ccu.asserted(signal, 0), "{} id {} starts released", table.name, entry.id);
                let released = ccu.read(entry.reg, 0).unwrap();
                assert_eq!(released & entry.mask, entry.mask);
                ccu.write(entry.reg, released & !entry.mask, 0).unwrap();
                assert!(ccu.asserted(signal, 0), "{} id {}: a clear bit asserts", table.name, entry.id);
                // Only the ids on that very bit went with it.
                for other in table.resets.iter().filter(|o| o.id != entry.id) {
                    let same_bit = other.reg == entry.reg && other.mask == entry.mask;
                    assert_eq!(ccu.asserted(ccu.signal(&[other.id]).unwrap(), 0), same_bit);
                }
                ccu.write(entry.reg, released, 0).unwrap();
                assert!(!ccu.asserted(signal, 0));
            }
            // Holes and ids past the map name no signal.
            let holes = (0..table.nr_resets).filter(|id| !table.resets.iter().any(|e| e.id == *id));
            for id in holes.chain([table.nr_resets]) {
                assert_eq!(ccu.signal(&[id]), None, "{} id {id}", table.name);
            }
        }
    }
}

#[test]
fn sunxi_ccu_clock_registers_read_back_what_was_written() {
    let mut ccu = hw("sim-sunxi", "/soc/clock@1c20000", "allwinner,sun8i-h3-ccu", sunxi::model);
    // H3 PLL_CPUX_CTRL_REG (+0x000) and BUS_CLK_GATING_REG0 (+0x060): plain storage.
    for (offset, value) in [(0x000, 0x9000_1000), (0x060, 0x0002_0100)] {
        ccu.write(offset, value, 0).unwrap();
        assert_eq!(ccu.read(offset, 0).unwrap(), value);
    }
}

// ---------------------------------------------------------------------------------------------
// reset-simple family: snps,dw-low-reset, allwinner,sun6i-a31-ahb1-reset, altr,rst-mgr

#[test]
fn dw_low_reset_id_35_clears_bit_3_of_reset1_and_passes_every_check() {
    let report = run("sim-simple", "/soc/dma@90000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md: snps,dw-low-reset id 35 -> bit 3 of RESET1 (block 0x80000 + 4 * (35 / 32))
    // cleared to assert; every other line of the register stays released (set).
    assert_eq!(writes(&report), [(0x8_0004, !0x8), (0x8_0004, !0)]);
    assert_eq!(delays(&report), [10], "the pulse: DT-probed reset-simple has no .reset");
}

#[test]
fn dw_low_reset_shared_line_resets_the_other_uart() {
    let report = run("sim-simple", "/soc/serial@92000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/serial@93000"]);
}

#[test]
fn dw_low_reset_stuck_bit_is_caught() {
    let report = run("sim-simple", "/soc/dma@90000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn dw_low_reset_plain_write_instead_of_read_modify_write_resets_the_neighbour() {
    // RESET1 = 0x80000 + 4 (fixture, bank 35 / 32 = 1); the target is bit 3, dma@91000 is bit 4.
    // "Deassert" writes the mask instead of setting the bit in what it read: every other line
    // of RESET1 is left asserted.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, 0x8_0004, !(1 << 3))?;
        delay(mmio, 10)?;
        write(mmio, 0x8_0004, 1 << 3)
    };
    let report = run_custom("sim-simple", "/soc/dma@90000", &wrong);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/dma@91000"]);
}

#[test]
fn sun6i_ahb1_reset_mmc0_passes_every_check() {
    let report = run("sim-simple", "/soc/mmc@1c0f000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // AHB1 reset 8 -> bit 8 of the block's first register (0x01c202c0, fixture), active low.
    assert_eq!(writes(&report), [(0x01c2_02c0, !0x100), (0x01c2_02c0, !0)]);
}

#[test]
fn sun6i_ahb1_reset_stuck_bit_is_caught() {
    let report = run("sim-simple", "/soc/mmc@1c0f000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sun6i_ahb1_reset_driven_active_high_never_resets_the_device() {
    // Bit 8 of 0x01c202c0 set to "assert" (it is already set: released), cleared to "deassert".
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let v = read(mmio, 0x01c2_02c0)?;
        write(mmio, 0x01c2_02c0, v | 0x100)?;
        delay(mmio, 10)?;
        write(mmio, 0x01c2_02c0, v & !0x100)
    };
    let report = run_custom("sim-simple", "/soc/mmc@1c0f000", &wrong);
    assert_eq!(failed(&report), LEFT_IN_RESET);
}

/// The sun6i/sun8i PRCM's APB0 reset register (sun6i-prcm.dts): the `apb0_rst` node has no
/// `reg`; the block is the PRCM cell's 4 bytes (`mfd_parents` in reset-simple.json: +0xB0).
#[test]
fn sun6i_prcm_reset_cell_is_one_active_low_register_of_32_lines() {
    let path = "/soc/prcm@1f01400/apb0_rst";
    let mut block = hw("sun6i-prcm", path, "allwinner,sun6i-a31-clock-reset", simple::model);
    assert_eq!(block.signal(&[31]), Some(31));
    assert_eq!(block.signal(&[32]), None, "4 bytes: 32 lines");
    // Offset 0 of the block is PRCM+0xB0; every line starts released (bits set).
    assert_eq!(block.read(0, 0).unwrap(), !0);
    block.write(0, !(1 << 3), 0).unwrap();
    assert!(block.asserted(3, 0) && !block.asserted(4, 0));
    block.write(0, !0, 0).unwrap();
    assert!(!block.asserted(3, 0));
    let cell = maps::mfd_parent("allwinner,sun8i-a23-prcm").unwrap().cells[0];
    assert_eq!((cell.offset, cell.size), (0xB0, 4));
}

#[test]
fn sun6i_prcm_children_the_cell_does_not_go_to_have_no_model() {
    let blob = platreset_testkit::fixture("sun6i-prcm");
    let fdt = Fdt::parse(&blob).unwrap();
    for path in [
        "/soc/prcm@1f01400/apb0_rst_second",
        "/soc/prcm@1f11400/apb0_rst_disabled",
        "/soc/reset-controller-lone",
    ] {
        let node = fdt.find_path(path).unwrap();
        assert!(simple::model("allwinner,sun6i-a31-clock-reset", &node).is_none(), "{path}");
    }
    let taken = fdt.find_path("/soc/prcm@1f11400/apb0_rst").unwrap();
    assert!(simple::model("allwinner,sun6i-a31-clock-reset", &taken).is_some());
}

#[test]
fn socfpga_cyclone5_emac1_sets_then_clears_bit_1_of_permodrst_and_passes_every_check() {
    let report = run("sim-simple", "/soc/ethernet@ff702000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md: altr,rst-mgr id 33 -> RMW bit 1 of +0x14 (no altr,modrst-offset: 0x10,
    // bank 33 / 32 = 1); the reset manager is at 0xffd05000 (fixture).
    assert_eq!(writes(&report), [(0xffd0_5014, 0x2), (0xffd0_5014, 0x0)]);
}

#[test]
fn socfpga_shared_timer_line_resets_the_other_timer() {
    let report = run("sim-simple", "/soc/timer@ffd08000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/timer@ffd08100"]);
}

#[test]
fn socfpga_stuck_bit_is_caught() {
    let report = run("sim-simple", "/soc/ethernet@ff702000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn socfpga_arria10_takes_its_banks_from_altr_modrst_offset() {
    let report = run("sim-simple", "/arria10/ethernet@ff802000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // altr,modrst-offset = <0x20>: id 33 is bit 1 of PER0MODRST at +0x24; the reset manager's
    // child address 0xffd05000 is CPU 0x7fd05000 (the arria10 bus's ranges).
    assert_eq!(writes(&report), [(0x7fd0_5024, 0x2), (0x7fd0_5024, 0x0)]);
}

#[test]
fn socfpga_driver_ignoring_altr_modrst_offset_misses_the_device() {
    // The default layout (0x10 + 4 * bank) on an Arria 10: id 33 lands on +0x14, a register
    // that is no module reset there.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let addr = 0x7fd0_5014;
        let v = read(mmio, addr)?;
        write(mmio, addr, v | 0x2)?;
        delay(mmio, 10)?;
        let v = read(mmio, addr)?;
        write(mmio, addr, v & !0x2)
    };
    let report = run_custom("sim-simple", "/arria10/ethernet@ff802000", &wrong);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn reset_simple_layouts_match_the_reset_maps_data() {
    let json = data("reset-simple.json");
    let tables = objects(&json, "tables");
    assert_eq!(tables.len(), 13);
    for table in tables {
        let compatibles = field(table, "compatibles").unwrap();
        let active_low = field(table, "active_low").unwrap() == "true";
        let nr_resets = field(table, "nr_resets").unwrap().parse::<u32>().ok();
        // The quoted strings of the list are its odd pieces between quotes.
        for compatible in compatibles.split('"').skip(1).step_by(2) {
            // altr,rst-mgr's reg_offset is the default of altr,modrst-offset, which the
            // Cyclone V node (a 0x1000 window) does not set.
            let reg_offset = number(table, "reg_offset");
            let path = "/soc/rstmgr@ffd05000";
            // A 0x1000 window: eight lines per byte when the table does not fix the count.
            let lines = nr_resets.unwrap_or(0x1000 * 8);
            let mut block = hw("sim-simple", path, compatible, simple::model);
            let released = if active_low { !0 } else { 0 };
            for id in [0, 31, 33, 255, lines - 1] {
                let signal = block.signal(&[id]).unwrap_or_else(|| panic!("{compatible} id {id}"));
                let offset = reg_offset + 4 * u64::from(id / 32);
                assert_eq!(block.read(offset, 0).unwrap(), released, "{compatible} +{offset:#x}");
                assert!(!block.asserted(signal, 0));
                block.write(offset, released ^ (1 << (id % 32)), 0).unwrap();
                assert!(block.asserted(signal, 0), "{compatible} id {id}");
                assert!(!block.asserted(signal ^ 1, 0), "{compatible}: only that bit");
                block.write(offset, released, 0).unwrap();
                assert!(!block.asserted(signal, 0));
            }
            assert_eq!(block.signal(&[lines]), None, "{compatible}: {lines} lines");
        }
    }
    // The property, when present, moves the banks: Arria 10's 0x20.
    let mut a10 = hw("sim-simple", "/arria10/rstmgr@ffd05000", "altr,rst-mgr", simple::model);
    a10.write(0x24, 0x2, 0).unwrap();
    assert!(a10.asserted(a10.signal(&[33]).unwrap(), 0));
}

// ---------------------------------------------------------------------------------------------
// Aspeed AST2400/AST2500 SCU

#[test]
fn ast2500_xdma_sets_then_clears_scu04_bit_25_and_passes_every_check() {
    let report = run("sim-aspeed", "/ast2500/xdma@1e6e7000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // aspeed_resets: id 0 (XDMA) -> SCU04 bit 25; the SCU is at 0x1e6e2000 (fixture).
    assert_eq!(writes(&report), [(0x1e6e_2004, 1 << 25), (0x1e6e_2004, 0)]);
}

#[test]
fn ast2500_crt1_is_in_the_second_register_scu0d4() {
    let report = run("sim-aspeed", "/ast2500/display@1e6e6000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // aspeed_resets: id 9 (CRT1) -> SCU0D4 bit 5.
    assert_eq!(writes(&report), [(0x1e6e_20d4, 1 << 5), (0x1e6e_20d4, 0)]);
}

#[test]
fn ast2500_shared_i2c_line_resets_the_other_bus() {
    let report = run("sim-aspeed", "/ast2500/bus@1e78a000/i2c-bus@40", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/ast2500/bus@1e78a000/i2c-bus@80"]);
}

#[test]
fn ast2500_stuck_bit_is_caught() {
    let report = run("sim-aspeed", "/ast2500/xdma@1e6e7000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn ast2500_binding_id_used_as_the_bit_number_misses_the_device() {
    // PWM is binding id 5 but SCU04 bit 9 (aspeed_resets); a driver that takes the id for the
    // bit pulses bit 5 of 0x1e6e2004 instead.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let v = read(mmio, 0x1e6e_2004)?;
        write(mmio, 0x1e6e_2004, v | (1 << 5))?;
        delay(mmio, 10)?;
        write(mmio, 0x1e6e_2004, v & !(1 << 5))
    };
    let report = run_custom("sim-aspeed", "/ast2500/pwm-tacho-controller@1e786000", &wrong);
    assert_eq!(failed(&report), STUCK);
}

// ---------------------------------------------------------------------------------------------
// Aspeed AST2600 SCU

#[test]
fn ast2600_id_33_writes_bit_1_to_scu050_then_scu054_and_passes_every_check() {
    let report = run("sim-aspeed", "/ast2600/engine@1e6e8000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md: id 33 -> 0x2 to SCU050, 10 us, 0x2 to SCU054. The SCU's child address
    // 0x1e6e2000 is CPU 0x5e6e2000 (the ast2600 bus's ranges).
    assert_eq!(writes(&report), [(0x5e6e_2050, 0x2), (0x5e6e_2054, 0x2)]);
    assert_eq!(delays(&report), [10]);
}

#[test]
fn ast2600_dev_xdma_uses_the_first_bank() {
    let report = run("sim-aspeed", "/ast2600/xdma@1e6e7000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // ASPEED_RESET_DEV_XDMA (25) < 32: SCU040 / SCU044, bit 25.
    assert_eq!(writes(&report), [(0x5e6e_2040, 1 << 25), (0x5e6e_2044, 1 << 25)]);
}

#[test]
fn ast2600_shared_i2c_line_resets_the_other_bus() {
    let report = run("sim-aspeed", "/ast2600/bus@1e78a000/i2c-bus@80", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/ast2600/bus@1e78a000/i2c-bus@100"]);
}

#[test]
fn ast2600_stuck_bit_is_caught() {
    let report = run("sim-aspeed", "/ast2600/engine@1e6e8000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn ast2600_assert_bit_written_to_the_clear_register_never_resets_the_device() {
    // Id 33's bit (0x2) written to SCU054 for both halves of the pulse: clearing a clear bit.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, 0x5e6e_2054, 0x2)?;
        delay(mmio, 10)?;
        write(mmio, 0x5e6e_2054, 0x2)
    };
    let report = run_custom("sim-aspeed", "/ast2600/engine@1e6e8000", &wrong);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn ast2600_set_and_clear_swapped_leaves_the_device_in_reset() {
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, 0x5e6e_2054, 0x2)?;
        delay(mmio, 10)?;
        write(mmio, 0x5e6e_2050, 0x2)
    };
    let report = run_custom("sim-aspeed", "/ast2600/engine@1e6e8000", &wrong);
    assert_eq!(failed(&report), LEFT_IN_RESET);
}

#[test]
fn aspeed_scu_maps_match_the_reset_maps_data() {
    let json = data("aspeed.json");
    let tables = objects(&json, "tables");
    assert_eq!(tables.len(), 2);
    let (g5, g6) = (tables[0], tables[1]);
    assert!(field(g5, "compatibles").unwrap().contains("aspeed,ast2500-scu"));
    assert!(field(g6, "compatibles").unwrap().contains("aspeed,ast2600-scu"));

    for compatible in ["aspeed,ast2400-scu", "aspeed,ast2500-scu"] {
        let mut scu = hw("sim-aspeed", "/ast2500/syscon@1e6e2000", compatible, aspeed::model);
        let entries = objects(g5, "resets");
        assert_eq!(entries.len() as u64, number(g5, "nr_resets"));
        for entry in entries {
            let (id, offset, bit) = (number(entry, "id"), number(entry, "reg"), number(entry, "bit"));
            let signal = scu.signal(&[id as u32]).unwrap();
            assert!(!scu.asserted(signal, 0));
            scu.write(offset, 1 << bit, 0).unwrap();
            assert!(scu.asserted(signal, 0), "{compatible} id {id}: SCU{offset:02X} bit {bit}");
            scu.write(offset, 0, 0).unwrap();
            assert!(!scu.asserted(signal, 0));
        }
        for unmapped in objects(g5, "unmapped_binding_ids") {
            assert_eq!(scu.signal(&[number(unmapped, "id") as u32]), None);
        }
    }

    let mut scu = hw("sim-aspeed", "/ast2600/syscon@1e6e2000", "aspeed,ast2600-scu", aspeed::model);
    let clear = number(g6, "clear_offset");
    for entry in objects(g6, "resets") {
        let (id, offset, bit) = (number(entry, "id"), number(entry, "reg"), number(entry, "bit"));
        let signal = scu.signal(&[id as u32]).unwrap();
        scu.write(offset, 1 << bit, 0).unwrap();
        assert!(scu.asserted(signal, 0), "id {id}: SCU{offset:03X} bit {bit}");
        assert_eq!(scu.read(offset, 0).unwrap(), 1 << bit, "the set register reads the state");
        scu.write(offset, 0, 0).unwrap();
        assert!(scu.asserted(signal, 0), "writing 0 to the set register changes nothing");
        scu.write(offset + clear, 1 << bit, 0).unwrap();
        assert!(!scu.asserted(signal, 0), "id {id}: SCU{:03X} clears it", offset + clear);
    }
    assert_eq!(scu.signal(&[number(g6, "nr_resets") as u32]), None);
}

#[test]
fn a_sun6i_prcm_reset_cell_is_placed_at_the_prcm_plus_0xb0_and_its_consumer_verifies() {
    // drivers/mfd/sun6i-prcm.c gives allwinner,sun6i-a31-clock-reset the 4 bytes at +0xb0 of the
    // PRCM's reg: the A23 PRCM at 0x1f01400 puts it at 0x1f014b0, whatever the child's own reg.
    let report = run("sun6i-prcm", "/soc/rsb@1f03400", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // Active low (reset_simple_active_low): line 3 cleared to assert, set to release.
    let addresses: Vec<u64> = writes(&report).iter().map(|&(addr, _)| addr).collect();
    assert!(!addresses.is_empty() && addresses.iter().all(|&a| a == 0x1f0_14b0), "{addresses:x?}");
    assert_eq!(delays(&report), [10]);
}
