//! crosvm: a device-tree overlay (DTBO) describing the devices, and the `--vfio` and
//! `--device-tree-overlay` arguments that make crosvm apply it (REFERENCE §5; crosvm's
//! `arch/src/fdt.rs`, `cros_fdt/src/overlay.rs` and `src/crosvm/cmdline.rs`).
//!
//! The overlay is what `dtc -@` writes for a `/plugin/` source with one fragment:
//! `/fragment@0` with `target-path = "/"` and an `__overlay__` node holding, for each device,
//! its fixed-rate guest clocks (from [`guest_node`]) and then the device node
//! `<base name>@<first host address in hex>`, labelled with the host's label (or `dev_<address>`
//! when the host has none). `/__symbols__` maps every label to `/fragment@0/__overlay__/<node>`;
//! `/__local_fixups__` mirrors the path of each property that holds a phandle of the overlay
//! itself — `clocks` of the fixed clocks, each `*-supply` of the fixed regulators
//! ([`crate::build::local_phandles`]) — with the byte offset of each such cell (the fixed clocks
//! have `#clock-cells = <0>`, so the offsets are 0, 4, 8…). As `dtc -@` does, every labelled
//! node has a `phandle`. Nothing refers to the base: no `interrupt-parent` is written, because the root of
//! crosvm's own tree (aarch64/src/fdt.rs) and of QEMU's `virt` tree both set it to the GIC, and
//! the nodes land directly under `/`; so there is no `__fixups__` node.
//!
//! What crosvm rewrites in each node named by `dt-symbol`, before applying the overlay
//! (`patch_fdt_node` in arch/src/fdt.rs):
//! - `reg`, as 64-bit address/size pairs of the guest addresses it allocated (page-aligned, from its
//!   1 GiB platform MMIO region just above guest RAM, [`PLATFORM_MMIO_SIZE`]), one pair per VFIO
//!   region, in region order — which is the host's `reg` order. The overlay carries the HOST
//!   pairs as placeholders, in the same 64-bit form, so the node reads right on a 2/2-cell root
//!   (crosvm's and QEMU's);
//! - `interrupts`, as `<0 irq flags>` (GIC SPI) with the SPIs it allocated, flags 4 (level) for an
//!   automasked VFIO interrupt, else 1 (edge). The overlay carries the host's SPIs and triggers;
//! - `iommus`, only with `iommu=pkvm-iommu` (pointing at its pvIOMMU nodes), and
//!   `power-domains`, only when guest power management is on. The overlay never carries either:
//!   the host's `iommus`/`power-domains` reference host nodes and are dropped by the policy.
//!
//! Hence [`Output::placed`] records the host values as the "guest" ones (what the overlay holds),
//! and a note says that crosvm chooses the real ones at start.
//!
//! The arguments (`src/crosvm/cmdline.rs`): `--vfio PATH,iommu=…,dt-symbol=LABEL` per device,
//! PATH being `/sys/bus/platform/devices/<name>`; the name is [`crate::TargetOptions::sysfs_names`]'
//! entry for the host path, else derived as Linux names a DT platform device
//! ([`platreset_fdt::Node::platform_device_name`], `of_device_make_bus_id`'s rule).
//! `iommu=off` (crosvm's default): all guest RAM is mapped through the host IOMMU. Not
//! `viommu`: crosvm (commit f1e797a6) attaches only PCI devices to its virtio-iommu
//! (`create_vfio_device` returns no mapper for a platform device) and a `viommu` container maps
//! no guest memory up front (devices/src/vfio.rs `get_group_with_vm`), so a DMA-mastering
//! platform device would get no mappings. Under pKVM, `iommu=pkvm-iommu` is the other choice. `--device-tree-overlay FILE,filter` applies the overlay keeping only the
//! `--vfio` devices' labelled nodes and what they reference through `__local_fixups__` (here,
//! their fixed clocks); `filter` is called legacy there, `select-symbols=[…]` being the newer
//! spelling. The line names the file [`PLACEHOLDER_DTBO`] (`guest.dtbo`): the CLI replaces it with
//! the path it writes the overlay to.
//!
//! Checked as a whole: every host SPI must be a GIC SPI ([`crate::build::LAST_GIC_SPI`]: crosvm
//! overwrites it, but a number beyond the GIC's is no host interrupt VFIO could hand on); the
//! devices' page-aligned regions must fit the 1 GiB platform MMIO window
//! ([`GuestError::WindowFull`]); two devices may not share a node name or a label, and with a
//! base tree ([`crate::TargetOptions::base`]) no overlay node may land on a node of the base's root
//! nor a label shadow one of the base's `__symbols__` ([`GuestError::Collision`]).
//!
//! Owns: the crosvm overlay layout and its arguments. Must not: decide properties (`props`).

