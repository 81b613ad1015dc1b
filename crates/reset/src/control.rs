//! Reset controls with Linux's consumer semantics (drivers/reset/core.c, REFERENCE §3). Every
//! hardware operation platreset performs on a node's lines goes through here
//! ([`crate::perform`] takes each line as an exclusive control, as the kernel's array get does).
//!
//! - **Exclusive** controls have one holder: requesting an acquired exclusive control for a line
//!   that already has one is `Busy`. An exclusive control may be requested *released*; it must
//!   then be acquired before use (`NotAcquired` otherwise), and acquiring fails with `Busy`
//!   while another control of the line is acquired.
//! - **Shared** controls are reference counted: every request for the line returns the same
//!   control. Deassert counts up and touches the hardware only on the first call; assert counts
//!   down and touches it only on the last. `reset` fires once per lifetime of the control until
//!   `rearm`; mixing it with (de)assert is `Invalid`.
//! - Mixing shared and exclusive requests on one line is `Busy`.
//! - A missing driver operation is `NotSupported` where Linux says -ENOTSUPP, and silently
//!   succeeds where Linux does (deassert without `.deassert`; assert on shared without
//!   `.assert`). There is no fallback from `reset` to assert + deassert.

use thiserror::Error;

use crate::mmio::Mmio;
use crate::ops::{DriverError, ResetOps};

/// How a consumer asks for a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `reset_control_get_exclusive`: acquired at once.
    Exclusive,
    /// `reset_control_get_exclusive_released`: must be acquired before use.
    ExclusiveReleased,
    /// `reset_control_get_shared`.
    Shared,
}

/// Handle to a control held in [`Controls`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlId(usize);

/// A refused control operation, named after Linux's errno.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ControlError {
    /// -EBUSY: the line is held in a way that excludes this request.
    #[error("reset line {id} of controller #{provider} is busy: {why}")]
    Busy {
        /// Controller index.
        provider: usize,
        /// Line id.
        id: u32,
        /// What holds it.
        why: &'static str,
    },
    /// -EPERM: an exclusive control used without being acquired.
    #[error("reset control for line {id} is not acquired")]
    NotAcquired {
        /// Line id.
        id: u32,
    },
    /// -ENOTSUPP: the driver lacks the operation this requires.
    #[error("not supported: {0}")]
    NotSupported(DriverError),
    /// -EINVAL: a use the framework forbids.
    #[error("invalid use of a reset control: {0}")]
    Invalid(&'static str),
    /// The control was put (or never existed).
    #[error("no such reset control")]
    Stale,
    /// The driver failed.
    #[error(transparent)]
    Driver(DriverError),
}

#[derive(Debug)]
struct Control {
    provider: usize,
    id: u32,
    shared: bool,
    acquired: bool,
    refs: u32,
    deassert_count: u32,
    triggered_count: u32,
}

/// Every control in use, over a set of controller drivers (providers).
pub struct Controls<'p> {
    providers: Vec<&'p dyn ResetOps>,
    controls: Vec<Option<Control>>,
}

impl<'p> Controls<'p> {
    /// A framework over these providers (indices are the `provider` arguments below).
    pub fn new(providers: Vec<&'p dyn ResetOps>) -> Controls<'p> {
        Controls { providers, controls: Vec::new() }
    }

    fn provider(&self, index: usize) -> Result<&'p dyn ResetOps, ControlError> {
        self.providers.get(index).copied().ok_or(ControlError::Stale)
    }

    fn control(&mut self, c: ControlId) -> Result<&mut Control, ControlError> {
        self.controls.get_mut(c.0).and_then(Option::as_mut).ok_or(ControlError::Stale)
    }

