//! `verify`: build the SoC, start the device's DMA and interrupt, perform the reset the caller
//! names ([`ResetBy`]: the node's lines, or a device-specific handler) — the real driver or
//! handler, on the simulated bus — then run on and check that the device went quiet and nothing
//! else was touched.
//!
//! Owns: the procedure and the checks. Must not: decide eligibility or which reset applies (the
//! caller maps the policy's decision onto [`ResetBy`]; the simulator depends on no policy).

use platreset_fdt::NodeId;
use platreset_reset::handlers::handler_for;
use platreset_reset::perform::{bind_lines, perform, LineSelect, Operation};
use platreset_reset::{MmioOp, PhysAddr, Window};
use platreset_topology::Topology;
use thiserror::Error;

use crate::soc::{Fault, SimError, Soc};
use crate::time::Tick;

/// Ticks the device's DMA runs before the reset: the transfer is in flight.
pub const WARM_UP: Tick = 100;
/// Ticks the simulation runs on after the reset completed.
pub const RUN_ON: Tick = 2_000;
/// The transfer started on the device: far longer than the whole run, so only the reset can end it.
pub const TRANSFER: u64 = 4 << 20;
/// The simulator's version, recorded in allowlist evidence that names a verify run.
pub const MODEL_VERSION: &str = concat!("platreset-sim ", env!("CARGO_PKG_VERSION"));

/// Why a verification cannot even start.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VerifyError {
    /// The SoC cannot be built or the fault cannot be injected.
    #[error(transparent)]
    Sim(#[from] SimError),
    /// The caller found no reset method to verify.
    #[error("{node} has no reset method to verify ({why})")]
    NoMethod {
        /// Node path.
        node: String,
        /// Why.
        why: String,
    },
    /// The method cannot be simulated.
    #[error("{node}: {why}")]
    NotSimulated {
        /// Node path.
        node: String,
        /// Why.
        why: String,
    },
}

/// What the device is reset with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetBy {
    /// The node's own `resets` lines, through platreset's controller drivers.
    Lines,
    /// The device-specific reset handler for this compatible (`platreset_reset::handlers`).
    Handler(String),
}

impl ResetBy {
    /// The stable name of the method it is, as the policy names them (`generic`, `device-specific`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ResetBy::Lines => "generic",
            ResetBy::Handler(_) => "device-specific",
        }
    }
}

/// One check of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is checked.
    pub name: &'static str,
    /// Whether it holds.
    pub pass: bool,
    /// What was seen.
    pub evidence: String,
}

/// What happened, check by check.
#[derive(Debug, Clone)]
pub struct Report {
    /// The reset performed.
    pub reset_by: ResetBy,
    /// The checks, in order.
    pub checks: Vec<Check>,
    /// Tick at which the reset started.
    pub reset_start: Tick,
    /// Tick at which the reset method returned.
    pub reset_done: Tick,
    /// Tick at which the run ended.
    pub end: Tick,
    /// The register accesses of the reset.
    pub ops: Vec<MmioOp>,
    /// Devices reset along with the target (paths).
    pub collateral: Vec<String>,
    /// The target's device model (`bus-master`, `calxeda-xgmac`…): what an allowlist entry
    /// recording this run names.
    pub model: &'static str,
    /// The simulator's steps, building the SoC included ([`Soc::work`]): for tests and
    /// benchmarks that bound the work on crafted input.
    pub work: u64,
}

impl Report {
    /// Whether every check holds.
    pub fn pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }
}

/// A reset sequence run in place of the resolved one.
pub type Sequence<'d> = &'d dyn Fn(&mut crate::soc::SimMmio<'_>) -> Result<(), String>;

/// How the reset is performed: as resolved, or by a substitute sequence (tests show that a
/// deliberately wrong driver is caught).
pub enum Performer<'d> {
    /// The reset named, with platreset's drivers and handlers.
    Resolved,
    /// This sequence instead.
    Custom(Sequence<'d>),
}

/// Verifies the reset of `target` by `reset_by` with `faults` injected.
pub fn verify(
    topology: &Topology<'_, '_>,
    target: NodeId,
    reset_by: &ResetBy,
    faults: &[Fault],
    pulse_us: u32,
    performer: Performer<'_>,
) -> Result<Report, VerifyError> {
    Verifier::new(topology, &[target])?.verify(target, reset_by, faults, pulse_us, performer)
}

/// One simulated SoC for a tree, serving the verification of any number of its devices: it is
/// built once and [restored](Soc::restore) between runs, so verifying every device of a tree
/// costs the build plus, per device, what its run touched — not a build per device.
pub struct Verifier<'t, 'f, 'b> {
    topology: &'t Topology<'f, 'b>,
    soc: Soc,
    used: bool,
}

