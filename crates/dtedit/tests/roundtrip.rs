#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The writer against the real `dtc` and the strict reader: every fixture and a sample of the
//! corpus survive load → write with nothing changed (as `dtc -I dtb -O dts` sees them), the
//! header and blocks are laid out as the specification says, every setter reads back, every
//! validation error names its place, and the DTS rendering is exact and accepted by `dtc`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use platreset_dtedit::{
    from_fdt, to_dtb, to_dts, to_dts_with, EditError, Node, Prop, WriteError, WriteOptions,
};
use platreset_fdt::{Fdt, Reservation};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Runs `dtc` with `args`, `input` on stdin; its stdout, or its stderr as the error.
fn dtc(args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dtc")
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run dtc: it is a hard test dependency; run scripts/setup to install it");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `dtc -I dtb -O dts` of a blob.
fn dtc_dts(blob: &[u8]) -> Result<String, String> {
    dtc(&["-q", "-I", "dtb", "-O", "dts"], blob).map(|out| String::from_utf8(out).unwrap())
}

/// `dtc -I dts -O dtb` of a source.
fn dtc_dtb(source: &str) -> Result<Vec<u8>, String> {
    dtc(&["-q", "-I", "dts", "-O", "dtb"], source.as_bytes())
}

fn be32(blob: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(blob[at..at + 4].try_into().unwrap())
}

/// Property names in order of first use, as the writer puts them in the strings block.
fn names_in_first_use_order(root: &Node) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        for prop in &node.props {
            if !names.contains(&prop.name) {
                names.push(prop.name.clone());
            }
        }
        pending.extend(node.children.iter().rev());
    }
    names
}

/// Checks every header field and block boundary of a blob the writer made from `tree`.
fn check_layout(what: &str, blob: &[u8], tree: &Node, opts: &WriteOptions) {
    assert_eq!(be32(blob, 0x0), 0xd00d_feed, "{what}: magic");
    let total = be32(blob, 0x4) as usize;
    let (off_struct, off_strings, off_rsvmap) =
        (be32(blob, 0x8) as usize, be32(blob, 0xc) as usize, be32(blob, 0x10) as usize);
    let (size_strings, size_struct) = (be32(blob, 0x20) as usize, be32(blob, 0x24) as usize);
    assert_eq!(total, blob.len(), "{what}: totalsize");
    assert_eq!((be32(blob, 0x14), be32(blob, 0x18)), (17, 16), "{what}: version, last_comp_version");
    assert_eq!(be32(blob, 0x1c), opts.boot_cpuid, "{what}: boot_cpuid_phys");
    assert_eq!(off_rsvmap, 40, "{what}: the reservation block follows the 40-byte header");
    assert_eq!(off_rsvmap % 8, 0, "{what}: reservation block 8-aligned");
    assert_eq!(off_struct, off_rsvmap + 16 * (opts.reservations.len() + 1), "{what}: rsvmap size");
    assert_eq!(off_struct % 4, 0, "{what}: structure block 4-aligned");
    assert_eq!(size_struct % 4, 0, "{what}: structure block whole tokens");
    assert_eq!(off_strings, off_struct + size_struct, "{what}: strings follow the structure");
    assert_eq!(off_strings + size_strings, total, "{what}: strings end the blob");
    assert_eq!(be32(blob, off_strings - 4), 9, "{what}: the structure block ends with FDT_END");
    for (i, &(address, size)) in opts.reservations.iter().chain(&[(0, 0)]).enumerate() {
        let at = off_rsvmap + 16 * i;
        let read = |at| u64::from_be_bytes(blob[at..at + 8].try_into().unwrap());
        assert_eq!((read(at), read(at + 8)), (address, size), "{what}: reservation #{i}");
    }
    let strings = &blob[off_strings..total];
    assert_eq!(strings.last(), Some(&0).filter(|_| !strings.is_empty()), "{what}: NUL-terminated");
    let entries: Vec<String> = strings
        .strip_suffix(b"\0")
        .map(|s| s.split(|&b| b == 0).map(|n| String::from_utf8(n.to_vec()).unwrap()).collect())
        .unwrap_or_default();
    assert_eq!(entries, names_in_first_use_order(tree), "{what}: each property name once, in first use");
}

