//! Performing a reset operation on a device's lines, the way `platreset reset` does: pick the
//! lines, bind each controller, translate each specifier, run the driver on a recording
//! backend. Every failure names the node and the controller.

use platreset_fdt::{Fdt, NodeId};
use platreset_topology::{ResetLine, ResolveError, Topology};
use thiserror::Error;

use crate::bind::{bind, BindError, Binding};
use crate::mmio::{Mmio, MmioOp};
use crate::ops::{DriverError, ResetOps};
use crate::pulse::{mode_of, reset_line, Mode};

/// What to do to each line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A complete reset (kernel sequence or pulse).
    Reset,
    /// Put the line into reset and leave it there.
    Assert,
    /// Take the line out of reset.
    Deassert,
}

/// Which of a node's lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineSelect {
    /// All, in `resets` order.
    All,
    /// The one at this index of `resets`.
    Index(usize),
    /// The one `reset-names` calls this.
    Name(String),
}

/// A backend that keeps the accesses it performs (the dry-run trace; later, recording wrappers
/// around real backends).
pub trait Recording: Mmio {
    /// The accesses since the last call.
    fn take_ops(&mut self) -> Vec<MmioOp>;
}

impl Recording for crate::Trace {
    fn take_ops(&mut self) -> Vec<MmioOp> {
        crate::Trace::take_ops(self)
    }
}

/// What happened on one line.
#[derive(Debug, Clone)]
pub struct LineOutcome {
    /// Position in `resets`.
    pub index: usize,
    /// The line.
    pub line: ResetLine,
    /// Its `reset-names` entry, if any.
    pub name: Option<String>,
    /// The driver that performed it.
    pub driver: &'static str,
    /// How a reset was done (`None` for assert/deassert).
    pub mode: Option<Mode>,
    /// The accesses, in order.
    pub ops: Vec<MmioOp>,
}

/// Why an operation could not be performed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PerformError {
    /// The node has no `resets`.
    #[error("{node} has no resets property: it has no reset line to act on")]
    NoResets {
        /// Node path.
        node: String,
    },
    /// `resets` does not resolve.
    #[error("{node}: {source}")]
    Unresolvable {
        /// Node path.
        node: String,
        /// Why.
        source: ResolveError,
    },
    /// The requested line does not exist.
    #[error("{node} has no reset line {wanted} (it has {available})")]
    NoSuchLine {
        /// Node path.
        node: String,
        /// What was asked for.
        wanted: String,
        /// What exists.
        available: String,
    },
    /// The controller cannot be bound.
    #[error("{node}, reset line {index}: {source}")]
    Bind {
        /// Node path.
        node: String,
        /// Line index.
        index: usize,
        /// Why.
        source: Box<BindError>,
    },
    /// The controller resets through firmware.
    #[error("{node}, reset line {index}: controller {controller} is a firmware reset, not MMIO ({interface}); platreset does not issue firmware calls")]
    Firmware {
        /// Node path.
        node: String,
        /// Line index.
        index: usize,
        /// Controller path.
        controller: String,
        /// Firmware interface.
        interface: &'static str,
    },
    /// The driver refused the specifier or the operation, or an access failed.
    #[error("{node}, reset line {index} on controller {controller}: {source}")]
    Driver {
        /// Node path.
        node: String,
        /// Line index.
        index: usize,
        /// Controller path.
        controller: String,
        /// Why.
        source: DriverError,
    },
}

/// A line's driver and id, ready to act.
pub struct BoundLine {
    /// Position in `resets`.
    pub index: usize,
    /// The line.
    pub line: ResetLine,
    /// Its `reset-names` entry.
    pub name: Option<String>,
    /// The controller's driver.
    pub ops: Box<dyn ResetOps>,
    /// The id the driver gave the specifier.
    pub id: u32,
}

