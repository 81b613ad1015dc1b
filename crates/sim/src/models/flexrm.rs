//! The Broadcom iProc FlexRM ring manager (`brcm,iproc-flexrm-mbox`), at register level, as
//! drivers/mailbox/bcm-flexrm-mailbox.c describes its rings: the device Linux's
//! `vfio_platform_bcmflexrm.c` quiesces (REFERENCE §1).
//!
//! Region 0 holds one ring every 0x10000 bytes; the model has one ring per stride of the region,
//! at most [`MAX_RINGS`] (further strides read as absent rings). Per ring: RING_VER (+0x00) reads
//! 0x76303031; RING_NUM_REQ_OUTSTAND (+0x30) counts the requests in flight (a busy ring keeps
//! 32); RING_CONTROL (+0x34) has the active bit 4 and the flush bit 5; RING_FLUSH_DONE (+0x38)
//! bit 0 sets [`FLUSH_US`] after a flush is requested and clears when the request is withdrawn;
//! RING_MSI_CONTROL (+0x48) has the MSI enable, bit 15.
//!
//! A ring with requests in flight writes [`DMA_CHUNK`] bytes of completions into RAM every tick.
//! Deactivating the ring stops it fetching new requests but not completing those in flight: only
//! a flush that completes while the ring is inactive drops them. A flush withdrawn before it
//! completes drops nothing. The interrupt line (the ring's MSI) is high while a ring with MSI
//! enabled still produces completions. A reset input, when wired, clears every ring.
//!
//! Faults: no-flush makes every flush request stand forever without completing; broken IP (the
//! DMA-survives-reset fault) keeps a flushed or reset ring's requests completing while its
//! registers read as idle.

use platreset_fdt::{Node, NodeId};

use crate::device::{DeviceModel, DeviceRegs, ResetInput, DMA_CHUNK};
use crate::hw::HwError;
use crate::ram::Ram;
use crate::time::Tick;

/// The compatible this model answers.
pub const COMPATIBLE: &str = "brcm,iproc-flexrm-mbox";

/// Distance between two rings' registers.
pub const RING_STRIDE: u64 = 0x1_0000;
/// Rings modelled at most.
pub const MAX_RINGS: usize = 4;
/// How long a flush takes, in µs.
pub const FLUSH_US: u64 = 50;
/// What RING_VER reads on a present ring ("v001").
pub const RING_VER_MAGIC: u32 = 0x7630_3031;

/// Register offsets inside one ring's stride.
pub mod regs {
    /// Ring version.
    pub const RING_VER: u64 = 0x000;
    /// Requests in flight (read only).
    pub const RING_NUM_REQ_OUTSTAND: u64 = 0x030;
    /// Ring control.
    pub const RING_CONTROL: u64 = 0x034;
    /// Flush done (read only).
    pub const RING_FLUSH_DONE: u64 = 0x038;
    /// MSI control.
    pub const RING_MSI_CONTROL: u64 = 0x048;
}

/// RING_CONTROL: the ring fetches requests.
pub const CONTROL_ACTIVE: u32 = 1 << 4;
/// RING_CONTROL: flush request.
pub const CONTROL_FLUSH: u32 = 1 << 5;
const MSI_ENABLE: u32 = 1 << 15;
/// Requests a busy ring keeps in flight.
const IN_FLIGHT: u64 = 32;

/// Register names per ring, for [`DeviceModel::regs`].
const NAMES: [[&str; 3]; MAX_RINGS] = [
    ["ring0 RING_CONTROL", "ring0 RING_FLUSH_DONE", "ring0 RING_NUM_REQ_OUTSTAND"],
    ["ring1 RING_CONTROL", "ring1 RING_FLUSH_DONE", "ring1 RING_NUM_REQ_OUTSTAND"],
    ["ring2 RING_CONTROL", "ring2 RING_FLUSH_DONE", "ring2 RING_NUM_REQ_OUTSTAND"],
    ["ring3 RING_CONTROL", "ring3 RING_FLUSH_DONE", "ring3 RING_NUM_REQ_OUTSTAND"],
];

