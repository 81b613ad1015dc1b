//! Supplies and refusals (tests/dts/guest-supplies.dts): a `*-supply` becomes an always-on guest
//! `regulator-fixed` named after the host regulator, with its voltage when the host states a fixed
//! one, shared by the devices that share the host regulator, in every target's tree with guest
//! phandles only; the host's duty to keep it on is stated, with a warning when nothing keeps it
//! on; and a refused node lists every problem at once, each property with the flag that lifts it.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use platreset_dtedit::{from_fdt, to_dtb, to_dts, Node as DtNode, WriteOptions};
use platreset_fdt::Fdt;
use platreset_guestdt::props::{KeptOn, Supply, Tree};
use platreset_guestdt::{avf, crosvm, qemu, xen, Action, HostDevice, HostError, Overrides, TargetOptions};

fn host() -> Vec<u8> {
    platreset_testkit::fixture("guest-supplies")
}

fn read(blob: &[u8], path: &str, overrides: &Overrides) -> Result<HostDevice, HostError> {
    let fdt = Fdt::parse(blob).unwrap();
    HostDevice::read(&Tree::new(&fdt), &fdt.resolve(path).unwrap(), overrides)
}

fn without_cd() -> Overrides {
    Overrides { drop: vec!["cd-gpios".into()], ..Overrides::default() }
}

/// sdhi0 (card-detect dropped), sdhi2 and the PMIC-powered sensor.
fn sd_hosts(blob: &[u8]) -> Vec<HostDevice> {
    ["sdhi0", "sdhi2", "/sensor@30000"].iter().map(|p| read(blob, p, &without_cd()).unwrap()).collect()
}

fn supply(device: &HostDevice, name: &str) -> Supply {
    match &device.decisions.iter().find(|d| d.name == name).unwrap().action {
        Action::FixedRegulator(supply) => supply.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

fn cells(value: &[u8]) -> Vec<u32> {
    value.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
}

fn phandle(node: &DtNode) -> u32 {
    cells(node.prop("phandle").unwrap())[0]
}

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("platreset-supplies-{}-{name}", std::process::id()))
}

