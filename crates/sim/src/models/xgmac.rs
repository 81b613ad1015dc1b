//! The Calxeda Highbank 10G Ethernet MAC (`calxeda,hb-xgmac`), at register level, as the DMA and
//! MAC registers of drivers/net/ethernet/calxeda/xgmac.c describe it: the device Linux's
//! `vfio_platform_calxedaxgmac.c` quiesces (REFERENCE §1).
//!
//! Region 0: MAC configuration at 0x000 (TE bit 3, RE bit 2), DMA status at 0xF14 (write 1 to
//! clear), DMA control at 0xF18 (ST bit 13 starts transmission, SR bit 1 reception), DMA interrupt
//! enable at 0xF1C. Each started DMA direction writes [`DMA_CHUNK`](crate::DMA_CHUNK) bytes into RAM every tick —
//! reception the frames it receives into its buffers, transmission its descriptor write-back —
//! and raises its status bit; the interrupt line is high while an enabled status bit is pending.
//! Clearing ST or SR stops that direction at once (the silicon first finishes the frame in
//! flight, and neither the kernel handler nor platreset's waits for the stopped state; the model
//! cannot show that window). The receiver and transmitter enables gate the wire, not the DMA, so
//! they do not stop it. A reset input, when wired, clears everything. Broken IP (the
//! DMA-survives-reset fault) keeps an engine running when its start bit or the reset input
//! stops it, while the registers read as stopped.

use platreset_fdt::{Node, NodeId};

use crate::device::{DeviceModel, DeviceRegs, ResetInput};
use crate::dma::{Buffers, Direction, Step};
use crate::hw::HwError;
use crate::ram::Ram;
use crate::time::Tick;

/// The compatible this model answers.
pub const COMPATIBLE: &str = "calxeda,hb-xgmac";

/// Register offsets in region 0 (xgmac.c's `XGMAC_*`).
pub mod regs {
    /// MAC configuration.
    pub const MAC_CONFIG: u64 = 0x000;
    /// DMA status, write 1 to clear.
    pub const DMA_STATUS: u64 = 0xF14;
    /// DMA control (operation mode).
    pub const DMA_CONTROL: u64 = 0xF18;
    /// DMA interrupt enable.
    pub const DMA_INTR_ENA: u64 = 0xF1C;
}

/// MAC_CONFIG: transmitter enable.
pub const MAC_TE: u32 = 0x8;
/// MAC_CONFIG: receiver enable.
pub const MAC_RE: u32 = 0x4;
/// DMA_CONTROL: start transmission.
pub const DMA_ST: u32 = 0x2000;
/// DMA_CONTROL: start reception.
pub const DMA_SR: u32 = 0x2;
/// DMA_CONTROL: operate on second frame, which the driver sets and the handler must keep.
const DMA_OSF: u32 = 0x4;

// DMA status bits; the enable register has the same layout.
const STATUS_TI: u32 = 0x1;
const STATUS_RI: u32 = 0x40;
const STATUS_FBI: u32 = 0x2000;
const STATUS_AIS: u32 = 0x8000;
const STATUS_NIS: u32 = 0x1_0000;
const STATUS_MASK: u32 = 0x1_FFFF;

/// The model for a node whose first compatible is `calxeda,hb-xgmac`.
pub fn model(compatible: &str, node: &Node<'_, '_>) -> Option<Box<dyn DeviceModel>> {
    (compatible == COMPATIBLE).then(|| Box::new(Xgmac::new(node.id())) as Box<dyn DeviceModel>)
}

/// The Calxeda XGMAC.
#[derive(Debug, Clone)]
pub struct Xgmac {
    node: NodeId,
    mac_config: u32,
    dma_status: u32,
    dma_control: u32,
    intr_ena: u32,
    rx: Direction,
    tx: Direction,
    reset: ResetInput,
    broken: bool,
}

impl Xgmac {
    /// A device at its reset values.
    pub fn new(node: NodeId) -> Xgmac {
        Xgmac {
            node,
            mac_config: 0,
            dma_status: 0,
            dma_control: 0,
            intr_ena: 0,
            rx: Direction::default(),
            tx: Direction::default(),
            reset: ResetInput::default(),
            broken: false,
        }
    }

