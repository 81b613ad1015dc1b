//! The DTS fixtures under `tests/dts/`, compiled with `dtc -@`, read back through the public API:
//! every value the fixtures' comments promise, and every node, property and header field
//! cross-checked against libfdt's `fdtget` and `fdtdump`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::exercise::{exercise, Outcome};
use common::{compile, compile_all, crosscheck_header_with_fdtdump, crosscheck_with_fdtget, fdtget};
use platreset_fdt::{Fdt, FdtError, LookupError, Node, Phandle, RegEntry, Reservation};

fn cells(fdt: &Fdt<'_>, path: &str, property: &str) -> Vec<u32> {
    let node = fdt.find_path(path).unwrap();
    node.property(property).unwrap_or_else(|| panic!("{path} has no {property}")).u32s().unwrap().collect()
}

fn strings<'a>(node: Node<'_, 'a>, property: &str) -> Vec<&'a [u8]> {
    node.property(property).unwrap().strings().collect()
}

// ---------------------------------------------------------------------------------------------
// All fixtures

#[test]
fn every_fixture_agrees_with_fdtget_node_for_node_and_byte_for_byte() {
    for fixture in compile_all() {
        let fdt = Fdt::parse(&fixture.blob).unwrap();
        let nodes: Vec<Node<'_, '_>> = fdt.nodes().collect();
        let checked = crosscheck_with_fdtget(&fixture.path, &nodes);
        assert_eq!(checked.unreachable, 0, "{}: fdtget must reach every fixture node by its path (libfdt takes the first `name@…` for `name`: put a plain `name` before its `name@…` siblings)", fixture.name);
        assert_eq!(checked.nodes, fdt.node_count());
        assert_eq!(checked.values, fdt.nodes().map(|n| n.properties().count()).sum::<usize>());
        crosscheck_header_with_fdtdump(&fixture.path, &fdt);
    }
}

#[test]
fn every_fixture_satisfies_the_api_invariants() {
    for fixture in compile_all() {
        assert!(
            matches!(exercise(&fixture.blob), Outcome::Accepted { nodes, .. } if nodes > 1),
            "{} was not accepted",
            fixture.name
        );
    }
}

#[test]
fn parse_with_reuses_scratch_across_fixtures() {
    let fixtures = compile_all();
    let mut scratch = platreset_fdt::Scratch::default();
    for fixture in &fixtures {
        let fdt = Fdt::parse_with(&fixture.blob, scratch).unwrap();
        let fresh = Fdt::parse(&fixture.blob).unwrap();
        assert_eq!(fdt.node_count(), fresh.node_count());
        assert!(fdt.nodes().map(|n| n.path()).eq(fresh.nodes().map(|n| n.path())));
        scratch = fdt.into_scratch();
    }
}

// ---------------------------------------------------------------------------------------------
// resets-shapes.dts

/// The phandle of the node at `path`.
fn phandle_at(fdt: &Fdt<'_>, path: &str) -> u32 {
    fdt.find_path(path).unwrap().phandle().unwrap().get()
}

#[test]
fn reset_controllers_declare_zero_one_and_two_cells() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    for (path, expected) in [
        ("/soc/reset-controller@1000", 0),
        ("/soc/reset-controller@2000", 1),
        ("/soc/reset-controller@3000", 2),
        ("/soc/reset-controller@4000", 1),
    ] {
        assert_eq!(cells(&fdt, path, "#reset-cells"), [expected], "{path}");
    }
}

#[test]
fn controller_with_only_linux_phandle_is_in_the_phandle_index() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let legacy = fdt.find_path("/soc/reset-controller@4000").unwrap();
    assert!(legacy.property("phandle").is_none(), "dtc must not have added `phandle`");
    assert_eq!(legacy.property("linux,phandle").unwrap().u32().unwrap(), 0x77);
    assert_eq!(legacy.phandle(), Phandle::new(0x77));

    let index = fdt.phandle_index();
    assert_eq!(index.lookup(&fdt, 0x77), Some(legacy));
    assert_eq!(index.get(Phandle::new(0x77).unwrap()), Some(legacy.id()));
    // i2c@15000 names it by the raw cell.
    let i2c_resets = cells(&fdt, "/soc/i2c@15000", "resets");
    assert_eq!(i2c_resets, [0x77, 2]);
    assert_eq!(
        index.lookup(&fdt, i2c_resets[0]).map(|n| n.path()).as_deref(),
        Some("/soc/reset-controller@4000")
    );
    assert!(index.duplicates().is_empty());
}

