//! The simulated SoC: memory map, reset controllers wired to devices as the DT says, time, faults,
//! and the [`SimMmio`] backend the real drivers run on.
//!
//! Every lookup is indexed, so crafted trees cost in proportion to their size: devices are kept
//! sorted by node and controllers have a sorted index (binary search); the memory map is cut
//! into sorted segments, each owned by the window the first match used to find (controllers,
//! then devices, then inert nodes); a write to a controller re-checks only the wires of the
//! signals that register can change ([`ResetHw::signals_written`]), and each device counts its
//! asserted wires; time steps look only at the devices that may be busy and the controllers
//! that may have a timed change pending. [`Soc::work`] counts these steps for tests.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};

use platreset_fdt::{Fdt, Node, NodeId};
use platreset_reset::{Mmio, MmioError, PhysAddr, Recorder, Reg};
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
    /// A model could not be made again for its node (the tree changed under the SoC).
    #[error("the model of {node} could not be made again from its node")]
    NotRemade {
        /// Node path.
        node: String,
    },
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
    hw: Box<dyn ResetHw>,
    /// Its wired signals, each with its index in [`Soc::wires`].
    wires: BTreeMap<Signal, usize>,
}

/// One (controller, signal) wired to at least one device.
struct Wire {
    controller: usize,
    signal: Signal,
    /// Whether it held its devices in reset at the last check.
    asserted: bool,
    /// The devices it is wired to (indices, each once).
    devices: Vec<usize>,
}

/// Who answers an address: the first window that holds it, in this order (derived `Ord`):
/// controllers by index, then devices by index and region, then inert windows by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Owner {
    Controller(usize),
    Device(usize, usize),
    Inert(usize),
}

/// The memory map cut into segments: `starts[i]..starts[i + 1]` belongs to `owners[i]`.
#[derive(Default)]
struct AddressMap {
    starts: Vec<u128>,
    owners: Vec<Option<Owner>>,
    /// Window bases, for the offset of an address in its window.
    bases: BTreeMap<Owner, u64>,
}

impl AddressMap {
    /// Sweeps the windows' ends in address order, keeping the open windows in a set whose
    /// first is the owner: n·log n for n windows, however they overlap.
    fn new(windows: &[(u64, u64, Owner)]) -> AddressMap {
        let mut events: Vec<(u128, bool, Owner)> = windows
            .iter()
            .filter(|&&(_, size, _)| size > 0)
            .flat_map(|&(base, size, owner)| {
                [(u128::from(base), true, owner), (u128::from(base) + u128::from(size), false, owner)]
            })
            .collect();
        events.sort_unstable();
        let mut map = AddressMap {
            bases: windows.iter().map(|&(base, _, owner)| (owner, base)).collect(),
            ..AddressMap::default()
        };
        let mut open = BTreeSet::new();
        let mut i = 0;
        while i < events.len() {
            let at = events[i].0;
            while i < events.len() && events[i].0 == at {
                let (_, start, owner) = events[i];
                if start {
                    open.insert(owner);
                } else {
                    open.remove(&owner);
                }
                i += 1;
            }
            let owner = open.first().copied();
            if map.owners.last() != Some(&owner) {
                map.starts.push(at);
                map.owners.push(owner);
            }
        }
        map
    }

    /// The owner of `addr` and the offset in its window.
    fn find(&self, addr: u64) -> Option<(Owner, u64)> {
        let i = self.starts.partition_point(|&start| start <= u128::from(addr)).checked_sub(1)?;
        let owner = self.owners[i]?;
        Some((owner, addr - self.bases.get(&owner).copied().unwrap_or(addr)))
    }
}

