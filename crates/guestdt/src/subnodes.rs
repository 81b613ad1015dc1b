//! The parts of a device that live in other nodes. What the guest copies beneath the device
//! node: the PHYs on an Ethernet MAC's own MDIO bus, configuration-only children, and the
//! configuration nodes a stmmac MAC points at (`snps,axi-config`…). Every copied node gets a
//! guest phandle, and the device's properties that pointed at it follow
//! ([`Action::LocalReference`]). A child that cannot be copied stops the build, saying why.
//!
//! Owns: which host nodes go with a device, what of them is copied, and the references that
//! follow them. Must not: decide the device node's own properties (`props`, `rules`) or choose
//! guest phandle values (`build` does, in the guest tree).

use platreset_dtedit::names::{node_name_problem, printable, property_name_problem};
use platreset_dtedit::Node as DtNode;
use platreset_fdt::Node;

use crate::props::{decide, Action, Decision, Overrides, Supply, Tree};

/// A host node copied beneath the guest device node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carried {
    /// Its host path.
    pub host_path: String,
    /// The copy, host phandles still in its `phandle` properties: the builder renumbers them.
    pub node: DtNode,
    /// Why it goes with the device: the binding that makes it part of the device.
    pub why: &'static str,
    /// What was left out of it, and what that means for the guest.
    pub notes: Vec<String>,
    /// Its `*-supply` properties, each to point at a guest fixed regulator: the node's path
    /// below the device node (the part's own name first), the property, the host regulator.
    /// The copy holds a placeholder cell there.
    pub supplies: Vec<(String, String, Supply)>,
}

/// What a copy gathers besides the nodes.
#[derive(Default)]
struct Gathered {
    notes: Vec<String>,
    supplies: Vec<(String, String, Supply)>,
}

/// Properties of a device that name one of its own parts by phandle: when the part is carried,
/// the guest's property names the guest copy.
const PART_REFERENCES: &[&str] =
    &["phy-handle", "phy", "snps,axi-config", "snps,mtl-rx-config", "snps,mtl-tx-config"];

/// Properties naming stmmac configuration nodes (`net/snps,dwmac.yaml`): the driver reads their
/// numbers at probe (`stmmac_platform.c:100`, `:155`, `:159`); without `snps,axi-config` it
/// skips the AXI bus setup.
const STMMAC_CONFIG_REFERENCES: &[&str] = &["snps,axi-config", "snps,mtl-rx-config", "snps,mtl-tx-config"];

/// The kinds of part that go with a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// An Ethernet MAC's `mdio` bus node.
    Mdio,
    /// An Ethernet PHY directly beneath its MAC.
    Phy,
    /// A device on an I2C controller's bus.
    I2cDevice,
    /// A device on an SPI controller's bus.
    SpiDevice,
    /// A child with neither `reg` nor `compatible`.
    Config,
    /// A stmmac configuration node a property of the MAC names.
    StmmacConfig,
}

impl Part {
    /// Why it goes with the device: the binding that makes it part of the device.
    fn why(self) -> &'static str {
        match self {
            Part::Mdio => "net/mdio.yaml: the MAC's own MDIO bus; its PHYs sit at MDIO addresses the guest driver reaches through the MAC's registers",
            Part::Phy => "net/ethernet-phy.yaml: a PHY on the MAC's own MDIO bus, reached through the MAC's registers",
            Part::I2cDevice => "i2c/i2c-controller.yaml: a device on the controller's own I2C bus, at its bus address; the guest's driver reaches it through the controller",
            Part::SpiDevice => "spi/spi-controller.yaml: a device on the controller's own SPI bus, on its chip select; the guest's driver reaches it through the controller",
            Part::Config => "configuration only (no reg, no compatible): numbers the device's own driver reads",
            Part::StmmacConfig => "net/snps,dwmac.yaml: stmmac's configuration node, numbers its driver reads at probe",
        }
    }

    /// Whether the Ethernet PHY rules apply below it (its interrupt and reset GPIO stay with
    /// the host: [`phy_drop`]).
    fn is_phy(self) -> bool {
        matches!(self, Part::Mdio | Part::Phy)
    }
}

/// What goes with `node` into the guest, and the children that stop it (path, why).
#[derive(Debug, Default)]
pub struct Found {
    /// The nodes copied beneath the guest node.
    pub carried: Vec<Carried>,
    /// `(child name, why it cannot go)`.
    pub problems: Vec<(String, String)>,
}

fn is_ethernet_mac(node: &Node<'_, '_>) -> bool {
    node.base_name() == b"ethernet" || crate::rules::is_stmmac(node)
}

