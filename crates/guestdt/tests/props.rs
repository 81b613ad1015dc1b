//! The property policy, case by case (tests/dts/guest-props.dts).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{Action, HostDevice, HostError, Overrides};

fn read(path: &str, overrides: &Overrides) -> Result<HostDevice, HostError> {
    let blob = platreset_testkit::fixture("guest-props");
    let fdt = Fdt::parse(&blob).unwrap();
    let tree = Tree::new(&fdt);
    HostDevice::read(&tree, &fdt.find_path(path).unwrap(), overrides)
}

fn action(device: &HostDevice, name: &str) -> Action {
    device.decisions.iter().find(|d| d.name == name).unwrap().action.clone()
}

#[test]
fn known_rates_become_fixed_clocks_and_each_property_gets_its_fate() {
    let d = read("/known@10000", &Overrides::default()).unwrap();
    assert_eq!(
        action(&d, "clocks"),
        Action::FixedClocks(vec![("baud".into(), 24_000_000), ("bus".into(), 100_000_000)]),
        "the oscillator's clock-frequency, the PLL's assigned rate"
    );
    for (name, expected) in [
        ("compatible", Action::Copy),
        ("reg", Action::Regenerate),
        ("interrupts", Action::Regenerate),
        ("assigned-clocks", Action::Drop),
        ("reg-io-width", Action::Copy),
        ("dmas", Action::DropWithWarning),
        ("acme,fifo-depth", Action::DropWithWarning),
        ("acme,mode", Action::Copy),
        ("dma-coherent", Action::Copy),
    ] {
        assert_eq!(action(&d, name), expected, "{name}");
    }
    assert_eq!(d.irqs.iter().map(|i| (i.spi, i.trigger)).collect::<Vec<_>>(), [(10, 4), (11, 1)]);
}

#[test]
fn unknown_rates_are_dropped_behind_a_power_domain_and_refused_otherwise() {
    let d = read("/powered@11000", &Overrides::default()).unwrap();
    assert_eq!(action(&d, "clocks"), Action::DropWithWarning);
    let err = read("/unpowered@12000", &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("property clocks: `clocks`: the rate of core is unknown"), "{err}");
    let rate = Overrides { clock_rates: vec![("core".into(), 50_000_000)], ..Overrides::default() };
    let d = read("/unpowered@12000", &rate).unwrap();
    assert_eq!(action(&d, "clocks"), Action::FixedClocks(vec![("core".into(), 50_000_000)]));
}

#[test]
fn unknown_rates_are_refused_when_the_guest_driver_requires_the_clock() {
    // rcar-dmac takes no clock: the clock domain runs it
    let dmac = read("/dma-controller@18000", &Overrides::default()).unwrap();
    let why = &dmac.decisions.iter().find(|d| d.name == "clocks").unwrap().why;
    assert_eq!(action(&dmac, "clocks"), Action::DropWithWarning);
    assert!(why.contains("rcar_dmac_driver (drivers/dma/sh/rcar-dmac.c) probes without them"), "{why}");
    // ravb fails its probe without its clock: a power domain does not make up for it
    let err = read("/ethernet@19000", &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("the guest's driver ravb_driver (drivers/net/ethernet/renesas/ravb_main.c) requires clock `fck` (devm_clk_get at drivers/net/ethernet/renesas/ravb_main.c:"), "{err}");
    assert!(err.contains("--from-host"), "{err}");
    let rate = Overrides { clock_rates: vec![("fck".into(), 133_333_333)], ..Overrides::default() };
    let d = read("/ethernet@19000", &rate).unwrap();
    assert_eq!(action(&d, "clocks"), Action::FixedClocks(vec![("fck".into(), 133_333_333)]));
    // a getter whose clock the node does not have is one the driver tolerates
    let codec = read("/video-codec@1a000", &Overrides::default()).unwrap();
    assert_eq!(action(&codec, "clocks"), Action::DropWithWarning);
}

#[test]
fn a_reset_line_the_guest_driver_requires_is_refused_and_any_other_stays_with_the_host() {
    let err = read("/video-codec@1b000", &Overrides::default()).unwrap_err().to_string();
    assert!(
        err.contains("property resets: `resets`: the guest's driver cedrus_driver (drivers/staging/media/sunxi/cedrus/cedrus.c) requires reset 0 (devm_reset_control_get at drivers/staging/media/sunxi/cedrus/cedrus_hw.c:"),
        "{err}"
    );
    assert!(err.contains("no guest device can stand in for the host's reset controller"), "{err}");
    let dropped = Overrides { drop: vec!["resets".into()], ..Overrides::default() };
    assert_eq!(action(&read("/video-codec@1b000", &dropped).unwrap(), "resets"), Action::Drop);
    let dmac = read("/dma-controller@1c000", &Overrides::default()).unwrap();
    assert_eq!(action(&dmac, "resets"), Action::Drop, "rcar-dmac takes no reset");
}

