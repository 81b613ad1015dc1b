//! Fuzz target: any byte string handed to `Fdt::parse`, and every accepted tree driven through the
//! whole read-only API with its invariants checked. The driver is the one the mutation test uses
//! (`crates/fdt/tests/common/exercise.rs`), included by path so the two cannot drift apart.
//!
//!     fuzz/seed-corpus                                   # compiled fixtures into fuzz/corpus/fdt_parse/
//!     cargo +nightly fuzz run fdt_parse -- -max_total_time=300

#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/fdt/tests/common/exercise.rs"]
#[allow(dead_code)]
mod exercise;

fuzz_target!(|data: &[u8]| {
    let _ = exercise::exercise(data);
});
