//! Mutation test: at least 100,000 corrupted DTBs, each parsed and, when accepted, driven through
//! the whole API (`common::exercise`). None may panic, hang or break an invariant.
//!
//! Bases: the compiled fixtures (always) plus a deterministic handful of corpus DTBs (when the
//! corpus is present). Mutant `i` is derived from base `i % bases` and a seed computed from `i`
//! alone, so a failure is reproducible from the printed index and seed whatever the threads did.
//! Mutations: bit flips, byte and big-endian word overwrites with interesting values (tokens,
//! 0, 0xff…, lengths, offsets), header field edits, truncation, splices from another base,
//! inserted and deleted words.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use common::exercise::{exercise, Outcome};
use common::{compile_all, corpus_dir, dtb_files};

/// Mutants per run, with or without the corpus.
const MUTANTS: usize = 100_000;
/// Corpus DTBs used as bases: every `CORPUS_STRIDE`-th file no larger than `CORPUS_MAX_SIZE`.
const CORPUS_STRIDE: usize = 40;
const CORPUS_MAX_SIZE: u64 = 24 * 1024;
const CORPUS_BASES: usize = 12;
/// Base seed; change it to explore other mutants.
const SEED: u64 = 0x7061_6c74_7265_7365; // "platrese"

use platreset_testkit::Rng;

fn seed_of(index: usize) -> u64 {
    Rng(SEED ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)).next_u64()
}

/// Bytes worth writing anywhere.
const BYTES: &[u8] = &[0x00, 0xff, 0x7f, 0x80, 0x01, 0x02, 0x03, 0x04, 0x09, b'@', b'/', b'\0'];

/// Words worth writing at 4-aligned offsets: the structure tokens, bounds, and lengths.
fn interesting_word(rng: &mut Rng, len: usize) -> u32 {
    let len = len as u32;
    rng.pick(&[
        1, // FDT_BEGIN_NODE
        2, // FDT_END_NODE
        3, // FDT_PROP
        4, // FDT_NOP
        9, // FDT_END
        0,
        0xffff_ffff,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_fffc,
        0xd00d_feed,
        len,
        len.wrapping_add(1),
        len.wrapping_sub(1),
        len.wrapping_sub(4),
        0x28,
        0x10_0000,
        16,
        17,
    ])
}

/// One mutation, applied in place; `log` (when given) receives a description.
fn mutate_once(rng: &mut Rng, blob: &mut Vec<u8>, donors: &[Vec<u8>], log: &mut Option<Vec<String>>) {
    let mut note = |text: String| {
        if let Some(log) = log {
            log.push(text);
        }
    };
    if blob.is_empty() {
        blob.push(0);
    }
    let len = blob.len();
    match rng.below(100) {
        // Flip one bit.
        0..=24 => {
            let (at, bit) = (rng.below(len), rng.below(8));
            blob[at] ^= 1 << bit;
            note(format!("flip bit {bit} of byte {at:#x}"));
        }
        // Overwrite a byte with an interesting value.
        25..=39 => {
            let (at, value) = (rng.below(len), rng.pick(BYTES));
            blob[at] = value;
            note(format!("byte {at:#x} = {value:#04x}"));
        }
        // Overwrite an aligned word (tokens, lengths, name offsets live there).
        40..=59 => {
            if len >= 4 {
                let at = rng.below(len / 4) * 4;
                let value = interesting_word(rng, len);
                blob[at..at + 4].copy_from_slice(&value.to_be_bytes());
                note(format!("word {at:#x} = {value:#x}"));
            }
        }
        // Edit a header field: replace it, or nudge it by a few bytes.
        60..=69 => {
            let field = 4 * (1 + rng.below(9));
            if field + 4 <= len {
                let old = u32::from_be_bytes(blob[field..field + 4].try_into().unwrap());
                let value = match rng.below(3) {
                    0 => interesting_word(rng, len),
                    1 => old.wrapping_add(rng.below(16) as u32 + 1),
                    _ => old.wrapping_sub(rng.below(16) as u32 + 1),
                };
                blob[field..field + 4].copy_from_slice(&value.to_be_bytes());
                note(format!("header field {field:#x}: {old:#x} -> {value:#x}"));
            }
        }
        // Truncate.
        70..=76 => {
            let to = rng.below(len);
            blob.truncate(to);
            note(format!("truncate to {to:#x}"));
        }
        // Splice a range of another base over this one.
        77..=87 => {
            let donor = &donors[rng.below(donors.len())];
            if !donor.is_empty() {
                let from = rng.below(donor.len());
                let n = 1 + rng.below((donor.len() - from).min(256));
                let at = rng.below(len);
                let n = n.min(len - at);
                blob[at..at + n].copy_from_slice(&donor[from..from + n]);
                note(format!("splice {n:#x} bytes from a donor's {from:#x} over {at:#x}"));
            }
        }
        // Insert aligned words (shifts everything after: offsets in the header go stale).
        88..=93 => {
            let at = rng.below(len / 4 + 1) * 4;
            let words = 1 + rng.below(3);
            let bytes: Vec<u8> = (0..words).flat_map(|_| interesting_word(rng, len).to_be_bytes()).collect();
            blob.splice(at..at, bytes);
            note(format!("insert {words} word(s) at {at:#x}"));
        }
        // Delete aligned words.
        _ => {
            let at = rng.below(len / 4 + 1) * 4;
            let end = (at + 4 * (1 + rng.below(4))).min(len);
            blob.drain(at.min(len)..end);
            note(format!("delete {at:#x}..{end:#x}"));
        }
    }
}

