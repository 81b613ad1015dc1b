//! Xen on Arm: the partial device tree a domU gets its passed-through devices from, and the
//! configuration lines that assign them — `xl` for a guest started from dom0, ImageBuilder for a
//! dom0less guest (REFERENCE §5).
//!
//! Where each name and number comes from:
//! - The partial tree (Xen's `docs/misc/arm/passthrough.txt`): a root with `#address-cells =
//!   #size-cells = 2` (only there to keep dtc happy), a `/passthrough` node with `compatible =
//!   "simple-bus"`, `ranges`, 2/2 cells (all four mandatory), and an optional `/aliases`. The
//!   toolstack copies only those two nodes into the guest tree (libxl_arm.c
//!   `copy_partial_fdt`; dom0less Xen scans `/gic`, `/aliases` and `/passthrough` only), so the
//!   fixed-rate clocks that stand in for host clocks go under `/passthrough` too, as the
//!   document's dom0less example does with its `misc_clk`.
//! - `interrupt-parent = <0xfde8>`: 65000, `GUEST_PHANDLE_GIC` (Xen's
//!   `public/device_tree_defs.h`), the phandle libxl and dom0less Xen give the guest's vGIC.
//! - Addresses: the guest address of every region is its host address. That identity mapping is
//!   what `xl`'s `iomem` does when no `@GFN` is given (xl.cfg(5)); we write the `@GFN` anyway so
//!   the mapping is explicit. Interrupts are identity-mapped by Xen itself (passthrough.txt:
//!   "VIRQ == IRQ"; libxl binds each `irqs` entry to the same virtual IRQ), so a guest node's
//!   `interrupts = <0 spi trigger>` is the host's SPI and trigger.
//! - xl lines (xl.cfg(5), passthrough.txt): `device_tree = "<file>"`, `dtdev = [ "<host path>",
//!   … ]`, `irqs = [ <GIC interrupt ID = SPI + 32>, … ]`, `iomem = [ "0xPFN,0xCOUNT@0xGFN", … ]`
//!   with host page frame, number of 4 KiB pages and guest page frame, all hexadecimal.
//!   The file name is the placeholder `guest-partial.dtb`; the CLI substitutes the real one.
//! - dom0less (passthrough.txt, "Dom0-less Device Passthrough"): each device node gets `xen,reg =
//!   <phys size guest>` (address and size cells of the partial tree: 2 + 2 + 2), `xen,path =
//!   "<host path>"`, and `xen,force-assign-without-iommu` only for a device the allowlist
//!   records as not mastering DMA ([`crate::TargetOptions::non_dma`]). Xen refuses `xen,reg`
//!   entries that are not page-aligned in address and size ("DomU passthrough config has not
//!   page aligned addresses/sizes"), so `xen,reg` covers the region's whole pages while `reg`
//!   keeps the exact host range. From the host's `iommus`, `xen,smmu-stream-ids = <sid …>`, as
//!   Lopper's `assists/xen_passthrough.py` writes it (REFERENCE §8: every specifier's cells in
//!   order, the host `iommus` itself not copied) — but only when every IOMMU is an Arm SMMU
//!   taking one cell, a plain stream ID; a two-cell SMMU (stream ID and mask) or another IOMMU
//!   (Renesas IPMMU micro-TLBs, Tegra swgroups) gets a note saying why not. Xen itself assigns
//!   through the host node `xen,path` names and its `iommus`. The lines are ImageBuilder's (its README):
//!   `DOMU_PASSTHROUGH_PATHS[0]="<host paths, space-separated>"` (which also adds
//!   `xen,passthrough` to those host nodes) and `DOMU_PASSTHROUGH_DTB[0]="<file>"`; Xen's own CI
//!   (automation/scripts/xilinx-smoke-dom0less-arm64.sh) sets both.
//! - `xen,passthrough` in the host tree (passthrough.txt step 1): one note per device.
//! - The guest's fixed layout (Xen's `public/arch-arm.h`, "not stable and can change between
//!   versions"): vGIC from `GUEST_GICD_BASE` 0x03001000 to the end of `GUEST_GICV3_GICR0`
//!   (0x04020000), grant table 0x38000000 (16 MiB), magic pages 0x39000000 (16 MiB) are always
//!   there: an identity-mapped region on them is a [`GuestError::Collision`]. Virtio-mmio
//!   0x02000000 (1 MiB, Xen 4.17+ with virtio devices), ACPI 0x20000000 (32 MiB, `acpi=1`) and the
//!   vPL011 0x22000000 (4 KiB, `vuart="sbsa_uart"`) exist only when configured: a note. RAM bank 0
//!   starts at 0x40000000 and grows with the guest's memory (bank 1 at 8 GiB after its 3 GiB):
//!   a region on 0x40000000 itself is a collision (every guest has RAM there), and a note says
//!   how much memory the guest can have before its RAM reaches the lowest device above.
//! - Fixed guest interrupts: the timer PPIs 27/29/30 and the event-channel PPI 31 are PPIs, and
//!   [`HostDevice`] carries SPIs only, so they cannot collide. Two SPIs can be claimed by Xen
//!   when configured: IRQ 32 (`GUEST_VPL011_SPI`, xl.cfg: "If vuart console is enabled then irq
//!   32 is reserved for it") and IRQs 33–43 (`GUEST_VIRTIO_MMIO_SPI_FIRST..LAST`, Xen 4.17+);
//!   libxl refuses a passed IRQ there only when the feature is on, so they are notes. Passed
//!   SPIs collide with each other: two devices on one SPI are a [`GuestError::Collision`].
//! - Known trap (REFERENCE §5): Xen advertises unused guest address space as extended regions
//!   for grant mappings; releases that do not subtract `xen,reg` ranges from them let the guest
//!   map over a passed device. The RAM note keeps devices out of the RAM banks' used part only.
//!
//! Owns: the Xen layout, its checks, the partial tree and the lines. Must not: decide properties
//! (that is `props`) or eligibility.