#[test]
fn every_labelled_node_got_a_phandle_and_the_index_finds_each() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let index = fdt.phandle_index();
    let with_phandle: Vec<Node<'_, '_>> = fdt.nodes().filter(|n| n.phandle().is_some()).collect();
    // dtc -@ gives every labelled node a phandle: 4 controllers and 10 consumers.
    assert_eq!(with_phandle.len(), 14);
    assert_eq!(index.len(), 14);
    for node in with_phandle {
        assert_eq!(index.get(node.phandle().unwrap()), Some(node.id()), "{}", node.path());
    }
}

#[test]
fn reset_specifiers_read_back_cell_for_cell() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let rst0 = phandle_at(&fdt, "/soc/reset-controller@1000");
    let rst1 = phandle_at(&fdt, "/soc/reset-controller@2000");
    let rst2 = phandle_at(&fdt, "/soc/reset-controller@3000");

    // The line <&rst1 5> is shared by two enabled ethernet controllers.
    assert_eq!(cells(&fdt, "/soc/ethernet@10000", "resets"), [rst1, 5]);
    assert_eq!(cells(&fdt, "/soc/ethernet@11000", "resets"), [rst1, 5]);
    // <&rst1 7> is shared with a disabled node only.
    assert_eq!(cells(&fdt, "/soc/mmc@12000", "resets"), [rst1, 7]);
    assert_eq!(cells(&fdt, "/soc/mmc@13000", "resets"), [rst1, 7]);
    assert!(fdt.find_path("/soc/mmc@12000").unwrap().is_enabled());
    let disabled = fdt.find_path("/soc/mmc@13000").unwrap();
    assert!(!disabled.is_enabled());
    assert_eq!(disabled.status(), b"disabled");
    // One property, three specifiers of 0, 1 and 2 argument cells.
    assert_eq!(cells(&fdt, "/soc/dma-controller@14000", "resets"), [rst0, rst1, 3, rst2, 4, 1]);
    let dma = fdt.find_path("/soc/dma-controller@14000").unwrap();
    assert_eq!(strings(dma, "reset-names"), [&b"bus"[..], b"core", b"phy"]);
    assert_eq!(cells(&fdt, "/soc/usb@19000", "resets"), [rst1, 8, rst1, 9]);
    // No resets at all.
    assert!(fdt.find_path("/soc/timer@18000").unwrap().property("resets").is_none());
}

#[test]
fn unknown_phandle_in_resets_resolves_to_no_node() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let resets = cells(&fdt, "/soc/spi@16000", "resets");
    assert_eq!(resets, [0x4242, 1]);
    let index = fdt.phandle_index();
    assert_eq!(index.lookup(&fdt, resets[0]), None);
    assert_eq!(index.get(Phandle::new(0x4242).unwrap()), None);
    // 0 and 0xffffffff are never phandles.
    assert_eq!(Phandle::new(0), None);
    assert_eq!(Phandle::new(u32::MAX), None);
    assert_eq!(index.lookup(&fdt, 0), None);
    assert_eq!(index.lookup(&fdt, u32::MAX), None);
}

#[test]
fn truncated_specifier_is_read_verbatim_for_the_caller_to_judge() {
    let fixture = compile("resets-shapes");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let rst2 = fdt.find_path("/soc/reset-controller@3000").unwrap();
    let resets = cells(&fdt, "/soc/pwm@17000", "resets");
    assert_eq!(resets, [rst2.phandle().unwrap().get(), 1]);
    let index = fdt.phandle_index();
    let controller = index.lookup(&fdt, resets[0]).unwrap();
    assert_eq!(controller, rst2);
    let needed = 1 + controller.property("#reset-cells").unwrap().u32().unwrap() as usize;
    assert!(resets.len() < needed, "one argument cell of two: the specifier is truncated");
}

// ---------------------------------------------------------------------------------------------
// names-and-lookups.dts

const LONG_MMC: &str = "mmc-controller-with-a-name-far-beyond-thirty-one-characters@5000";
const LONG_DIR: &str =
    "a-node-whose-name-is-much-much-longer-than-thirty-one-characters-and-then-some-more-still";
const LONG_CHILD: &str = "nested-child-also-with-a-name-longer-than-thirty-one-characters";
const LONG_PROP: &str = "a-property-name-that-is-also-longer-than-thirty-one-characters";

