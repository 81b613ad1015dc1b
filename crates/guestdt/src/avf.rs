//! Android pKVM / AVF device assignment: the VM device-assignment DTBO ("VM DTBO") and the
//! matching `assignable_devices.xml` entries (REFERENCE §5; AOSP
//! `packages/modules/Virtualization`: `docs/device_assignment.md`, which `pvmfw/README.md`
//! points to for the blob it takes as configuration entry 2, `pvmfw/src/device_assignment.rs`,
//! `virtualizationservice/assignable_devices.xsd`, `virtualizationmanager/src/crosvm.rs`).
//!
//! The DTBO is laid out as `dtc -@` lays out the README's example source:
//! - `/host` at the overlay's root, outside every fragment (the README: it "describes physical
//!   devices and physical IOMMUs", is only used to verify assignment and is never applied),
//!   `#address-cells = #size-cells = <2>`. One node per device, `<name>@<physical address>`,
//!   with the physical `reg` (host CPU addresses, 2/2 cells), the physical `iommus` as
//!   `<&iommuN sid>` pairs and `android,pvmfw,target = <&label>`; one node per distinct host
//!   IOMMU, `iommuN`, with `#iommu-cells = <1>` (the only value pvmfw supports) and
//!   `android,pvmfw,token = <hi lo>` (a `<u64>`, unique per IOMMU: pvmfw refuses duplicates).
//!   The token is hypervisor-specific; pKVM's pviommu code calls it the IOMMU token "as in the
//!   firmware (usually base MMIO address)", so it is the IOMMU node's unit address here (the
//!   CPU address when the buses above it map 1:1, as `ranges;` does) and a note says so.
//! - `/fragment@0` with `target-path = "/"` (pvmfw refuses any other target) and `__overlay__`
//!   holding one labelled node per device: what the guest cannot discover, i.e. the properties
//!   the policy copies, fixed-rate clock nodes for the clocks it replaces and fixed regulator
//!   nodes for the supplies. The node carries no
//!   `reg`, `interrupts` or `iommus`: crosvm allocates the guest MMIO window and SPIs and writes
//!   them, with `iommus` pointing at its own `pkvm,pviommu` nodes, into the node its
//!   `dt-symbol` names; pvmfw checks those, in order, against `/host` through the hypervisor
//!   (a guest region need not sit at its physical address) and patches its own pvIOMMU nodes.
//!   A device node is named by its host base name (`mmc`), `<base>-<label>` when two devices
//!   share one; its label is the host one, else `<base>_<address>`.
//! - `__symbols__` for every label, `__local_fixups__` for every phandle the overlay uses
//!   (`iommus`, `android,pvmfw,target`, and the stand-ins' `clocks` and `*-supply`,
//!   [`crate::build::local_phandles`]); no `__fixups__`: nothing points outside the overlay.
//!
//! The XML follows the XSD: `<devices>` holding `<device kind=… dtbo_label=… sysfs_path=…/>`,
//! every value escaped for an XML attribute (`xml.rs`; a `kind` holding a control character
//! XML cannot carry is refused)
//! (the README's example writes the three as child elements; virtualizationservice reads the
//! file with serde-xml-rs). `kind` is the first compatible's part after the vendor prefix (the
//! README: "only used for debugging"), else the base name; `sysfs_path` is
//! `/sys/bus/platform/devices/<name>`, the name from [`crate::TargetOptions::sysfs_names`], else
//! Linux's platform-device name ([`platreset_fdt::Node::platform_device_name`]). The line for the VMM is the
//! README's `vm run-microdroid` with one `--devices` per device, for one guest.
//!
//! Refused: a device with an SPI beyond the GIC's ([`crate::build::LAST_GIC_SPI`]), a device without `iommus` unless the allowlist records it as not mastering DMA
//! ([`crate::TargetOptions::non_dma`]; the README makes `iommus` optional, but without an IOMMU
//! nothing confines the device's DMA), an IOMMU specifier that is not one cell, an (IOMMU, SID)
//! pair given to two devices (pvmfw: unsupported), two IOMMUs with one token, two devices with
//! one label, and a device node whose name the base tree already uses.
//!
//! Owns: the AVF layout. Must not: decide properties (that is `props`).

use platreset_dtedit::{to_dtb, Node as DtNode, WriteOptions};