/// A device, where it sits, and the reset signals wired to it.
struct Device {
    node: NodeId,
    path: String,
    regions: Vec<(u64, u64)>,
    model: Box<dyn DeviceModel>,
    /// (controller index, signal) for each resolved, modelled line.
    wires: Vec<(usize, Signal)>,
    /// How many of its distinct wires are asserted.
    asserted_wires: usize,
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

/// What [`Soc::restore`] returns the touched parts to: the state right after the build.
#[derive(Default)]
struct Built {
    /// Each wire's signal.
    wires: Vec<bool>,
    /// Each device's count of asserted wires.
    asserted_wires: Vec<usize>,
    /// Devices busy and controllers with a timed change: they move by themselves, so they count
    /// as touched from the start.
    active: BTreeSet<usize>,
    timed: BTreeSet<usize>,
}

/// The simulated SoC.
pub struct Soc {
    now: Tick,
    ram: Ram,
    controllers: Vec<Controller>,
    /// (node, index in `controllers`), sorted by node.
    controller_index: Vec<(NodeId, usize)>,
    /// Sorted by node.
    devices: Vec<Device>,
    wires: Vec<Wire>,
    /// Devices that may be busy: every device touched since it was last seen idle.
    active: BTreeSet<usize>,
    /// Controllers that may have a timed change pending: every one touched since it was last
    /// seen without.
    timed: BTreeSet<usize>,
    /// Every device and controller that may differ from its state as built: what
    /// [`Soc::restore`] puts back, and where [`Soc::reset_since`] looks.
    touched_devices: BTreeSet<usize>,
    touched_controllers: BTreeSet<usize>,
    /// The state as built, after the wires were first checked at tick 0.
    built: Built,
    /// Every other node's `reg`: reads as zero, writes are logged as stray.
    inert: Vec<(u64, u64, NodeId)>,
    map: AddressMap,
    stray: Vec<StrayWrite>,
    bus_errors: Vec<u64>,
    unmodelled: Vec<(NodeId, String)>,
    work: Cell<u64>,
}

/// A node's `reg` windows as the bus maps them (CPU addresses, empty ones left out).
pub(crate) fn window(node: &Node<'_, '_>) -> Vec<(u64, u64)> {
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
        let mut work = 0;
        let mut controllers = Vec::new();
        let mut windows = Vec::new();
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
                Some(hw) => {
                    windows.push((base, size, Owner::Controller(controllers.len())));
                    controllers.push(Controller { node: c.node, hw, wires: BTreeMap::new() });
                }
                None => unmodelled.push((c.node, "no hardware model for its compatible".to_string())),
            }
        }
        work += controllers.len() as u64;
        // The first controller of a node wins, as a scan in order would find it.
        let mut controller_index: Vec<(NodeId, usize)> =
            controllers.iter().enumerate().map(|(i, c)| (c.node, i)).collect();
        controller_index.sort_by_key(|&(node, _)| node);
        controller_index.dedup_by_key(|&mut (node, _)| node);
        let controller_of = |id: NodeId| {
            controller_index.binary_search_by_key(&id, |&(node, _)| node).ok().map(|i| controller_index[i].1)
        };
        let mut devices: Vec<Device> = Vec::new();
        let mut wires: Vec<Wire> = Vec::new();
        let mut extra = extra.to_vec();
        extra.sort_unstable();
        let mut wanted: Vec<NodeId> =
            topology.consumers().iter().map(|c| c.node).chain(extra.iter().copied()).collect();
        wanted.sort_unstable();
        wanted.dedup();
        for id in wanted {
            let Some(node) = fdt.node(id) else { continue };
            let regions = window(&node);
            if regions.is_empty() {
                if extra.binary_search(&id).is_ok() {
                    return Err(SimError::NoRegisters { node: node.path() });
                }
                continue;
            }
            let lines = topology.consumer(id).map(|c| c.lines()).unwrap_or_default();
            work += 1 + lines.len() as u64 + regions.len() as u64;
            let wired: Vec<(usize, Signal)> = lines
                .iter()
                .filter_map(|line| {
                    let i = controller_of(line.controller())?;
                    let signal = controllers[i].hw.signal(line.args())?;
                    Some((i, signal))
                })
                .collect();
            let index = devices.len();
            for &(c, signal) in &wired {
                let w = *controllers[c].wires.entry(signal).or_insert_with(|| {
                    wires.push(Wire { controller: c, signal, asserted: false, devices: Vec::new() });
                    wires.len() - 1
                });
                // A device listing a line twice is wired to it once.
                if wires[w].devices.last() != Some(&index) {
                    wires[w].devices.push(index);
                }
            }
            windows.extend(
                regions.iter().enumerate().map(|(r, &(base, size))| (base, size, Owner::Device(index, r))),
            );
            let model = models::device_for(&node).unwrap_or_else(|| Box::new(BusMaster::new(id)));
            devices.push(Device {
                node: id,
                path: node.path(),
                regions,
                model,
                wires: wired,
                asserted_wires: 0,
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
            |id: NodeId| controller_of(id).is_some() || devices.binary_search_by_key(&id, |d| d.node).is_ok();
        let inert: Vec<(u64, u64, NodeId)> = fdt
            .nodes()
            .filter(|n| n.property("reg").is_some() && !modelled(n.id()))
            .filter(|n| n.property("device_type").is_none_or(|p| p.first_string() != b"memory"))
            .flat_map(|n| window(&n).into_iter().map(move |(base, size)| (base, size, n.id())))
            .collect();
        windows.extend(inert.iter().enumerate().map(|(i, &(base, size, _))| (base, size, Owner::Inert(i))));
        let map = AddressMap::new(&windows);
        work += inert.len() as u64 + map.starts.len() as u64;
        let mut soc = Soc {
            now: 0,
            ram,
            controllers,
            controller_index,
            devices,
            wires,
            active: BTreeSet::new(),
            timed: BTreeSet::new(),
            touched_devices: BTreeSet::new(),
            touched_controllers: BTreeSet::new(),
            built: Built::default(),
            inert,
            map,
            stray: Vec::new(),
            bus_errors: Vec::new(),
            unmodelled,
            work: Cell::new(work),
        };
        soc.settle();
        Ok(soc)
    }

    /// Checks every wire once, at tick 0, and records the result as the state as built: the
    /// devices a controller holds in reset from power-on are in reset before anything runs.
    fn settle(&mut self) {
        let all: Vec<usize> = (0..self.wires.len()).collect();
        self.refresh_wiring(&all);
        self.count(self.devices.len() as u64 + self.controllers.len() as u64);
        let now = self.now;
        let active: BTreeSet<usize> =
            (0..self.devices.len()).filter(|&d| self.devices[d].model.busy()).collect();
        let timed: BTreeSet<usize> = (0..self.controllers.len())
            .filter(|&c| self.controllers[c].hw.next_event(now).is_some())
            .collect();
        self.built = Built {
            wires: self.wires.iter().map(|w| w.asserted).collect(),
            asserted_wires: self.devices.iter().map(|d| d.asserted_wires).collect(),
            active: active.clone(),
            timed: timed.clone(),
        };
        self.touched_devices = active.clone();
        self.touched_controllers = timed.clone();
        self.active = active;
        self.timed = timed;
    }

    /// Puts the SoC back as it was built — time, RAM, faults, and every device and controller
    /// touched since — in work proportional to what was touched, so one SoC serves the
    /// verification of every device of a tree ([`crate::Verifier`]). `fdt` is the tree it was
    /// built from: touched models are made again from their nodes.
    pub fn restore(&mut self, fdt: &Fdt<'_>) -> Result<(), SimError> {
        self.count(self.touched_controllers.len() as u64 + self.touched_devices.len() as u64);
        for c in std::mem::take(&mut self.touched_controllers) {
            let controller = &mut self.controllers[c];
            let node = fdt.node(controller.node);
            controller.hw = node
                .as_ref()
                .and_then(models::controller_for)
                .ok_or_else(|| SimError::NotRemade { node: node.map(|n| n.path()).unwrap_or_default() })?;
            for &w in controller.wires.values() {
                self.wires[w].asserted = self.built.wires[w];
            }
        }
        for d in std::mem::take(&mut self.touched_devices) {
            let device = &mut self.devices[d];
            device.model = match fdt.node(device.node) {
                Some(node) => {
                    models::device_for(&node).unwrap_or_else(|| Box::new(BusMaster::new(device.node)))
                }
                None => return Err(SimError::NotRemade { node: device.path.clone() }),
            };
            device.asserted_wires = self.built.asserted_wires[d];
            device.reset_in = device.asserted_wires > 0;
            device.resets.clear();
            if device.reset_in {
                device.resets.push(0);
                device.model.reset_input(true, 0);
            }
        }
        self.now = 0;
        self.ram = Ram::new(self.ram.windows().to_vec());
        self.stray.clear();
        self.bus_errors.clear();
        self.active = self.built.active.clone();
        self.timed = self.built.timed.clone();
        self.touched_devices = self.built.active.clone();
        self.touched_controllers = self.built.timed.clone();
        self.work.set(0);
        Ok(())
    }

    /// The devices whose reset input rose at or after `tick`, in node order.
    pub fn reset_since(&self, tick: Tick) -> impl Iterator<Item = (NodeId, &str)> {
        self.count(self.touched_devices.len() as u64);
        self.touched_devices
            .iter()
            .map(|&d| &self.devices[d])
            .filter(move |d| d.resets.iter().any(|&t| t >= tick))
            .map(|d| (d.node, d.path.as_str()))
    }

    /// Whether `node` is a device on the bus.
    pub fn has_device(&self, node: NodeId) -> bool {
        self.device_index(node).is_some()
    }

    fn touch_device(&mut self, d: usize) {
        self.active.insert(d);
        self.touched_devices.insert(d);
    }

    fn touch_controller(&mut self, c: usize) {
        self.timed.insert(c);
        self.touched_controllers.insert(c);
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
        self.count(1);
        self.controller_index.binary_search_by_key(&node, |&(n, _)| n).is_ok()
    }

    /// The steps the simulator took so far, for tests and benchmarks that bound its work on
    /// crafted input: each controller, device, line and window indexed when it was built, each
    /// lookup, each wire checked, each device or controller looked at on a time step. Not a
    /// stable measure: it only grows in proportion to the work.
    pub fn work(&self) -> u64 {
        self.work.get()
    }

    fn count(&self, steps: u64) {
        self.work.set(self.work.get().saturating_add(steps));
    }

    fn device_index(&self, node: NodeId) -> Option<usize> {
        self.count(1);
        self.devices.binary_search_by_key(&node, |d| d.node).ok()
    }

    /// The devices on the bus.
    pub fn devices(&self) -> impl Iterator<Item = (NodeId, &str)> {
        self.devices.iter().map(|d| (d.node, d.path.as_str()))
    }

    fn device(&self, node: NodeId) -> Option<&Device> {
        self.device_index(node).map(|i| &self.devices[i])
    }

    /// A device to change: it may be busy from now on.
    fn device_mut(&mut self, node: NodeId) -> Option<&mut Device> {
        let i = self.device_index(node)?;
        self.touch_device(i);
        Some(&mut self.devices[i])
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
                        self.touch_controller(c);
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

    /// Re-checks `wires` and updates the reset input of every
    /// device whose count of asserted wires went to or from zero, telling its model, in device
    /// order. The other wires cannot have changed: only a write to their register
    /// ([`ResetHw::signals_written`]) or their controller's timed event
    /// ([`ResetHw::next_event`]) changes a signal.
    fn refresh_wiring(&mut self, wires: &[usize]) {
        let now = self.now;
        self.count(wires.len() as u64);
        let mut moved = Vec::new();
        for &w in wires {
            let wire = &mut self.wires[w];
            let asserted = self.controllers[wire.controller].hw.asserted(wire.signal, now);
            if asserted == wire.asserted {
                continue;
            }
            wire.asserted = asserted;
            for &d in &wire.devices {
                let device = &mut self.devices[d];
                if asserted {
                    device.asserted_wires += 1;
                } else {
                    device.asserted_wires -= 1;
                }
                moved.push(d);
            }
        }
        moved.sort_unstable();
        moved.dedup();
        for d in moved {
            let device = &mut self.devices[d];
            let asserted = device.asserted_wires > 0;
            if asserted != device.reset_in {
                device.reset_in = asserted;
                if asserted {
                    device.resets.push(now);
                }
                device.model.reset_input(asserted, now);
                self.touch_device(d);
            }
        }
    }

    /// Every wire of controller `c` that a write at `offset` can change.
    fn wires_written(&self, c: usize, offset: u64) -> Vec<usize> {
        let controller = &self.controllers[c];
        match controller.hw.signals_written(offset) {
            Some(signals) => controller.wires.range(signals).map(|(_, &w)| w).collect(),
            None => controller.wires.values().copied().collect(),
        }
    }

    /// Whether a device is busy; forgets the idle ones, which stay idle until touched.
    fn busy(&mut self) -> bool {
        self.count(self.active.len() as u64);
        let devices = &self.devices;
        self.active.retain(|&d| devices[d].model.busy());
        !self.active.is_empty()
    }

    /// Each controller's next timed change; forgets those without, which have none until
    /// touched.
    fn next_events(&mut self) -> Vec<(usize, Tick)> {
        self.count(self.timed.len() as u64);
        let now = self.now;
        let mut events = Vec::new();
        let controllers = &self.controllers;
        self.timed.retain(|&c| match controllers[c].hw.next_event(now) {
            Some(t) => {
                events.push((c, t));
                true
            }
            None => false,
        });
        events
    }

    /// Lets `us` microseconds pass: busy devices work every tick, idle stretches are skipped
    /// (stopping at every self-timed change of a controller).
    pub fn advance(&mut self, us: u64) {
        let end = self.now.saturating_add(us);
        while self.now < end {
            let busy = self.busy();
            let events = self.next_events();
            let step = if busy {
                1
            } else {
                events
                    .iter()
                    .map(|&(_, t)| t)
                    .min()
                    .filter(|&t| t > self.now && t < end)
                    .map_or(end - self.now, |t| t - self.now)
            };
            self.now += step;
            let now = self.now;
            let due: Vec<usize> = events
                .iter()
                .filter(|&&(_, t)| t <= now)
                .flat_map(|&(c, _)| self.controllers[c].wires.values().copied())
                .collect();
            self.refresh_wiring(&due);
            self.count(1 + self.active.len() as u64);
            for &d in &self.active {
                let device = &mut self.devices[d];
                if device.model.busy() {
                    device.model.tick(now, &mut self.ram);
                }
            }
        }
    }

    /// Whether anything can change by itself within `us`: busy devices or timed controllers.
    fn quiet_for(&mut self, us: u64) -> bool {
        let deadline = self.now.saturating_add(us);
        !self.busy() && self.next_events().iter().map(|&(_, t)| t).min().is_none_or(|t| t > deadline)
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

    /// Who answers `addr`, and the offset in its window.
    fn owner(&self, addr: u64) -> Option<(Owner, u64)> {
        self.count(1);
        self.map.find(addr)
    }

    /// A 32-bit read by the CPU.
    pub fn read32(&mut self, addr: u64, name: &str) -> Result<u32, MmioError> {
        self.check_bus_error(addr, name)?;
        let now = self.now;
        match self.owner(addr) {
            Some((Owner::Controller(c), offset)) => {
                self.touch_controller(c);
                self.controllers[c].hw.read(offset, now).map_err(|e| Self::hw_error(addr, name, e))
            }
            Some((Owner::Device(d, region), offset)) => {
                self.touch_device(d);
                self.devices[d].model.read(region, offset, now).map_err(|e| Self::hw_error(addr, name, e))
            }
            Some((Owner::Inert(_), _)) => Ok(0),
            None => Err(MmioError::OutOfWindow { addr: PhysAddr::new(addr), name: name.to_string() }),
        }
    }

    /// A 32-bit write by the CPU.
    pub fn write32(&mut self, addr: u64, value: u32, name: &str) -> Result<(), MmioError> {
        self.check_bus_error(addr, name)?;
        let now = self.now;
        match self.owner(addr) {
            Some((Owner::Controller(c), offset)) => {
                self.touch_controller(c);
                self.controllers[c]
                    .hw
                    .write(offset, value, now)
                    .map_err(|e| Self::hw_error(addr, name, e))?;
                let wires = self.wires_written(c, offset);
                self.refresh_wiring(&wires);
                Ok(())
            }
            Some((Owner::Device(d, region), offset)) => {
                self.touch_device(d);
                self.devices[d]
                    .model
                    .write(region, offset, value, now)
                    .map_err(|e| Self::hw_error(addr, name, e))
            }
            Some((Owner::Inert(i), _)) => {
                self.stray.push(StrayWrite { tick: now, addr, value, node: self.inert[i].2 });
                Ok(())
            }
            None => Err(MmioError::OutOfWindow { addr: PhysAddr::new(addr), name: name.to_string() }),
        }
    }

    /// Register writes that landed on nodes without a model, in order.
    pub fn stray_writes(&self) -> &[StrayWrite] {
        &self.stray
    }

    /// A backend for drivers and handlers that records every access.
    pub fn mmio(&mut self) -> SimMmio<'_> {
        Recorder::over(SimBus { soc: self })
    }
}

/// The [`Mmio`] backend over the simulated bus: delays and polls let simulated time pass. It
/// records nothing itself; [`SimMmio`] is it recording.
pub struct SimBus<'s> {
    soc: &'s mut Soc,
}

/// The simulated bus, recording like every backend (`Soc::mmio`).
pub type SimMmio<'s> = Recorder<SimBus<'s>>;

impl SimBus<'_> {
    /// The SoC.
    pub fn soc(&mut self) -> &mut Soc {
        self.soc
    }
}

impl Mmio for SimBus<'_> {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        let value = self.soc.read32(reg.addr.get(), &reg.name)?;
        Ok(value)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        self.soc.write32(reg.addr.get(), value, &reg.name)?;
        Ok(())
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        self.soc.advance(u64::from(us));
        Ok(())
    }

    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
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
