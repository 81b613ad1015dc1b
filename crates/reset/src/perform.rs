//! Performing a reset operation on a device's lines, the way `platreset reset` and `platreset host
//! guard --generic-reset` do: pick the lines, bind each controller, translate each specifier, then
//! act through the reset framework's consumer rules ([`crate::control`]) on a recording backend.
//!
//! Owns: the array semantics of Linux's drivers/reset/core.c (v6.1) for one node's lines —
//! `of_reset_control_array_get_exclusive` takes every line exclusively before anything is touched
//! (the same line listed twice is -EBUSY, nothing done); `reset_control_array_assert` /
//! `_deassert` act line by line and, when one fails, undo the lines already done in reverse
//! (deassert what was asserted, assert what was deasserted), ignoring the undo's own errors, and
//! return the first error; `reset_control_array_reset` resets line by line and returns the first
//! error without undoing anything (a completed reset cannot be taken back). A line whose driver
//! has no `.reset` is reset as platreset's pulse (assert, wait, deassert: `crate::pulse`), one line
//! at a time; a pulse is that line's reset, so it is not undone either, and a pulse that fails
//! part-way leaves its line as the failing access left it (asserted, when the deassert failed).
//! The [`Report`] of every access made — each line's, the failed line's up to its failure, and the
//! undo's — comes back on success and on failure alike ([`Failure`]).
//!
//! Must not: decide whether a node may be acted on (the policy's job, in the CLI), or open a real
//! backend itself ([`reset_node`] takes an opener from the caller).

use platreset_fdt::{Fdt, NodeId};
use platreset_topology::{ResetLine, ResolveError, Topology};
use thiserror::Error;

use crate::addr::Window;
use crate::bind::{bind, Binding};
use crate::bind_error::BindError;
use crate::control::{ControlError, ControlId, Controls, Request};
use crate::mmio::{Mmio, MmioOp};
use crate::ops::{DriverError, ResetOps};
use crate::pulse::{mode_of, Mode};
use crate::record::Recording;

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

impl Operation {
    /// The stable name in JSON output: `reset`, `assert`, `deassert`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Reset => "reset",
            Operation::Assert => "assert",
            Operation::Deassert => "deassert",
        }
    }
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

/// One step of an operation on one line: the line's own operation, or its undo after a later line
/// failed.
#[derive(Debug, Clone)]
pub struct LineOutcome {
    /// Position in `resets`.
    pub index: usize,
    /// The line.
    pub line: ResetLine,
    /// Its `reset-names` entry, if any.
    pub name: Option<String>,
    /// The controller's node path.
    pub controller: String,
    /// The driver that performed it.
    pub driver: &'static str,
    /// How a reset was done (`None` for assert/deassert, and for an undo).
    pub mode: Option<Mode>,
    /// What was done to the line: the operation, or for an undo its inverse (deassert after an
    /// assert, assert after a deassert).
    pub action: Operation,
    /// Whether this step undoes the line's operation because a later line failed.
    pub undo: bool,
    /// The accesses, in order (for a failed step, those made before it failed).
    pub ops: Vec<MmioOp>,
    /// Why the step failed: the operation's error on the last line of a failed operation, or an
    /// undo's own error (which, as in Linux, does not stop the undo of the lines before it).
    pub error: Option<PerformError>,
}

/// Every step of an operation on a node's lines, in the order performed, with every register
/// access made: what [`perform`] returns on success and, inside [`Failure`], on failure.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The lines acted on, in order (the failed one last, with the accesses it made before
    /// failing), then the undo of the lines before it, in reverse order.
    pub steps: Vec<LineOutcome>,
}

impl Report {
    /// The steps acting on each line (not the undo), in order.
    pub fn lines(&self) -> impl Iterator<Item = &LineOutcome> {
        self.steps.iter().filter(|s| !s.undo)
    }

    /// The undo steps, in the order performed (the reverse of the lines').
    pub fn undone(&self) -> impl Iterator<Item = &LineOutcome> {
        self.steps.iter().filter(|s| s.undo)
    }

    /// Every access, in the order made.
    pub fn ops(&self) -> impl Iterator<Item = &MmioOp> {
        self.steps.iter().flat_map(|s| &s.ops)
    }
}

impl IntoIterator for Report {
    type Item = LineOutcome;
    type IntoIter = std::vec::IntoIter<LineOutcome>;

    /// The steps, in the order performed.
    fn into_iter(self) -> Self::IntoIter {
        self.steps.into_iter()
    }
}

