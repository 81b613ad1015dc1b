//! `platreset guest-dt` on crafted host and base trees (issue 18, points 2 and 4): a name that
//! would carry syntax into the DTS, an xl line or the AVF XML is refused naming the byte and the
//! file; numbers the consumer cannot represent are refused, and phandles are never 0xffffffff.
//! One test per case. The crafted names are ones `dtc` refuses to compile, so each tree is
//! compiled with placeholder names of the same length, which are then overwritten in the blob.

// A test whose setup fails stops there, with the reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use platreset_testkit::ScratchDir;
use std::process::{Command, Output};

use platreset_fdt::Fdt;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platreset")).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch directory, removed on drop.
struct Dir(ScratchDir);

impl Dir {
    fn new(tag: &str) -> Dir {
        Dir(ScratchDir::new(&format!("guest-hostile-{tag}")))
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }

    /// Compiles `dts` (with symbols) into `<name>.dtb` here, after overwriting each placeholder
    /// with its crafted replacement (padded with `_` to the placeholder's length).
    fn crafted(&self, name: &str, dts: &str, replace: &[(&str, &str)]) -> String {
        let mut blob = platreset_testkit::dtb_from_text(dts);
        for (placeholder, crafted) in replace {
            assert!(crafted.len() <= placeholder.len(), "{crafted:?} is longer than its placeholder");
            let mut with = crafted.as_bytes().to_vec();
            with.resize(placeholder.len(), b'_');
            let at = blob.windows(placeholder.len()).position(|w| w == placeholder.as_bytes());
            assert!(at.is_some(), "placeholder {placeholder} not in the blob");
            while let Some(at) = blob.windows(placeholder.len()).position(|w| w == placeholder.as_bytes()) {
                blob[at..at + placeholder.len()].copy_from_slice(&with);
            }
        }
        let path = self.path(&format!("{name}.dtb"));
        std::fs::write(&path, blob).unwrap();
        path
    }
}

