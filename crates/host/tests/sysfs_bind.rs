//! Discovery and the bind transaction against a generated sysfs tree driven by the fake kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use platreset_host::bind::{self, BindError, Step};
use platreset_host::discover;
use platreset_host::fake::{FakeDevice, FakeSpec, FakeSysfs};
use platreset_host::sysfs::{HostError, LoggingWriter, SysfsRoot, Writer};
use rustix::io::Errno;

/// A fresh, empty directory per test case.
fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("host-sysfs-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An Ethernet and a DMA controller alone in their groups, an I2C and SPI controller sharing
/// group 3, and a timer with no group and no DT node; vfio-platform is loaded.
fn spec() -> FakeSpec {
    FakeSpec {
        devices: vec![
            FakeDevice::new("1000.ethernet")
                .driver("fake-eth")
                .group(1)
                .of_node("/soc/ethernet@1000", &["vendor,eth-v2", "vendor,eth"]),
            FakeDevice::new("2000.dma").driver("fake-dma").group(2).of_node("/soc/dma@2000", &["vendor,dma"]),
            FakeDevice::new("3000.i2c").driver("fake-i2c").group(3).of_node("/soc/i2c@3000", &["vendor,i2c"]),
            FakeDevice::new("3100.spi").driver("fake-spi").group(3).of_node("/soc/spi@3100", &["vendor,spi"]),
            FakeDevice::new("4000.timer").driver("fake-timer"),
        ],
        extra_drivers: vec!["vfio-platform".to_string()],
    }
}

fn tree(name: &str) -> FakeSysfs {
    FakeSysfs::build(&scratch(name), &spec()).unwrap()
}

fn assert_same(before: &platreset_host::fake::Snapshot, fake: &FakeSysfs) {
    let after = fake.snapshot().unwrap();
    assert!(before == &after, "tree changed:\n{}", before.diff(&after).join("\n"));
}

fn failure(err: BindError) -> bind::Failure {
    match err {
        BindError::Failed(failure) => *failure,
        other => panic!("expected a failed transaction, got {other}"),
    }
}

#[test]
fn list_shows_dt_path_compatible_driver_and_group_members() {
    let fake = tree("list");
    let listing = discover::list(&fake.sysfs_root()).unwrap();
    assert!(listing.odd.is_empty(), "{:?}", listing.odd);
    let devices = listing.devices;
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["1000.ethernet", "2000.dma", "3000.i2c", "3100.spi", "4000.timer"]);

    let eth = &devices[0];
    assert_eq!(eth.dt_path.as_deref(), Some("/soc/ethernet@1000"));
    assert_eq!(eth.compatible, ["vendor,eth-v2", "vendor,eth"]);
    assert_eq!(eth.driver.as_deref(), Some("fake-eth"));
    assert_eq!(eth.driver_override, None);
    assert_eq!(eth.iommu_group, Some(1));
    assert_eq!(&eth.group_members[..], ["1000.ethernet"]);

    let i2c = &devices[2];
    assert_eq!(i2c.iommu_group, Some(3));
    assert_eq!(&i2c.group_members[..], ["3000.i2c", "3100.spi"]);

    let timer = &devices[4];
    assert_eq!((timer.dt_path.as_deref(), timer.iommu_group), (None, None));
    assert!(timer.compatible.is_empty() && timer.group_members.is_empty());
}

