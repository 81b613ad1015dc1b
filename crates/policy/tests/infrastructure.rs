//! Host infrastructure is no passthrough candidate (issue 17, point 3): IOMMUs, power gates and
//! controllers, interrupt, clock and reset controllers with resets are never eligible and never
//! offered to a group; a line shared with one says so instead of suggesting `--group`; and the
//! `iommus` fix says when it cannot be acted on. On `tests/dts/infrastructure.dts` and on corpus
//! boards.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::group::Group;
use platreset_policy::policy::{Evaluator, IommuPlace, Options, Policy, Reason};
use platreset_topology::{Service, Topology};

/// Every option that waives a rule.
fn permissive() -> Options {
    Options {
        reset_required: false,
        trust_reset: true,
        allow_shared_with_disabled: true,
        allow_pulse: true,
        ..Options::default()
    }
}

fn with<R>(
    blob: &[u8],
    options: Options,
    check: impl FnOnce(&Fdt<'_>, &Evaluator<'_, '_, '_, '_>) -> R,
) -> R {
    let fdt = Fdt::parse(blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = Policy { options, allowlist: Allowlist::builtin().unwrap() };
    let evaluator = Evaluator::new(&policy, &topology, &[]);
    check(&fdt, &evaluator)
}

fn shared_lines(reasons: &[Reason]) -> Vec<&Reason> {
    reasons.iter().filter(|r| matches!(r, Reason::SharedLine { .. })).collect()
}

#[test]
fn infrastructure_is_never_eligible_whatever_the_options() {
    let blob = platreset_testkit::fixture("infrastructure");
    with(&blob, permissive(), |fdt, e| {
        for (path, service) in [
            ("/pmc@7000e400/powergates/dis", Service::PowerGate),
            ("/power-controller/power-domain@9", Service::PowerGate),
            ("/iommu@12000000", Service::Iommu),
            ("/apb@70000000/gpio@6000d000", Service::InterruptController),
            ("/apb@70000000/clock@70110000", Service::ClockController),
        ] {
            let v = e.verdict(fdt.find_path(path).unwrap().id());
            assert_eq!(v.infrastructure, Some(service), "{path}");
            assert!(!v.candidate() && !v.eligible(), "{path}: {v:?}");
            let json = serde_json::to_string(&v).unwrap();
            let tail = format!("\"candidate\":false,\"infrastructure\":\"{}\"}}", service.as_str());
            assert!(json.ends_with(&tail), "{json}");
        }
        // Without resets, infrastructure is still no candidate (what `explain` on it says).
        let controller = e.verdict(fdt.find_path("/power-controller").unwrap().id());
        assert_eq!(controller.infrastructure, Some(Service::PowerController));
        assert!(!controller.eligible());
        // A device whose every failed rule the options waive is eligible: the flag alone refuses.
        let serial = e.verdict(fdt.find_path("/apb@70000000/serial@70006000").unwrap().id());
        assert!(serial.candidate() && serial.infrastructure.is_none());
        let gpio = e.verdict(fdt.find_path("/apb@70000000/gpio@6000d000").unwrap().id());
        assert_eq!(gpio.reasons.len(), serial.reasons.len(), "the same rules fail for both: {gpio:?}");
    });
}

#[test]
fn a_line_shared_with_a_power_gate_names_it_and_does_not_suggest_a_group() {
    let blob = platreset_testkit::fixture("infrastructure");
    with(&blob, Options::default(), |fdt, e| {
        let dc = fdt.find_path("/host1x@50000000/dc@54200000").unwrap().id();
        let v = e.verdict(dc);
        let [shared] = shared_lines(&v.reasons)[..] else { panic!("{:?}", v.reasons) };
        let Reason::SharedLine { host, .. } = shared else { unreachable!() };
        assert_eq!(host, &[("/pmc@7000e400/powergates/dis".to_string(), Service::PowerGate)]);
        let fix = e.fix(dc, shared);
        assert!(fix.contains("/pmc@7000e400/powergates/dis is a power gate"), "{fix}");
        assert!(fix.contains("power-domain driver also drives this line"), "{fix}");
        assert!(fix.contains("cannot go to a guest"), "{fix}");
        assert!(!fix.contains("assign them together"), "{fix}");
        // A line shared with a clock controller names that instead.
        let i2c = fdt.find_path("/apb@70000000/i2c@7000c400").unwrap().id();
        let v = e.verdict(i2c);
        let fix = e.fix(i2c, shared_lines(&v.reasons)[0]);
        assert!(fix.contains("/apb@70000000/clock@70110000 is a clock controller"), "{fix}");
        // A line shared only with devices keeps the group hint.
        let plain = Reason::SharedLine {
            index: 0,
            controller: "/c".into(),
            args: vec![1],
            others: vec!["/a".into()],
            count: 1,
            only_disabled: false,
            host: vec![],
        };
        assert!(plain.fix().contains("assign them together (--group)"));
    });
}

#[test]
fn a_group_keeps_infrastructure_with_the_host_and_does_not_run_on_through_it() {
    let blob = platreset_testkit::fixture("infrastructure");
    with(&blob, permissive(), |fdt, e| {
        let id = |p: &str| fdt.find_path(p).unwrap().id();
        let group = Group::of(e.topology(), id("/sata@70020000"));
        assert_eq!(
            group.members,
            [id("/pmc@7000e400/powergates/venc"), id("/sata@70020000"), id("/usb@70090000")]
        );
        let verdict = e.group_verdict(&group);
        let assigned: Vec<_> = verdict.assign.iter().map(|(n, _)| *n).collect();
        assert_eq!(assigned, [id("/sata@70020000"), id("/usb@70090000")], "the gate is never assigned");
        assert_eq!(verdict.host, [id("/pmc@7000e400/powergates/venc")]);
        assert!(!verdict.eligible(), "the gate keeps the line shared");
        for (node, v) in &verdict.assign {
            let [Reason::SharedLine { others, host, .. }] = shared_lines(&v.reasons)[..] else {
                panic!("{node:?}: {:?}", v.reasons)
            };
            assert_eq!(others, &["/pmc@7000e400/powergates/venc"], "only the gate is left outside");
            assert_eq!(host.len(), 1);
        }
        // The display gate's other line (the HDMI encoder's) does not join the display's group.
        let dc = Group::of(e.topology(), id("/host1x@50000000/dc@54200000"));
        assert_eq!(dc.members, [id("/pmc@7000e400/powergates/dis"), id("/host1x@50000000/dc@54200000")]);
        assert!(!dc.members.contains(&id("/host1x@50000000/hdmi@54280000")));
    });
}

#[test]
fn the_iommu_fix_says_when_iommus_cannot_be_added() {
    let blob = platreset_testkit::fixture("infrastructure");
    with(&blob, Options::default(), |fdt, e| {
        let serial = fdt.find_path("/apb@70000000/serial@70006000").unwrap().id();
        let place = e.iommu_place(serial);
        assert_eq!(
            place,
            IommuPlace::OffBus { bus: "/apb@70000000".into(), iommus: vec!["/iommu@12000000".into()] }
        );
        let fix = e.fix(serial, &Reason::NoIommu);
        assert!(fix.contains("no device on /apb@70000000 is behind an IOMMU"), "{fix}");
        assert!(fix.contains("/iommu@12000000"), "{fix}");
        // Beside a device that has iommus, adding one is the hint it always was.
        let vic = fdt.find_path("/host1x@50000000/vic@54340000").unwrap().id();
        assert_eq!(e.iommu_place(vic), IommuPlace::OnBus);
        assert_eq!(e.fix(vic, &Reason::NoIommu), Reason::NoIommu.fix());
    });
    let none = platreset_testkit::dtb_from_text(
        r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	rst: reset-controller@1000 { compatible = "acme,rst"; reg = <0x1000 0x100>; #reset-cells = <1>; };
	dma@2000 { compatible = "acme,dma"; reg = <0x2000 0x100>; resets = <&rst 1>; };
};
"#,
    );
    with(&none, Options::default(), |fdt, e| {
        let dma = fdt.find_path("/dma@2000").unwrap().id();
        assert_eq!(e.iommu_place(dma), IommuPlace::NoneInTree);
        let fix = e.fix(dma, &Reason::NoIommu);
        assert!(fix.contains("describes no IOMMU"), "{fix}");
        assert!(fix.contains("iommus cannot be added"), "{fix}");
        assert!(fix.contains("dma = false"), "{fix}");
    });
}

/// The Jetson TX1 (tegra210-p2371-2180): its PMC power gates have resets, the SOR, DSI and
/// DPAUX encoders share lines with the `sor` gate and the VIC with the `vic` gate.
#[test]
fn on_the_jetson_tx1_the_power_gates_are_infrastructure_and_their_sharers_are_told_so() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let blob = std::fs::read(corpus.join("arm64/nvidia/tegra210-p2371-2180.dtb")).unwrap();
    with(&blob, permissive(), |fdt, e| {
        for gate in ["sor", "vic", "xusba", "venc"] {
            let path = format!("/pmc@7000e400/powergates/{gate}");
            let v = e.verdict(fdt.find_path(&path).unwrap().id());
            assert_eq!(v.infrastructure, Some(Service::PowerGate), "{path}");
            assert!(!v.eligible());
        }
        for device in [
            "/host1x@50000000/dpaux@54040000",
            "/host1x@50000000/sor@54580000",
            "/host1x@50000000/vic@54340000",
        ] {
            let id = fdt.find_path(device).unwrap().id();
            let v = e.verdict(id);
            assert!(v.candidate(), "{device}");
            let [shared] = shared_lines(&v.reasons)[..] else { panic!("{device}: {:?}", v.reasons) };
            let fix = e.fix(id, shared);
            assert!(
                fix.contains("is a power gate") && !fix.contains("assign them together"),
                "{device}: {fix}"
            );
            let group = e.group_verdict(&Group::of(e.topology(), id));
            assert!(!group.host.is_empty() && !group.eligible(), "{device}: {group:?}");
            assert!(group.assign.iter().all(|(n, _)| e.infrastructure(*n).is_none()));
        }
    });
}

/// On every corpus board: no infrastructure node is eligible under every option, no group offers
/// one for assignment, and a board without an IOMMU node gets the fix that says so. Prints the
/// count of infrastructure nodes by kind.
#[test]
fn across_the_corpus_infrastructure_is_never_offered() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let mut by_kind = std::collections::BTreeMap::<&str, usize>::new();
    let (mut without_iommu, mut boards) = (0, 0);
    for file in platreset_testkit::dtbs_below(&corpus) {
        let blob = std::fs::read(&file).unwrap();
        let Ok(fdt) = Fdt::parse(&blob) else { continue };
        boards += 1;
        let topology = Topology::build(&fdt);
        let policy = Policy { options: permissive(), allowlist: Allowlist::builtin().unwrap() };
        let e = Evaluator::new(&policy, &topology, &[]);
        let no_iommu = topology.iommu_providers().is_empty();
        without_iommu += usize::from(no_iommu);
        for consumer in topology.consumers() {
            let v = e.verdict(consumer.node);
            if let Some(service) = consumer.service {
                *by_kind.entry(service.as_str()).or_default() += 1;
                assert!(!v.eligible(), "{} {}", file.display(), e.path(consumer.node));
                continue;
            }
            if consumer.lines().iter().any(|l| topology.user_count(l) > 1) {
                let group = e.group_verdict(&Group::of(&topology, consumer.node));
                assert!(
                    group.assign.iter().all(|(n, _)| e.infrastructure(*n).is_none()),
                    "{}",
                    file.display()
                );
            }
            if no_iommu {
                assert_eq!(e.iommu_place(consumer.node), IommuPlace::NoneInTree);
            }
        }
    }
    eprintln!(
        "{boards} boards, {without_iommu} without an IOMMU node; infrastructure with resets: {by_kind:?}"
    );
    assert!(by_kind.get("power-gate").copied().unwrap_or(0) > 10, "{by_kind:?}");
    assert!(without_iommu > 100, "{without_iommu}");
}
