//! The three device-specific reset handlers Linux ever merged for vfio-platform
//! (drivers/vfio/platform/reset/, REFERENCE §1), over the device's own MMIO regions through
//! [`Mmio`], so a dry run, the simulator or `/dev/mem` run them unchanged. Each reproduces the
//! kernel's accesses, polls and waits in order.
//!
//! platreset is stricter than the kernel in one way: where the AMD handler only warns that the
//! PHY or MAC reset did not complete, platreset reports a timeout naming the register, because a
//! device that did not reset must not be handed on.

use std::borrow::Cow;

use crate::{Mmio, MmioError, Reg, Window};
use thiserror::Error;

/// Why a handler failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The device node lacks a region the handler needs.
    #[error("the {handler} reset needs MMIO region {index}, the device has {available}")]
    MissingRegion {
        /// Handler.
        handler: &'static str,
        /// Region index.
        index: usize,
        /// Regions the device has.
        available: usize,
    },
    /// A register did not reach the state the handler waits for.
    #[error("{register} did not settle: {detail}")]
    Timeout {
        /// Which register.
        register: String,
        /// What was expected.
        detail: String,
    },
    /// An access failed.
    #[error(transparent)]
    Mmio(#[from] MmioError),
}

/// A device-specific reset, matched on the device's first compatible.
pub trait Handler: Sync {
    /// The compatible the kernel registers it for.
    fn compatible(&self) -> &'static str;
    /// Performs the reset over the device's regions (DT `reg` order).
    fn reset(&self, mmio: &mut dyn Mmio, regions: &[Window]) -> Result<(), HandlerError>;
}

/// The handler for a device whose first compatible is `compatible`.
pub fn handler_for(compatible: &str) -> Option<&'static dyn Handler> {
    HANDLERS.into_iter().find(|h| h.compatible() == compatible)
}

/// Every handler, in the order Linux merged them.
pub const HANDLERS: [&dyn Handler; 3] = [&CalxedaXgmac, &AmdXgbe, &FlexRm];

/// The compatibles that select a handler.
pub const COMPATIBLES: [&str; 3] = ["calxeda,hb-xgmac", "amd,xgbe-seattle-v1a", "brcm,iproc-flexrm-mbox"];

fn region(handler: &'static str, regions: &[Window], index: usize) -> Result<Window, HandlerError> {
    regions.get(index).copied().ok_or(HandlerError::MissingRegion {
        handler,
        index,
        available: regions.len(),
    })
}

fn reg(window: &Window, offset: u64, name: impl Into<Cow<'static, str>>) -> Result<Reg, HandlerError> {
    let name = name.into();
    window.reg(offset, name.clone()).ok_or_else(|| {
        HandlerError::Mmio(MmioError::OutOfWindow {
            addr: crate::PhysAddr::new(window.base.get().saturating_add(offset)),
            name: name.into_owned(),
        })
    })
}

/// `calxeda,hb-xgmac` (vfio_platform_calxedaxgmac.c): DMA interrupts off, DMA TX/RX stopped, MAC
/// TX/RX disabled.
pub struct CalxedaXgmac;

impl Handler for CalxedaXgmac {
    fn compatible(&self) -> &'static str {
        "calxeda,hb-xgmac"
    }

    fn reset(&self, mmio: &mut dyn Mmio, regions: &[Window]) -> Result<(), HandlerError> {
        let r0 = region("calxeda-xgmac", regions, 0)?;
        mmio.write32(&reg(&r0, 0xF1C, "XGMAC_DMA_INTR_ENA")?, 0)?;
        let dma = reg(&r0, 0xF18, "XGMAC_DMA_CONTROL")?;
        let value = mmio.read32(&dma)?;
        mmio.write32(&dma, value & !(0x2000 | 0x2))?;
        let control = reg(&r0, 0x000, "XGMAC_CONTROL")?;
        let value = mmio.read32(&control)?;
        mmio.write32(&control, value & !(0x8 | 0x4))?;
        Ok(())
    }
}

/// `amd,xgbe-seattle-v1a` (vfio_platform_amdxgbe.c): PHY reset through the XPCS's indirect MMD
/// window, auto-negotiation and its interrupts off, then a MAC software reset.
pub struct AmdXgbe;