use crate::build::{check_gic_spis, device_phandle, guest_node, local_fixups, GuestError, Output, Placed};
use crate::host::HostDevice;

const TARGET: &str = "avf";
/// The fragment pvmfw and crosvm apply: the only target pvmfw accepts is `/`.
const FRAGMENT: &str = "fragment@0";
/// Where the VMM's host side looks for the device list.
pub const XML_PATH: &str = "/vendor/etc/avf/assignable_devices.xml";
/// The directory of platform devices in sysfs.
const SYSFS_DEVICES: &str = "/sys/bus/platform/devices";

/// One physical IOMMU of `/host`.
#[derive(Debug, Clone)]
struct HostIommu {
    /// Host node path.
    path: String,
    /// `android,pvmfw,token`.
    token: u64,
    /// Node name and label in the overlay.
    name: String,
    /// Phandle in the overlay.
    phandle: u32,
}

/// Builds the VM DTBO and `assignable_devices.xml` for `devices`.
pub fn build(devices: &[HostDevice], options: &crate::TargetOptions) -> Result<Output, GuestError> {
    for device in devices {
        check_dma(device, options)?;
        // crosvm allocates the guest's SPIs under pKVM too (see crate::crosvm), and pvmfw checks
        // `interrupts` only for whole 3-cell entries (pvmfw/src/device_assignment.rs,
        // `parse_interrupts`): the host's SPIs, reported as the device's, must be GIC SPIs.
        check_gic_spis(TARGET, device, "crosvm")?;
    }
    let labels = labels(devices)?;
    let names = node_names(devices, &labels);

    let mut overlay = DtNode::new("__overlay__");
    let mut device_phandles = Vec::new();
    for ((device, name), label) in devices.iter().zip(&names).zip(&labels) {
        device_phandles.push(create_device_node(&mut overlay, device, name, label)?);
    }
    if let Some(base) = &options.base {
        check_base_names(base, &overlay, devices, &names)?;
    }
    let iommus = host_iommus(devices, &labels, overlay.max_phandle())?;

    let host = create_host_node(devices, &iommus, &device_phandles)?;
    let fixups = create_local_fixups(&host, devices, &names)?;
    let mut fragment = DtNode::new(FRAGMENT);
    fragment.set_str("target-path", "/");
    add(&mut fragment, overlay)?;
    let mut root = DtNode::new("");
    add(&mut root, host)?;
    add(&mut root, fragment)?;
    renumber_like_dtc(&mut root, &fixups);
    add(&mut root, create_symbols(&iommus, &labels, &names))?;
    add(&mut root, fixups)?;

    let dtbo = to_dtb(&root, &WriteOptions::default()).map_err(|e| GuestError::Tree(e.to_string()))?;
    let sysfs: Vec<String> = devices.iter().map(|d| d.sysfs_name(&options.sysfs_names)).collect();
    let xml = assignable_devices_xml(devices, &labels, &sysfs)?;
    let mut line = String::from("adb shell /apex/com.android.virt/bin/vm run-microdroid");
    for name in &sysfs {
        line.push_str(&format!(" --devices {SYSFS_DEVICES}/{name}"));
    }

    Ok(Output {
        files: vec![(".dtbo".into(), dtbo), ("-assignable_devices.xml".into(), xml.into_bytes())],
        lines: vec![line],
        notes: notes(devices, options, &iommus, &sysfs),
        placed: devices.iter().map(placed).collect(),
    })
}

/// A device without `iommus` is refused unless it is recorded as not mastering DMA.
fn check_dma(device: &HostDevice, options: &crate::TargetOptions) -> Result<(), GuestError> {
    if device.iommus.is_empty() && !options.non_dma.contains(&device.path) {
        return Err(GuestError::Unsupported {
            target: TARGET,
            node: device.path.clone(),
            why: "it has no iommus: pKVM confines an assigned device's DMA only through its IOMMU \
                  (pvmfw matches each guest pvIOMMU to a /host IOMMU), and the allowlist does not \
                  record this device as not mastering DMA"
                .into(),
        });
    }
    Ok(())
}

