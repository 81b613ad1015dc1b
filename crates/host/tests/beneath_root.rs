//! Every write and read stays beneath the sysfs root (issue 12, point 5): a symlink out of the
//! root in place of `driver_override`, a driver's `unbind`, `drivers_probe`, a driver
//! directory, `etc/driverctl.d` or the driverctl file is refused with the path named and the
//! file outside left as it was; a FIFO, a link to `/dev/zero` or a huge file in place of an
//! attribute is an error, never a hang or an unbounded read; and listing a group of 8,000
//! devices lists the group once.
//!
//! Each case runs with both resolvers: `openat2(RESOLVE_BENEATH)` (this kernel) and the
//! component-wise walk that kernels before 5.6 get.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;

use platreset_host::bind::{self, BindError, Step};
use platreset_host::discover;
use platreset_host::fake::{FakeDevice, FakeSpec, FakeSysfs};
use platreset_host::sysfs::{
    HostError, LoggingWriter, RealWriter, SysfsRoot, Writer, ATTRIBUTE_CAP, DT_PROPERTY_CAP,
};
use rustix::fs::{FileType, Mode, CWD};

/// A fresh, empty directory per test case.
fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("host-beneath-{}-{name}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const DEV: &str = "1000.ethernet";
const VICTIM: &[u8] = b"victim: must stay as it is\n";

/// One Ethernet controller on `fake-eth`, alone in IOMMU group 1, with a DT node; vfio-platform
/// is loaded.
fn tree(name: &str) -> FakeSysfs {
    let spec = FakeSpec {
        devices: vec![FakeDevice::new(DEV)
            .driver("fake-eth")
            .group(1)
            .of_node("/soc/ethernet@1000", &["vendor,eth"])],
        extra_drivers: vec!["vfio-platform".to_string()],
    };
    FakeSysfs::build(&scratch(name), &spec).unwrap()
}

/// The two ways a path is resolved beneath the root.
const RESOLVERS: [&str; 2] = ["openat2", "walk"];

/// A root over `dir` resolving by `resolver`: `openat2` (where the kernel has it) or the walk.
fn root_for(dir: &Path, resolver: &str) -> SysfsRoot {
    let root = SysfsRoot::new(dir);
    if resolver == "walk" {
        root.resolving_by_walk()
    } else {
        root
    }
}

/// A directory outside the root holding a `victim` file.
fn outside(name: &str) -> PathBuf {
    let dir = scratch(&format!("{name}-outside"));
    std::fs::write(dir.join("victim"), VICTIM).unwrap();
    dir
}

fn assert_victim_untouched(dir: &Path) {
    assert_eq!(std::fs::read(dir.join("victim")).unwrap(), VICTIM, "{} was written", dir.display());
}

/// `target` as a relative link text from the directory `from` (both absolute), climbing with
/// `..` as far as needed — the kind of link `RESOLVE_BENEATH` must catch climbing out.
fn relative_link(from: &Path, target: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut link = PathBuf::new();
    for _ in common..from.len() {
        link.push("..");
    }
    for part in &to[common..] {
        link.push(part);
    }
    link
}

/// Replaces `path` (a file or a directory) by a symlink whose text is `target`.
fn replace_by_link(path: &Path, target: &Path) {
    if path.is_dir() {
        std::fs::remove_dir_all(path).unwrap();
    } else {
        std::fs::remove_file(path).unwrap();
    }
    symlink(target, path).unwrap();
}

fn failure(err: BindError) -> bind::Failure {
    match err {
        BindError::Failed(failure) => *failure,
        other => panic!("expected a failed transaction, got {other}"),
    }
}

/// Binds the device with a plan made before `swap` changes the tree (so the write path, not
/// the planning reads, meets the planted link), with the real writer and with the fake kernel;
/// returns each failure.
fn bind_after(fake: &FakeSysfs, root: &SysfsRoot, swap: impl Fn()) -> Vec<bind::Failure> {
    let plan = bind::plan_bind(root, &[DEV]).unwrap();
    swap();
    let mut real = LoggingWriter::new(RealWriter);
    let mut kernel = LoggingWriter::new(fake.kernel());
    vec![
        failure(bind::execute(&plan, &mut real).unwrap_err()),
        failure(bind::execute(&plan, &mut kernel).unwrap_err()),
    ]
}

// --- The six writes --------------------------------------------------------------------------

#[test]
fn driver_override_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for link_kind in ["absolute", "relative"] {
        for resolver in RESOLVERS {
            let fake = tree("override");
            let root = root_for(fake.root(), resolver);
            let out = outside("override");
            let attr = fake.root().join("sys/devices/platform").join(DEV).join("driver_override");
            let target = match link_kind {
                "absolute" => out.join("victim"),
                _ => relative_link(attr.parent().unwrap(), &out.join("victim")),
            };
            let planned = root.device_attr(DEV, "driver_override").unwrap();
            for failure in bind_after(&fake, &root, || replace_by_link(&attr, &target)) {
                assert_eq!(failure.step, Step::SetOverride, "{resolver}/{link_kind}: {failure}");
                assert!(failure.cause.contains(&planned.display().to_string()), "{failure}");
                assert!(failure.cause.contains("not a regular file"), "{resolver}: {failure}");
            }
            // Unbinding writes driver_override first: refused the same way.
            let err = bind::unbind(&root, DEV, &mut RealWriter).unwrap_err();
            assert!(
                matches!(&err, BindError::UnbindFailed { cause: HostError::NotRegular { .. }, .. }),
                "{err}"
            );
            assert!(err.to_string().contains("driver_override"), "{err}");
            // And the planning read refuses it too.
            let err = root.driver_override(DEV).unwrap_err();
            assert!(matches!(err, HostError::NotRegular { kind: "symbolic link", .. }), "{err}");
            assert_victim_untouched(&out);
        }
    }
}