    /// Requests the line named by `args` on `provider` (Linux's `__of_reset_control_get`).
    pub fn get(
        &mut self,
        provider: usize,
        args: &[u32],
        request: Request,
    ) -> Result<ControlId, ControlError> {
        let ops = self.provider(provider)?;
        let id = ops.xlate(args).map_err(ControlError::Driver)?;
        let shared = request == Request::Shared;
        let acquired = request == Request::Exclusive;
        let existing = self
            .controls
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.provider == provider && c.id == id));
        if let Some(index) = existing {
            // Linux looks at the first control of the line it finds.
            let c = self.controls[index].as_mut().ok_or(ControlError::Stale)?;
            if !c.shared && !shared && !acquired {
                // A secondary, released exclusive control: allowed, created below.
            } else if !c.shared || !shared {
                let why = if c.shared || shared {
                    "shared and exclusive requests cannot be mixed on one line"
                } else {
                    "an exclusive control for it is already held"
                };
                return Err(ControlError::Busy { provider, id, why });
            } else {
                c.refs += 1;
                return Ok(ControlId(index));
            }
        }
        self.controls.push(Some(Control {
            provider,
            id,
            shared,
            acquired,
            refs: 1,
            deassert_count: 0,
            triggered_count: 0,
        }));
        Ok(ControlId(self.controls.len() - 1))
    }

    /// Drops one reference (`reset_control_put`); the control goes away with the last.
    pub fn put(&mut self, c: ControlId) -> Result<(), ControlError> {
        let control = self.control(c)?;
        control.refs -= 1;
        if control.refs == 0 {
            self.controls[c.0] = None;
        }
        Ok(())
    }

    /// `reset_control_reset`.
    pub fn reset(&mut self, c: ControlId, mmio: &mut dyn Mmio) -> Result<(), ControlError> {
        let (provider, id, shared) = self.fields(c)?;
        let ops = self.provider(provider)?;
        if !ops.capabilities().reset {
            return Err(ControlError::NotSupported(DriverError::NotSupported {
                driver: ops.driver(),
                op: "reset",
            }));
        }
        let control = self.control(c)?;
        if shared {
            if control.deassert_count != 0 {
                return Err(ControlError::Invalid("reset on a shared line that is held deasserted"));
            }
            control.triggered_count += 1;
            if control.triggered_count != 1 {
                return Ok(());
            }
        } else if !control.acquired {
            return Err(ControlError::NotAcquired { id });
        }
        let result = ops.reset(mmio, id);
        if shared && result.is_err() {
            self.control(c)?.triggered_count -= 1;
        }
        result.map_err(ControlError::Driver)
    }

    /// `reset_control_rearm`: lets a shared control's `reset` fire again.
    pub fn rearm(&mut self, c: ControlId) -> Result<(), ControlError> {
        let (_, id, shared) = self.fields(c)?;
        let control = self.control(c)?;
        if shared {
            if control.deassert_count != 0 {
                return Err(ControlError::Invalid("rearm on a shared line that is held deasserted"));
            }
            if control.triggered_count == 0 {
                return Err(ControlError::Invalid("rearm of a shared reset that was not triggered"));
            }
            control.triggered_count -= 1;
        } else if !control.acquired {
            return Err(ControlError::NotAcquired { id });
        }
        Ok(())
    }

    /// `reset_control_assert`.
    pub fn assert(&mut self, c: ControlId, mmio: &mut dyn Mmio) -> Result<(), ControlError> {
        let (provider, id, shared) = self.fields(c)?;
        let ops = self.provider(provider)?;
        let has_assert = ops.capabilities().assert;
        let control = self.control(c)?;
        if shared {
            if control.triggered_count != 0 {
                return Err(ControlError::Invalid("assert on a shared line used with reset"));
            }
            if control.deassert_count == 0 {
                return Err(ControlError::Invalid("assert on a shared line without a matching deassert"));
            }
            control.deassert_count -= 1;
            if control.deassert_count != 0 || !has_assert {
                // Other holders keep it deasserted; or nothing to do, which shared use allows.
                return Ok(());
            }
        } else {
            if !has_assert {
                return Err(ControlError::NotSupported(DriverError::NotSupported {
                    driver: ops.driver(),
                    op: "assert",
                }));
            }
            if !control.acquired {
                return Err(ControlError::NotAcquired { id });
            }
        }
        ops.assert(mmio, id).map_err(ControlError::Driver)
    }

    /// `reset_control_deassert`.
    pub fn deassert(&mut self, c: ControlId, mmio: &mut dyn Mmio) -> Result<(), ControlError> {
        let (provider, id, shared) = self.fields(c)?;
        let ops = self.provider(provider)?;
        let control = self.control(c)?;
        if shared {
            if control.triggered_count != 0 {
                return Err(ControlError::Invalid("deassert on a shared line used with reset"));
            }
            control.deassert_count += 1;
            if control.deassert_count != 1 {
                return Ok(());
            }
        } else if !control.acquired {
            return Err(ControlError::NotAcquired { id });
        }
        // Without .deassert Linux assumes self-deasserting lines: nothing to do.
        if !ops.capabilities().deassert {
            return Ok(());
        }
        ops.deassert(mmio, id).map_err(ControlError::Driver)
    }

    /// `reset_control_status`: `true` when asserted.
    pub fn status(&mut self, c: ControlId, mmio: &mut dyn Mmio) -> Result<bool, ControlError> {
        let (provider, id, _) = self.fields(c)?;
        let ops = self.provider(provider)?;
        if !ops.capabilities().status {
            return Err(ControlError::NotSupported(DriverError::NotSupported {
                driver: ops.driver(),
                op: "status",
            }));
        }
        ops.status(mmio, id).map_err(ControlError::Driver)
    }

    /// `reset_control_acquire`.
    pub fn acquire(&mut self, c: ControlId) -> Result<(), ControlError> {
        let (provider, id, shared) = self.fields(c)?;
        if shared {
            return Err(ControlError::Invalid("shared controls cannot be acquired"));
        }
        if self.control(c)?.acquired {
            return Ok(());
        }
        let other_acquired = self.controls.iter().enumerate().any(|(i, o)| {
            i != c.0 && o.as_ref().is_some_and(|o| o.provider == provider && o.id == id && o.acquired)
        });
        if other_acquired {
            return Err(ControlError::Busy { provider, id, why: "another control of the line is acquired" });
        }
        self.control(c)?.acquired = true;
        Ok(())
    }

    /// `reset_control_release`.
    pub fn release(&mut self, c: ControlId) -> Result<(), ControlError> {
        self.control(c)?.acquired = false;
        Ok(())
    }

    fn fields(&mut self, c: ControlId) -> Result<(usize, u32, bool), ControlError> {
        let control = self.control(c)?;
        Ok((control.provider, control.id, control.shared))
    }
}

