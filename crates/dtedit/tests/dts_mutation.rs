//! Mutation test of the DTS printer (issue 18): 400 random trees, their names and string values
//! drawn mostly from the characters a name may hold and partly from those that carry DTS syntax
//! (`; { } = " \ / @ #`, spaces, line breaks, ESC, NUL, non-ASCII). Every tree is either printed
//! as DTS that `dtc` compiles back to the same tree (read through our strict reader and compared
//! node by node, property by property), or refused — and then refused by the DTB writer with the
//! same error. Bounded: a fixed number of trees from a fixed seed, nothing timed.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

use platreset_dtedit::{from_fdt, to_dtb, to_dts, Node, WriteOptions};
use platreset_fdt::Fdt;

/// Trees per run.
const TREES: usize = 400;
/// Base seed; change it to explore other trees.
const SEED: u64 = 0x6474_735f_6d75_7461; // "dts_muta"

use platreset_testkit::Rng;

/// Characters a name may hold (nodes: no `?#`; properties: no `@`), and the hostile ones.
const GOOD: &[u8] = b"abcxyzABZ0129,._+-#?@";
const HOSTILE: &[&str] =
    &[";", "{", "}", "=", "\"", "\\", "/", " ", "\n", "\t", "\x1b", "\0", "<", ">", "&", "é", ":"];

/// A name of 1 to 8 characters, one in ten with a hostile character somewhere.
fn name(rng: &mut Rng) -> String {
    let len = 1 + rng.below(8);
    let mut s: String = (0..len).map(|_| char::from(GOOD[rng.below(GOOD.len())])).collect();
    if rng.chance(10) {
        let at = rng.below(s.len() + 1);
        let bad = HOSTILE[rng.below(HOSTILE.len())];
        // `at` is a char boundary: everything before it is ASCII.
        s.insert_str(at, bad);
    }
    s
}

/// A value: a string list (printable or not, quotes and backslashes included), cells, bytes or
/// nothing.
fn value(rng: &mut Rng) -> Vec<u8> {
    match rng.below(4) {
        0 => Vec::new(),
        1 => (0..4 * (1 + rng.below(3))).map(|_| rng.next_u64() as u8).collect(),
        2 => (0..1 + rng.below(7)).map(|_| rng.next_u64() as u8).collect(),
        _ => {
            let mut v = Vec::new();
            for _ in 0..1 + rng.below(3) {
                for _ in 0..rng.below(6) {
                    let b = match rng.below(10) {
                        0 => b'"',
                        1 => b'\\',
                        2 => [b'\n', b'\t', 0x1b, 0x7f, 0xc3][rng.below(5)],
                        _ => b' ' + rng.below(95) as u8,
                    };
                    v.push(b);
                }
                v.push(0);
            }
            v
        }
    }
}

/// A tree of up to `depth` levels below `node`, a few properties and children per node (names may
/// repeat: duplicates must be refused too).
fn fill(rng: &mut Rng, node: &mut Node, depth: usize) {
    for _ in 0..rng.below(4) {
        let prop = name(rng).replace('@', "");
        let prop = if prop.is_empty() { "p".to_string() } else { prop };
        node.props.push(platreset_dtedit::Prop::new(prop, value(rng)));
    }
    if depth == 0 {
        return;
    }
    for _ in 0..rng.below(3) {
        let mut child = Node::new(name(rng).replace(['#', '?'], "n"));
        fill(rng, &mut child, depth - 1);
        node.children.push(child);
    }
}

fn dtc_compile(source: &str, index: usize) -> Result<Vec<u8>, String> {
    let dir = std::env::temp_dir();
    let src = dir.join(format!("platreset-dts-mutation-{}-{index}.dts", std::process::id()));
    let out = src.with_extension("dtb");
    std::fs::write(&src, source).unwrap();
    let run = Command::new("dtc").args(["-q", "-I", "dts", "-O", "dtb", "-o"]).arg(&out).arg(&src).output();
    let _ = std::fs::remove_file(&src);
    let run = run.map_err(|e| format!("cannot run dtc: {e}"))?;
    let blob = std::fs::read(&out);
    let _ = std::fs::remove_file(&out);
    if !run.status.success() {
        return Err(String::from_utf8_lossy(&run.stderr).into_owned());
    }
    blob.map_err(|e| e.to_string())
}

#[test]
fn every_tree_prints_as_dts_dtc_compiles_to_the_same_tree_or_is_refused_by_both_writers() {
    let (mut printed, mut refused) = (0, 0);
    for index in 0..TREES {
        let mut rng = Rng(SEED ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
        let mut root = Node::new("");
        fill(&mut rng, &mut root, 3);
        match to_dts(&root) {
            Ok(source) => {
                printed += 1;
                let blob = dtc_compile(&source, index)
                    .unwrap_or_else(|e| panic!("tree #{index}: dtc refuses our DTS: {e}\n{source}"));
                let compiled = from_fdt(&Fdt::parse(&blob).unwrap());
                assert!(compiled == root, "tree #{index}: dtc compiles our DTS to another tree\n{source}");
            }
            Err(e) => {
                refused += 1;
                let dtb = to_dtb(&root, &WriteOptions::default());
                assert_eq!(dtb.as_ref().err(), Some(&e), "tree #{index}: the DTB writer decides alike");
            }
        }
    }
    eprintln!("{printed} trees printed and compiled back alike, {refused} refused by both writers");
    assert!(printed > TREES / 4 && refused > TREES / 10, "both outcomes are exercised");
}