/// The devices on an I2C or SPI controller's bus, by the node name its binding requires.
fn serial_bus(node: &Node<'_, '_>) -> Option<Part> {
    match node.base_name() {
        b"i2c" => Some(Part::I2cDevice),
        b"spi" => Some(Part::SpiDevice),
        _ => None,
    }
}

fn is_ethernet_phy(child: &Node<'_, '_>) -> bool {
    child.base_name() == b"ethernet-phy"
        || child.compatible().any(|c| c.starts_with(b"ethernet-phy-"))
        || child.property("device_type").is_some_and(|p| p.first_string() == b"ethernet-phy")
}

/// The children and referenced configuration nodes of `node` that go with it.
pub fn find(tree: &Tree<'_, '_>, node: &Node<'_, '_>) -> Found {
    let mut found = Found::default();
    let mac = is_ethernet_mac(node);
    let bus = serial_bus(node);
    for child in node.children() {
        if crate::rules::drops_child(&child) {
            continue;
        }
        let part =
            if mac && (child.base_name() == b"mdio" || child.compatible().any(|c| c == b"snps,dwmac-mdio")) {
                Part::Mdio
            } else if mac && is_ethernet_phy(&child) {
                Part::Phy
            } else if let Some(part) = bus.filter(|_| child.property("reg").is_some()) {
                part
            } else if child.property("reg").is_none()
                && child.property("compatible").is_none()
                && !matches!(child.base_name(), b"ports" | b"port")
            {
                Part::Config
            } else {
                found.problems.push((printable(child.name()), why_not(&child)));
                continue;
            };
        match carry(tree, &child, part) {
            Ok(carried) => found.carried.push(carried),
            Err(e) => found.problems.push((printable(child.name()), e)),
        }
    }
    if crate::rules::is_stmmac(node) {
        for property in STMMAC_CONFIG_REFERENCES {
            let Some(target) =
                node.property(property).and_then(|p| p.u32().ok()).and_then(|ph| tree.by_phandle(ph))
            else {
                continue;
            };
            let path = target.path();
            if path.starts_with(&format!("{}/", node.path()))
                || found.carried.iter().any(|c| c.host_path == path)
            {
                continue;
            }
            match carry(tree, &target, Part::StmmacConfig) {
                Ok(carried) => found.carried.push(carried),
                Err(e) => found.problems.push((printable(target.name()), e)),
            }
        }
    }
    found
}

/// Why `child` cannot go with its device.
fn why_not(child: &Node<'_, '_>) -> String {
    if child.base_name() == b"ports" || child.base_name() == b"port" {
        return "an OF graph: its endpoints link the device to other host devices (remote-endpoint), which the guest does not have".into();
    }
    if let Some(compatible) = child.compatible().next() {
        return format!(
            "a device of its own (compatible \"{}\"), with its own resources: platreset carries Ethernet PHYs on the MAC's MDIO bus, devices on an I2C or SPI controller's bus and configuration-only children",
            printable(compatible)
        );
    }
    "it has `reg`: a device at an address of its own, which platreset does not carry (only Ethernet PHYs on the MAC's MDIO bus, devices on an I2C or SPI controller's bus and configuration-only children)".into()
}

/// Properties of a PHY (or MDIO bus) the guest goes without, by `net/ethernet-phy.yaml`, with
/// what that means.
fn phy_drop(name: &str) -> Option<&'static str> {
    match name {
        "interrupts" | "interrupts-extended" | "interrupt-parent" => Some(
            "the PHY's interrupt stays with the host: phylib polls the link instead (ethernet-phy.yaml: interrupts are optional)",
        ),
        "reset-gpios" => Some(
            "the PHY's reset GPIO stays with the host: the PHY stays as the host left it, out of reset (ethernet-phy.yaml: reset-gpios is optional)",
        ),
        _ => None,
    }
}

/// `host` and its subtree copied for the guest as a `part` of the device, with notes on what
/// was left out; an error names the property that no guest can have.
fn carry(tree: &Tree<'_, '_>, host: &Node<'_, '_>, part: Part) -> Result<Carried, String> {
    let mut gathered = Gathered::default();
    let node = copy_node(tree, host, part.is_phy(), &String::from_utf8_lossy(host.name()), &mut gathered)?;
    Ok(Carried {
        host_path: host.path(),
        node,
        why: part.why(),
        notes: gathered.notes,
        supplies: gathered.supplies,
    })
}