/// An operation that failed part-way: the error it returns (the first, as Linux's array operations
/// return it) and the report of every access made, undo included.
#[derive(Debug, Clone, Error)]
#[error("{error}")]
pub struct Failure {
    /// What was done before and after the failure.
    pub report: Report,
    /// The first error.
    pub error: Box<PerformError>,
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
    /// Two entries of `resets` name the same line: Linux's exclusive array get requests it twice
    /// and the second request fails with -EBUSY, so nothing is touched.
    #[error("{node}: reset lines {first} and {index} are the same line of controller {controller}; Linux cannot take it exclusively twice (-EBUSY), so nothing was done")]
    SameLine {
        /// Node path.
        node: String,
        /// The earlier entry.
        first: usize,
        /// The entry that repeats it.
        index: usize,
        /// Controller path.
        controller: String,
    },
    /// The reset framework refused a request or a use of a control.
    #[error("{node}, reset line {index} on controller {controller}: {source}")]
    Control {
        /// Node path.
        node: String,
        /// Line index.
        index: usize,
        /// Controller path.
        controller: String,
        /// Why.
        source: ControlError,
    },
    /// The controller has no register window a real backend could map.
    #[error("{node}, reset line {index}: controller {controller} has no usable reg to map")]
    NoWindow {
        /// Node path.
        node: String,
        /// Line index.
        index: usize,
        /// Controller path.
        controller: String,
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
    /// The controller's node path.
    pub controller: String,
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
            Ok(BoundLine {
                index,
                line,
                name: names.get(index).cloned(),
                controller: controller_path,
                ops,
                id,
            })
        })
        .collect()
}

/// The register window of one controller the lines go through: what a real backend must map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControllerWindow {
    /// The controller's node path.
    pub controller: String,
    /// Its first `reg` entry, as a CPU physical range.
    pub window: Window,
}

/// The register windows of the controllers `lines` go through, one per controller, in the order
/// the lines first use them.
pub fn windows(
    fdt: &Fdt<'_>,
    node: NodeId,
    lines: &[BoundLine],
) -> Result<Vec<ControllerWindow>, PerformError> {
    let mut windows: Vec<ControllerWindow> = Vec::new();
    for bound in lines {
        if windows.iter().any(|w| w.controller == bound.controller) {
            continue;
        }
        let window = fdt
            .node(bound.line.controller())
            .and_then(|c| crate::window::controller_window(&c).ok())
            .ok_or_else(|| PerformError::NoWindow {
                node: fdt.node(node).map(|n| n.path()).unwrap_or_default(),
                index: bound.index,
                controller: bound.controller.clone(),
            })?;
        windows.push(ControllerWindow { controller: bound.controller.clone(), window });
    }
    Ok(windows)
}

/// Performs `operation` on every bound line, in order, through the reset framework's consumer
/// rules, exactly as Linux's array operations do (see the module comment): every line is taken
/// exclusively first; on a failure, an assert or deassert undoes the lines already done, in
/// reverse; a reset undoes nothing. Each step's accesses are recorded in the [`Report`], which
/// comes back on failure too, inside the [`Failure`]. Accesses `mmio` recorded before the call
/// are counted in the first step.
pub fn perform<M: Recording>(
    fdt: &Fdt<'_>,
    node: NodeId,
    lines: &[BoundLine],
    operation: Operation,
    mmio: &mut M,
    pulse_us: u32,
) -> Result<Report, Failure> {
    let path = fdt.node(node).map(|n| n.path()).unwrap_or_default();
    // One provider per controller node, as Linux has one reset_controller_dev per node: two lines
    // of one controller are then lines of the same provider, and the same id is the same line.
    let mut controllers: Vec<NodeId> = Vec::new();
    let mut providers: Vec<&dyn ResetOps> = Vec::new();
    let provider_of: Vec<usize> = lines
        .iter()
        .map(|bound| {
            let controller = bound.line.controller();
            controllers.iter().position(|&c| c == controller).unwrap_or_else(|| {
                controllers.push(controller);
                providers.push(bound.ops.as_ref());
                controllers.len() - 1
            })
        })
        .collect();
    // The framework lives for this operation only: it knows of no other consumer (the host's
    // drivers hold their controls in the kernel, out of platreset's sight). Dropping it at the
    // end releases the controls, as reset_control_put does.
    let mut controls = Controls::new(providers);
    let held = acquire(&mut controls, &path, lines, &provider_of)
        .map_err(|error| Failure { report: Report::default(), error: Box::new(error) })?;
    run(&mut controls, &path, lines, &held, operation, mmio, pulse_us)
}