#[test]
fn names_longer_than_31_characters_read_back_whole() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let mmc = fdt.find_path(&format!("/soc/{LONG_MMC}")).unwrap();
    assert_eq!(mmc.name(), LONG_MMC.as_bytes());
    assert_eq!(mmc.base_name(), &LONG_MMC.as_bytes()[..LONG_MMC.len() - 5]);
    assert_eq!(mmc.unit_address(), Some(&b"5000"[..]));
    let prop = mmc.property(LONG_PROP).unwrap();
    assert_eq!(prop.name(), LONG_PROP.as_bytes());
    assert_eq!(prop.u32().unwrap(), 0x1234);

    let leaf = fdt.find_path(&format!("/soc/{LONG_DIR}/{LONG_CHILD}/leaf")).unwrap();
    assert_eq!(leaf.path(), format!("/soc/{LONG_DIR}/{LONG_CHILD}/leaf"));
    assert_eq!(leaf.depth(), 4);
    assert_eq!(leaf.property("value").unwrap().u32().unwrap(), 42);
    assert!(LONG_DIR.len() > 80 && LONG_CHILD.len() > 31 && LONG_PROP.len() > 31);
}

#[test]
fn names_keep_every_character_the_spec_allows_and_unit_addresses_with_commas() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let odd = fdt.find_path("/soc/Vendor,Odd_Name+v1.2-x@6000").unwrap();
    assert_eq!(odd.base_name(), b"Vendor,Odd_Name+v1.2-x");
    assert_eq!(odd.unit_address(), Some(&b"6000"[..]));
    let phy = fdt.find_path("/soc/mdio@7000/ethernet-phy@1,0").unwrap();
    assert_eq!(phy.unit_address(), Some(&b"1,0"[..]));
    assert_eq!(phy.reg().unwrap(), [RegEntry { address: 0x1_0000_0000, size: 0 }]);
    let root = fdt.root();
    assert_eq!((root.name(), root.base_name(), root.unit_address()), (&b""[..], &b""[..], None));
}

#[test]
fn find_path_walks_parents_and_children_consistently() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let bt = fdt.find_path("/soc/serial@1000/bluetooth").unwrap();
    assert_eq!(bt.parent().map(|p| p.path()).as_deref(), Some("/soc/serial@1000"));
    assert_eq!(bt.parent().unwrap().child(b"bluetooth"), Some(bt));
    let soc = fdt.root().child(b"soc").unwrap();
    let names: Vec<String> = soc.children().map(|c| c.name_lossy().into_owned()).collect();
    assert_eq!(
        names,
        [
            "serial@1000",
            "serial@2000",
            "gpio",
            "gpio@3000",
            "i2c@4000",
            LONG_MMC,
            "Vendor,Odd_Name+v1.2-x@6000",
            "mdio@7000",
            LONG_DIR
        ]
    );
    assert_eq!(fdt.find_path("/").unwrap(), fdt.root());
    assert_eq!(fdt.find_path("/soc/").unwrap(), soc);
}

#[test]
fn find_path_accepts_a_unique_name_without_its_unit_address() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(fdt.find_path("/soc/i2c").unwrap().path(), "/soc/i2c@4000");
    assert_eq!(fdt.find_path("/soc/mdio/ethernet-phy").unwrap().path(), "/soc/mdio@7000/ethernet-phy@1,0");
}

#[test]
fn find_path_prefers_the_exact_name_over_unit_address_matches() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(fdt.find_path("/soc/gpio").unwrap().path(), "/soc/gpio");
    assert_eq!(fdt.find_path("/soc/gpio@3000").unwrap().path(), "/soc/gpio@3000");
}

#[test]
fn find_path_reports_an_ambiguous_base_name_with_both_candidates() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(
        fdt.find_path("/soc/serial/bluetooth").unwrap_err(),
        LookupError::Ambiguous {
            spec: "/soc/serial/bluetooth".into(),
            component: "serial".into(),
            matches: vec!["/soc/serial@1000".into(), "/soc/serial@2000".into()],
        }
    );
}

#[test]
fn find_path_refuses_relative_and_unknown_paths() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    for path in ["soc", "", "/soc/nope", "/soc/serial@1000/nope", "/soc/i2c@9999", "/soc/gpio@"] {
        assert!(matches!(fdt.find_path(path), Err(LookupError::NotFound { .. })), "{path:?}");
    }
}

