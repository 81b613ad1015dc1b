//! Every family's access sequence for the worked examples of CONTROLLERS.md, through the same
//! path `platreset reset` takes: bind the DT node, translate the specifier, run the driver on a
//! trace. Register addresses are the SoCs' real ones (tests/dts/reset-controllers.dts).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{names, ops, Op};
use platreset_fdt::Fdt;
use platreset_reset::{bind, reset_line, BindError, Binding, MmioOp, Mode, PhysAddr, ResetOps, Trace};

fn with_driver(path: &str, check: impl FnOnce(&dyn ResetOps)) {
    let blob = platreset_testkit::fixture("reset-controllers");
    let fdt = Fdt::parse(&blob).unwrap();
    match bind(&fdt.find_path(path).unwrap()).unwrap() {
        Binding::Mmio(ops) => check(ops.as_ref()),
        other => panic!("{path} bound to {other:?}"),
    }
}

fn reset(ops_: &dyn ResetOps, args: &[u32]) -> (Trace, Mode) {
    let id = ops_.xlate(args).unwrap();
    let mut trace = Trace::new();
    let mode = reset_line(ops_, &mut trace, id, 10).unwrap();
    (trace, mode)
}

#[test]
fn rcar_gen3_etheravb_812_writes_srcr8_then_srstclr8_after_35us() {
    with_driver("/soc/clock-controller@e6150000", |d| {
        let (t, mode) = reset(d, &[812]);
        assert_eq!(mode, Mode::Kernel);
        assert_eq!(ops(&t), [Op::W(0xe615_0920, 0x1000), Op::D(35), Op::W(0xe615_0960, 0x1000)]);
        assert_eq!(names(&t), ["SRCR8", "SRSTCLR8"]);
    });
}

#[test]
fn rcar_gen3_sdhi0_314_writes_srcr3_then_srstclr3() {
    with_driver("/soc/clock-controller@e6150000", |d| {
        let (t, _) = reset(d, &[314]);
        assert_eq!(ops(&t), [Op::W(0xe615_00b8, 0x4000), Op::D(35), Op::W(0xe615_094c, 0x4000)]);
    });
}

#[test]
fn rcar_gen4_907_uses_the_gen4_register_banks_and_waits_1ms() {
    // Debian's 6.1.192 waits usleep_range(1000, 2000) on Gen4 (data/reset-maps, gen-reset-maps).
    with_driver("/soc/clock-controller@e6160000", |d| {
        let (t, _) = reset(d, &[907]);
        assert_eq!(ops(&t), [Op::W(0xe616_2c24, 0x80), Op::D(1000), Op::W(0xe616_2ca4, 0x80)]);
        assert!(d.xlate(&[2800]).is_err(), "r8a779f0 has 896 lines = 28 registers");
    });
}

#[test]
fn rcar_rejects_bits_above_31_and_registers_beyond_the_soc() {
    with_driver("/soc/clock-controller@e6150000", |d| {
        assert!(d.xlate(&[132]).is_err(), "bit 32");
        assert!(d.xlate(&[1200]).is_err(), "register 12 on Gen3");
        assert!(d.xlate(&[1131]).is_ok(), "register 11 bit 31: line 383 of 384");
        assert!(d.xlate(&[1, 2]).is_err(), "two cells");
    });
}

#[test]
fn rcar_status_reads_srcr() {
    with_driver("/soc/clock-controller@e6150000", |d| {
        let mut t = Trace::new();
        t.preset(PhysAddr::new(0xe615_0920), 0x1000);
        assert!(d.status(&mut t, d.xlate(&[812]).unwrap()).unwrap());
        assert!(!d.status(&mut t, d.xlate(&[811]).unwrap()).unwrap());
    });
}