use platreset_dtedit::{to_dtb, Node as DtNode, Prop, WriteOptions};

use crate::build::{guest_node, GuestError, Output, Placed};
use crate::host::HostDevice;
use crate::TargetOptions;

/// The guest vGIC's phandle: `GUEST_PHANDLE_GIC` (65000).
pub const GUEST_PHANDLE_GIC: u32 = 0xfde8;
/// The partial tree's passthrough bus.
pub const PASSTHROUGH: &str = "passthrough";
/// The placeholder file name in the lines, replaced by the CLI with the file it writes.
pub const PARTIAL_DTB: &str = "guest-partial.dtb";
/// Xen on Arm maps guest memory in 4 KiB pages.
const PAGE_SHIFT: u32 = 12;
const MIB: u64 = 1 << 20;
/// GIC interrupt IDs of SPIs start at 32 and stop at 1019.
const FIRST_SPI_ID: u32 = 32;
const LAST_SPI_ID: u32 = 1019;
/// `GUEST_RAM0_BASE`, `GUEST_RAM0_SIZE`, `GUEST_RAM1_BASE`, `GUEST_RAM1_SIZE`.
const RAM: [(u64, u64); 2] = [(0x4000_0000, 0xc000_0000), (0x2_0000_0000, 0xfe_0000_0000)];

/// A piece of the guest's fixed layout: a name citing its source, base, size, and whether it is
/// always there (a collision) or only when configured (a note).
struct Fixed {
    name: &'static str,
    base: u64,
    size: u64,
    always: bool,
}

const FIXED_REGIONS: &[Fixed] = &[
    Fixed {
        name: "Xen's guest vGIC (GUEST_GICD_BASE..GUEST_GICV3_GICR0, public/arch-arm.h)",
        base: 0x0300_1000,
        size: 0x0101_f000,
        always: true,
    },
    Fixed {
        name: "Xen's guest grant-table region (GUEST_GNTTAB_BASE, public/arch-arm.h)",
        base: 0x3800_0000,
        size: 0x0100_0000,
        always: true,
    },
    Fixed {
        name: "Xen's guest magic pages (GUEST_MAGIC_BASE, public/arch-arm.h)",
        base: 0x3900_0000,
        size: 0x0100_0000,
        always: true,
    },
    Fixed {
        name: "Xen's virtio-mmio window (GUEST_VIRTIO_MMIO_BASE, used when the guest has virtio devices)",
        base: 0x0200_0000,
        size: 0x0010_0000,
        always: false,
    },
    Fixed {
        name: "Xen's guest ACPI tables (GUEST_ACPI_BASE, used with acpi=1)",
        base: 0x2000_0000,
        size: 0x0200_0000,
        always: false,
    },
    Fixed {
        name: "Xen's vPL011 UART (GUEST_PL011_BASE, used with vuart=\"sbsa_uart\" or a dom0less vpl011)",
        base: 0x2200_0000,
        size: 0x0000_1000,
        always: false,
    },
];