/// Loads `original`, writes it back, and checks the result with dtc and the layout rules.
fn round_trip(what: &str, original: &[u8]) -> Result<(), String> {
    let fdt = Fdt::parse(original).map_err(|e| format!("{what}: the reader refuses the original: {e}"))?;
    let tree = from_fdt(&fdt);
    let opts = WriteOptions::from_fdt(&fdt);
    let ours = to_dtb(&tree, &opts).map_err(|e| format!("{what}: to_dtb refuses: {e}"))?;
    let ours_dts = dtc_dts(&ours).map_err(|e| format!("{what}: dtc refuses our DTB: {e}"))?;
    let original_dts = dtc_dts(original).map_err(|e| format!("{what}: dtc refuses the original: {e}"))?;
    if ours_dts != original_dts {
        return Err(format!("{what}: dtc's DTS of our DTB differs from the original's"));
    }
    check_layout(what, &ours, &tree, &opts);
    let reread = Fdt::parse(&ours).map_err(|e| format!("{what}: the reader refuses our DTB: {e}"))?;
    if from_fdt(&reread) != tree {
        return Err(format!("{what}: loading our DTB does not give the same tree"));
    }
    Ok(())
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(platreset_testkit::fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dts"))
        .map(|p| p.file_stem().unwrap().to_str().unwrap().to_string())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "tests/dts holds no fixtures");
    names
}

// ---------------------------------------------------------------------------------------------
// 1. Fixtures

