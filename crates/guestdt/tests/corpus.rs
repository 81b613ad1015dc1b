//! Every target on the corpus devices the policy finds eligible (trusting quiescence, since the
//! allowlist records it for no corpus device): each either builds or refuses with every reason,
//! naming the property or the limit; the flags a refusal suggests make the node readable; every
//! output is walked for host phandles (supplies' included).

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use platreset_dtedit::{from_fdt, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{
    avf, crosvm, qemu, xen, Action, GuestError, HostDevice, HostError, Output, Overrides, TargetOptions,
};
use platreset_policy::allowlist::Allowlist;
use platreset_policy::policy::{Evaluator, Options, Policy};
use platreset_topology::Topology;

/// Properties that hold phandles on a host (and every `*-supply`): in a guest they may only point
/// inside the guest tree.
const PHANDLE_PROPS: [&str; 8] = [
    "clocks",
    "iommus",
    "interrupt-parent",
    "resets",
    "phy-handle",
    "snps,axi-config",
    "snps,mtl-rx-config",
    "snps,mtl-tx-config",
];

fn phandles(node: &DtNode, out: &mut Vec<u32>) {
    for p in &node.props {
        if (p.name == "phandle" || p.name == "linux,phandle") && p.value.len() == 4 {
            out.push(u32::from_be_bytes([p.value[0], p.value[1], p.value[2], p.value[3]]));
        }
    }
    for c in &node.children {
        phandles(c, out);
    }
}

/// Every phandle-holding property of `node` points at a phandle `defined` (or a fixed one).
fn check_phandles(node: &DtNode, defined: &[u32], fixed: &[u32], at: &str) {
    for p in &node.props {
        if !PHANDLE_PROPS.contains(&p.name.as_str()) && !p.name.ends_with("-supply") {
            continue;
        }
        assert_ne!(p.name, "resets", "{at}: a guest node with resets");
        let cells: Vec<u32> =
            p.value.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect();
        // Guest clocks (`#clock-cells = <0>`) and regulators: every cell is a phandle. IOMMU
        // specifiers (AVF's /host) and interrupt-parent: the first cell is.
        let holders = if p.name == "clocks" || p.name.ends_with("-supply") {
            &cells[..]
        } else {
            &cells[..cells.len().min(1)]
        };
        for phandle in holders {
            assert!(
                defined.contains(phandle) || fixed.contains(phandle),
                "{at}/{}: {} holds phandle {phandle:#x}, which is not in the guest",
                node.name,
                p.name
            );
        }
    }
    // The overlay bookkeeping nodes hold offsets and paths, not phandles.
    for c in node
        .children
        .iter()
        .filter(|c| !matches!(c.name.as_str(), "__local_fixups__" | "__fixups__" | "__symbols__"))
    {
        check_phandles(c, defined, fixed, &format!("{at}/{}", node.name));
    }
}

fn walk(output: &Output, fixed: &[u32], at: &str) {
    for (suffix, bytes) in &output.files {
        if !(suffix.ends_with(".dtb") || suffix.ends_with(".dtbo")) {
            continue;
        }
        let fdt = Fdt::parse(bytes).unwrap_or_else(|e| panic!("{at}{suffix}: {e}"));
        let tree = from_fdt(&fdt);
        let mut defined = Vec::new();
        phandles(&tree, &mut defined);
        let mut distinct = defined.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), defined.len(), "{at}{suffix}: a phandle held by two nodes");
        // Overlay references resolved at application are listed in __fixups__: not host phandles.
        if tree.child("__fixups__").is_some() {
            continue;
        }
        check_phandles(&tree, &defined, fixed, at);
    }
}

