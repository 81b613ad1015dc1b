//! Rule 4's evidence grades (issue 14, points 2 and 3): what the device's Linux driver does with
//! its reset, cited, compared with the node's lines, and what `--accept-evidence` accepts. The
//! fixture tests need nothing; the corpus test reads real nodes whose drivers were read by hand
//! (crates/policy/tests/evidence_data.rs has the file:line of each call) and skips, visibly,
//! without the corpus.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_fdt::Fdt;
use platreset_policy::allowlist::Allowlist;
use platreset_policy::grade::{AcceptEvidence, DriverEvidence, Grade, Hint, Lines};
use platreset_policy::policy::{Evaluator, Options, Policy, Reason, Verdict};
use platreset_topology::Topology;

/// Devices behind an IOMMU on dedicated lines of a controller platreset resets, so that rule 4
/// alone decides: an R-Car SDHI (recovery-reset), the same with a second line, an RK3399 dw_mmc
/// (probe-reset, its line named "reset") and one without reset-names, a Rockchip CSI D-PHY whose
/// driver gets its reset and never uses it, a compatible no driver lists, and an SDHI without
/// an IOMMU.
const BOARD: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	compatible = "acme,board";
	cpg: clock-controller@e6150000 {
		compatible = "renesas,r8a774a1-cpg-mssr";
		reg = <0xe6150000 0x1000>;
		#reset-cells = <1>;
	};
	smmu: iommu@2000 {
		compatible = "arm,mmu-500";
		reg = <0x2000 0x1000>;
		#iommu-cells = <1>;
	};
	mmc@10000 {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		reg = <0x10000 0x100>;
		resets = <&cpg 314>;
		iommus = <&smmu 1>;
	};
	mmc@11000 {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		reg = <0x11000 0x100>;
		resets = <&cpg 313>, <&cpg 312>;
		iommus = <&smmu 2>;
	};
	mmc@12000 {
		compatible = "rockchip,rk3399-dw-mshc", "rockchip,rk3288-dw-mshc";
		reg = <0x12000 0x100>;
		resets = <&cpg 311>;
		reset-names = "reset";
		iommus = <&smmu 3>;
	};
	mmc@13000 {
		compatible = "rockchip,rk3399-dw-mshc", "rockchip,rk3288-dw-mshc";
		reg = <0x13000 0x100>;
		resets = <&cpg 310>;
		iommus = <&smmu 4>;
	};
	phy@14000 {
		compatible = "rockchip,rk3326-csi-dphy";
		reg = <0x14000 0x100>;
		resets = <&cpg 309>;
		reset-names = "apb";
		iommus = <&smmu 5>;
	};
	widget@15000 {
		compatible = "acme,widget";
		reg = <0x15000 0x100>;
		resets = <&cpg 308>;
		iommus = <&smmu 6>;
	};
	mmc@16000 {
		compatible = "renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi";
		reg = <0x16000 0x100>;
		resets = <&cpg 307>;
	};
};
"#;

