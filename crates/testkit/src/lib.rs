//! Test support shared by the workspace's test suites: compiling the DTS fixtures under
//! `tests/dts/` with the real `dtc`, and finding the Debian DTB corpus.
//!
//! `dtc` is a hard test dependency (installed by `scripts/setup`): a missing `dtc` fails the
//! test with that instruction. The corpus is optional: [`corpus_dir`] returns `None` and prints
//! a visible `SKIPPED` line when it is absent.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// Test support: a failure to set up a fixture ends the test with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `tests/dts/` fixture directory.
pub fn fixtures_dir() -> PathBuf {
    repo_root().join("tests/dts")
}

/// Compiles a DTS file with `dtc -@` (labels kept in `__symbols__`) and returns the blob.
pub fn compile_dts(source: &Path) -> Vec<u8> {
    compile_dts_with(source, true)
}

/// Compiles a DTS file, with `__symbols__` (`dtc -@`) or without (as most distribution DTBs
/// are built), and returns the blob.
pub fn compile_dts_with(source: &Path, symbols: bool) -> Vec<u8> {
    // Tests run in parallel threads: each compilation gets its own output file.
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let out = std::env::temp_dir().join(format!(
        "platreset-testkit-{}-{}-{}.dtb",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        source.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture")
    ));
    let mut dtc = Command::new("dtc");
    if symbols {
        dtc.arg("-@");
    }
    let status =
        dtc.args(["-q", "-I", "dts", "-O", "dtb", "-o"]).arg(&out).arg(source).status().unwrap_or_else(|e| {
            panic!("cannot run dtc ({e}): it is a hard test dependency; run scripts/setup to install it")
        });
    assert!(status.success(), "dtc failed on {}", source.display());
    let blob = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    blob
}

/// Compiles DTS source text (with `__symbols__`): for tests whose tree is a few lines.
pub fn dtb_from_text(dts: &str) -> Vec<u8> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let source = std::env::temp_dir().join(format!(
        "platreset-testkit-text-{}-{}.dts",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&source, dts).unwrap();
    let blob = compile_dts(&source);
    let _ = std::fs::remove_file(&source);
    blob
}

/// Compiles `tests/dts/<name>.dts`.
pub fn fixture(name: &str) -> Vec<u8> {
    compile_dts(&fixtures_dir().join(format!("{name}.dts")))
}

/// The DTB corpus directory, or `None` when it is absent: `$PLATRESET_CORPUS_DIR`, else the
/// cache `scripts/fetch-corpus` fills (`$PLATRESET_CORPUS/dtbs`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/platreset/corpus/dtbs`).
pub fn find_corpus() -> Option<PathBuf> {
    let env = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = env("PLATRESET_CORPUS_DIR")
        .or_else(|| env("PLATRESET_CORPUS").map(|c| c.join("dtbs")))
        .or_else(|| {
            let cache = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")))?;
            Some(cache.join("platreset/corpus/dtbs"))
        })?;
    dir.is_dir().then_some(dir)
}

/// [`find_corpus`], printing a visible `SKIPPED` line when it is absent (for tests that need it).
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = find_corpus();
    if dir.is_none() {
        eprintln!(
            "SKIPPED: the DTB corpus is absent; run scripts/fetch-corpus (or set PLATRESET_CORPUS_DIR)"
        );
    }
    dir
}

/// Every `*.dtb` below `dir`, sorted by path.
pub fn dtbs_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "dtb") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Compiles `tests/asl/<name>.asl` with `iasl` (acpica-tools, a hard test dependency installed by
/// `scripts/setup`) and returns the AML table.
pub fn asl_fixture(name: &str) -> Vec<u8> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "platreset-asl-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let prefix = dir.join(name);
    let source = repo_root().join("tests/asl").join(format!("{name}.asl"));
    let out = Command::new("iasl").arg("-p").arg(&prefix).arg(&source).output().unwrap_or_else(|e| {
        panic!("cannot run iasl ({e}): it is a hard test dependency; run scripts/setup to install it")
    });
    assert!(
        out.status.success(),
        "iasl failed on {}: {}",
        source.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    let aml = std::fs::read(prefix.with_extension("aml")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    aml
}

/// The device tree QEMU's `virt` machine gives a guest (`qemu-system-aarch64 -M virt -nodefaults
/// -machine dumpdtb=…`), the base guest-dt builds QEMU guests on. `qemu-system-aarch64`
/// (Debian's qemu-system-arm) is a hard test dependency installed by `scripts/setup`.
pub fn qemu_virt_dtb() -> Vec<u8> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "platreset-virt-{}-{}.dtb",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let out = Command::new("qemu-system-aarch64")
        .args(["-M", "virt", "-nodefaults", "-display", "none", "-machine"])
        .arg(format!("dumpdtb={}", path.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run qemu-system-aarch64 ({e}): it is a hard test dependency; run scripts/setup")
        });
    assert!(out.status.success(), "qemu dumpdtb failed: {}", String::from_utf8_lossy(&out.stderr));
    let dtb = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    dtb
}

/// SplitMix64: a small, seedable generator for the mutation tests (fixed seeds, so every run
/// makes the same cases; no `rand` dependency needed).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

/// The row of the audit table for `node` (rows start with two spaces and the node's path);
/// a missing row fails the test, showing the table.
pub fn table_row<'t>(table: &'t str, node: &str) -> &'t str {
    table
        .lines()
        .find(|l| l.starts_with(&format!("  {node} ")))
        .unwrap_or_else(|| panic!("{node} in\n{table}"))
}

/// A directory of one test's own below the temporary directory (named by tag, process and
/// thread: tests run in parallel), emptied when made and removed on drop. It derefs to its path.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Makes `platreset-<tag>-<pid>-<thread>` in the temporary directory, empty.
    pub fn new(tag: &str) -> ScratchDir {
        let thread = format!("{:?}", std::thread::current().id()).replace(|c: char| !c.is_ascii_digit(), "");
        let dir = std::env::temp_dir().join(format!("platreset-{tag}-{}-{thread}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        ScratchDir(dir)
    }
}

impl std::ops::Deref for ScratchDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for ScratchDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A file of one test's own in the temporary directory (tests run in parallel, so the name
/// carries a tag and the process id), removed on drop.
pub struct TempFile(PathBuf);

impl TempFile {
    /// Writes `bytes` to `platreset-<tag>-<pid>.<ext>` in the temporary directory.
    pub fn new(tag: &str, ext: &str, bytes: &[u8]) -> TempFile {
        let path = std::env::temp_dir().join(format!("platreset-{tag}-{}.{ext}", std::process::id()));
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        TempFile(path)
    }

    /// Its path, as the text a command line takes.
    pub fn path(&self) -> &str {
        self.0.to_str().unwrap_or_else(|| panic!("{} is not UTF-8", self.0.display()))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One of `items` (not empty).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}
