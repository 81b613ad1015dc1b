//! The register-level models of the three devices Linux's device-specific vfio-platform handlers
//! reset (REFERENCE §1), checked by running platreset's real handlers (crates/policy/src/handlers.rs)
//! on them through `verify`, and by running deliberately wrong sequences that must be caught.
//!
//! Fixture: tests/dts/sim-handlers.dts. Addresses below come from its `reg` (the `soc` bus has an
//! empty `ranges`, so bus addresses are CPU addresses) plus the register offsets of REFERENCE §1.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{failed, reg};
use platreset_fdt::{Fdt, NodeId};
use platreset_reset::Mmio;
use platreset_sim::verify::{verify, Performer, Report, ResetBy, Sequence, VerifyError};
use platreset_sim::{Fault, SimError, SimMmio, Soc};
use platreset_topology::Topology;

const XGMAC: &str = "/soc/ethernet@fff50000";
const XGBE: &str = "/soc/ethernet@e0700000";
const FLEXRM: &str = "/soc/mailbox@67000000";

// calxeda,hb-xgmac: reg = <0x0 0xfff50000 0x0 0x1000>.
const XGMAC_BASE: u64 = 0xfff5_0000;
// amd,xgbe-seattle-v1a: region 0 (XGMAC) at 0xe0700000, region 1 (XPCS) at 0xe0780000.
const XGBE_MAC: u64 = 0xe070_0000;
const XGBE_XPCS: u64 = 0xe078_0000;
// brcm,iproc-flexrm-mbox: reg = <0x0 0x67000000 0x0 0x40000>, a ring every 0x10000.
const FLEXRM_BASE: u64 = 0x6700_0000;
const FLEXRM_RINGS: u64 = 4;

const DMA_CHECK: &str = "no DMA write by the device after the reset";
const IRQ_CHECK: &str = "its interrupt line is low";
const REGS_CHECK: &str = "its registers are at their reset values";
const COMPLETED_CHECK: &str = "the reset method completed";

fn blob() -> Vec<u8> {
    platreset_testkit::fixture("sim-handlers")
}

fn compatible(path: &str) -> &'static str {
    match path {
        XGMAC => "calxeda,hb-xgmac",
        XGBE => "amd,xgbe-seattle-v1a",
        _ => "brcm,iproc-flexrm-mbox",
    }
}

fn run(path: &str, faults: &[Fault], performer: Performer<'_>) -> Result<Report, VerifyError> {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let id = fdt.find_path(path).unwrap().id();
    verify(&topology, id, &ResetBy::Handler(compatible(path).to_string()), faults, 10, performer)
}

fn resolved(path: &str) -> Report {
    run(path, &[], Performer::Resolved).unwrap()
}

fn custom(path: &str, sequence: Sequence<'_>) -> Report {
    run(path, &[], Performer::Custom(sequence)).unwrap()
}

fn evidence<'r>(report: &'r Report, check: &str) -> &'r str {
    &report.checks.iter().find(|c| c.name == check).unwrap().evidence
}

fn kind_of(path: &str) -> &'static str {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let id: NodeId = fdt.find_path(path).unwrap().id();
    let soc = Soc::build(&topology, &[id]).unwrap();
    soc.model(id).unwrap().kind()
}

/// Runs a sequence step, turning an access error into the sequence's error.
fn step<T>(result: Result<T, platreset_reset::MmioError>) -> Result<T, String> {
    result.map_err(|e| e.to_string())
}

#[test]
fn each_device_gets_its_register_level_model_by_first_compatible() {
    assert_eq!(kind_of(XGMAC), "calxeda-xgmac");
    assert_eq!(kind_of(XGBE), "amd-xgbe");
    assert_eq!(kind_of(FLEXRM), "brcm-flexrm");
}

// ---------------------------------------------------------------------------------------------
// The real handlers pass

#[test]
fn calxeda_xgmac_handler_stops_dma_interrupts_and_mac() {
    let report = resolved(XGMAC);
    assert!(report.pass(), "{:#?}", report.checks);
    // Traffic was flowing when the handler ran: the last write precedes its return.
    assert!(evidence(&report, DMA_CHECK).starts_with("last write at "), "{}", evidence(&report, DMA_CHECK));
    assert_eq!(report.ops.len(), 5, "INTR_ENA write, DMA_CONTROL and MAC_CONFIG read-modify-writes");
}

#[test]
fn amd_xgbe_handler_resets_phy_masks_autoneg_and_soft_resets_the_mac() {
    let report = resolved(XGBE);
    assert!(report.pass(), "{:#?}", report.checks);
    assert!(evidence(&report, DMA_CHECK).starts_with("last write at "), "{}", evidence(&report, DMA_CHECK));
    // One 20 ms PHY poll (the PCS reset takes 1 ms), then DMA_MR.SWR: 10 us and one 500 us poll.
    let took = report.reset_done - report.reset_start;
    assert!((20_000 + 10..=20_000 + 10 + 500).contains(&took), "{took} us");
}