#[test]
fn odd_bus_entries_are_set_aside_by_name_and_the_others_listed() {
    use std::os::unix::ffi::OsStrExt;
    let fake = tree("odd");
    let bus = fake.root().join("sys/bus/platform/devices");
    let eth = std::fs::read_link(bus.join("1000.ethernet")).unwrap();
    // A name that is not one plain component, a name that is not UTF-8 (with an escape byte a
    // terminal would obey), and a device without driver_override.
    symlink(&eth, bus.join("a..b")).unwrap();
    symlink(&eth, bus.join(std::ffi::OsStr::from_bytes(b"bad\x1b[2J\xff"))).unwrap();
    let dma = fake.root().join("sys/bus/platform/devices/2000.dma/driver_override").canonicalize().unwrap();
    std::fs::remove_file(dma).unwrap();
    let listing = discover::list(&fake.sysfs_root()).unwrap();
    let names: Vec<&str> = listing.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["1000.ethernet", "3000.i2c", "3100.spi", "4000.timer"]);
    let odd: Vec<(&str, String)> =
        listing.odd.iter().map(|o| (o.name.as_str(), o.error.to_string())).collect();
    assert_eq!(odd.len(), 3, "{odd:?}");
    assert_eq!(odd[0].0, "\"bad\\u{1b}[2J\\xFF\"");
    assert!(odd[0].1.contains("is not UTF-8"), "{odd:?}");
    assert_eq!(odd[1].0, "2000.dma");
    assert!(odd[1].1.contains("driver_override"), "{odd:?}");
    assert_eq!(odd[2].0, "a..b");
    assert!(!odd.iter().any(|(name, _)| name.contains('\x1b')), "no raw escape byte in a name: {odd:?}");
}

#[test]
fn list_on_a_root_without_platform_devices_explains() {
    let dir = scratch("empty");
    let err = discover::list(&SysfsRoot::new(&dir)).unwrap_err();
    assert!(matches!(err, HostError::NoPlatformBus { .. }));
    let text = err.to_string();
    assert!(text.contains("nothing to list") && text.contains("sys/bus/platform/devices"), "{text}");
}

#[test]
fn real_root_status_speaks_of_the_platform_bus_and_vfio_platform() {
    let text = discover::real_root_status();
    assert!(text.contains("/sys/bus/platform/devices") && text.contains("vfio-platform"), "{text}");
}

#[test]
fn bind_succeeds_on_a_device_alone_in_its_group() {
    let fake = tree("bind-ok");
    let root = fake.sysfs_root();
    let plan = bind::plan_bind(&root, &["1000.ethernet"]).unwrap();
    let dry: Vec<String> = plan.writes().unwrap().iter().map(ToString::to_string).collect();
    assert_eq!(dry.len(), 3);
    assert!(
        dry[0].starts_with("echo \"vfio-platform\" > ") && dry[0].ends_with("1000.ethernet/driver_override")
    );
    assert!(dry[1].ends_with("drivers/fake-eth/unbind"), "{}", dry[1]);
    assert!(dry[2].ends_with("sys/bus/platform/drivers_probe"), "{}", dry[2]);

    let mut writer = LoggingWriter::new(fake.kernel());
    let report = bind::execute(&plan, &mut writer).unwrap();
    assert_eq!(report.bound.len(), 1);
    assert_eq!(report.bound[0].iommu_group, 1);
    assert_eq!(report.bound[0].previous_driver.as_deref(), Some("fake-eth"));
    assert_eq!(root.driver("1000.ethernet").unwrap().as_deref(), Some("vfio-platform"));
    assert_eq!(root.driver_override("1000.ethernet").unwrap().as_deref(), Some("vfio-platform"));
    // Every write is in the log, and they are exactly the dry-run's.
    let logged: Vec<PathBuf> = writer.log().iter().map(|r| r.path.clone()).collect();
    let planned: Vec<PathBuf> = plan.writes().unwrap().into_iter().map(|w| w.path).collect();
    assert_eq!(logged, planned);
}

