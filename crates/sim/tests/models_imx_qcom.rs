//! The i.MX5/6 SRC, i.MX7/8M SRC and Qualcomm (clock-controller BCR, AOSS, PDC) hardware models
//! under `verify`: platreset's real drivers pass on a dedicated line, a shared line names the
//! sibling it resets, a stuck reset is caught, and a wrong sequence typical of each family is
//! caught by the check it breaks.
//!
//! Fixtures: tests/dts/sim-imx.dts (i.MX6Q), sim-imx7.dts (i.MX8MQ), sim-qcom.dts (SDM845).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{failed, reg, verify_generic, writes, STUCK};
use platreset_fdt::Fdt;
use platreset_reset::{Mmio, MmioOp};
use platreset_sim::verify::{Performer, Report};
use platreset_sim::{Fault, SimMmio, Soc};
use platreset_topology::Topology;

fn run(fixture: &str, path: &str, faults: &[Fault], performer: Performer<'_>) -> Report {
    verify_generic(&platreset_testkit::fixture(fixture), path, faults, performer)
}

fn resolved(fixture: &str, path: &str, faults: &[Fault]) -> Report {
    run(fixture, path, faults, Performer::Resolved)
}

// ---------------------------------------------------------------------------------------------
// i.MX5/6 SRC (sim-imx.dts)

/// SRC_SCR: the SRC's reg (0x020d8000) + 0x000.
const IMX6_SCR: u64 = 0x020d_8000;
const IPU1: &str = "/soc/ipu@2400000";

#[test]
fn imx6_ipu1_reset_sets_scr_bit_3_and_waits_for_the_self_clear() {
    let report = resolved("sim-imx", IPU1, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md worked example 7: index 2 (IPU1) → SCR bit 3 (0x8), RMW over the running
    // value 0x520 (the model's SCR), then polled until the hardware clears it.
    assert_eq!(writes(&report), [(IMX6_SCR, 0x528)]);
    assert!(report.ops.iter().any(|op| matches!(op, MmioOp::Poll32 { mask: 0x8, expect: 0, .. })));
    // The model's self-clear takes 100 µs; the driver returns only after it.
    assert!(report.reset_done - report.reset_start >= platreset_sim::models::imx::RESET_DURATION_US);
}

#[test]
fn imx6_gpus_share_index_0_and_both_are_reset() {
    // imx6qdl.dtsi: gpu@130000 (3D) and gpu@134000 (2D) both have `resets = <&src 0>`.
    let report = resolved("sim-imx", "/soc/gpu@130000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc/gpu@134000"]);
}