/// The device's label: the host's, else `<base name>_<first address>`; unique among the devices.
fn labels(devices: &[HostDevice]) -> Result<Vec<String>, GuestError> {
    let mut labels: Vec<String> = Vec::new();
    for (i, device) in devices.iter().enumerate() {
        let label = device.label.clone().unwrap_or_else(|| {
            let address = device.regions.first().map_or(0, |r| r.0);
            let raw = format!("{}_{address:x}", device.base_name);
            let mut label: String =
                raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            if label.starts_with(|c: char| c.is_ascii_digit()) {
                label.insert(0, '_');
            }
            label
        });
        if let Some(j) = labels.iter().position(|l| *l == label) {
            return Err(GuestError::Collision {
                target: TARGET,
                what: "DTBO labels",
                first: devices[j].path.clone(),
                second: devices[i].path.clone(),
                detail: format!("both would be `{label}`, and each dtbo_label must be unique"),
            });
        }
        labels.push(label);
    }
    Ok(labels)
}

/// Overlay node names: the base name, `<base>-<label>` when two devices share one.
fn node_names(devices: &[HostDevice], labels: &[String]) -> Vec<String> {
    devices
        .iter()
        .zip(labels)
        .map(|(device, label)| {
            let shared = devices.iter().filter(|d| d.base_name == device.base_name).count() > 1;
            if shared {
                format!("{}-{}", device.base_name, label.replace('_', "-"))
            } else {
                device.base_name.clone()
            }
        })
        .collect()
}

/// Adds the guest node of `device` to `overlay`, before the stand-ins it references, and
/// returns its phandle (what `android,pvmfw,target` points at).
fn create_device_node(
    overlay: &mut DtNode,
    device: &HostDevice,
    name: &str,
    label: &str,
) -> Result<u32, GuestError> {
    let at = overlay.children.len();
    let mut node = guest_node(device, name, overlay)?;
    // crosvm writes reg, interrupts and iommus from the VFIO device (REFERENCE §5).
    node.remove("reg");
    node.remove("interrupts");
    let phandle = device_phandle(overlay, &node)?;
    node.set_u32s("phandle", &[phandle]);
    if overlay.child(name).is_some() {
        return Err(GuestError::Tree(format!("{label}: the overlay already has a node `{name}`")));
    }
    overlay.children.insert(at, node);
    Ok(phandle)
}

/// A device node name of the overlay that the base tree's root already uses would be merged
/// into that node instead of standing alone.
fn check_base_names(
    base: &DtNode,
    overlay: &DtNode,
    devices: &[HostDevice],
    names: &[String],
) -> Result<(), GuestError> {
    for child in &overlay.children {
        let stem = |n: &str| n.split('@').next().unwrap_or_default().to_string();
        if let Some(taken) =
            base.children.iter().find(|b| b.name == child.name || stem(&b.name) == child.name)
        {
            let owner = names
                .iter()
                .position(|n| *n == child.name)
                .and_then(|i| devices.get(i))
                .map_or_else(|| format!("the guest {}", child.name), |d| d.path.clone());
            return Err(GuestError::Collision {
                target: TARGET,
                what: "root node names",
                first: owner,
                second: format!("the base's /{}", taken.name),
                detail: format!("the overlay's /{} would be merged into it", child.name),
            });
        }
    }
    Ok(())
}

/// The IOMMU token pKVM reports for an IOMMU: its base MMIO address, read from the unit address.
fn iommu_token(path: &str) -> Result<u64, GuestError> {
    let name = path.rsplit('/').next().unwrap_or_default();
    let unit = name.split_once('@').map(|(_, unit)| unit);
    unit.filter(|u| !u.is_empty() && !u.contains(','))
        .and_then(|u| u64::from_str_radix(u, 16).ok())
        .ok_or_else(|| GuestError::Unsupported {
            target: TARGET,
            node: path.to_string(),
            why: "the IOMMU's node name has no plain hexadecimal unit address to use as its \
                  android,pvmfw,token (its base MMIO address)"
                .into(),
        })
}

