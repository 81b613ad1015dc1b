//! Device models: what a device does on the bus, with its reset input and its DMA.
//!
//! [`BusMaster`] is the generic model attached to any DT node: a DMA engine that, once started,
//! writes a chunk into RAM every tick and raises its interrupt when the transfer completes. Its
//! reset input clears it — if held long enough — unless the device is marked broken ("reset
//! leaves DMA running"), the IP the seed discussion feared.

use platreset_fdt::NodeId;

use crate::hw::HwError;
use crate::ram::Ram;
use crate::time::Tick;

/// Bytes a bus master writes per tick.
pub const DMA_CHUNK: u64 = 64;

/// A device's registers against their reset values: `(name, value, reset value)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceRegs(pub Vec<(&'static str, u32, u32)>);

impl DeviceRegs {
    /// The registers whose value is not the reset value.
    pub fn changed(&self) -> Vec<(&'static str, u32, u32)> {
        self.0.iter().copied().filter(|(_, v, r)| v != r).collect()
    }
}

/// A device on the simulated bus.
pub trait DeviceModel {
    /// The DT node it models.
    fn node(&self) -> NodeId;
    /// What the model is (`bus-master`, `calxeda-xgmac`…).
    fn kind(&self) -> &'static str;
    /// A register read at `offset` of region `region` (the node's `reg` order).
    fn read(&mut self, region: usize, offset: u64, now: Tick) -> Result<u32, HwError>;
    /// A register write.
    fn write(&mut self, region: usize, offset: u64, value: u32, now: Tick) -> Result<(), HwError>;
    /// The reset input changed level.
    fn reset_input(&mut self, asserted: bool, now: Tick);
    /// Starts the traffic a guest driver would have left running: DMA of `len` bytes to `dst`,
    /// interrupt enabled.
    fn start_traffic(&mut self, dst: u64, len: u64, now: Tick);
    /// Whether the device has work on every tick (the simulator never skips time over it).
    fn busy(&self) -> bool;
    /// One tick: DMA into `ram`.
    fn tick(&mut self, now: Tick, ram: &mut Ram);
    /// The interrupt line.
    fn irq(&self) -> bool;
    /// The registers against their reset values.
    fn regs(&self) -> DeviceRegs;
    /// Fault injection: reset clears the registers but the DMA engine keeps running.
    fn break_reset(&mut self);
    /// Fault injection: the device needs its reset held this long to take it.
    fn set_min_hold(&mut self, us: u64);
    /// Fault injection: a flush the device performs never completes. False when the device has
    /// no flush.
    fn break_flush(&mut self) -> bool {
        false
    }
}

/// A device's reset input as the device sees it: since when it is held, and how long it must be
/// held for the reset to take. Every device model keeps one.
#[derive(Debug, Clone, Copy)]
pub struct ResetInput {
    since: Option<Tick>,
    min_hold: u64,
}

impl Default for ResetInput {
    /// Released; a reset takes when held for at least one tick.
    fn default() -> Self {
        ResetInput { since: None, min_hold: 1 }
    }
}

impl ResetInput {
    /// Whether the device is held in reset now.
    pub fn held(&self) -> bool {
        self.since.is_some()
    }

    /// How long the reset must be held to take (the short-delay fault raises it).
    pub fn set_min_hold(&mut self, us: u64) {
        self.min_hold = us;
    }

    /// The input changed level. True when it was released after being held long enough: the
    /// device returns to its reset state now; a shorter pulse leaves it as it was.
    pub fn change(&mut self, asserted: bool, now: Tick) -> bool {
        match (asserted, self.since) {
            (true, None) => {
                self.since = Some(now);
                false
            }
            (false, Some(since)) => {
                self.since = None;
                now.saturating_sub(since) >= self.min_hold
            }
            _ => false,
        }
    }
}

/// Register offsets of [`BusMaster`] in its first region.
pub mod regs {
    /// Control: bit 0 starts a transfer, bit 1 enables the completion interrupt.
    pub const CTRL: u64 = 0x00;
    /// Status: bit 0 busy, bit 1 done (write 1 to clear).
    pub const STATUS: u64 = 0x04;
    /// DMA destination, low and high words.
    pub const DST_LO: u64 = 0x08;
    /// DMA destination, high word.
    pub const DST_HI: u64 = 0x0C;
    /// Transfer length in bytes.
    pub const LEN: u64 = 0x10;
    /// Bytes transferred so far (read only).
    pub const COUNT: u64 = 0x14;
}

const START: u32 = 1;
const IRQ_EN: u32 = 2;
const BUSY: u32 = 1;
const DONE: u32 = 2;