/// `of_reset_control_array_get_exclusive` over the selected lines: each requested exclusively
/// and acquired, in order, all before anything is touched. Linux drivers/reset/core.c
/// (`__reset_control_get_internal`): a second exclusive request of a line already held fails
/// with -EBUSY, and the array get then puts what it got and returns that error.
fn acquire(
    controls: &mut Controls<'_>,
    path: &str,
    lines: &[BoundLine],
    provider_of: &[usize],
) -> Result<Vec<ControlId>, PerformError> {
    let mut held = Vec::with_capacity(lines.len());
    for (k, (bound, &provider)) in lines.iter().zip(provider_of).enumerate() {
        match controls.get(provider, bound.line.args(), Request::Exclusive) {
            Ok(c) => held.push(c),
            Err(source @ ControlError::Busy { .. }) => {
                let earlier = lines[..k]
                    .iter()
                    .zip(provider_of)
                    .find(|(b, &p)| p == provider && b.id == bound.id)
                    .map(|(b, _)| b.index);
                return Err(match earlier {
                    Some(first) => PerformError::SameLine {
                        node: path.to_string(),
                        first,
                        index: bound.index,
                        controller: bound.controller.clone(),
                    },
                    None => step_error(path, bound, source),
                });
            }
            Err(source) => return Err(step_error(path, bound, source)),
        }
    }
    Ok(held)
}

/// What undoes `operation` on a line already done when a later line fails: Linux's
/// `reset_control_array_assert` deasserts, `reset_control_array_deassert` asserts, and
/// `reset_control_array_reset` has nothing to undo.
fn undo_of(operation: Operation) -> Option<Operation> {
    match operation {
        Operation::Assert => Some(Operation::Deassert),
        Operation::Deassert => Some(Operation::Assert),
        Operation::Reset => None,
    }
}

/// The array operation: line by line, stopping at the first failure, then the undo of the lines
/// before it in reverse, each undo's error recorded and passed over (Linux ignores them).
fn run<M: Recording>(
    controls: &mut Controls<'_>,
    path: &str,
    lines: &[BoundLine],
    held: &[ControlId],
    operation: Operation,
    mmio: &mut M,
    pulse_us: u32,
) -> Result<Report, Failure> {
    let mut report = Report::default();
    for (k, (bound, &control)) in lines.iter().zip(held).enumerate() {
        let (mode, result) = act(controls, control, bound, operation, mmio, pulse_us);
        let error = result.err().map(|e| step_error(path, bound, e));
        report.steps.push(outcome(bound, mode, operation, false, mmio.take_ops(), error.clone()));
        let Some(error) = error else { continue };
        if let Some(inverse) = undo_of(operation) {
            for (done, &control) in lines[..k].iter().zip(&held[..k]).rev() {
                let (_, result) = act(controls, control, done, inverse, mmio, pulse_us);
                let undo_error = result.err().map(|e| step_error(path, done, e));
                report.steps.push(outcome(done, None, inverse, true, mmio.take_ops(), undo_error));
            }
        }
        return Err(Failure { report, error: Box::new(error) });
    }
    Ok(report)
}

/// One line's operation through its control; with the mode a reset took.
fn act(
    controls: &mut Controls<'_>,
    control: ControlId,
    bound: &BoundLine,
    action: Operation,
    mmio: &mut dyn Mmio,
    pulse_us: u32,
) -> (Option<Mode>, Result<(), ControlError>) {
    match action {
        Operation::Assert => (None, controls.assert(control, mmio)),
        Operation::Deassert => (None, controls.deassert(control, mmio)),
        Operation::Reset => match mode_of(bound.ops.as_ref(), pulse_us) {
            Some(Mode::Kernel) => (Some(Mode::Kernel), controls.reset(control, mmio)),
            Some(mode @ Mode::Pulse { us }) => (Some(mode), pulse(controls, control, mmio, us)),
            None => (
                None,
                Err(ControlError::Driver(DriverError::NotSupported {
                    driver: bound.ops.driver(),
                    op: "reset (nor assert and deassert)",
                })),
            ),
        },
    }
}