/// Every target's result for `devices` (a whole guest DTB for QEMU, on its `virt` base).
fn build_all(devices: &[HostDevice], qemu_base: &DtNode) -> [(&'static str, Result<Output, GuestError>); 4] {
    let options = TargetOptions { base: None, ..TargetOptions::default() };
    [
        ("qemu", {
            let mut root = qemu_base.clone();
            qemu::place(&mut root, devices, Some(0x8002)).map(|placed| Output {
                files: vec![(".dtb".into(), platreset_dtedit::to_dtb(&root, &Default::default()).unwrap())],
                placed,
                ..Output::default()
            })
        }),
        ("crosvm", crosvm::build(devices, &options)),
        ("xen", xen::build(devices, &options)),
        ("avf", avf::build(devices, &options)),
    ]
}

/// The kind of one problem of a refused node, for the counts.
fn problem_key(problem: &HostError) -> String {
    match problem {
        HostError::Refused { property, .. } => format!("property {property}"),
        HostError::Subnodes { why, .. } => {
            format!("subnode: {}", why.split([':', ',', '(']).next().unwrap_or_default().trim())
        }
        HostError::Irq { .. } => "interrupts".into(),
        other => other.to_string().split(": ").nth(1).unwrap_or_default().to_string(),
    }
}

#[test]
fn every_target_builds_or_names_why_for_every_eligible_corpus_device() {
    let Some(corpus) = platreset_testkit::corpus_dir() else { return };
    let policy = Policy {
        options: Options { trust_reset: true, ..Options::default() },
        allowlist: Allowlist::builtin().unwrap(),
    };
    let qemu_base = from_fdt(&Fdt::parse(&platreset_testkit::qemu_virt_dtb()).unwrap());
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut reasons: BTreeMap<(&str, String), usize> = BTreeMap::new();
    for file in platreset_testkit::dtbs_below(&corpus) {
        let blob = std::fs::read(&file).unwrap();
        let Ok(fdt) = Fdt::parse(&blob) else { continue };
        let topology = Topology::build(&fdt);
        let evaluator = Evaluator::new(&policy, &topology, &[]);
        let tree = Tree::new(&fdt);
        for consumer in topology.consumers().iter().filter(|c| c.is_enabled()) {
            if !evaluator.verdict(consumer.node).eligible() {
                continue;
            }
            let node = fdt.node(consumer.node).unwrap();
            let at = format!("{} {}", file.display(), node.path());
            if node.properties().any(|p| p.name().ends_with(b"-supply")) {
                *counts.entry(("all", "with a *-supply")).or_default() += 1;
            }
            // A refusal whose printed command drops a clock or reset the guest driver requires
            // builds a tree that driver cannot probe on: counted apart.
            let mut lacks_required = false;
            let (device, suggested) = match HostDevice::read(&tree, &node, &Overrides::default()) {
                Ok(d) => (d, false),
                Err(e) => {
                    lacks_required = e.problems().iter().any(|p| {
                        matches!(p, HostError::Refused { guest_driver: Some(need), .. } if need.is_required())
                    });
                    for problem in e.problems() {
                        let why = problem.to_string();
                        assert!(
                            why.contains("property ")
                                || why.contains("subnode")
                                || why.contains("interrupt")
                                || why.contains("reg"),
                            "{at}: {why}"
                        );
                        *reasons.entry(("all", problem_key(problem))).or_default() += 1;
                    }
                    for target in ["qemu", "crosvm", "xen", "avf"] {
                        *counts.entry((target, "refused")).or_default() += 1;
                    }
                    // The flags the refusal suggests make the node readable, every time; the
                    // targets then build it (or name their own limit).
                    let Some(lifted) = e.lifted(&Overrides::default()) else { continue };
                    let read = HostDevice::read(&tree, &node, &lifted);
                    assert!(read.is_ok(), "{at}: still refused with {:?}: {read:?}", lifted.drop);
                    (read.unwrap(), true)
                }
            };
            if device.decisions.iter().any(|d| matches!(d.action, Action::FixedRegulator(_))) {
                *counts.entry(("all", "supplies placed")).or_default() += 1;
            }
            for (target, result) in build_all(&[device], &qemu_base) {
                match result {
                    Ok(output) => {
                        walk(&output, &[0xfde8, 0x8002], &at);
                        let how = if suggested { "built with the suggested flags" } else { "built" };
                        *counts.entry((target, how)).or_default() += 1;
                        if lacks_required {
                            *counts
                                .entry((target, "of which the guest driver lacks a clock or reset"))
                                .or_default() += 1;
                        }
                    }
                    Err(e) if suggested => {
                        *counts.entry((target, "refused even with the suggested flags")).or_default() += 1;
                        let key = e.to_string().chars().take(60).collect();
                        *reasons.entry((target, key)).or_default() += 1;
                    }
                    Err(e) => {
                        *counts.entry((target, "refused")).or_default() += 1;
                        let why = e.to_string();
                        let key =
                            why.split(": ").take(2).collect::<Vec<_>>().join(": ").chars().take(60).collect();
                        *reasons.entry((target, key)).or_default() += 1;
                    }
                }
            }
        }
    }
    eprintln!("guest-dt on eligible corpus devices (trusting quiescence):");
    for ((target, what), n) in &counts {
        eprintln!("  {target}: {n} {what}");
    }
    eprintln!("problems of the refused devices, and target refusals:");
    for ((target, why), n) in reasons.iter().filter(|(_, n)| **n > 1) {
        eprintln!("  {target}: {n} × {why}");
    }
    for target in ["qemu", "crosvm", "xen"] {
        assert!(counts.get(&(target, "built")).copied().unwrap_or(0) >= 72, "{target}: {counts:?}");
    }
    // The README's figures are these.
    let readme = std::fs::read_to_string(platreset_testkit::repo_root().join("README.md")).unwrap();
    let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let eligible = counts.get(&("qemu", "built")).copied().unwrap_or(0)
        + counts.get(&("qemu", "refused")).copied().unwrap_or(0);
    let built = counts.get(&("qemu", "built")).copied().unwrap_or(0);
    for figure in [
        format!("of the {eligible} enabled devices"),
        format!(
            "**{built} ({}%) build for QEMU, crosvm and Xen as they are**",
            built * 100 / eligible.max(1)
        ),
        format!("({} for AVF,", counts.get(&("avf", "built")).copied().unwrap_or(0)),
        format!("stops the other {} is", counts.get(&("qemu", "refused")).copied().unwrap_or(0)),
        format!("{} have clocks", reasons.get(&("all", "property clocks".to_string())).copied().unwrap_or(0)),
        format!(
            "{} Qualcomm UFS hosts",
            reasons.get(&("all", "property phys".to_string())).copied().unwrap_or(0)
        ),
        format!(
            "builds {} of them",
            counts.get(&("qemu", "built with the suggested flags")).copied().unwrap_or(0)
        ),
        format!(
            "{} of those the guest driver fails its probe",
            counts.get(&("qemu", "of which the guest driver lacks a clock or reset")).copied().unwrap_or(0)
        ),
        format!(
            "{} need a reset line",
            reasons.get(&("all", "property resets".to_string())).copied().unwrap_or(0)
        ),
        format!(
            "{} H6 video engines claim SRAM",
            reasons.get(&("all", "property allwinner,sram".to_string())).copied().unwrap_or(0)
        ),
        format!(
            "{} of the {} devices with a `*-supply`",
            counts.get(&("all", "supplies placed")).copied().unwrap_or(0),
            counts.get(&("all", "with a *-supply")).copied().unwrap_or(0)
        ),
    ] {
        assert!(readme.contains(&figure), "README.md's guest-dt corpus paragraph lacks `{figure}`");
    }
    // What still stops a device is what the tree alone cannot settle: a rate the host's clock
    // driver computes at run time, a PHY the driver requires (another host device), a firmware
    // carve-out, a graph to other host devices, a child that is a device of its own.
    let settled_elsewhere = [
        "property clocks",
        "property phys",
        "property memory-region",
        "property allwinner,sram",
        "property resets",
        "subnode: an OF graph",
        "subnode: a device of its own",
    ];
    for (target, why) in reasons.keys().filter(|(target, _)| *target == "all") {
        assert!(settled_elsewhere.contains(&why.as_str()), "{target}: {why}: {reasons:?}");
    }
    assert!(
        counts.get(&("qemu", "built with the suggested flags")).copied().unwrap_or(0) >= 40,
        "the suggested flags build most nodes that only properties stopped: {counts:?}"
    );
    assert!(
        !reasons.keys().any(|(_, why)| why.ends_with("-supply")),
        "supplies become guest regulators: {reasons:?}"
    );
}
