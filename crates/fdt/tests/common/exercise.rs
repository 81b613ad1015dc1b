//! Drives the whole read-only API of `platreset-fdt` over one blob and checks the invariants any
//! accepted tree must satisfy. Shared by the mutation test (`tests/mutation.rs`) and the fuzz
//! target (`fuzz/fuzz_targets/fdt_parse.rs`, which includes this file by path), so both exercise
//! exactly the same calls. A broken invariant panics, like any other bug the fuzzer should report.

use platreset_fdt::{Fdt, Node, Phandle};

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `Fdt::parse` refused it.
    Rejected,
    /// It parsed; the numbers summarise what was visited (and keep the work observable).
    Accepted {
        /// Nodes visited.
        nodes: usize,
        /// Properties visited.
        properties: usize,
    },
}

/// Names classified through a [`platreset_fdt::NameTable`] for every property.
const CLASSIFIED: &[&str] =
    &["reg", "resets", "phandle", "linux,phandle", "compatible", "status", "#reset-cells"];

/// `(address cells, size cells)` pairs handed to `decode_pairs`, including absurd ones: the
/// method is public, so any u32 must be answered with a value or an error.
const PAIR_SHAPES: &[(u32, u32)] = &[
    (0, 0),
    (1, 0),
    (0, 1),
    (1, 1),
    (2, 1),
    (2, 2),
    (3, 0),
    (4, 4),
    (5, 0),
    (u32::MAX, 1),
    (1, u32::MAX),
    (u32::MAX, u32::MAX),
];

/// Lookups tried on every accepted tree besides its own paths, aliases and labels.
const SPECS: &[&str] = &[
    "",
    "/",
    "//",
    "&",
    "&&",
    "/..",
    "/.",
    "@",
    "/@",
    "/a//b",
    "a/b/c",
    "serial0",
    "serial0/x",
    "&serial0",
    "/aliases",
    "/__symbols__",
    "/soc/serial",
];

/// Per node, how many properties get the costlier checks, and per property how many cells are
/// looked up as phandles (keeps the mutation test's corpus mutants cheap).
const DEEP_CHECKS: usize = 8;

/// Nodes whose paths are looked up again with `find_path` and `resolve` (bounded: a lookup
/// walks siblings, and a mutant may have thousands of them).
const PATH_LOOKUPS: usize = 48;

/// Parses `blob` and, when it is accepted, uses every read-only call on the tree.
pub fn exercise(blob: &[u8]) -> Outcome {
    let Ok(fdt) = Fdt::parse(blob) else {
        return Outcome::Rejected;
    };
    let outcome = walk(&fdt);

    // Parsing again with the old allocations gives the same tree.
    let offsets: Vec<usize> = fdt.nodes().map(|n| n.offset()).collect();
    let again = match Fdt::parse_with(blob, fdt.into_scratch()) {
        Ok(again) => again,
        Err(e) => panic!("a blob that parsed once is refused the second time: {e}"),
    };
    assert!(again.nodes().map(|n| n.offset()).eq(offsets.iter().copied()), "reparse changed the node table");
    assert!(again.classification().is_none());

    // Classifying during the walk marks exactly the names the node's properties have.
    let classified = match Fdt::parse_classifying(blob, again.into_scratch(), CLASSIFIED) {
        Ok(classified) => classified,
        Err(e) => panic!("parse_classifying refused a blob parse accepted: {e}"),
    };
    check_classes(&classified);
    outcome
}

fn check_classes(fdt: &Fdt<'_>) {
    let Some(table) = fdt.classification() else {
        panic!("parse_classifying kept no table");
    };
    assert_eq!(table.names(), CLASSIFIED);
    let own = fdt.name_table(CLASSIFIED);
    for node in fdt.nodes() {
        let expected: Vec<(usize, &[u8])> = node
            .properties()
            .filter_map(|p| CLASSIFIED.iter().position(|n| n.as_bytes() == p.name()).map(|i| (i, p.name())))
            .collect();
        let mask = expected.iter().fold(0u32, |m, &(i, _)| m | 1 << i);
        assert_eq!(node.classes(), mask, "classes of {}", node.path());
        for t in [table, &own] {
            let got: Vec<(usize, &[u8])> =
                node.classified_properties(t).map(|(i, p)| (i, p.name())).collect();
            assert_eq!(got, expected, "classified properties of {}", node.path());
        }
    }
}

