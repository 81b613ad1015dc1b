//! Turns the committed guest-driver evidence (`evidence/guest-drivers.json`, made by
//! `scripts/gen-evidence` from Linux 6.1's drivers) into typed Rust statics,
//! `$OUT_DIR/guest_drivers_generated.rs`, which `src/driver_needs.rs` includes: per driver the
//! clock and reset getters its probe reaches, and the compatible -> driver index sorted for
//! binary search. The JSON is not embedded; the types are declared in `src/driver_needs.rs`.
//!
//! The tables hold no pointers: every string is a span (offset, length) of one string literal,
//! and a driver's getters a span of one getter array. Pointers in statics are relocations the
//! loader applies at every start of a position-independent binary (tens of thousands here),
//! which cost each run of the CLI about a millisecond before `main`.
//!
//! A broken file fails the build naming the file and the entry: fields present and of the
//! right type, known getter kinds, every compatible's drivers present. The file is read through
//! the crate's own `evidence` directory (a symlink in the repository, a copy in a package).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;

use platreset_build_data::{load, Obj, Result};
use serde_json::Value;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: guest-driver evidence: {e}");
        std::process::exit(1);
    }
}

/// Every string of the tables, once, and where each is.
#[derive(Default)]
struct Strings {
    text: String,
    at: HashMap<String, (u32, u16)>,
}

impl Strings {
    /// The Rust source of the span of `s`, added if new.
    fn span(&mut self, s: &str) -> Result<String> {
        if let Some((off, len)) = self.at.get(s) {
            return Ok(format!("Span({off}, {len})"));
        }
        let off = u32::try_from(self.text.len()).map_err(|_| "more than 4 GiB of strings".to_string())?;
        let len = u16::try_from(s.len()).map_err(|_| format!("a string of {} bytes: {s:.40}…", s.len()))?;
        self.text.push_str(s);
        self.at.insert(s.to_string(), (off, len));
        Ok(format!("Span({off}, {len})"))
    }

    /// The same for an optional string (`NONE` when absent).
    fn opt_span(&mut self, s: Option<&str>) -> Result<String> {
        s.map_or_else(|| Ok("Span::NONE".into()), |s| self.span(s))
    }
}

fn run() -> Result<()> {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?).join("evidence");
    let out = PathBuf::from(std::env::var("OUT_DIR").map_err(|e| e.to_string())?)
        .join("guest_drivers_generated.rs");
    let doc = load(&dir, "guest-drivers.json", "driver")?;
    let source = doc.str("source")?;
    let mut strings = Strings::default();
    let mut getters: Vec<String> = Vec::new();
    let mut rows = String::new();
    let drivers = doc.object("drivers")?;
    // Sorted here, whatever order the map keeps (serde_json's preserve_order may be on).
    let mut sorted: Vec<(&String, &Value)> = drivers.map.iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut index: BTreeMap<&str, u16> = BTreeMap::new();
    for (i, (key, value)) in sorted.iter().enumerate() {
        let d = Obj::new(value, format!("{}: {key:?}", drivers.at), "call")?;
        let clocks = d.object("clocks")?;
        let mut spans = Vec::new();
        for (resource, list) in [(Resource::Clocks, &clocks), (Resource::Resets, &d.object("resets")?)] {
            let start = getters.len();
            for g in list.objects("getters")? {
                getters.push(getter(&g, resource, &mut strings)?);
            }
            let len =
                u16::try_from(getters.len() - start).map_err(|_| format!("{}: too many getters", d.at))?;
            spans.push(format!("Span({start}, {len})"));
        }
        let _ = writeln!(
            rows,
            "    DriverRow {{ driver: {}, clocks: {}, clocks_used_without_getter: {}, resets: {} }},",
            strings.span(key)?,
            spans[0],
            clocks.bool("used_without_getter")?,
            spans[1]
        );
        index.insert(key, u16::try_from(i).map_err(|_| format!("{}: more than 65535 drivers", drivers.at))?);
    }
    let compat = doc.object("compatibles")?;
    let mut compats: Vec<(&String, &Value)> = compat.map.iter().collect();
    compats.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut by_compatible = String::new();
    for (compatible, list) in compats {
        let at = format!("{}: {compatible:?}", compat.at);
        let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
            return Err(format!("{at}: not a non-empty array"));
        };
        for entry in list {
            let Some(key) = entry.as_str() else { return Err(format!("{at}: an entry is not a string")) };
            let Some(i) = index.get(key) else {
                return Err(format!("{at}: driver {key} is not in `drivers`"));
            };
            let _ = writeln!(by_compatible, "    ({}, {i}),", strings.span(compatible)?);
        }
    }

    let mut text = String::from(
        "// Generated by crates/guestdt/build.rs from evidence/guest-drivers.json. Do not edit.\n",
    );
    let _ = writeln!(
        text,
        "\n/// The kernel source the evidence was read from.\npub static SOURCE: &str = {source:?};"
    );
    let _ = writeln!(
        text,
        "\n/// Every string of the tables below, each once.\nstatic STRINGS: &str = {:?};",
        strings.text
    );
    text.push_str("\n/// Every getter, each driver's a span of them.\nstatic GETTERS: &[GetterRow] = &[\n");
    for g in &getters {
        let _ = writeln!(text, "    {g},");
    }
    text.push_str("];\n\n/// Every driver with an of_match_table, sorted by `file:driver`.\n");
    text.push_str("static DRIVERS: &[DriverRow] = &[\n");
    text.push_str(&rows);
    text.push_str(
        "];\n\n/// Compatible -> index in DRIVERS, sorted by compatible; a compatible several drivers\n",
    );
    text.push_str("/// list has one row per driver, adjacent.\n");
    text.push_str("static BY_COMPATIBLE: &[(Span, u16)] = &[\n");
    text.push_str(&by_compatible);
    text.push_str("];\n");
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))
}

/// Which API a getter belongs to: the kinds each knows differ.
#[derive(Clone, Copy)]
enum Resource {
    Clocks,
    Resets,
}

/// One getter as the Rust source of a `GetterRow`.
fn getter(g: &Obj, resource: Resource, strings: &mut Strings) -> Result<String> {
    let kind = match (resource, g.str("kind")?.as_str()) {
        (_, "single") | (Resource::Clocks, "index") => "Single",
        (_, "bulk") => "Bulk",
        (Resource::Clocks, "all") => "All",
        (Resource::Resets, "array") => "Array",
        (Resource::Clocks, "opp") => "Opp",
        (Resource::Clocks, "child") => "Child",
        (Resource::Clocks, "all-required" | "handle") => "PmClocks",
        (_, other) => return g.fail(format!("unknown getter kind `{other}`")),
    };
    let name = g.opt_str("name")?;
    let index = match g.map.get("index") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n != u32::MAX)
                .ok_or_else(|| format!("{}: bad `index`", g.at))?,
        ),
        // an index computed at run time: as unknown as a name expression
        Some(Value::String(_)) => None,
        Some(_) => return g.fail("`index` is neither a number nor an expression"),
    };
    let at = format!("{}:{}", g.str("file")?, g.u64("line")?);
    Ok(format!(
        "GetterRow {{ call: {}, kind: GetterKind::{kind}, name: {}, index: {}, optional: {}, at: {}, via: {} }}",
        strings.span(&g.str("call")?)?,
        strings.opt_span(name.as_deref())?,
        index.unwrap_or(u32::MAX),
        g.bool("optional")?,
        strings.span(&at)?,
        strings.opt_span(g.opt_str("via")?.as_deref())?
    ))
}