#[cfg(test)]
mod tests {
    //! One test per rule of drivers/reset/core.c (REFERENCE §3). The test driver writes the
    //! operation's number to a register per line, so the trace shows every hardware touch.

    use super::*;
    use crate::ops::Capabilities;
    use crate::test_driver::{TestDriver, ASSERT, DEASSERT, RESET};
    use crate::{MmioOp, Trace};

    const ALL: Capabilities = Capabilities { assert: true, deassert: true, reset: true, status: true };

    fn writes(trace: &Trace) -> Vec<u32> {
        trace
            .ops()
            .iter()
            .filter_map(|op| match op {
                MmioOp::Write32 { value, .. } => Some(*value),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn exclusive_is_single_holder_a_second_request_is_busy() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        controls.get(0, &[1], Request::Exclusive).unwrap();
        assert!(matches!(controls.get(0, &[1], Request::Exclusive), Err(ControlError::Busy { .. })));
        assert!(controls.get(0, &[2], Request::Exclusive).is_ok(), "another line is free");
    }

    #[test]
    fn shared_and_exclusive_cannot_mix_on_one_line() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        controls.get(0, &[1], Request::Shared).unwrap();
        assert!(matches!(controls.get(0, &[1], Request::Exclusive), Err(ControlError::Busy { .. })));
        controls.get(0, &[2], Request::Exclusive).unwrap();
        assert!(matches!(controls.get(0, &[2], Request::Shared), Err(ControlError::Busy { .. })));
    }

    #[test]
    fn shared_requests_return_the_same_control() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let a = controls.get(0, &[1], Request::Shared).unwrap();
        let b = controls.get(0, &[1], Request::Shared).unwrap();
        assert_eq!(a, b);
        controls.put(a).unwrap();
        assert!(controls.reset(b, &mut Trace::new()).is_ok(), "one reference still holds it");
        controls.put(b).unwrap();
        assert_eq!(controls.reset(b, &mut Trace::new()), Err(ControlError::Stale));
    }

