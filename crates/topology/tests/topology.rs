//! The reset topology of `tests/dts/topology-sharing.dts`, node by node: what resolves, how it
//! fails, and who shares what (REFERENCE §3: a line is the controller plus the specifier cells).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_topology::{ResolveError, Topology, PROPERTY_NAMES};

fn with_topology(check: impl Fn(&Fdt<'_>, &Topology<'_, '_>)) {
    let blob = platreset_testkit::fixture("topology-sharing");
    // Both ways of parsing must give the same topology: with names classified during the walk
    // (the audit's fast path) and without.
    let plain = Fdt::parse(&blob).unwrap();
    check(&plain, &Topology::build(&plain));
    let classified = Fdt::parse_classifying(&blob, Default::default(), PROPERTY_NAMES).unwrap();
    check(&classified, &Topology::build(&classified));
}

fn paths(fdt: &Fdt<'_>, ids: &[platreset_fdt::NodeId]) -> Vec<String> {
    ids.iter().map(|&id| fdt.node(id).unwrap().path()).collect()
}

fn consumer<'t, 'a>(
    fdt: &Fdt<'a>,
    topology: &'t Topology<'_, 'a>,
    path: &str,
) -> &'t platreset_topology::Consumer<'a> {
    let node = fdt.find_path(path).unwrap();
    topology.consumer(node.id()).unwrap_or_else(|| panic!("{path} is not a consumer"))
}

#[test]
fn every_node_with_resets_is_a_consumer_in_document_order() {
    with_topology(|fdt, topology| {
        let found: Vec<String> =
            topology.consumers().iter().map(|c| fdt.node(c.node).unwrap().path()).collect();
        assert_eq!(found.len(), 15);
        assert_eq!(found[0], "/device@10000");
        assert_eq!(found[14], "/fails-after-dedicated-line@27000");
        assert!(!found.iter().any(|p| p == "/plain@30000"));
    });
}

#[test]
fn one_two_and_zero_cell_specifiers_resolve_against_each_controllers_reset_cells() {
    with_topology(|fdt, topology| {
        let c = consumer(fdt, topology, "/device@14000");
        let lines = c.resets.as_ref().unwrap();
        let got: Vec<(String, Vec<u32>)> =
            lines.iter().map(|l| (fdt.node(l.controller()).unwrap().path(), l.args().to_vec())).collect();
        assert_eq!(
            got,
            vec![
                ("/reset-controller@2000".to_string(), vec![1, 2]),
                ("/reset-controller@3000".to_string(), vec![]),
                ("/reset-controller@4000".to_string(), vec![2]),
            ]
        );
        let names: Vec<&[u8]> = c.reset_names().collect();
        assert_eq!(names, [&b"core"[..], b"bus", b"legacy"]);
    });
}

#[test]
fn linux_phandle_alone_identifies_a_controller() {
    with_topology(|fdt, topology| {
        let legacy = fdt.find_path("/reset-controller@4000").unwrap();
        assert!(legacy.property("phandle").is_none(), "the fixture must carry only linux,phandle");
        assert_eq!(topology.phandles().lookup(fdt, 0x77), Some(legacy));
    });
}

#[test]
fn identical_lines_are_shared_whatever_the_status_of_the_other_node() {
    with_topology(|fdt, topology| {
        let a = consumer(fdt, topology, "/device@11000");
        assert_eq!(paths(fdt, &topology.shared_with(a)), ["/device@12000", "/device@13000"]);
        let off = consumer(fdt, topology, "/device@13000");
        assert!(!off.is_enabled());
        assert_eq!(paths(fdt, &topology.shared_with(off)), ["/device@11000", "/device@12000"]);
    });
}

#[test]
fn same_id_on_another_controller_or_another_cell_is_another_line() {
    with_topology(|fdt, topology| {
        let dedicated = consumer(fdt, topology, "/device@10000");
        assert!(topology.shared_with(dedicated).is_empty());
        // <&rst2 1 3> is not <&rst2 1 2>; only partial's second line is shared.
        let partial = consumer(fdt, topology, "/device@15000");
        assert_eq!(paths(fdt, &topology.shared_with(partial)), ["/device@14000"]);
        let lines = partial.lines();
        assert_eq!(topology.other_users(&lines[0], partial.node), 0);
        assert_eq!(topology.other_users(&lines[1], partial.node), 1);
    });
}

#[test]
fn a_node_listing_a_line_twice_does_not_share_with_itself() {
    with_topology(|fdt, topology| {
        let twice = consumer(fdt, topology, "/device@16000");
        assert_eq!(twice.lines().len(), 2);
        assert!(topology.shared_with(twice).is_empty());
        assert_eq!(topology.other_users(&twice.lines()[0], twice.node), 0);
    });
}

#[test]
fn each_unresolvable_specifier_says_why() {
    with_topology(|fdt, topology| {
        let err = |path: &str| consumer(fdt, topology, path).resets.clone().unwrap_err();
        assert!(matches!(
            err("/unknown-phandle@20000"),
            ResolveError::UnknownPhandle { phandle: 0x4242, cell: 0, .. }
        ));
        assert!(matches!(err("/zero-phandle@26000"), ResolveError::UnknownPhandle { phandle: 0, .. }));
        assert!(matches!(err("/truncated@21000"), ResolveError::Truncated { need: 2, have: 1, .. }));
        match err("/no-reset-cells@22000") {
            ResolveError::BadResetCells { controller, problem, .. } => {
                assert_eq!(controller, "/clock-controller@5000");
                assert!(problem.contains("no #reset-cells"), "{problem}");
            }
            other => panic!("{other:?}"),
        }
        match err("/huge-cells@23000") {
            ResolveError::BadResetCells { problem, .. } => assert!(problem.contains("17"), "{problem}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(err("/empty-resets@24000"), ResolveError::Empty { .. }));
        assert!(matches!(err("/odd-length@25000"), ResolveError::NotCells { len: 5, .. }));
        assert!(matches!(
            err("/fails-after-dedicated-line@27000"),
            ResolveError::UnknownPhandle { cell: 2, .. }
        ));
    });
}

#[test]
fn errors_name_the_property_offset() {
    with_topology(|fdt, topology| {
        let node = fdt.find_path("/truncated@21000").unwrap();
        let offset = node.property("resets").unwrap().offset();
        let text = consumer(fdt, topology, "/truncated@21000").resets.clone().unwrap_err().to_string();
        assert!(text.contains(&format!("{offset:#x}")), "{text}");
    });
}

#[test]
fn an_unresolvable_node_shares_nothing_even_when_its_first_line_resolved() {
    with_topology(|fdt, topology| {
        let failing = consumer(fdt, topology, "/fails-after-dedicated-line@27000");
        assert!(failing.lines().is_empty());
        let dedicated = consumer(fdt, topology, "/device@10000");
        assert!(topology.shared_with(dedicated).is_empty());
    });
}

#[test]
fn controller_inventory_counts_consumers_and_shared_lines() {
    with_topology(|fdt, topology| {
        let summary: Vec<(String, usize, usize)> = topology
            .controllers()
            .iter()
            .map(|c| (fdt.node(c.node).unwrap().path(), c.consumers, c.shared_lines))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/reset-controller@1000".to_string(), 5, 1),
                ("/reset-controller@2000".to_string(), 2, 1),
                ("/reset-controller@3000".to_string(), 1, 0),
                ("/reset-controller@4000".to_string(), 1, 0),
                ("/reset-controller@6000".to_string(), 0, 0),
            ]
        );
        let huge = topology.controller(fdt.find_path("/reset-controller@6000").unwrap().id()).unwrap();
        assert_eq!(huge.reset_cells, Ok(17));
    });
}

#[test]
fn the_pwm_channels_of_rz_g2m_share_cpg_523_in_the_corpus() {
    // REFERENCE §2: every pwm@e6e3x000 of the RZ/G2M DTB has resets = <&cpg 523>.
    let Some(dir) = platreset_testkit::corpus_dir() else { return };
    let path = dir.join("arm64/renesas/r8a774a1-hihope-rzg2m.dtb");
    let blob = std::fs::read(&path).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let pwms: Vec<_> = topology
        .consumers()
        .iter()
        .filter(|c| fdt.node(c.node).unwrap().name().starts_with(b"pwm@e6e3"))
        .collect();
    assert_eq!(pwms.len(), 7);
    for pwm in pwms {
        let line = pwm.lines()[0];
        assert_eq!(fdt.node(line.controller()).unwrap().path(), "/soc/clock-controller@e6150000");
        assert_eq!(line.args(), [523]);
        assert_eq!(topology.shared_with(pwm).len(), 6);
    }
}

/// `tests/dts/infrastructure.dts`, parsed both ways (names classified during the walk, and not).
fn with_infrastructure(check: impl Fn(&Fdt<'_>, &Topology<'_, '_>)) {
    let blob = platreset_testkit::fixture("infrastructure");
    let plain = Fdt::parse(&blob).unwrap();
    check(&plain, &Topology::build(&plain));
    let classified = Fdt::parse_classifying(&blob, Default::default(), PROPERTY_NAMES).unwrap();
    check(&classified, &Topology::build(&classified));
}

#[test]
fn consumers_that_provide_a_platform_service_are_host_infrastructure() {
    use platreset_topology::Service;
    with_infrastructure(|fdt, topology| {
        let kinds: Vec<(String, Option<&str>)> = topology
            .consumers()
            .iter()
            .map(|c| (fdt.node(c.node).unwrap().path(), c.service.map(Service::as_str)))
            .collect();
        let kind = |path: &str| kinds.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("{path}")).1;
        assert_eq!(kind("/pmc@7000e400/powergates/dis"), Some("power-gate"));
        assert_eq!(kind("/pmc@7000e400/powergates/venc"), Some("power-gate"));
        assert_eq!(kind("/power-controller/power-domain@9"), Some("power-gate"), "no cells, parent has them");
        assert_eq!(kind("/iommu@12000000"), Some("iommu"));
        assert_eq!(kind("/apb@70000000/gpio@6000d000"), Some("interrupt-controller"));
        assert_eq!(kind("/apb@70000000/clock@70110000"), Some("clock-controller"));
        for device in ["/host1x@50000000/dc@54200000", "/apb@70000000/i2c@7000c400", "/sata@70020000"] {
            assert_eq!(kind(device), None, "{device} is a device");
        }
        assert_eq!(paths(fdt, topology.iommu_providers()), ["/iommu@12000000"]);
        // Nodes without resets are classified from their properties when asked.
        let id = |p: &str| fdt.find_path(p).unwrap().id();
        assert_eq!(topology.service_of(id("/clock-controller@e6150000")), Some(Service::ClockController));
        assert_eq!(topology.service_of(id("/power-controller")), Some(Service::PowerController));
        assert_eq!(topology.service_of(id("/host1x@50000000")), None);
        assert_eq!(topology.service_of(id("/pmc@7000e400/powergates/dis")), Some(Service::PowerGate));
    });
    with_topology(|_, topology| {
        assert!(topology.consumers().iter().all(|c| c.service.is_none()));
    });
}