/// The distinct host IOMMUs, in first-use order, with their tokens and phandles from
/// `last_phandle + 1`; every specifier must be one SID, every (IOMMU, SID) pair used once and
/// every token unique.
fn host_iommus(
    devices: &[HostDevice],
    labels: &[String],
    last_phandle: u32,
) -> Result<Vec<HostIommu>, GuestError> {
    let mut iommus: Vec<HostIommu> = Vec::new();
    let mut pairs: Vec<(&str, u32, &str)> = Vec::new();
    let mut n = 0;
    for device in devices {
        for (path, cells) in &device.iommus {
            let [sid] = cells.as_slice() else {
                return Err(GuestError::Unsupported {
                    target: TARGET,
                    node: device.path.clone(),
                    why: format!(
                        "its IOMMU {path} takes {} specifier cells: pvmfw supports #iommu-cells = <1> only",
                        cells.len()
                    ),
                });
            };
            if let Some(&(_, _, first)) = pairs.iter().find(|(p, s, _)| *p == path.as_str() && s == sid) {
                return Err(GuestError::Collision {
                    target: TARGET,
                    what: "IOMMU stream IDs",
                    first: first.to_string(),
                    second: device.path.clone(),
                    detail: format!(
                        "both are {path} SID {sid:#x}: pvmfw does not support sharing one (IOMMU, SID) pair"
                    ),
                });
            }
            pairs.push((path, *sid, &device.path));
            if iommus.iter().any(|i| i.path == *path) {
                continue;
            }
            let token = iommu_token(path)?;
            if let Some(other) = iommus.iter().find(|i| i.token == token) {
                return Err(GuestError::Collision {
                    target: TARGET,
                    what: "IOMMU tokens",
                    first: other.path.clone(),
                    second: path.clone(),
                    detail: format!("both would be {token:#x}, and pvmfw requires unique tokens"),
                });
            }
            // The node's name doubles as its label: skip one a device label already has.
            let mut name = format!("iommu{n}");
            while labels.contains(&name) {
                n += 1;
                name = format!("iommu{n}");
            }
            n += 1;
            // After the overlay's own phandles, which start from 1: far below the top.
            let phandle = u32::try_from(iommus.len())
                .ok()
                .and_then(|n| last_phandle.checked_add(n)?.checked_add(1))
                .filter(|&p| p < u32::MAX)
                .ok_or_else(|| GuestError::NoPhandle { node: name.clone() })?;
            iommus.push(HostIommu { path: path.clone(), token, name, phandle });
        }
    }
    Ok(iommus)
}

/// `/host`: the physical `reg` and `iommus` of each device and the physical IOMMUs.
fn create_host_node(
    devices: &[HostDevice],
    iommus: &[HostIommu],
    targets: &[u32],
) -> Result<DtNode, GuestError> {
    let mut host = DtNode::new("host");
    host.set_u32s("#address-cells", &[2]);
    host.set_u32s("#size-cells", &[2]);
    for (device, &target) in devices.iter().zip(targets) {
        let first = device.regions.first().map_or(0, |r| r.0);
        let mut node = DtNode::new(format!("{}@{first:x}", device.base_name));
        let reg: Vec<u32> = device
            .regions
            .iter()
            .flat_map(|&(address, size)| [hi(address), lo(address), hi(size), lo(size)])
            .collect();
        node.set_u32s("reg", &reg);
        let mut cells = Vec::new();
        for (path, specifier) in &device.iommus {
            if let Some(iommu) = iommus.iter().find(|i| i.path == *path) {
                cells.push(iommu.phandle);
                cells.extend_from_slice(specifier);
            }
        }
        if !cells.is_empty() {
            node.set_u32s("iommus", &cells);
        }
        node.set_u32s("android,pvmfw,target", &[target]);
        add(&mut host, node)?;
    }
    for iommu in iommus {
        let mut node = DtNode::new(iommu.name.clone());
        node.set_u32s("#iommu-cells", &[1]);
        node.set_u32s("android,pvmfw,token", &[hi(iommu.token), lo(iommu.token)]);
        node.set_u32s("phandle", &[iommu.phandle]);
        add(&mut host, node)?;
    }
    Ok(host)
}

/// `__symbols__` as `dtc -@` writes it: the IOMMU labels of `/host`, then the device labels.
fn create_symbols(iommus: &[HostIommu], labels: &[String], names: &[String]) -> DtNode {
    let mut symbols = DtNode::new("__symbols__");
    for iommu in iommus {
        symbols.set_str(&iommu.name, &format!("/host/{}", iommu.name));
    }
    for (label, name) in labels.iter().zip(names) {
        symbols.set_str(label, &format!("/{FRAGMENT}/__overlay__/{name}"));
    }
    symbols
}