/// Runs a tool on files, failing the test when it refuses them; returns stdout.
fn tool(program: &str, args: &[&str], files: &[&Path]) -> String {
    let out = Command::new(program).args(args).args(files).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every `*-supply` under `node` names a phandle the guest tree `root` defines.
fn supplies_point_inside(node: &DtNode, root: &DtNode, seen: &mut usize) {
    fn defined(node: &DtNode, phandle: u32) -> bool {
        node.prop("phandle").is_some_and(|p| cells(p) == [phandle])
            || node.children.iter().any(|c| defined(c, phandle))
    }
    for prop in node.props.iter().filter(|p| p.name.ends_with("-supply")) {
        let [target] = cells(&prop.value)[..] else { panic!("{}: {:?}", prop.name, prop.value) };
        assert!(defined(root, target), "{}/{} = <{target:#x}> is not a guest phandle", node.name, prop.name);
        *seen += 1;
    }
    // The overlay bookkeeping holds offsets and paths, not phandles.
    let bookkeeping = ["__local_fixups__", "__fixups__", "__symbols__"];
    for child in node.children.iter().filter(|c| !bookkeeping.contains(&c.name.as_str())) {
        supplies_point_inside(child, root, seen);
    }
}

#[test]
fn a_fixed_host_regulator_becomes_an_always_on_guest_one_at_its_voltage() {
    let sdhi0 = read(&host(), "sdhi0", &without_cd()).unwrap();
    let vmmc = supply(&sdhi0, "vmmc-supply");
    assert_eq!(
        vmmc,
        Supply {
            host: "/regulator-3p3v".into(),
            name: "fixed-3.3V".into(),
            node: "regulator-3p3v".into(),
            microvolt: Some(3_300_000),
            range: None,
            kept_on: KeptOn::AlwaysOn,
        }
    );
    assert!(!vmmc.warns());
    let why = &sdhi0.decisions.iter().find(|d| d.name == "vmmc-supply").unwrap().why;
    assert!(why.contains("`fixed-3.3V`, always on, at 3.3V"), "{why}");
    assert!(why.contains("keep `fixed-3.3V` (/regulator-3p3v) on after unbinding"), "{why}");
}

#[test]
fn a_switched_regulator_has_no_guest_voltage_and_the_host_duty_is_a_warning() {
    let sdhi0 = read(&host(), "sdhi0", &without_cd()).unwrap();
    let vqmmc = supply(&sdhi0, "vqmmc-supply");
    assert_eq!((vqmmc.microvolt, vqmmc.range), (None, Some((1_800_000, 3_300_000))));
    assert_eq!(vqmmc.kept_on, KeptOn::No);
    assert!(vqmmc.warns(), "nothing keeps it on");
    assert!(vqmmc.guest_side().contains("1.8V to 3.3V, so the guest's is unknown"), "{}", vqmmc.guest_side());
    let duty = vqmmc.host_duty();
    assert!(duty.contains("`SDHI0 VccQ` (/regulator-vccq-sdhi0)"), "{duty}");
    assert!(duty.contains("neither regulator-always-on nor regulator-boot-on"), "{duty}");

    let sensor = read(&host(), "/sensor@30000", &Overrides::default()).unwrap();
    let ldo = supply(&sensor, "vdd-supply");
    assert_eq!((ldo.name.as_str(), ldo.node.as_str()), ("ldo1", "regulator-ldo1"), "named after the node");
    assert_eq!((ldo.microvolt, ldo.range), (None, None));
    assert!(ldo.guest_side().contains("the host states none"), "{}", ldo.guest_side());
}

#[test]
fn every_refusal_is_listed_at_once_with_the_flag_that_lifts_it() {
    let blob = host();
    let err = read(&blob, "/usb@31000", &Overrides::default()).unwrap_err();
    let HostError::Several { node, problems } = &err else { panic!("{err}") };
    assert_eq!(node, "/usb@31000");
    let refused: Vec<(&str, String)> = problems
        .iter()
        .map(|p| match p {
            HostError::Refused { property, fix, .. } => (property.as_str(), fix.as_ref().unwrap().flag()),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        refused,
        [
            ("clocks", "--drop clocks".into()),
            ("phys", "--drop phys".into()),
            ("reset-gpios", "--drop reset-gpios".into()),
            ("vdd-supply", "--drop vdd-supply".into()),
        ],
        "in host property order; vbus-supply is placed, not refused"
    );
    let costs: Vec<&str> = problems.iter().map(|p| p.fix().unwrap().cost.as_str()).collect();
    assert!(costs[0].contains("--clock-rate core=HZ instead"), "{}", costs[0]);
    assert!(costs[1].contains("PHY"), "{}", costs[1]);
    assert!(costs[2].contains("out of reset"), "{}", costs[2]);
    assert!(err.to_string().contains("4 problems"), "{err}");

    let lifted = err.lifted(&Overrides::default()).unwrap();
    assert_eq!(lifted.drop, ["clocks", "phys", "reset-gpios", "vdd-supply"]);
    let usb = read(&blob, "/usb@31000", &lifted).unwrap();
    let vbus = supply(&usb, "vbus-supply");
    assert_eq!((vbus.kept_on, vbus.warns()), (KeptOn::BootOn, false));
    assert!(
        vbus.host_duty().contains("may switch it off when the host driver lets go"),
        "{}",
        vbus.host_duty()
    );
}

#[test]
fn what_no_flag_lifts_is_listed_beside_what_one_does() {
    let err = read(&host(), "/tangle@32000", &Overrides::default()).unwrap_err();
    let kinds: Vec<&str> = err
        .problems()
        .iter()
        .map(|p| match p {
            HostError::Subnodes { .. } => "subnodes",
            HostError::Refused { .. } => "property",
            HostError::Irq { .. } => "interrupt",
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(kinds, ["subnodes", "property", "interrupt"]);
    let fixes: Vec<Option<String>> = err.problems().iter().map(|p| p.fix().map(|f| f.flag())).collect();
    assert_eq!(fixes, [None, Some("--drop wp-gpios".into()), None]);
    assert!(err.lifted(&Overrides::default()).is_none(), "no flag set builds it");
    // An MMC host's card-detect GPIO is no problem: its binding's `broken-cd` replaces it.
    let sdhi = read(&host(), "sdhi0", &Overrides::default()).unwrap();
    let cd = sdhi.decisions.iter().find(|d| d.name == "cd-gpios").unwrap();
    assert_eq!(cd.action, platreset_guestdt::Action::ReplacedByFlag("broken-cd"));
    assert!(cd.why.contains("mmc/mmc-controller.yaml"), "{}", cd.why);
}

#[test]
fn qemu_gets_one_regulator_per_host_regulator_and_dtc_compiles_the_fragment() {
    let mut root = DtNode::new("");
    qemu::place(&mut root, &sd_hosts(&host()), None).unwrap();
    let names: Vec<&str> = root.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [qemu::BUS_NAME, "regulator-3p3v", "regulator-vccq-sdhi0", "regulator-ldo1"],
        "sdhi2 shares sdhi0's card supply"
    );
    let fixed = root.child("regulator-3p3v").unwrap();
    assert_eq!(fixed.prop("compatible").unwrap(), b"regulator-fixed\0");
    assert_eq!(fixed.prop("regulator-name").unwrap(), b"fixed-3.3V\0");
    assert_eq!(cells(fixed.prop("regulator-min-microvolt").unwrap()), [3_300_000]);
    assert_eq!(cells(fixed.prop("regulator-max-microvolt").unwrap()), [3_300_000]);
    assert_eq!(fixed.prop("regulator-always-on"), Some(&b""[..]));
    let switched = root.child("regulator-vccq-sdhi0").unwrap();
    assert!(switched.prop("regulator-min-microvolt").is_none(), "no voltage the guest could trust");
    assert!(switched.prop("regulator-always-on").is_some());

    let bus = root.child(qemu::BUS_NAME).unwrap();
    let (sd0, sd2) = (bus.child("mmc@0").unwrap(), bus.child("mmc@2000").unwrap());
    assert_eq!(cells(sd0.prop("vmmc-supply").unwrap()), [phandle(fixed)]);
    assert_eq!(cells(sd2.prop("vmmc-supply").unwrap()), [phandle(fixed)]);
    assert_eq!(cells(sd0.prop("vqmmc-supply").unwrap()), [phandle(switched)]);
    assert!(sd0.prop("cd-gpios").is_none());
    let mut seen = 0;
    supplies_point_inside(&root, &root, &mut seen);
    assert_eq!(seen, 4);

    let golden = platreset_testkit::repo_root().join("tests/golden/qemu-supplies-sdhi.dts");
    let dts = to_dts(&root).unwrap();
    if std::env::var_os("PLATRESET_BLESS").is_some() {
        std::fs::write(&golden, &dts).unwrap();
    }
    let hint = "run with PLATRESET_BLESS=1 to accept the new output, then review the diff";
    assert_eq!(dts, std::fs::read_to_string(&golden).unwrap(), "{hint}");
    tool("dtc", &["-q", "-I", "dts", "-O", "dtb", "-o", "/dev/null"], &[&golden]);
}

#[test]
fn crosvm_relocates_the_supplies_and_fdtoverlay_points_them_at_the_regulators() {
    let output = crosvm::build(&sd_hosts(&host()), &TargetOptions::default()).unwrap();
    let overlay = from_fdt(&Fdt::parse(&output.files[0].1).unwrap());
    let fixups = overlay.find("/__local_fixups__/fragment@0/__overlay__/mmc@ee100000").unwrap();
    assert_eq!(cells(fixups.prop("vmmc-supply").unwrap()), [0]);
    assert_eq!(cells(fixups.prop("vqmmc-supply").unwrap()), [0]);
    let symbols = overlay.child("__symbols__").unwrap();
    assert_eq!(symbols.prop("regulator_3p3v").unwrap(), b"/fragment@0/__overlay__/regulator-3p3v\0");
    assert!(output.lines.iter().any(|l| l.ends_with("dt-symbol=sdhi2")), "{:?}", output.lines);

    let (base, dtbo, merged) = (temp("virt.dtb"), temp("guest.dtbo"), temp("merged.dtb"));
    std::fs::write(&base, platreset_testkit::qemu_virt_dtb()).unwrap();
    std::fs::write(&dtbo, &output.files[0].1).unwrap();
    tool("fdtoverlay", &["-i"], &[&base, Path::new("-o"), &merged, &dtbo]);
    let applied = from_fdt(&Fdt::parse(&std::fs::read(&merged).unwrap()).unwrap());
    for f in [base, dtbo, merged] {
        let _ = std::fs::remove_file(f);
    }
    let fixed = phandle(applied.child("regulator-3p3v").unwrap());
    assert!(fixed > 0x8000, "moved past the base's phandles: {fixed:#x}");
    assert_eq!(cells(applied.child("mmc@ee100000").unwrap().prop("vmmc-supply").unwrap()), [fixed]);
    assert_eq!(cells(applied.child("mmc@ee140000").unwrap().prop("vmmc-supply").unwrap()), [fixed]);
    let mut seen = 0;
    supplies_point_inside(&applied, &applied, &mut seen);
    assert_eq!(seen, 4);
}

#[test]
fn xen_puts_the_regulators_under_passthrough_where_the_toolstack_copies_them() {
    let output = xen::build(&sd_hosts(&host()), &TargetOptions::default()).unwrap();
    let path = temp("partial.dtb");
    std::fs::write(&path, &output.files[0].1).unwrap();
    tool("dtc", &["-q", "-I", "dtb", "-O", "dts"], &[&path]);
    let _ = std::fs::remove_file(&path);
    let root = from_fdt(&Fdt::parse(&output.files[0].1).unwrap());
    assert_eq!(root.children.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["aliases", "passthrough"]);
    let bus = root.child("passthrough").unwrap();
    let fixed = bus.child("regulator-3p3v").unwrap();
    assert_eq!(cells(bus.child("mmc@ee100000").unwrap().prop("vmmc-supply").unwrap()), [phandle(fixed)]);
    let mut seen = 0;
    supplies_point_inside(&root, &root, &mut seen);
    assert_eq!(seen, 4);
}

#[test]
fn avf_carries_the_regulators_in_its_dtbo_with_their_fixups() {
    let devices = sd_hosts(&host());
    let options = TargetOptions {
        non_dma: devices.iter().map(|d| d.path.clone()).collect(),
        ..TargetOptions::default()
    };
    let output = avf::build(&devices, &options).unwrap();
    let dtbo = from_fdt(&Fdt::parse(&output.files[0].1).unwrap());
    let overlay = dtbo.find("/fragment@0/__overlay__").unwrap();
    let fixed = overlay.child("regulator-3p3v").unwrap();
    let mmc = overlay.children.iter().filter(|c| c.name.starts_with("mmc")).collect::<Vec<_>>();
    assert_eq!(mmc.len(), 2);
    for node in &mmc {
        assert_eq!(cells(node.prop("vmmc-supply").unwrap()), [phandle(fixed)], "{}", node.name);
        let fixups = dtbo.find(&format!("/__local_fixups__/fragment@0/__overlay__/{}", node.name)).unwrap();
        assert_eq!(cells(fixups.prop("vmmc-supply").unwrap()), [0]);
    }
    let mut seen = 0;
    supplies_point_inside(&dtbo, &dtbo, &mut seen);
    assert_eq!(seen, 4);
    // fdtoverlay applies it (onto QEMU's virt base): the supplies follow the regulator's phandle.
    let (base, path, merged) = (temp("avf-virt.dtb"), temp("vm.dtbo"), temp("avf-merged.dtb"));
    std::fs::write(&base, platreset_testkit::qemu_virt_dtb()).unwrap();
    std::fs::write(&path, to_dtb(&dtbo, &WriteOptions::default()).unwrap()).unwrap();
    tool("fdtoverlay", &["-i"], &[&base, Path::new("-o"), &merged, &path]);
    let applied = from_fdt(&Fdt::parse(&std::fs::read(&merged).unwrap()).unwrap());
    for f in [base, path, merged] {
        let _ = std::fs::remove_file(f);
    }
    let fixed = phandle(applied.child("regulator-3p3v").unwrap());
    let hosts: Vec<&DtNode> = applied.children.iter().filter(|c| c.name.starts_with("mmc")).collect();
    assert_eq!(hosts.len(), 2);
    for node in hosts {
        assert_eq!(cells(node.prop("vmmc-supply").unwrap()), [fixed], "{}", node.name);
    }
    assert!(applied.child("host").is_none(), "/host is never applied");
}