impl<'t, 'f, 'b> Verifier<'t, 'f, 'b> {
    /// The SoC of `topology`, with `targets` on the bus even where they have no `resets` (a
    /// device reset by its handler). A target without a usable `reg` is refused when verified.
    pub fn new(topology: &'t Topology<'f, 'b>, targets: &[NodeId]) -> Result<Self, SimError> {
        let fdt = topology.fdt();
        let on_bus: Vec<NodeId> =
            targets.iter().copied().filter(|&id| fdt.node(id).is_some_and(|n| has_registers(&n))).collect();
        Ok(Verifier { topology, soc: Soc::build(topology, &on_bus)?, used: false })
    }

    /// Verifies the reset of `target` by `reset_by` with `faults` injected, on the SoC as built.
    pub fn verify(
        &mut self,
        target: NodeId,
        reset_by: &ResetBy,
        faults: &[Fault],
        pulse_us: u32,
        performer: Performer<'_>,
    ) -> Result<Report, VerifyError> {
        let topology = self.topology;
        let fdt = topology.fdt();
        if std::mem::replace(&mut self.used, true) {
            self.soc.restore(fdt)?;
        }
        run(topology, &mut self.soc, target, reset_by, faults, pulse_us, performer)
    }
}

/// Whether a node has a `reg` the bus can map.
fn has_registers(node: &platreset_fdt::Node<'_, '_>) -> bool {
    !crate::soc::window(node).is_empty()
}