#[test]
fn rockchip_rk3399_122_pulses_with_hiword_masks_on_softrst_con7() {
    with_driver("/soc/clock-controller@ff760000", |d| {
        let (t, mode) = reset(d, &[122]);
        assert_eq!(mode, Mode::Pulse { us: 10 });
        assert_eq!(ops(&t), [Op::W(0xff76_041c, 0x0400_0400), Op::D(10), Op::W(0xff76_041c, 0x0400_0000)]);
        assert_eq!(names(&t), ["SOFTRST_CON7", "SOFTRST_CON7"]);
        let (t, _) = reset(d, &[100]);
        assert_eq!(ops(&t), [Op::W(0xff76_0418, 0x0010_0010), Op::D(10), Op::W(0xff76_0418, 0x0010_0000)]);
        assert!(d.xlate(&[336]).is_err(), "21 registers of 16 lines");
    });
}

#[test]
fn rockchip_rk3288_128_is_at_softrst_con8() {
    with_driver("/soc/clock-controller@ff770000", |d| {
        let (t, _) = reset(d, &[128]);
        assert_eq!(ops(&t), [Op::W(0xff77_01d8, 0x0001_0001), Op::D(10), Op::W(0xff77_01d8, 0x0001_0000)]);
    });
}

#[test]
fn meson_gxbb_43_resets_through_the_self_clearing_register_and_asserts_active_low() {
    with_driver("/soc/bus@c1100000/reset-controller@4404", |d| {
        let (t, mode) = reset(d, &[43]);
        assert_eq!(mode, Mode::Kernel);
        assert_eq!(ops(&t), [Op::W(0xc110_4408, 0x800)], "base 0xc1104404 + 4 * bank 1");
        let mut t = Trace::new();
        t.preset(PhysAddr::new(0xc110_4484), 0xffff_ffff);
        d.assert(&mut t, 43).unwrap();
        assert_eq!(ops(&t), [Op::R(0xc110_4484), Op::W(0xc110_4484, 0xffff_f7ff)]);
        d.deassert(&mut t, 43).unwrap();
        assert_eq!(t.value(PhysAddr::new(0xc110_4484)), 0xffff_ffff);
    });
}

#[test]
fn sunxi_h3_bus_emac_12_clears_then_sets_its_mask_in_ccu_2c0() {
    with_driver("/soc/clock@1c20000", |d| {
        let mut t = Trace::new();
        t.preset(PhysAddr::new(0x01c2_02c0), 0xffff_ffff);
        let mode = reset_line(d, &mut t, d.xlate(&[12]).unwrap(), 10).unwrap();
        assert_eq!(mode, Mode::Kernel);
        assert_eq!(
            ops(&t),
            [
                Op::R(0x01c2_02c0),
                Op::W(0x01c2_02c0, 0xfffd_ffff),
                Op::D(10),
                Op::R(0x01c2_02c0),
                Op::W(0x01c2_02c0, 0xffff_ffff)
            ]
        );
        assert!(d.status(&mut t, 12).is_ok_and(|asserted| !asserted));
        assert!(d.xlate(&[54]).is_err(), "the H3 map has 54 lines");
    });
}

#[test]
fn qcom_sdm845_gcc_pcie0_bcr_sets_reads_back_waits_1us_and_clears() {
    // data/reset-maps/qcom-gcc.json: gcc_sdm845_resets[GCC_PCIE_0_BCR = 1] = { 0x6b000 }.
    with_driver("/soc/clock-controller@100000", |d| {
        let (t, mode) = reset(d, &[1]);
        assert_eq!(mode, Mode::Kernel);
        let bcr = 0x0010_0000 + 0x6b000;
        assert_eq!(
            ops(&t),
            [Op::R(bcr), Op::W(bcr, 1), Op::R(bcr), Op::D(1), Op::R(bcr), Op::W(bcr, 0), Op::R(bcr)]
        );
    });
}