const MDIO_MMD_PCS: u32 = 3;
const MDIO_MMD_AN: u32 = 7;
const MDIO_CTRL1: u32 = 0;
const MDIO_CTRL1_RESET: u32 = 0x8000;
const MDIO_AN_CTRL1_ENABLE: u32 = 0x1000;
const MDIO_AN_INTMASK: u32 = 0x8001;
const MDIO_AN_INT: u32 = 0x8002;
const DMA_MR: u64 = 0x3000;

impl AmdXgbe {
    /// The kernel's `xmdio_read`: select the MMD page, then read inside the window.
    fn xmdio_read(mmio: &mut dyn Mmio, xpcs: &Window, mmd: u32, register: u32) -> Result<u32, HandlerError> {
        let address = (mmd << 16) | (register & 0xffff);
        mmio.write32(&reg(xpcs, 0xff << 2, "PCS_MMD_SELECT")?, address >> 8)?;
        let name = format!("MMD{mmd}.{register:#06x}");
        Ok(mmio.read32(&reg(xpcs, u64::from(address & 0xff) << 2, name)?)?)
    }

    /// The kernel's `xmdio_write`.
    fn xmdio_write(
        mmio: &mut dyn Mmio,
        xpcs: &Window,
        mmd: u32,
        register: u32,
        value: u32,
    ) -> Result<(), HandlerError> {
        let address = (mmd << 16) | (register & 0xffff);
        mmio.write32(&reg(xpcs, 0xff << 2, "PCS_MMD_SELECT")?, address >> 8)?;
        let name = format!("MMD{mmd}.{register:#06x}");
        Ok(mmio.write32(&reg(xpcs, u64::from(address & 0xff) << 2, name)?, value)?)
    }
}

impl Handler for AmdXgbe {
    fn compatible(&self) -> &'static str {
        "amd,xgbe-seattle-v1a"
    }

    fn reset(&self, mmio: &mut dyn Mmio, regions: &[Window]) -> Result<(), HandlerError> {
        let xgmac = region("amd-xgbe", regions, 0)?;
        let xpcs = region("amd-xgbe", regions, 1)?;

        // PHY reset through MDIO, polled every 20 ms, 50 times at most.
        let pcs = Self::xmdio_read(mmio, &xpcs, MDIO_MMD_PCS, MDIO_CTRL1)? | MDIO_CTRL1_RESET;
        Self::xmdio_write(mmio, &xpcs, MDIO_MMD_PCS, MDIO_CTRL1, pcs)?;
        let mut value;
        let mut count = 50;
        loop {
            mmio.delay_us(20_000)?;
            value = Self::xmdio_read(mmio, &xpcs, MDIO_MMD_PCS, MDIO_CTRL1)?;
            count -= 1;
            if value & MDIO_CTRL1_RESET == 0 || count == 0 {
                break;
            }
        }
        if value & MDIO_CTRL1_RESET != 0 {
            return Err(HandlerError::Timeout {
                register: "XPCS MMD3.MDIO_CTRL1".into(),
                detail: "the PHY reset bit (0x8000) stayed set through 50 polls of 20 ms".into(),
            });
        }

        // Auto-negotiation off, its interrupts masked and cleared.
        let an = Self::xmdio_read(mmio, &xpcs, MDIO_MMD_AN, MDIO_CTRL1)? & !MDIO_AN_CTRL1_ENABLE;
        Self::xmdio_write(mmio, &xpcs, MDIO_MMD_AN, MDIO_CTRL1, an)?;
        Self::xmdio_write(mmio, &xpcs, MDIO_MMD_AN, MDIO_AN_INTMASK, 0)?;
        Self::xmdio_write(mmio, &xpcs, MDIO_MMD_AN, MDIO_AN_INT, 0)?;

        // MAC software reset: set DMA_MR.SWR, then wait for it to clear (1999 polls of 500 µs).
        let dma_mr = reg(&xgmac, DMA_MR, "DMA_MR")?;
        let value = mmio.read32(&dma_mr)?;
        mmio.write32(&dma_mr, value | 1)?;
        mmio.delay_us(10)?;
        let mut count = 2000;
        loop {
            count -= 1;
            if count == 0 || mmio.read32(&dma_mr)? & 1 == 0 {
                break;
            }
            mmio.delay_us(500)?;
        }
        if count == 0 {
            return Err(HandlerError::Timeout {
                register: "XGMAC DMA_MR".into(),
                detail: "the software-reset bit (0x1) did not clear within 2000 polls of 500 us".into(),
            });
        }
        Ok(())
    }
}

