//! The committed per-SoC data (`data/reset-maps/`) is exactly what `scripts/gen-reset-maps`
//! extracts from the kernel source it names. Skips (visibly) when the source is not cached:
//! `scripts/test` fetches it.

use std::process::Command;

#[test]
fn reset_maps_match_what_the_generator_extracts_from_the_kernel_source() {
    let root = platreset_testkit::repo_root();
    let out = Command::new(root.join("scripts/gen-reset-maps"))
        .args(["--check", "--offline"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/gen-reset-maps: {e}"));
    match out.status.code() {
        Some(0) => {}
        Some(77) => eprintln!("SKIPPED: linux-source-6.1 is not cached; scripts/test (or scripts/gen-reset-maps --check) fetches it"),
        _ => panic!(
            "data/reset-maps differs from the generator's output:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
