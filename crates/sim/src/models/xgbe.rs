//! The AMD Seattle 10 GbE controller (`amd,xgbe-seattle-v1a`), at register level, as
//! drivers/net/ethernet/amd/xgbe (xgbe-common.h, xgbe-dev.c) describes it: the device Linux's
//! `vfio_platform_amdxgbe.c` resets (REFERENCE §1).
//!
//! Region 0, the XGMAC: MAC_TCR 0x0000 (TE bit 0), MAC_RCR 0x0004 (RE bit 0), DMA_MR 0x3000
//! (SWR bit 0), DMA_ISR 0x3008, and DMA channel 0 at 0x3100: TCR +0x04 (ST bit 0), RCR +0x08
//! (SR bit 0), IER +0x38, SR +0x60 (write 1 to clear). Each started direction writes
//! [`DMA_CHUNK`](crate::DMA_CHUNK) bytes into RAM every tick and raises its status bit. Setting DMA_MR.SWR resets
//! the MAC, the MTL and the DMA: the bit reads 1 for [`SWR_US`], the DMA running all the while,
//! then every XGMAC register returns to its reset value and the engines stop.
//!
//! Region 1, the XPCS, is indirect: the upper bits of an MMD address (`mmd << 16 | register`,
//! shifted right by 8) are written to PCS_MMD_SELECT at 0xFF << 2, and its low byte, shifted left
//! by 2, is the offset inside the window. Modelled: the PCS control register (MMD 3, register 0)
//! whose reset bit 0x8000 clears itself after [`PCS_RESET_US`], and auto-negotiation (MMD 7):
//! control (enable bit 0x1000), interrupt mask 0x8001 and interrupt status 0x8002 (written zeros
//! clear, as xgbe-mdio.c's acknowledgement `~an_int` implies).
//!
//! The interrupt line is high while a DMA status bit is pending and enabled, or an
//! auto-negotiation interrupt is pending and unmasked. A reset input, when wired, clears
//! everything. Broken IP (the DMA-survives-reset fault) keeps the engines running through
//! DMA_MR.SWR, a cleared start bit or the reset input, while the registers read as reset.

use platreset_fdt::{Node, NodeId};

use crate::device::{DeviceModel, DeviceRegs, ResetInput};
use crate::dma::{Buffers, Direction, Step};
use crate::hw::HwError;
use crate::ram::Ram;
use crate::time::Tick;

/// The compatible this model answers.
pub const COMPATIBLE: &str = "amd,xgbe-seattle-v1a";

/// How long DMA_MR.SWR takes to complete, in µs.
pub const SWR_US: u64 = 50;
/// How long the PCS reset bit takes to clear, in µs.
pub const PCS_RESET_US: u64 = 1_000;

/// Register offsets in region 0, the XGMAC (xgbe-common.h).
pub mod regs {
    /// MAC transmit configuration.
    pub const MAC_TCR: u64 = 0x0000;
    /// MAC receive configuration.
    pub const MAC_RCR: u64 = 0x0004;
    /// DMA mode: bit 0 is the software reset.
    pub const DMA_MR: u64 = 0x3000;
    /// DMA interrupt status: bit 0 summarises channel 0 (read only).
    pub const DMA_ISR: u64 = 0x3008;
    /// DMA channel 0 transmit control.
    pub const DMA_CH0_TCR: u64 = 0x3104;
    /// DMA channel 0 receive control.
    pub const DMA_CH0_RCR: u64 = 0x3108;
    /// DMA channel 0 interrupt enable.
    pub const DMA_CH0_IER: u64 = 0x3138;
    /// DMA channel 0 status, write 1 to clear.
    pub const DMA_CH0_SR: u64 = 0x3160;
    /// In region 1, the XPCS: the MMD page select.
    pub const PCS_MMD_SELECT: u64 = 0xFF << 2;
}

/// An MMD register as `mmd << 16 | register` (the kernel's MII_ADDR_C45 encoding).
const fn mmd(device: u32, register: u32) -> u32 {
    (device << 16) | register
}