/// `__local_fixups__`: the byte offset of every phandle the overlay writes, in a tree mirroring
/// the nodes' paths: `/host`'s `iommus` (phandle, SID pairs) and `android,pvmfw,target`, and
/// the properties pointing at stand-ins (`clocks`, `*-supply`: every cell is a phandle).
/// Properties copied from the host are not listed: the policy lets no phandle through them.
fn create_local_fixups(
    host: &DtNode,
    devices: &[HostDevice],
    names: &[String],
) -> Result<DtNode, GuestError> {
    let offsets = |bytes: usize, stride: usize| -> Vec<u32> {
        (0..bytes / stride).map(|i| u32::try_from(i * stride).unwrap_or(u32::MAX)).collect()
    };
    let mut host_fixups = DtNode::new("host");
    for node in &host.children {
        let mut fixups = DtNode::new(node.name.clone());
        if let Some(iommus) = node.prop("iommus") {
            fixups.set_u32s("iommus", &offsets(iommus.len(), 8));
        }
        if node.prop("android,pvmfw,target").is_some() {
            fixups.set_u32s("android,pvmfw,target", &[0]);
        }
        if !fixups.props.is_empty() {
            add(&mut host_fixups, fixups)?;
        }
    }
    let mut overlay_fixups = DtNode::new("__overlay__");
    for (device, name) in devices.iter().zip(names) {
        if let Some(fixups) = local_fixups(device, name) {
            add(&mut overlay_fixups, fixups)?;
        }
    }
    let mut root = DtNode::new("__local_fixups__");
    if !host_fixups.children.is_empty() {
        add(&mut root, host_fixups)?;
    }
    if !overlay_fixups.children.is_empty() {
        let mut fragment = DtNode::new(FRAGMENT);
        add(&mut fragment, overlay_fixups)?;
        add(&mut root, fragment)?;
    }
    Ok(root)
}