    #[test]
    fn released_exclusive_must_be_acquired_before_use() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[1], Request::ExclusiveReleased).unwrap();
        let mut trace = Trace::new();
        assert_eq!(controls.reset(c, &mut trace), Err(ControlError::NotAcquired { id: 1 }));
        assert_eq!(controls.assert(c, &mut trace), Err(ControlError::NotAcquired { id: 1 }));
        assert_eq!(controls.deassert(c, &mut trace), Err(ControlError::NotAcquired { id: 1 }));
        assert!(trace.ops().is_empty(), "nothing touched");
        controls.acquire(c).unwrap();
        controls.reset(c, &mut trace).unwrap();
        controls.release(c).unwrap();
        assert_eq!(controls.reset(c, &mut trace), Err(ControlError::NotAcquired { id: 1 }));
        assert_eq!(writes(&trace), [RESET]);
    }

    #[test]
    fn acquire_is_busy_while_another_control_of_the_line_is_acquired() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let first = controls.get(0, &[1], Request::ExclusiveReleased).unwrap();
        let second = controls.get(0, &[1], Request::ExclusiveReleased).unwrap();
        assert_ne!(first, second, "released exclusive controls may coexist");
        controls.acquire(first).unwrap();
        assert!(matches!(controls.acquire(second), Err(ControlError::Busy { .. })));
        controls.release(first).unwrap();
        controls.acquire(second).unwrap();
    }

    #[test]
    fn shared_deassert_is_reference_counted() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[3], Request::Shared).unwrap();
        let mut trace = Trace::new();
        controls.deassert(c, &mut trace).unwrap();
        controls.deassert(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [DEASSERT], "only the first deassert touches the line");
        controls.assert(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [DEASSERT], "another holder still wants it deasserted");
        controls.assert(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [DEASSERT, ASSERT], "the last assert asserts");
        assert_eq!(
            controls.assert(c, &mut trace),
            Err(ControlError::Invalid("assert on a shared line without a matching deassert"))
        );
    }

    #[test]
    fn shared_reset_fires_once_per_lifetime_until_rearmed() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[4], Request::Shared).unwrap();
        let mut trace = Trace::new();
        // Two consumers reset the line: the hardware sees one pulse.
        controls.reset(c, &mut trace).unwrap();
        controls.reset(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [RESET]);
        // Each consumer re-arms what it triggered; only when all have does it fire again.
        controls.rearm(c).unwrap();
        controls.reset(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [RESET], "one trigger is still outstanding");
        controls.rearm(c).unwrap();
        controls.rearm(c).unwrap();
        controls.reset(c, &mut trace).unwrap();
        assert_eq!(writes(&trace), [RESET, RESET]);
    }

    #[test]
    fn shared_reset_and_deassert_do_not_mix() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[5], Request::Shared).unwrap();
        let mut trace = Trace::new();
        controls.deassert(c, &mut trace).unwrap();
        assert!(matches!(controls.reset(c, &mut trace), Err(ControlError::Invalid(_))));
        let d = controls.get(0, &[6], Request::Shared).unwrap();
        controls.reset(d, &mut trace).unwrap();
        assert!(matches!(controls.deassert(d, &mut trace), Err(ControlError::Invalid(_))));
        assert!(matches!(controls.assert(d, &mut trace), Err(ControlError::Invalid(_))));
    }

    #[test]
    fn reset_without_a_reset_op_is_not_supported_and_never_falls_back() {
        let driver = TestDriver::new(Capabilities { reset: false, ..ALL });
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[1], Request::Exclusive).unwrap();
        let mut trace = Trace::new();
        assert!(matches!(controls.reset(c, &mut trace), Err(ControlError::NotSupported(_))));
        assert!(trace.ops().is_empty(), "no assert + deassert behind the caller's back");
    }

    #[test]
    fn missing_assert_is_not_supported_for_exclusive_and_a_no_op_for_shared() {
        let driver = TestDriver::new(Capabilities { assert: false, ..ALL });
        let mut controls = Controls::new(vec![&driver]);
        let mut trace = Trace::new();
        let e = controls.get(0, &[1], Request::Exclusive).unwrap();
        assert!(matches!(controls.assert(e, &mut trace), Err(ControlError::NotSupported(_))));
        let s = controls.get(0, &[2], Request::Shared).unwrap();
        controls.deassert(s, &mut trace).unwrap();
        controls.assert(s, &mut trace).unwrap();
        assert_eq!(writes(&trace), [DEASSERT]);
    }

    #[test]
    fn missing_deassert_succeeds_without_touching_the_line() {
        let driver = TestDriver::new(Capabilities { deassert: false, ..ALL });
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[1], Request::Exclusive).unwrap();
        let mut trace = Trace::new();
        controls.deassert(c, &mut trace).unwrap();
        assert!(trace.ops().is_empty());
    }

    #[test]
    fn status_without_a_status_op_is_not_supported() {
        let driver = TestDriver::new(Capabilities { status: false, ..ALL });
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[1], Request::Exclusive).unwrap();
        assert!(matches!(controls.status(c, &mut Trace::new()), Err(ControlError::NotSupported(_))));
        let full = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&full]);
        let c = controls.get(0, &[1], Request::Exclusive).unwrap();
        let mut trace = Trace::new();
        controls.assert(c, &mut trace).unwrap();
        assert_eq!(controls.status(c, &mut trace), Ok(true));
    }

    #[test]
    fn a_bad_specifier_is_refused_by_the_driver() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        assert!(matches!(
            controls.get(0, &[9], Request::Exclusive),
            Err(ControlError::Driver(DriverError::BadSpecifier { .. }))
        ));
        assert!(matches!(controls.get(0, &[1, 2], Request::Exclusive), Err(ControlError::Driver(_))));
    }

    #[test]
    fn rearm_of_an_untriggered_shared_reset_is_invalid() {
        let driver = TestDriver::new(ALL);
        let mut controls = Controls::new(vec![&driver]);
        let c = controls.get(0, &[1], Request::Shared).unwrap();
        assert!(matches!(controls.rearm(c), Err(ControlError::Invalid(_))));
    }
}
