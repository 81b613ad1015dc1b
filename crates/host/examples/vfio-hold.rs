//! A VMM stand-in: opens a platform device through VFIO exactly as a VMM does (container, group,
//! `VFIO_GROUP_GET_DEVICE_FD`, which makes vfio-platform reset it on first open) and holds it
//! until killed. The real-kernel test kills it with SIGKILL under `platreset host guard` to see
//! that the guard's steps run once, after the kernel has released the device.
//!
//! ```text
//! vfio-hold DEVICE        # e.g. a000000.virtio_mmio, already bound to vfio-platform
//! ```
//!
//! Prints `holding DEVICE (GROUP FILE)` once the device is open, then sleeps forever.

use std::path::Path;
use std::process::ExitCode;

use platreset_host::discover::read_device;
use platreset_host::sysfs::SysfsRoot;
use platreset_host::vfio::{group_file, Container, Group};

fn hold(name: &str) -> Result<(), String> {
    let root = SysfsRoot::default();
    let device = read_device(&root, name).map_err(|e| e.to_string())?;
    let group = device.iommu_group.ok_or_else(|| format!("{name} has no IOMMU group"))?;
    let group_name = std::fs::read_to_string(format!("/sys/kernel/iommu_groups/{group}/name")).ok();
    let file = group_file(group, group_name.as_deref().map(str::trim));
    let container =
        Container::open(Path::new(platreset_host::vfio::DEFAULT_CONTAINER)).map_err(|e| e.to_string())?;
    let group = Group::open(&container, &file).map_err(|e| e.to_string())?;
    let _device = group.device(name).map_err(|e| e.to_string())?;
    println!("holding {name} ({})", file.display());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(name), None) = (args.next(), args.next()) else {
        eprintln!("usage: vfio-hold DEVICE");
        return ExitCode::from(2);
    };
    match hold(&name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vfio-hold: {e}");
            ExitCode::FAILURE
        }
    }
}
