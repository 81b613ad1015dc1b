//! The Rockchip CRU, STM32MP1 RCC, Tegra CAR and Meson reset hardware models: platreset's real
//! drivers reset a dedicated line cleanly on each, a shared line names the devices it also
//! resets, a stuck reset bit is caught, and so is a wrong driver sequence typical of the family
//! (docs/CONTROLLERS.md "Worked examples"; fixtures tests/dts/sim-*.dts).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{failed, verify_generic, writes, LEFT_IN_RESET, STUCK};
use platreset_fdt::Fdt;
use platreset_reset::{Mmio, PhysAddr, Reg};
use platreset_sim::verify::{Performer, Report};
use platreset_sim::{Fault, SimMmio, Soc};
use platreset_topology::Topology;

fn run(blob: &[u8], path: &str, faults: &[Fault]) -> Report {
    verify_generic(blob, path, faults, Performer::Resolved)
}

fn write(mmio: &mut SimMmio<'_>, addr: u64, value: u32) -> Result<(), String> {
    mmio.write32(&Reg { addr: PhysAddr::new(addr), name: "wrong".into() }, value).map_err(|e| e.to_string())
}

fn read(mmio: &mut SimMmio<'_>, addr: u64) -> Result<u32, String> {
    mmio.read32(&Reg { addr: PhysAddr::new(addr), name: "wrong".into() }).map_err(|e| e.to_string())
}

fn delay(mmio: &mut SimMmio<'_>, us: u32) -> Result<(), String> {
    mmio.delay_us(us).map_err(|e| e.to_string())
}

