//! Mutation test of guest-dt's writers (issue 18): 150 mutants of a host tree whose names and
//! strings — node names, property names, `compatible`, `clock-names`, labels, `regulator-name` —
//! have 1 to 3 bytes overwritten with bytes that carry DTS, XML or shell syntax (`; { } = " \ <
//! & /`, line breaks, ESC, NUL, 0xff) or are plain name characters. For each mutant the strict
//! reader may refuse the blob; otherwise its three devices are read under the default policy and
//! built for every target. Every output is either refused or what `dtc` reads as the tree we
//! meant:
//! - QEMU's DTS fragment compiles with `dtc` to the very tree `qemu::place` built;
//! - Xen's partial DTB is the tree `xen::partial_tree` built, and it, crosvm's overlay and AVF's
//!   VM DTBO survive `dtc`'s round trip (DTB → DTS → DTB) unchanged;
//! - AVF's XML has one `<device>` per device, and every attribute value holds only XML characters,
//!   no `"` or `<`, and `&` only as an entity or character reference.
//!
//! Bounded: a fixed number of mutants from a fixed seed, nothing timed.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use platreset_dtedit::{from_fdt, to_dts, Node as DtNode};
use platreset_fdt::Fdt;
use platreset_guestdt::props::Tree;
use platreset_guestdt::{avf, crosvm, qemu, xen, HostDevice, Overrides, TargetOptions};

/// Mutants per run.
const MUTANTS: usize = 150;
/// Base seed; change it to explore other mutants.
const SEED: u64 = 0x6775_6573_7464_7421; // "guestdt!"