/// The model for a node whose first compatible is `brcm,iproc-flexrm-mbox`, with one ring per
/// stride of its first region.
pub fn model(compatible: &str, node: &Node<'_, '_>) -> Option<Box<dyn DeviceModel>> {
    if compatible != COMPATIBLE {
        return None;
    }
    let size = node.reg_cpu().ok()?.into_iter().find(|r| r.size > 0)?.size;
    let rings = usize::try_from(size.div_ceil(RING_STRIDE)).map_or(MAX_RINGS, |n| n.min(MAX_RINGS));
    Some(Box::new(FlexRm::new(node.id(), rings)))
}

/// The requests a ring has in flight: their completions go to `dst..dst + len`.
#[derive(Debug, Clone, Copy)]
struct Work {
    dst: u64,
    len: u64,
    done: u64,
}

impl Work {
    fn remaining(&self) -> bool {
        self.done < self.len
    }
}

/// One ring.
#[derive(Debug, Clone, Copy, Default)]
struct Ring {
    control: u32,
    msi_control: u32,
    flush_done: bool,
    /// When the standing flush request completes.
    flush_at: Option<Tick>,
    work: Option<Work>,
    /// Broken IP: requests the registers no longer account for, still completing.
    orphan: Option<Work>,
}

impl Ring {
    /// Whether the ring's registers show requests completing.
    fn completing(&self) -> bool {
        self.work.is_some_and(|w| w.remaining())
    }

    fn busy(&self) -> bool {
        self.completing() || self.orphan.is_some_and(|w| w.remaining())
    }

    fn outstanding(&self) -> u32 {
        self.work.filter(Work::remaining).map_or(0, |w| {
            let left = (w.len - w.done).div_ceil(DMA_CHUNK).min(IN_FLIGHT);
            u32::try_from(left).unwrap_or(u32::MAX)
        })
    }
}

/// The FlexRM.
#[derive(Debug, Clone)]
pub struct FlexRm {
    node: NodeId,
    rings: Vec<Ring>,
    reset: ResetInput,
    broken: bool,
    flush_broken: bool,
}

impl FlexRm {
    /// A FlexRM with `rings` rings (at most [`MAX_RINGS`]), every ring idle.
    pub fn new(node: NodeId, rings: usize) -> FlexRm {
        FlexRm {
            node,
            rings: vec![Ring::default(); rings.min(MAX_RINGS)],
            reset: ResetInput::default(),
            broken: false,
            flush_broken: false,
        }
    }

    /// Completes the flushes due by `now`.
    fn settle(&mut self, now: Tick) {
        for ring in &mut self.rings {
            if ring.flush_at.is_some_and(|t| t <= now) {
                ring.flush_at = None;
                ring.flush_done = true;
                // An active ring keeps fetching.
                if ring.control & CONTROL_ACTIVE == 0 {
                    let dropped = ring.work.take();
                    // Broken IP: the ring reads as flushed, the requests keep completing.
                    if self.broken {
                        ring.orphan = dropped.or(ring.orphan);
                    }
                }
            }
        }
    }

    /// The ring and the offset inside its stride, for a region 0 offset.
    fn ring(&mut self, region: usize, offset: u64) -> Option<(&mut Ring, u64)> {
        if region != 0 {
            return None;
        }
        let index = usize::try_from(offset / RING_STRIDE).ok()?;
        self.rings.get_mut(index).map(|ring| (ring, offset % RING_STRIDE))
    }
}

impl DeviceModel for FlexRm {
    fn node(&self) -> NodeId {
        self.node
    }