#[test]
fn a_drivers_unbind_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for resolver in RESOLVERS {
        let fake = tree("unbind");
        let root = root_for(fake.root(), resolver);
        let out = outside("unbind");
        let attr = fake.root().join("sys/bus/platform/drivers/fake-eth/unbind");
        let planned = root.driver_attr("fake-eth", "unbind").unwrap();
        for failure in bind_after(&fake, &root, || replace_by_link(&attr, &out.join("victim"))) {
            assert_eq!(failure.step, Step::Unbind { driver: "fake-eth".into() }, "{resolver}: {failure}");
            assert!(failure.cause.contains(&planned.display().to_string()), "{failure}");
            assert!(failure.cause.contains("symbolic link, not a regular file"), "{failure}");
        }
        assert_victim_untouched(&out);
    }
}

#[test]
fn drivers_probe_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for resolver in RESOLVERS {
        let fake = tree("drivers-probe");
        let root = root_for(fake.root(), resolver);
        let out = outside("drivers-probe");
        let attr = fake.root().join("sys/bus/platform/drivers_probe");
        let target = relative_link(attr.parent().unwrap(), &out.join("victim"));
        for failure in bind_after(&fake, &root, || replace_by_link(&attr, &target)) {
            assert_eq!(failure.step, Step::Probe, "{resolver}: {failure}");
            assert!(failure.cause.contains(&root.drivers_probe().display().to_string()), "{failure}");
            assert!(failure.cause.contains("not a regular file"), "{failure}");
        }
        let err = bind::unbind(&root, DEV, &mut LoggingWriter::new(RealWriter)).unwrap_err();
        assert!(err.to_string().contains("drivers_probe"), "{err}");
        assert_victim_untouched(&out);
    }
}

#[test]
fn a_driver_directory_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for link_kind in ["absolute", "relative"] {
        for resolver in RESOLVERS {
            let fake = tree("driver-dir");
            let root = root_for(fake.root(), resolver);
            let out = outside("driver-dir");
            // The planted driver directory, whose own `bind` and `unbind` are the victims.
            let evil = out.join("fake-eth");
            std::fs::create_dir_all(&evil).unwrap();
            std::fs::write(evil.join("unbind"), VICTIM).unwrap();
            std::fs::write(evil.join("bind"), VICTIM).unwrap();
            let dir = fake.root().join("sys/bus/platform/drivers/fake-eth");
            let target = match link_kind {
                "absolute" => evil.clone(),
                _ => relative_link(dir.parent().unwrap(), &evil),
            };
            let link = root.platform_drivers_dir().join("fake-eth");
            for failure in bind_after(&fake, &root, || replace_by_link(&dir, &target)) {
                let text = failure.to_string();
                assert_eq!(failure.step, Step::Unbind { driver: "fake-eth".into() }, "{resolver}: {text}");
                assert!(
                    failure.cause.contains(&format!("{} points to", link.display()))
                        && failure.cause.contains("outside the sysfs root"),
                    "{resolver}/{link_kind}: {text}"
                );
            }
            assert_victim_untouched(&out);
            assert_eq!(std::fs::read(evil.join("unbind")).unwrap(), VICTIM);
            assert_eq!(std::fs::read(evil.join("bind")).unwrap(), VICTIM);
        }
    }
}