fn walk(fdt: &Fdt<'_>) -> Outcome {
    let header = fdt.header();
    assert!(header.struct_start <= header.struct_end && header.struct_end <= header.total_size);
    assert!(header.strings_start <= header.strings_end && header.strings_end <= header.total_size);
    assert!(header.total_size <= fdt.blob().len());
    if let Ok(reservations) = fdt.reservations() {
        assert!(reservations.len() * 16 < header.total_size, "more reservations than the blob can hold");
    }

    let count = fdt.node_count();
    assert!(count >= 1, "an accepted tree has a root");
    assert_eq!(fdt.nodes().len(), count);
    let root = fdt.root();
    assert!(root.parent().is_none());
    assert_eq!((root.depth(), root.path().as_str(), root.id().index()), (0, "/", 0));

    let table = fdt.name_table(CLASSIFIED);
    let phandles = fdt.phandle_index();
    let mut properties = 0;
    let mut children_total = 0;
    let mut last_offset = None;
    let mut path = String::new();
    for (i, node) in fdt.nodes().enumerate() {
        assert_eq!(node.id().index(), i);
        assert_eq!(fdt.node(node.id()), Some(node));
        assert!(last_offset < Some(node.offset()), "nodes are in document order");
        last_offset = Some(node.offset());
        check_names(node);
        check_links(node, &mut children_total);

        path.clear();
        node.write_path(&mut path);
        assert_eq!(path, node.path());
        assert!(path.starts_with('/'));
        if i < PATH_LOOKUPS {
            check_lookup(fdt, node, &path);
        }

        let _ = (node.status(), node.is_enabled(), node.compatible().count());
        let _ = (node.address_cells(), node.size_cells());
        if let Ok(reg) = node.reg() {
            if let (Some(reg_prop), Some(parent)) = (node.property("reg"), node.parent()) {
                let stride =
                    (parent.address_cells().unwrap_or(2) + parent.size_cells().unwrap_or(1)) as usize;
                assert_eq!(reg.len() * stride * 4, reg_prop.value().len(), "reg entries of {path}");
            }
        }
        if let Some(phandle) = node.phandle() {
            match phandles.get(phandle) {
                Some(id) if id == node.id() => {}
                Some(id) => {
                    assert!(id < node.id(), "the first holder of a phandle wins");
                    assert!(
                        phandles.duplicates().contains(&(phandle, node.id())),
                        "duplicate phandle recorded"
                    );
                }
                None => panic!("phandle {phandle} of {path} is not in the index"),
            }
        }

        for (nth, prop) in node.properties().enumerate() {
            properties += 1;
            check_property(fdt, node, &prop, nth, &table, &phandles);
        }
    }
    assert_eq!(children_total, count - 1, "every node but the root is some node's child");
    for &(phandle, id) in phandles.duplicates() {
        assert!(phandles.get(phandle).is_some_and(|first| first < id));
    }
    assert!(phandles.len() <= count);

    check_aliases_and_labels(fdt);
    for spec in SPECS {
        let _ = fdt.resolve(spec);
        let _ = fdt.find_path(spec);
    }
    Outcome::Accepted { nodes: count, properties }
}

fn check_names(node: Node<'_, '_>) {
    let name = node.name();
    let base = node.base_name();
    assert!(name.starts_with(base));
    match node.unit_address() {
        Some(unit) => {
            assert_eq!(base.len() + 1 + unit.len(), name.len());
            assert_eq!(name[base.len()], b'@');
        }
        None => assert_eq!(base, name),
    }
    // Shown as text: invalid UTF-8 replaced, ASCII controls (ESC, CR, LF…) escaped.
    let shown: String = String::from_utf8_lossy(name)
        .chars()
        .flat_map(|c| if c.is_ascii_control() { c.escape_unicode().collect::<Vec<_>>() } else { vec![c] })
        .collect();
    assert_eq!(node.name_lossy(), shown);
    assert!(!node.path().chars().any(|c| c.is_ascii_control()), "{:?}", node.path());
}

fn check_links(node: Node<'_, '_>, children_total: &mut usize) {
    if let Some(parent) = node.parent() {
        assert!(parent.id() < node.id(), "a parent precedes its children");
        assert_eq!(parent.depth() + 1, node.depth());
    }
    let mut previous: Option<Node<'_, '_>> = None;
    for child in node.children() {
        *children_total += 1;
        assert_eq!(child.parent(), Some(node));
        if let Some(previous) = previous {
            assert!(previous.id() < child.id(), "siblings are in document order");
        }
        previous = Some(child);
    }
    if let Some(first) = node.children().next() {
        // `child` returns the first child of that exact name.
        let found = node.child(first.name());
        assert_eq!(found, Some(first));
    }
}