#[test]
fn flexrm_handler_deactivates_and_flushes_every_ring() {
    let report = resolved(FLEXRM);
    assert!(report.pass(), "{:#?}", report.checks);
    assert!(evidence(&report, DMA_CHECK).starts_with("last write at "), "{}", evidence(&report, DMA_CHECK));
    // Each ring: the flush (50 us) is seen done at the first 1 ms poll.
    let took = report.reset_done - report.reset_start;
    assert_eq!(took, FLEXRM_RINGS * 1_000, "{took} us");
}

// ---------------------------------------------------------------------------------------------
// Faults

#[test]
fn a_flexrm_flush_that_never_completes_is_the_handlers_timeout_naming_flush_done() {
    let report = run(FLEXRM, &[Fault::NoFlush], Performer::Resolved).unwrap();
    let failures = failed(&report);
    assert!(failures.contains(&COMPLETED_CHECK), "{:#?}", report.checks);
    let why = evidence(&report, COMPLETED_CHECK);
    assert!(why.contains("ring 0 RING_FLUSH_DONE") && why.contains("did not settle"), "{why}");
    // The kernel gives up on a ring with its flush still requested, and so does the handler.
    assert!(failures.contains(&REGS_CHECK), "{:#?}", report.checks);
    assert!(
        evidence(&report, REGS_CHECK).contains("ring0 RING_CONTROL = 0x20"),
        "{}",
        evidence(&report, REGS_CHECK)
    );
    // Every ring waited its second.
    assert!(report.reset_done - report.reset_start >= FLEXRM_RINGS * 1_000_000);
}

#[test]
fn no_flush_does_not_apply_to_the_xgmac() {
    let err = run(XGMAC, &[Fault::NoFlush], Performer::Resolved).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Sim(SimError::FaultDoesNotApply { fault: "no-flush", node, .. }) if node == XGMAC),
        "{err}"
    );
}

#[test]
fn dma_that_survives_the_handler_is_caught_on_each_device() {
    for path in [XGMAC, XGBE, FLEXRM] {
        let report = run(path, &[Fault::DmaSurvivesReset], Performer::Resolved).unwrap();
        assert!(failed(&report).contains(&DMA_CHECK), "{path}: {:#?}", report.checks);
        assert!(!failed(&report).contains(&REGS_CHECK), "{path}: the registers read as stopped");
    }
}

// ---------------------------------------------------------------------------------------------
// Wrong sequences are caught

#[test]
fn xgmac_disabling_the_mac_but_leaving_dma_started_is_caught() {
    // The handler without its DMA_CONTROL (0xF18) read-modify-write.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        step(mmio.write32(&reg(XGMAC_BASE + 0xF1C, "XGMAC_DMA_INTR_ENA"), 0))?;
        let control = reg(XGMAC_BASE, "XGMAC_CONTROL");
        let value = step(mmio.read32(&control))?;
        step(mmio.write32(&control, value & !(0x8 | 0x4)))
    };
    let report = custom(XGMAC, &wrong);
    assert_eq!(failed(&report), [DMA_CHECK, REGS_CHECK], "{:#?}", report.checks);
    assert_eq!(evidence(&report, REGS_CHECK), "DMA_CONTROL.ST|SR = 0x2002 (reset value 0x0)");
}

/// The kernel's `xmdio_write`: the MMD address's bits 23:8 to PCS_MMD_SELECT (0xFF << 2), then
/// the register at its low byte << 2.
fn xmdio_write(mmio: &mut SimMmio<'_>, mmd: u32, register: u32, value: u32) -> Result<(), String> {
    let address = (mmd << 16) | register;
    step(mmio.write32(&reg(XGBE_XPCS + (0xFF << 2), "PCS_MMD_SELECT"), address >> 8))?;
    step(mmio.write32(&reg(XGBE_XPCS + (u64::from(address & 0xFF) << 2), "MMD register"), value))
}

/// The handler's PHY half: PCS reset (MMD 3 CTRL1 bit 15) waited for, AN off and its interrupts
/// masked and cleared (MMD 7 registers 0, 0x8001, 0x8002).
fn xgbe_phy_half(mmio: &mut SimMmio<'_>) -> Result<(), String> {
    xmdio_write(mmio, 3, 0, 0x2040 | 0x8000)?;
    step(mmio.poll32(&reg(XGBE_XPCS, "MMD3.CTRL1"), 0x8000, 0, 1_000_000))?;
    xmdio_write(mmio, 7, 0, 0)?;
    xmdio_write(mmio, 7, 0x8001, 0)?;
    xmdio_write(mmio, 7, 0x8002, 0)
}