#[test]
fn every_fixture_round_trips_through_from_fdt_and_to_dtb_as_dtc_sees_it() {
    let failures: Vec<String> = fixture_names()
        .iter()
        .filter_map(|name| round_trip(name, &platreset_testkit::fixture(name)).err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn reservations_and_boot_cpu_survive_the_round_trip() {
    let original = platreset_testkit::fixture("reg-and-memreserve");
    let fdt = Fdt::parse(&original).unwrap();
    let mut opts = WriteOptions::from_fdt(&fdt);
    assert_eq!(
        opts.reservations,
        [(0x1000_0000, 0x4000), (0x8_8000_0000, 0x10_0000), (0xfff0_0000, 0x10_0000)]
    );
    opts.boot_cpuid = 5;
    let ours = to_dtb(&from_fdt(&fdt), &opts).unwrap();
    let reread = Fdt::parse(&ours).unwrap();
    assert_eq!(reread.header().boot_cpuid_phys, 5);
    assert_eq!(reread.reservations().unwrap(), fdt.reservations().unwrap());
    assert_eq!(reread.reservations().unwrap()[1], Reservation { address: 0x8_8000_0000, size: 0x10_0000 });
}

#[test]
fn every_fixture_prints_as_dts_that_dtc_compiles_back_to_the_same_tree() {
    for name in fixture_names() {
        let original = platreset_testkit::fixture(&name);
        let fdt = Fdt::parse(&original).unwrap();
        let (tree, opts) = (from_fdt(&fdt), WriteOptions::from_fdt(&fdt));
        let source = to_dts_with(&tree, &opts).unwrap();
        let compiled = dtc_dtb(&source).unwrap_or_else(|e| panic!("{name}: dtc refuses our DTS: {e}"));
        let recompiled = Fdt::parse(&compiled).unwrap();
        assert!(from_fdt(&recompiled) == tree, "{name}: our DTS compiles to a different tree");
        assert_eq!(WriteOptions::from_fdt(&recompiled).reservations, opts.reservations, "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Building

#[test]
fn every_setter_reads_back_through_the_strict_reader() {
    let mut root = Node::new("");
    root.set_u32s("#address-cells", &[1]).set_u32s("#size-cells", &[1]).set_str("model", "built");
    let soc = root.add_child(Node::new("soc")).unwrap();
    soc.set_strs("compatible", &["simple-bus"]).set_empty("ranges");
    soc.set_u32s("#address-cells", &[1]).set_u32s("#size-cells", &[1]);
    let uart = soc.add_child(Node::new("uart@1000")).unwrap();
    uart.set_strs("compatible", &["vendor,uart", "ns16550a"])
        .set_u32s("reg", &[0x1000, 0x100])
        .set_u64s("big", &[0x0123_4567_89ab_cdef, 1])
        .set("bytes", vec![1, 2, 3])
        .set_str("status", "disabled")
        .set_str("status", "okay") // replaced in place
        .set_str("doomed", "x");
    assert_eq!(uart.remove("doomed"), Some(b"x\0".to_vec()));
    assert_eq!(uart.remove("doomed"), None);
    let phandle = root.max_phandle() + 1;
    root.find_mut("/soc/uart").unwrap().set_u32s("phandle", &[phandle]);
    root.child_mut("soc").unwrap().add_child(Node::new("clk")).unwrap().set_u32s("clocks", &[phandle, 7]);
    assert_eq!(root.max_phandle(), 1);
    assert_eq!(
        root.child_mut("soc").unwrap().add_child(Node::new("clk")).unwrap_err(),
        EditError::DuplicateChild { parent: "soc".into(), name: "clk".into() }
    );

    let blob = to_dtb(&root, &WriteOptions::default()).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    assert_eq!(fdt.root().property("model").unwrap().first_string(), b"built");
    let soc = fdt.find_path("/soc").unwrap();
    assert!(soc.property("ranges").unwrap().value().is_empty());
    let uart = fdt.find_path("/soc/uart@1000").unwrap();
    let compatible: Vec<&[u8]> = uart.compatible().collect();
    assert_eq!(compatible, [&b"vendor,uart"[..], b"ns16550a"]);
    assert_eq!(uart.reg().unwrap()[0].address, 0x1000);
    assert_eq!(uart.reg().unwrap()[0].size, 0x100);
    assert_eq!(uart.property("big").unwrap().u64s().unwrap(), [0x0123_4567_89ab_cdef, 1]);
    assert_eq!(uart.property("bytes").unwrap().value(), [1, 2, 3]);
    assert_eq!(uart.status(), b"okay");
    assert!(uart.property("doomed").is_none());
    let names: Vec<String> = uart.properties().map(|p| p.name_lossy().into_owned()).collect();
    assert_eq!(names, ["compatible", "reg", "big", "bytes", "status", "phandle"]);
    let clk = fdt.find_path("/soc/clk").unwrap();
    let cells: Vec<u32> = clk.property("clocks").unwrap().u32s().unwrap().collect();
    assert_eq!(cells, [1, 7]);
    assert_eq!(fdt.phandle_index().get(platreset_fdt::Phandle::new(1).unwrap()), Some(uart.id()));
    assert_eq!(from_fdt(&fdt), root, "loading what was written gives the built tree");
}

// ---------------------------------------------------------------------------------------------
// 3. Validation

/// A valid tree: / { a; soc { uart@1000 { b; }; }; }.
fn valid_tree() -> Node {
    let mut root = Node::new("");
    root.set_empty("a");
    root.add_child(Node::new("soc")).unwrap().add_child(Node::new("uart@1000")).unwrap().set_empty("b");
    root
}

/// The error both writers give for the edited tree: the DTS printer refuses what the DTB writer
/// refuses, with the same error.
fn write_error(edit: impl FnOnce(&mut Node), opts: &WriteOptions) -> (WriteError, String) {
    let mut root = valid_tree();
    edit(&mut root);
    let err = to_dtb(&root, opts).unwrap_err();
    assert_eq!(to_dts_with(&root, opts).unwrap_err(), err, "to_dts refuses it alike");
    let message = err.to_string();
    (err, message)
}

/// A change to [`valid_tree`].
type Edit = Box<dyn FnOnce(&mut Node)>;

fn uart(root: &mut Node) -> &mut Node {
    root.find_mut("/soc/uart@1000").unwrap()
}

#[test]
fn every_validation_error_names_the_node_and_property() {
    let none = WriteOptions::default();
    assert!(to_dtb(&valid_tree(), &none).is_ok());

    let rename = |name: &'static str| move |root: &mut Node| uart(root).name = name.into();
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|root: &mut Node| root.name = "top".into()),
            "node /: the root node's name must be empty, found `top`",
        ),
        (Box::new(rename("")), "node /soc/: the node name is empty (only the root's may be)"),
        (
            Box::new(rename("ua rt@1000")),
            "node /soc/ua rt@1000: byte 0x20 (' ') at offset 2 is not allowed in a node name \
             (A-Z a-z 0-9 , . _ + - and one `@` before the unit address)",
        ),
        (
            Box::new(rename("uart@1@2")),
            "node /soc/uart@1@2: a second `@` at offset 6 of the node name (one unit address only)",
        ),
        (Box::new(rename("uart@")), "node /soc/uart@: the node name has an empty unit address"),
        (Box::new(rename("@1000")), "node /soc/@1000: the node name has nothing before `@`"),
        (
            Box::new(|root: &mut Node| root.child_mut("soc").unwrap().children.push(Node::new("uart@1000"))),
            "node /soc: two children are named `uart@1000`",
        ),
        (
            Box::new(|root: &mut Node| uart(root).props.push(Prop::new("", vec![]))),
            "node /soc/uart@1000, property ``: the property name is empty",
        ),
        (
            Box::new(|root: &mut Node| {
                uart(root).set_empty("a=b");
            }),
            "node /soc/uart@1000, property `a=b`: byte 0x3d ('=') at offset 1 is not allowed in a property \
             name (A-Z a-z 0-9 , . _ + ? # -)",
        ),
        (
            Box::new(|root: &mut Node| {
                root.set_empty("na\u{e9}me");
            }),
            "node /, property `na\\xc3\\xa9me`: byte 0xc3 at offset 2 is not allowed in a property name \
             (A-Z a-z 0-9 , . _ + ? # -)",
        ),
        (
            Box::new(|root: &mut Node| uart(root).props.push(Prop::new("b", vec![1]))),
            "node /soc/uart@1000: two properties are named `b`",
        ),
    ];
    for (edit, expected) in cases {
        let (_, message) = write_error(edit, &none);
        assert_eq!(message, expected);
    }

    let (err, message) =
        write_error(|_| {}, &WriteOptions { boot_cpuid: 0, reservations: vec![(0x1000, 0x10), (0, 0)] });
    assert_eq!(err, WriteError::ZeroReservation { index: 1 });
    assert_eq!(
        message,
        "memory reservation #1 is (0, 0), which marks the end of the reservation list; remove it"
    );
}

#[test]
#[cfg(target_pointer_width = "64")]
fn a_value_beyond_the_32_bit_length_field_is_refused_before_it_is_copied() {
    // Zeroed allocations are mapped lazily: the 4 GiB are never touched, as the check comes first.
    let huge = vec![0u8; u32::MAX as usize + 1];
    let mut root = valid_tree();
    uart(&mut root).props.push(Prop::new("huge", huge));
    let err = to_dtb(&root, &WriteOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node /soc/uart@1000, property `huge`: its value of 4294967296 bytes does not fit the 32-bit length field"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. DTS

#[test]
fn to_dts_of_a_small_tree_is_exact_and_dtc_compiles_it() {
    let mut root = Node::new("");
    root.set_u32s("#address-cells", &[1]).set_u32s("#size-cells", &[1]).set_str("model", "tiny \"board\"");
    let soc = root.add_child(Node::new("soc@0")).unwrap();
    soc.set_strs("compatible", &["vendor,soc", "simple-bus"]).set_empty("ranges");
    soc.add_child(Node::new("uart@1000"))
        .unwrap()
        .set_u32s("reg", &[0x1000, 0x100])
        .set_u64s("big", &[0x1_0000_0002])
        .set("mac", vec![0, 0x11, 0x22, 0x33, 0x44, 0x55])
        .set_str("empty-string", "")
        .set_u32s("phandle", &[1]);
    soc.add_child(Node::new("leaf")).unwrap();
    root.add_child(Node::new("chosen")).unwrap();

    let expected = "\
/dts-v1/;

/ {
\t#address-cells = <0x1>;
\t#size-cells = <0x1>;
\tmodel = \"tiny \\\"board\\\"\";

\tsoc@0 {
\t\tcompatible = \"vendor,soc\", \"simple-bus\";
\t\tranges;

\t\tuart@1000 {
\t\t\treg = <0x1000 0x100>;
\t\t\tbig = <0x1 0x2>;
\t\t\tmac = [00 11 22 33 44 55];
\t\t\tempty-string = \"\";
\t\t\tphandle = <0x1>;
\t\t};

\t\tleaf {
\t\t};
\t};

\tchosen {
\t};
};
";
    let source = to_dts(&root).unwrap();
    assert_eq!(source, expected);
    let compiled = dtc_dtb(&source).unwrap_or_else(|e| panic!("dtc refuses our DTS: {e}"));
    assert_eq!(from_fdt(&Fdt::parse(&compiled).unwrap()), root, "dtc compiles it to the same tree");

    let with = to_dts_with(&root, &WriteOptions { boot_cpuid: 0, reservations: vec![(0x8000_0000, 0x1000)] })
        .unwrap();
    assert!(with.starts_with("/dts-v1/;\n\n/memreserve/ 0x80000000 0x1000;\n\n/ {\n"), "{with}");
    dtc_dtb(&with).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. Corpus

/// Every `CORPUS_STRIDE`-th corpus DTB (in path order) is round-tripped.
const CORPUS_STRIDE: usize = 50;

#[test]
fn a_sample_of_corpus_dtbs_round_trips_as_dtc_sees_it() {
    let Some(corpus) = platreset_testkit::corpus_dir() else {
        return;
    };
    let files = platreset_testkit::dtbs_below(&corpus);
    assert!(!files.is_empty(), "corpus directory {} holds no *.dtb", corpus.display());
    let sample: Vec<&Path> = files.iter().step_by(CORPUS_STRIDE).map(|p| p.as_path()).collect();
    let failures: Vec<String> = sample
        .iter()
        .filter_map(|path| {
            let what = path.strip_prefix(&corpus).unwrap_or(path).display().to_string();
            round_trip(&what, &std::fs::read(path).unwrap()).err()
        })
        .collect();
    eprintln!("corpus: {} of {} DTBs round-tripped", sample.len() - failures.len(), sample.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
