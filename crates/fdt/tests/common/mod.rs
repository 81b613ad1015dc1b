//! Support shared by the integration tests: compiling the DTS fixtures under `tests/dts/` with
//! `dtc`, finding the DTB corpus, and asking libfdt's tools (`fdtget`, `fdtdump`) what they read
//! from a blob, so that this crate is checked against an independent reader.
//!
//! `dtc`, `fdtget` and `fdtdump` (Debian package `device-tree-compiler`) are hard test
//! dependencies installed by `scripts/setup`: when one is missing the test fails and says so.

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]
// A test that cannot read its own fixture should stop right there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod exercise;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use platreset_fdt::{Fdt, Node};

// Each test binary uses a different part of this module.
#[allow(unused_imports)]
pub use platreset_testkit::{dtbs_below as dtb_files, find_corpus as corpus_dir, fixtures_dir};

/// Names (file stems) of every `*.dts` fixture, sorted.
pub fn fixture_names() -> Vec<String> {
    let dir = fixtures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "dts").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no *.dts fixtures in {}", dir.display());
    names
}

/// A compiled fixture: where its DTB lies (for `fdtget`) and its bytes.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The fixture's name (file stem).
    pub name: String,
    /// The compiled DTB on disk.
    pub path: PathBuf,
    /// Its contents.
    pub blob: Vec<u8>,
}

/// Runs a device-tree tool, failing the test with the fix when the tool is not installed.
pub fn run_tool(tool: &str, args: &[&std::ffi::OsStr]) -> Output {
    match Command::new(tool).args(args).output() {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`{tool}` is not installed, and these tests need it (it is a hard test dependency, \
             not optional): run scripts/setup, which installs the device-tree-compiler package"
        ),
        Err(e) => panic!("cannot run `{tool}`: {e}"),
    }
}

/// Compiles `tests/dts/<name>.dts` with `dtc -@ -q` (once per test process) and returns it.
pub fn compile(name: &str) -> Compiled {
    static CACHE: OnceLock<Mutex<HashMap<String, Compiled>>> = OnceLock::new();
    let mut cache = CACHE.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(done) = cache.get(name) {
        return done.clone();
    }
    let source = fixtures_dir().join(format!("{name}.dts"));
    assert!(source.is_file(), "no fixture {}", source.display());
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let path = out_dir.join(format!("{name}.dtb"));
    let output = run_tool(
        "dtc",
        &[
            "-@".as_ref(),
            "-q".as_ref(),
            "-I".as_ref(),
            "dts".as_ref(),
            "-O".as_ref(),
            "dtb".as_ref(),
            "-o".as_ref(),
            path.as_os_str(),
            source.as_os_str(),
        ],
    );
    assert!(
        output.status.success(),
        "dtc failed on {}: {}",
        source.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let blob = std::fs::read(&path).unwrap();
    let compiled = Compiled { name: name.to_owned(), path, blob };
    cache.insert(name.to_owned(), compiled.clone());
    compiled
}

/// Every fixture, compiled.
pub fn compile_all() -> Vec<Compiled> {
    fixture_names().iter().map(|name| compile(name)).collect()
}

/// Runs `fdtget <options> -- <dtb> <args>…` and returns its output lines; fails the test when
/// fdtget does.
pub fn fdtget(dtb: &Path, options: &[&str], args: &[&str]) -> Vec<String> {
    let mut argv: Vec<&std::ffi::OsStr> = options.iter().map(|o| o.as_ref()).collect();
    argv.push("--".as_ref());
    argv.push(dtb.as_os_str());
    argv.extend(args.iter().map(std::ffi::OsStr::new));
    let output = run_tool("fdtget", &argv);
    assert!(
        output.status.success(),
        "fdtget {options:?} {} failed on {} argument(s) starting {:?}: {}",
        dtb.display(),
        args.len(),
        &args[..args.len().min(4)],
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).lines().map(str::to_owned).collect()
}

/// The header fields and reservations `fdtdump` prints for a DTB.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DumpedHeader {
    /// `// name:` lines, by name, as numbers.
    pub fields: HashMap<String, u64>,
    /// `/memreserve/ address size;` lines.
    pub reservations: Vec<(u64, u64)>,
}