#[test]
fn xgbe_skipping_the_mac_software_reset_is_caught() {
    let report = custom(XGBE, &xgbe_phy_half);
    assert_eq!(failed(&report), [DMA_CHECK, IRQ_CHECK, REGS_CHECK], "{:#?}", report.checks);
    let regs = evidence(&report, REGS_CHECK);
    assert!(regs.contains("DMA_CH0_TCR.ST = 0x1") && regs.contains("DMA_CH0_RCR.SR = 0x1"), "{regs}");
    assert!(!regs.contains("XPCS"), "the PHY half was done: {regs}");
}

#[test]
fn xgbe_not_waiting_for_the_mac_software_reset_is_caught() {
    // DMA_MR (0x3000) bit 0 set, then returning at once: the DMA runs until SWR completes.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        xgbe_phy_half(mmio)?;
        step(mmio.write32(&reg(XGBE_MAC + 0x3000, "DMA_MR"), 1))
    };
    let report = custom(XGBE, &wrong);
    assert_eq!(failed(&report), [DMA_CHECK], "{:#?}", report.checks);
    let dma = evidence(&report, DMA_CHECK);
    assert!(dma.contains(&format!("first at {} us", report.reset_done + 1)), "{dma}");
}

#[test]
fn flexrm_withdrawing_the_flush_before_it_is_done_is_caught() {
    // Each ring: RING_CONTROL (+0x34) = 0, flush (bit 5), and 0 again without polling
    // RING_FLUSH_DONE (+0x38): the flush is dropped and the requests in flight keep completing.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        for ring in 0..FLEXRM_RINGS {
            let control = reg(FLEXRM_BASE + ring * 0x10000 + 0x34, "RING_CONTROL");
            step(mmio.write32(&control, 0))?;
            step(mmio.write32(&control, 1 << 5))?;
            step(mmio.write32(&control, 0))?;
        }
        Ok(())
    };
    let report = custom(FLEXRM, &wrong);
    assert_eq!(failed(&report), [DMA_CHECK, IRQ_CHECK, REGS_CHECK], "{:#?}", report.checks);
    assert!(evidence(&report, REGS_CHECK).contains("ring0 RING_NUM_REQ_OUTSTAND = 0x20"));
}

#[test]
fn flexrm_flushing_an_active_ring_is_caught() {
    // The flush requested with the active bit (4) still set: the ring keeps fetching.
    let wrong = |mmio: &mut SimMmio<'_>| -> Result<(), String> {
        for ring in 0..FLEXRM_RINGS {
            let base = FLEXRM_BASE + ring * 0x10000;
            let control = reg(base + 0x34, "RING_CONTROL");
            step(mmio.write32(&control, (1 << 4) | (1 << 5)))?;
            step(mmio.poll32(&reg(base + 0x38, "RING_FLUSH_DONE"), 1, 1, 1_000_000))?;
            step(mmio.write32(&control, 1 << 4))?;
        }
        Ok(())
    };
    let report = custom(FLEXRM, &wrong);
    assert!(failed(&report).contains(&DMA_CHECK), "{:#?}", report.checks);
    assert!(evidence(&report, REGS_CHECK).contains("ring0 RING_CONTROL = 0x10"));
}

#[test]
fn xgbe_xpcs_registers_are_reached_through_the_mmd_select_window() {
    let blob = blob();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let id = fdt.find_path(XGBE).unwrap().id();
    let mut soc = Soc::build(&topology, &[id]).unwrap();
    soc.model_mut(id).unwrap().start_traffic(0x8001_0000, 0x1000, 0);
    let select = XGBE_XPCS + (0xFF << 2);
    // MMD 7 register 0x8001 (AN interrupt mask): select 0x780, offset 0x01 << 2.
    soc.write32(select, 0x780, "PCS_MMD_SELECT").unwrap();
    assert_eq!(soc.read32(XGBE_XPCS + 0x4, "AN_INTMASK").unwrap(), 0x7);
    // MMD 3 register 0 (PCS control 1): select 0x300, offset 0; the reset bit clears itself in 1 ms.
    soc.write32(select, 0x300, "PCS_MMD_SELECT").unwrap();
    soc.write32(XGBE_XPCS, 0x2040 | 0x8000, "MMD3.CTRL1").unwrap();
    assert_eq!(soc.read32(XGBE_XPCS, "MMD3.CTRL1").unwrap(), 0xA040);
    soc.advance(999);
    assert_eq!(soc.read32(XGBE_XPCS, "MMD3.CTRL1").unwrap() & 0x8000, 0x8000);
    soc.advance(1);
    assert_eq!(soc.read32(XGBE_XPCS, "MMD3.CTRL1").unwrap(), 0x2040);
    // The same offset under the AN page is AN control 1.
    soc.write32(select, 0x700, "PCS_MMD_SELECT").unwrap();
    assert_eq!(soc.read32(XGBE_XPCS, "MMD7.CTRL1").unwrap(), 0x1000);
}