use platreset_dtedit::{to_dtb, Node as DtNode, WriteOptions};

use crate::build::{
    check_gic_spis, device_phandle, guest_node, local_fixups, local_phandles, page_up, GuestError, Output,
    Placed,
};
use crate::host::HostDevice;

/// crosvm's platform MMIO region on aarch64 (`AARCH64_PLATFORM_MMIO_SIZE`, 1 GiB), where it
/// places every VFIO platform region.
pub const PLATFORM_MMIO_SIZE: u64 = 0x4000_0000;
/// The overlay's file name in [`Output::lines`]; the CLI substitutes the real path.
pub const PLACEHOLDER_DTBO: &str = "guest.dtbo";
/// The `iommu=` mode written in each `--vfio` argument.
pub const IOMMU_MODE: &str = "off";
/// The one fragment's name.
pub const FRAGMENT: &str = "fragment@0";
const OVERLAY: &str = "__overlay__";
const SYMBOLS: &str = "__symbols__";
const LOCAL_FIXUPS: &str = "__local_fixups__";
const TARGET: &str = "crosvm";

fn tree_error(e: impl std::fmt::Display) -> GuestError {
    GuestError::Tree(e.to_string())
}

/// One device laid out in the overlay.
struct Laid {
    /// The device node's name under `__overlay__`.
    node: String,
    /// Its label.
    label: String,
    /// The sysfs name of the host device.
    sysfs: String,
}

/// A label as `dtc` accepts it (`[a-zA-Z_][a-zA-Z0-9_]*`), from a node name.
fn label_from(name: &str) -> String {
    let mut label: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !label.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        label.insert(0, '_');
    }
    label
}

fn first_address(device: &HostDevice) -> u64 {
    device.regions.first().map_or(0, |r| r.0)
}

/// Names, labels and sysfs names of each device; two devices with one name or label collide.
fn lay_out(devices: &[HostDevice], options: &crate::TargetOptions) -> Result<Vec<Laid>, GuestError> {
    let mut laid: Vec<Laid> = Vec::new();
    for device in devices {
        let address = first_address(device);
        let node = format!("{}@{address:x}", device.base_name);
        let label = device.label.clone().unwrap_or_else(|| format!("dev_{address:x}"));
        let sysfs = device.sysfs_name(&options.sysfs_names);
        for (other, before) in devices.iter().zip(&laid) {
            let what = if before.node == node {
                "node names"
            } else if before.label == label {
                "labels"
            } else {
                continue;
            };
            let value = if before.node == node { &node } else { &label };
            return Err(GuestError::Collision {
                target: TARGET,
                what,
                first: other.path.clone(),
                second: device.path.clone(),
                detail: format!("both would be `{value}` in the overlay"),
            });
        }
        laid.push(Laid { node, label, sysfs });
    }
    Ok(laid)
}

/// The regions, page-aligned, must fit crosvm's platform MMIO window (crosvm aligns to the host's
/// page size; 4 KiB, the smallest, is assumed).
fn check_window(devices: &[HostDevice]) -> Result<(), GuestError> {
    let needed = devices
        .iter()
        .flat_map(|d| &d.regions)
        .fold(0u64, |sum, &(_, size)| sum.saturating_add(page_up(size)));
    if needed > PLATFORM_MMIO_SIZE {
        return Err(GuestError::WindowFull {
            target: TARGET,
            window: "crosvm's platform MMIO region (1 GiB above guest RAM)".into(),
            needed,
            size: PLATFORM_MMIO_SIZE,
            devices: devices.iter().map(|d| d.path.clone()).collect(),
        });
    }
    Ok(())
}

