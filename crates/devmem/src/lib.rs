//! The `/dev/mem` backend of [`Mmio`]: the only code in platreset that writes hardware
//! registers directly, and one of the two places with `unsafe` (volatile access to mapped
//! registers, each block justified; the other is `platreset-host`'s VFIO ioctls).
//!
//! Owns: mapping exactly the pages of the register windows it is opened for (nothing else of
//! physical memory is reachable through it), refusing any access outside those windows or not
//! 32-bit aligned, and serialising platreset processes with an exclusive lock file. Its
//! record is [`platreset_reset::Recorder`]'s, wrapped around it by the caller like any backend:
//! a refused access returns an error before it reaches the device, so that record holds exactly
//! the writes that really happened. Must not: decide whether an access is wise (callers
//! gate it behind `--write-hardware` and the policy), or be used by anything but the CLI.
//!
//! Tests use a temporary file in place of `/dev/mem`: the mapping code is the same.

#![deny(missing_docs)]

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memmap2::{MmapOptions, MmapRaw};
use platreset_reset::{Mmio, MmioError, Reg, Window};
use thiserror::Error;

/// Why the backend could not be opened.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DevMemError {
    /// The memory device (or its stand-in) cannot be opened.
    #[error("cannot open {}: {source} (opening /dev/mem needs root, CAP_SYS_RAWIO, and a kernel without CONFIG_STRICT_DEVMEM restrictions on these addresses)", path.display())]
    Open {
        /// Path.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Another platreset process holds the lock.
    #[error("another platreset process holds {} (only one may write registers at a time)", path.display())]
    Locked {
        /// Lock file.
        path: PathBuf,
    },
    /// The lock file cannot be created or locked.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// Lock file.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// A window cannot be mapped.
    #[error("cannot map {window} of {}: {source}", path.display())]
    Map {
        /// Path.
        path: PathBuf,
        /// The window.
        window: Window,
        /// OS error.
        source: std::io::Error,
    },
    /// A window is empty or wraps around the address space.
    #[error("window {window} is empty or out of range")]
    BadWindow {
        /// The window.
        window: Window,
    },
}

struct Mapping {
    window: Window,
    map: MmapRaw,
    // Physical address of the mapping's first byte (the window's page).
    map_base: u64,
}

/// Register access through mappings of `/dev/mem`.
pub struct DevMem {
    mappings: Vec<Mapping>,
    // Held for the backend's lifetime: dropping it releases the lock.
    _lock: File,
}

fn page_size() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions; it only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).ok().filter(|&s| s > 0).unwrap_or(4096)
}

impl DevMem {
    /// Opens `memory` (normally `/dev/mem`) for exactly `windows`, after taking `lock`
    /// exclusively (failing at once if another process has it).
    pub fn open(memory: &Path, lock: &Path, windows: &[Window]) -> Result<DevMem, DevMemError> {
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(lock)
            .map_err(|source| DevMemError::Lock { path: lock.to_path_buf(), source })?;
        match lock_file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(DevMemError::Locked { path: lock.to_path_buf() })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(DevMemError::Lock { path: lock.to_path_buf(), source })
            }
        }
        // O_SYNC: on /dev/mem this makes the mapping uncached, as register access needs.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_SYNC)
            .open(memory)
            .map_err(|source| DevMemError::Open { path: memory.to_path_buf(), source })?;
        let page = page_size();
        let mut mappings = Vec::with_capacity(windows.len());
        for &window in windows {
            let start = window.base.get() & !(page - 1);
            let end = window
                .base
                .get()
                .checked_add(window.size)
                .filter(|_| window.size > 0)
                .and_then(|e| e.checked_add(page - 1))
                .map(|e| e & !(page - 1))
                .ok_or(DevMemError::BadWindow { window })?;
            let len = usize::try_from(end - start).map_err(|_| DevMemError::BadWindow { window })?;
            let map = MmapOptions::new()
                .offset(start)
                .len(len)
                .map_raw(&file)
                .map_err(|source| DevMemError::Map { path: memory.to_path_buf(), window, source })?;
            mappings.push(Mapping { window, map, map_base: start });
        }
        Ok(DevMem { mappings, _lock: lock_file })
    }

    /// The mapped address of a register, if it lies in a window and is aligned.
    fn locate(&self, reg: &Reg) -> Result<*mut u32, MmioError> {
        let outside = || MmioError::OutOfWindow { addr: reg.addr, name: reg.name.to_string() };
        if !reg.addr.get().is_multiple_of(4) {
            return Err(MmioError::Bus {
                addr: reg.addr,
                name: reg.name.to_string(),
                why: "not 32-bit aligned".into(),
            });
        }
        let mapping = self.mappings.iter().find(|m| m.window.contains32(reg.addr)).ok_or_else(outside)?;
        let offset = usize::try_from(reg.addr.get() - mapping.map_base).map_err(|_| outside())?;
        if offset + 4 > mapping.map.len() {
            return Err(outside());
        }
        // The pointer stays inside the mapping: offset + 4 <= len was checked just above.
        Ok(mapping.map.as_mut_ptr().wrapping_add(offset).cast::<u32>())
    }
}