/// The copy of `host`, which sits at `at` below the device node.
fn copy_node(
    tree: &Tree<'_, '_>,
    host: &Node<'_, '_>,
    phy: bool,
    at: &str,
    gathered: &mut Gathered,
) -> Result<DtNode, String> {
    let notes = &mut gathered.notes;
    let depth = at.matches('/').count();
    let path = host.path();
    if let Some(problem) = node_name_problem(host.name()) {
        return Err(format!("{}: node name: {problem}", printable(host.name())));
    }
    // Configuration nodes are shallow (stmmac's queues are one level down); deeper is no
    // configuration platreset knows.
    if depth > 4 {
        return Err(format!("{path}: nested deeper than any configuration node"));
    }
    let mut copied = DtNode::new(String::from_utf8_lossy(host.name()));
    for prop in host.properties() {
        if let Some(problem) = property_name_problem(prop.name()) {
            return Err(format!("{path}: property {}: {problem}", printable(prop.name())));
        }
        let name = String::from_utf8_lossy(prop.name()).into_owned();
        if name == "phandle" || name == "linux,phandle" {
            copied.set(&name, prop.value().to_vec());
            continue;
        }
        if name == "reg" {
            // A `reg` under a parent without size cells is a bus address (an MDIO PHY's), not MMIO.
            let sized = host.parent().and_then(|p| p.property("#size-cells")).and_then(|p| p.u32().ok());
            if sized != Some(0) {
                return Err(format!("{path}: `reg` is a memory range, not a bus address"));
            }
            copied.set(&name, prop.value().to_vec());
            continue;
        }
        // Where the interrupts would go says nothing by itself; the interrupts decide.
        if !phy && name == "interrupt-parent" {
            continue;
        }
        if !phy && matches!(name.as_str(), "interrupts" | "interrupts-extended") {
            return Err(format!(
                "{path}: `{name}`: its interrupt goes to a host interrupt controller, and a device beneath another brings none into the guest"
            ));
        }
        if phy {
            if let Some(note) = phy_drop(&name) {
                if name != "interrupt-parent" {
                    notes.push(format!("{path}: `{name}` dropped: {note}"));
                }
                continue;
            }
        }
        let decision: Decision = decide(tree, host, &prop, &Overrides::default());
        match decision.action {
            Action::Copy => {
                copied.set(&name, prop.value().to_vec());
            }
            Action::ReplacedByFlag(flag) => {
                copied.set_empty(flag);
            }
            Action::Drop => {}
            Action::DropWithWarning => notes.push(format!("{path}: `{name}` dropped: {}", decision.why)),
            Action::FixedRegulator(supply) => {
                // A placeholder keeps the host's order; the builder writes the guest phandle.
                copied.set_u32s(&name, &[0]);
                notes.push(format!("{path}: `{name}`: {}", decision.why));
                gathered.supplies.push((at.to_string(), name.clone(), supply));
            }
            Action::Regenerate | Action::Refuse | Action::FixedClocks(_) | Action::LocalReference { .. } => {
                // `--drop` and `--keep` act on the device node only: no hint that names them.
                let why = decision.why.split(" (--drop").next().unwrap_or_default();
                return Err(format!("{path}: `{name}`: {why}"));
            }
        };
    }
    for child in host.children() {
        let below = format!("{at}/{}", String::from_utf8_lossy(child.name()));
        copied.children.push(copy_node(tree, &child, phy, &below, gathered)?);
    }
    Ok(copied)
}

/// The host phandle of every node in `carried`, with the host path of its node.
fn carried_phandles(carried: &[Carried]) -> Vec<(u32, String)> {
    fn walk(node: &DtNode, path: &str, out: &mut Vec<(u32, String)>) {
        if let Some(p) = node.prop("phandle").and_then(|v| <[u8; 4]>::try_from(v).ok()) {
            out.push((u32::from_be_bytes(p), path.to_string()));
        }
        for c in &node.children {
            walk(c, &format!("{path}/{}", c.name), out);
        }
    }
    let mut out = Vec::new();
    for c in carried {
        walk(&c.node, &c.host_path, &mut out);
    }
    out
}

/// Turns the decisions on properties naming a carried part into [`Action::LocalReference`]s.
pub fn follow_references(node: &Node<'_, '_>, carried: &[Carried], decisions: &mut [Decision]) {
    let phandles = carried_phandles(carried);
    for decision in decisions.iter_mut().filter(|d| PART_REFERENCES.contains(&d.name.as_str())) {
        let Some(value) = node.property(&decision.name).and_then(|p| p.u32().ok()) else { continue };
        if let Some((_, path)) = phandles.iter().find(|(ph, _)| *ph == value) {
            decision.action = Action::LocalReference { host_phandle: value };
            decision.why = format!("points at the guest's copy of {path}: renumbered with it");
            decision.fix = None;
        }
    }
}