/// With a base tree: an overlay node on a base node of the same name would merge into it, and an
/// overlay label would replace the base's symbol of that name.
fn check_base(
    base: &DtNode,
    overlay: &DtNode,
    symbols: &[(String, String)],
    owners: &[(String, String)],
) -> Result<(), GuestError> {
    let owner = |name: &str| {
        owners.iter().find(|(n, _)| n == name).map_or_else(|| name.to_string(), |(_, path)| path.clone())
    };
    for child in &overlay.children {
        if base.child(&child.name).is_some() {
            return Err(GuestError::Collision {
                target: TARGET,
                what: "node names",
                first: format!("/{} of the base", child.name),
                second: owner(&child.name),
                detail: format!("the overlay would merge its `/{}` into the base's", child.name),
            });
        }
    }
    if let Some(base_symbols) = base.child(SYMBOLS) {
        for (label, path) in symbols {
            if let Some(theirs) = base_symbols.prop(label) {
                let node = path.rsplit('/').next().unwrap_or_default();
                return Err(GuestError::Collision {
                    target: TARGET,
                    what: "labels",
                    first: format!(
                        "{} of the base",
                        String::from_utf8_lossy(theirs.strip_suffix(&[0]).unwrap_or(theirs))
                    ),
                    second: owner(node),
                    detail: format!("both are labelled `{label}`"),
                });
            }
        }
    }
    Ok(())
}

/// The device node: [`guest_node`]'s properties, the host's `reg` as 64-bit pairs and its SPIs
/// (crosvm overwrites both), and a phandle as `dtc -@` gives every labelled node. The stand-ins
/// (fixed clocks and regulators) land in `overlay` first; each property that holds overlay
/// phandles is checked to hold exactly them.
fn create_device_node(device: &HostDevice, name: &str, overlay: &mut DtNode) -> Result<DtNode, GuestError> {
    let mut node = guest_node(device, name, overlay)?;
    let reg: Vec<u64> = device.regions.iter().flat_map(|&(address, size)| [address, size]).collect();
    node.set_u64s("reg", &reg);
    if device.irqs.is_empty() {
        node.remove("interrupts");
    } else {
        let cells: Vec<u32> = device.irqs.iter().flat_map(|irq| [0, irq.spi, irq.trigger]).collect();
        node.set_u32s("interrupts", &cells);
    }
    // Each listed property holds nothing but overlay phandles: cell i at byte 4i.
    let local = local_phandles(device);
    for (prop, offsets) in &local {
        if node.prop(prop).map_or(0, <[u8]>::len) != offsets.len() * 4 {
            return Err(GuestError::Tree(format!(
                "{}: `{prop}` does not hold its {} stand-in phandle(s)",
                device.path,
                offsets.len()
            )));
        }
    }
    let phandle = device_phandle(overlay, &node)?;
    node.set_u32s("phandle", &[phandle]);
    Ok(node)
}

/// `/__symbols__`: each label → its node's path inside the fragment.
fn create_symbols_node(symbols: &[(String, String)]) -> DtNode {
    let mut node = DtNode::new(SYMBOLS);
    for (label, path) in symbols {
        node.set_str(label, path);
    }
    node
}

/// `/__local_fixups__`: the fragment's path down to each node with a local phandle, and there a
/// property of the same name listing the byte offsets of the phandle cells.
fn create_local_fixups_node(fixups: Vec<DtNode>) -> Option<DtNode> {
    if fixups.is_empty() {
        return None;
    }
    let mut overlay = DtNode::new(OVERLAY);
    overlay.children = fixups;
    let mut fragment = DtNode::new(FRAGMENT);
    fragment.children.push(overlay);
    let mut root = DtNode::new(LOCAL_FIXUPS);
    root.children.push(fragment);
    Some(root)
}

/// The overlay's tree, where each device landed, and its names.
type Assembled = (DtNode, Vec<Placed>, Vec<Laid>);

