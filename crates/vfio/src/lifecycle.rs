//! The device lifecycle of vfio-platform (drivers/vfio/platform/vfio_platform_common.c, Linux 6.1;
//! REFERENCE §1) as a state machine, so that platreset's reset is called exactly when the kernel
//! calls it:
//!
//! - **probe**: without a reset method, the device is refused while `reset_required` holds.
//! - **first open**: regions, IRQs, runtime-PM get, then reset; when the reset fails and
//!   `reset_required` holds, everything done is undone in reverse and the open fails.
//! - **later opens / closes**: only counted.
//! - **last close**: reset (a failure is only a warning), runtime-PM put, regions, then IRQs
//!   released — the kernel's order.
//! - **VFIO_DEVICE_RESET**: the reset; `EINVAL` when the device has none.
//! - **VFIO_DEVICE_GET_INFO**: `FLAGS_RESET` only when a reset exists, plus `FLAGS_PLATFORM` (or
//!   `FLAGS_AMBA`).
//!
//! Owns the order of those steps and the bookkeeping; the steps themselves belong to a
//! [`Hardware`] implementation (a simulator, a recorder in tests, the host in a later issue).

use thiserror::Error;

/// `VFIO_DEVICE_FLAGS_RESET`.
pub const FLAGS_RESET: u32 = 1 << 0;
/// `VFIO_DEVICE_FLAGS_PLATFORM`.
pub const FLAGS_PLATFORM: u32 = 1 << 2;
/// `VFIO_DEVICE_FLAGS_AMBA`.
pub const FLAGS_AMBA: u32 = 1 << 3;

/// What the lifecycle does to the device, one step at a time.
pub trait Hardware {
    /// `vfio_platform_regions_init`.
    fn regions_init(&mut self) -> Result<(), String>;
    /// `vfio_platform_regions_cleanup`.
    fn regions_cleanup(&mut self);
    /// `vfio_platform_irq_init`.
    fn irq_init(&mut self) -> Result<(), String>;
    /// `vfio_platform_irq_cleanup`.
    fn irq_cleanup(&mut self);
    /// `pm_runtime_get_sync`.
    fn power_get(&mut self) -> Result<(), String>;
    /// `pm_runtime_put`.
    fn power_put(&mut self);
    /// The reset method (ACPI `_RST`, a device-specific handler, or the generic reset).
    fn reset(&mut self) -> Result<(), String>;
}

/// A refusal, named after the errno the kernel returns.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LifecycleError {
    /// -EINVAL at probe: no reset method while `reset_required` holds.
    #[error("no reset function found for the device, and vfio_platform's reset_required is set")]
    NoResetRequired,
    /// -EINVAL from VFIO_DEVICE_RESET on a device without reset.
    #[error("VFIO_DEVICE_RESET: the device has no reset method (EINVAL)")]
    NoReset,
    /// The first open failed at a step; everything before it was undone.
    #[error("open failed at {step}: {why} (every earlier step was undone)")]
    OpenFailed {
        /// The step that failed.
        step: &'static str,
        /// Why.
        why: String,
    },
    /// The reset itself failed (VFIO_DEVICE_RESET).
    #[error("reset failed: {0}")]
    ResetFailed(String),
    /// A close without a matching open.
    #[error("close without open")]
    NotOpen,
}

/// A vfio-platform device and its open count.
pub struct VfioPlatformDevice<H: Hardware> {
    hardware: H,
    has_reset: bool,
    reset_required: bool,
    amba: bool,
    opens: u32,
    warnings: Vec<String>,
}

impl<H: Hardware> VfioPlatformDevice<H> {
    /// Probes the device: refused without a reset while `reset_required` holds.
    pub fn probe(
        hardware: H,
        has_reset: bool,
        reset_required: bool,
        amba: bool,
    ) -> Result<Self, LifecycleError> {
        if !has_reset && reset_required {
            return Err(LifecycleError::NoResetRequired);
        }
        Ok(VfioPlatformDevice { hardware, has_reset, reset_required, amba, opens: 0, warnings: Vec::new() })
    }