/// Binds the selected lines of `node`, failing on the first that cannot be driven.
pub fn bind_lines(
    fdt: &Fdt<'_>,
    topology: &Topology<'_, '_>,
    node: NodeId,
    select: &LineSelect,
) -> Result<Vec<BoundLine>, PerformError> {
    let path = fdt.node(node).map(|n| n.path()).unwrap_or_default();
    let consumer = topology.consumer(node).ok_or_else(|| PerformError::NoResets { node: path.clone() })?;
    let lines = consumer
        .resets
        .as_ref()
        .map_err(|source| PerformError::Unresolvable { node: path.clone(), source: source.clone() })?;
    let names: Vec<String> =
        consumer.reset_names().map(|n| String::from_utf8_lossy(n).into_owned()).collect();
    let available = || {
        let list: Vec<String> = (0..lines.len())
            .map(|i| match names.get(i) {
                Some(name) => format!("{i} \"{name}\""),
                None => i.to_string(),
            })
            .collect();
        format!("lines {}", list.join(", "))
    };
    let chosen: Vec<usize> = match select {
        LineSelect::All => (0..lines.len()).collect(),
        LineSelect::Index(i) if *i < lines.len() => vec![*i],
        LineSelect::Name(n) if names.iter().take(lines.len()).any(|x| x == n) => {
            names.iter().position(|x| x == n).into_iter().collect()
        }
        other => {
            let wanted = match other {
                LineSelect::Index(i) => i.to_string(),
                LineSelect::Name(n) => format!("\"{n}\""),
                LineSelect::All => String::new(),
            };
            return Err(PerformError::NoSuchLine { node: path, wanted, available: available() });
        }
    };
    chosen
        .into_iter()
        .map(|index| {
            let line = lines[index];
            let controller = fdt.node(line.controller());
            let controller_path = controller.map(|c| c.path()).unwrap_or_default();
            let binding = controller
                .ok_or(BindError::NoReg { node: controller_path.clone() })
                .and_then(|c| bind(&c))
                .map_err(|source| PerformError::Bind {
                    node: path.clone(),
                    index,
                    source: Box::new(source),
                })?;
            let ops = match binding {
                Binding::Mmio(ops) => ops,
                Binding::Firmware { interface, .. } => {
                    return Err(PerformError::Firmware {
                        node: path.clone(),
                        index,
                        controller: controller_path,
                        interface,
                    })
                }
            };
            let id = ops.xlate(line.args()).map_err(|source| PerformError::Driver {
                node: path.clone(),
                index,
                controller: controller_path.clone(),
                source,
            })?;
            Ok(BoundLine { index, line, name: names.get(index).cloned(), ops, id })
        })
        .collect()
}

/// Performs `operation` on every bound line, recording the accesses per line.
pub fn perform<M: Recording>(
    fdt: &Fdt<'_>,
    node: NodeId,
    lines: &[BoundLine],
    operation: Operation,
    mmio: &mut M,
    pulse_us: u32,
) -> Result<Vec<LineOutcome>, PerformError> {
    let path = fdt.node(node).map(|n| n.path()).unwrap_or_default();
    lines
        .iter()
        .map(|bound| {
            let ops = bound.ops.as_ref();
            let result = match operation {
                Operation::Reset => reset_line(ops, mmio, bound.id, pulse_us).map(Some),
                Operation::Assert => ops.assert(mmio, bound.id).map(|()| None),
                Operation::Deassert => ops.deassert(mmio, bound.id).map(|()| None),
            };
            let mode = result.map_err(|source| PerformError::Driver {
                node: path.clone(),
                index: bound.index,
                controller: fdt.node(bound.line.controller()).map(|c| c.path()).unwrap_or_default(),
                source,
            })?;
            Ok(LineOutcome {
                index: bound.index,
                line: bound.line,
                name: bound.name.clone(),
                driver: ops.driver(),
                mode,
                ops: mmio.take_ops(),
            })
        })
        .collect()
}

/// Whether every line of `lines` can be reset, and how (the weakest mode wins: pulse over kernel).
pub fn reset_modes(lines: &[BoundLine], pulse_us: u32) -> Vec<Option<Mode>> {
    lines.iter().map(|b| mode_of(b.ops.as_ref(), pulse_us)).collect()
}

/// What platreset can do with a controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    /// Reset with the driver's own sequence.
    Kernel(&'static str),
    /// Reset as a pulse (the driver has assert and deassert only).
    Pulse(&'static str),
    /// The driver cannot reset at all (neither `.reset` nor assert + deassert).
    NoReset(&'static str),
    /// Resets go through firmware.
    Firmware(&'static str),
    /// No driver here, or the DT does not describe it well enough.
    Unsupported(String),
}

impl Support {
    /// A short stable name: `kernel`, `pulse`, `no-reset`, `firmware`, `unsupported`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Support::Kernel(_) => "kernel",
            Support::Pulse(_) => "pulse",
            Support::NoReset(_) => "no-reset",
            Support::Firmware(_) => "firmware",
            Support::Unsupported(_) => "unsupported",
        }
    }

    /// The driver's name, for those with one.
    pub fn driver(&self) -> Option<&'static str> {
        match self {
            Support::Kernel(d) | Support::Pulse(d) | Support::NoReset(d) => Some(d),
            _ => None,
        }
    }
}

/// A controller's support, and its driver when it has one (to translate specifiers).
pub fn support(node: &platreset_fdt::Node<'_, '_>, pulse_us: u32) -> (Support, Option<Box<dyn ResetOps>>) {
    match bind(node) {
        Err(e) => (Support::Unsupported(e.to_string()), None),
        Ok(Binding::Firmware { interface, .. }) => (Support::Firmware(interface), None),
        Ok(Binding::Mmio(ops)) => {
            let support = match mode_of(ops.as_ref(), pulse_us) {
                Some(Mode::Kernel) => Support::Kernel(ops.driver()),
                Some(Mode::Pulse { .. }) => Support::Pulse(ops.driver()),
                None => Support::NoReset(ops.driver()),
            };
            (support, Some(ops))
        }
    }
}