fn assemble(devices: &[HostDevice], options: &crate::TargetOptions) -> Result<Assembled, GuestError> {
    check_window(devices)?;
    // crosvm numbers the guest's SPIs itself: `patch_fdt_node` (arch/src/fdt.rs) overwrites
    // `interrupts` with what its IRQ allocator hands out (resources/src/system_allocator.rs, from
    // AARCH64_IRQ_BASE = 4, aarch64/src/lib.rs) and takes each interrupt from VFIO by index. The
    // host SPI it overwrites must still be one: a number beyond the GIC's is no host interrupt.
    for device in devices {
        check_gic_spis(TARGET, device, "crosvm")?;
    }
    let laid = lay_out(devices, options)?;
    let mut overlay = DtNode::new(OVERLAY);
    let mut symbols: Vec<(String, String)> = Vec::new();
    let mut owners: Vec<(String, String)> = Vec::new();
    let mut fixups: Vec<DtNode> = Vec::new();
    let mut placed = Vec::new();
    let path_of = |name: &str| format!("/{FRAGMENT}/{OVERLAY}/{name}");
    for (device, at) in devices.iter().zip(&laid) {
        let stand_ins_from = overlay.children.len();
        // The clocks are named after the label: with the generated one, two unlabelled devices of
        // one kind still get distinct clock nodes.
        let labelled = HostDevice { label: Some(at.label.clone()), ..device.clone() };
        let node = create_device_node(&labelled, &at.node, &mut overlay)?;
        for stand_in in &overlay.children[stand_ins_from..] {
            symbols.push((label_from(&stand_in.name), path_of(&stand_in.name)));
            owners.push((stand_in.name.clone(), format!("the guest {} of {}", stand_in.name, device.path)));
        }
        fixups.extend(local_fixups(&labelled, &at.node));
        overlay.add_child(node).map_err(tree_error)?;
        symbols.push((at.label.clone(), path_of(&at.node)));
        owners.push((at.node.clone(), device.path.clone()));
        placed.push(Placed {
            path: device.path.clone(),
            regs: device.regions.iter().map(|&(host, size)| (host, host, size)).collect(),
            irqs: device.irqs.iter().map(|irq| (irq.spi, irq.trigger)).collect(),
        });
    }
    // A stand-in's label may meet a device's (a host label such as `clk_x_y`).
    for (i, (label, _)) in symbols.iter().enumerate() {
        if let Some(j) = symbols[..i].iter().position(|(l, _)| l == label) {
            return Err(GuestError::Collision {
                target: TARGET,
                what: "labels",
                first: owners[j].1.clone(),
                second: owners[i].1.clone(),
                detail: format!("both would be labelled `{label}`"),
            });
        }
    }
    if let Some(base) = &options.base {
        check_base(base, &overlay, &symbols, &owners)?;
    }
    let mut fragment = DtNode::new(FRAGMENT);
    fragment.set_str("target-path", "/");
    fragment.children.push(overlay);
    let mut root = DtNode::new("");
    root.children.push(fragment);
    root.children.push(create_symbols_node(&symbols));
    if let Some(local_fixups) = create_local_fixups_node(fixups) {
        root.children.push(local_fixups);
    }
    Ok((root, placed, laid))
}

/// Builds the crosvm guest description of `devices`: the overlay (`.dtbo`), one `--vfio` argument
/// per device and the `--device-tree-overlay` argument.
pub fn build(devices: &[HostDevice], options: &crate::TargetOptions) -> Result<Output, GuestError> {
    let (root, placed, laid) = assemble(devices, options)?;
    let dtbo = to_dtb(&root, &WriteOptions::default()).map_err(tree_error)?;
    let mut lines: Vec<String> = laid
        .iter()
        .map(|at| {
            format!("--vfio /sys/bus/platform/devices/{},iommu={IOMMU_MODE},dt-symbol={}", at.sysfs, at.label)
        })
        .collect();
    lines.push(format!("--device-tree-overlay {PLACEHOLDER_DTBO},filter"));
    let notes =
        vec!["crosvm chooses each device's guest addresses (its platform MMIO region above RAM) and SPIs \
         when it starts, and writes them into the labelled nodes' `reg` and `interrupts`: the \
         overlay holds the host's values as placeholders"
            .to_string()];
    Ok(Output { files: vec![(".dtbo".into(), dtbo)], lines, notes, placed })
}