/// A host with a GIC, an SMMU, a 24 MHz oscillator and one device, `dev0: dev@10000`, whose
/// extra properties are `props`.
fn host(props: &str) -> String {
    format!(
        "/dts-v1/;
/ {{
	#address-cells = <1>;
	#size-cells = <1>;
	gic: interrupt-controller@1000 {{
		compatible = \"arm,gic-400\"; interrupt-controller; #interrupt-cells = <3>; reg = <0x1000 0x1000>;
	}};
	smmu: iommu@20000 {{ compatible = \"arm,mmu-500\"; reg = <0x20000 0x1000>; #iommu-cells = <1>; }};
	osc: osc {{ compatible = \"fixed-clock\"; #clock-cells = <0>; clock-frequency = <24000000>; }};
	dev0: dev@10000 {{
		compatible = \"acme,dev\";
		reg = <0x10000 0x1000>;
		interrupt-parent = <&gic>;
		interrupts = <0 5 4>;
		iommus = <&smmu 1>;
{props}
	}};
}};
"
    )
}

/// Whether `dtc` compiles `source` (DTS).
fn dtc_compiles(dir: &Dir, source: &[u8]) -> bool {
    let path = dir.path("check.dts");
    std::fs::write(&path, source).unwrap();
    Command::new("dtc")
        .args(["-q", "-I", "dts", "-O", "dtb", "-o", "/dev/null", &path])
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_crafted_property_name_cannot_add_properties_to_the_qemu_dts() {
    let dir = Dir::new("prop");
    let host = dir.crafted(
        "host",
        &host("\t\tPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP = \"ok\";"),
        &[("PPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPPP", "x = \"a\";\n\tmemory-region = <0x1>;\n\ty")],
    );
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no DTS: {}", String::from_utf8_lossy(&out.stdout));
    let err = stderr(&out);
    assert!(err.contains("/dev@10000 (in ") && err.contains("host.dtb):"), "the file is named: {err}");
    assert!(
        err.contains(r#"property name `x = "a";\x0a\x09memory-region = <0x1>;\x0a\x09y"#),
        "the property, made printable: {err}"
    );
    assert!(err.contains("byte\n    0x20 (' ') at offset 1 is not allowed in a property name"), "{err}");
    assert!(!err.contains("memory-region = <0x1>;\n"), "no raw line break from the name: {err}");
}

#[test]
fn a_crafted_clock_name_cannot_add_a_node_and_dropping_the_clocks_lifts_it() {
    let dir = Dir::new("clock");
    let host = dir.crafted(
        "host",
        &host("\t\tclocks = <&osc>;\n\t\tclock-names = \"CCCCCCCCCCCCCCCCCCCCCCCC\";"),
        &[("CCCCCCCCCCCCCCCCCCCCCCCC", "a{dma-ranges;};q")],
    );
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("clock `a{dma-ranges;};q________` (clock-names)"), "{err}");
    assert!(err.contains("byte 0x7b ('{') at offset 10"), "{err}");
    assert!(err.contains("--drop clocks"), "the flag that lifts it: {err}");
    let lifted = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--drop", "clocks"]);
    assert!(lifted.status.success(), "{}", stderr(&lifted));
    assert!(dtc_compiles(&dir, &lifted.stdout));
    assert!(!String::from_utf8_lossy(&lifted.stdout).contains("dma-ranges"));
}

#[test]
fn a_crafted_node_name_on_the_path_cannot_add_lines_to_the_xl_configuration() {
    let dir = Dir::new("path");
    let dts = host("").replace("\tdev0: dev@10000 {", "\tBBBBBBBBBBBBBBBBBBBBBBBBBBBB {\n\t\t#address-cells = <1>; #size-cells = <1>; ranges;\n\tdev0: dev@10000 {").replace("\t};\n};\n", "\t};\n\t};\n};\n");
    let host =
        dir.crafted("host", &dts, &[("BBBBBBBBBBBBBBBBBBBBBBBBBBBB", "soc\" ]\nirqs = [ 99 ]\nx = [\"")]);
    let output = dir.path("guest.dtb");
    let out = run(&["guest-dt", &host, "dev0", "--target", "xen", "-o", &output]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.stdout.is_empty(), "no xl lines");
    assert!(!std::path::Path::new(&output).exists());
    let err = stderr(&out);
    assert!(err.contains(r#"node name `soc" ]\x0airqs = [ 99 ]\x0ax = ["_` on its path"#), "{err}");
    assert!(err.contains("byte 0x22 ('\"') at") && err.contains("offset 3"), "{err}");
    assert!(!err.contains("\nirqs = [ 99 ]"), "no raw line break from the name: {err}");
}

#[test]
fn a_crafted_label_cannot_reach_crosvms_dt_symbol() {
    let dir = Dir::new("label");
    let dts = host("").replace("dev0: dev@10000", "LLLLLLLLLLLL: dev@10000");
    let host = dir.crafted("host", &dts, &[("LLLLLLLLLLLL", "x,iommu=on")]);
    let output = dir.path("guest.dtbo");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "crosvm", "-o", &output]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("its label `x,iommu=on__` in /__symbols__: byte 0x2c (',') at offset 1"), "{err}");
}

#[test]
fn a_crafted_regulator_name_cannot_name_a_guest_node_and_dropping_the_supply_lifts_it() {
    let dir = Dir::new("regulator");
    let dts = host("\t\tvmmc-supply = <&vreg>;").replace(
        "\tdev0: dev@10000 {",
        "\tvreg: RRRRRRRRRRRRRRRR {\n\t\tcompatible = \"regulator-fixed\"; regulator-always-on;\n\t};\n\tdev0: dev@10000 {",
    );
    let host = dir.crafted("host", &dts, &[("RRRRRRRRRRRRRRRR", "r { x; };")]);
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    // The report wraps at 80 columns: read it as one line.
    let err = stderr(&out).replace("\n    ", " ");
    assert!(
        err.contains(
            "would name the guest regulator node `regulator-r { x; };_______`: byte 0x20 (' ') at offset 11"
        ),
        "{err}"
    );
    let lifted = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--drop", "vmmc-supply"]);
    assert!(lifted.status.success(), "{}", stderr(&lifted));
    assert!(dtc_compiles(&dir, &lifted.stdout));
}

#[test]
fn the_avf_xml_escapes_markup_in_the_kind() {
    let dir = Dir::new("xml");
    let dts = host("").replace("\"acme,dev\"", "\"acme,<d&v\\\"'>\"");
    let host = dir.crafted("host", &dts, &[]);
    let output = dir.path("guest.dtbo");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "avf", "-o", &output]);
    assert!(out.status.success(), "{}", stderr(&out));
    let xml = std::fs::read_to_string(dir.path("guest-assignable_devices.xml")).unwrap();
    assert!(xml.contains("kind=\"&lt;d&amp;v&quot;&apos;&gt;\""), "{xml}");
}

#[test]
fn the_avf_xml_refuses_a_control_character_it_cannot_carry() {
    let dir = Dir::new("xml-control");
    let dts = host("").replace("\"acme,dev\"", "\"acme,d\\x01v\"");
    let host = dir.crafted("host", &dts, &[]);
    let output = dir.path("guest.dtbo");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "avf", "-o", &output]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!std::path::Path::new(&output).exists(), "neither file is written");
    let err = stderr(&out);
    assert!(
        err.contains(
            "its kind (from its first compatible) `d\\u{1}v` holds U+0001, which XML 1.0 cannot carry"
        ),
        "{err}"
    );
}

#[test]
fn a_clock_rate_beyond_one_cell_is_refused_on_the_command_line() {
    let dir = Dir::new("rate-flag");
    let host = dir.crafted("host", &host("\t\tclocks = <&osc>;"), &[]);
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--clock-rate", "0=4294967296"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains(
            "invalid value '0=4294967296' for '--clock-rate <NAME=HZ>': 4294967296 Hz is more than a \
             fixed-clock's clock-frequency holds: the binding makes it one u32 cell, at most 4294967295 Hz"
        ),
        "{}",
        stderr(&out)
    );
    let top = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--clock-rate", "0=4294967295"]);
    assert!(top.status.success(), "{}", stderr(&top));
    assert!(String::from_utf8_lossy(&top.stdout).contains("clock-frequency = <0xffffffff>;"));
}

