//! The reader against real device trees: every DTB of the Debian corpus (`scripts/fetch-corpus`)
//! must parse and satisfy the API invariants, and a deterministic sample is compared with libfdt
//! (`fdtget`, `fdtdump`) node for node and byte for byte.
//!
//! The corpus lives outside the repository. When it is absent these tests print a visible
//! `SKIPPED` line and pass: they are the only tests allowed to skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use common::exercise::{exercise, Outcome};
use common::{corpus_dir, crosscheck_header_with_fdtdump, crosscheck_with_fdtget, dtb_files, Checked};
use platreset_fdt::{Fdt, Node};

/// Every `SAMPLE_STRIDE`-th file (in path order) is compared with fdtget.
const SAMPLE_STRIDE: usize = 10;
/// Nodes compared per sampled file, spread evenly over document order (root always included).
const NODES_PER_FILE: usize = 24;

fn corpus_files() -> Option<Vec<PathBuf>> {
    let Some(dir) = corpus_dir() else {
        eprintln!("SKIPPED: corpus absent; run scripts/fetch-corpus (or set PLATRESET_CORPUS_DIR)");
        return None;
    };
    let files = dtb_files(&dir);
    assert!(!files.is_empty(), "corpus directory {} holds no *.dtb", dir.display());
    Some(files)
}

#[test]
fn every_corpus_dtb_parses_and_satisfies_the_api_invariants() {
    let Some(files) = corpus_files() else {
        return;
    };
    let start = Instant::now();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let (nodes, properties) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // Two workers over a shared counter: the machine has two cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let mut buffer = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    buffer.clear();
                    buffer.extend_from_slice(&std::fs::read(path).unwrap());
                    if let Err(e) = Fdt::parse(&buffer) {
                        failures.lock().unwrap().push(format!("{}: {e}", path.display()));
                        continue;
                    }
                    match exercise(&buffer) {
                        Outcome::Accepted { nodes: n, properties: p } => {
                            nodes.fetch_add(n, Ordering::Relaxed);
                            properties.fetch_add(p, Ordering::Relaxed);
                        }
                        Outcome::Rejected => unreachable!("parsed a moment ago"),
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{} corpus DTBs do not parse:\n{}", failures.len(), failures.join("\n"));
    eprintln!(
        "corpus: {} DTBs parsed and exercised ({} nodes, {} properties) in {:.2?}",
        files.len(),
        nodes.into_inner(),
        properties.into_inner(),
        start.elapsed()
    );
}

/// Up to `NODES_PER_FILE` nodes spread evenly over document order, the root first.
fn sample_nodes<'f, 'a>(fdt: &'f Fdt<'a>) -> Vec<Node<'f, 'a>> {
    let count = fdt.node_count();
    let step = count.div_ceil(NODES_PER_FILE).max(1);
    fdt.nodes().step_by(step).collect()
}

#[test]
fn corpus_sample_agrees_with_fdtget_and_fdtdump() {
    let Some(files) = corpus_files() else {
        return;
    };
    let start = Instant::now();
    let sample: Vec<&PathBuf> = files.iter().step_by(SAMPLE_STRIDE).collect();
    let mut total = Checked::default();
    for path in &sample {
        let blob = std::fs::read(path).unwrap();
        let fdt = Fdt::parse(&blob).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let nodes = sample_nodes(&fdt);
        total += crosscheck_with_fdtget(path, &nodes);
        crosscheck_header_with_fdtdump(path, &fdt);
    }
    // A handful of nodes libfdt cannot reach by path is expected; most of the sample must count.
    assert!(total.unreachable * 20 < total.nodes, "too much of the sample was unreachable: {total:?}");
    eprintln!(
        "corpus: {} of {} DTBs compared with fdtget/fdtdump: {} nodes, {} values, {} cell lists \
         ({} nodes unreachable by libfdt path lookup, skipped) in {:.2?}",
        sample.len(),
        files.len(),
        total.nodes,
        total.values,
        total.cells,
        total.unreachable,
        start.elapsed()
    );
}
