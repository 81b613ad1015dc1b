//! Controller drivers, one module per family. Each maps a reset id to registers and performs
//! the access through [`crate::Mmio`], with the register values and order of the Linux driver
//! named in its module comment; none knows about exclusive or shared use.

pub mod aspeed;
pub mod imx;
pub mod imx7;
pub mod meson;
pub mod qcom;
pub mod rcar;
pub mod rockchip;
pub mod simple;
pub mod stm32;
pub mod sunxi;
pub mod tegra;

use crate::addr::{Reg, Window};
use crate::ops::DriverError;

/// The register at `offset` in `window`, or the error naming the id that mapped there.
pub(crate) fn reg_at(window: &Window, id: u32, offset: u64, name: String) -> Result<Reg, DriverError> {
    window.reg(offset, name).ok_or(DriverError::OutsideWindow { id, offset, size: window.size })
}

/// The single specifier cell, checked against the number of lines (Linux's default
/// `of_reset_simple_xlate`).
pub(crate) fn one_cell(args: &[u32], nr_resets: u32) -> Result<u32, DriverError> {
    match args {
        [id] if *id < nr_resets => Ok(*id),
        [id] => Err(DriverError::BadSpecifier {
            args: args.to_vec(),
            why: format!("id {id} is beyond the controller's {nr_resets} lines"),
        }),
        _ => Err(DriverError::BadSpecifier {
            args: args.to_vec(),
            why: format!("expected 1 cell, got {}", args.len()),
        }),
    }
}

/// The single cell of a table-driven controller: below the table's length, and not a hole (the
/// kernel would act on register 0 for one; platreset refuses).
pub(crate) fn table_cell(
    args: &[u32],
    nr_resets: u32,
    table: &str,
    has_entry: impl Fn(u32) -> bool,
) -> Result<u32, DriverError> {
    let bad = |why: String| DriverError::BadSpecifier { args: args.to_vec(), why };
    let [id] = args else { return Err(bad(format!("expected 1 cell, got {}", args.len()))) };
    if *id >= nr_resets {
        return Err(bad(format!("id {id} is beyond {table}'s {nr_resets} lines")));
    }
    if !has_entry(*id) {
        return Err(bad(format!("{table} has no entry for id {id}")));
    }
    Ok(*id)
}
