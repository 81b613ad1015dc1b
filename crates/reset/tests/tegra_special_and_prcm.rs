//! Two controllers the kernel drives in a way of its own (issue 16, point 7), through the path
//! `platreset reset` takes: bind the DT node, translate the specifier, run the driver on a trace.
//! Tegra210's special resets past the CAR's banks (drivers/clk/tegra/clk-tegra210.c,
//! `tegra210_reset_assert` / `_deassert`), and the sun6i PRCM's reset cell, which has no `reg`
//! and gets its window from the PRCM's MFD driver (drivers/mfd/sun6i-prcm.c). Fixtures
//! tests/dts/sim-tegra210-special.dts and tests/dts/sun6i-prcm.dts; docs/CONTROLLERS.md "Tegra
//! special resets" and "The sun6i PRCM's reset cell".

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{names, ops, Op};
use platreset_fdt::Fdt;
use platreset_reset::{bind, reset_line, BindError, Binding, Mode, PhysAddr, ResetOps, Trace};

fn bound(fixture: &str, path: &str) -> Result<Box<dyn ResetOps>, BindError> {
    let blob = platreset_testkit::fixture(fixture);
    let fdt = Fdt::parse(&blob).unwrap();
    match bind(&fdt.find_path(path).unwrap())? {
        Binding::Mmio(ops) => Ok(ops),
        other => panic!("{path} bound to {other:?}"),
    }
}

fn refusal(fixture: &str, path: &str) -> BindError {
    match bound(fixture, path) {
        Err(e) => e,
        Ok(ops) => panic!("{path} bound to {}", ops.driver()),
    }
}

