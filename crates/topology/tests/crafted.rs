//! Crafted trees that made the sharing analysis quadratic (issue 16, point 6): ten thousand
//! nodes on one line, nodes on several crowded lines, one node with thousands of lines. Each
//! test bounds the work by counting the users the topology visits
//! ([`Topology::sharing_work`]), never by timing it, and checks the counts against the plain
//! definition on trees small enough to enumerate.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write;

use platreset_fdt::Fdt;
use platreset_topology::{Topology, SHARERS_NAMED};

/// A tree with one reset controller (`#reset-cells = <1>`, phandle 1) and one device per entry
/// of `devices`, each listing the given line ids. Devices sit 100 to a bus: dtc's parser runs
/// out of stack on ten thousand siblings; the phandle is written as a number, since dtc takes
/// quadratic time over many `&label` references in one property. Paths: /bus@B/device@N.
fn tree(devices: &[Vec<u32>]) -> Vec<u8> {
    let mut dts = String::from(
        "/dts-v1/;\n/ {\n\t#address-cells = <1>;\n\t#size-cells = <1>;\n\
         \treset-controller@1000 {\n\t\tcompatible = \"acme,reset\";\n\
         \t\treg = <0x1000 0x100>;\n\t\tphandle = <1>;\n\t\t#reset-cells = <1>;\n\t};\n",
    );
    for (bus, chunk) in devices.chunks(100).enumerate() {
        writeln!(dts, "\tbus@{bus:x} {{\n\t\t#address-cells = <1>;\n\t\t#size-cells = <1>;").unwrap();
        for (i, lines) in chunk.iter().enumerate() {
            let n = bus * 100 + i;
            let resets: Vec<String> = lines.iter().map(|id| format!("1 {id}")).collect();
            writeln!(
                dts,
                "\t\tdevice@{n:x} {{ reg = <{n:#x} 1>; {}resets = <{}>; }};",
                if n % 3 == 0 { "status = \"disabled\"; " } else { "" },
                resets.join(" ")
            )
            .unwrap();
        }
        dts.push_str("\t};\n");
    }
    dts.push_str("};\n");
    platreset_testkit::dtb_from_text(&dts)
}

/// Resolved `resets` entries in the tree: the size the work is measured against.
fn entries(topology: &Topology<'_, '_>) -> u64 {
    topology.consumers().iter().map(|c| c.lines().len() as u64).sum()
}

#[test]
fn ten_thousand_nodes_on_one_line_are_counted_in_linear_work() {
    let blob = tree(&vec![vec![7]; 10_000]);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let line = topology.consumers()[0].lines()[0];
    assert_eq!(topology.user_count(&line), 10_000);
    assert_eq!(topology.enabled_user_count(&line), 10_000 - 3_334, "every third device is disabled");
    for consumer in topology.consumers() {
        assert_eq!(topology.sharer_count(consumer), 9_999);
        assert_eq!(topology.other_users(&line, consumer.node), 9_999);
    }
    assert_eq!(topology.controllers()[0].shared_lines, 1);
    assert_eq!(topology.controllers()[0].consumers, 10_000);
    // Counting every node's sharers visited no user at all: one line each, counted at build.
    assert_eq!(topology.sharing_work(), 0);
    // Listing a line's users visits each once, and is counted.
    assert_eq!(topology.users_of(&line).count(), 10_000);
    assert_eq!(topology.sharing_work(), 10_000);
}

#[test]
fn nodes_on_the_same_two_crowded_lines_plus_a_private_pair_line_are_counted_once_per_line() {
    // 2,000 nodes all on lines 1 and 2; nodes 2k and 2k+1 also share line 1000 + k; every
    // tenth node also has a line of its own (9000 + n).
    let devices: Vec<Vec<u32>> = (0..2_000u32)
        .map(|n| {
            let mut lines = vec![1, 2, 1_000 + n / 2];
            if n % 10 == 0 {
                lines.push(9_000 + n);
            }
            lines
        })
        .collect();
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    for consumer in topology.consumers() {
        assert_eq!(topology.sharer_count(consumer), 1_999);
    }
    // The two crowded lines are merged once (4,000 users), each pair line visited by both of
    // its nodes (4 per pair): linear, where a merge per node would be 2,000 × 4,000.
    let work = topology.sharing_work();
    assert!(work <= 3 * entries(&topology), "{work} users visited for {} entries", entries(&topology));
}