/// Runs `check` with the verdict-maker of BOARD under `options`.
fn on_board<R>(
    options: Options,
    check: impl FnOnce(&dyn Fn(&str) -> Verdict, &Evaluator<'_, '_, '_, '_>, &Fdt<'_>) -> R,
) -> R {
    let blob = platreset_testkit::dtb_from_text(BOARD);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = Policy { options, allowlist: Allowlist::builtin().unwrap() };
    let e = Evaluator::new(&policy, &topology, &[]);
    let verdict = |path: &str| e.verdict(fdt.find_path(path).unwrap().id());
    check(&verdict, &e, &fdt)
}

fn accepting(accept: AcceptEvidence) -> Options {
    Options { accept_evidence: Some(accept), ..Options::default() }
}

/// The one refusal, rule 4's: its driver evidence and hint.
fn unproven(v: &Verdict) -> (DriverEvidence, Option<Hint>) {
    match v.reasons.as_slice() {
        [Reason::QuiescenceUnproven { driver, hint }] => (*driver, *hint),
        other => panic!("not only rule 4: {other:?}"),
    }
}

#[test]
fn by_default_no_driver_grade_proves_quiescence_and_the_refusal_says_what_the_option_would_change() {
    on_board(Options::default(), |verdict, _, _| {
        let v = verdict("/mmc@10000");
        let (DriverEvidence::Found(k), hint) = unproven(&v) else { panic!("{v:?}") };
        assert_eq!(
            (k.label(), k.compatible, k.lines),
            ("kernel-driver-recovery", "renesas,rcar-gen3-sdhi", Lines::All)
        );
        assert_eq!(k.citation(), "drivers/mmc/host/renesas_sdhi_core.c:588 (renesas_sdhi_reset)");
        assert_eq!(hint, Some(Hint { option: "kernel-driver", eligible: true }));
        let text = v.reasons[0].to_string();
        assert!(text.starts_with("resettable, quiescence unproven: nothing records that its reset stops DMA and interrupts; its Linux driver renesas_internal_dmac_sdhi_driver (renesas,rcar-gen3-sdhi) is recovery-reset: reset_control_reset in renesas_sdhi_reset (drivers/mmc/host/renesas_sdhi_core.c:588); it takes the node's only line"), "{text}");
        assert!(
            text.ends_with("; with --accept-evidence kernel-driver this device would be eligible"),
            "{text}"
        );

        let dw = verdict("/mmc@12000");
        let (DriverEvidence::Found(k), hint) = unproven(&dw) else { panic!("{dw:?}") };
        assert_eq!(
            (k.label(), k.citation().as_str()),
            ("kernel-driver-probe", "drivers/mmc/host/dw_mmc.c:3427 (dw_mci_probe)")
        );
        assert_eq!(hint, Some(Hint { option: "kernel-driver-probe", eligible: true }));

        let no_iommu = verdict("/mmc@16000");
        assert_eq!(no_iommu.reasons.len(), 2, "{no_iommu:?}");
        let Reason::QuiescenceUnproven { hint, .. } = &no_iommu.reasons[0] else { panic!("{no_iommu:?}") };
        assert_eq!(*hint, Some(Hint { option: "kernel-driver", eligible: false }));
        assert!(no_iommu.reasons[0].to_string().ends_with(
            "; --accept-evidence kernel-driver would accept this evidence (other rules still refuse the device)"
        ));
    });
}

#[test]
fn kernel_driver_accepts_a_recovery_reset_taking_every_line_and_nothing_weaker() {
    on_board(accepting(AcceptEvidence::KernelDriver), |verdict, e, fdt| {
        let v = verdict("/mmc@10000");
        assert!(v.eligible() && v.warnings.is_empty(), "{v:?}");
        let Grade::KernelDriver(k) = e.grade(fdt.find_path("/mmc@10000").unwrap().id(), &v.method) else {
            panic!()
        };
        assert_eq!(k.label(), "kernel-driver-recovery");
        let (_, hint) = unproven(&verdict("/mmc@12000"));
        assert_eq!(
            hint,
            Some(Hint { option: "kernel-driver-probe", eligible: true }),
            "probe-reset is weaker"
        );
        let (DriverEvidence::Found(two), hint) = unproven(&verdict("/mmc@11000")) else { panic!() };
        assert_eq!((two.lines, hint), (Lines::Missing { first: 1, count: 1 }, None), "line 1 is never taken");
        assert!(verdict("/mmc@11000").reasons[0]
            .to_string()
            .contains("it does not take 1 of the 2 lines (first: line 1)"));
    });
    on_board(accepting(AcceptEvidence::KernelDriverRecovery), |verdict, _, _| {
        assert!(verdict("/mmc@10000").eligible());
        assert!(!verdict("/mmc@12000").eligible());
    });
}

#[test]
fn kernel_driver_probe_accepts_a_pulse_at_probe_but_never_a_line_the_driver_does_not_name() {
    on_board(accepting(AcceptEvidence::KernelDriverProbe), |verdict, _, _| {
        assert!(verdict("/mmc@10000").eligible(), "a stronger grade is accepted too");
        assert!(verdict("/mmc@12000").eligible());
        let (DriverEvidence::Found(k), hint) = unproven(&verdict("/mmc@13000")) else { panic!() };
        assert_eq!(
            (k.lines, hint),
            (Lines::Missing { first: 0, count: 1 }, None),
            "no reset-names: the named getter gets nothing"
        );
        assert_eq!(k.lines_label(), "none");
    });
}

#[test]
fn a_driver_that_never_uses_its_reset_and_a_compatible_no_driver_lists_are_never_accepted() {
    on_board(accepting(AcceptEvidence::KernelDriverProbe), |verdict, e, fdt| {
        let v = verdict("/phy@14000");
        let (DriverEvidence::Found(k), hint) = unproven(&v) else { panic!("{v:?}") };
        assert_eq!((k.label(), hint), ("kernel-driver-unused", None));
        assert_eq!(
            k.citation(),
            "drivers/phy/rockchip/phy-rockchip-inno-csidphy.c:438 (rockchip_inno_csidphy_probe)"
        );
        assert!(v.reasons[0]
            .to_string()
            .contains("it gets the reset (devm_reset_control_get in rockchip_inno_csidphy_probe"));
        let widget = verdict("/widget@15000");
        assert_eq!(unproven(&widget), (DriverEvidence::NoDriver, None));
        assert!(widget.reasons[0].to_string().ends_with("; no Linux driver lists its compatibles"));
        let node = fdt.find_path("/widget@15000").unwrap().id();
        assert_eq!(e.grade(node, &widget.method).label(), "none");
    });
}

#[test]
fn trust_reset_still_waives_rule_4_as_a_warning_with_the_grade_in_it_and_no_hint() {
    on_board(Options { trust_reset: true, ..Options::default() }, |verdict, _, _| {
        let v = verdict("/mmc@12000");
        assert!(v.eligible());
        let [Reason::QuiescenceUnproven { driver: DriverEvidence::Found(k), hint: None }] =
            v.warnings.as_slice()
        else {
            panic!("{v:?}")
        };
        assert_eq!(k.label(), "kernel-driver-probe");
    });
}

#[test]
fn an_allowlist_entry_outranks_the_driver_and_its_kind_is_the_grade() {
    let blob = platreset_testkit::fixture("policy");
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = Policy { options: Options::default(), allowlist: Allowlist::builtin().unwrap() };
    let e = Evaluator::new(&policy, &topology, &[]);
    let node = fdt.find_path("/sata@ee300000").unwrap().id();
    let v = e.verdict(node);
    assert!(v.eligible());
    let grade = e.grade(node, &v.method);
    assert!(matches!(grade, Grade::Allowlist(_)), "{grade:?}");
    assert_eq!(grade.label(), "hardware");
}

/// A corpus node and what its driver must be.
struct Known {
    file: &'static str,
    node: &'static str,
    driver: &'static str,
    label: &'static str,
    citation: &'static str,
    lines: &'static str,
    /// The weakest `--accept-evidence` value that accepts it, if one does.
    accepted_with: Option<AcceptEvidence>,
}

#[test]
fn real_corpus_nodes_get_the_grade_and_citation_of_the_driver_read_by_hand() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let known = [
        // renesas_sdhi_core.c: renesas_sdhi_reset (installed as host->reset, called by the TMIO
        // core on errors and timeouts) pulses the node's only line with reset_control_reset.
        Known {
            file: "arm64/renesas/r8a774a1-hihope-rzg2m-rev2.dtb",
            node: "/soc/mmc@ee100000",
            driver: "renesas_internal_dmac_sdhi_driver",
            label: "kernel-driver-recovery",
            citation: "drivers/mmc/host/renesas_sdhi_core.c:588 (renesas_sdhi_reset)",
            lines: "all",
            accepted_with: Some(AcceptEvidence::KernelDriver),
        },
        // dw_mmc.c: dw_mci_probe asserts "reset", usleep_range(10, 50), deasserts; only at probe.
        Known {
            file: "arm64/rockchip/rk3399-evb.dtb",
            node: "/mmc@fe310000",
            driver: "dw_mci_rockchip_pltfm_driver",
            label: "kernel-driver-probe",
            citation: "drivers/mmc/host/dw_mmc.c:3427 (dw_mci_probe)",
            lines: "all",
            accepted_with: Some(AcceptEvidence::KernelDriverProbe),
        },
        // stmmac_main.c: stmmac_dvr_probe pulses stmmac_rst, named STMMAC_RESOURCE_NAME (a macro,
        // not expanded): whether "stmmaceth" is taken is unknown, so nothing accepts it.
        Known {
            file: "armhf/meson8b-ec100.dtb",
            node: "/soc/ethernet@c9410000",
            driver: "meson8b_dwmac_driver",
            label: "kernel-driver-probe",
            citation: "drivers/net/ethernet/stmicro/stmmac/stmmac_main.c:7327 (stmmac_dvr_probe)",
            lines: "unknown",
            accepted_with: None,
        },
        // gpio-rcar.c calls no reset API: the node's line is never touched by its driver.
        Known {
            file: "arm64/renesas/r8a774a1-hihope-rzg2m-rev2.dtb",
            node: "/soc/gpio@e6050000",
            driver: "gpio_rcar_device_driver",
            label: "kernel-driver-unused",
            citation: "drivers/gpio/gpio-rcar.c:665 (gpio_rcar_device_driver)",
            lines: "none",
            accepted_with: None,
        },
    ];
    let strict = Policy { options: Options::default(), allowlist: Allowlist::builtin().unwrap() };
    for k in known {
        let blob = std::fs::read(corpus.join(k.file)).unwrap();
        let fdt = Fdt::parse(&blob).unwrap();
        let topology = Topology::build(&fdt);
        let node = fdt.find_path(k.node).unwrap_or_else(|e| panic!("{} {}: {e}", k.file, k.node)).id();
        let e = Evaluator::new(&strict, &topology, &[]);
        let v = e.verdict(node);
        let Grade::KernelDriver(found) = e.grade(node, &v.method) else { panic!("{}: {v:?}", k.node) };
        let at = format!("{} {}", k.file, k.node);
        assert_eq!(
            (found.driver.name, found.label(), found.citation().as_str(), found.lines_label()),
            (k.driver, k.label, k.citation, k.lines),
            "{at}"
        );
        let rule_4 = v.reasons.iter().find(|r| matches!(r, Reason::QuiescenceUnproven { .. }));
        let text = rule_4.unwrap_or_else(|| panic!("{at}: {v:?}")).to_string();
        assert!(text.contains(found.citation().split(' ').next().unwrap()), "{at}: {text}");
        for accept in AcceptEvidence::ALL {
            let policy = Policy {
                options: Options { accept_evidence: Some(accept), ..Options::default() },
                ..strict.clone()
            };
            let v = Evaluator::new(&policy, &topology, &[]).verdict(node);
            let passes = !v.reasons.iter().any(|r| matches!(r, Reason::QuiescenceUnproven { .. }));
            // Accepted by every value at least as lenient as the weakest one that accepts it.
            let expected = k.accepted_with.is_some_and(|weakest| accept.weakest() <= weakest.weakest());
            assert_eq!(passes, expected, "{at} with {}", accept.as_str());
        }
    }
}