#[test]
fn etc_driverctl_d_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for resolver in RESOLVERS {
        let etc_root = scratch("driverctl-dir");
        let root = root_for(&etc_root, resolver);
        let out = outside("driverctl-dir");
        std::fs::create_dir_all(etc_root.join("etc")).unwrap();
        symlink(&out, etc_root.join("etc/driverctl.d")).unwrap();
        let err = bind::persist_beneath(&root, DEV).unwrap_err();
        assert!(matches!(err, BindError::Host(HostError::Escape { .. })), "{resolver}: {err}");
        let text = err.to_string();
        assert!(text.contains(&etc_root.join("etc/driverctl.d").display().to_string()), "{text}");
        assert!(text.contains("outside the sysfs root"), "{text}");
        // Nothing appeared outside: no driverctl file, no temporary file.
        let names: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["victim"], "{resolver}");
        assert_victim_untouched(&out);

        // A relative link climbing out is refused as well.
        std::fs::remove_file(etc_root.join("etc/driverctl.d")).unwrap();
        symlink(relative_link(&etc_root.join("etc"), &out), etc_root.join("etc/driverctl.d")).unwrap();
        let err = bind::persist_beneath(&root, DEV).unwrap_err();
        assert!(matches!(err, BindError::Host(HostError::Escape { .. })), "{resolver}: {err}");
        assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    }
}

#[test]
fn the_driverctl_file_replaced_by_a_link_out_of_the_root_is_not_written_through() {
    for resolver in RESOLVERS {
        let etc_root = scratch("driverctl-file");
        let root = root_for(&etc_root, resolver);
        let out = outside("driverctl-file");
        let dir = etc_root.join("etc/driverctl.d");
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("platform-{DEV}"));
        symlink(out.join("victim"), &file).unwrap();
        let err = bind::persist_beneath(&root, DEV).unwrap_err();
        assert!(matches!(err, BindError::Host(HostError::NotRegular { kind: "symbolic link", .. })), "{err}");
        assert!(err.to_string().contains(&file.display().to_string()), "{err}");
        assert_victim_untouched(&out);
        // The link is left as it was and no temporary file is left behind.
        assert_eq!(std::fs::read_link(&file).unwrap(), out.join("victim"));
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "{resolver}");
    }
}

#[test]
fn persist_creates_the_directories_replaces_a_regular_file_and_leaves_no_temporary_file() {
    let etc_root = scratch("persist");
    let path = bind::persist(&etc_root, DEV).unwrap();
    assert_eq!(path, etc_root.join(format!("etc/driverctl.d/platform-{DEV}")));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "vfio-platform\n");
    std::fs::write(&path, "some-other-driver\n").unwrap();
    bind::persist(&etc_root, DEV).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "vfio-platform\n");
    assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
}

// --- Reads ----------------------------------------------------------------------------------

/// Runs `f` on another thread and waits at most a minute: a guard so a regression hangs one
/// test instead of the suite; the assertions are on the result.
fn guarded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60)).expect("the call blocked (a FIFO was opened or read?)")
}

fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    rustix::fs::mknodat(CWD, path, FileType::Fifo, Mode::from_raw_mode(0o600), 0).unwrap();
}