/// platreset's pulse for a driver without `.reset` (`crate::pulse`): assert, wait, deassert,
/// through the control, stopping at the first failure.
fn pulse(
    controls: &mut Controls<'_>,
    control: ControlId,
    mmio: &mut dyn Mmio,
    us: u32,
) -> Result<(), ControlError> {
    controls.assert(control, mmio)?;
    mmio.delay_us(us).map_err(|e| ControlError::Driver(e.into()))?;
    controls.deassert(control, mmio)
}

/// A framework or driver error on `bound`, named with the node and the controller. A driver's
/// own error (or its missing operation) reads as before the framework was in the path.
fn step_error(path: &str, bound: &BoundLine, error: ControlError) -> PerformError {
    let (node, index, controller) = (path.to_string(), bound.index, bound.controller.clone());
    match error {
        ControlError::Driver(source) | ControlError::NotSupported(source) => {
            PerformError::Driver { node, index, controller, source }
        }
        source => PerformError::Control { node, index, controller, source },
    }
}

fn outcome(
    bound: &BoundLine,
    mode: Option<Mode>,
    action: Operation,
    undo: bool,
    ops: Vec<MmioOp>,
    error: Option<PerformError>,
) -> LineOutcome {
    LineOutcome {
        index: bound.index,
        line: bound.line,
        name: bound.name.clone(),
        controller: bound.controller.clone(),
        driver: bound.ops.driver(),
        mode,
        action,
        undo,
        ops,
        error,
    }
}

/// Why [`reset_node`] did not complete.
#[derive(Debug, Error)]
pub enum NodeError<E> {
    /// The node's lines cannot be driven (no `resets`, no driver, a bad specifier, no register
    /// window): nothing was touched.
    #[error("{0}")]
    Lines(PerformError),
    /// The caller's backend could not be opened (or the caller refused to open it): nothing was
    /// touched.
    #[error("{0}")]
    Backend(E),
    /// The operation failed; the report says what was done, undo included.
    #[error("{0}")]
    Failed(Failure),
}