/// Builds the fixture's SoC and hands it, with the DT, to `check`.
fn with_soc(blob: &[u8], check: impl FnOnce(&Fdt<'_>, &mut Soc)) {
    let fdt = Fdt::parse(blob).unwrap();
    let topology = Topology::build(&fdt);
    let mut soc = Soc::build(&topology, &[]).unwrap();
    assert!(soc.unmodelled().is_empty(), "{:?}", soc.unmodelled());
    check(&fdt, &mut soc);
}

fn id(fdt: &Fdt<'_>, path: &str) -> platreset_fdt::NodeId {
    fdt.find_path(path).unwrap().id()
}

// ---------------------------------------------------------------------------------------------
// Rockchip CRU (sim-rockchip.dts): RK3399 CRU at 0xff760000, SOFTRST_CON0 at +0x400
// (data/reset-maps/rockchip.json: softrst_offset 1024, num_regs 21, num_per_reg 16, hiword_mask).

fn rockchip() -> Vec<u8> {
    platreset_testkit::fixture("sim-rockchip")
}

/// SRST_SDMMC 122 = SOFTRST_CON7 (122 / 16) bit 10 (122 % 16): 0xff760000 + 0x400 + 4 * 7.
const RK_SOFTRST_CON7: u64 = 0xff76_041c;

#[test]
fn rockchip_sdmmc_pulse_writes_the_hiword_masked_bit_and_passes_every_check() {
    let report = run(&rockchip(), "/soc/mmc@fe320000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 1: assert 0x04000400, deassert 0x04000000.
    assert_eq!(writes(&report), [(RK_SOFTRST_CON7, 0x0400_0400), (RK_SOFTRST_CON7, 0x0400_0000)]);
    assert!(report.reset_done - report.reset_start >= 10, "the 10 us pulse");
}

#[test]
fn rockchip_pmucru_device_with_two_lines_passes() {
    // PMU CRU at 0xff750000, SOFTRST_CON0 at +0x110 (rockchip.json: softrst_offset 272):
    // SRST_UART4 12 and SRST_P_UART4 11 are bits 12 and 11 of 0xff750110.
    let report = run(&rockchip(), "/soc/serial@ff370000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    let w = writes(&report);
    assert!(w.contains(&(0xff75_0110, 0x1000_1000)) && w.contains(&(0xff75_0110, 0x0800_0800)), "{w:x?}");
}

#[test]
fn rockchip_write_changes_only_the_bits_its_high_half_selects() {
    with_soc(&rockchip(), |fdt, soc| {
        let (sdmmc, sdio0) = (id(fdt, "/soc/mmc@fe320000"), id(fdt, "/soc/mmc@fe310000"));
        soc.write32(RK_SOFTRST_CON7, 0x0000_0600, "no mask").unwrap();
        assert!(!soc.in_reset(sdmmc) && !soc.in_reset(sdio0), "no mask bit: nothing changes");
        soc.write32(RK_SOFTRST_CON7, 0x0400_0600, "mask bit 10 only").unwrap();
        assert!(soc.in_reset(sdmmc) && !soc.in_reset(sdio0), "bit 9 (SRST_SDIO0) was not selected");
        assert_eq!(soc.read32(RK_SOFTRST_CON7, "read").unwrap(), 0x400, "reads return the low half");
        soc.write32(RK_SOFTRST_CON7, 0x0400_0000, "release").unwrap();
        assert!(!soc.in_reset(sdmmc));
    });
}

#[test]
fn rockchip_shared_host_line_resets_the_other_controller_and_names_it() {
    let report = run(&rockchip(), "/soc/usb@fe380000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/usb@fe3a0000"]);
}

#[test]
fn rockchip_stuck_reset_is_caught() {
    let report = run(&rockchip(), "/soc/mmc@fe320000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn rockchip_write_without_the_hiword_mask_is_caught() {
    // softrst.c's sequence for id 122 with the mask half left out: BIT(10), then 0.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, RK_SOFTRST_CON7, 1 << 10)?;
        delay(mmio, 10)?;
        write(mmio, RK_SOFTRST_CON7, 0)
    };
    let report = verify_generic(&rockchip(), "/soc/mmc@fe320000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), STUCK, "{:#?}", report.checks);
}

#[test]
fn rockchip_bank_of_32_lines_is_caught() {
    // Id 122 split as a reset-simple bank of 32: register 3 (+0x40C) bit 26. In a hiword
    // register that write only selects bit 10 of SOFTRST_CON3 and clears it.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, 0xff76_040c, 1 << 26)?;
        delay(mmio, 10)?;
        write(mmio, 0xff76_040c, 0)
    };
    let report = verify_generic(&rockchip(), "/soc/mmc@fe320000", &[], Performer::Custom(&wrong));
    assert!(failed(&report).contains(&"the reset reached the device"), "{:#?}", report.checks);
}

// ---------------------------------------------------------------------------------------------
// STM32MP1 RCC (sim-stm32.dts): RCC at 0x50000000; id = SET offset * 8 + bit, CLR = SET + 4
// (data/reset-maps/stm32mp1.json: reg_width 4, clear_offset 4).

fn stm32() -> Vec<u8> {
    platreset_testkit::fixture("sim-stm32")
}

/// SDMMC1_R 3280: SET 4 * (3280 / 32) = 0x198 (RCC_AHB6RSTSETR), bit 3280 % 32 = 16.
const RCC_AHB6RSTSETR: u64 = 0x5000_0198;
/// Its CLR register, SET + clear_offset.
const RCC_AHB6RSTCLRR: u64 = 0x5000_019c;

#[test]
fn stm32_sdmmc1_pulse_writes_set_then_clr_and_passes_every_check() {
    let report = run(&stm32(), "/soc/mmc@58005000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 4: 0x10000 to +0x198, 10 us, 0x10000 to +0x19C.
    assert_eq!(writes(&report), [(RCC_AHB6RSTSETR, 0x1_0000), (RCC_AHB6RSTCLRR, 0x1_0000)]);
}

#[test]
fn stm32_mcu_side_register_pair_passes() {
    // SDMMC3_R 19664: SET 4 * (19664 / 32) = 0x998 (RCC_AHB2RSTSETR), bit 16; CLR 0x99C.
    let report = run(&stm32(), "/soc/mmc@48004000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(writes(&report), [(0x5000_0998, 0x1_0000), (0x5000_099c, 0x1_0000)]);
}

#[test]
fn stm32_set_and_clear_registers_both_read_the_state() {
    with_soc(&stm32(), |fdt, soc| {
        let (sdmmc1, sdmmc2) = (id(fdt, "/soc/mmc@58005000"), id(fdt, "/soc/mmc@58007000"));
        soc.write32(RCC_AHB6RSTSETR, 0x1_0000, "SET").unwrap();
        assert!(soc.in_reset(sdmmc1) && !soc.in_reset(sdmmc2));
        assert_eq!(soc.read32(RCC_AHB6RSTSETR, "SET").unwrap(), 0x1_0000);
        assert_eq!(soc.read32(RCC_AHB6RSTCLRR, "CLR").unwrap(), 0x1_0000);
        soc.write32(RCC_AHB6RSTSETR, 0, "SET 0").unwrap();
        assert!(soc.in_reset(sdmmc1), "writing 0 to SET has no effect");
        soc.write32(RCC_AHB6RSTCLRR, 0x1_0000, "CLR").unwrap();
        assert!(!soc.in_reset(sdmmc1));
    });
}

#[test]
fn stm32_shared_usbh_line_resets_the_other_controller_and_names_it() {
    let report = run(&stm32(), "/soc/usb@5800c000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/usb@5800d000"]);
}

#[test]
fn stm32_stuck_reset_is_caught() {
    let report = run(&stm32(), "/soc/mmc@58005000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn stm32_set_and_clr_swapped_is_caught() {
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, RCC_AHB6RSTCLRR, 1 << 16)?;
        delay(mmio, 10)?;
        write(mmio, RCC_AHB6RSTSETR, 1 << 16)
    };
    let report = verify_generic(&stm32(), "/soc/mmc@58005000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), LEFT_IN_RESET, "{:#?}", report.checks);
}

#[test]
fn stm32_deassert_by_clearing_the_set_bit_is_caught() {
    // Treating the RCC as reset-simple: RMW set the bit, then RMW clear it in the same register.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let v = read(mmio, RCC_AHB6RSTSETR)?;
        write(mmio, RCC_AHB6RSTSETR, v | 1 << 16)?;
        delay(mmio, 10)?;
        let v = read(mmio, RCC_AHB6RSTSETR)?;
        write(mmio, RCC_AHB6RSTSETR, v & !(1 << 16))
    };
    let report = verify_generic(&stm32(), "/soc/mmc@58005000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), LEFT_IN_RESET, "{:#?}", report.checks);
}

// ---------------------------------------------------------------------------------------------
// Tegra CAR (sim-tegra.dts): Tegra124 CAR at 0x60006000, 6 banks (data/reset-maps/tegra-car.json
// periph_regs: L rst 0x004 set 0x300 clr 0x304, H 0x008/0x308/0x30C, U 0x00C/0x310/0x314).

fn tegra() -> Vec<u8> {
    platreset_testkit::fixture("sim-tegra")
}

const RST_DEVICES_L: u64 = 0x6000_6004;
const RST_DEV_L_SET: u64 = 0x6000_6300;
const RST_DEV_L_CLR: u64 = 0x6000_6304;
const RST_DEV_H_SET: u64 = 0x6000_6308;
const RST_DEV_H_CLR: u64 = 0x6000_630c;

#[test]
fn tegra_sdmmc4_reset_writes_set_then_clr_and_passes_every_check() {
    let report = run(&tegra(), "/soc/mmc@700b0600", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 5: id 15 → 0x8000 to +0x300, 1 us, 0x8000 to +0x304.
    assert_eq!(writes(&report), [(RST_DEV_L_SET, 0x8000), (RST_DEV_L_CLR, 0x8000)]);
}

#[test]
fn tegra_uartd_in_bank_u_passes() {
    // Worked example 5: id 65 (UARTD) → bank 2 (U), bit 1: 0x2 to +0x310, then +0x314.
    let report = run(&tegra(), "/soc/serial@70006300", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(writes(&report), [(0x6000_6310, 0x2), (0x6000_6314, 0x2)]);
}

#[test]
fn tegra_set_and_clr_strobes_drive_rst_devices() {
    with_soc(&tegra(), |fdt, soc| {
        let (sdmmc4, i2c5) = (id(fdt, "/soc/mmc@700b0600"), id(fdt, "/soc/i2c@7000d000"));
        soc.write32(RST_DEV_L_SET, 0x8000, "SET").unwrap();
        assert!(soc.in_reset(sdmmc4) && !soc.in_reset(i2c5), "bit 15 of bank L, not of bank H");
        assert_eq!(soc.read32(RST_DEVICES_L, "RST_DEVICES_L").unwrap(), 0x8000);
        soc.write32(RST_DEV_L_CLR, 0x8000, "CLR").unwrap();
        assert!(!soc.in_reset(sdmmc4));
        // RST_DEVICES_L itself is read/write: a plain write sets the whole bank.
        soc.write32(RST_DEVICES_L, 0x8000, "RST_DEVICES_L").unwrap();
        assert!(soc.in_reset(sdmmc4));
    });
}

#[test]
fn tegra_ids_past_the_banks_are_the_special_resets_and_nothing_more() {
    let blob = tegra();
    let fdt = Fdt::parse(&blob).unwrap();
    let car = fdt.find_path("/soc/clock@60006000").unwrap();
    let hw = platreset_sim::models::tegra::model("nvidia,tegra124-car", &car).unwrap();
    // TEGRA124_RST_DFLL_DVCO 192 = 6 banks * 32: the one special reset, then nothing.
    assert_eq!(hw.signal(&[191]), Some(191));
    assert_eq!(hw.signal(&[192]), Some(192), "TEGRA124_RST_DFLL_DVCO");
    assert_eq!(hw.signal(&[193]), None);
    let t210 = platreset_sim::models::tegra::model("nvidia,tegra210-car", &car).unwrap();
    assert_eq!(t210.signal(&[223]), Some(223));
    // Tegra210's binding numbers its two special resets after the seven banks.
    assert_eq!(t210.signal(&[224]), Some(224), "TEGRA210_RST_DFLL_DVCO");
    assert_eq!(t210.signal(&[225]), Some(225), "TEGRA210_RST_ADSP");
    assert_eq!(t210.signal(&[226]), None);
}

// ---------------------------------------------------------------------------------------------
// Tegra210 special resets (sim-tegra210-special.dts): CAR at 0x60006000; DFLL DVCO 224 is bit 0
// of RST_DFLL_DVCO (+0x2F4), ADSP 225 the bank-Y bits 7 and 21-26 (RST_DEVICES_Y +0x2A4, SET
// +0x2A8, CLR +0x2AC); the steps the kernel's tegra210_reset_assert/deassert take are
// data/reset-maps/tegra-car.json's special_resets.

fn tegra210() -> Vec<u8> {
    platreset_testkit::fixture("sim-tegra210-special")
}

const T210_RST_DFLL_DVCO: u64 = 0x6000_62f4;
const T210_RST_DEVICES_Y: u64 = 0x6000_62a4;
const T210_RST_DEV_Y_SET: u64 = 0x6000_62a8;
const T210_RST_DEV_Y_CLR: u64 = 0x6000_62ac;

#[test]
fn tegra210_dfll_on_dvco_224_and_dvfs_155_resets_with_the_kernels_writes_and_passes_every_check() {
    let report = run(&tegra210(), "/clock@70110000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // 224: RST_DFLL_DVCO read-modify-written to bit 0 set, then clear; 155: bank W bit 27.
    assert_eq!(
        writes(&report),
        [(T210_RST_DFLL_DVCO, 1), (T210_RST_DFLL_DVCO, 0), (0x6000_6438, 1 << 27), (0x6000_643c, 1 << 27)]
    );
}

#[test]
fn tegra210_adsp_on_225_resets_the_cluster_and_passes_every_check() {
    let report = run(&tegra210(), "/adsp@702ef000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(
        writes(&report),
        [
            (T210_RST_DEV_Y_SET, 0x07e0_0080),
            (T210_RST_DEV_Y_CLR, 0x0020_0000),
            (T210_RST_DEV_Y_CLR, 0x07c0_0080)
        ]
    );
    assert!(report.reset_done - report.reset_start >= 6, "1 us held, 5 us between the releases");
}

#[test]
fn tegra210_special_resets_follow_their_registers() {
    with_soc(&tegra210(), |fdt, soc| {
        let (dfll, adsp) = (id(fdt, "/clock@70110000"), id(fdt, "/adsp@702ef000"));
        soc.write32(T210_RST_DFLL_DVCO, 0x1, "RST_DFLL_DVCO").unwrap();
        assert!(soc.in_reset(dfll) && !soc.in_reset(adsp));
        assert_eq!(soc.read32(T210_RST_DFLL_DVCO, "RST_DFLL_DVCO").unwrap(), 0x1, "read/write");
        soc.write32(T210_RST_DFLL_DVCO, 0x0, "RST_DFLL_DVCO").unwrap();
        assert!(!soc.in_reset(dfll));
        // Any one of the cluster's bank-Y bits holds the ADSP in reset.
        for bit in [7, 21, 22, 26] {
            soc.write32(T210_RST_DEV_Y_SET, 1 << bit, "SET").unwrap();
            assert!(soc.in_reset(adsp), "bit {bit}");
            assert_eq!(soc.read32(T210_RST_DEVICES_Y, "RST_DEVICES_Y").unwrap(), 1 << bit);
            soc.write32(T210_RST_DEV_Y_CLR, 1 << bit, "CLR").unwrap();
            assert!(!soc.in_reset(adsp), "bit {bit}");
        }
        soc.write32(T210_RST_DEV_Y_SET, 1 << 20, "SET").unwrap();
        assert!(!soc.in_reset(adsp), "bit 20 is not the cluster's");
    });
}

#[test]
fn tegra210_special_reset_bits_are_the_ones_the_kernel_data_touches() {
    use platreset_reset::maps::{tegra as car_table, tegra_banks, CarStep};
    use platreset_sim::models::tegra::Special;
    // clk-tegra210.c / the TRM: DFLL DVCO is bit 0 of RST_DFLL_DVCO (+0x2F4); the ADSP cluster
    // is bank-Y (index 6, RST_DEV_Y_CLR +0x2AC) bits 7 and 21-26.
    const ADSP_BANK_Y_BITS: u32 = 0x07E0_0080;
    let t210 = car_table("nvidia,tegra210-car").unwrap();
    let banks = &tegra_banks()[..7];
    let specials: Vec<_> = t210.special_resets.iter().map(|s| Special::from_handler(s, banks)).collect();
    assert_eq!(
        specials,
        [
            Some(Special::Register { reg: 0x2F4, mask: 1 }),
            Some(Special::BankBits { bank: 6, bits: ADSP_BANK_Y_BITS })
        ]
    );
    let released = t210.special_resets[1].deassert.iter().fold(0, |bits, step| match step {
        CarStep::Write { reg: 0x2AC, value, .. } => bits | value,
        _ => bits,
    });
    assert_eq!(released, ADSP_BANK_Y_BITS, "the deassert releases every bit the assert set");
}

#[test]
fn tegra210_stuck_special_resets_are_caught() {
    assert_eq!(failed(&run(&tegra210(), "/adsp@702ef000", &[Fault::StuckReset])), STUCK);
    assert_eq!(failed(&run(&tegra210(), "/clock@70110000", &[Fault::StuckReset])), STUCK);
}

#[test]
fn tegra210_a_stuck_special_reset_ignores_writes_to_its_own_bits_only() {
    const RST_DFLL_DVCO: u64 = 0x2F4;
    let blob = tegra210();
    let fdt = Fdt::parse(&blob).unwrap();
    let car = fdt.find_path("/clock@60006000").unwrap();
    let mut hw = platreset_sim::models::tegra::model("nvidia,tegra210-car", &car).unwrap();
    hw.stick(224);
    hw.write(RST_DFLL_DVCO, 0x1, 0).unwrap();
    assert!(!hw.asserted(224, 0));
    hw.stick(225);
    hw.write(0x2A8, 0x07e0_0080 | 1 << 20, 0).unwrap();
    assert!(!hw.asserted(225, 0), "the ADSP bits are frozen");
    assert!(hw.asserted(212, 0), "bank Y bit 20 (id 212) is not");
}

#[test]
fn tegra210_adsp_released_by_bit_21_alone_stays_in_reset() {
    // A driver that treats 225 as one bank-Y bit: it asserts the cluster, then releases bit 21 only.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, T210_RST_DEV_Y_SET, 0x07e0_0080)?;
        delay(mmio, 1)?;
        write(mmio, T210_RST_DEV_Y_CLR, 0x0020_0000)
    };
    let report = verify_generic(&tegra210(), "/adsp@702ef000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), LEFT_IN_RESET, "{:#?}", report.checks);
}

#[test]
fn tegra210_dfll_dvco_set_through_a_bank_register_never_reaches_the_device() {
    // Treating 224 as bank 7 bit 0 of a SET/CLR pair the CAR does not have: nothing happens.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, T210_RST_DEV_Y_SET + 0x100, 0x1)?;
        delay(mmio, 1)?;
        write(mmio, T210_RST_DEV_Y_CLR + 0x100, 0x1)
    };
    let report = verify_generic(&tegra210(), "/clock@70110000", &[], Performer::Custom(&wrong));
    assert!(failed(&report).contains(&"the reset reached the device"), "{:#?}", report.checks);
}

#[test]
fn tegra_shared_usbd_line_resets_the_phy_and_names_it() {
    let report = run(&tegra(), "/soc/usb@7d000000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/usb-phy@7d00c000"]);
}

#[test]
fn tegra_stuck_reset_is_caught() {
    let report = run(&tegra(), "/soc/mmc@700b0600", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn tegra_set_and_clr_swapped_is_caught() {
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, RST_DEV_L_CLR, 0x8000)?;
        delay(mmio, 1)?;
        write(mmio, RST_DEV_L_SET, 0x8000)
    };
    let report = verify_generic(&tegra(), "/soc/mmc@700b0600", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), LEFT_IN_RESET, "{:#?}", report.checks);
}

#[test]
fn tegra_wrong_bank_resets_the_neighbour_instead() {
    // Id 15 sent to bank H: bit 15 of H is id 47, I2C5.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        write(mmio, RST_DEV_H_SET, 0x8000)?;
        delay(mmio, 1)?;
        write(mmio, RST_DEV_H_CLR, 0x8000)
    };
    let report = verify_generic(&tegra(), "/soc/mmc@700b0600", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), [STUCK.as_slice(), &["no other device was disturbed"]].concat());
    assert_eq!(report.collateral, ["/soc/i2c@7000d000"]);
}

// ---------------------------------------------------------------------------------------------
// Meson (sim-meson.dts): GXBB reset controller at CBUS 0x4404 = CPU 0xc1104404 (REFERENCE §3);
// pulse register of bank n at +4n, level register at +0x7C + 4n (data/reset-maps/meson.json:
// reg_count 8, level_offset 124, bits_per_reg 32).

fn meson() -> Vec<u8> {
    platreset_testkit::fixture("sim-meson")
}

/// RESET_ETHERNET 43 = bank 1 (43 / 32), bit 11 (43 % 32): pulse register 0xc1104404 + 4.
const MESON_RESET1: u64 = 0xc110_4408;
/// Bank 0's pulse register.
const MESON_RESET0: u64 = 0xc110_4404;
/// Bank 1's level register: 0xc1104404 + 0x7C + 4.
const MESON_RESET1_LEVEL: u64 = 0xc110_4484;

#[test]
fn meson_ethernet_reset_is_one_self_clearing_pulse_and_passes_every_check() {
    let report = run(&meson(), "/soc/ethernet@c9410000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 3: reset writes 0x800 to base + 0x04, nothing else.
    assert_eq!(writes(&report), [(MESON_RESET1, 0x800)]);
    assert_eq!(report.reset_done, report.reset_start, "no wait: the hardware times the pulse");
}

#[test]
fn meson_pulse_lasts_one_microsecond_and_is_announced() {
    with_soc(&meson(), |fdt, soc| {
        let eth = id(fdt, "/soc/ethernet@c9410000");
        let start = soc.now();
        soc.write32(MESON_RESET1, 0x800, "RESET1").unwrap();
        assert!(soc.in_reset(eth));
        assert_eq!(soc.read32(MESON_RESET1, "RESET1").unwrap(), 0x800, "the bit reads 1 while it lasts");
        // An idle SoC skips time, but not over the pulse's end.
        soc.advance(1_000);
        assert!(!soc.in_reset(eth));
        assert_eq!(soc.resets_of(eth), [start]);
        assert_eq!(soc.read32(MESON_RESET1, "RESET1").unwrap(), 0);
    });
    let blob = meson();
    let fdt = Fdt::parse(&blob).unwrap();
    let node = fdt.find_path("/soc/bus@c1100000/reset-controller@4404").unwrap();
    let mut hw = platreset_sim::models::meson::model("amlogic,meson-gxbb-reset", &node).unwrap();
    hw.write(0x04, 0x800, 7).unwrap();
    assert_eq!(hw.next_event(7), Some(8));
    assert!(hw.asserted(43, 7) && !hw.asserted(43, 8));
    assert_eq!(hw.next_event(8), None);
}

#[test]
fn meson_level_register_is_active_low() {
    with_soc(&meson(), |fdt, soc| {
        let (eth, emmc_a) = (id(fdt, "/soc/ethernet@c9410000"), id(fdt, "/soc/mmc@d0070000"));
        assert_eq!(soc.read32(MESON_RESET1_LEVEL, "LEVEL1").unwrap(), !0, "every line out of reset");
        // Worked example 3: assert RMW-clears bit 11 at base + 0x80.
        soc.write32(MESON_RESET1_LEVEL, !0x800, "LEVEL1").unwrap();
        assert!(soc.in_reset(eth) && !soc.in_reset(emmc_a));
        soc.write32(MESON_RESET1_LEVEL, !0, "LEVEL1").unwrap();
        assert!(!soc.in_reset(eth));
    });
}

#[test]
fn meson_shared_usb_line_resets_the_other_controller_and_names_it() {
    let report = run(&meson(), "/soc/usb@c9000000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/usb@c9100000"]);
}

#[test]
fn meson_stuck_reset_is_caught() {
    let report = run(&meson(), "/soc/ethernet@c9410000", &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn meson_pulse_to_the_wrong_bank_is_caught() {
    // Bank 0 instead of bank 1: that pulses id 11 (RESET_ASSIST), not the Ethernet MAC.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> { write(mmio, MESON_RESET0, 0x800) };
    let report = verify_generic(&meson(), "/soc/ethernet@c9410000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), STUCK, "{:#?}", report.checks);
}

#[test]
fn meson_level_written_active_high_is_caught() {
    // Assert by setting the bit (already 1: no effect), deassert by clearing it (asserts it).
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let v = read(mmio, MESON_RESET1_LEVEL)?;
        write(mmio, MESON_RESET1_LEVEL, v | 0x800)?;
        delay(mmio, 10)?;
        let v = read(mmio, MESON_RESET1_LEVEL)?;
        write(mmio, MESON_RESET1_LEVEL, v & !0x800)
    };
    let report = verify_generic(&meson(), "/soc/ethernet@c9410000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), LEFT_IN_RESET, "{:#?}", report.checks);
}

#[test]
fn meson_plain_write_to_the_level_register_resets_the_whole_bank() {
    // A correct RMW assert, then a deassert written plainly as BIT(11): every other line of bank
    // 1 reads 0 — asserted — and stays so (USB 34, SD_EMMC_A/B/C 44-46).
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let v = read(mmio, MESON_RESET1_LEVEL)?;
        write(mmio, MESON_RESET1_LEVEL, v & !0x800)?;
        delay(mmio, 10)?;
        write(mmio, MESON_RESET1_LEVEL, 0x800)
    };
    let report = verify_generic(&meson(), "/soc/ethernet@c9410000", &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), ["no other device was disturbed"], "{:#?}", report.checks);
    assert_eq!(
        report.collateral,
        [
            "/soc/mmc@d0070000",
            "/soc/mmc@d0072000",
            "/soc/mmc@d0074000",
            "/soc/usb@c9000000",
            "/soc/usb@c9100000"
        ]
    );
}
