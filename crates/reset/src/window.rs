//! Where a reset controller's registers are, as the kernel hands them to its driver: the node's
//! first `reg`, or — for the cell of a multi-function device — the window the parent's MFD
//! driver gives the cell, whatever the node's own `reg` says.
//!
//! Owns: that decision, for every user (the drivers' binding, `/dev/mem`, the simulator). Must
//! not: choose a driver ([`crate::bind`] does) or touch the registers.

use platreset_fdt::Node;

use crate::addr::{PhysAddr, Window};
use crate::bind_error::BindError;

/// The register window the driver of the reset-controller `node` is given, as the kernel gives
/// it: the first `reg` entry (CPU physical), or, for a node that is a cell of a multi-function
/// device, the cell's ([`mfd_cell_window`]), whatever the node's own `reg` says. The one
/// place a controller's window is decided: the drivers, `/dev/mem` and the simulator all use it.
pub fn controller_window(node: &Node<'_, '_>) -> Result<Window, BindError> {
    if let Some(window) = mfd_cell_window(node)? {
        return Ok(window);
    }
    let path = || node.path();
    let regs = node.reg_cpu().map_err(|source| BindError::Dt { node: path(), source })?;
    let first = regs.first().ok_or_else(|| BindError::NoReg { node: path() })?;
    Ok(Window { base: PhysAddr::new(first.address), size: first.size })
}

/// The register window a multi-function device's cell gives the reset-controller `node`, `None`
/// when `node` is no such cell: the sun6i/sun8i PRCM's `allwinner,sun6i-a31-clock-reset` child
/// (drivers/mfd/sun6i-prcm.c; `data/reset-maps/reset-simple.json` `mfd_parents`). The MFD
/// core (`mfd_add_device`) gives a cell to the parent's first child compatible with the cell's
/// `of_compatible` that is available (a disabled one is skipped), with the resource's start
/// and end offset by the start of the parent's first MEM resource; the child's platform device
/// then fails to register when that range is not inside the parent's.
pub fn mfd_cell_window(node: &Node<'_, '_>) -> Result<Option<Window>, BindError> {
    let Some(parent) = node.parent() else { return Ok(None) };
    // of_match_node: the parent's first compatible its driver's table lists.
    let Some(mfd) =
        parent.compatible().find_map(|c| std::str::from_utf8(c).ok().and_then(crate::maps::mfd_parent))
    else {
        return Ok(None);
    };
    let is_compatible = |n: &Node<'_, '_>, wanted: &str| n.compatible().any(|c| c == wanted.as_bytes());
    let Some(cell) = mfd.cells.iter().find(|cell| is_compatible(node, cell.of_compatible)) else {
        return Ok(None);
    };
    let refuse = |why: String| BindError::MfdCell {
        node: node.path(),
        parent: parent.path(),
        cell: cell.name.to_string(),
        why,
    };
    let taker =
        parent.children().find(|child| is_compatible(child, cell.of_compatible) && child.is_enabled());
    match taker {
        Some(child) if child.id() == node.id() => {}
        _ if !node.is_enabled() => {
            return Err(refuse("it is disabled, and the MFD core skips disabled children".into()));
        }
        Some(child) => return Err(refuse(format!("{} comes first and takes the cell", child.path()))),
        None => return Err(refuse("no available child takes the cell".into())),
    }
    let regs = parent.reg_cpu().map_err(|source| BindError::Dt { node: parent.path(), source })?;
    let Some(first) = regs.first() else {
        return Err(refuse(format!("{} has no reg: its driver fails to probe (-ENOENT)", parent.path())));
    };
    let inside = cell.offset.checked_add(cell.size).is_some_and(|end| end <= first.size);
    let base = first.address.checked_add(cell.offset).filter(|_| inside).ok_or_else(|| {
        refuse(format!(
            "its registers [{:#x}, +{:#x}) lie outside {}'s reg of {:#x} bytes",
            cell.offset,
            cell.size,
            parent.path(),
            first.size
        ))
    })?;
    Ok(Some(Window { base: PhysAddr::new(base), size: cell.size }))
}