#[test]
fn a_host_clock_rate_beyond_one_cell_is_refused() {
    let dir = Dir::new("rate-host");
    let dts = host("\t\tclocks = <&big>;").replace(
        "\tdev0: dev@10000 {",
        "\tbig: big { compatible = \"fixed-clock\"; #clock-cells = <0>; clock-frequency = <0x1 0x0>; };\n\tdev0: dev@10000 {",
    );
    let host = dir.crafted("host", &dts, &[]);
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains(
            "/dev@10000: clock `0`: 4294967296 Hz is more than a fixed-clock's clock-frequency holds"
        ),
        "{}",
        stderr(&out)
    );
}

/// The error of `target` for a device on SPI 0xffffffff.
fn spi_beyond_the_gic(target: &str) -> String {
    let dir = Dir::new(&format!("spi-{target}"));
    let host = dir.crafted("host", &host("").replace("<0 5 4>", "<0 0xffffffff 4>"), &[]);
    let output = dir.path("guest.dtbo");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", target, "-o", &output]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(!std::path::Path::new(&output).exists());
    stderr(&out)
}

#[test]
fn crosvm_refuses_an_spi_beyond_the_gic() {
    let err = spi_beyond_the_gic("crosvm");
    assert!(
        err.contains(
            "crosvm: /dev@10000: interrupt 0 is SPI 4294967295, beyond the GIC's last SPI (987, interrupt ID 1019)"
        ),
        "{err}"
    );
}

#[test]
fn avf_refuses_an_spi_beyond_the_gic() {
    let err = spi_beyond_the_gic("avf");
    assert!(
        err.contains("avf: /dev@10000: interrupt 0 is SPI 4294967295, beyond the GIC's last SPI (987"),
        "{err}"
    );
}

/// A QEMU-like base whose GIC has phandle 0xfffffffe, and `extra` on its platform bus.
fn base_at_the_top(dir: &Dir, extra: &str) -> String {
    let dts = format!(
        "/dts-v1/;
/ {{
	#address-cells = <2>;
	#size-cells = <2>;
	intc@8000000 {{
		compatible = \"arm,cortex-a15-gic\"; interrupt-controller; #interrupt-cells = <3>;
		reg = <0 0x8000000 0 0x10000>; phandle = <0xfffffffe>;
	}};
	clk {{ phandle = <1>; }};
	platform-bus@c000000 {{
		compatible = \"qemu,platform\", \"simple-bus\"; interrupt-parent = <0xfffffffe>;
		#address-cells = <1>; #size-cells = <1>; ranges = <0 0 0 0xc000000 0x2000000>;
{extra}
	}};
}};
"
    );
    dir.crafted("base", &dts, &[])
}

#[test]
fn on_a_base_whose_phandles_reach_the_top_new_nodes_get_free_valid_ones() {
    let dir = Dir::new("phandles");
    let dts = host("\t\tclocks = <&osc>, <&osc2>;\n\t\tclock-names = \"a\", \"b\";").replace(
        "\tdev0: dev@10000 {",
        "\tosc2: osc2 { compatible = \"fixed-clock\"; #clock-cells = <0>; clock-frequency = <32768>; };\n\tdev0: dev@10000 {",
    );
    let host = dir.crafted("host", &dts, &[]);
    let base = base_at_the_top(&dir, "");
    let output = dir.path("guest.dtb");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--base", &base, "-o", &output]);
    assert!(out.status.success(), "{}", stderr(&out));
    let blob = std::fs::read(&output).unwrap();
    let fdt = Fdt::parse(&blob).unwrap();
    let phandle = |path: &str| fdt.find_path(path).unwrap().property("phandle").unwrap().u32().unwrap();
    assert_eq!(phandle("/clk-dev0-a"), 2, "the first value no node holds");
    assert_eq!(phandle("/clk-dev0-b"), 3);
    let dts = Command::new("dtc").args(["-q", "-I", "dtb", "-O", "dts", &output]).output().unwrap();
    assert!(dts.status.success(), "dtc accepts every phandle: {}", String::from_utf8_lossy(&dts.stderr));
}

#[test]
fn a_base_spi_of_0xffffffff_fills_qemus_range_instead_of_wrapping() {
    let dir = Dir::new("base-spi");
    let host = dir.crafted("host", &host(""), &[]);
    let base = base_at_the_top(&dir, "\t\tx@0 { reg = <0 0x1000>; interrupts = <0 0xffffffff 4>; };");
    let output = dir.path("guest.dtb");
    let out = run(&["guest-dt", &host, "/dev@10000", "--target", "qemu", "--base", &base, "-o", &output]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("qemu: 1 interrupt(s) do not fit SPIs 112-175"), "{}", stderr(&out));
}