#[test]
fn imx8mm_falls_back_to_the_imx8mq_signals_and_pulses_the_mask() {
    // imx8mq_src_signals[IMX8MQ_RESET_A53_CORE_POR_RESET0 = 0] = { SRC_A53RCR0 (0x4), BIT(0) }.
    with_driver("/soc/reset-controller@30390000", |d| {
        let (t, mode) = reset(d, &[0]);
        assert_eq!(mode, Mode::Pulse { us: 10 });
        let rcr = 0x3039_0004;
        assert_eq!(ops(&t), [Op::R(rcr), Op::W(rcr, 1), Op::D(10), Op::R(rcr), Op::W(rcr, 0)]);
        assert!(d.xlate(&[53]).is_err());
    });
}

#[test]
fn ast2600_writes_set_and_clear_registers_without_reading() {
    // clk-ast2600.c: id 33 -> SCU050 bit 1; deassert writes the bit to SCU054.
    with_driver("/soc/syscon@1e6f2000", |d| {
        let (t, mode) = reset(d, &[33]);
        assert_eq!(mode, Mode::Pulse { us: 10 });
        assert_eq!(ops(&t), [Op::W(0x1e6f_2050, 0x2), Op::D(10), Op::W(0x1e6f_2054, 0x2)]);
        assert!(d.xlate(&[64]).is_err());
    });
}

#[test]
fn stm32mp1_sdmmc1_3280_pulses_set_then_clr() {
    with_driver("/soc/rcc@50000000", |d| {
        let (t, mode) = reset(d, &[3280]);
        assert_eq!(mode, Mode::Pulse { us: 10 });
        assert_eq!(ops(&t), [Op::W(0x5000_0198, 1 << 16), Op::D(10), Op::W(0x5000_019c, 1 << 16)]);
    });
}

#[test]
fn tegra124_sdmmc4_15_and_uartd_65_use_the_bank_set_clr_pairs() {
    with_driver("/soc/clock@60006000", |d| {
        let (t, mode) = reset(d, &[15]);
        assert_eq!(mode, Mode::Kernel);
        assert_eq!(ops(&t), [Op::W(0x6000_6300, 0x8000), Op::D(1), Op::W(0x6000_6304, 0x8000)]);
        let (t, _) = reset(d, &[65]);
        assert_eq!(ops(&t), [Op::W(0x6000_6310, 0x2), Op::D(1), Op::W(0x6000_6314, 0x2)]);
        assert_eq!(names(&t), ["RST_DEV_U_SET", "RST_DEV_U_CLR"]);
        // 6 banks, then TEGRA124_RST_DFLL_DVCO 192 (tegra124_reset_assert: RST_DFLL_DVCO bit 0),
        // and nothing after it.
        let (t, mode) = reset(d, &[192]);
        assert_eq!(mode, Mode::Kernel);
        assert!(ops(&t).contains(&Op::D(1)), "assert, 1 us, deassert: {:?}", ops(&t));
        assert!(names(&t).iter().all(|n| n == "RST_DFLL_DVCO"), "{:?}", names(&t));
        assert!(d.xlate(&[193]).is_err(), "6 banks and one special reset on Tegra124");
    });
}

#[test]
fn imx6q_ipu1_sets_scr_bit3_and_polls_it_clear_for_one_second() {
    with_driver("/soc/reset-controller@20d8000", |d| {
        let (t, mode) = reset(d, &[2]);
        assert_eq!(mode, Mode::Kernel);
        assert_eq!(ops(&t), [Op::R(0x020d_8000), Op::W(0x020d_8000, 0x8), Op::P(0x020d_8000, 0x8, 0)]);
        match &t.ops()[2] {
            MmioOp::Poll32 { timeout_us, .. } => assert_eq!(*timeout_us, 1_000_000),
            other => panic!("{other:?}"),
        }
        assert!(d.xlate(&[5]).is_err());
        let mut t = Trace::new();
        assert!(d.assert(&mut t, 0).is_err(), "no .assert on the SRC");
    });
}