    /// DMA_CONTROL was written: each start bit starts or stops its engine. Broken IP keeps a
    /// stopped engine running.
    fn control_written(&mut self, value: u32) {
        self.dma_control = value;
        for (direction, bit) in [(&mut self.rx, DMA_SR), (&mut self.tx, DMA_ST)] {
            if value & bit != 0 {
                direction.running = true;
            } else if !self.broken {
                direction.running = false;
            }
        }
    }

    /// One direction moves a chunk; a write outside RAM is a fatal bus error that stops it.
    fn transfer(
        direction: &mut Direction,
        node: NodeId,
        status: &mut u32,
        bit: u32,
        now: Tick,
        ram: &mut Ram,
    ) {
        match direction.step(node, 0xE7, now, ram) {
            Step::Wrote => *status |= bit | STATUS_NIS,
            Step::Fault => *status |= STATUS_FBI | STATUS_AIS,
            Step::Idle => {}
        }
    }
}

impl DeviceModel for Xgmac {
    fn node(&self) -> NodeId {
        self.node
    }

    fn kind(&self) -> &'static str {
        "calxeda-xgmac"
    }

    fn read(&mut self, region: usize, offset: u64, _now: Tick) -> Result<u32, HwError> {
        Ok(match (region, offset) {
            (0, regs::MAC_CONFIG) => self.mac_config,
            (0, regs::DMA_STATUS) => self.dma_status,
            (0, regs::DMA_CONTROL) => self.dma_control,
            (0, regs::DMA_INTR_ENA) => self.intr_ena,
            // The rest of the MAC (addresses, counters, flow control) reads as zero here.
            _ => 0,
        })
    }

    fn write(&mut self, region: usize, offset: u64, value: u32, _now: Tick) -> Result<(), HwError> {
        if self.reset.held() {
            return Ok(()); // a device held in reset ignores its bus
        }
        match (region, offset) {
            (0, regs::MAC_CONFIG) => self.mac_config = value,
            (0, regs::DMA_STATUS) => self.dma_status &= !(value & STATUS_MASK),
            (0, regs::DMA_CONTROL) => self.control_written(value),
            (0, regs::DMA_INTR_ENA) => self.intr_ena = value & STATUS_MASK,
            _ => {}
        }
        Ok(())
    }

    fn reset_input(&mut self, asserted: bool, now: Tick) {
        if self.reset.change(asserted, now) {
            self.mac_config = 0;
            self.dma_status = 0;
            self.dma_control = 0;
            self.intr_ena = 0;
            // Broken IP: the registers read as reset, the engines keep going.
            if !self.broken {
                self.rx = Direction::default();
                self.tx = Direction::default();
            }
        }
    }

    fn start_traffic(&mut self, dst: u64, len: u64, _now: Tick) {
        // Receive buffers in the first half, the transmit descriptor ring in the second.
        let half = len / 2;
        self.rx.buffers = Some(Buffers { dst, len: half, done: 0 });
        self.tx.buffers = Some(Buffers { dst: dst.wrapping_add(half), len: len - half, done: 0 });
        self.mac_config = MAC_TE | MAC_RE;
        self.intr_ena = STATUS_NIS | STATUS_AIS | STATUS_FBI | STATUS_RI | STATUS_TI;
        self.control_written(DMA_OSF | DMA_ST | DMA_SR);
    }

    fn busy(&self) -> bool {
        self.rx.busy() || self.tx.busy()
    }

    fn tick(&mut self, now: Tick, ram: &mut Ram) {
        if self.reset.held() && !self.broken {
            return;
        }
        Self::transfer(&mut self.rx, self.node, &mut self.dma_status, STATUS_RI, now, ram);
        Self::transfer(&mut self.tx, self.node, &mut self.dma_status, STATUS_TI, now, ram);
    }

    fn irq(&self) -> bool {
        self.dma_status & self.intr_ena != 0
    }

    fn regs(&self) -> DeviceRegs {
        DeviceRegs(vec![
            ("DMA_CONTROL.ST|SR", self.dma_control & (DMA_ST | DMA_SR), 0),
            ("DMA_INTR_ENA", self.intr_ena, 0),
            ("MAC_CONFIG.TE|RE", self.mac_config & (MAC_TE | MAC_RE), 0),
        ])
    }

    fn break_reset(&mut self) {
        self.broken = true;
    }

    fn set_min_hold(&mut self, us: u64) {
        self.reset.set_min_hold(us);
    }
}