    fn call_reset(&mut self) -> Result<(), String> {
        if !self.has_reset {
            return Err("no reset function found".into());
        }
        self.hardware.reset()
    }

    /// Opens the device (only the first open acts).
    pub fn open(&mut self) -> Result<(), LifecycleError> {
        if self.opens > 0 {
            self.opens += 1;
            return Ok(());
        }
        let fail = |step, why| LifecycleError::OpenFailed { step, why };
        self.hardware.regions_init().map_err(|why| fail("regions", why))?;
        if let Err(why) = self.hardware.irq_init() {
            self.hardware.regions_cleanup();
            return Err(fail("irqs", why));
        }
        if let Err(why) = self.hardware.power_get() {
            self.hardware.power_put(); // pm_runtime_get_sync takes a reference even when it fails
            self.hardware.irq_cleanup();
            self.hardware.regions_cleanup();
            return Err(fail("power", why));
        }
        if let Err(why) = self.call_reset() {
            if self.reset_required {
                self.hardware.power_put();
                self.hardware.irq_cleanup();
                self.hardware.regions_cleanup();
                return Err(fail("reset", why));
            }
            self.warnings.push(format!("reset failed in open, continuing (reset_required is off): {why}"));
        }
        self.opens = 1;
        Ok(())
    }

    /// Closes the device (only the last close acts; a failed reset is a warning).
    pub fn close(&mut self) -> Result<(), LifecycleError> {
        match self.opens {
            0 => return Err(LifecycleError::NotOpen),
            1 => {}
            _ => {
                self.opens -= 1;
                return Ok(());
            }
        }
        if let Err(why) = self.call_reset() {
            self.warnings.push(format!("reset failed in release: {why}"));
        }
        self.hardware.power_put();
        self.hardware.regions_cleanup();
        self.hardware.irq_cleanup();
        self.opens = 0;
        Ok(())
    }

    /// `VFIO_DEVICE_RESET`.
    pub fn reset_ioctl(&mut self) -> Result<(), LifecycleError> {
        if !self.has_reset {
            return Err(LifecycleError::NoReset);
        }
        self.hardware.reset().map_err(LifecycleError::ResetFailed)
    }

    /// `VFIO_DEVICE_GET_INFO`'s flags.
    pub fn info_flags(&self) -> u32 {
        let kind = if self.amba { FLAGS_AMBA } else { FLAGS_PLATFORM };
        kind | if self.has_reset { FLAGS_RESET } else { 0 }
    }

    /// How many opens are outstanding.
    pub fn open_count(&self) -> u32 {
        self.opens
    }

    /// Warnings the kernel would log (failed resets it tolerates).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The hardware, for inspection.
    pub fn hardware(&self) -> &H {
        &self.hardware
    }
}

#[cfg(test)]
mod tests {
    //! One test per rule of REFERENCE §1's lifecycle.

    use super::*;

    #[derive(Default)]
    struct Recorder {
        steps: Vec<&'static str>,
        fail: Option<&'static str>,
    }

    impl Recorder {
        fn step(&mut self, name: &'static str) -> Result<(), String> {
            self.steps.push(name);
            if self.fail == Some(name) {
                Err(format!("{name} failed"))
            } else {
                Ok(())
            }
        }
        fn failing(step: &'static str) -> Recorder {
            Recorder { fail: Some(step), ..Recorder::default() }
        }
    }

    impl Hardware for Recorder {
        fn regions_init(&mut self) -> Result<(), String> {
            self.step("regions")
        }
        fn regions_cleanup(&mut self) {
            self.steps.push("-regions");
        }
        fn irq_init(&mut self) -> Result<(), String> {
            self.step("irqs")
        }
        fn irq_cleanup(&mut self) {
            self.steps.push("-irqs");
        }
        fn power_get(&mut self) -> Result<(), String> {
            self.step("power")
        }
        fn power_put(&mut self) {
            self.steps.push("-power");
        }
        fn reset(&mut self) -> Result<(), String> {
            self.step("reset")
        }
    }