#[test]
fn references_to_host_nodes_are_refused_unless_dropped_and_unknown_cells_can_be_kept() {
    let err = read("/gpios@13000", &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("property cd-gpios"), "{err}");
    let dropped = Overrides { drop: vec!["cd-gpios".into()], ..Overrides::default() };
    assert_eq!(action(&read("/gpios@13000", &dropped).unwrap(), "cd-gpios"), Action::Drop);
    let kept = Overrides { keep: vec!["acme,fifo-depth".into()], ..Overrides::default() };
    assert_eq!(action(&read("/known@10000", &kept).unwrap(), "acme,fifo-depth"), Action::Copy);
}

#[test]
fn subnodes_and_interrupts_the_guest_gic_cannot_deliver_are_refused() {
    let err = read("/parent@14000", &Overrides::default()).unwrap_err();
    assert!(matches!(err, HostError::Subnodes { .. }), "{err}");
    let err = read("/wrong-intc@15000", &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("goes to /interrupt-controller@6000, not the GIC"), "{err}");
    let err = read("/ppi@16000", &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("PPI"), "{err}");
}

#[test]
fn a_carve_out_is_refused_naming_it_and_its_host_range() {
    let err = read("/carve-out@17000", &Overrides::default()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("property memory-region"), "{text}");
    assert!(text.contains("/reserved-memory/vpu@30000000 (0x30000000 + 0x1000000)"), "{text}");
}