fn reset(driver: &dyn ResetOps, trace: &mut Trace, args: &[u32]) -> Mode {
    let id = driver.xlate(args).unwrap();
    reset_line(driver, trace, id, 10).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Tegra210 CAR at 0x60006000.

const RST_DFLL_DVCO: u64 = 0x6000_62f4;
const RST_DEV_Y_SET: u64 = 0x6000_62a8;
const RST_DEV_Y_CLR: u64 = 0x6000_62ac;

fn tegra210() -> Box<dyn ResetOps> {
    bound("sim-tegra210-special", "/clock@60006000").unwrap()
}

#[test]
fn tegra210_counts_its_two_special_resets_after_the_banks() {
    // clk.c: nr_resets = periph_banks * 32 + num_special_reset = 7 * 32 + 2.
    let car = tegra210();
    assert_eq!(car.xlate(&[223]), Ok(223));
    assert_eq!(car.xlate(&[224]), Ok(224), "TEGRA210_RST_DFLL_DVCO");
    assert_eq!(car.xlate(&[225]), Ok(225), "TEGRA210_RST_ADSP");
    let err = car.xlate(&[226]).unwrap_err();
    assert!(err.to_string().contains("beyond the controller's 226 lines"), "{err}");
}

#[test]
fn tegra210_dfll_dvco_224_sets_bit0_of_rst_dfll_dvco_reads_it_back_and_clears_it_after_1us() {
    let car = tegra210();
    let mut trace = Trace::new();
    trace.preset(PhysAddr::new(RST_DFLL_DVCO), 0x10);
    // tegra210_clock_assert_dfll_dvco_reset: read, set bit 0, write, read (tegra210_car_barrier);
    // tegra_clk_rst_reset: 1 us; the deassert clears bit 0 the same way.
    assert_eq!(reset(car.as_ref(), &mut trace, &[224]), Mode::Kernel);
    assert_eq!(
        ops(&trace),
        [
            Op::R(RST_DFLL_DVCO),
            Op::W(RST_DFLL_DVCO, 0x11),
            Op::R(RST_DFLL_DVCO),
            Op::D(1),
            Op::R(RST_DFLL_DVCO),
            Op::W(RST_DFLL_DVCO, 0x10),
            Op::R(RST_DFLL_DVCO),
        ]
    );
    assert!(names(&trace).iter().all(|n| n == "RST_DFLL_DVCO"), "{:?}", names(&trace));
}

#[test]
fn tegra210_adsp_225_asserts_the_cluster_and_releases_bit21_5us_before_the_rest() {
    let car = tegra210();
    let mut trace = Trace::new();
    assert_eq!(reset(car.as_ref(), &mut trace, &[225]), Mode::Kernel);
    // GENMASK(26, 21) | BIT(7) to RST_DEV_Y_SET; 1 us; BIT(21) to RST_DEV_Y_CLR, udelay(5),
    // GENMASK(26, 22) | BIT(7) to RST_DEV_Y_CLR. Plain writes: nothing is read.
    assert_eq!(
        ops(&trace),
        [
            Op::W(RST_DEV_Y_SET, 0x07e0_0080),
            Op::D(1),
            Op::W(RST_DEV_Y_CLR, 0x0020_0000),
            Op::D(5),
            Op::W(RST_DEV_Y_CLR, 0x07c0_0080),
        ]
    );
    assert_eq!(names(&trace), ["RST_DEV_Y_SET", "RST_DEV_Y_CLR", "RST_DEV_Y_CLR"]);
}

#[test]
fn tegra210_special_resets_assert_and_deassert_alone() {
    let car = tegra210();
    let mut trace = Trace::new();
    car.assert(&mut trace, 225).unwrap();
    assert_eq!(ops(&trace), [Op::W(RST_DEV_Y_SET, 0x07e0_0080)]);
    let mut trace = Trace::new();
    car.deassert(&mut trace, 224).unwrap();
    assert_eq!(ops(&trace), [Op::R(RST_DFLL_DVCO), Op::W(RST_DFLL_DVCO, 0), Op::R(RST_DFLL_DVCO)]);
    assert!(car.status(&mut Trace::new(), 224).is_err(), "the CAR has no .status");
}

#[test]
fn tegra210_bank_ids_still_use_the_set_clr_pairs() {
    // DVFS 155: bank W (4) bit 27.
    let car = tegra210();
    let mut trace = Trace::new();
    reset(car.as_ref(), &mut trace, &[155]);
    assert_eq!(ops(&trace), [Op::W(0x6000_6438, 1 << 27), Op::D(1), Op::W(0x6000_643c, 1 << 27)]);
}

// ---------------------------------------------------------------------------------------------
// sun6i/sun8i PRCM: the reset cell is 4 bytes at PRCM+0xB0, bound by reset-simple (active low).

const A23_APB0_RESET: u64 = 0x01f0_14b0;

#[test]
fn a23_prcm_reset_child_without_reg_gets_the_cells_window_and_32_active_low_lines() {
    let rst = bound("sun6i-prcm", "/soc/prcm@1f01400/apb0_rst").unwrap();
    assert_eq!(rst.driver(), "reset-simple");
    assert_eq!(rst.xlate(&[31]), Ok(31));
    assert!(rst.xlate(&[32]).is_err(), "4 bytes: 32 lines");
    // R_RSB, line 3: active low, so assert clears bit 3 and deassert sets it again; no .reset,
    // so a reset is the pulse.
    let mut trace = Trace::new();
    trace.preset(PhysAddr::new(A23_APB0_RESET), 0xffff_ffff);
    assert_eq!(reset(rst.as_ref(), &mut trace, &[3]), Mode::Pulse { us: 10 });
    assert_eq!(
        ops(&trace),
        [
            Op::R(A23_APB0_RESET),
            Op::W(A23_APB0_RESET, 0xffff_fff7),
            Op::D(10),
            Op::R(A23_APB0_RESET),
            Op::W(A23_APB0_RESET, 0xffff_ffff),
        ]
    );
    let mut trace = Trace::new();
    trace.preset(PhysAddr::new(A23_APB0_RESET), 0xffff_fffd);
    assert!(rst.status(&mut trace, 1).unwrap(), "status is active low: a clear bit is asserted");
    assert!(!rst.status(&mut trace, 4).unwrap());
}

#[test]
fn a31_prcm_skips_a_disabled_child_and_gives_the_cell_to_the_next() {
    let rst = bound("sun6i-prcm", "/soc/prcm@1f11400/apb0_rst").unwrap();
    let mut trace = Trace::new();
    rst.assert(&mut trace, 5).unwrap();
    assert_eq!(ops(&trace), [Op::R(0x01f1_14b0), Op::W(0x01f1_14b0, 0)]);
    let err = refusal("sun6i-prcm", "/soc/prcm@1f11400/apb0_rst_disabled");
    assert!(matches!(err, BindError::MfdCell { .. }), "{err}");
    assert!(err.to_string().contains("disabled"), "{err}");
}

#[test]
fn a_second_compatible_child_of_the_prcm_gets_no_cell() {
    let err = refusal("sun6i-prcm", "/soc/prcm@1f01400/apb0_rst_second");
    assert!(err.to_string().contains("/soc/prcm@1f01400/apb0_rst comes first"), "{err}");
}

#[test]
fn a_prcm_whose_reg_does_not_hold_the_cell_gives_no_window() {
    let err = refusal("sun6i-prcm", "/soc/prcm@1f21400/apb0_rst");
    assert!(matches!(err, BindError::MfdCell { .. }), "{err}");
    assert!(err.to_string().contains("outside /soc/prcm@1f21400's reg of 0xb0 bytes"), "{err}");
}

#[test]
fn a_lone_clock_reset_node_without_reg_or_prcm_parent_stays_refused() {
    let err = refusal("sun6i-prcm", "/soc/reset-controller-lone");
    assert!(matches!(err, BindError::NoReg { .. }), "{err}");
    assert!(err.to_string().contains("has no reg"), "{err}");
}

#[test]
fn the_dev_mem_window_of_a_prcm_consumer_is_the_cells_not_the_childs_reg() {
    use platreset_reset::perform::{bind_lines, windows, LineSelect};
    let blob = platreset_testkit::fixture("sun6i-prcm");
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = platreset_topology::Topology::build(&fdt);
    let rsb = fdt.find_path("/soc/rsb@1f03400").unwrap().id();
    let lines = bind_lines(&fdt, &topology, rsb, &LineSelect::All).unwrap();
    let found = windows(&fdt, rsb, &lines).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].window.base, found[0].window.size), (PhysAddr::new(0x1f0_14b0), 4));
}