fn check_lookup(fdt: &Fdt<'_>, node: Node<'_, '_>, path: &str) {
    let found = fdt.find_path(path);
    let _ = fdt.resolve(path);
    // When every name on the way is non-empty UTF-8 without '/', whatever the path finds has that
    // path; when, besides, no earlier sibling on the way has the same name (dtc forbids that, a
    // mutant need not), the path finds exactly this node.
    let (mut spellable, mut unique) = (true, true);
    let mut at = node;
    while let Some(parent) = at.parent() {
        let name = at.name();
        spellable &= !name.is_empty() && !name.contains(&b'/') && std::str::from_utf8(name).is_ok();
        unique &= parent.child(name) == Some(at);
        at = parent;
    }
    if spellable {
        match found {
            Ok(n) if unique => assert_eq!(n, node, "find_path({path:?})"),
            Ok(n) => assert_eq!(n.path(), path),
            Err(e) if unique => panic!("find_path({path:?}) failed: {e}"),
            Err(_) => {}
        }
    }
}

fn check_property(
    fdt: &Fdt<'_>,
    node: Node<'_, '_>,
    prop: &platreset_fdt::Property<'_>,
    nth: usize,
    table: &platreset_fdt::NameTable<'_>,
    phandles: &platreset_fdt::PhandleIndex,
) {
    let value = prop.value();
    let len = value.len();
    assert!(prop.offset() > node.offset());
    assert_eq!(prop.name_lossy(), String::from_utf8_lossy(prop.name()));

    // The table classifies a property exactly when its name is one of the table's names.
    let expected = CLASSIFIED.iter().position(|n| n.as_bytes() == prop.name());
    assert_eq!(table.get(prop), expected, "name table on {:?}", prop.name_lossy());

    // Lookup by name finds the first property of that name (checked for the first few of each
    // node: doing it for all is quadratic in the property count).
    if let (true, Ok(name)) = (nth < DEEP_CHECKS, std::str::from_utf8(prop.name())) {
        let first = node.properties().find(|p| p.name() == prop.name());
        assert_eq!(node.property(name), first);
        assert!(prop.is_named(name));
        assert!(!prop.is_named(&format!("{name}x")));
        assert!(!prop.is_named(&format!("{name}\0")), "a name with a NUL matches nothing");
    }

    assert_eq!(prop.u32().is_ok(), len == 4);
    assert_eq!(prop.u64().is_ok(), len == 8);
    match prop.u32s() {
        Ok(cells) => {
            assert_eq!(len % 4, 0);
            assert_eq!(cells.len(), len / 4);
            for cell in cells.take(DEEP_CHECKS) {
                // The index and `Node::phandle` apply the same rule.
                if let Some(target) = phandles.lookup(fdt, cell) {
                    assert_eq!(target.phandle(), Phandle::new(cell));
                }
            }
        }
        Err(_) => assert_ne!(len % 4, 0),
    }
    if nth < DEEP_CHECKS || len % 8 == 0 {
        match prop.u64s() {
            Ok(wide) => assert_eq!(wide.len() * 8, len),
            Err(_) => assert_ne!(len % 8, 0),
        }
    }
    if let (Ok(one), Ok(two)) = (prop.u64(), prop.u32s()) {
        assert_eq!(one, two.fold(0, |acc, c| (acc << 32) | u64::from(c)));
    }

    let strings: Vec<&[u8]> = prop.strings().collect();
    if len == 0 {
        assert!(strings.is_empty());
    } else {
        let joined = strings.join(&0u8);
        assert_eq!(joined.as_slice(), value.strip_suffix(b"\0").unwrap_or(value));
    }
    let first = prop.first_string();
    assert!(value.starts_with(first));
    assert!(!first.contains(&0));

    // Every shape on a node's first properties; the plausible ones on small values elsewhere
    // (each call decodes the whole value, and most shapes end in a formatted error).
    let shapes = if nth < 2 {
        PAIR_SHAPES
    } else if len <= 64 {
        &PAIR_SHAPES[3..6]
    } else {
        &[]
    };
    for &(ac, sc) in shapes {
        if let Ok(pairs) = prop.decode_pairs(ac, sc) {
            assert_eq!(pairs.len() as u64 * (u64::from(ac) + u64::from(sc)) * 4, len as u64);
        }
    }
}

fn check_aliases_and_labels(fdt: &Fdt<'_>) {
    for (kind, node_name) in [("alias", &b"aliases"[..]), ("label", &b"__symbols__"[..])] {
        let Some(holder) = fdt.root().child(node_name) else {
            continue;
        };
        for prop in holder.properties().take(PATH_LOOKUPS) {
            let Ok(name) = std::str::from_utf8(prop.name()) else {
                continue;
            };
            let first = holder.property(name).map(|p| p.first_string());
            if kind == "alias" {
                assert_eq!(fdt.alias(name), first);
                let _ = fdt.resolve(&format!("{name}/child"));
            } else {
                assert_eq!(fdt.label(name), first);
                let _ = fdt.resolve(&format!("&{name}"));
            }
            let _ = fdt.resolve(name);
        }
    }
}
