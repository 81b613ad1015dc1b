//! Binding a DT reset-controller node to a driver, as the kernel's `of_device_id` tables do:
//! by `compatible`, in the node's own order of preference, with the per-SoC parameters.
//! Controllers whose resets go through firmware are recognised and never driven by MMIO. The
//! driver's registers are the node's first `reg`, or, for the cell of a multi-function device,
//! the window its parent's driver hands it.

use platreset_fdt::Node;

use crate::bind_error::BindError;
use crate::controllers::{aspeed, imx, imx7, meson, qcom, rcar, rockchip, simple, stm32, sunxi, tegra};
use crate::maps;
use crate::ops::ResetOps;
use crate::window::controller_window;

/// What a controller node binds to.
pub enum Binding {
    /// A driver platreset implements, over the controller's first `reg` window.
    Mmio(Box<dyn ResetOps>),
    /// Resets are requests to platform firmware (an SMC, a mailbox): not register writes.
    Firmware {
        /// The compatible that said so.
        compatible: String,
        /// Which firmware interface.
        interface: &'static str,
    },
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Binding::Mmio(ops) => write!(f, "Mmio({})", ops.driver()),
            Binding::Firmware { compatible, interface } => write!(f, "Firmware({compatible}, {interface})"),
        }
    }
}

/// Firmware-mediated reset providers: (compatible, interface).
pub const FIRMWARE: &[(&str, &str)] = &[
    ("xlnx,zynqmp-reset", "Xilinx ZynqMP PMU firmware (EEMI PM_RESET_ASSERT over SMC)"),
    ("xlnx,versal-reset", "Xilinx Versal PLM firmware (EEMI over SMC)"),
    ("ti,sci-reset", "TI System Control Interface (TISCI) firmware"),
    ("arm,scmi", "Arm SCMI reset-domain protocol"),
    ("arm,scmi-smc", "Arm SCMI reset-domain protocol"),
    ("nvidia,tegra186-bpmp", "NVIDIA BPMP firmware"),
    ("raspberrypi,firmware-reset", "Raspberry Pi VideoCore firmware"),
    ("qcom,scm", "Qualcomm Secure Channel Manager"),
];

/// Binds `node` (a node with `#reset-cells`).
pub fn bind(node: &Node<'_, '_>) -> Result<Binding, BindError> {
    let path = node.path();
    let compatible: Vec<String> =
        node.compatible().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    // SCMI resets are a protocol subnode of the firmware node.
    let scmi_parent = node.parent().filter(|p| p.compatible().any(|c| c.starts_with(b"arm,scmi")));
    if let Some(parent) = scmi_parent {
        let parent_compatible = parent.compatible().next().map(|c| String::from_utf8_lossy(c).into_owned());
        return Ok(Binding::Firmware {
            compatible: parent_compatible.unwrap_or_default(),
            interface: "Arm SCMI reset-domain protocol",
        });
    }
    for c in &compatible {
        if let Some((_, interface)) = FIRMWARE.iter().find(|(f, _)| f == c) {
            return Ok(Binding::Firmware { compatible: c.clone(), interface });
        }
    }
    let window = || controller_window(node);
    // The first compatible a driver knows wins, as the node lists them most specific first.
    // Each family's compatibles are its tables in `maps`. A compatible whose table belongs to a
    // driver platreset does not implement (Meson's AO clock and audio blocks, the STM32MP13's
    // reset-stm32.c) is passed over before its window is looked at, like an unknown one.
    for c in &compatible {
        let c = c.as_str();
        let known_rcar = maps::rcar_info(c).is_some_and(|i| i.registers_resets);
        let ops: Option<Box<dyn ResetOps>> = if known_rcar {
            rcar::CpgMssr::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if maps::sunxi_table(c).is_some() {
            sunxi::SunxiCcu::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if let Some(table) = maps::reset_simple(c) {
            let offset = match table.reg_offset_property.and_then(|p| node.property(p)) {
                None => None,
                Some(p) => Some(p.u32().map_err(|source| BindError::Dt { node: path.clone(), source })?),
            };
            Some(Box::new(simple::Simple::for_table(window()?, table, offset)))
        } else if maps::rockchip(c).is_some() {
            rockchip::SoftReset::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if maps::qcom(c).is_some() {
            qcom::QcomReset::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if maps::imx7(c).is_some() {
            imx7::Imx7Src::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if maps::aspeed(c).is_some() {
            let window = window()?;
            match aspeed::Ast2600Scu::for_compatible(window, c) {
                Some(d) => Some(Box::new(d) as _),
                None => aspeed::AspeedScu::for_compatible(window, c).map(|d| Box::new(d) as _),
            }
        } else if let Some((banks, level_offset)) = meson::params(c) {
            Some(Box::new(meson::MesonReset::new(window()?, banks, level_offset)))
        } else if let Some(table) = stm32::table(c) {
            Some(Box::new(stm32::Stm32Rcc::new(window()?, table)))
        } else if maps::tegra(c).is_some() {
            tegra::TegraCar::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else if maps::imx_src(c).is_some() {
            imx::ImxSrc::for_compatible(window()?, c).map(|d| Box::new(d) as _)
        } else {
            None
        };
        let Some(ops) = ops else { continue };
        return Ok(Binding::Mmio(ops));
    }
    Err(BindError::Unsupported { node: path, compatible })
}