#[test]
fn aliases_resolve_with_and_without_a_tail() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(fdt.alias("serial0"), Some(&b"/soc/serial@1000"[..]));
    assert_eq!(fdt.alias("nope"), None);
    for (spec, path) in [
        ("serial0", "/soc/serial@1000"),
        ("serial0/bluetooth", "/soc/serial@1000/bluetooth"),
        ("serial1", "/soc/serial@2000"),
        ("mmc0", &*format!("/soc/{LONG_MMC}")),
        ("phy0", "/soc/mdio@7000/ethernet-phy@1,0"),
        ("soc/i2c", "/soc/i2c@4000"),
    ] {
        assert_eq!(fdt.resolve(spec).map(|n| n.path()).as_deref(), Ok(path), "{spec}");
    }
}

#[test]
fn labels_come_from_symbols_with_or_without_ampersand() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(fdt.label("uart0"), Some(&b"/soc/serial@1000"[..]));
    assert_eq!(fdt.label("nope"), None);
    let leaf = format!("/soc/{LONG_DIR}/{LONG_CHILD}/leaf");
    for (spec, path) in [
        ("&uart0", "/soc/serial@1000"),
        ("uart0", "/soc/serial@1000"),
        ("&bt", "/soc/serial@1000/bluetooth"),
        ("&gpio_plain", "/soc/gpio"),
        ("&deep_leaf", leaf.as_str()),
        ("deep_leaf", leaf.as_str()),
        ("&spelling", "/soc/Vendor,Odd_Name+v1.2-x@6000"),
    ] {
        assert_eq!(fdt.resolve(spec).map(|n| n.path()).as_deref(), Ok(path), "{spec}");
    }
    // A label is a whole name: no path tail after it.
    assert!(matches!(fdt.resolve("uart0/bluetooth"), Err(LookupError::NotFound { .. })));
}

#[test]
fn an_alias_shadows_a_label_of_the_same_name() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    // alias console = &uart1, label console: on uart0.
    assert_eq!(fdt.resolve("console").unwrap().path(), "/soc/serial@2000");
    assert_eq!(fdt.resolve("&console").unwrap().path(), "/soc/serial@1000");
}

#[test]
fn broken_aliases_are_reported_as_bad_targets() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let problem = |spec: &str| match fdt.resolve(spec) {
        Err(LookupError::BadTarget { kind: "alias", name, target, problem }) => {
            assert_eq!(name, spec);
            (target, problem)
        }
        other => panic!("{spec}: expected a bad alias target, got {other:?}"),
    };
    assert_eq!(problem("relative"), ("soc/serial@1000".into(), "not an absolute path".into()));
    let (target, why) = problem("dangling");
    assert_eq!(target, "/soc/no-such-node");
    assert!(why.contains("no node"), "{why}");
    let (target, why) = problem("ambiguous");
    assert_eq!(target, "/soc/serial");
    assert!(why.contains("ambiguous"), "{why}");
}

#[test]
fn unknown_names_are_not_found() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    for spec in ["nope", "&nope", "nope/child", "&", ""] {
        assert!(matches!(fdt.resolve(spec), Err(LookupError::NotFound { .. })), "{spec:?}");
    }
}

#[test]
fn chosen_stdout_path_is_a_string() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let chosen = fdt.find_path("/chosen").unwrap();
    assert_eq!(chosen.property("stdout-path").unwrap().first_string(), b"serial0:115200n8");
}

// ---------------------------------------------------------------------------------------------
// reg-and-memreserve.dts

#[test]
fn memreserve_entries_read_back_in_order() {
    let fixture = compile("reg-and-memreserve");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(
        fdt.reservations().unwrap(),
        [
            Reservation { address: 0x1000_0000, size: 0x4000 },
            Reservation { address: 0x8_8000_0000, size: 0x10_0000 },
            Reservation { address: 0xfff0_0000, size: 0x10_0000 },
        ]
    );
}