impl Mmio for DevMem {
    fn read32(&mut self, reg: &Reg) -> Result<u32, MmioError> {
        let ptr = self.locate(reg)?;
        // SAFETY: `ptr` points at 4 bytes inside a live mapping owned by `self` (checked by
        // `locate`), aligned to 4 (the address is, and the mapping starts on a page); volatile so
        // that every access reaches the device exactly once, in program order.
        let value = u32::from_le(unsafe { std::ptr::read_volatile(ptr) });
        Ok(value)
    }

    fn write32(&mut self, reg: &Reg, value: u32) -> Result<(), MmioError> {
        let ptr = self.locate(reg)?;
        // SAFETY: as in `read32`; the mapping is writable (opened read-write, MAP_SHARED).
        unsafe { std::ptr::write_volatile(ptr, value.to_le()) };
        Ok(())
    }

    fn delay_us(&mut self, us: u32) -> Result<(), MmioError> {
        // A minimum, like the kernel's udelay: spin for short waits, sleep for long ones.
        let until = Instant::now() + Duration::from_micros(u64::from(us));
        if us >= 1000 {
            std::thread::sleep(Duration::from_micros(u64::from(us)));
        }
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        Ok(())
    }

    fn poll32(&mut self, reg: &Reg, mask: u32, expect: u32, timeout_us: u32) -> Result<u32, MmioError> {
        let ptr = self.locate(reg)?;
        let deadline = Instant::now() + Duration::from_micros(u64::from(timeout_us));
        loop {
            // SAFETY: as in `read32`.
            let value = u32::from_le(unsafe { std::ptr::read_volatile(ptr) });
            if value & mask == expect {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(MmioError::timeout(reg, mask, expect, timeout_us, value));
            }
            std::hint::spin_loop();
        }
    }
}

