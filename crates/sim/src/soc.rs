//! The simulated SoC: memory map, reset controllers wired to devices as the DT says, time, faults,
//! and the [`SimMmio`] backend the real drivers run on.

use platreset_fdt::{Node, NodeId};
use platreset_reset::perform::Recording;
use platreset_reset::{Mmio, MmioError, MmioOp, PhysAddr, Reg};
use platreset_topology::Topology;
use thiserror::Error;

use crate::device::{BusMaster, DeviceModel};
use crate::hw::{HwError, ResetHw, Signal};
use crate::models;
use crate::ram::Ram;
use crate::time::Tick;

/// Where RAM goes when the DT has no `/memory` node: far above any SoC's registers.
pub const DEFAULT_RAM_BASE: u64 = 0x80_0000_0000;
/// Its size.
pub const DEFAULT_RAM_SIZE: u64 = 64 << 20;

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The target's reset signals ignore every write (a reset bit that never takes effect).
    StuckReset,
    /// A flush that never completes (devices with a flush: FlexRM rings).
    NoFlush,
    /// The target needs its reset held 2 ms, longer than any driver waits.
    ShortDelay,
    /// Every access to this address is a bus error.
    BusError(u64),
    /// Broken IP: the target's reset clears its registers but its DMA keeps running.
    DmaSurvivesReset,
}

/// The hold a device needs under [`Fault::ShortDelay`]: longer than any family's reset delay
/// (the longest, R-Car Gen4's, is 1 ms).
pub const SHORT_DELAY_HOLD_US: u64 = 2_000;

/// Why a SoC cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SimError {
    /// The node to model has no `reg` to put on the bus.
    #[error("{node} has no usable reg: it cannot be put on the simulated bus")]
    NoRegisters {
        /// Node path.
        node: String,
    },
    /// A fault that makes no sense for the target.
    #[error("fault {fault} does not apply to {node}: {why}")]
    FaultDoesNotApply {
        /// The fault.
        fault: &'static str,
        /// Node path.
        node: String,
        /// Why.
        why: &'static str,
    },
}

struct Controller {
    node: NodeId,
    base: u64,
    size: u64,
    hw: Box<dyn ResetHw>,
}

/// A device, where it sits, and the reset signals wired to it.
struct Device {
    node: NodeId,
    path: String,
    regions: Vec<(u64, u64)>,
    model: Box<dyn DeviceModel>,
    /// (controller index, signal) for each resolved, modelled line.
    wires: Vec<(usize, Signal)>,
    reset_in: bool,
    /// Ticks at which its reset input rose.
    resets: Vec<Tick>,
}

/// A register write that landed on a node without a model: a driver writing where it should not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayWrite {
    /// When.
    pub tick: Tick,
    /// Where.
    pub addr: u64,
    /// What was written.
    pub value: u32,
    /// The node whose `reg` holds the address.
    pub node: NodeId,
}

/// The simulated SoC.
pub struct Soc {
    now: Tick,
    ram: Ram,
    controllers: Vec<Controller>,
    devices: Vec<Device>,
    /// Every other node's `reg`: reads as zero, writes are logged as stray.
    inert: Vec<(u64, u64, NodeId)>,
    stray: Vec<StrayWrite>,
    bus_errors: Vec<u64>,
    unmodelled: Vec<(NodeId, String)>,
}

fn window(node: &Node<'_, '_>) -> Vec<(u64, u64)> {
    node.reg_cpu()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.size > 0)
        .map(|r| (r.address, r.size))
        .collect()
}