    fn kind(&self) -> &'static str {
        "brcm-flexrm"
    }

    fn read(&mut self, region: usize, offset: u64, now: Tick) -> Result<u32, HwError> {
        self.settle(now);
        let Some((ring, reg)) = self.ring(region, offset) else { return Ok(0) };
        Ok(match reg {
            regs::RING_VER => RING_VER_MAGIC,
            regs::RING_NUM_REQ_OUTSTAND => ring.outstanding(),
            regs::RING_CONTROL => ring.control,
            regs::RING_FLUSH_DONE => u32::from(ring.flush_done),
            regs::RING_MSI_CONTROL => ring.msi_control,
            // Descriptor and completion ring pointers and counters read as zero here.
            _ => 0,
        })
    }

    fn write(&mut self, region: usize, offset: u64, value: u32, now: Tick) -> Result<(), HwError> {
        self.settle(now);
        if self.reset.held() {
            return Ok(()); // a device held in reset ignores its bus
        }
        let flush_broken = self.flush_broken;
        let Some((ring, reg)) = self.ring(region, offset) else { return Ok(()) };
        match reg {
            regs::RING_CONTROL => {
                let requested = value & CONTROL_FLUSH != 0;
                let standing = ring.control & CONTROL_FLUSH != 0;
                ring.control = value;
                if requested && !standing && !flush_broken {
                    ring.flush_at = Some(now + FLUSH_US);
                } else if !requested {
                    // Withdrawing the request clears the flush state; an unfinished flush is dropped.
                    ring.flush_at = None;
                    ring.flush_done = false;
                }
            }
            regs::RING_MSI_CONTROL => ring.msi_control = value,
            _ => {}
        }
        Ok(())
    }

    fn reset_input(&mut self, asserted: bool, now: Tick) {
        if self.reset.change(asserted, now) {
            for ring in &mut self.rings {
                // Broken IP: the registers read as reset, the requests keep completing.
                let orphan = if self.broken { ring.work.or(ring.orphan) } else { None };
                *ring = Ring { orphan, ..Ring::default() };
            }
        }
    }

    fn start_traffic(&mut self, dst: u64, len: u64, _now: Tick) {
        // Each ring completes into its own slice of the buffer.
        let slice = len / self.rings.len().max(1) as u64;
        for (i, ring) in self.rings.iter_mut().enumerate() {
            let start = dst.wrapping_add(i as u64 * slice);
            *ring = Ring {
                control: CONTROL_ACTIVE,
                msi_control: MSI_ENABLE | 1,
                work: (slice > 0).then_some(Work { dst: start, len: slice, done: 0 }),
                ..Ring::default()
            };
        }
    }

    fn busy(&self) -> bool {
        self.rings.iter().any(|r| r.busy() || r.flush_at.is_some())
    }

    fn tick(&mut self, now: Tick, ram: &mut Ram) {
        self.settle(now);
        if self.reset.held() && !self.broken {
            return;
        }
        for ring in &mut self.rings {
            for slot in [&mut ring.work, &mut ring.orphan] {
                let Some(mut work) = slot.filter(Work::remaining) else { continue };
                let n = DMA_CHUNK.min(work.len - work.done);
                // A completion write outside RAM loses the ring's requests.
                *slot = ram.dma_write(self.node, work.dst.wrapping_add(work.done), n, 0xF1, now).then(|| {
                    work.done += n;
                    work
                });
            }
        }
    }

    fn irq(&self) -> bool {
        self.rings.iter().any(|r| r.completing() && r.msi_control & MSI_ENABLE != 0)
    }

    fn regs(&self) -> DeviceRegs {
        DeviceRegs(
            self.rings
                .iter()
                .zip(NAMES)
                .flat_map(|(ring, [control, done, outstanding])| {
                    [
                        (control, ring.control, 0),
                        (done, u32::from(ring.flush_done), 0),
                        (outstanding, ring.outstanding(), 0),
                    ]
                })
                .collect(),
        )
    }

    fn break_reset(&mut self) {
        self.broken = true;
    }

    fn set_min_hold(&mut self, us: u64) {
        self.reset.set_min_hold(us);
    }

    fn break_flush(&mut self) -> bool {
        self.flush_broken = true;
        true
    }
}