/// The DMA engine's own latched state: it is not the registers (broken IP shows the difference).
#[derive(Debug, Clone, Copy)]
struct Engine {
    dst: u64,
    len: u64,
    done: u64,
}

/// The generic bus-master device.
#[derive(Debug, Clone)]
pub struct BusMaster {
    node: NodeId,
    ctrl: u32,
    status: u32,
    dst: u64,
    len: u64,
    count: u64,
    engine: Option<Engine>,
    reset: ResetInput,
    broken: bool,
}

impl BusMaster {
    /// A device at reset values; a reset takes when held for at least one tick.
    pub fn new(node: NodeId) -> BusMaster {
        BusMaster {
            node,
            ctrl: 0,
            status: 0,
            dst: 0,
            len: 0,
            count: 0,
            engine: None,
            reset: ResetInput::default(),
            broken: false,
        }
    }

    fn clear(&mut self) {
        self.ctrl = 0;
        self.status = 0;
        self.dst = 0;
        self.len = 0;
        self.count = 0;
    }
}

impl DeviceModel for BusMaster {
    fn node(&self) -> NodeId {
        self.node
    }

    fn kind(&self) -> &'static str {
        "bus-master"
    }

    fn read(&mut self, region: usize, offset: u64, _now: Tick) -> Result<u32, HwError> {
        let value = match (region, offset) {
            (0, regs::CTRL) => self.ctrl,
            (0, regs::STATUS) => self.status,
            (0, regs::DST_LO) => self.dst as u32,
            (0, regs::DST_HI) => (self.dst >> 32) as u32,
            (0, regs::LEN) => self.len as u32,
            (0, regs::COUNT) => self.count as u32,
            _ => 0,
        };
        Ok(value)
    }

    fn write(&mut self, region: usize, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        if self.reset.held() {
            return Ok(()); // a device held in reset ignores its bus
        }
        match (region, offset) {
            (0, regs::CTRL) => {
                self.ctrl = value & (START | IRQ_EN);
                if value & START != 0 {
                    self.start_traffic(self.dst, self.len, now);
                    self.ctrl = value & (START | IRQ_EN);
                }
            }
            (0, regs::STATUS) => self.status &= !(value & DONE),
            (0, regs::DST_LO) => self.dst = (self.dst & !0xFFFF_FFFF) | u64::from(value),
            (0, regs::DST_HI) => self.dst = (self.dst & 0xFFFF_FFFF) | (u64::from(value) << 32),
            (0, regs::LEN) => self.len = u64::from(value),
            _ => {}
        }
        Ok(())
    }

    fn reset_input(&mut self, asserted: bool, now: Tick) {
        if self.reset.change(asserted, now) {
            self.clear();
            // Broken IP: the registers read as reset, the engine keeps going.
            if !self.broken {
                self.engine = None;
            }
        }
    }

    fn start_traffic(&mut self, dst: u64, len: u64, _now: Tick) {
        self.dst = dst;
        self.len = len;
        self.count = 0;
        self.ctrl = START | IRQ_EN;
        self.status = BUSY;
        self.engine = (len > 0).then_some(Engine { dst, len, done: 0 });
    }

    fn busy(&self) -> bool {
        self.engine.is_some()
    }

    fn tick(&mut self, now: Tick, ram: &mut Ram) {
        let Some(mut engine) = self.engine else { return };
        if self.reset.held() && !self.broken {
            return;
        }
        let n = DMA_CHUNK.min(engine.len - engine.done);
        if !ram.dma_write(self.node, engine.dst.wrapping_add(engine.done), n, 0xD5, now) {
            // A write outside RAM aborts the transfer (a bus error to the master).
            self.engine = None;
            return;
        }
        engine.done += n;
        self.count = engine.done;
        if engine.done >= engine.len {
            self.engine = None;
            self.status = DONE;
        } else {
            self.engine = Some(engine);
        }
    }

    fn irq(&self) -> bool {
        self.status & DONE != 0 && self.ctrl & IRQ_EN != 0
    }

    fn regs(&self) -> DeviceRegs {
        DeviceRegs(vec![
            ("CTRL", self.ctrl, 0),
            ("STATUS", self.status, 0),
            ("DST_LO", self.dst as u32, 0),
            ("DST_HI", (self.dst >> 32) as u32, 0),
            ("LEN", self.len as u32, 0),
            ("COUNT", self.count as u32, 0),
        ])
    }

    fn break_reset(&mut self) {
        self.broken = true;
    }

    fn set_min_hold(&mut self, us: u64) {
        self.reset.set_min_hold(us);
    }
}