/// Mutant `index`: its base and the mutations applied, recorded when `log` is set.
fn mutant(index: usize, bases: &[Vec<u8>], log: bool) -> (Vec<u8>, Option<Vec<String>>) {
    let mut rng = Rng(seed_of(index));
    let mut blob = bases[index % bases.len()].clone();
    let mut log = log.then(Vec::new);
    for _ in 0..1 + rng.below(4) {
        mutate_once(&mut rng, &mut blob, bases, &mut log);
    }
    (blob, log)
}

fn corpus_bases() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = corpus_dir() else {
        eprintln!("mutation: corpus absent, mutating the fixtures only (run scripts/fetch-corpus for more)");
        return Vec::new();
    };
    let files: Vec<PathBuf> = dtb_files(&dir)
        .into_iter()
        .step_by(CORPUS_STRIDE)
        .filter(|p| p.metadata().is_ok_and(|m| m.len() <= CORPUS_MAX_SIZE))
        .take(CORPUS_BASES)
        .collect();
    files.iter().map(|p| (p.display().to_string(), std::fs::read(p).unwrap())).collect()
}

#[test]
fn a_hundred_thousand_mutants_never_panic_and_keep_the_invariants() {
    let start = Instant::now();
    let mut named: Vec<(String, Vec<u8>)> =
        compile_all().into_iter().map(|c| (format!("tests/dts/{}.dts", c.name), c.blob)).collect();
    named.extend(corpus_bases());
    let (names, bases): (Vec<String>, Vec<Vec<u8>>) = named.into_iter().unzip();
    for (name, base) in names.iter().zip(&bases) {
        assert!(matches!(exercise(base), Outcome::Accepted { .. }), "base {name} must parse unmutated");
    }

    let next = AtomicUsize::new(0);
    let accepted = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= MUTANTS {
                    break;
                }
                let (blob, _) = mutant(index, &bases, false);
                match catch_unwind(AssertUnwindSafe(|| exercise(&blob))) {
                    Ok(Outcome::Accepted { .. }) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Outcome::Rejected) => {}
                    Err(_) => {
                        let (_, log) = mutant(index, &bases, true);
                        let saved =
                            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("mutant-{index}.dtb"));
                        let _ = std::fs::write(&saved, &blob);
                        failures.lock().unwrap().push(format!(
                            "mutant {index} (seed {:#x}) of {}: {} — saved as {}",
                            seed_of(index),
                            names[index % names.len()],
                            log.unwrap_or_default().join("; "),
                            saved.display()
                        ));
                    }
                }
            });
        }
    });

    let failures = failures.into_inner().unwrap();
    let accepted = accepted.into_inner();
    eprintln!(
        "mutation: {MUTANTS} mutants of {} bases ({} fixtures + {} corpus DTBs): {accepted} parsed and exercised, \
         {} refused, {} panicked, in {:.2?}",
        bases.len(),
        names.iter().filter(|n| n.starts_with("tests/dts/")).count(),
        names.iter().filter(|n| !n.starts_with("tests/dts/")).count(),
        MUTANTS - accepted,
        failures.len(),
        start.elapsed()
    );
    assert!(failures.is_empty(), "{} mutants panicked:\n{}", failures.len(), failures.join("\n"));
    // Both outcomes must be common, or the mutations are not reaching the interesting code.
    assert!(accepted > MUTANTS / 20 && accepted < MUTANTS * 19 / 20, "{accepted} of {MUTANTS} accepted");
}
