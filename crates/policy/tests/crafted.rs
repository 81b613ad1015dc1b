//! The policy on crafted trees (issue 16, point 6): a line shared by ten thousand nodes is named
//! up to [`SHARERS_NAMED`] sharers with the count beside, every verdict, every node's sharers and
//! the group closure stay linear in the tree, and the names are exactly the first ones by path.
//! Work is bounded by counting the users visited ([`Topology::sharing_work`]), never by timing.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;

use platreset_fdt::{Fdt, NodeId};
use platreset_policy::allowlist::Allowlist;
use platreset_policy::group::Group;
use platreset_policy::policy::{Evaluator, Options, Policy, Reason};
use platreset_topology::{Topology, SHARERS_NAMED};

/// One reset controller (phandle 1, `#reset-cells = <1>`) and a device per entry of `devices`:
/// (line ids, enabled). Devices sit 100 to a bus (dtc's parser runs out of stack on ten thousand
/// siblings); their unit addresses are hex, so path order is not document order
/// (`device@10` sorts before `device@a`). Paths: /bus@B/device@N.
fn tree(devices: &[(Vec<u32>, bool)]) -> Vec<u8> {
    let mut dts = String::from(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \treset-controller@1000 {\n\t\tcompatible = \"acme,reset\";\n\
         \t\treg = <0x1000 0x100>;\n\t\tphandle = <1>;\n\t\t#reset-cells = <1>;\n\t};\n",
    );
    for (bus, chunk) in devices.chunks(100).enumerate() {
        writeln!(dts, "\tbus@{bus:x} {{\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;").unwrap();
        for (i, (lines, enabled)) in chunk.iter().enumerate() {
            let n = bus * 100 + i;
            let resets: Vec<String> = lines.iter().map(|id| format!("1 {id}")).collect();
            let status = if *enabled { "" } else { "status = \"disabled\"; " };
            writeln!(
                dts,
                "\t\tdevice@{n:x} {{ reg = <{n:#x} 1>; {status}resets = <{}>; }};",
                resets.join(" ")
            )
            .unwrap();
        }
        dts.push_str("\t};\n");
    }
    dts.push_str("};\n");
    platreset_testkit::dtb_from_text(&dts)
}

fn policy() -> Policy {
    Policy { options: Options::default(), allowlist: Allowlist::builtin().unwrap() }
}

fn shared_lines(reasons: &[Reason]) -> Vec<&Reason> {
    reasons.iter().filter(|r| matches!(r, Reason::SharedLine { .. })).collect()
}

/// The other users of `line` of `node`, by path then document order: the plain definition.
fn others_by_path(fdt: &Fdt<'_>, topology: &Topology<'_, '_>, node: NodeId, line: usize) -> Vec<String> {
    let line = topology.consumer(node).unwrap().lines()[line];
    let mut others: Vec<(String, NodeId)> =
        topology.users_of(&line).filter(|&n| n != node).map(|n| (fdt.node(n).unwrap().path(), n)).collect();
    others.sort();
    others.into_iter().map(|(p, _)| p).collect()
}

#[test]
fn ten_thousand_nodes_on_one_line_are_judged_named_and_grouped_in_linear_work() {
    let blob = tree(&vec![(vec![7], true); 10_000]);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = policy();
    let evaluator = Evaluator::new(&policy, &topology, &[]);
    let first = topology.consumers()[0].node;
    let expected = others_by_path(&fdt, &topology, first, 0);
    let before = topology.sharing_work();

    for consumer in topology.consumers() {
        let verdict = evaluator.verdict(consumer.node);
        let [Reason::SharedLine { others, count, only_disabled, .. }] = shared_lines(&verdict.reasons)[..]
        else {
            panic!("{:?}", verdict.reasons)
        };
        assert_eq!((others.len(), *count, *only_disabled), (SHARERS_NAMED, 9_999, false));
        let sharers = evaluator.sharers(consumer);
        assert_eq!((sharers.named.len(), sharers.count, sharers.truncated()), (SHARERS_NAMED, 9_999, true));
    }
    let verdict = evaluator.verdict(first);
    let [Reason::SharedLine { others, .. }] = shared_lines(&verdict.reasons)[..] else { panic!() };
    assert_eq!(others[..], expected[..SHARERS_NAMED], "the first sharers by path");
    let text = verdict.reasons[1].to_string();
    assert!(text.starts_with("reset line 0 (/reset-controller@1000 [7]) is shared with 9999 other nodes: "));
    assert!(text.ends_with(&format!("{} and 9935 more", expected[SHARERS_NAMED - 1])), "{text}");

    let group = Group::of(&topology, first);
    assert_eq!(group.members.len(), 10_000);
    let together = evaluator.group_verdict(&group);
    assert_eq!(together.assign.len(), 10_000);
    assert!(together.assign.iter().all(|(_, v)| shared_lines(&v.reasons).is_empty()));

    // Ten thousand verdicts, sharer lists and a group of ten thousand: the line's users were
    // visited a handful of times in all (first names, the closure, who is outside the group),
    // where naming every sharer in every verdict visited them ten thousand times.
    let work = topology.sharing_work() - before;
    assert!(work <= 4 * 10_000, "{work} users visited");
}

#[test]
fn a_crowded_line_shared_only_with_disabled_nodes_may_still_be_accepted() {
    let mut devices = vec![(vec![3], true)];
    devices.extend(std::iter::repeat_n((vec![3], false), 199));
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = policy();
    let evaluator = Evaluator::new(&policy, &topology, &[]);
    let verdict = evaluator.verdict(topology.consumers()[0].node);
    let [Reason::SharedLine { count, only_disabled, .. }] = shared_lines(&verdict.reasons)[..] else {
        panic!("{:?}", verdict.reasons)
    };
    assert_eq!((*count, *only_disabled), (199, true));
    assert!(verdict.reasons[1].to_string().contains("is shared only with 199 disabled nodes: "));
    let disabled = evaluator.verdict(topology.consumers()[1].node);
    let [Reason::SharedLine { only_disabled, .. }] = shared_lines(&disabled.reasons)[..] else { panic!() };
    assert!(!only_disabled, "one sharer of a disabled node is enabled");
}

#[test]
fn named_sharers_are_the_first_by_path_on_every_line_and_in_every_list() {
    // 300 nodes: all on line 1 (crowded), thirds on lines 2..5, pairs on 100 + n / 2, some
    // listing a line twice; every other one disabled.
    let devices: Vec<(Vec<u32>, bool)> = (0..300u32)
        .map(|n| {
            let mut lines = vec![1, 2 + n % 3, 100 + n / 2];
            if n % 11 == 0 {
                lines.push(1);
            }
            (lines, n % 2 == 0)
        })
        .collect();
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let policy = policy();
    let evaluator = Evaluator::new(&policy, &topology, &[]);
    for consumer in topology.consumers() {
        let node = consumer.node;
        let verdict = evaluator.verdict(node);
        for reason in shared_lines(&verdict.reasons) {
            let Reason::SharedLine { index, others, count, .. } = reason else { unreachable!() };
            let all = others_by_path(&fdt, &topology, node, *index);
            assert_eq!(*count, all.len());
            assert_eq!(others[..], all[..all.len().min(SHARERS_NAMED)]);
        }
        let mut all: Vec<(String, NodeId)> =
            topology.shared_with(consumer).into_iter().map(|n| (fdt.node(n).unwrap().path(), n)).collect();
        all.sort();
        let sharers = evaluator.sharers(consumer);
        let named: Vec<NodeId> = all.iter().take(SHARERS_NAMED).map(|(_, n)| *n).collect();
        assert_eq!((sharers.named, sharers.count), (named, all.len()));

        // Assigned with a few others, the rest of each line is still named the same way.
        let mut together: Vec<NodeId> = topology.consumers().iter().step_by(7).map(|c| c.node).collect();
        together.push(node);
        together.sort_unstable();
        together.dedup();
        let apart = evaluator.verdict_with(node, &together);
        for reason in shared_lines(&apart.reasons) {
            let Reason::SharedLine { index, others, count, .. } = reason else { unreachable!() };
            let line = consumer.lines()[*index];
            let mut rest: Vec<(String, NodeId)> = topology
                .users_of(&line)
                .filter(|n| together.binary_search(n).is_err())
                .map(|n| (fdt.node(n).unwrap().path(), n))
                .collect();
            rest.sort();
            assert_eq!(*count, rest.len());
            let first: Vec<String> = rest.into_iter().take(SHARERS_NAMED).map(|(p, _)| p).collect();
            assert_eq!(*others, first);
        }
    }
}
