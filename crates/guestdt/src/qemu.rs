//! QEMU's `virt` machine: devices on the platform bus (REFERENCE §5, hw/arm/sysbus-fdt.c).
//!
//! Serves QEMU 10.1 and older ([`SERVES`]): vfio-platform and `hw/core/sysbus-fdt.c` were
//! deprecated in QEMU 10.0 and removed in 10.2 (REFERENCE §8); [`notes`] says so to every user.
//!
//! The bus is `/platform-bus@c000000` (`qemu,platform` + `simple-bus`, 1/1 cells, `ranges` onto
//! 0x0c000000, 32 MiB). Each device's regions are placed in order, page-aligned, with the host
//! sizes; its interrupts become GIC SPIs from 112 (QEMU's platform-bus range is 112–175) with the
//! host's trigger type. The host's SPI numbers are not carried: QEMU takes each interrupt from VFIO
//! by index and numbers the guest's itself, so none is checked here. On a base DTB (what `-machine dumpdtb=` writes) the bus node is reused,
//! after whatever it already holds; without one, the result is a DTS fragment.
//!
//! Owns: the QEMU layout and its limits. Must not: decide properties (that is `props`).

use platreset_dtedit::Node as DtNode;

use crate::build::{guest_node, page_up, GuestError, Placed};
use crate::host::HostDevice;

/// The platform bus window in guest physical memory.
pub const BUS_BASE: u64 = 0x0c00_0000;
/// Its size: 32 MiB.
pub const BUS_SIZE: u64 = 0x0200_0000;
/// QEMU's platform-bus SPIs.
pub const FIRST_SPI: u32 = 112;
/// The last one.
pub const LAST_SPI: u32 = 175;
/// The bus node's name.
pub const BUS_NAME: &str = "platform-bus@c000000";
/// The QEMU releases this target serves (REFERENCE §8).
pub const SERVES: &str = "QEMU 10.1 and older";

/// What every user of this target must know: the QEMU releases it serves.
pub fn notes() -> Vec<String> {
    vec![format!(
        "qemu: for {SERVES}: QEMU deprecated vfio-platform (and the platform bus's device-tree code) in 10.0 and removed it in 10.2; pin a 10.1.x release, or use the crosvm, xen or avf target"
    )]
}

/// What is already on the base's bus: the first free offset and SPI.
fn occupied(bus: &DtNode) -> (u64, u32) {
    let mut offset = 0u64;
    let mut spi = FIRST_SPI;
    for child in &bus.children {
        if let Some(reg) = child.prop("reg") {
            for pair in reg.chunks_exact(8) {
                let base = u64::from(u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]));
                let size = u64::from(u32::from_be_bytes([pair[4], pair[5], pair[6], pair[7]]));
                offset = offset.max(page_up(base.saturating_add(size)));
            }
        }
        if let Some(irqs) = child.prop("interrupts") {
            for cell in irqs.chunks_exact(12) {
                let n = u32::from_be_bytes([cell[4], cell[5], cell[6], cell[7]]);
                // A base's SPI may be anything: saturating, it only makes the range full.
                spi = spi.max(n.saturating_add(1));
            }
        }
    }
    (offset, spi)
}

/// Places `devices` on the platform bus of `root` (a base tree, or an empty one), creating the
/// bus when the base has none. Returns where each device landed.
pub fn place(root: &mut DtNode, devices: &[HostDevice], gic: Option<u32>) -> Result<Vec<Placed>, GuestError> {
    if root.child(BUS_NAME).is_none() {
        let mut bus = DtNode::new(BUS_NAME);
        bus.set_strs("compatible", &["qemu,platform", "simple-bus"]);
        if let Some(gic) = gic {
            bus.set_u32s("interrupt-parent", &[gic]);
        }
        bus.set_u32s("#address-cells", &[1]);
        bus.set_u32s("#size-cells", &[1]);
        bus.set_u32s("ranges", &[0, 0, BUS_BASE as u32, BUS_SIZE as u32]);
        root.add_child(bus).map_err(|e| GuestError::Tree(e.to_string()))?;
    }
    let (mut offset, mut spi) = root.child(BUS_NAME).map(occupied).unwrap_or((0, FIRST_SPI));
    let needed: u64 = devices
        .iter()
        .flat_map(|d| &d.regions)
        .fold(0u64, |sum, &(_, size)| sum.saturating_add(page_up(size)));
    if offset.saturating_add(needed) > BUS_SIZE {
        return Err(GuestError::WindowFull {
            target: "qemu",
            window: format!("the platform bus (32 MiB at {BUS_BASE:#x})"),
            needed: offset.saturating_add(needed),
            size: BUS_SIZE,
            devices: devices.iter().map(|d| d.path.clone()).collect(),
        });
    }
    let irqs: usize = devices.iter().map(|d| d.irqs.len()).sum();
    if spi as usize + irqs > LAST_SPI as usize + 1 {
        return Err(GuestError::IrqsFull { target: "qemu", first: FIRST_SPI, last: LAST_SPI, needed: irqs });
    }
    let mut placed = Vec::new();
    for device in devices {
        let mut regs = Vec::new();
        for &(host, size) in &device.regions {
            regs.push((host, offset, size));
            offset = offset.saturating_add(page_up(size));
        }
        let guest_irqs: Vec<(u32, u32)> = device
            .irqs
            .iter()
            .map(|irq| {
                let guest = spi;
                spi += 1;
                (guest, irq.trigger)
            })
            .collect();
        placed.push(Placed { path: device.path.clone(), regs, irqs: guest_irqs });
    }
    for (device, p) in devices.iter().zip(&placed) {
        let first = p.regs.first().map_or(0, |r| r.1);
        let mut node = guest_node(device, &format!("{}@{first:x}", device.base_name), root)?;
        let reg: Vec<u32> = p.regs.iter().flat_map(|&(_, guest, size)| [guest as u32, size as u32]).collect();
        node.set_u32s("reg", &reg);
        if p.irqs.is_empty() {
            node.remove("interrupts");
        } else {
            let cells: Vec<u32> = p.irqs.iter().flat_map(|&(spi, trigger)| [0, spi, trigger]).collect();
            node.set_u32s("interrupts", &cells);
        }
        let bus = root.child_mut(BUS_NAME).ok_or_else(|| GuestError::Tree("platform bus vanished".into()))?;
        bus.add_child(node).map_err(|e| GuestError::Tree(e.to_string()))?;
    }
    Ok(placed)
}