#[test]
fn a_fifo_in_place_of_driver_override_is_an_error_not_a_hang() {
    for resolver in RESOLVERS {
        let fake = tree("fifo");
        let root = root_for(fake.root(), resolver);
        let attr = fake.root().join("sys/devices/platform").join(DEV).join("driver_override");
        mkfifo(&attr);

        let reader = root.clone();
        let err = guarded(move || reader.driver_override(DEV)).unwrap_err();
        assert!(matches!(err, HostError::NotRegular { kind: "FIFO", .. }), "{resolver}: {err}");
        let text = err.to_string();
        assert!(text.contains("driver_override") && text.contains("not a regular file"), "{text}");

        // The listing sets the device aside, naming why, and lists the others.
        let lister = root.clone();
        let listing = guarded(move || discover::list(&lister)).unwrap();
        assert_eq!(listing.odd.len(), 1, "{resolver}");
        assert_eq!(listing.odd[0].name, DEV);
        assert!(matches!(listing.odd[0].error, HostError::NotRegular { .. }), "{}", listing.odd[0].error);
        assert!(listing.devices.iter().all(|d| d.name != DEV));
        let planner = root.clone();
        assert!(guarded(move || bind::plan_bind(&planner, &[DEV])).is_err());

        // Writing never blocks either (no reader: the open fails instead of waiting for one).
        let (writer_root, path) = (root.clone(), root.device_attr(DEV, "driver_override").unwrap());
        let err = guarded(move || RealWriter.write(&writer_root, &path, b"vfio-platform\n")).unwrap_err();
        assert!(err.to_string().contains("driver_override"), "{err}");
    }
}

#[test]
fn an_attribute_linked_to_dev_zero_is_refused_without_reading_it() {
    for resolver in RESOLVERS {
        let fake = tree("dev-zero");
        let root = root_for(fake.root(), resolver);
        let device = fake.root().join("sys/devices/platform").join(DEV);
        replace_by_link(&device.join("driver_override"), Path::new("/dev/zero"));
        let reader = root.clone();
        let err = guarded(move || reader.driver_override(DEV)).unwrap_err();
        assert!(matches!(err, HostError::NotRegular { kind: "symbolic link", .. }), "{resolver}: {err}");
        assert!(err.to_string().contains("driver_override"), "{err}");

        // A DT property read through of_node: the same.
        let compatible = fake.root().join("sys/firmware/devicetree/base/soc/ethernet@1000/compatible");
        replace_by_link(&compatible, Path::new("/dev/zero"));
        let reader = root.clone();
        let err = guarded(move || reader.compatible(DEV)).unwrap_err();
        assert!(matches!(err, HostError::NotRegular { .. }), "{resolver}: {err}");
        assert!(err.to_string().contains("compatible"), "{err}");

        // A relative link climbing to /dev/zero is no better.
        let hops = relative_link(&device, Path::new("/dev/zero"));
        replace_by_link(&device.join("driver_override"), &hops);
        let err = root.driver_override(DEV).unwrap_err();
        assert!(matches!(err, HostError::NotRegular { .. }), "{resolver}: {err}");
    }
}

#[test]
fn an_attribute_larger_than_its_cap_is_an_error_and_one_at_the_cap_is_read() {
    for resolver in RESOLVERS {
        let fake = tree("huge");
        let root = root_for(fake.root(), resolver);
        let attr = fake.root().join("sys/devices/platform").join(DEV).join("driver_override");

        let mut at_cap = vec![b'x'; ATTRIBUTE_CAP - 1];
        at_cap.push(b'\n');
        std::fs::write(&attr, &at_cap).unwrap();
        assert_eq!(root.driver_override(DEV).unwrap().map(|v| v.len()), Some(ATTRIBUTE_CAP - 1));

        std::fs::write(&attr, vec![b'x'; ATTRIBUTE_CAP + 1]).unwrap();
        let err = root.driver_override(DEV).unwrap_err();
        assert!(matches!(err, HostError::TooLarge { cap: ATTRIBUTE_CAP, .. }), "{resolver}: {err}");
        assert!(err.to_string().contains("driver_override"), "{err}");

        // Four sparse gigabytes: still one capped read, then the error.
        std::fs::File::options().write(true).open(&attr).unwrap().set_len(4 << 30).unwrap();
        assert!(matches!(root.driver_override(DEV).unwrap_err(), HostError::TooLarge { .. }));

        // A DT property has the larger cap.
        let compatible = fake.root().join("sys/firmware/devicetree/base/soc/ethernet@1000/compatible");
        std::fs::write(&compatible, vec![b'x'; ATTRIBUTE_CAP + 1]).unwrap();
        assert_eq!(root.compatible(DEV).unwrap()[0].len(), ATTRIBUTE_CAP + 1);
        std::fs::write(&compatible, vec![b'x'; DT_PROPERTY_CAP + 1]).unwrap();
        let err = root.compatible(DEV).unwrap_err();
        assert!(matches!(err, HostError::TooLarge { cap: DT_PROPERTY_CAP, .. }), "{resolver}: {err}");
    }
}