/// The default lock file.
pub const DEFAULT_LOCK: &str = "/run/lock/platreset.lock";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use platreset_reset::{MmioOp, PhysAddr, Recorder};

    struct Stand {
        dir: PathBuf,
    }

    impl Stand {
        fn new(tag: &str) -> Stand {
            let dir = std::env::temp_dir().join(format!("platreset-devmem-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            // A 64 KiB "physical memory" file.
            std::fs::write(dir.join("mem"), vec![0u8; 0x10000]).unwrap();
            Stand { dir }
        }
        fn mem(&self) -> PathBuf {
            self.dir.join("mem")
        }
        fn lock(&self) -> PathBuf {
            self.dir.join("lock")
        }
        fn bytes(&self) -> Vec<u8> {
            std::fs::read(self.mem()).unwrap()
        }
    }

    impl Drop for Stand {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn reg(addr: u64) -> Reg {
        Reg { addr: PhysAddr::new(addr), name: "R".into() }
    }

    const WINDOW: Window = Window { base: PhysAddr::new(0x2010), size: 0x100 };

    #[test]
    fn writes_land_at_the_physical_offset_little_endian_and_reads_see_them() {
        let stand = Stand::new("rw");
        let mut mem = DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap();
        mem.write32(&reg(0x2014), 0x1234_5678).unwrap();
        assert_eq!(mem.read32(&reg(0x2014)).unwrap(), 0x1234_5678);
        drop(mem);
        let bytes = stand.bytes();
        assert_eq!(&bytes[0x2014..0x2018], &[0x78, 0x56, 0x34, 0x12]);
        assert!(bytes[..0x2014].iter().chain(&bytes[0x2018..]).all(|&b| b == 0), "nothing else touched");
    }

    #[test]
    fn addresses_outside_the_window_are_refused_even_on_the_same_page() {
        let stand = Stand::new("bounds");
        let mut mem = DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap();
        for addr in [0x2000, 0x200c, 0x2110, 0x210e, 0x9000] {
            let err = mem.write32(&reg(addr), 1).unwrap_err();
            assert!(matches!(err, MmioError::OutOfWindow { .. } | MmioError::Bus { .. }), "{addr:#x}: {err}");
        }
        assert!(mem.read32(&reg(0x210c)).is_ok(), "the last register of the window");
        assert!(matches!(mem.read32(&reg(0x2012)), Err(MmioError::Bus { .. })), "unaligned");
        assert!(stand.bytes().iter().all(|&b| b == 0));
    }

    #[test]
    fn a_second_process_is_refused_while_the_lock_is_held() {
        let stand = Stand::new("lock");
        let first = DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap();
        let err = DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).err().expect("locked");
        assert!(matches!(err, DevMemError::Locked { .. }), "{err}");
        drop(first);
        assert!(DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).is_ok(), "released on drop");
    }

    #[test]
    fn poll_returns_when_the_value_matches_and_times_out_naming_the_register() {
        let stand = Stand::new("poll");
        let mut mem = DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap();
        mem.write32(&reg(0x2020), 0x8).unwrap();
        assert_eq!(mem.poll32(&reg(0x2020), 0x8, 0x8, 10).unwrap(), 0x8);
        let err = mem.poll32(&reg(0x2020), 0x8, 0, 200).unwrap_err();
        assert!(matches!(err, MmioError::Timeout { last: 0x8, .. }), "{err}");
        assert!(err.to_string().contains("did not settle"), "{err}");
    }

    #[test]
    fn every_access_is_recorded_in_order_by_the_shared_recorder() {
        let stand = Stand::new("record");
        let mut mem = Recorder::over(DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap());
        mem.write32(&reg(0x2010), 1).unwrap();
        mem.delay_us(5).unwrap();
        mem.read32(&reg(0x2010)).unwrap();
        let ops = mem.take_ops();
        assert!(matches!(
            ops[..],
            [MmioOp::Write32 { .. }, MmioOp::DelayUs { us: 5 }, MmioOp::Read32 { value: 1, .. }]
        ));
    }

    #[test]
    fn a_refused_access_is_not_recorded_and_the_accesses_before_it_stay_recorded() {
        // perform() takes the record after each step, failed ones included: what was written
        // before a failure must still be there, and nothing that did not happen.
        let stand = Stand::new("record-error");
        let mut mem = Recorder::over(DevMem::open(&stand.mem(), &stand.lock(), &[WINDOW]).unwrap());
        mem.write32(&reg(0x2010), 7).unwrap();
        assert!(mem.write32(&reg(0x9000), 1).is_err());
        assert!(mem.poll32(&reg(0x2010), 0x8, 0x8, 50).is_err(), "bit 3 never sets");
        let ops = mem.take_ops();
        assert!(
            matches!(
                ops[..],
                [
                    MmioOp::Write32 { value: 7, .. },
                    MmioOp::Poll32 { mask: 0x8, expect: 0x8, timeout_us: 50, .. }
                ]
            ),
            "{ops:?}"
        );
        assert_eq!(&stand.bytes()[0x2010..0x2014], &[7, 0, 0, 0]);
    }

    #[test]
    fn a_missing_memory_device_is_a_clear_error() {
        let stand = Stand::new("missing");
        let err = DevMem::open(&stand.dir.join("nope"), &stand.lock(), &[WINDOW]).err().expect("fails");
        assert!(err.to_string().contains("nope") && err.to_string().contains("CAP_SYS_RAWIO"), "{err}");
    }
}