#[test]
fn sharer_counts_equal_the_length_of_the_full_list_on_a_mixed_tree() {
    // Crowded lines (0..4, each on every other or third node), small shared lines, private
    // ones, repeated entries: every shape the counting takes a different path for.
    let mut state = 0x2545_f491_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let devices: Vec<Vec<u32>> = (0..600u32)
        .map(|n| {
            let mut lines = Vec::new();
            for crowded in 0..4 {
                if next() % (2 + crowded) == 0 {
                    lines.push(crowded);
                }
            }
            for _ in 0..next() % 3 {
                lines.push(100 + next() % 300);
            }
            lines.push(10_000 + n);
            if n % 7 == 0 {
                lines.push(lines[0]);
            }
            lines
        })
        .collect();
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let crowded = topology.lines().filter(|&(_, users)| users > SHARERS_NAMED + 1).count();
    assert_eq!(crowded, 4, "the test covers crowded lines");
    for consumer in topology.consumers() {
        assert_eq!(topology.sharer_count(consumer), topology.shared_with(consumer).len());
        for line in consumer.lines() {
            let others = topology.users_of(line).filter(|&n| n != consumer.node).count();
            assert_eq!(topology.other_users(line, consumer.node), others);
            assert_eq!(topology.user_count(line), topology.users_of(line).count());
        }
    }
}

#[test]
fn sharer_counts_are_exact_for_nodes_on_many_crowded_lines_and_small_ones() {
    // 400 nodes in pairs; each pair on the same random 8 or so of 12 crowded lines (so the
    // second of a pair finds its set counted already, with more or fewer crowded lines than are
    // checked by bisection) and on its own pair line; a few list a line twice: the counts
    // against the plain definition.
    let crowded_set = |pair: u32| -> Vec<u32> {
        let mut state = 0x9e37_79b9_u32 ^ pair.wrapping_mul(0x85eb_ca6b);
        (0..12)
            .filter(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                !state.is_multiple_of(3)
            })
            .collect()
    };
    let devices: Vec<Vec<u32>> = (0..400u32)
        .map(|n| {
            let mut lines = crowded_set(n / 2);
            lines.push(1_000 + n / 2);
            if n % 5 == 0 {
                lines.push(1_000 + n / 2);
            }
            lines
        })
        .collect();
    let sizes: Vec<usize> = (0..200).map(|p| crowded_set(p).len()).collect();
    assert!(sizes.iter().any(|&n| n > 8) && sizes.iter().any(|&n| (2..=8).contains(&n)), "{sizes:?}");
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    for consumer in topology.consumers() {
        assert_eq!(topology.sharer_count(consumer), topology.shared_with(consumer).len());
    }
}

#[test]
fn one_node_with_a_hundred_thousand_lines_is_built_and_counted_in_linear_work() {
    // One node on 100,000 lines, 1,000 other nodes each on one of them.
    let mut devices = vec![(0..100_000).collect::<Vec<u32>>()];
    devices.extend((0..1_000).map(|n| vec![n * 100]));
    let blob = tree(&devices);
    let fdt = Fdt::parse(&blob).unwrap();
    let topology = Topology::build(&fdt);
    let big = &topology.consumers()[0];
    assert_eq!(big.lines().len(), 100_000);
    assert_eq!(topology.sharer_count(big), 1_000);
    assert_eq!(topology.sharer_count(&topology.consumers()[1]), 1);
    let work = topology.sharing_work();
    assert!(work <= 2 * entries(&topology), "{work} users visited for {} entries", entries(&topology));
}