#[test]
fn an_absolute_link_is_refused_even_when_it_points_inside_the_root() {
    // Real sysfs links are relative; an absolute one is refused whatever it names, because
    // beneath the root it would name the host's `/`.
    for resolver in RESOLVERS {
        let fake = tree("absolute-inside");
        let root = root_for(fake.root(), resolver);
        let link = fake.root().join("sys/bus/platform/devices").join(DEV);
        replace_by_link(&link, &fake.root().join("sys/devices/platform").join(DEV));
        let err = root.driver(DEV).unwrap_err();
        assert!(matches!(err, HostError::Escape { .. }), "{resolver}: {err}");
        let err = root.driver_override(DEV).unwrap_err();
        assert!(matches!(err, HostError::Escape { .. }), "{resolver}: {err}");
        assert!(err.to_string().contains(&link.display().to_string()), "{err}");
    }
}

#[test]
fn relative_links_inside_the_root_are_followed_by_both_resolvers() {
    let fake = tree("inside");
    for resolver in RESOLVERS {
        let root = root_for(fake.root(), resolver);
        let device = discover::read_device(&root, DEV).unwrap();
        assert_eq!(device.driver.as_deref(), Some("fake-eth"), "{resolver}");
        assert_eq!(device.iommu_group, Some(1), "{resolver}");
        assert_eq!(device.dt_path.as_deref(), Some("/soc/ethernet@1000"), "{resolver}");
        assert_eq!(device.compatible, ["vendor,eth"], "{resolver}");
        assert_eq!(root.device_dir(DEV).unwrap(), root.root().join("sys/devices/platform").join(DEV));
    }
    // And a bind and unbind through them work end to end with the fake kernel.
    let fake = tree("inside-bind");
    let before = fake.snapshot().unwrap();
    for root in [fake.sysfs_root(), fake.sysfs_root().resolving_by_walk()] {
        let mut kernel = fake.kernel();
        bind::execute(&bind::plan_bind(&root, &[DEV]).unwrap(), &mut kernel).unwrap();
        assert_eq!(root.driver(DEV).unwrap().as_deref(), Some("vfio-platform"));
        bind::unbind(&root, DEV, &mut kernel).unwrap();
    }
    assert_eq!(before, fake.snapshot().unwrap());
}

// --- Linear listing -------------------------------------------------------------------------

#[test]
fn listing_an_iommu_group_of_8000_devices_lists_the_group_once() {
    const N: usize = 8000;
    let mut devices: Vec<FakeDevice> = (0..N)
        .map(|i| FakeDevice::new(&format!("{:08x}.dev", 0x1000_0000 + i)).driver("fake").group(7))
        .collect();
    // A second, small group and a device with none, so "once per group" is not "once".
    devices.push(FakeDevice::new("f0000000.dma").driver("fake-dma").group(8));
    devices.push(FakeDevice::new("f1000000.timer").driver("fake-timer"));
    let spec = FakeSpec { devices, extra_drivers: vec!["vfio-platform".to_string()] };
    let fake = FakeSysfs::build(&scratch("linear"), &spec).unwrap();
    let root = fake.sysfs_root();

    let listed = discover::list(&root).unwrap().devices;
    assert_eq!(listed.len(), N + 2);
    let work = root.work();
    // The bus directory once, each of the two groups once.
    assert_eq!(work.dirs_listed, 3, "{work:?}");
    assert_eq!(work.entries_read, 2 * N as u64 + 3, "{work:?}");
    // Opens grow with the devices, not with their square: a device costs a few dozen.
    assert!(work.opens < 64 * (N as u64 + 2), "{work:?}");
    // One member list shared by the whole group.
    let group: Vec<_> = listed.iter().filter(|d| d.iommu_group == Some(7)).collect();
    assert_eq!(group.len(), N);
    assert_eq!(group[0].group_members.len(), N);
    assert!(group.iter().all(|d| Arc::ptr_eq(&d.group_members, &group[0].group_members)));

    // Planning to bind the whole group lists it once as well.
    let planner = fake.sysfs_root();
    let names: Vec<&str> = group.iter().map(|d| d.name.as_str()).collect();
    let plan = bind::plan_bind(&planner, &names).unwrap();
    assert_eq!(plan.devices().len(), N);
    assert_eq!(planner.work().dirs_listed, 1, "{:?}", planner.work());
}