/// PCS control 1 (MMD 3).
const PCS_CTRL1: u32 = mmd(3, 0);
/// AN control 1 (MMD 7).
const AN_CTRL1: u32 = mmd(7, 0);
/// AN interrupt mask.
const AN_INTMASK: u32 = mmd(7, 0x8001);
/// AN interrupt status.
const AN_INT: u32 = mmd(7, 0x8002);

const CTRL1_RESET: u32 = 0x8000;
/// PCS control 1 after reset: speed selection 10 Gb/s (bits 13 and 6).
const PCS_CTRL1_DEFAULT: u32 = 0x2040;
const AN_ENABLE: u32 = 0x1000;
/// Clause 73 interrupts: complete, incompatible link, page received.
const AN_INT_MASK_BITS: u32 = 0x7;
const AN_INT_COMPLETE: u32 = 0x1;

const ENABLE: u32 = 1;
const SR_TI: u32 = 0x1;
const SR_RI: u32 = 0x40;
const SR_FBE: u32 = 0x1000;
const IER_NIE: u32 = 0x1_0000;
const IER_AIE: u32 = 0x8000;

/// The model for a node whose first compatible is `amd,xgbe-seattle-v1a`.
pub fn model(compatible: &str, node: &Node<'_, '_>) -> Option<Box<dyn DeviceModel>> {
    (compatible == COMPATIBLE).then(|| Box::new(Xgbe::new(node.id())) as Box<dyn DeviceModel>)
}

/// The XGMAC's registers (what DMA_MR.SWR returns to reset values).
#[derive(Debug, Clone, Copy, Default)]
struct Mac {
    mac_tcr: u32,
    mac_rcr: u32,
    dma_mr: u32,
    tcr: u32,
    rcr: u32,
    ier: u32,
    sr: u32,
}

/// The XPCS's modelled MMD registers.
#[derive(Debug, Clone, Copy)]
struct Xpcs {
    select: u32,
    pcs_ctrl1: u32,
    an_ctrl1: u32,
    an_intmask: u32,
    an_int: u32,
}

impl Default for Xpcs {
    fn default() -> Xpcs {
        Xpcs { select: 0, pcs_ctrl1: PCS_CTRL1_DEFAULT, an_ctrl1: AN_ENABLE, an_intmask: 0, an_int: 0 }
    }
}

/// The AMD XGBE.
#[derive(Debug, Clone)]
pub struct Xgbe {
    node: NodeId,
    mac: Mac,
    xpcs: Xpcs,
    rx: Direction,
    tx: Direction,
    /// When a pending DMA_MR.SWR completes.
    swr_done: Option<Tick>,
    /// When a pending PCS reset completes.
    pcs_done: Option<Tick>,
    reset: ResetInput,
    broken: bool,
}

impl Xgbe {
    /// A device at its reset values.
    pub fn new(node: NodeId) -> Xgbe {
        Xgbe {
            node,
            mac: Mac::default(),
            xpcs: Xpcs::default(),
            rx: Direction::default(),
            tx: Direction::default(),
            swr_done: None,
            pcs_done: None,
            reset: ResetInput::default(),
            broken: false,
        }
    }

    /// Completes the self-timed resets due by `now`.
    fn settle(&mut self, now: Tick) {
        if self.swr_done.is_some_and(|t| t <= now) {
            self.swr_done = None;
            self.mac = Mac::default();
            // Broken IP: the registers read as reset, the engines keep going.
            if !self.broken {
                self.rx.running = false;
                self.tx.running = false;
            }
        }
        if self.pcs_done.is_some_and(|t| t <= now) {
            self.pcs_done = None;
            self.xpcs.pcs_ctrl1 = PCS_CTRL1_DEFAULT;
        }
    }