/// Resets this node on this backend: the one call `platreset reset` and `platreset host guard
/// --generic-reset` make. Binds the selected lines of `node` (their errors come before any
/// backend exists), hands the controllers' register windows to `open` for the backend (the
/// caller maps them, or refuses), then [`perform`]s `operation` on it.
pub fn reset_node<M: Recording, E>(
    topology: &Topology<'_, '_>,
    node: NodeId,
    select: &LineSelect,
    operation: Operation,
    pulse_us: u32,
    open: impl FnOnce(&[ControllerWindow]) -> Result<M, E>,
) -> Result<Report, NodeError<E>> {
    let fdt = topology.fdt();
    let lines = bind_lines(fdt, topology, node, select).map_err(NodeError::Lines)?;
    let windows = windows(fdt, node, &lines).map_err(NodeError::Lines)?;
    let mut mmio = open(&windows).map_err(NodeError::Backend)?;
    perform(fdt, node, &lines, operation, &mut mmio, pulse_us).map_err(NodeError::Failed)
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

#[cfg(test)]
mod tests {
    //! The array semantics of Linux drivers/reset/core.c, one test per rule, over a scripted
    //! driver: it writes the operation's number to one register per line, and fails the
    //! (operation, line) pairs it is told to, so the trace shows every hardware touch in order.

    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::ops::Capabilities;
    use crate::test_driver::{TestDriver, ASSERT, DEASSERT, RESET};
    use crate::Trace;

    const ALL: Capabilities = Capabilities { assert: true, deassert: true, reset: true, status: false };
    const NO_RESET: Capabilities = Capabilities { reset: false, ..ALL };

    /// A node whose `resets` lists `specifiers` of one controller, compiled with dtc.
    fn blob(specifiers: &[u32]) -> Vec<u8> {
        let resets: Vec<String> = specifiers.iter().map(|s| format!("<&ctl {s}>")).collect();
        let dts = format!(
            "/dts-v1/;\n/ {{\n  #address-cells = <1>; #size-cells = <1>;\n  \
             ctl: reset-controller@1000 {{ reg = <0x1000 0x20>; #reset-cells = <1>; }};\n  \
             dev@2000 {{ reg = <0x2000 0x100>; resets = {}; }};\n}};\n",
            resets.join(", ")
        );
        platreset_testkit::dtb_from_text(&dts)
    }

    /// Performs `operation` on every line of the node of `blob(specifiers)` with `driver`,
    /// returning the result and the trace.
    fn run_on(
        specifiers: &[u32],
        caps: Capabilities,
        fail: &[(u32, u32)],
        operation: Operation,
    ) -> (Result<Report, Failure>, Trace) {
        let blob = blob(specifiers);
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let node = fdt.find_path("/dev@2000").unwrap().id();
        let lines: Vec<ResetLine> = topology.consumer(node).unwrap().lines().to_vec();
        let bound: Vec<BoundLine> = lines
            .iter()
            .enumerate()
            .map(|(index, &line)| BoundLine {
                index,
                line,
                name: None,
                controller: "/reset-controller@1000".into(),
                ops: Box::new(TestDriver { caps, fail: fail.to_vec() }),
                id: line.args()[0],
            })
            .collect();
        let mut trace = Trace::new();
        let result = perform(&fdt, node, &bound, operation, &mut trace, 5);
        let mut all = Trace::new();
        // The report took the accesses; replay them into a trace for the register file.
        for op in result.as_ref().map_or_else(|f| f.report.clone(), Clone::clone).ops() {
            if let MmioOp::Write32 { reg, value } = op {
                all.write32(reg, *value).unwrap();
            }
        }
        assert!(trace.ops().is_empty(), "every access is in the report");
        (result, all)
    }

    /// `(line id, value written)` for every write of the report, in order.
    fn writes(report: &Report) -> Vec<(u64, u32)> {
        report
            .ops()
            .filter_map(|op| match op {
                MmioOp::Write32 { reg, value } => Some(((reg.addr.get() - 0x1000) / 4, *value)),
                _ => None,
            })
            .collect()
    }

    /// `(index, action, undo, failed)` of every step.
    fn steps(report: &Report) -> Vec<(usize, Operation, bool, bool)> {
        report.steps.iter().map(|s| (s.index, s.action, s.undo, s.error.is_some())).collect()
    }

    #[test]
    fn a_successful_assert_acts_on_each_line_in_order_and_undoes_nothing() {
        let (result, _) = run_on(&[1, 2, 3], ALL, &[], Operation::Assert);
        let report = result.unwrap();
        assert_eq!(writes(&report), [(1, ASSERT), (2, ASSERT), (3, ASSERT)]);
        assert_eq!(report.undone().count(), 0);
        assert_eq!(report.lines().map(|s| s.ops.len()).collect::<Vec<_>>(), [1, 1, 1]);
    }

    #[test]
    fn a_failed_assert_deasserts_the_lines_already_asserted_in_reverse() {
        let (result, regs) = run_on(&[1, 2, 3], ALL, &[(ASSERT, 3)], Operation::Assert);
        let failure = result.unwrap_err();
        assert_eq!(
            writes(&failure.report),
            [(1, ASSERT), (2, ASSERT), (2, DEASSERT), (1, DEASSERT)],
            "line 3 failed before touching anything; 2 then 1 are released"
        );
        assert_eq!(
            steps(&failure.report),
            [
                (0, Operation::Assert, false, false),
                (1, Operation::Assert, false, false),
                (2, Operation::Assert, false, true),
                (1, Operation::Deassert, true, false),
                (0, Operation::Deassert, true, false),
            ]
        );
        assert!(matches!(*failure.error, PerformError::Driver { index: 2, .. }), "{}", failure.error);
        assert_eq!(failure.report.steps[2].error.as_ref(), Some(&*failure.error));
        assert_eq!(
            (regs.value(TestDriver::reg(1).addr), regs.value(TestDriver::reg(2).addr)),
            (DEASSERT, DEASSERT)
        );
    }

    #[test]
    fn a_failed_deassert_reasserts_the_lines_already_deasserted_in_reverse() {
        let (result, _) = run_on(&[4, 5, 6], ALL, &[(DEASSERT, 6)], Operation::Deassert);
        let failure = result.unwrap_err();
        assert_eq!(writes(&failure.report), [(4, DEASSERT), (5, DEASSERT), (5, ASSERT), (4, ASSERT)]);
        assert_eq!(failure.report.undone().map(|s| s.index).collect::<Vec<_>>(), [1, 0]);
        assert!(failure.report.undone().all(|s| s.action == Operation::Assert && s.mode.is_none()));
    }

    #[test]
    fn a_failure_on_the_first_line_has_nothing_to_undo() {
        let (result, _) = run_on(&[1, 2], ALL, &[(ASSERT, 1)], Operation::Assert);
        let failure = result.unwrap_err();
        assert_eq!(steps(&failure.report), [(0, Operation::Assert, false, true)]);
        assert!(writes(&failure.report).is_empty(), "line 2 is never touched");
    }

    #[test]
    fn an_undo_that_fails_is_recorded_and_the_undo_goes_on() {
        // Linux ignores the undo's errors: line 1 stays asserted, line 0 is still released.
        let (result, _) = run_on(&[1, 2, 3], ALL, &[(ASSERT, 3), (DEASSERT, 2)], Operation::Assert);
        let failure = result.unwrap_err();
        assert_eq!(writes(&failure.report), [(1, ASSERT), (2, ASSERT), (1, DEASSERT)]);
        assert_eq!(
            steps(&failure.report),
            [
                (0, Operation::Assert, false, false),
                (1, Operation::Assert, false, false),
                (2, Operation::Assert, false, true),
                (1, Operation::Deassert, true, true),
                (0, Operation::Deassert, true, false),
            ]
        );
        assert!(
            matches!(*failure.error, PerformError::Driver { index: 2, .. }),
            "the first error is returned"
        );
    }

    #[test]
    fn a_failed_reset_stops_there_and_undoes_nothing() {
        // reset_control_array_reset: a completed reset cannot be taken back.
        let (result, _) = run_on(&[1, 2, 3], ALL, &[(RESET, 2)], Operation::Reset);
        let failure = result.unwrap_err();
        assert_eq!(writes(&failure.report), [(1, RESET)]);
        assert_eq!(
            steps(&failure.report),
            [(0, Operation::Reset, false, false), (1, Operation::Reset, false, true)]
        );
        assert_eq!(failure.report.steps[0].mode, Some(Mode::Kernel));
    }

    #[test]
    fn a_pulse_is_one_lines_reset_and_a_failed_one_is_not_undone() {
        // Line 0's pulse completes; line 1 is asserted, then its deassert fails: it stays asserted
        // (the report says so), line 0 keeps its completed pulse, line 2 is never touched.
        let (result, regs) = run_on(&[1, 2, 3], NO_RESET, &[(DEASSERT, 2)], Operation::Reset);
        let failure = result.unwrap_err();
        assert_eq!(writes(&failure.report), [(1, ASSERT), (1, DEASSERT), (2, ASSERT)]);
        let delays = failure.report.ops().filter(|op| matches!(op, MmioOp::DelayUs { us: 5 })).count();
        assert_eq!(delays, 2, "each pulse waits, the failed one too");
        assert_eq!(
            steps(&failure.report),
            [(0, Operation::Reset, false, false), (1, Operation::Reset, false, true)]
        );
        assert_eq!(failure.report.steps[1].mode, Some(Mode::Pulse { us: 5 }));
        assert_eq!(regs.value(TestDriver::reg(1).addr), DEASSERT);
        assert_eq!(regs.value(TestDriver::reg(2).addr), ASSERT);
    }

    #[test]
    fn the_same_line_listed_twice_is_busy_before_anything_is_touched() {
        let (result, _) = run_on(&[1, 2, 1], ALL, &[], Operation::Reset);
        let failure = result.unwrap_err();
        assert_eq!(
            *failure.error,
            PerformError::SameLine {
                node: "/dev@2000".into(),
                first: 0,
                index: 2,
                controller: "/reset-controller@1000".into()
            }
        );
        assert!(failure.report.steps.is_empty());
        assert!(failure.error.to_string().contains("-EBUSY"), "{}", failure.error);
    }

    #[test]
    fn a_missing_deassert_succeeds_without_touching_the_line_as_linux_does() {
        let caps = Capabilities { deassert: false, ..ALL };
        let (result, _) = run_on(&[1, 2], caps, &[], Operation::Deassert);
        let report = result.unwrap();
        assert!(writes(&report).is_empty());
        assert_eq!(report.lines().count(), 2);
    }

    #[test]
    fn a_missing_assert_is_refused_on_the_first_line() {
        let caps = Capabilities { assert: false, ..ALL };
        let (result, _) = run_on(&[1, 2], caps, &[], Operation::Assert);
        let failure = result.unwrap_err();
        assert!(
            failure.error.to_string().contains("the scripted driver has no assert operation"),
            "{}",
            failure.error
        );
    }

    #[test]
    fn a_driver_without_reset_nor_assert_and_deassert_cannot_reset() {
        let caps = Capabilities { assert: false, reset: false, ..ALL };
        let (result, _) = run_on(&[1], caps, &[], Operation::Reset);
        let failure = result.unwrap_err();
        assert!(failure.error.to_string().contains("reset (nor assert and deassert)"), "{}", failure.error);
    }
}