#[test]
fn reg_decodes_with_the_parents_cell_sizes() {
    let fixture = compile("reg-and-memreserve");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let reg = |path: &str| fdt.find_path(path).unwrap().reg().unwrap();
    let entry = |address, size| RegEntry { address, size };
    // 2/2 at the root.
    assert_eq!(
        reg("/memory@80000000"),
        [entry(0x8000_0000, 0x4000_0000), entry(0x8_8000_0000, 0x1_0000_0000)]
    );
    // 1/1 on bus32.
    assert_eq!(reg("/bus32@10000000/uart@1000"), [entry(0x1000, 0x100), entry(0x2000, 0x10)]);
    // 2/1 on bus64.
    assert_eq!(reg("/bus64/dev@1,2000"), [entry(0x1_0000_2000, 0x400)]);
    // 1/0 on cpus.
    assert_eq!(reg("/cpus/cpu@0"), [entry(0, 0)]);
    assert_eq!(reg("/cpus/cpu@1"), [entry(1, 0)]);
    // Neither property on the parent: the defaults 2/1.
    assert_eq!(reg("/defaults/dev@0,1000"), [entry(0x1000, 0x10)]);
    // Three address cells whose top cell is 0 still fit.
    assert_eq!(reg("/wide/ok@0,0,1000"), [entry(0x1000, 0)]);
    // No reg at all.
    assert_eq!(reg("/cpus"), []);
    let cpus = fdt.find_path("/cpus").unwrap();
    assert_eq!((cpus.address_cells(), cpus.size_cells()), (Ok(1), Ok(0)));
    let defaults = fdt.find_path("/defaults").unwrap();
    assert_eq!((defaults.address_cells(), defaults.size_cells()), (Ok(2), Ok(1)));
}

#[test]
fn reg_that_cannot_be_decoded_is_a_bad_value_naming_the_property() {
    let fixture = compile("reg-and-memreserve");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let bad = |path: &str, property: &str| {
        let node = fdt.find_path(path).unwrap();
        let offset = fdt.find_path(path).unwrap().property(property).map(|p| p.offset());
        match node.reg() {
            Err(FdtError::BadValue { property: name, offset: at, problem }) => {
                assert_eq!(name, property, "{path}");
                assert_eq!(Some(at), offset, "{path}: the error names the property's offset");
                problem
            }
            other => panic!("{path}: expected a bad value, got {other:?}"),
        }
    };
    assert!(bad("/wide/too-wide@1,0,0", "reg").contains("64 bits"));
    // The parent's #address-cells is what is wrong here, so the error names it (at the parent).
    let node = fdt.find_path("/bad-cells/dev@0").unwrap();
    let parent_cells = node.parent().unwrap().property("#address-cells").unwrap();
    match node.reg() {
        Err(FdtError::BadValue { property, offset, .. }) => {
            assert_eq!((property.as_str(), offset), ("#address-cells", parent_cells.offset()));
        }
        other => panic!("expected a bad #address-cells, got {other:?}"),
    }
    assert!(bad("/odd-length/dev@0", "reg").contains("do not divide"));
}

// ---------------------------------------------------------------------------------------------
// values-and-status.dts

#[test]
fn string_lists_split_at_nuls_including_empty_strings() {
    let fixture = compile("values-and-status");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let node = fdt.find_path("/strings").unwrap();
    assert_eq!(strings(node, "one"), [&b"single"[..]]);
    assert_eq!(strings(node, "three"), [&b"first"[..], b"second", b"third"]);
    assert_eq!(strings(node, "empty-inside"), [&b"first"[..], b"", b"third"]);
    assert_eq!(strings(node, "empty-string"), [&b""[..]]);
    assert_eq!(strings(node, "no-final-nul"), [&b"ab"[..], b"cd"]);
    assert_eq!(strings(node, "clock-names"), [&b"bus"[..], b"core", b"phy", b"ref"]);
    assert_eq!(node.property("three").unwrap().first_string(), b"first");
    assert_eq!(node.property("no-final-nul").unwrap().first_string(), b"ab");
    let root = fdt.root();
    assert_eq!(
        root.compatible().collect::<Vec<_>>(),
        [&b"platreset,values-and-status"[..], b"platreset,fixture"]
    );
    assert_eq!(fdt.find_path("/numbers").unwrap().compatible().count(), 0);
}

#[test]
fn string_lists_agree_with_fdtget_as_strings() {
    let fixture = compile("values-and-status");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let node = fdt.find_path("/strings").unwrap();
    // fdtget -t s prints the strings of a list separated by one space.
    for name in ["one", "three", "empty-inside", "empty-string", "clock-names"] {
        let ours: Vec<String> =
            node.property(name).unwrap().strings().map(|s| String::from_utf8_lossy(s).into_owned()).collect();
        let theirs = fdtget(&fixture.path, &["-t", "s"], &["/strings", name]);
        assert_eq!([ours.join(" ")], theirs.as_slice(), "{name}");
    }
}