    /// The MMD register the XPCS window offset `offset` reaches under the current page select.
    fn mmd_at(&self, offset: u64) -> Option<u32> {
        (offset < regs::PCS_MMD_SELECT && offset.is_multiple_of(4))
            .then_some((self.xpcs.select << 8) | (offset >> 2) as u32)
    }

    fn read_mmd(&self, address: u32) -> u32 {
        match address {
            PCS_CTRL1 => self.xpcs.pcs_ctrl1,
            AN_CTRL1 => self.xpcs.an_ctrl1,
            AN_INTMASK => self.xpcs.an_intmask,
            AN_INT => self.xpcs.an_int,
            // The rest of the PCS, the PMA and the vendor pages read as zero here.
            _ => 0,
        }
    }

    fn write_mmd(&mut self, address: u32, value: u32, now: Tick) {
        match address {
            PCS_CTRL1 => {
                if value & CTRL1_RESET != 0 && self.pcs_done.is_none() {
                    self.pcs_done = Some(now + PCS_RESET_US);
                }
                // The reset bit reads 1 until the reset completes, whatever is written meanwhile.
                let resetting = if self.pcs_done.is_some() { CTRL1_RESET } else { 0 };
                self.xpcs.pcs_ctrl1 = (value & 0xFFFF) | resetting;
            }
            AN_CTRL1 => self.xpcs.an_ctrl1 = value & 0xFFFF,
            AN_INTMASK => self.xpcs.an_intmask = value & AN_INT_MASK_BITS,
            AN_INT => self.xpcs.an_int &= value,
            _ => {}
        }
    }

    fn write_mac(&mut self, offset: u64, value: u32, now: Tick) {
        match offset {
            regs::MAC_TCR => self.mac.mac_tcr = value,
            regs::MAC_RCR => self.mac.mac_rcr = value,
            regs::DMA_MR => {
                // The reset bit cannot be cleared by software, only by the reset completing.
                self.mac.dma_mr = value | (self.mac.dma_mr & ENABLE);
                if value & ENABLE != 0 && self.swr_done.is_none() {
                    self.swr_done = Some(now + SWR_US);
                }
            }
            regs::DMA_CH0_TCR => {
                self.mac.tcr = value;
                Self::start_bit(&mut self.tx, value, self.broken);
            }
            regs::DMA_CH0_RCR => {
                self.mac.rcr = value;
                Self::start_bit(&mut self.rx, value, self.broken);
            }
            regs::DMA_CH0_IER => self.mac.ier = value,
            regs::DMA_CH0_SR => self.mac.sr &= !value,
            _ => {}
        }
    }

    /// A start bit written: the engine follows it, except that broken IP never stops.
    fn start_bit(direction: &mut Direction, value: u32, broken: bool) {
        if value & ENABLE != 0 {
            direction.running = true;
        } else if !broken {
            direction.running = false;
        }
    }

    /// One direction moves a chunk; a write outside RAM is a fatal bus error that stops it.
    fn transfer(direction: &mut Direction, node: NodeId, sr: &mut u32, bit: u32, now: Tick, ram: &mut Ram) {
        match direction.step(node, 0xA3, now, ram) {
            Step::Wrote => *sr |= bit,
            Step::Fault => *sr |= SR_FBE,
            Step::Idle => {}
        }
    }
}

impl DeviceModel for Xgbe {
    fn node(&self) -> NodeId {
        self.node
    }