/// Renumbers the phandles as `dtc` assigns them when it compiles the equivalent source: in
/// the order the references are met (depth first, properties before children), which
/// `fixups` lists. The output is then what `dtc -@` makes of the README-style source.
fn renumber_like_dtc(root: &mut DtNode, fixups: &DtNode) {
    fn cell(value: &[u8], offset: u32) -> Option<u32> {
        let at = usize::try_from(offset).ok()?;
        let bytes = value.get(at..at.checked_add(4)?)?;
        Some(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
    fn offsets(prop: &[u8]) -> impl Iterator<Item = u32> + '_ {
        prop.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
    fn met(node: &DtNode, fixups: &DtNode, order: &mut Vec<u32>) {
        for prop in &fixups.props {
            let Some(value) = node.prop(&prop.name) else { continue };
            for phandle in offsets(&prop.value).filter_map(|o| cell(value, o)) {
                if !order.contains(&phandle) {
                    order.push(phandle);
                }
            }
        }
        for child in &fixups.children {
            if let Some(target) = node.child(&child.name) {
                met(target, child, order);
            }
        }
    }
    fn rewrite_references(node: &mut DtNode, fixups: &DtNode, new: &dyn Fn(u32) -> u32) {
        for prop in &fixups.props {
            let Some(value) = node.props.iter_mut().find(|p| p.name == prop.name) else { continue };
            for offset in offsets(&prop.value) {
                let Ok(at) = usize::try_from(offset) else { continue };
                if let Some(old) = cell(&value.value, offset) {
                    value.value[at..at + 4].copy_from_slice(&new(old).to_be_bytes());
                }
            }
        }
        for child in &fixups.children {
            if let Some(target) = node.child_mut(&child.name) {
                rewrite_references(target, child, new);
            }
        }
    }
    fn rewrite_phandles(node: &mut DtNode, new: &dyn Fn(u32) -> u32) {
        for prop in node.props.iter_mut().filter(|p| p.name == "phandle") {
            if let Some(old) = cell(&prop.value, 0) {
                prop.value = new(old).to_be_bytes().to_vec();
            }
        }
        for child in &mut node.children {
            rewrite_phandles(child, new);
        }
    }
    fn unmet(node: &DtNode, order: &mut Vec<u32>) {
        for prop in node.props.iter().filter(|p| p.name == "phandle") {
            if let Some(phandle) = cell(&prop.value, 0).filter(|p| !order.contains(p)) {
                order.push(phandle);
            }
        }
        for child in &node.children {
            unmet(child, order);
        }
    }
    let mut order = Vec::new();
    met(root, fixups, &mut order);
    // A node nothing references keeps a phandle after those (dtc would give it none).
    unmet(root, &mut order);
    let new = |old: u32| {
        order.iter().position(|&p| p == old).and_then(|i| u32::try_from(i + 1).ok()).unwrap_or(old)
    };
    rewrite_references(root, fixups, &new);
    rewrite_phandles(root, &new);
}

/// `assignable_devices.xml` per `assignable_devices.xsd`, every attribute escaped
/// ([`crate::xml::attribute`]); refused when one holds a character XML cannot carry.
fn assignable_devices_xml(
    devices: &[HostDevice],
    labels: &[String],
    sysfs: &[String],
) -> Result<String, GuestError> {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<devices>\n");
    for ((device, label), name) in devices.iter().zip(labels).zip(sysfs) {
        let escape = |what: &str, value: &str| {
            crate::xml::attribute(value).map_err(|c| GuestError::Unsupported {
                target: TARGET,
                node: device.path.clone(),
                why: format!(
                    "its {what} `{}` holds U+{:04X}, which XML 1.0 cannot carry, not even as a \
                     character reference: no assignable_devices.xml entry can name it",
                    value.escape_debug(),
                    u32::from(c)
                ),
            })
        };
        xml.push_str(&format!(
            "    <device kind=\"{}\" dtbo_label=\"{}\" sysfs_path=\"{}\"/>\n",
            escape("kind (from its first compatible)", &kind(device))?,
            escape("label", label)?,
            escape("sysfs path", &format!("{SYSFS_DEVICES}/{name}"))?
        ));
    }
    xml.push_str("</devices>\n");
    Ok(xml)
}

/// The first compatible's model part (`sdhi-r8a774a1` of `renesas,sdhi-r8a774a1`), else the
/// base name.
fn kind(device: &HostDevice) -> String {
    device
        .value("compatible")
        .and_then(|v| v.split(|&b| b == 0).next())
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .map(|c| c.split_once(',').map_or(c.clone(), |(_, model)| model.to_string()))
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| device.base_name.clone())
}

fn notes(
    devices: &[HostDevice],
    options: &crate::TargetOptions,
    iommus: &[HostIommu],
    sysfs: &[String],
) -> Vec<String> {
    let mut notes = vec![
        format!(
            "avf: the DTBO goes into its own dtbo.img entry (its index in \
             ro.boot.hypervisor.vm_dtbo_idx) and, for protected VMs, into pvmfw's configuration \
             as entry 2; the XML goes to {XML_PATH}"
        ),
        "avf: crosvm chooses each region's guest address and each guest SPI when the VM starts \
         and writes them into the labelled node; the guest values reported here are the host's, \
         which /host records and pvmfw checks the guest's against"
            .to_string(),
    ];
    for iommu in iommus {
        notes.push(format!(
            "avf: {} has android,pvmfw,token = {:#x}, its unit address (pKVM's convention: the \
             IOMMU's base MMIO address); check it against your hypervisor's IOMMU driver",
            iommu.path, iommu.token
        ));
    }
    for (device, name) in devices.iter().zip(sysfs) {
        if !options.sysfs_names.iter().any(|(path, _)| *path == device.path) {
            notes.push(format!(
                "avf: {}: sysfs name {name} is Linux's platform-device naming; check {SYSFS_DEVICES}",
                device.path
            ));
        }
        if device.iommus.is_empty() {
            notes.push(format!(
                "avf: {}: no IOMMU; assigned as a device the allowlist records as not mastering DMA",
                device.path
            ));
        }
        if device.irqs.is_empty() {
            notes.push(format!(
                "avf: {}: no interrupts; pvmfw refuses an assigned device without interrupts in \
                 a protected VM",
                device.path
            ));
        }
    }
    notes
}

fn placed(device: &HostDevice) -> Placed {
    Placed {
        path: device.path.clone(),
        regs: device.regions.iter().map(|&(address, size)| (address, address, size)).collect(),
        irqs: device.irqs.iter().map(|irq| (irq.spi, irq.trigger)).collect(),
    }
}

fn add(parent: &mut DtNode, child: DtNode) -> Result<(), GuestError> {
    parent.add_child(child).map(|_| ()).map_err(|e| GuestError::Tree(e.to_string()))
}

fn hi(v: u64) -> u32 {
    (v >> 32) as u32
}

fn lo(v: u64) -> u32 {
    v as u32
}