impl Soc {
    /// Builds the SoC of `topology`: every controller with a hardware model, every device using
    /// a resolved line, and `extra` nodes (a target without `resets`), each a [`BusMaster`]
    /// unless a register-level model exists for its compatible.
    pub fn build(topology: &Topology<'_, '_>, extra: &[NodeId]) -> Result<Soc, SimError> {
        let fdt = topology.fdt();
        let mut controllers = Vec::new();
        let mut unmodelled = Vec::new();
        for c in topology.controllers() {
            let Some(node) = fdt.node(c.node) else { continue };
            // The window its driver is given (a multi-function device's cell gets the parent's).
            let Ok(controller_window) = platreset_reset::controller_window(&node) else {
                unmodelled.push((c.node, "no reg".to_string()));
                continue;
            };
            let (base, size) = (controller_window.base.get(), controller_window.size);
            match models::controller_for(&node) {
                Some(hw) => controllers.push(Controller { node: c.node, base, size, hw }),
                None => unmodelled.push((c.node, "no hardware model for its compatible".to_string())),
            }
        }
        let mut devices = Vec::new();
        let mut wanted: Vec<NodeId> =
            topology.consumers().iter().map(|c| c.node).chain(extra.iter().copied()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for id in wanted {
            let Some(node) = fdt.node(id) else { continue };
            let regions = window(&node);
            if regions.is_empty() {
                if extra.contains(&id) {
                    return Err(SimError::NoRegisters { node: node.path() });
                }
                continue;
            }
            let wires = topology
                .consumer(id)
                .map(|c| c.lines())
                .unwrap_or_default()
                .iter()
                .filter_map(|line| {
                    let i = controllers.iter().position(|c| c.node == line.controller())?;
                    let signal = controllers[i].hw.signal(line.args())?;
                    Some((i, signal))
                })
                .collect();
            let model = models::device_for(&node).unwrap_or_else(|| Box::new(BusMaster::new(id)));
            devices.push(Device {
                node: id,
                path: node.path(),
                regions,
                model,
                wires,
                reset_in: false,
                resets: Vec::new(),
            });
        }
        let memory: Vec<(u64, u64)> = fdt
            .nodes()
            .filter(|n| n.property("device_type").is_some_and(|p| p.first_string() == b"memory"))
            .flat_map(|n| window(&n))
            .collect();
        let ram =
            Ram::new(if memory.is_empty() { vec![(DEFAULT_RAM_BASE, DEFAULT_RAM_SIZE)] } else { memory });
        // The rest of the memory map, so a write to another node's registers is seen, not lost.
        let modelled =
            |id: NodeId| controllers.iter().any(|c| c.node == id) || devices.iter().any(|d| d.node == id);
        let inert = fdt
            .nodes()
            .filter(|n| n.property("reg").is_some() && !modelled(n.id()))
            .filter(|n| n.property("device_type").is_none_or(|p| p.first_string() != b"memory"))
            .flat_map(|n| window(&n).into_iter().map(move |(base, size)| (base, size, n.id())))
            .collect();
        Ok(Soc {
            now: 0,
            ram,
            controllers,
            devices,
            inert,
            stray: Vec::new(),
            bus_errors: Vec::new(),
            unmodelled,
        })
    }

    /// The current tick.
    pub fn now(&self) -> Tick {
        self.now
    }

    /// RAM and its write log.
    pub fn ram(&self) -> &Ram {
        &self.ram
    }

    /// Controllers the simulator has no model for, and why.
    pub fn unmodelled(&self) -> &[(NodeId, String)] {
        &self.unmodelled
    }

    /// Whether the SoC has a hardware model for this controller.
    pub fn models_controller(&self, node: NodeId) -> bool {
        self.controllers.iter().any(|c| c.node == node)
    }

    /// The devices on the bus.
    pub fn devices(&self) -> impl Iterator<Item = (NodeId, &str)> {
        self.devices.iter().map(|d| (d.node, d.path.as_str()))
    }

    fn device(&self, node: NodeId) -> Option<&Device> {
        self.devices.iter().find(|d| d.node == node)
    }

    fn device_mut(&mut self, node: NodeId) -> Option<&mut Device> {
        self.devices.iter_mut().find(|d| d.node == node)
    }

    /// The model of a device.
    pub fn model(&self, node: NodeId) -> Option<&dyn DeviceModel> {
        self.device(node).map(|d| d.model.as_ref())
    }

    /// The model of a device, to start its traffic.
    pub fn model_mut(&mut self, node: NodeId) -> Option<&mut (dyn DeviceModel + 'static)> {
        self.device_mut(node).map(|d| d.model.as_mut())
    }

    /// The ticks at which a device's reset input rose.
    pub fn resets_of(&self, node: NodeId) -> &[Tick] {
        self.device(node).map_or(&[], |d| d.resets.as_slice())
    }

    /// Whether a device's reset input is asserted now.
    pub fn in_reset(&self, node: NodeId) -> bool {
        self.device(node).is_some_and(|d| d.reset_in)
    }

    /// A device's `reg` regions, CPU view.
    pub fn regions(&self, node: NodeId) -> &[(u64, u64)] {
        self.device(node).map_or(&[], |d| d.regions.as_slice())
    }

    /// Injects `fault` on `target`.
    pub fn inject(&mut self, fault: Fault, target: NodeId) -> Result<(), SimError> {
        match fault {
            Fault::StuckReset => {
                let wires = self.device(target).map(|d| d.wires.clone()).unwrap_or_default();
                for (c, signal) in wires {
                    if let Some(controller) = self.controllers.get_mut(c) {
                        controller.hw.stick(signal);
                    }
                }
            }
            Fault::ShortDelay => {
                if let Some(d) = self.device_mut(target) {
                    d.model.set_min_hold(SHORT_DELAY_HOLD_US);
                }
            }
            Fault::DmaSurvivesReset => {
                if let Some(d) = self.device_mut(target) {
                    d.model.break_reset();
                }
            }
            Fault::BusError(addr) => self.bus_errors.push(addr),
            Fault::NoFlush => {
                let applies = self.device_mut(target).is_some_and(|d| d.model.break_flush());
                if !applies {
                    let node = self.device(target).map(|d| d.path.clone()).unwrap_or_default();
                    return Err(SimError::FaultDoesNotApply {
                        fault: "no-flush",
                        node,
                        why: "its model has no flush (FlexRM rings have one)",
                    });
                }
            }
        }
        Ok(())
    }

    /// Recomputes every device's reset input from the controllers, telling models of changes.
    fn refresh_wiring(&mut self) {
        let now = self.now;
        for d in &mut self.devices {
            let asserted = d.wires.iter().any(|&(c, s)| self.controllers[c].hw.asserted(s, now));
            if asserted != d.reset_in {
                d.reset_in = asserted;
                if asserted {
                    d.resets.push(now);
                }
                d.model.reset_input(asserted, now);
            }
        }
    }

    fn busy(&self) -> bool {
        self.devices.iter().any(|d| d.model.busy())
    }

    fn next_event(&self) -> Option<Tick> {
        self.controllers.iter().filter_map(|c| c.hw.next_event(self.now)).min()
    }

    /// Lets `us` microseconds pass: busy devices work every tick, idle stretches are skipped
    /// (stopping at every self-timed change of a controller).
    pub fn advance(&mut self, us: u64) {
        let end = self.now.saturating_add(us);
        while self.now < end {
            let step = if self.busy() {
                1
            } else {
                self.next_event()
                    .filter(|&t| t > self.now && t < end)
                    .map_or(end - self.now, |t| t - self.now)
            };
            self.now += step;
            self.refresh_wiring();
            let now = self.now;
            for d in &mut self.devices {
                if d.model.busy() {
                    d.model.tick(now, &mut self.ram);
                }
            }
        }
    }

    /// Whether anything can change by itself within `us`: busy devices or timed controllers.
    fn quiet_for(&self, us: u64) -> bool {
        !self.busy() && self.next_event().is_none_or(|t| t > self.now.saturating_add(us))
    }

    fn check_bus_error(&self, addr: u64, name: &str) -> Result<(), MmioError> {
        if self.bus_errors.contains(&addr) {
            return Err(MmioError::Bus {
                addr: PhysAddr::new(addr),
                name: name.to_string(),
                why: "injected fault: the interconnect answers with an error".into(),
            });
        }
        Ok(())
    }

    fn hw_error(addr: u64, name: &str, e: HwError) -> MmioError {
        MmioError::Bus { addr: PhysAddr::new(addr), name: name.to_string(), why: e.to_string() }
    }

    /// A 32-bit read by the CPU.
    pub fn read32(&mut self, addr: u64, name: &str) -> Result<u32, MmioError> {
        self.check_bus_error(addr, name)?;
        let now = self.now;
        if let Some(c) = self.controllers.iter_mut().find(|c| addr >= c.base && addr - c.base < c.size) {
            return c.hw.read(addr - c.base, now).map_err(|e| Self::hw_error(addr, name, e));
        }
        for d in &mut self.devices {
            if let Some((region, offset)) = locate(&d.regions, addr) {
                return d.model.read(region, offset, now).map_err(|e| Self::hw_error(addr, name, e));
            }
        }
        if self.inert.iter().any(|&(base, size, _)| addr >= base && addr - base < size) {
            return Ok(0);
        }
        Err(MmioError::OutOfWindow { addr: PhysAddr::new(addr), name: name.to_string() })
    }

    /// A 32-bit write by the CPU.
    pub fn write32(&mut self, addr: u64, value: u32, name: &str) -> Result<(), MmioError> {
        self.check_bus_error(addr, name)?;
        let now = self.now;
        if let Some(c) = self.controllers.iter_mut().find(|c| addr >= c.base && addr - c.base < c.size) {
            c.hw.write(addr - c.base, value, now).map_err(|e| Self::hw_error(addr, name, e))?;
            self.refresh_wiring();
            return Ok(());
        }
        for d in &mut self.devices {
            if let Some((region, offset)) = locate(&d.regions, addr) {
                return d.model.write(region, offset, value, now).map_err(|e| Self::hw_error(addr, name, e));
            }
        }
        if let Some(&(_, _, node)) =
            self.inert.iter().find(|&&(base, size, _)| addr >= base && addr - base < size)
        {
            self.stray.push(StrayWrite { tick: now, addr, value, node });
            return Ok(());
        }
        Err(MmioError::OutOfWindow { addr: PhysAddr::new(addr), name: name.to_string() })
    }

    /// Register writes that landed on nodes without a model, in order.
    pub fn stray_writes(&self) -> &[StrayWrite] {
        &self.stray
    }

    /// A backend for drivers and handlers that records every access.
    pub fn mmio(&mut self) -> SimMmio<'_> {
        SimMmio { soc: self, ops: Vec::new() }
    }
}