/// GIC interrupt IDs Xen takes for itself when a feature is configured: `(first, last, what)`.
const CONDITIONAL_IRQS: &[(u32, u32, &str)] = &[
    (32, 32, "the vPL011 UART's interrupt (GUEST_VPL011_SPI) when vuart=\"sbsa_uart\" or a dom0less vpl011 is configured"),
    (33, 43, "the virtio-mmio interrupts (GUEST_VIRTIO_MMIO_SPI_FIRST..LAST, Xen 4.17+) when the guest has virtio devices"),
];

/// Each device's page spans: `(first page frame, page count)`, what `iomem` and `xen,reg` map.
type Spans = Vec<(u64, u64)>;

/// The whole 4 KiB pages a region occupies: `(first page frame, page count)`.
fn pages(path: &str, address: u64, size: u64) -> Result<(u64, u64), GuestError> {
    let unsupported = |why: String| GuestError::Unsupported { target: "xen", node: path.to_string(), why };
    if size == 0 {
        return Err(unsupported(format!("region at {address:#x} has size 0: no page to map")));
    }
    let last = address.checked_add(size - 1).ok_or_else(|| {
        unsupported(format!("region {address:#x}+{size:#x} passes the end of the address space"))
    })?;
    let first = address >> PAGE_SHIFT;
    Ok((first, (last >> PAGE_SHIFT) - first + 1))
}

/// A device's page spans, sorted, overlapping ones merged: what `iomem` and `xen,reg` map.
fn page_spans(device: &HostDevice) -> Result<Spans, GuestError> {
    let mut spans = device
        .regions
        .iter()
        .map(|&(address, size)| pages(&device.path, address, size))
        .collect::<Result<Vec<_>, _>>()?;
    spans.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::new();
    for (first, count) in spans {
        match merged.last_mut() {
            Some((f, c)) if first < *f + *c => *c = (*c).max(first + count - *f),
            _ => merged.push((first, count)),
        }
    }
    Ok(merged)
}

/// `0xa-0xb` (inclusive) for a byte range.
fn bytes(address: u64, size: u64) -> String {
    format!("{address:#x}-{:#x}", address.saturating_add(size.saturating_sub(1)))
}

/// The address of page frame `frame` (saturating at the top of the address space).
fn page_address(frame: u64) -> u64 {
    frame.saturating_mul(1 << PAGE_SHIFT)
}

/// `0xa-0xb` (inclusive) for a page span, in bytes.
fn span_bytes((first, count): (u64, u64)) -> String {
    bytes(page_address(first), page_address(count))
}

/// Where the spans `a` and `b` overlap, in pages.
fn overlap(a: (u64, u64), b: (u64, u64)) -> Option<(u64, u64)> {
    let first = a.0.max(b.0);
    let end = (a.0 + a.1).min(b.0 + b.1);
    (first < end).then(|| (first, end - first))
}

/// The GIC interrupt ID of a device's SPI, the number `irqs` takes.
fn irq_id(device: &HostDevice, spi: u32) -> Result<u32, GuestError> {
    spi.checked_add(FIRST_SPI_ID).filter(|&id| id <= LAST_SPI_ID).ok_or_else(|| GuestError::Unsupported {
        target: "xen",
        node: device.path.clone(),
        why: format!("SPI {spi} is beyond the GIC's last SPI ({})", LAST_SPI_ID - FIRST_SPI_ID),
    })
}