/// A device whose clocks come from a controller that computes their rates (no rate in the
/// tree) and from one that names its outputs.
const LIVE: &str = "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
    \tccu: clock-controller@1000 { reg = <0x1000 0x100>; #clock-cells = <1>; };\n\
    \tgates: clock-controller@2000 { reg = <0x2000 0x100>; #clock-cells = <1>;\n\
    \t\tclock-indices = <4>, <9>; clock-output-names = \"gate-a\", \"gate-b\"; };\n\
    \tvideo-codec@10000 { reg = <0x10000 0x100>; clocks = <&ccu 3>, <&gates 9>; clock-names = \"mod\", \"bus\"; };\n\
    \tserial@20000 { reg = <0x20000 0x100>; clocks = <&ccu 7>; };\n};\n";

fn clock(name: &str, rate: u64, consumers: Vec<(String, String)>) -> platreset_guestdt::HostClock {
    platreset_guestdt::HostClock { name: name.into(), rate, consumers }
}

fn live_clocks(lists_consumers: bool) -> Overrides {
    let consumers = |dev: &str, con: &str| {
        if lists_consumers {
            vec![(dev.to_string(), con.to_string())]
        } else {
            Vec::new()
        }
    };
    let clocks = platreset_guestdt::HostClocks {
        source: "clk_summary".into(),
        clocks: vec![
            clock("ve", 600_000_000, consumers("10000.video-codec", "mod")),
            clock("gate-b", 100_000_000, Vec::new()),
            clock("uart", 24_000_000, consumers("20000.serial", "no_connection_id")),
        ],
        lists_consumers,
    };
    Overrides { host_clocks: Some(std::sync::Arc::new(clocks)), ..Overrides::default() }
}

fn read_live(path: &str, overrides: &Overrides) -> Result<HostDevice, HostError> {
    let blob = platreset_testkit::dtb_from_text(LIVE);
    let fdt = Fdt::parse(&blob).unwrap();
    let tree = Tree::new(&fdt);
    HostDevice::read(&tree, &fdt.find_path(path).unwrap(), overrides)
}

#[test]
fn the_running_hosts_rates_come_by_consumer_or_by_output_name_and_say_so() {
    let codec = read_live("/video-codec@10000", &live_clocks(true)).unwrap();
    assert_eq!(
        action(&codec, "clocks"),
        Action::FixedClocks(vec![("mod".into(), 600_000_000), ("bus".into(), 100_000_000)])
    );
    let why = &codec.decisions.iter().find(|d| d.name == "clocks").unwrap().why;
    assert!(why.contains("which 10000.video-codec takes as `mod`"), "{why}");
    assert!(why.contains("clock `ve`, which 10000.video-codec takes as `mod` (clk_summary)"), "{why}");
    assert!(why.contains("clock `gate-b` (clock-output-names of /clock-controller@2000)"), "{why}");
    // Without clock-names, a driver's unnamed request is the first clock.
    let serial = read_live("/serial@20000", &live_clocks(true)).unwrap();
    assert_eq!(action(&serial, "clocks"), Action::FixedClocks(vec![("0".into(), 24_000_000)]));
    // The user's rate comes first.
    let mut user = live_clocks(true);
    user.clock_rates.push(("mod".into(), 1));
    assert_eq!(
        action(&read_live("/video-codec@10000", &user).unwrap(), "clocks"),
        Action::FixedClocks(vec![("mod".into(), 1), ("bus".into(), 100_000_000)])
    );
}

#[test]
fn a_rate_the_running_host_cannot_name_is_refused_saying_why() {
    // An older kernel: no consumers, and the CCU names no outputs.
    let err = read_live("/video-codec@10000", &live_clocks(false)).unwrap_err().to_string();
    assert!(err.contains("the rate of mod is unknown"), "{err}");
    assert!(err.contains("lists no consumers (older kernels do not)"), "{err}");
    // Without --from-host, the refusal says where the rate is.
    let err = read_live("/video-codec@10000", &Overrides::default()).unwrap_err().to_string();
    assert!(err.contains("computes it at run time: read it from the running host with --from-host"), "{err}");
    // A kernel that lists consumers, but not this one: unbound already.
    let mut unbound = live_clocks(true);
    std::sync::Arc::get_mut(unbound.host_clocks.as_mut().unwrap()).unwrap().clocks[0].consumers.clear();
    let err = read_live("/video-codec@10000", &unbound).unwrap_err().to_string();
    assert!(
        err.contains("lists no consumer 10000.video-codec `mod`") && err.contains("before unbinding"),
        "{err}"
    );
}

#[test]
fn rates_stated_elsewhere_in_the_tree_count_and_disagreeing_ones_do_not() {
    let tree = "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
        \tosc: oscillator { compatible = \"fixed-clock\"; #clock-cells = <0>; clock-frequency = <24000000>; };\n\
        \thalf: divider { compatible = \"fixed-factor-clock\"; #clock-cells = <0>; clocks = <&osc>; clock-mult = <1>; clock-div = <2>; };\n\
        \tloop: looped { compatible = \"fixed-factor-clock\"; #clock-cells = <0>; clocks = <&loop>; clock-mult = <1>; clock-div = <1>; };\n\
        \tccu: clock-controller@1000 { reg = <0x1000 0x100>; #clock-cells = <1>;\n\
        \t\tassigned-clocks = <&ccu 5>; assigned-clock-rates = <100000000>; };\n\
        \tother@3000 { reg = <0x3000 0x100>; assigned-clocks = <&ccu 6>, <&ccu 7>; assigned-clock-rates = <50000000>, <0>; };\n\
        \tthird@4000 { reg = <0x4000 0x100>; assigned-clocks = <&ccu 6>; assigned-clock-rates = <60000000>; };\n\
        \tdevice@2000 { reg = <0x2000 0x100>; clocks = <&half>, <&ccu 5>; clock-names = \"ref\", \"core\"; };\n\
        \tdisputed@5000 { reg = <0x5000 0x100>; clocks = <&ccu 6>; clock-names = \"core\"; };\n\
        \tkept@6000 { reg = <0x6000 0x100>; clocks = <&ccu 7>; clock-names = \"core\"; };\n\
        \tlooping@7000 { reg = <0x7000 0x100>; clocks = <&loop>; clock-names = \"core\"; };\n};\n";
    let blob = platreset_testkit::dtb_from_text(tree);
    let fdt = Fdt::parse(&blob).unwrap();
    let tree = Tree::new(&fdt);
    let read = |path: &str| HostDevice::read(&tree, &fdt.find_path(path).unwrap(), &Overrides::default());
    let device = read("/device@2000").unwrap();
    assert_eq!(
        action(&device, "clocks"),
        Action::FixedClocks(vec![("ref".into(), 12_000_000), ("core".into(), 100_000_000)])
    );
    let why = &device.decisions.iter().find(|d| d.name == "clocks").unwrap().why;
    assert!(why.contains("clock-frequency of /oscillator × 1 / 2 (/divider)"), "{why}");
    assert!(why.contains("assigned-clock-rates of /clock-controller@1000"), "{why}");
    for (path, what) in [
        ("/disputed@5000", "two nodes assign different rates"),
        ("/kept@6000", "a rate of 0 leaves the clock as it is"),
        ("/looping@7000", "a loop of fixed-factor clocks"),
    ] {
        let err = read(path).unwrap_err().to_string();
        assert!(err.contains("the rate of core is unknown"), "{what}: {err}");
    }
}