    #[test]
    fn probe_refuses_a_device_without_reset_while_reset_required_holds() {
        assert!(matches!(
            VfioPlatformDevice::probe(Recorder::default(), false, true, false),
            Err(LifecycleError::NoResetRequired)
        ));
        assert!(VfioPlatformDevice::probe(Recorder::default(), false, false, false).is_ok());
    }

    #[test]
    fn first_open_sets_up_powers_and_resets_in_order() {
        let mut dev = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        dev.open().unwrap();
        assert_eq!(dev.hardware().steps, ["regions", "irqs", "power", "reset"]);
    }

    #[test]
    fn later_opens_and_closes_only_count() {
        let mut dev = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        dev.open().unwrap();
        dev.open().unwrap();
        dev.close().unwrap();
        assert_eq!(dev.hardware().steps, ["regions", "irqs", "power", "reset"]);
        assert_eq!(dev.open_count(), 1);
    }

    #[test]
    fn a_failed_reset_at_open_undoes_everything_in_reverse() {
        let mut dev = VfioPlatformDevice::probe(Recorder::failing("reset"), true, true, false).unwrap();
        let err = dev.open().unwrap_err();
        assert!(matches!(err, LifecycleError::OpenFailed { step: "reset", .. }));
        assert_eq!(
            dev.hardware().steps,
            ["regions", "irqs", "power", "reset", "-power", "-irqs", "-regions"]
        );
        assert_eq!(dev.open_count(), 0);
    }

    #[test]
    fn each_failing_open_step_undoes_only_what_came_before() {
        for (step, expected) in [
            ("regions", &["regions"][..]),
            ("irqs", &["regions", "irqs", "-regions"][..]),
            ("power", &["regions", "irqs", "power", "-power", "-irqs", "-regions"][..]),
        ] {
            let mut dev = VfioPlatformDevice::probe(Recorder::failing(step), true, true, false).unwrap();
            assert!(dev.open().is_err());
            assert_eq!(dev.hardware().steps, expected, "{step}");
        }
    }

    #[test]
    fn without_reset_required_a_failed_reset_at_open_only_warns() {
        let mut dev = VfioPlatformDevice::probe(Recorder::failing("reset"), true, false, false).unwrap();
        dev.open().unwrap();
        assert_eq!(dev.open_count(), 1);
        assert_eq!(dev.warnings().len(), 1);
    }

    #[test]
    fn last_close_resets_then_powers_down_and_releases_regions_then_irqs() {
        let mut dev = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        dev.open().unwrap();
        dev.close().unwrap();
        assert_eq!(&dev.hardware().steps[4..], ["reset", "-power", "-regions", "-irqs"]);
        assert!(matches!(dev.close(), Err(LifecycleError::NotOpen)));
    }

    #[test]
    fn a_failed_reset_at_close_is_only_a_warning() {
        let mut dev = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        dev.open().unwrap();
        dev.hardware.fail = Some("reset");
        dev.close().unwrap();
        assert_eq!(&dev.hardware().steps[4..], ["reset", "-power", "-regions", "-irqs"]);
        assert_eq!(dev.warnings().len(), 1);
    }

    #[test]
    fn reset_ioctl_is_einval_without_a_reset_method() {
        let mut none = VfioPlatformDevice::probe(Recorder::default(), false, false, false).unwrap();
        assert_eq!(none.reset_ioctl(), Err(LifecycleError::NoReset));
        let mut some = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        some.reset_ioctl().unwrap();
        assert_eq!(some.hardware().steps, ["reset"]);
    }

    #[test]
    fn get_info_sets_the_reset_flag_only_when_a_reset_exists() {
        let with = VfioPlatformDevice::probe(Recorder::default(), true, true, false).unwrap();
        assert_eq!(with.info_flags(), FLAGS_RESET | FLAGS_PLATFORM);
        let without = VfioPlatformDevice::probe(Recorder::default(), false, false, false).unwrap();
        assert_eq!(without.info_flags(), FLAGS_PLATFORM);
        let amba = VfioPlatformDevice::probe(Recorder::default(), true, true, true).unwrap();
        assert_eq!(amba.info_flags(), FLAGS_RESET | FLAGS_AMBA);
    }
}