/// The layout as a whole: every device's page spans clear of every other device's, of Xen's
/// fixed regions, and no SPI claimed twice. Returns each device's spans.
fn check_layout(devices: &[HostDevice]) -> Result<Vec<Spans>, GuestError> {
    let spans = devices.iter().map(page_spans).collect::<Result<Vec<_>, _>>()?;
    for (i, (a, a_spans)) in devices.iter().zip(&spans).enumerate() {
        for (b, b_spans) in devices.iter().zip(&spans).skip(i + 1) {
            for &sa in a_spans {
                for &sb in b_spans {
                    if let Some(shared) = overlap(sa, sb) {
                        return Err(GuestError::Collision {
                            target: "xen",
                            what: "guest addresses",
                            first: a.path.clone(),
                            second: b.path.clone(),
                            detail: format!(
                                "{} and {} share guest page(s) {}: Xen maps whole 4 KiB pages (iomem, xen,reg) and the guest address is the host address",
                                span_bytes(sa),
                                span_bytes(sb),
                                span_bytes(shared)
                            ),
                        });
                    }
                }
            }
        }
        for fixed in FIXED_REGIONS.iter().filter(|f| f.always) {
            let region = (fixed.base >> PAGE_SHIFT, fixed.size >> PAGE_SHIFT);
            if let Some(&span) = a_spans.iter().find(|&&s| overlap(s, region).is_some()) {
                return Err(GuestError::Collision {
                    target: "xen",
                    what: "guest addresses",
                    first: a.path.clone(),
                    second: fixed.name.to_string(),
                    detail: format!(
                        "{} (the host address, mapped 1:1) overlaps {}: the guest needs another address for it",
                        span_bytes(span),
                        bytes(fixed.base, fixed.size)
                    ),
                });
            }
        }
        let ram_base = RAM[0].0 >> PAGE_SHIFT;
        if let Some(&span) =
            a_spans.iter().find(|&&(first, count)| first <= ram_base && first + count > ram_base)
        {
            return Err(GuestError::Collision {
                target: "xen",
                what: "guest addresses",
                first: a.path.clone(),
                second: "Xen's guest RAM bank 0 (GUEST_RAM0_BASE, public/arch-arm.h), where every guest's RAM starts".into(),
                detail: format!("{} (the host address, mapped 1:1) covers {:#x}", span_bytes(span), RAM[0].0),
            });
        }
    }
    let mut seen: Vec<(u32, &str)> = Vec::new();
    for device in devices {
        let mut own: Vec<u32> = Vec::new();
        for irq in &device.irqs {
            irq_id(device, irq.spi)?;
            if own.contains(&irq.spi) {
                continue;
            }
            if let Some((_, other)) = seen.iter().find(|(spi, _)| *spi == irq.spi) {
                return Err(GuestError::Collision {
                    target: "xen",
                    what: "interrupts",
                    first: (*other).to_string(),
                    second: device.path.clone(),
                    detail: format!(
                        "both use SPI {} (xl irqs {}): Xen routes a physical interrupt to one guest interrupt, once",
                        irq.spi,
                        irq.spi.saturating_add(FIRST_SPI_ID)
                    ),
                });
            }
            own.push(irq.spi);
        }
        seen.extend(own.into_iter().map(|spi| (spi, device.path.as_str())));
    }
    Ok(spans)
}

/// The device's SMMU stream IDs for `xen,smmu-stream-ids`, in `iommus` order (none without
/// `iommus`), or why they cannot be given: an IOMMU that is not an Arm SMMU, or one whose
/// specifier is not a single stream ID.
fn stream_ids(device: &HostDevice) -> Result<Vec<u32>, String> {
    let mut sids = Vec::new();
    for (iommu, cells) in &device.iommus {
        if !device.arm_smmus.contains(iommu) {
            return Err(format!("its IOMMU {iommu} is not an Arm SMMU: its cells are not stream IDs"));
        }
        match cells.as_slice() {
            [sid] => sids.push(*sid),
            [sid, mask] => {
                return Err(format!(
                    "{iommu} takes 2 cells (stream ID {sid:#x} and mask {mask:#x}): xen,smmu-stream-ids holds plain stream IDs"
                ))
            }
            other => {
                return Err(format!(
                    "{iommu} takes {} cells: xen,smmu-stream-ids holds one stream ID per specifier",
                    other.len()
                ))
            }
        }
    }
    Ok(sids)
}

/// Two 32-bit cells, high first: one 64-bit address or size in a 2-cell property.
fn cells2(value: u64) -> [u32; 2] {
    [(value >> 32) as u32, value as u32]
}

/// The root: 2/2 cells, which the partial tree needs for dtc (the guest's root has them anyway).
fn create_root_node() -> DtNode {
    let mut root = DtNode::new("");
    root.set_u32s("#address-cells", &[2]).set_u32s("#size-cells", &[2]);
    root
}