#[test]
fn imx6_stuck_scr_bit_is_caught() {
    let report = resolved("sim-imx", IPU1, &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn imx6_index_used_as_the_scr_bit_resets_the_vpu_instead_of_ipu1() {
    // The binding's index is not the SCR bit: index 2 is bit 3 (sw_reset_bits). A driver using
    // BIT(index) sets bit 2, the VPU's (index 1), and polls that.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let scr = reg(IMX6_SCR, "SRC_SCR");
        mmio.update32(&scr, 0, 1 << 2, false).map_err(|e| e.to_string())?;
        mmio.poll32(&scr, 1 << 2, 0, 1_000_000).map(|_| ()).map_err(|e| e.to_string())
    };
    let report = run("sim-imx", IPU1, &[], Performer::Custom(&wrong));
    let failures = failed(&report);
    for check in STUCK.iter().chain(&["no other device was disturbed"]) {
        assert!(failures.contains(check), "{check}: {:#?}", report.checks);
    }
    assert_eq!(report.collateral, ["/soc/aips-bus@2000000/vpu@2040000"]);
}

#[test]
fn imx6_scr_reset_bits_self_clear_and_ignore_a_written_0() {
    let blob = platreset_testkit::fixture("sim-imx");
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let ipu1 = fdt.find_path(IPU1).unwrap().id();
    let mut soc = Soc::build(&topology, &[]).unwrap();
    assert_eq!(soc.read32(IMX6_SCR, "SCR").unwrap(), 0x520);
    soc.write32(IMX6_SCR, 0x528, "SCR").unwrap();
    assert!(soc.in_reset(ipu1));
    soc.advance(50);
    // A plain write of 0 over a running reset neither ends it nor keeps the bit: the
    // configuration bits it clobbers (0x520) are lost, the reset runs on.
    soc.write32(IMX6_SCR, 0, "SCR").unwrap();
    assert_eq!(soc.read32(IMX6_SCR, "SCR").unwrap(), 0x8);
    assert!(soc.in_reset(ipu1));
    soc.advance(49);
    assert!(soc.in_reset(ipu1));
    soc.advance(1);
    assert!(!soc.in_reset(ipu1), "the bit clears 100 µs after it was set");
    assert_eq!(soc.read32(IMX6_SCR, "SCR").unwrap(), 0);
    assert_eq!(soc.resets_of(ipu1), [0]);
}

// ---------------------------------------------------------------------------------------------
// i.MX7/8M SRC (sim-imx7.dts)

/// The SRC's reg.
const IMX8MQ_SRC: u64 = 0x3039_0000;
const PCIE: &str = "/soc@0/pcie@33800000";
const DSI: &str = "/soc@0/bus@30800000/dsi@30a00000";

#[test]
fn imx8mq_pcie_resets_pulse_each_signal_with_its_own_polarity() {
    let report = resolved("sim-imx7", PCIE, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // imx8mq_src_signals: all three in SRC+0x2C; it reads 0x40 while running (APPS_EN, active
    // low, released). PCIEPHY (26) mask 0x6 set then cleared; APPS_EN (28) mask 0x40 cleared
    // then set; APPS_TURNOFF (29) mask 0x800 set then cleared.
    let rcr = IMX8MQ_SRC + 0x2C;
    assert_eq!(
        writes(&report),
        [(rcr, 0x46), (rcr, 0x40), (rcr, 0x00), (rcr, 0x40), (rcr, 0x840), (rcr, 0x40)]
    );
}

#[test]
fn imx8mq_dsi_active_low_resets_pass() {
    let report = resolved("sim-imx7", DSI, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // MIPI_DSI_*_N (21, 23, 24, 25): masks 0x2, 0x8, 0x10, 0x20 of SRC+0x28, all active low;
    // the register reads 0x3E while running (every *_N released, RESET_N 0x4 included).
    assert_eq!(writes(&report).first(), Some(&(IMX8MQ_SRC + 0x28, 0x3C)));
}

#[test]
fn imx8mq_shared_otg1_phy_reset_names_the_phy() {
    let report = resolved("sim-imx7", "/soc@0/usb@38100000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc@0/usb-phy@381f0040"]);
}

#[test]
fn imx8mq_stuck_reset_is_caught() {
    let report = resolved("sim-imx7", PCIE, &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn imx8mq_active_low_signals_driven_active_high_leave_the_dsi_in_reset() {
    // A driver that ignores `active_low`: it sets each *_N bit to assert (a no-op: they are
    // set) and clears it to deassert, which holds the DSI in reset from then on.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let rcr = reg(IMX8MQ_SRC + 0x28, "SRC_MIPIPHY_RCR");
        for mask in [0x2, 0x8, 0x10, 0x20] {
            mmio.update32(&rcr, 0, mask, true).map_err(|e| e.to_string())?;
            mmio.delay_us(10).map_err(|e| e.to_string())?;
            mmio.update32(&rcr, mask, 0, true).map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    let report = run("sim-imx7", DSI, &[], Performer::Custom(&wrong));
    let failures = failed(&report);
    assert!(failures.contains(&"the device is out of reset again"), "{:#?}", report.checks);
    assert!(!failures.contains(&"the reset reached the device"));
}

// ---------------------------------------------------------------------------------------------
// Qualcomm (sim-qcom.dts)

/// GCC's reg; GCC_PCIE_0_BCR (1) is at +0x6B000 bit 0 (gcc_sdm845_resets).
const GCC_PCIE_0_BCR: u64 = 0x0010_0000 + 0x6_B000;
/// The AOSS clock controller's reg; sdm845_aoss_resets: WCSS (5) at +0x20000.
const AOSS: u64 = 0x0c2a_0000;
/// The PDC's reg; sdm845_pdc_reset_desc: the sync-reset register at +0x100.
const PDC: u64 = 0x0b2e_0000;
const PCI: &str = "/soc@0/pci@1c00000";
const WIFI: &str = "/soc@0/wifi@18800000";
const CDSP: &str = "/soc@0/remoteproc@8300000";

#[test]
fn sdm845_pcie_0_bcr_is_set_then_cleared() {
    let report = resolved("sim-qcom", PCI, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    // CONTROLLERS.md: GCC+0x6B000 bit 0 set, read back, 1 µs, cleared, read back.
    assert_eq!(writes(&report), [(GCC_PCIE_0_BCR, 1), (GCC_PCIE_0_BCR, 0)]);
}

#[test]
fn sdm845_shared_usb3_phy_bcr_names_the_other_phy() {
    let report = resolved("sim-qcom", "/soc@0/phy@88e8000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc@0/phy@88e9000"]);
}

#[test]
fn sdm845_stuck_bcr_is_caught() {
    let report = resolved("sim-qcom", PCI, &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sdm845_bcr_set_and_never_cleared_is_caught() {
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let bcr = reg(GCC_PCIE_0_BCR, "GCC_PCIE_0_BCR");
        mmio.update32(&bcr, 0, 1, true).map_err(|e| e.to_string())?;
        mmio.read32(&bcr).map(|_| ()).map_err(|e| e.to_string())
    };
    let report = run("sim-qcom", PCI, &[], Performer::Custom(&wrong));
    assert!(failed(&report).contains(&"the device is out of reset again"), "{:#?}", report.checks);
}

#[test]
fn sdm845_aoss_wcss_restart_writes_1_then_0() {
    let report = resolved("sim-qcom", WIFI, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(writes(&report), [(AOSS + 0x2_0000, 1), (AOSS + 0x2_0000, 0)]);
    // reset-qcom-aoss.c waits 200 µs after each write.
    assert!(report.reset_done - report.reset_start >= 400);
}

#[test]
fn sdm845_mss_resets_through_aoss_and_pdc() {
    // sdm845.dtsi: the modem's two resets, AOSS_CC_MSS_RESTART (+0x10000) and
    // PDC_MODEM_SYNC_RESET (bit 9 of PDC+0x100, a pulse: the PDC driver has no .reset).
    let report = resolved("sim-qcom", "/soc@0/remoteproc@4080000", &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(
        writes(&report),
        [(AOSS + 0x1_0000, 1), (AOSS + 0x1_0000, 0), (PDC + 0x100, 0x200), (PDC + 0x100, 0)]
    );
}

#[test]
fn sdm845_shared_aoss_gpu_restart_names_the_gmu() {
    let report = resolved("sim-qcom", "/soc@0/gpu@5000000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc@0/gmu@506a000"]);
}

#[test]
fn sdm845_stuck_aoss_restart_is_caught() {
    let report = resolved("sim-qcom", WIFI, &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sdm845_aoss_restart_registers_at_a_fixed_stride_miss_wcss() {
    // 0x10000 + 0x1000 * id holds for indexes 0–4 only: WCSS (5) is at +0x20000, not +0x15000.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let restart = reg(AOSS + 0x1_0000 + 0x1000 * 5, "AOSS_CC_WCSS_RESTART?");
        mmio.write32(&restart, 1).map_err(|e| e.to_string())?;
        mmio.delay_us(200).map_err(|e| e.to_string())?;
        mmio.write32(&restart, 0).map_err(|e| e.to_string())?;
        mmio.delay_us(200).map_err(|e| e.to_string())
    };
    let report = run("sim-qcom", WIFI, &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sdm845_pdc_compute_sync_reset_pulses_bit_8() {
    let report = resolved("sim-qcom", CDSP, &[]);
    assert!(report.pass(), "{:#?}", report.checks);
    assert_eq!(writes(&report), [(PDC + 0x100, 0x100), (PDC + 0x100, 0)]);
}

#[test]
fn sdm845_shared_pdc_display_sync_reset_names_the_dsi() {
    let report = resolved("sim-qcom", "/soc@0/display-subsystem@ae00000", &[]);
    assert_eq!(failed(&report), ["no other device was disturbed"]);
    assert_eq!(report.collateral, ["/soc@0/dsi@ae94000"]);
}

#[test]
fn sdm845_stuck_pdc_bit_is_caught() {
    let report = resolved("sim-qcom", CDSP, &[Fault::StuckReset]);
    assert_eq!(failed(&report), STUCK);
}

#[test]
fn sdm845_pdc_at_the_sc7280_offset_misses_the_sync_reset_register() {
    // The sync-reset register's offset is per SoC: 0x100 on SDM845, 0x1000 on SC7280.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        let sync = reg(PDC + 0x1000, "PDC_SYNC_RESET (sc7280)");
        mmio.update32(&sync, 0, 1 << 8, true).map_err(|e| e.to_string())?;
        mmio.delay_us(10).map_err(|e| e.to_string())?;
        mmio.update32(&sync, 1 << 8, 0, true).map_err(|e| e.to_string())
    };
    let report = run("sim-qcom", CDSP, &[], Performer::Custom(&wrong));
    assert_eq!(failed(&report), STUCK);
}

// ---------------------------------------------------------------------------------------------
// The other compatibles of the same models, register by register

#[test]
fn sc7280_pdc_sync_reset_register_is_at_0x1000() {
    use platreset_sim::models::qcom::QcomReset;
    use platreset_sim::ResetHw;
    // sc7280_pdc_reset_desc: offset 0x1000; PDC_WPSS_SYNC_RESET (11) is bit 11.
    let mut pdc = QcomReset::for_compatible("qcom,sc7280-pdc-global").unwrap();
    let wpss = pdc.signal(&[11]).unwrap();
    pdc.write(0x100, 1 << 11, 0).unwrap();
    assert!(!pdc.asserted(wpss, 0), "0x100 is SDM845's register, not SC7280's");
    pdc.write(0x1000, 1 << 11, 0).unwrap();
    assert!(pdc.asserted(wpss, 0));
    assert_eq!(pdc.signal(&[12]), None, "sc7280_pdc_resets has 12 entries");
}

#[test]
fn imx8mp_perst_is_active_low_where_imx8mq_perst_is_active_high() {
    use platreset_sim::models::imx7::Imx7Src;
    use platreset_sim::ResetHw;
    // imx8mp_src_signals: PCIEPHY_PERST (25) mask 0x8 of +0x2C, active low;
    // imx8mq_src_signals: PCIEPHY_PERST (27) mask 0x8 of +0x2C, active high.
    let mut mp = Imx7Src::for_compatible("fsl,imx8mp-src").unwrap();
    let mut mq = Imx7Src::for_compatible("fsl,imx8mq-src").unwrap();
    assert_eq!(mp.read(0x2C, 0).unwrap() & 0x8, 0x8, "released: set");
    assert_eq!(mq.read(0x2C, 0).unwrap() & 0x8, 0, "released: clear");
    mp.write(0x2C, 0, 0).unwrap();
    mq.write(0x2C, 0x8, 0).unwrap();
    assert!(mp.asserted(25, 0) && mq.asserted(27, 0));
    // i.MX7D: IMX7_RESET_PCIE_CTRL_APPS_EN (22) mask 0x40 of +0x2C, active low.
    let imx7d = Imx7Src::for_compatible("fsl,imx7d-src").unwrap();
    assert!(!imx7d.asserted(22, 0));
}