    fn kind(&self) -> &'static str {
        "amd-xgbe"
    }

    fn read(&mut self, region: usize, offset: u64, now: Tick) -> Result<u32, HwError> {
        self.settle(now);
        Ok(match (region, offset) {
            (0, regs::MAC_TCR) => self.mac.mac_tcr,
            (0, regs::MAC_RCR) => self.mac.mac_rcr,
            (0, regs::DMA_MR) => self.mac.dma_mr,
            (0, regs::DMA_ISR) => u32::from(self.mac.sr != 0),
            (0, regs::DMA_CH0_TCR) => self.mac.tcr,
            (0, regs::DMA_CH0_RCR) => self.mac.rcr,
            (0, regs::DMA_CH0_IER) => self.mac.ier,
            (0, regs::DMA_CH0_SR) => self.mac.sr,
            (1, regs::PCS_MMD_SELECT) => self.xpcs.select,
            (1, _) => self.mmd_at(offset).map_or(0, |address| self.read_mmd(address)),
            _ => 0,
        })
    }

    fn write(&mut self, region: usize, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        self.settle(now);
        if self.reset.held() {
            return Ok(()); // a device held in reset ignores its bus
        }
        match (region, offset) {
            (0, _) => self.write_mac(offset, value, now),
            // The select register holds address bits 23:8.
            (1, regs::PCS_MMD_SELECT) => self.xpcs.select = value & 0xFFFF,
            (1, _) => {
                if let Some(address) = self.mmd_at(offset) {
                    self.write_mmd(address, value, now);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reset_input(&mut self, asserted: bool, now: Tick) {
        if self.reset.change(asserted, now) {
            self.mac = Mac::default();
            self.xpcs = Xpcs::default();
            self.swr_done = None;
            self.pcs_done = None;
            if !self.broken {
                self.rx = Direction::default();
                self.tx = Direction::default();
            }
        }
    }

    fn start_traffic(&mut self, dst: u64, len: u64, now: Tick) {
        let half = len / 2;
        self.rx.buffers = Some(Buffers { dst, len: half, done: 0 });
        self.tx.buffers = Some(Buffers { dst: dst.wrapping_add(half), len: len - half, done: 0 });
        self.mac.mac_tcr = ENABLE;
        self.mac.mac_rcr = ENABLE;
        self.mac.ier = IER_NIE | IER_AIE | SR_FBE | SR_RI | SR_TI;
        self.write_mac(regs::DMA_CH0_TCR, ENABLE, now);
        self.write_mac(regs::DMA_CH0_RCR, ENABLE, now);
        // Auto-negotiation brought the link up and its completion is still unacknowledged.
        self.xpcs.an_ctrl1 = AN_ENABLE;
        self.xpcs.an_intmask = AN_INT_MASK_BITS;
        self.xpcs.an_int = AN_INT_COMPLETE;
    }

    fn busy(&self) -> bool {
        self.rx.busy() || self.tx.busy() || self.swr_done.is_some() || self.pcs_done.is_some()
    }

    fn tick(&mut self, now: Tick, ram: &mut Ram) {
        self.settle(now);
        if self.reset.held() && !self.broken {
            return;
        }
        Self::transfer(&mut self.rx, self.node, &mut self.mac.sr, SR_RI, now, ram);
        Self::transfer(&mut self.tx, self.node, &mut self.mac.sr, SR_TI, now, ram);
    }

    fn irq(&self) -> bool {
        self.mac.sr & self.mac.ier != 0 || self.xpcs.an_int & self.xpcs.an_intmask != 0
    }

    fn regs(&self) -> DeviceRegs {
        DeviceRegs(vec![
            ("DMA_MR.SWR", self.mac.dma_mr & ENABLE, 0),
            ("MAC_TCR.TE", self.mac.mac_tcr & ENABLE, 0),
            ("MAC_RCR.RE", self.mac.mac_rcr & ENABLE, 0),
            ("DMA_CH0_TCR.ST", self.mac.tcr & ENABLE, 0),
            ("DMA_CH0_RCR.SR", self.mac.rcr & ENABLE, 0),
            ("DMA_CH0_IER", self.mac.ier, 0),
            ("XPCS MMD3 CTRL1.RESET", self.xpcs.pcs_ctrl1 & CTRL1_RESET, 0),
            ("XPCS MMD7 AN_INTMASK", self.xpcs.an_intmask, 0),
            ("XPCS MMD7 AN_INT", self.xpcs.an_int, 0),
        ])
    }

    fn break_reset(&mut self) {
        self.broken = true;
    }

    fn set_min_hold(&mut self, us: u64) {
        self.reset.set_min_hold(us);
    }
}