#[test]
fn cells_and_64_bit_values_read_back() {
    let fixture = compile("values-and-status");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    let node = fdt.find_path("/numbers").unwrap();
    let prop = |name| node.property(name).unwrap();
    assert_eq!(prop("one-cell").u32(), Ok(0xdead_beef));
    assert_eq!(prop("two-cells").u64(), Ok(0x1234_5678_9abc_def0));
    assert_eq!(prop("two-cells").u32s().unwrap().collect::<Vec<_>>(), [0x1234_5678, 0x9abc_def0]);
    assert_eq!(prop("three-cells").u32s().unwrap().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(prop("big").u64s(), Ok(vec![0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210]));
    assert_eq!(prop("big").decode_pairs(2, 2), Ok(vec![(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210)]));
    assert_eq!(prop("bytes").value(), [1, 2, 3]);

    let empty = prop("empty");
    assert_eq!((empty.value(), empty.strings().count(), empty.first_string()), (&[][..], 0, &b""[..]));
    assert_eq!(empty.u32s().map(|c| c.len()), Ok(0));

    // Shapes that do not fit are errors naming the property and its offset.
    for (name, reading) in [
        ("three-cells", prop("three-cells").u32().map(u64::from)),
        ("three-cells", prop("three-cells").u64()),
        ("one-cell", prop("one-cell").u64()),
        ("empty", prop("empty").u32().map(u64::from)),
        ("bytes", prop("bytes").u32s().map(|c| c.len() as u64)),
        ("three-cells", prop("three-cells").u64s().map(|v| v.len() as u64)),
    ] {
        match reading {
            Err(FdtError::BadValue { property, offset, .. }) => {
                assert_eq!((property.as_str(), offset), (name, prop(name).offset()));
            }
            other => panic!("{name}: expected a bad value, got {other:?}"),
        }
    }
}

#[test]
fn status_is_read_as_the_kernel_reads_it() {
    let fixture = compile("values-and-status");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    for (name, status, enabled) in [
        ("absent", &b"okay"[..], true),
        ("okay", b"okay", true),
        ("ok", b"ok", true),
        ("disabled", b"disabled", false),
        ("fail", b"fail-sss", false),
    ] {
        let node = fdt.find_path(&format!("/status/{name}")).unwrap();
        assert_eq!((node.status(), node.is_enabled()), (status, enabled), "{name}");
    }
}

#[test]
fn a_path_without_its_leading_slash_resolves_and_a_typo_gets_did_you_mean() {
    let fixture = compile("names-and-lookups");
    let fdt = Fdt::parse(&fixture.blob).unwrap();
    assert_eq!(fdt.resolve("soc/i2c@4000").unwrap().path(), "/soc/i2c@4000");
    let err = fdt.resolve("seral0").unwrap_err().to_string();
    assert!(err.contains("did you mean serial0"), "{err}");
    let err = fdt.find_path("/soc/i2c@4001").unwrap_err().to_string();
    assert!(err.contains("did you mean i2c@4000 under /soc?"), "{err}");
}

#[test]
fn without_symbols_the_error_says_so_and_lists_the_aliases() {
    // The same tree compiled without -@: no /__symbols__, as in 295 of 300 Debian DTBs.
    let blob = platreset_testkit::compile_dts_with(
        &platreset_testkit::fixtures_dir().join("names-and-lookups.dts"),
        false,
    );
    let fdt = Fdt::parse(&blob).unwrap();
    let err = fdt.resolve("uart0").unwrap_err().to_string();
    assert!(err.contains("no __symbols__ (it was compiled without dtc -@)"), "{err}");
    assert!(err.contains("its aliases: serial0, serial1, console"), "{err}");
}

#[test]
fn an_ambiguous_name_lists_every_match() {
    let err = LookupError::Ambiguous {
        spec: "/soc/serial".into(),
        component: "serial".into(),
        matches: vec!["/soc/serial@1000".into(), "/soc/serial@2000".into(), "/soc/serial@3000".into()],
    };
    assert_eq!(
        err.to_string(),
        "'serial' in '/soc/serial' is ambiguous: it matches /soc/serial@1000, /soc/serial@2000, /soc/serial@3000"
    );
}