/// `/passthrough`: a simple bus with identity `ranges` and 2/2 cells (all four mandatory).
fn create_passthrough_node() -> DtNode {
    let mut bus = DtNode::new(PASSTHROUGH);
    bus.set_str("compatible", "simple-bus");
    bus.set_empty("ranges");
    bus.set_u32s("#address-cells", &[2]).set_u32s("#size-cells", &[2]);
    bus
}

/// An alias name from a host label: lowercase, `_` as `-`; `None` when it still is not one the
/// devicetree specification allows (`[a-z0-9-]+`).
fn alias_name(label: &str) -> Option<String> {
    let name = label.to_ascii_lowercase().replace('_', "-");
    let valid =
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then_some(name)
}

/// `/aliases`: one alias per labelled device, named after its host label and pointing at its
/// guest node. (The host's own aliases, `mmc0` and the like, are not in [`HostDevice`] yet.)
fn create_aliases_node(devices: &[HostDevice], names: &[String]) -> DtNode {
    let mut aliases = DtNode::new("aliases");
    for (device, name) in devices.iter().zip(names) {
        let Some(alias) = device.label.as_deref().and_then(alias_name) else { continue };
        if aliases.prop(&alias).is_none() {
            aliases.set_str(&alias, &format!("/{PASSTHROUGH}/{name}"));
        }
    }
    aliases
}

/// One device's guest node: the copied properties, `reg` at the host address, the host's SPIs
/// with the guest vGIC as parent, and in the dom0less form what Xen needs to assign it.
fn create_device_node(
    device: &HostDevice,
    name: &str,
    spans: &[(u64, u64)],
    options: &TargetOptions,
    bus: &mut DtNode,
) -> Result<DtNode, GuestError> {
    // Fixed-rate clocks go under the bus: the toolstack copies only /passthrough and /aliases.
    let mut node = guest_node(device, name, bus)?;
    // Identity mapping: the guest address of each region is its host address.
    let reg: Vec<u32> = device
        .regions
        .iter()
        .flat_map(|&(address, size)| [cells2(address), cells2(size)])
        .flatten()
        .collect();
    node.set_u32s("reg", &reg);
    if device.irqs.is_empty() {
        node.remove("interrupts");
    } else {
        // The host's SPI and trigger: Xen routes the physical interrupt to the same number.
        let cells: Vec<u32> = device.irqs.iter().flat_map(|irq| [0, irq.spi, irq.trigger]).collect();
        node.set_u32s("interrupts", &cells);
        let parent = Prop::new("interrupt-parent", GUEST_PHANDLE_GIC.to_be_bytes().to_vec());
        let at = node.props.iter().position(|p| p.name == "interrupts").map_or(node.props.len(), |i| i + 1);
        node.props.insert(at, parent);
    }
    if options.dom0less {
        // <phys size guest> per span, whole pages (Xen refuses unaligned ones), guest = phys.
        let xen_reg: Vec<u32> = spans
            .iter()
            .flat_map(|&(first, count)| {
                let phys = page_address(first);
                [cells2(phys), cells2(page_address(count)), cells2(phys)]
            })
            .flatten()
            .collect();
        node.set_u32s("xen,reg", &xen_reg);
        node.set_str("xen,path", &device.path);
        if let Ok(sids) = stream_ids(device) {
            if !sids.is_empty() {
                node.set_u32s("xen,smmu-stream-ids", &sids);
            }
        }
        if options.non_dma.contains(&device.path) {
            node.set_empty("xen,force-assign-without-iommu");
        }
    }
    Ok(node)
}

/// The partial device tree and where each device landed (guest = host, for addresses and SPIs).
pub fn partial_tree(
    devices: &[HostDevice],
    options: &TargetOptions,
) -> Result<(DtNode, Vec<Placed>), GuestError> {
    lay_out(devices, options).map(|(root, placed, _)| (root, placed))
}