#[test]
fn aspeed_ast2500_sets_and_clears_scu04_bits_only_when_they_change() {
    with_driver("/soc/syscon@1e6e2000", |d| {
        let (t, mode) = reset(d, &[0]);
        assert_eq!(mode, Mode::Pulse { us: 10 });
        assert_eq!(
            ops(&t),
            [
                Op::R(0x1e6e_2004),
                Op::W(0x1e6e_2004, 1 << 25),
                Op::D(10),
                Op::R(0x1e6e_2004),
                Op::W(0x1e6e_2004, 0)
            ]
        );
        let mut t = Trace::new();
        t.preset(PhysAddr::new(0x1e6e_20d4), 1 << 5);
        d.assert(&mut t, 9).unwrap();
        assert_eq!(ops(&t), [Op::R(0x1e6e_20d4)], "already set: no write");
    });
}

#[test]
fn altera_rst_mgr_modrst_offset_and_active_low_status() {
    with_driver("/soc/rstmgr@ffd05000", |d| {
        let (t, _) = reset(d, &[33]);
        assert_eq!(
            ops(&t),
            [
                Op::R(0xffd0_5014),
                Op::W(0xffd0_5014, 0x2),
                Op::D(10),
                Op::R(0xffd0_5014),
                Op::W(0xffd0_5014, 0)
            ]
        );
        let mut t = Trace::new();
        assert!(d.status(&mut t, 33).unwrap(), "bit clear reads as asserted");
        assert!(d.xlate(&[256]).is_err());
    });
}

#[test]
fn dw_low_reset_is_active_low_with_lines_from_the_window_size() {
    with_driver("/soc/reset-controller@80000", |d| {
        let mut t = Trace::new();
        t.preset(PhysAddr::new(0x80004), 0xffff_ffff);
        d.assert(&mut t, 35).unwrap();
        assert_eq!(t.value(PhysAddr::new(0x80004)), 0xffff_fff7);
        assert!(d.status(&mut t, 35).unwrap());
        assert!(d.xlate(&[63]).is_ok() && d.xlate(&[64]).is_err(), "8 bytes: 64 lines");
    });
}

#[test]
fn firmware_providers_are_recognised_and_never_driven() {
    let blob = platreset_testkit::fixture("reset-controllers");
    let fdt = Fdt::parse(&blob).unwrap();
    for path in ["/soc/reset-controller", "/firmware/scmi/protocol@16"] {
        match bind(&fdt.find_path(path).unwrap()).unwrap() {
            Binding::Firmware { interface, .. } => assert!(!interface.is_empty()),
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[test]
fn unknown_compatibles_and_missing_reg_are_clear_errors() {
    let blob = platreset_testkit::fixture("reset-controllers");
    let fdt = Fdt::parse(&blob).unwrap();
    let err = bind(&fdt.find_path("/soc/reset-controller@90000").unwrap()).unwrap_err();
    assert!(
        matches!(&err, BindError::Unsupported { compatible, .. } if compatible == &["vendor,mystery-reset"])
    );
    assert!(err.to_string().contains("/soc/reset-controller@90000"), "{err}");
    let err = bind(&fdt.find_path("/soc/reset-controller-noreg").unwrap()).unwrap_err();
    assert!(matches!(err, BindError::NoReg { .. }), "{err}");
}

#[test]
fn an_id_mapping_outside_the_window_is_refused_not_written() {
    // The Aspeed SCU window is 0x1a8 bytes: SCU0D4 fits. Shrink it to prove the check.
    let window = platreset_reset::Window { base: PhysAddr::new(0x1e6e_2000), size: 0x10 };
    let scu = platreset_reset::controllers::aspeed::AspeedScu::for_compatible(window, "aspeed,ast2500-scu")
        .unwrap();
    let mut t = Trace::new();
    assert!(scu.assert(&mut t, 9).is_err());
    assert!(t.ops().is_empty());
}
