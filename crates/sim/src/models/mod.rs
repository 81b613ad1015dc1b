//! Hardware models of reset controllers (one module per family) and register-level device
//! models, chosen by compatible.
//!
//! Each controller model is written from the silicon's side — what a write to each register does
//! to the reset signals — following the hardware documentation and the DT binding's encoding of
//! a specifier. The per-SoC tables (which bit of which register a line is) are the kernel's data
//! from `data/reset-maps`, read through `platreset_reset::maps`; no driver code is called.

use platreset_fdt::Node;

use crate::device::DeviceModel;
use crate::hw::ResetHw;

pub mod aspeed;
pub mod flexrm;
pub mod imx;
pub mod imx7;
pub mod meson;
pub mod qcom;
pub mod rcar;
pub mod registers;
pub mod rockchip;
pub mod simple;
pub mod stm32;
pub mod sunxi;
pub mod tegra;
pub mod xgbe;
pub mod xgmac;

/// A family's constructor: the model for a compatible (with the controller node, for the few
/// families whose registers depend on its properties), if the family knows it.
type ControllerModel = fn(&str, &Node<'_, '_>) -> Option<Box<dyn ResetHw>>;

/// Every family with a hardware model.
const CONTROLLERS: &[ControllerModel] = &[
    rcar::model,
    sunxi::model,
    simple::model,
    aspeed::model,
    rockchip::model,
    stm32::model,
    tegra::model,
    meson::model,
    imx::model,
    imx7::model,
    qcom::model,
];

/// A device model's constructor.
type DeviceModelFor = fn(&str, &Node<'_, '_>) -> Option<Box<dyn DeviceModel>>;

/// Register-level models of the devices the three device-specific handlers reset.
const DEVICES: &[DeviceModelFor] = &[xgmac::model, xgbe::model, flexrm::model];

pub use registers::{RegFile, Stuck};

/// The hardware model for a reset controller node, by its first compatible a model knows.
pub fn controller_for(node: &Node<'_, '_>) -> Option<Box<dyn ResetHw>> {
    node.compatible()
        .filter_map(|c| std::str::from_utf8(c).ok())
        .find_map(|c| CONTROLLERS.iter().find_map(|model| model(c, node)))
}

/// A register-level model for a device whose first compatible has one; `None`: the generic bus
/// master.
pub fn device_for(node: &Node<'_, '_>) -> Option<Box<dyn DeviceModel>> {
    let first = std::str::from_utf8(node.compatible().next()?).ok()?;
    DEVICES.iter().find_map(|model| model(first, node))
}