fn locate(regions: &[(u64, u64)], addr: u64) -> Option<(usize, u64)> {
    regions
        .iter()
        .position(|&(base, size)| addr >= base && addr - base < size)
        .map(|i| (i, addr - regions[i].0))
}

/// The [`Mmio`] backend over the simulated bus: delays and polls let simulated time pass.
pub struct SimMmio<'s> {
    soc: &'s mut Soc,
    ops: Vec<MmioOp>,
}

impl SimMmio<'_> {
    /// The SoC.
    pub fn soc(&mut self) -> &mut Soc {
        self.soc
    }
}

impl Mmio for SimMmio<'_> {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        let value = self.soc.read32(reg.addr.get(), &reg.name)?;
        self.ops.push(MmioOp::Read32 { reg: reg.clone(), value });
        Ok(value)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        self.soc.write32(reg.addr.get(), value, &reg.name)?;
        self.ops.push(MmioOp::Write32 { reg: reg.clone(), value });
        Ok(())
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        self.soc.advance(u64::from(us));
        self.ops.push(MmioOp::DelayUs { us });
        Ok(())
    }

    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
        self.ops.push(MmioOp::Poll32 { reg: reg.clone(), mask, expect, timeout_us });
        let deadline = self.soc.now.saturating_add(u64::from(timeout_us));
        loop {
            let value = self.soc.read32(reg.addr.get(), &reg.name)?;
            if value & mask == expect {
                return Ok(value);
            }
            if self.soc.now >= deadline {
                return Err(MmioError::timeout(reg, mask, expect, timeout_us, value));
            }
            // Nothing can change the value before the deadline: let the time pass at once.
            let step = if self.soc.quiet_for(deadline - self.soc.now) { deadline - self.soc.now } else { 1 };
            self.soc.advance(step);
        }
    }
}

impl Recording for SimMmio<'_> {
    fn take_ops(&mut self) -> Vec<MmioOp> {
        std::mem::take(&mut self.ops)
    }
}