/// Runs `fdtdump` and reads its header comment lines and `/memreserve/` lines.
pub fn fdtdump_header(dtb: &Path) -> DumpedHeader {
    let output = run_tool("fdtdump", &[dtb.as_os_str()]);
    assert!(output.status.success(), "fdtdump {} failed", dtb.display());
    let number = |text: &str| -> u64 {
        let text = text.split_whitespace().next().unwrap_or_default();
        match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        }
        .unwrap_or_else(|e| panic!("fdtdump printed {text:?}: {e}"))
    };
    let mut dumped = DumpedHeader::default();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if let Some((name, value)) = line.strip_prefix("// ").and_then(|l| l.split_once(':')) {
            dumped.fields.insert(name.to_owned(), number(value.trim()));
        } else if let Some(rest) = line.strip_prefix("/memreserve/ ") {
            let mut parts = rest.trim_end_matches(';').split_whitespace();
            let (a, s) = (parts.next().unwrap(), parts.next().unwrap());
            dumped.reservations.push((number(a), number(s)));
        } else if line.starts_with('/') && line.contains('{') {
            break; // the tree begins: the header part is over
        }
    }
    dumped
}

/// Whether libfdt's path lookup finds exactly `node` by `node.path()`. libfdt matches a
/// component without `@` against the *first* child named either exactly so or `so@…`, so a
/// node `memory` after a sibling `memory@0` cannot be reached by its path; names that are not
/// UTF-8 or contain `/` cannot be spelled in a path at all.
pub fn libfdt_can_reach(node: Node<'_, '_>) -> bool {
    let mut at = node;
    while let Some(parent) = at.parent() {
        let name = at.name();
        if name.is_empty() || name.contains(&b'/') || std::str::from_utf8(name).is_err() {
            return false;
        }
        let plain = !name.contains(&b'@');
        for sibling in parent.children() {
            if sibling == at {
                break;
            }
            let prefix_match =
                plain && sibling.name().starts_with(name) && sibling.name().get(name.len()) == Some(&b'@');
            if sibling.name() == name || prefix_match {
                return false;
            }
        }
        at = parent;
    }
    true
}

/// Bytes as `fdtget -t bx` prints them.
pub fn hex_bytes(value: &[u8]) -> String {
    value.iter().map(|b| format!("{b:x}")).collect::<Vec<_>>().join(" ")
}

/// What a cross-check covered.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// Nodes whose subnode and property lists were compared.
    pub nodes: usize,
    /// Property values compared byte for byte.
    pub values: usize,
    /// Properties whose cells were compared as well.
    pub cells: usize,
    /// Nodes left out because libfdt cannot reach them by path (see [`libfdt_can_reach`]).
    pub unreachable: usize,
}

impl std::ops::AddAssign for Checked {
    fn add_assign(&mut self, other: Checked) {
        self.nodes += other.nodes;
        self.values += other.values;
        self.cells += other.cells;
        self.unreachable += other.unreachable;
    }
}

/// fdtget's argument lists are split into batches of this many nodes or (node, property) pairs.
const BATCH: usize = 400;