fn run(
    topology: &Topology<'_, '_>,
    soc: &mut Soc,
    target: NodeId,
    reset_by: &ResetBy,
    faults: &[Fault],
    pulse_us: u32,
    performer: Performer<'_>,
) -> Result<Report, VerifyError> {
    let fdt = topology.fdt();
    let path = |id: NodeId| fdt.node(id).map(|n| n.path()).unwrap_or_default();
    let node_path = path(target);
    if !soc.has_device(target) {
        let on_bus = fdt.node(target).is_some_and(|n| has_registers(&n));
        return Err(match on_bus {
            false => VerifyError::Sim(SimError::NoRegisters { node: node_path }),
            true => VerifyError::NotSimulated {
                node: node_path,
                why: "the simulated SoC was built without it (not among the verifier's targets)".into(),
            },
        });
    }
    let lines = match (&performer, reset_by) {
        (Performer::Resolved, ResetBy::Lines) => {
            let lines = bind_lines(fdt, topology, target, &LineSelect::All)
                .map_err(|e| VerifyError::NotSimulated { node: node_path.clone(), why: e.to_string() })?;
            for l in &lines {
                if !soc.models_controller(l.line.controller()) {
                    return Err(VerifyError::NotSimulated {
                        node: node_path.clone(),
                        why: format!("no hardware model for the controller {}", path(l.line.controller())),
                    });
                }
            }
            lines
        }
        _ => Vec::new(),
    };
    for &fault in faults {
        soc.inject(fault, target)?;
    }

    // The guest's driver left a long transfer running with its interrupt enabled.
    let dst = soc.ram().windows().first().map_or(0, |&(base, _)| base) + 0x1_0000;
    if let Some(model) = soc.model_mut(target) {
        model.start_traffic(dst, TRANSFER, 0);
    }
    soc.advance(WARM_UP);

    let reset_start = soc.now();
    let (result, ops) = {
        let mut mmio = soc.mmio();
        let mut ops = Vec::new();
        let result = match (performer, reset_by) {
            (Performer::Custom(run), _) => run(&mut mmio),
            (Performer::Resolved, ResetBy::Lines) => {
                match perform(fdt, target, &lines, Operation::Reset, &mut mmio, pulse_us) {
                    // perform() hands each line's accesses back with its outcome.
                    Ok(outcomes) => {
                        ops.extend(outcomes.into_iter().flat_map(|o| o.ops));
                        Ok(())
                    }
                    // The accesses made before the failure and the undo are part of the story.
                    Err(failure) => {
                        ops.extend(failure.report.ops().cloned());
                        Err(failure.error.to_string())
                    }
                }
            }
            (Performer::Resolved, ResetBy::Handler(compatible)) => match handler_for(compatible) {
                Some(handler) => {
                    let regions: Vec<Window> = mmio
                        .inner_mut()
                        .soc()
                        .regions(target)
                        .iter()
                        .map(|&(base, size)| Window { base: PhysAddr::new(base), size })
                        .collect();
                    handler.reset(&mut mmio, &regions).map_err(|e| e.to_string())
                }
                None => Err(format!("no handler for {compatible}")),
            },
        };
        ops.extend(mmio.take_ops());
        (result, ops)
    };
    let reset_done = soc.now();
    soc.advance(RUN_ON);
    let end = soc.now();

    let mut checks = Vec::new();
    checks.push(Check {
        name: "the reset method completed",
        pass: result.is_ok(),
        evidence: match &result {
            Ok(()) => format!("{} register access(es) from {reset_start} us to {reset_done} us", ops.len()),
            Err(e) => e.clone(),
        },
    });
    if *reset_by == ResetBy::Lines {
        let reached = soc.resets_of(target).iter().any(|&t| t >= reset_start);
        checks.push(Check {
            name: "the reset reached the device",
            pass: reached,
            evidence: match soc.resets_of(target).iter().find(|&&t| t >= reset_start) {
                Some(t) => format!("its reset input rose at {t} us"),
                None => "its reset input never rose".into(),
            },
        });
        checks.push(Check {
            name: "the device is out of reset again",
            pass: !soc.in_reset(target),
            evidence: if soc.in_reset(target) {
                format!("its reset input is still asserted at {end} us")
            } else {
                "its reset input is low".into()
            },
        });
    }
    let writes: Vec<_> = soc.ram().log().iter().filter(|w| w.master == target).collect();
    let after: Vec<_> = writes.iter().filter(|w| w.tick > reset_done).collect();
    let last_before = writes.iter().rev().find(|w| w.tick <= reset_done);
    checks.push(Check {
        name: "no DMA write by the device after the reset",
        pass: after.is_empty(),
        evidence: match (after.first(), after.last()) {
            (Some(first), Some(last)) => format!(
                "{} write(s) after {reset_done} us: first at {} us to {:#x}, last at {} us to {:#x}",
                after.len(),
                first.tick,
                first.addr,
                last.tick,
                last.addr
            ),
            _ => match last_before {
                Some(w) => format!(
                    "last write at {} us to {:#x}; none in the {} us after the reset",
                    w.tick,
                    w.addr,
                    end - reset_done
                ),
                None => format!("no write at all; none in the {} us after the reset", end - reset_done),
            },
        },
    });
    let irq = soc.model(target).is_some_and(|m| m.irq());
    checks.push(Check {
        name: "its interrupt line is low",
        pass: !irq,
        evidence: if irq { format!("still high at {end} us") } else { format!("low at {end} us") },
    });
    let changed = soc.model(target).map(|m| m.regs().changed()).unwrap_or_default();
    checks.push(Check {
        name: "its registers are at their reset values",
        pass: changed.is_empty(),
        evidence: if changed.is_empty() {
            "every modelled register reads its reset value".into()
        } else {
            changed
                .iter()
                .map(|(n, v, r)| format!("{n} = {v:#x} (reset value {r:#x})"))
                .collect::<Vec<_>>()
                .join(", ")
        },
    });
    let collateral: Vec<String> =
        soc.reset_since(reset_start).filter(|&(id, _)| id != target).map(|(_, p)| p.to_string()).collect();
    let stray: Vec<String> = soc
        .stray_writes()
        .iter()
        .filter(|w| w.tick >= reset_start)
        .map(|w| format!("{:#x} <- {:#x} at {} us ({})", w.addr, w.value, w.tick, path(w.node)))
        .collect();
    let mut disturbed = Vec::new();
    if !collateral.is_empty() {
        disturbed.push(format!("also reset: {}", collateral.join(", ")));
    }
    if !stray.is_empty() {
        disturbed.push(format!("register write(s) to other nodes: {}", stray.join(", ")));
    }
    checks.push(Check {
        name: "no other device was disturbed",
        pass: disturbed.is_empty(),
        evidence: if disturbed.is_empty() {
            "no other device's reset input moved, no other node's register was written".into()
        } else {
            disturbed.join("; ")
        },
    });
    let work = soc.work();
    // The target is on the bus (checked before the run), so it has a model.
    let model = soc.model(target).map_or("none", |m| m.kind());
    Ok(Report {
        reset_by: reset_by.clone(),
        checks,
        reset_start,
        reset_done,
        end,
        ops,
        collateral,
        model,
        work,
    })
}