#[test]
fn a_group_sibling_on_a_host_driver_is_refused_by_name_and_nothing_is_written() {
    let fake = tree("sibling");
    let before = fake.snapshot().unwrap();
    let err = bind::plan_bind(&fake.sysfs_root(), &["3000.i2c"]).unwrap_err();
    match &err {
        BindError::GroupSiblingOnHostDriver { sibling, driver, group, .. } => {
            assert_eq!((sibling.as_str(), driver.as_str(), *group), ("3100.spi", "fake-spi", 3));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("3100.spi"));
    assert_same(&before, &fake);

    // Naming the whole group works.
    let plan = bind::plan_bind(&fake.sysfs_root(), &["3000.i2c", "3100.spi"]).unwrap();
    let report = bind::execute(&plan, &mut fake.kernel()).unwrap();
    assert_eq!(report.bound.len(), 2);
}

#[test]
fn every_failing_write_leaves_the_tree_exactly_as_it_was_and_names_the_step() {
    let devices = ["1000.ethernet", "2000.dma"];
    let probe = tree("steps-probe");
    let writes = bind::plan_bind(&probe.sysfs_root(), &devices).unwrap().writes().unwrap();
    assert_eq!(writes.len(), 6, "override, unbind and probe for each device");
    for (n, mirrored) in writes.iter().enumerate() {
        for errno in [Errno::IO, Errno::ACCESS] {
            let fake = tree("steps");
            let before = fake.snapshot().unwrap();
            let plan = bind::plan_bind(&fake.sysfs_root(), &devices).unwrap();
            // The same step in this tree (the paths differ from the probe tree's by the root).
            let planned = &plan.writes().unwrap()[n];
            assert_eq!(planned.path.strip_prefix(fake.root()), mirrored.path.strip_prefix(probe.root()));
            let mut kernel = fake.kernel();
            kernel.fail_nth_write(n, errno);
            let mut writer = LoggingWriter::new(kernel);
            let failure = failure(bind::execute(&plan, &mut writer).unwrap_err());
            assert_eq!(failure.step, planned.step, "write {n}");
            assert_eq!(failure.device, planned.device, "write {n}");
            assert!(failure.not_restored.is_empty(), "write {n}: {failure}");
            assert!(failure.restore.iter().all(|s| s.error.is_none()), "write {n}: {failure}");
            let text = failure.to_string();
            assert!(text.contains(&planned.step.to_string()) && text.contains(&planned.device), "{text}");
            if errno == Errno::ACCESS {
                assert!(
                    text.contains("root") && text.contains(&planned.path.display().to_string()),
                    "{text}"
                );
            }
            assert_same(&before, &fake);
        }
    }
}

#[test]
fn vfio_platform_refusing_the_device_fails_the_driver_check_and_restores_everything() {
    // The timer has no IOMMU group, so vfio-platform's probe fails; drivers_probe still
    // "succeeds", as in the kernel, and only the check notices.
    let fake = tree("check-driver");
    let before = fake.snapshot().unwrap();
    let plan = bind::plan_bind(&fake.sysfs_root(), &["1000.ethernet", "4000.timer"]).unwrap();
    let failure = failure(bind::execute(&plan, &mut fake.kernel()).unwrap_err());
    assert_eq!((failure.device.as_str(), &failure.step), ("4000.timer", &Step::CheckDriver));
    assert!(failure.cause.contains("unbound"), "{}", failure.cause);
    assert!(failure.not_restored.is_empty(), "{failure}");
    assert_same(&before, &fake);
}

#[test]
fn a_device_bound_without_an_iommu_group_fails_the_group_check_and_is_restored() {
    let fake = tree("check-group");
    let before = fake.snapshot().unwrap();
    let plan = bind::plan_bind(&fake.sysfs_root(), &["4000.timer"]).unwrap();
    let mut kernel = fake.kernel();
    kernel.vfio_binds_without_group();
    let failure = failure(bind::execute(&plan, &mut kernel).unwrap_err());
    assert_eq!(failure.step, Step::CheckGroup);
    assert!(failure.restore.iter().any(|s| s.action == "unbind from vfio-platform"), "{failure}");
    assert_same(&before, &fake);
}

#[test]
fn a_host_driver_that_refuses_to_rebind_is_reported_as_not_restored() {
    let fake = tree("no-rebind");
    let plan = bind::plan_bind(&fake.sysfs_root(), &["1000.ethernet"]).unwrap();
    let mut kernel = fake.kernel();
    kernel.refuse_probe("vfio-platform");
    kernel.refuse_probe("fake-eth");
    let failure = failure(bind::execute(&plan, &mut kernel).unwrap_err());
    assert_eq!(failure.step, Step::CheckDriver);
    let bind_step = failure.restore.iter().find(|s| s.action == "bind to fake-eth").unwrap();
    assert!(bind_step.error.is_some());
    assert_eq!(failure.not_restored.len(), 1);
    assert!(failure.to_string().contains("NOT RESTORED: 1000.ethernet"), "{failure}");
}

#[test]
fn a_recorded_override_is_written_back_on_failure() {
    let mut with_override = spec();
    with_override.devices[1] =
        FakeDevice::new("2000.dma").driver("fake-dma").group(2).driver_override("fake-dma");
    let fake = FakeSysfs::build(&scratch("recorded-override"), &with_override).unwrap();
    let before = fake.snapshot().unwrap();
    let plan = bind::plan_bind(&fake.sysfs_root(), &["2000.dma"]).unwrap();
    let mut kernel = fake.kernel();
    kernel.fail_on("drivers_probe", Errno::IO);
    let failure = failure(bind::execute(&plan, &mut kernel).unwrap_err());
    assert_eq!(failure.step, Step::Probe);
    assert_same(&before, &fake);
}

#[test]
fn unbind_restores_the_host_driver_and_clears_the_override() {
    let fake = tree("unbind");
    let before = fake.snapshot().unwrap();
    let root = fake.sysfs_root();
    let plan = bind::plan_bind(&root, &["2000.dma"]).unwrap();
    let mut writer = LoggingWriter::new(fake.kernel());
    bind::execute(&plan, &mut writer).unwrap();
    assert_eq!(root.driver("2000.dma").unwrap().as_deref(), Some("vfio-platform"));

    let report = bind::unbind(&root, "2000.dma", &mut writer).unwrap();
    assert_eq!(report.previous_driver.as_deref(), Some("vfio-platform"));
    assert_eq!(report.driver.as_deref(), Some("fake-dma"));
    assert_eq!(root.driver_override("2000.dma").unwrap(), None);
    let clear = writer
        .log()
        .iter()
        .find(|r| r.path.ends_with("2000.dma/driver_override") && r.bytes != b"vfio-platform\n");
    assert_eq!(clear.unwrap().bytes, b"\n");
    assert_same(&before, &fake);
}

#[test]
fn driver_override_is_cleared_by_a_newline_and_not_by_an_empty_write() {
    let fake = tree("override");
    let root = fake.sysfs_root();
    let path = root.device_attr("1000.ethernet", "driver_override").unwrap();
    let mut kernel = fake.kernel();
    kernel.write(&root, &path, b"vfio-platform\n").unwrap();
    assert_eq!(root.driver_override("1000.ethernet").unwrap().as_deref(), Some("vfio-platform"));
    kernel.write(&root, &path, b"").unwrap();
    assert_eq!(root.driver_override("1000.ethernet").unwrap().as_deref(), Some("vfio-platform"));
    kernel.write(&root, &path, b"\n").unwrap();
    assert_eq!(root.driver_override("1000.ethernet").unwrap(), None);
}

#[test]
fn hostile_names_are_rejected_before_any_path_is_built() {
    let fake = tree("hostile");
    let before = fake.snapshot().unwrap();
    let root = fake.sysfs_root();
    for name in ["../x", "a/b", "", "..", "x\0y"] {
        let err = bind::plan_bind(&root, &[name]).unwrap_err();
        assert!(matches!(err, BindError::Host(HostError::InvalidName { .. })), "{name:?}: {err}");
        assert!(err.to_string().contains(&format!("{name:?}")), "{err}");
        let err = bind::unbind(&root, name, &mut fake.kernel()).unwrap_err();
        assert!(matches!(err, BindError::Host(HostError::InvalidName { .. })), "{name:?}: {err}");
        assert!(bind::persist(fake.root(), name).is_err());
    }
    assert!(matches!(bind::plan_bind(&root, &["9999.nothing"]).unwrap_err(), BindError::NoSuchDevice { .. }));
    assert_same(&before, &fake);
}

#[test]
fn a_symlink_escaping_the_root_is_refused() {
    let fake = tree("escape");
    let outside = scratch("outside");
    std::fs::create_dir_all(outside.join("evil-driver")).unwrap();
    std::fs::write(outside.join("driver_override"), b"(null)\n").unwrap();
    let root = fake.sysfs_root();

    // A device whose own directory lies outside the root.
    symlink(&outside, fake.root().join("sys/bus/platform/devices/evil")).unwrap();
    assert!(matches!(root.driver_override("evil").unwrap_err(), HostError::Escape { .. }));
    // Listed aside, with the others: nothing outside the root was read.
    let listing = discover::list(&root).unwrap();
    assert_eq!(listing.odd.len(), 1);
    assert_eq!(listing.odd[0].name, "evil");
    assert!(matches!(listing.odd[0].error, HostError::Escape { .. }), "{}", listing.odd[0].error);
    assert_eq!(listing.devices.len(), 5);
    assert!(matches!(
        bind::plan_bind(&root, &["evil"]).unwrap_err(),
        BindError::Host(HostError::Escape { .. })
    ));
    std::fs::remove_file(fake.root().join("sys/bus/platform/devices/evil")).unwrap();

    // A driver link that leaves the root.
    let driver_link = fake.root().join("sys/devices/platform/1000.ethernet/driver");
    std::fs::remove_file(&driver_link).unwrap();
    symlink(outside.join("evil-driver"), &driver_link).unwrap();
    let err = root.driver("1000.ethernet").unwrap_err();
    assert!(matches!(err, HostError::Escape { .. }));
    assert!(err.to_string().contains("outside the sysfs root"), "{err}");
}

#[test]
fn persist_writes_a_driverctl_override_file() {
    let etc_root = scratch("persist");
    let path = bind::persist(&etc_root, "1000.ethernet").unwrap();
    assert_eq!(path, etc_root.join("etc/driverctl.d/platform-1000.ethernet"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "vfio-platform\n");
}

#[test]
fn planning_writes_nothing_and_a_device_already_on_vfio_needs_no_writes() {
    let fake = tree("plan-only");
    let before = fake.snapshot().unwrap();
    let root = fake.sysfs_root();
    let plan = bind::plan_bind(&root, &["1000.ethernet", "2000.dma"]).unwrap();
    assert_eq!(plan.writes().unwrap().len(), 6);
    assert_same(&before, &fake);

    bind::execute(&bind::plan_bind(&root, &["1000.ethernet"]).unwrap(), &mut fake.kernel()).unwrap();
    let again = bind::plan_bind(&root, &["1000.ethernet"]).unwrap();
    assert!(again.writes().unwrap().is_empty());
    assert_eq!(bind::execute(&again, &mut fake.kernel()).unwrap().bound.len(), 1);
}

#[test]
fn listing_the_real_root_works_or_explains_and_writes_nothing() {
    // Read-only: on this machine (no vfio-platform) it must list or say why there is nothing.
    match discover::list(&SysfsRoot::default()) {
        Ok(listing) => {
            for d in &listing.devices {
                println!("{} driver={:?} group={:?} dt={:?}", d.name, d.driver, d.iommu_group, d.dt_path);
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(!text.is_empty());
            println!("{text}");
        }
    }
    println!("{}", discover::real_root_status());
}

#[test]
fn the_real_writer_never_creates_a_file_and_the_log_keeps_failures() {
    let dir = scratch("real-writer");
    let attr = dir.join("driver_override");
    std::fs::write(&attr, b"(null)\n").unwrap();
    let root = SysfsRoot::new(&dir);
    let mut writer = LoggingWriter::new(platreset_host::sysfs::RealWriter);
    writer.write(&root, &attr, b"vfio-platform\n").unwrap();
    assert_eq!(std::fs::read(&attr).unwrap(), b"vfio-platform\n");
    assert!(writer.write(&root, &dir.join("missing"), b"x").is_err());
    assert!(!dir.join("missing").exists());
    assert_eq!(writer.log().len(), 2);
    assert!(writer.log()[1].error.is_some());
}
