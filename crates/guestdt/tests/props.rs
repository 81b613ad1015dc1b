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