/// The checked layout, the partial tree, the placements, and each device's page spans.
fn lay_out(
    devices: &[HostDevice],
    options: &TargetOptions,
) -> Result<(DtNode, Vec<Placed>, Vec<Spans>), GuestError> {
    let spans = check_layout(devices)?;
    let names: Vec<String> = devices
        .iter()
        .map(|d| format!("{}@{:x}", d.base_name, d.regions.first().map_or(0, |r| r.0)))
        .collect();
    let mut root = create_root_node();
    let aliases = create_aliases_node(devices, &names);
    let mut bus = create_passthrough_node();
    for ((device, name), spans) in devices.iter().zip(&names).zip(&spans) {
        let node = create_device_node(device, name, spans, options, &mut bus)?;
        bus.add_child(node).map_err(|e| GuestError::Tree(e.to_string()))?;
    }
    root.add_child(aliases).map_err(|e| GuestError::Tree(e.to_string()))?;
    root.add_child(bus).map_err(|e| GuestError::Tree(e.to_string()))?;
    let placed = devices
        .iter()
        .map(|d| Placed {
            path: d.path.clone(),
            regs: d.regions.iter().map(|&(address, size)| (address, address, size)).collect(),
            irqs: d.irqs.iter().map(|irq| (irq.spi, irq.trigger)).collect(),
        })
        .collect();
    Ok((root, placed, spans))
}

