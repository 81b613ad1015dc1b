//! Every target on the corpus devices the policy finds eligible (trusting quiescence, since the
//! allowlist records it for no corpus device): each either builds or refuses with a reason that
//! names the property or the limit; every output is walked for host phandles.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use platreset_dtedit::{from_fdt, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{avf, crosvm, qemu, xen, GuestError, HostDevice, Output, Overrides, TargetOptions};
use platreset_policy::allowlist::Allowlist;
use platreset_policy::policy::{Evaluator, Options, Policy};
use platreset_topology::Topology;

/// Properties that hold phandles on a host: in a guest they may only point inside the guest tree.
const PHANDLE_PROPS: [&str; 4] = ["clocks", "iommus", "interrupt-parent", "resets"];

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
        if !PHANDLE_PROPS.contains(&p.name.as_str()) {
            continue;
        }
        assert_ne!(p.name, "resets", "{at}: a guest node with resets");
        // The first cell of each specifier is a phandle; guest clocks and IOMMUs have at most
        // one argument cell, so checking every cell that is not a small argument is enough.
        let first = u32::from_be_bytes([p.value[0], p.value[1], p.value[2], p.value[3]]);
        assert!(
            defined.contains(&first) || fixed.contains(&first),
            "{at}/{}: phandle {first:#x} is not in the guest",
            node.name
        );
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
        // Overlay references resolved at application are listed in __fixups__: not host phandles.
        if tree.child("__fixups__").is_some() {
            continue;
        }
        check_phandles(&tree, &defined, fixed, at);
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
            let device = match HostDevice::read(&tree, &node, &Overrides::default()) {
                Ok(d) => d,
                Err(e) => {
                    let why = e.to_string();
                    assert!(
                        why.contains("property ")
                            || why.contains("subnodes")
                            || why.contains("interrupt")
                            || why.contains("reg"),
                        "{at}: {why}"
                    );
                    for target in ["qemu", "crosvm", "xen", "avf"] {
                        *counts.entry((target, "refused")).or_default() += 1;
                    }
                    let key = why
                        .split(": ")
                        .nth(1)
                        .unwrap_or_default()
                        .split(' ')
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" ");
                    *reasons.entry(("all", key)).or_default() += 1;
                    continue;
                }
            };
            let devices = [device];
            let options = TargetOptions { base: None, ..TargetOptions::default() };
            let results: [(&str, Result<Output, GuestError>); 4] = [
                ("qemu", {
                    let mut root = qemu_base.clone();
                    qemu::place(&mut root, &devices, Some(0x8002)).map(|placed| Output {
                        files: vec![(
                            ".dtb".into(),
                            platreset_dtedit::to_dtb(&root, &Default::default()).unwrap(),
                        )],
                        placed,
                        ..Output::default()
                    })
                }),
                ("crosvm", crosvm::build(&devices, &options)),
                ("xen", xen::build(&devices, &options)),
                ("avf", avf::build(&devices, &options)),
            ];
            for (target, result) in results {
                match result {
                    Ok(output) => {
                        walk(&output, &[0xfde8, 0x8002], &at);
                        *counts.entry((target, "built")).or_default() += 1;
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
    eprintln!("guest-dt on eligible corpus devices (trusting quiescence): {counts:?}");
    for ((target, why), n) in reasons.iter().filter(|(_, n)| **n > 5) {
        eprintln!("  {target}: {n} × {why}");
    }
    assert!(counts.get(&("qemu", "built")).copied().unwrap_or(0) >= 50, "{counts:?}");
}