const HOST: &str = r#"/dts-v1/;
/ {
	#address-cells = <1>;
	#size-cells = <1>;
	gic: interrupt-controller@1000 {
		compatible = "arm,gic-400"; interrupt-controller; #interrupt-cells = <3>; reg = <0x1000 0x1000>;
	};
	smmu: iommu@20000 { compatible = "arm,mmu-500"; reg = <0x20000 0x1000>; #iommu-cells = <1>; };
	osc: oscillator { compatible = "fixed-clock"; #clock-cells = <0>; clock-frequency = <24000000>; };
	vcc: regulator-vcc { compatible = "regulator-fixed"; regulator-name = "vcc-sd"; regulator-always-on; };
	soc {
		#address-cells = <1>; #size-cells = <1>; ranges;
		mmc0: mmc@10000 {
			compatible = "acme,sdhi", "acme,mmc";
			reg = <0x10000 0x1000>;
			interrupt-parent = <&gic>; interrupts = <0 5 4>;
			iommus = <&smmu 1>;
			clocks = <&osc>; clock-names = "core";
			vmmc-supply = <&vcc>;
			bus-width = <4>;
			cap-sd-highspeed;
		};
		uart0: serial@30000 {
			compatible = "acme,uart";
			reg = <0x30000 0x100>;
			interrupt-parent = <&gic>; interrupts = <0 6 4>;
			iommus = <&smmu 2>;
			reg-names = "regs";
			model = "acme serial";
		};
		eth0: ethernet@40000 {
			compatible = "acme,eth";
			reg = <0x40000 0x1000>, <0x41000 0x100>;
			interrupt-parent = <&gic>; interrupts = <0 7 1>, <0 8 4>;
			iommus = <&smmu 3>;
			interrupt-names = "tx", "rx";
			phy-mode = "rgmii";
		};
	};
};
"#;

/// Strings of the host blob whose bytes the mutants overwrite.
const TARGETS: &[&str] = &[
    "mmc@10000",
    "serial@30000",
    "ethernet@40000",
    "soc",
    "regulator-vcc",
    "acme,sdhi",
    "acme,uart",
    "core",
    "vcc-sd",
    "mmc0",
    "uart0",
    "eth0",
    "bus-width",
    "cap-sd-highspeed",
    "reg-names",
    "model",
    "acme serial",
    "interrupt-names",
    "phy-mode",
    "rgmii",
];

/// Bytes written into them: syntax of DTS, XML and shells, controls, and plain name characters.
const BYTES: &[u8] = b";{}=\"\\<>&/ \n\t\x1b\x00\xff@#,._-aZ9";

use platreset_testkit::Rng;

/// Every offset in `blob` where one of [`TARGETS`] occurs, with its length.
fn ranges(blob: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for target in TARGETS {
        let needle = target.as_bytes();
        let mut from = 0;
        while let Some(at) = blob[from..].windows(needle.len()).position(|w| w == needle) {
            out.push((from + at, needle.len()));
            from += at + 1;
        }
    }
    out
}

fn mutant(original: &[u8], ranges: &[(usize, usize)], index: usize) -> Vec<u8> {
    let mut rng = Rng(SEED ^ (index as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let mut blob = original.to_vec();
    for _ in 0..1 + rng.below(3) {
        let (start, len) = ranges[rng.below(ranges.len())];
        blob[start + rng.below(len)] = BYTES[rng.below(BYTES.len())];
    }
    blob
}

/// `dtc` with `args`, `input` on stdin; its stdout, or why it failed.
fn dtc(args: &[&str], input: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("dtc")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run dtc: {e}"))?;
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The tree `dtc` reads from our DTB, after writing it as DTS and compiling that again.
fn through_dtc(blob: &[u8]) -> Result<DtNode, String> {
    let source = dtc(&["-q", "-I", "dtb", "-O", "dts", "-"], blob)?;
    let again = dtc(&["-q", "-I", "dts", "-O", "dtb", "-"], &source)?;
    Ok(from_fdt(&Fdt::parse(&again).map_err(|e| e.to_string())?))
}

/// Whether `value` is a well-formed double-quoted XML attribute value's inside.
fn well_formed_attribute(value: &str) -> bool {
    let xml_char = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}') || c > '\u{ffff}'
    };
    if !value.chars().all(xml_char) || value.contains(['"', '<']) {
        return false;
    }
    value.split('&').skip(1).all(|rest| {
        let Some((entity, _)) = rest.split_once(';') else { return false };
        matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()))
    })
}

/// Checks every target's output for `devices` (see the module comment); returns how many
/// outputs were checked and how many refused.
fn check_targets(index: usize, devices: &[HostDevice]) -> (usize, usize) {
    let (mut built, mut refused) = (0, 0);
    let mut root = DtNode::new("");
    match qemu::place(&mut root, devices, None)
        .map_err(|e| e.to_string())
        .and_then(|_| to_dts(&root).map_err(|e| e.to_string()))
    {
        Ok(source) => {
            built += 1;
            let blob = dtc(&["-q", "-I", "dts", "-O", "dtb", "-"], source.as_bytes())
                .unwrap_or_else(|e| panic!("mutant #{index}: dtc refuses the QEMU fragment: {e}\n{source}"));
            let compiled = from_fdt(&Fdt::parse(&blob).unwrap());
            assert!(
                compiled == root,
                "mutant #{index}: the QEMU fragment compiles to another tree\n{source}"
            );
        }
        Err(_) => refused += 1,
    }
    let options = TargetOptions {
        non_dma: devices.iter().map(|d| d.path.clone()).collect(),
        ..TargetOptions::default()
    };
    let outputs = [
        ("crosvm", crosvm::build(devices, &options)),
        ("xen", xen::build(devices, &options)),
        ("avf", avf::build(devices, &options)),
    ];
    for (target, output) in outputs {
        let Ok(output) = output else {
            refused += 1;
            continue;
        };
        built += 1;
        for (suffix, bytes) in &output.files {
            if suffix.ends_with(".xml") {
                let xml = String::from_utf8(bytes.clone()).unwrap();
                let elements: Vec<&str> =
                    xml.lines().filter(|l| l.trim_start().starts_with("<device ")).collect();
                assert_eq!(elements.len(), devices.len(), "mutant #{index}: one element per device\n{xml}");
                for element in elements {
                    for value in element.split('"').skip(1).step_by(2) {
                        assert!(well_formed_attribute(value), "mutant #{index}: attribute {value:?}\n{xml}");
                    }
                }
                continue;
            }
            let ours = from_fdt(&Fdt::parse(bytes).unwrap());
            let theirs = through_dtc(bytes)
                .unwrap_or_else(|e| panic!("mutant #{index}: dtc refuses the {target} output: {e}"));
            assert!(theirs == ours, "mutant #{index}: dtc reads the {target} output as another tree");
            if target == "xen" {
                let (intended, _) = xen::partial_tree(devices, &options).unwrap();
                assert!(ours == intended, "mutant #{index}: the partial DTB is not the tree built");
            }
        }
    }
    (built, refused)
}

#[test]
fn every_guest_output_of_a_mutated_host_is_what_dtc_reads_or_is_refused() {
    let original = platreset_testkit::dtb_from_text(HOST);
    let ranges = ranges(&original);
    assert!(ranges.len() >= TARGETS.len(), "every target string is in the blob");
    let (mut parsed, mut read, mut built, mut refused) = (0, 0, 0, 0);
    for index in 0..MUTANTS {
        let blob = mutant(&original, &ranges, index);
        let Ok(fdt) = Fdt::parse(&blob) else { continue };
        parsed += 1;
        let tree = Tree::new(&fdt);
        // The devices by document order (their names may be mutated): nodes with `reg` under /soc.
        // A device refused on reading (a crafted name) counts as a refused output.
        let attempts: Vec<_> = fdt
            .nodes()
            .filter(|n| n.depth() == 2)
            .map(|n| HostDevice::read(&tree, &n, &Overrides::default()))
            .collect();
        refused += attempts.iter().filter(|a| a.is_err()).count();
        let devices: Vec<HostDevice> = attempts.into_iter().filter_map(Result::ok).collect();
        if devices.is_empty() {
            continue;
        }
        read += devices.len();
        let (b, r) = check_targets(index, &devices);
        built += b;
        refused += r;
    }
    eprintln!(
        "{parsed} of {MUTANTS} mutants parsed; {read} devices read; {built} outputs checked through dtc, \
         {refused} devices or outputs refused"
    );
    assert!(built > MUTANTS && refused > MUTANTS / 10, "both outcomes are exercised");
}