/// `xl` lines (passthrough.txt's order): the partial tree, the host nodes, the GIC interrupt IDs
/// and the page frames, identity-mapped.
fn xl_lines(devices: &[HostDevice], spans: &[Spans], options: &TargetOptions) -> Vec<String> {
    let quoted = |items: Vec<String>| items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    // dtdev assigns through the IOMMU; Xen refuses it for a device no IOMMU protects, and a
    // non-DMA device without one needs only its pages and interrupts.
    let dtdev: Vec<String> = devices
        .iter()
        .filter(|d| !(d.iommus.is_empty() && options.non_dma.contains(&d.path)))
        .map(|d| d.path.clone())
        .collect();
    let mut irqs: Vec<u32> = Vec::new();
    for irq in devices.iter().flat_map(|d| &d.irqs) {
        let id = irq.spi.saturating_add(FIRST_SPI_ID);
        if !irqs.contains(&id) {
            irqs.push(id);
        }
    }
    let iomem =
        spans.iter().flatten().map(|&(first, count)| format!("{first:#x},{count:#x}@{first:#x}")).collect();
    let mut lines = vec![format!("device_tree = \"{PARTIAL_DTB}\"")];
    if !dtdev.is_empty() {
        lines.push(format!("dtdev = [ {} ]", quoted(dtdev)));
    }
    if !irqs.is_empty() {
        lines.push(format!("irqs = [ {} ]", irqs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")));
    }
    lines.push(format!("iomem = [ {} ]", quoted(iomem)));
    lines
}

/// ImageBuilder lines for the first dom0less domU.
fn imagebuilder_lines(devices: &[HostDevice]) -> Vec<String> {
    let paths: Vec<&str> = devices.iter().map(|d| d.path.as_str()).collect();
    vec![
        format!("DOMU_PASSTHROUGH_PATHS[0]=\"{}\"", paths.join(" ")),
        format!("DOMU_PASSTHROUGH_DTB[0]=\"{PARTIAL_DTB}\""),
    ]
}

/// How much memory the guest can have before its RAM reaches the lowest identity-mapped device
/// page inside a RAM bank: `(MiB, page address, device)`.
fn memory_limit<'d>(devices: &'d [HostDevice], spans: &[Spans]) -> Option<(u64, u64, &'d str)> {
    let mut lowest: Option<(u64, u64, &str)> = None;
    for (device, spans) in devices.iter().zip(spans) {
        for &(first, count) in spans {
            let start = page_address(first);
            let end = page_address(first + count);
            // RAM below the device: bank 0 up to it, or all of bank 0 and bank 1 up to it.
            let below = if start >= RAM[0].0 && start < RAM[0].0 + RAM[0].1 {
                Some(start - RAM[0].0)
            } else if start < RAM[1].0 && end > RAM[1].0 {
                Some(RAM[0].1)
            } else if start >= RAM[1].0 && start < RAM[1].0 + RAM[1].1 {
                Some(RAM[0].1 + (start - RAM[1].0))
            } else {
                None
            };
            if let Some(below) = below {
                if lowest.is_none_or(|(b, _, _)| below < b) {
                    lowest = Some((below, start, device.path.as_str()));
                }
            }
        }
    }
    lowest.map(|(below, start, path)| (below / MIB, start, path))
}

/// Advice: host nodes to mark, memory to keep below devices, features that would collide.
fn notes(devices: &[HostDevice], spans: &[Spans], options: &TargetOptions) -> Vec<String> {
    let mut notes = Vec::new();
    for device in devices {
        let how = if options.dom0less {
            "ImageBuilder adds it for the paths in DOMU_PASSTHROUGH_PATHS[0]".to_string()
        } else {
            format!("e.g. in U-Boot: fdt set {} xen,passthrough", device.path)
        };
        notes.push(format!(
            "host device tree: {} needs `xen,passthrough;` (Xen keeps the node from dom0 and lets it be assigned; {how})",
            device.path
        ));
    }
    for device in devices.iter().filter(|d| d.iommus.is_empty()) {
        if options.non_dma.contains(&device.path) {
            if !options.dom0less {
                notes.push(format!(
                    "{}: no IOMMU, and the allowlist records it as not mastering DMA: left out of dtdev (Xen assigns through an IOMMU only) and given by iomem and irqs",
                    device.path
                ));
            }
        } else {
            notes.push(format!(
                "{}: no `iommus` in the host tree and not recorded as non-DMA: Xen refuses to assign a device no IOMMU protects",
                device.path
            ));
        }
    }
    if options.dom0less {
        let mut written = Vec::new();
        for device in devices.iter().filter(|d| !d.iommus.is_empty()) {
            match stream_ids(device) {
                Ok(_) => written.push(device.path.as_str()),
                Err(why) => notes.push(format!("{}: no xen,smmu-stream-ids: {why}", device.path)),
            }
        }
        if !written.is_empty() {
            notes.push(format!(
                "xen,smmu-stream-ids from the host's iommus for {}, as Lopper's xen_passthrough assist writes them; Xen itself assigns through xen,path and the host node's iommus",
                written.join(", ")
            ));
        }
    }
    let (knob, unless) = if options.dom0less {
        ("ImageBuilder's DOMU_MEM[0]", " (a direct-mapped domU has the host's RAM layout instead)")
    } else {
        ("xl's memory", "")
    };
    if let Some((mib, start, path)) = memory_limit(devices, spans) {
        notes.push(format!(
            "guest addresses are the host addresses (identity mapping): {path} at {start:#x} lies where Xen puts guest RAM (bank 0 from 0x40000000, 3 GiB, then bank 1 from 0x200000000; public/arch-arm.h): keep {knob} at or below {mib} MiB{unless}"
        ));
    }
    for (device, spans) in devices.iter().zip(spans) {
        for fixed in FIXED_REGIONS.iter().filter(|f| !f.always) {
            let region = (fixed.base >> PAGE_SHIFT, fixed.size >> PAGE_SHIFT);
            if let Some(&span) = spans.iter().find(|&&s| overlap(s, region).is_some()) {
                notes.push(format!(
                    "{}: {} overlaps {} at {}: leave that feature off in this guest",
                    device.path,
                    span_bytes(span),
                    fixed.name,
                    bytes(fixed.base, fixed.size)
                ));
            }
        }
        for irq in &device.irqs {
            let id = irq.spi.saturating_add(FIRST_SPI_ID);
            if let Some((_, _, what)) =
                CONDITIONAL_IRQS.iter().find(|(first, last, _)| (*first..=*last).contains(&id))
            {
                notes.push(format!(
                    "{}: SPI {} (xl irqs {id}) is {what}: leave that feature off in this guest",
                    device.path, irq.spi
                ));
            }
        }
    }
    if options.base.is_some() {
        notes.push(
            "a base tree is not used by the xen target: Xen builds the guest's tree and adds the partial one"
                .into(),
        );
    }
    notes
}

/// Builds the Xen guest description of `devices`: the partial DTB (`.dtb`), the `xl` lines (or,
/// with [`TargetOptions::dom0less`], the ImageBuilder lines), and the notes.
pub fn build(devices: &[HostDevice], options: &TargetOptions) -> Result<Output, GuestError> {
    let (root, placed, spans) = lay_out(devices, options)?;
    let dtb = to_dtb(&root, &WriteOptions::default()).map_err(|e| GuestError::Tree(e.to_string()))?;
    let lines =
        if options.dom0less { imagebuilder_lines(devices) } else { xl_lines(devices, &spans, options) };
    Ok(Output { files: vec![(".dtb".into(), dtb)], lines, notes: notes(devices, &spans, options), placed })
}