/// Checks `nodes` (of a tree parsed from the file `dtb`) against `fdtget`: each node's subnode
/// names (`-l`), property names (`-p`), every property's bytes (`-t bx`) and, for values made of
/// whole cells, the cells (`-t x`). Batches many nodes per fdtget call: a process per lookup
/// would make the corpus test slow.
pub fn crosscheck_with_fdtget(dtb: &Path, nodes: &[Node<'_, '_>]) -> Checked {
    let mut checked = Checked::default();
    let reachable: Vec<Node<'_, '_>> = nodes.iter().copied().filter(|&n| libfdt_can_reach(n)).collect();
    checked.unreachable = nodes.len() - reachable.len();
    let paths: Vec<String> = reachable.iter().map(Node::path).collect();

    for (chunk, chunk_paths) in reachable.chunks(BATCH).zip(paths.chunks(BATCH)) {
        let args: Vec<&str> = chunk_paths.iter().map(String::as_str).collect();
        // fdtget prints the lists of all requested nodes one after the other, without a
        // separator: compare the concatenations, and on a difference find the node.
        let ours_children: Vec<String> =
            chunk.iter().flat_map(|n| n.children().map(|c| c.name_lossy().into_owned())).collect();
        if fdtget(dtb, &["-l"], &args) != ours_children {
            for (node, path) in chunk.iter().zip(&args) {
                let ours: Vec<String> = node.children().map(|c| c.name_lossy().into_owned()).collect();
                assert_eq!(ours, fdtget(dtb, &["-l"], &[path]), "subnodes of {path} in {}", dtb.display());
            }
        }
        let ours_props: Vec<String> =
            chunk.iter().flat_map(|n| n.properties().map(|p| p.name_lossy().into_owned())).collect();
        if fdtget(dtb, &["-p"], &args) != ours_props {
            for (node, path) in chunk.iter().zip(&args) {
                let ours: Vec<String> = node.properties().map(|p| p.name_lossy().into_owned()).collect();
                assert_eq!(ours, fdtget(dtb, &["-p"], &[path]), "properties of {path} in {}", dtb.display());
            }
        }
        checked.nodes += chunk.len();
    }

    // (path, property name, value as bytes, value as cells when it is whole cells)
    let mut values: Vec<(&str, String, String, Option<String>)> = Vec::new();
    for (node, path) in reachable.iter().zip(&paths) {
        let mut seen: Vec<&[u8]> = Vec::new();
        for prop in node.properties() {
            // libfdt answers with the first property of a name; so does Node::property.
            if seen.contains(&prop.name()) {
                continue;
            }
            seen.push(prop.name());
            let cells = prop
                .u32s()
                .ok()
                .filter(|c| c.len() > 0)
                .map(|c| c.map(|c| format!("{c:x}")).collect::<Vec<_>>().join(" "));
            values.push((path, prop.name_lossy().into_owned(), hex_bytes(prop.value()), cells));
        }
    }
    for batch in values.chunks(BATCH) {
        let args: Vec<&str> = batch.iter().flat_map(|(path, name, _, _)| [*path, name.as_str()]).collect();
        let theirs = fdtget(dtb, &["-t", "bx"], &args);
        assert_eq!(theirs.len(), batch.len(), "fdtget -t bx printed one line per value in {}", dtb.display());
        for ((path, name, ours, _), theirs) in batch.iter().zip(&theirs) {
            assert_eq!(ours, theirs, "bytes of {path}:{name} in {}", dtb.display());
        }
        checked.values += batch.len();

        let whole: Vec<_> = batch.iter().filter(|v| v.3.is_some()).collect();
        let args: Vec<&str> = whole.iter().flat_map(|(path, name, _, _)| [*path, name.as_str()]).collect();
        if args.is_empty() {
            continue;
        }
        let theirs = fdtget(dtb, &["-t", "x"], &args);
        assert_eq!(theirs.len(), whole.len(), "fdtget -t x printed one line per value in {}", dtb.display());
        for ((path, name, _, ours), theirs) in whole.iter().zip(&theirs) {
            assert_eq!(ours.as_deref(), Some(theirs.as_str()), "cells of {path}:{name} in {}", dtb.display());
        }
        checked.cells += whole.len();
    }
    checked
}

/// Checks the header fields and the reservations of `fdt` against `fdtdump`.
pub fn crosscheck_header_with_fdtdump(dtb: &Path, fdt: &Fdt<'_>) {
    let dumped = fdtdump_header(dtb);
    let h = fdt.header();
    let field = |name: &str| {
        *dumped.fields.get(name).unwrap_or_else(|| panic!("fdtdump printed no {name} for {}", dtb.display()))
    };
    let ours = [
        ("totalsize", h.total_size as u64),
        ("off_dt_struct", h.struct_start as u64),
        ("off_dt_strings", h.strings_start as u64),
        ("off_mem_rsvmap", h.rsvmap_start as u64),
        ("version", u64::from(h.version)),
        ("last_comp_version", u64::from(h.last_comp_version)),
        ("boot_cpuid_phys", u64::from(h.boot_cpuid_phys)),
        ("size_dt_strings", (h.strings_end - h.strings_start) as u64),
        ("size_dt_struct", (h.struct_end - h.struct_start) as u64),
    ];
    for (name, value) in ours {
        assert_eq!(value, field(name), "header field {name} of {}", dtb.display());
    }
    let reservations: Vec<(u64, u64)> =
        fdt.reservations().unwrap().iter().map(|r| (r.address, r.size)).collect();
    assert_eq!(reservations, dumped.reservations, "reservations of {}", dtb.display());
}