/// `brcm,iproc-flexrm-mbox` (vfio_platform_bcmflexrm.c): every ring that answers RING_VER is
/// deactivated and flushed, each flush state waited for up to 1 s.
pub struct FlexRm;

const RING_REGS_SIZE: u64 = 0x10000;
const RING_VER_MAGIC: u32 = 0x7630_3031;

impl FlexRm {
    fn wait_flush(mmio: &mut dyn Mmio, done: &Reg, want_set: bool, ring: u64) -> Result<(), HandlerError> {
        for _ in 0..1000 {
            let set = mmio.read32(done)? & 1 != 0;
            if set == want_set {
                return Ok(());
            }
            mmio.delay_us(1000)?;
        }
        Err(HandlerError::Timeout {
            register: format!("ring {ring} RING_FLUSH_DONE"),
            detail: format!("bit 0 did not become {} within 1 s", u8::from(want_set)),
        })
    }
}

impl Handler for FlexRm {
    fn compatible(&self) -> &'static str {
        "brcm,iproc-flexrm-mbox"
    }

    fn reset(&self, mmio: &mut dyn Mmio, regions: &[Window]) -> Result<(), HandlerError> {
        let r0 = region("flexrm", regions, 0)?;
        let mut first_error = None;
        let mut ring_num = 0;
        let mut offset = 0;
        while offset < r0.size {
            let ver = reg(&r0, offset, format!("ring@{offset:#x} RING_VER"))?;
            if mmio.read32(&ver)? == RING_VER_MAGIC {
                let control = reg(&r0, offset + 0x34, format!("ring{ring_num} RING_CONTROL"))?;
                let done = reg(&r0, offset + 0x38, format!("ring{ring_num} RING_FLUSH_DONE"))?;
                let result = (|| {
                    mmio.write32(&control, 0)?;
                    mmio.write32(&control, 1 << 5)?;
                    Self::wait_flush(mmio, &done, true, ring_num)?;
                    mmio.write32(&control, 0)?;
                    Self::wait_flush(mmio, &done, false, ring_num)
                })();
                // The kernel goes on with the other rings and reports failure at the end.
                if let Err(e) = result {
                    first_error.get_or_insert(e);
                }
                ring_num += 1;
            }
            offset += RING_REGS_SIZE;
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    //! Each handler against a register-level model of its device (written from the devices'
    //! register semantics, not from the handler), and through a trace for the exact sequence.

    use std::collections::HashMap;

    use crate::{MmioOp, PhysAddr, Trace};

    use super::*;

    /// Device behaviour: called on every access (address, `Some(value)` for writes) with the
    /// register file.
    trait Hook: FnMut(&mut HashMap<u64, u32>, u64, Option<u32>) {}
    impl<F: FnMut(&mut HashMap<u64, u32>, u64, Option<u32>)> Hook for F {}

    /// A bus of plain registers with per-device behaviour hooked on reads and writes.
    struct Model<F: Hook> {
        regs: HashMap<u64, u32>,
        hook: F,
        delays_us: u64,
    }

    impl<F: Hook> Mmio for Model<F> {
        fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
            (self.hook)(&mut self.regs, reg.addr.get(), None);
            Ok(self.regs.get(&reg.addr.get()).copied().unwrap_or(0))
        }
        fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
            self.regs.insert(reg.addr.get(), value);
            (self.hook)(&mut self.regs, reg.addr.get(), Some(value));
            Ok(())
        }
        fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
            self.delays_us += u64::from(us);
            Ok(())
        }
        fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, _timeout_us: u32) -> Result<u32, MmioError> {
            let v = self.read32(reg)?;
            if v & mask == expect {
                Ok(v)
            } else {
                Err(MmioError::timeout(reg, mask, expect, 0, v))
            }
        }
    }

    fn window(base: u64, size: u64) -> Window {
        Window { base: PhysAddr::new(base), size }
    }

    #[test]
    fn calxeda_xgmac_stops_dma_and_irqs_and_leaves_other_bits() {
        let base = 0xfff5_0000;
        let mut model =
            Model { regs: HashMap::new(), hook: |_: &mut HashMap<u64, u32>, _, _| {}, delays_us: 0 };
        model.regs.insert(base + 0xF1C, 0x1_ffff); // interrupts enabled
        model.regs.insert(base + 0xF18, 0x2002 | 0x100); // DMA TX+RX started, another bit
        model.regs.insert(base, 0x8 | 0x4 | 0x1); // MAC TX+RX enabled
        handler_for("calxeda,hb-xgmac").unwrap().reset(&mut model, &[window(base, 0x1000)]).unwrap();
        assert_eq!(model.regs[&(base + 0xF1C)], 0);
        assert_eq!(model.regs[&(base + 0xF18)], 0x100);
        assert_eq!(model.regs[&base], 0x1);
    }

    #[test]
    fn calxeda_sequence_matches_the_kernel_driver() {
        let mut trace = Trace::new();
        CalxedaXgmac.reset(&mut trace, &[window(0x1000_0000, 0x1000)]).unwrap();
        let kinds: Vec<(bool, u64)> = trace
            .ops()
            .iter()
            .map(|op| match op {
                MmioOp::Write32 { reg, .. } => (true, reg.addr.get() - 0x1000_0000),
                MmioOp::Read32 { reg, .. } => (false, reg.addr.get() - 0x1000_0000),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(kinds, [(true, 0xF1C), (false, 0xF18), (true, 0xF18), (false, 0x0), (true, 0x0)]);
    }

    /// The XGBE: XPCS registers addressed through the MMD select window; PHY reset and MAC
    /// software reset self-clear after `settle` reads (or never, for `settle = u32::MAX`).
    fn xgbe(settle: u32) -> (Model<impl Hook>, [Window; 2]) {
        let (xgmac, xpcs) = (0xe090_0000u64, 0xe010_0000u64);
        let mut reads = 0u32;
        let mut mmd = HashMap::<u32, u32>::new();
        mmd.insert(0x7_0000, 0x1200); // AN CTRL1: enabled
        mmd.insert(0x7_8001, 0xff); // AN interrupt mask
        mmd.insert(0x7_8002, 0x3); // AN interrupt status
        let hook = move |regs: &mut HashMap<u64, u32>, addr: u64, write: Option<u32>| {
            let select = regs.get(&(xpcs + (0xff << 2))).copied().unwrap_or(0);
            if (xpcs..xpcs + 0x3fc).contains(&addr) {
                let key = (select << 8) | ((addr - xpcs) as u32 >> 2);
                match write {
                    Some(v) => {
                        mmd.insert(key, v);
                    }
                    None => {
                        if key == 0x3_0000 {
                            reads += 1;
                            if reads >= settle {
                                mmd.entry(key).and_modify(|v| *v &= !0x8000);
                            }
                        }
                        regs.insert(addr, mmd.get(&key).copied().unwrap_or(0));
                    }
                }
                regs.insert(0xdead_0000 + u64::from(key), mmd.get(&key).copied().unwrap_or(0));
            }
            if addr == xgmac + 0x3000 && write.is_none() {
                reads += 1;
                if reads >= settle {
                    regs.entry(addr).and_modify(|v| *v &= !1);
                }
            }
        };
        (Model { regs: HashMap::new(), hook, delays_us: 0 }, [window(xgmac, 0x10000), window(xpcs, 0x10000)])
    }

    #[test]
    fn amd_xgbe_resets_phy_disables_autoneg_and_soft_resets_the_mac() {
        let (mut model, regions) = xgbe(3);
        AmdXgbe.reset(&mut model, &regions).unwrap();
        let mmd = |key: u64| model.regs.get(&(0xdead_0000 + key)).copied().unwrap_or(0);
        assert_eq!(mmd(0x3_0000) & 0x8000, 0, "PHY reset completed");
        assert_eq!(mmd(0x7_0000), 0x0200, "auto-negotiation disabled, other bits kept");
        assert_eq!(mmd(0x7_8001), 0, "AN interrupts masked");
        assert_eq!(mmd(0x7_8002), 0, "AN interrupt status cleared");
        assert_eq!(model.regs[&(0xe090_0000 + 0x3000)] & 1, 0, "MAC software reset completed");
        assert!(model.delays_us >= 20_000 + 10, "waited as the kernel does: {}", model.delays_us);
    }

    #[test]
    fn amd_xgbe_phy_reset_that_never_completes_is_a_timeout_naming_the_register() {
        let (mut model, regions) = xgbe(u32::MAX);
        let err = AmdXgbe.reset(&mut model, &regions).unwrap_err();
        assert!(
            matches!(&err, HandlerError::Timeout { register, .. } if register.contains("MDIO_CTRL1")),
            "{err}"
        );
        assert_eq!(model.delays_us, 50 * 20_000, "50 polls of 20 ms");
    }

    #[test]
    fn amd_xgbe_needs_its_xpcs_region() {
        let err = AmdXgbe.reset(&mut Trace::new(), &[window(0x1000, 0x10000)]).unwrap_err();
        assert!(matches!(err, HandlerError::MissingRegion { index: 1, available: 1, .. }));
    }

    /// FlexRM rings at 0x10000 strides; `present` rings answer RING_VER. A flush request sets
    /// FLUSH_DONE after `settle` reads, clearing RING_CONTROL clears it likewise.
    fn flexrm(present: &[u64], settle: u32) -> Model<impl Hook> {
        let base = 0x6780_0000u64;
        let mut regs = HashMap::new();
        for ring in present {
            regs.insert(base + ring * 0x10000, RING_VER_MAGIC);
            regs.insert(base + ring * 0x10000 + 0x34, 0x1); // active
        }
        let mut pending: HashMap<u64, (u32, bool)> = HashMap::new();
        let hook = move |regs: &mut HashMap<u64, u32>, addr: u64, write: Option<u32>| {
            let offset = (addr - base) % 0x10000;
            let ring_base = addr - offset;
            match (offset, write) {
                (0x34, Some(v)) => {
                    pending.insert(ring_base, (0, v & (1 << 5) != 0));
                }
                (0x38, None) => {
                    if let Some((count, flush)) = pending.get_mut(&ring_base) {
                        *count += 1;
                        if *count >= settle {
                            regs.insert(addr, u32::from(*flush));
                        }
                    }
                }
                _ => {}
            }
        };
        Model { regs, hook, delays_us: 0 }
    }

    #[test]
    fn flexrm_flushes_every_present_ring_and_skips_absent_ones() {
        let mut model = flexrm(&[0, 2], 3);
        FlexRm.reset(&mut model, &[window(0x6780_0000, 0x40000)]).unwrap();
        for ring in [0u64, 2] {
            let b = 0x6780_0000 + ring * 0x10000;
            assert_eq!(model.regs[&(b + 0x34)], 0, "ring {ring} left inactive");
            assert_eq!(model.regs[&(b + 0x38)], 0, "ring {ring} flush state cleared");
        }
        assert!(!model.regs.contains_key(&(0x6781_0000 + 0x34)), "absent ring untouched");
    }

    #[test]
    fn flexrm_flush_that_never_completes_times_out_after_one_second_naming_the_ring() {
        let mut model = flexrm(&[1], u32::MAX);
        let err = FlexRm.reset(&mut model, &[window(0x6780_0000, 0x20000)]).unwrap_err();
        assert!(
            matches!(&err, HandlerError::Timeout { register, .. } if register == "ring 0 RING_FLUSH_DONE"),
            "{err}"
        );
        assert_eq!(model.delays_us, 1000 * 1000);
    }

    #[test]
    fn handlers_are_found_by_first_compatible_only_for_the_three() {
        assert!(handler_for("calxeda,hb-xgmac").is_some());
        assert!(handler_for("amd,xgbe-seattle-v1a").is_some());
        assert!(handler_for("brcm,iproc-flexrm-mbox").is_some());
        assert!(handler_for("renesas,etheravb-r8a774a1").is_none());
    }
}
