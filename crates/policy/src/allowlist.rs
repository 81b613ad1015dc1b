//! The quiescence allowlist (`data/allowlist.toml`): per device or machine compatible, whether
//! the device masters DMA and the evidence that its reset stops DMA and interrupts.
//!
//! Owns: the file's schema, its validation and the matching rule (most specific entry wins).
//! Must not: decide eligibility — the policy reads the facts found here.

use std::collections::hash_map::Entry as Slot;
use std::collections::HashMap;
use std::fmt;

use serde::Deserialize;
use thiserror::Error;

/// The allowlist shipped with platreset.
pub const BUILTIN: &str = include_str!("../allowlist.toml");

/// Where the shipped allowlist comes from, for messages.
pub const BUILTIN_NAME: &str = "data/allowlist.toml (built in)";

/// Why an allowlist file was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AllowlistError {
    /// Not valid TOML, or not the schema (unknown key, wrong type, missing field).
    #[error("{file}: {message}")]
    Syntax {
        /// The file.
        file: String,
        /// The TOML parser's message, with line and column.
        message: String,
    },
    /// An entry that parses but cannot mean anything.
    #[error("{file}: entry {entry} ({key}): {why}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based position of the `[[entry]]`.
        entry: usize,
        /// The entry's key as written.
        key: String,
        /// What is wrong.
        why: &'static str,
    },
}

/// Evidence that a device's reset stops its DMA and interrupts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Evidence {
    /// A `platreset verify` run on a simulator model.
    Simulator {
        /// The device model.
        model: String,
        /// The model's version.
        version: String,
        /// Where the run is recorded.
        source: String,
    },
    /// A test on real hardware.
    Hardware {
        /// The board.
        board: String,
        /// What was done.
        test: String,
        /// Where it is reported.
        source: String,
    },
    /// The silicon vendor says so.
    Vendor {
        /// What they state.
        statement: String,
        /// Where.
        source: String,
    },
    /// A Linux vfio reset handler whose sequence stops DMA and interrupts explicitly.
    UpstreamHandler {
        /// The handler module.
        handler: String,
        /// Where it lives and what it does.
        source: String,
    },
}

impl Evidence {
    /// The kind as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            Evidence::Simulator { .. } => "simulator",
            Evidence::Hardware { .. } => "hardware",
            Evidence::Vendor { .. } => "vendor",
            Evidence::UpstreamHandler { .. } => "upstream-handler",
        }
    }
}

impl Evidence {
    /// Where the evidence is recorded (every kind names its source).
    pub fn source(&self) -> &str {
        match self {
            Evidence::Simulator { source, .. }
            | Evidence::Hardware { source, .. }
            | Evidence::Vendor { source, .. }
            | Evidence::UpstreamHandler { source, .. } => source,
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Simulator { model, version, source } => {
                write!(f, "simulator model {model} {version} ({source})")
            }
            Evidence::Hardware { board, test, source } => {
                write!(f, "hardware test on {board}: {test} ({source})")
            }
            Evidence::Vendor { statement, source } => write!(f, "vendor statement: {statement} ({source})"),
            Evidence::UpstreamHandler { handler, source } => {
                write!(f, "Linux reset handler {handler} ({source})")
            }
        }
    }
}

/// One `[[entry]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// One of the device's compatible strings.
    pub device: Option<String>,
    /// One of the machine's (root node's) compatible strings.
    pub machine: Option<String>,
    /// Whether the device masters DMA.
    pub dma: bool,
    /// Evidence that its reset quiesces it.
    pub quiescence: Option<Evidence>,
    /// What a reviewer should know.
    pub note: Option<String>,
}

impl Entry {
    /// The key as a reader would write it: `device`, `machine` or `device on machine`.
    pub fn key(&self) -> String {
        match (&self.device, &self.machine) {
            (Some(d), Some(m)) => format!("{d} on {m}"),
            (Some(d), None) => d.clone(),
            (None, Some(m)) => format!("machine {m}"),
            (None, None) => "(no key)".into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    schema: u32,
    #[serde(default)]
    entry: Vec<Entry>,
}

/// The parsed allowlist, indexed by key so that loading and every lookup cost in proportion to
/// the entries involved, not to the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    entries: Vec<Entry>,
    source: String,
    /// Each device compatible's entries, in file order.
    by_device: HashMap<String, Vec<usize>>,
    /// Each machine compatible's entry without a device (keys are unique).
    by_machine: HashMap<String, usize>,
}

impl Allowlist {
    /// The allowlist shipped in the binary.
    pub fn builtin() -> Result<Allowlist, AllowlistError> {
        Allowlist::parse(BUILTIN_NAME, BUILTIN)
    }

    /// An allowlist with no entries (every device unproven), for tests and `--allowlist /dev/null`-like use.
    pub fn empty() -> Allowlist {
        Allowlist { source: "(empty)".into(), ..Allowlist::default() }
    }

    /// Parses and validates `text`, naming `file` in every error.
    pub fn parse(file: &str, text: &str) -> Result<Allowlist, AllowlistError> {
        let parsed: File = toml::from_str(text).map_err(|e| AllowlistError::Syntax {
            file: file.into(),
            message: e.to_string().trim_end().into(),
        })?;
        if parsed.schema != 1 {
            return Err(AllowlistError::Syntax {
                file: file.into(),
                message: format!(
                    "schema {} is not known to this platreset (it reads schema 1)",
                    parsed.schema
                ),
            });
        }
        let mut keys: HashMap<(Option<&str>, Option<&str>), usize> =
            HashMap::with_capacity(parsed.entry.len());
        for (i, entry) in parsed.entry.iter().enumerate() {
            let invalid =
                |why| AllowlistError::Invalid { file: file.into(), entry: i + 1, key: entry.key(), why };
            if entry.device.is_none() && entry.machine.is_none() {
                return Err(invalid("an entry needs a device or a machine compatible"));
            }
            if [&entry.device, &entry.machine].into_iter().flatten().any(|k| k.is_empty()) {
                return Err(invalid("an empty compatible matches nothing"));
            }
            if entry.dma && entry.quiescence.is_none() {
                return Err(invalid(
                    "it says nothing: record quiescence evidence, or dma = false for a non-DMA device",
                ));
            }
            match keys.entry((entry.device.as_deref(), entry.machine.as_deref())) {
                Slot::Occupied(_) => {
                    return Err(invalid("the same key appears earlier: merge the two entries"))
                }
                Slot::Vacant(slot) => slot.insert(i),
            };
        }
        drop(keys);
        Ok(Allowlist::indexed(parsed.entry, file.into()))
    }

    /// `entries` (validated, keys unique) with their indexes.
    fn indexed(entries: Vec<Entry>, source: String) -> Allowlist {
        let mut by_device: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_machine = HashMap::new();
        for (i, entry) in entries.iter().enumerate() {
            match (&entry.device, &entry.machine) {
                (Some(device), _) => by_device.entry(device.clone()).or_default().push(i),
                (None, Some(machine)) => {
                    by_machine.insert(machine.clone(), i);
                }
                (None, None) => {}
            }
        }
        Allowlist { entries, source, by_device, by_machine }
    }

    /// This list extended by `other`: an entry of `other` replaces the entry of the same key
    /// here, the others are added (`--allowlist FILE` on top of the built-in list).
    pub fn extended_by(self, other: Allowlist) -> Allowlist {
        let key = |e: &Entry| (e.device.clone(), e.machine.clone());
        let replaced: std::collections::HashSet<_> = other.entries.iter().map(key).collect();
        let source = format!("{} + {}", other.source, self.source);
        let mut entries = other.entries;
        entries.extend(self.entries.into_iter().filter(|e| !replaced.contains(&key(e))));
        Allowlist::indexed(entries, source)
    }

    /// Where the entries came from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The entries, in file order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The most specific entry for a device with `compatible` (most specific first) on a machine
    /// with `machine`: device and machine, then device alone, then machine alone; among device
    /// keys, the earliest compatible wins.
    pub fn lookup<D, M>(&self, compatible: D, machine: M) -> Option<&Entry>
    where
        D: IntoIterator,
        D::Item: AsRef<[u8]>,
        M: IntoIterator + Clone,
        M::Item: AsRef<[u8]>,
    {
        let on_machine = |m: &str| machine.clone().into_iter().any(|c| c.as_ref() == m.as_bytes());
        for c in compatible {
            let Some(indices) = std::str::from_utf8(c.as_ref()).ok().and_then(|c| self.by_device.get(c))
            else {
                continue;
            };
            let mut device_only = None;
            for e in indices.iter().filter_map(|&i| self.entries.get(i)) {
                match e.machine.as_deref() {
                    Some(m) if on_machine(m) => return Some(e),
                    Some(_) => {}
                    None => device_only = device_only.or(Some(e)),
                }
            }
            if device_only.is_some() {
                return device_only;
            }
        }
        // The earliest machine-only entry for any of the machine's compatibles.
        machine
            .into_iter()
            .filter_map(|m| {
                std::str::from_utf8(m.as_ref()).ok().and_then(|m| self.by_machine.get(m)).copied()
            })
            .min()
            .and_then(|i| self.entries.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
schema = 1
[[entry]]
device = "acme,dma"
dma = true
quiescence = { kind = "vendor", statement = "reset stops the engine", source = "TRM 4.2" }

[[entry]]
device = "acme,dma"
machine = "acme,board-b"
dma = true
quiescence = { kind = "hardware", board = "B", test = "killed guest mid-transfer", source = "lab log 7" }

[[entry]]
device = "acme,pwm"
dma = false

[[entry]]
machine = "acme,board-c"
dma = true
quiescence = { kind = "simulator", model = "acme-soc", version = "1", source = "verify run" }
"#;

    fn sample() -> Allowlist {
        Allowlist::parse("sample.toml", SAMPLE).unwrap()
    }

    #[test]
    fn the_shipped_allowlist_parses_and_records_the_three_upstream_handlers() {
        let list = Allowlist::builtin().unwrap();
        for handler in platreset_reset::handlers::COMPATIBLES {
            let entry = list.lookup([handler.as_bytes()], [b"any"]).unwrap();
            assert!(entry.dma, "{handler}");
            assert_eq!(entry.quiescence.as_ref().map(Evidence::kind), Some("upstream-handler"));
        }
    }

    #[test]
    fn device_and_machine_beats_device_alone_which_beats_machine_alone() {
        let list = sample();
        let on_b = list.lookup(["acme,dma"], ["acme,board-b"]).unwrap();
        assert_eq!(on_b.machine.as_deref(), Some("acme,board-b"));
        let elsewhere = list.lookup(["acme,dma"], ["acme,board-a"]).unwrap();
        assert_eq!(elsewhere.machine, None);
        let on_c = list.lookup(["acme,dma"], ["acme,board-c"]).unwrap();
        assert_eq!(on_c.device.as_deref(), Some("acme,dma"), "a device key beats a machine key");
        let other_on_c = list.lookup(["acme,uart"], ["acme,board-c"]).unwrap();
        assert_eq!(other_on_c.machine.as_deref(), Some("acme,board-c"));
        assert_eq!(list.lookup(["acme,uart"], ["acme,board-a"]), None);
    }

    #[test]
    fn the_earliest_compatible_wins() {
        let list = sample();
        let e = list.lookup(["acme,pwm", "acme,dma"], ["x"]).unwrap();
        assert!(!e.dma);
        let e = list.lookup(["acme,dma", "acme,pwm"], ["x"]).unwrap();
        assert!(e.dma);
    }

    #[test]
    fn errors_name_the_file_and_the_entry() {
        let cases = [
            ("schema = 1\n[[entry]]\ndma = false\n", "entry 1 ((no key)): an entry needs a device"),
            ("schema = 1\n[[entry]]\ndevice = \"a,b\"\ndma = true\n", "entry 1 (a,b): it says nothing"),
            ("schema = 1\n[[entry]]\ndevice = \"\"\ndma = false\n", "an empty compatible"),
            (
                "schema = 1\n[[entry]]\ndevice = \"a,b\"\ndma = false\n[[entry]]\ndevice = \"a,b\"\ndma = false\n",
                "entry 2 (a,b): the same key appears earlier",
            ),
            ("schema = 2\n", "schema 2 is not known"),
            ("schema = 1\n[[entry]]\ndevice = \"a,b\"\ndma = false\ncolour = 1\n", "unknown field `colour`"),
            (
                "schema = 1\n[[entry]]\ndevice = \"a,b\"\ndma = true\nquiescence = { kind = \"rumour\" }\n",
                "rumour",
            ),
            ("schema = 1\n[[entry]\n", "line 2"),
        ];
        for (text, wanted) in cases {
            let e = Allowlist::parse("bad.toml", text).unwrap_err().to_string();
            assert!(e.starts_with("bad.toml: ") && e.contains(wanted), "{text:?}: {e}");
        }
    }

    #[test]
    fn evidence_reads_as_a_sentence() {
        let list = sample();
        let e = list.lookup(["acme,dma"], ["acme,board-b"]).unwrap();
        assert_eq!(
            e.quiescence.as_ref().unwrap().to_string(),
            "hardware test on B: killed guest mid-transfer (lab log 7)"
        );
    }

    /// 200,000 entries: the key check and the lookups are hashed (the list was searched for
    /// every entry before: 100 s for this file).
    #[test]
    fn a_list_of_200000_entries_is_checked_and_indexed_by_key() {
        let n = 200_000;
        let mut text = String::from("schema = 1\n");
        for i in 0..n {
            text.push_str(&format!("[[entry]]\ndevice = \"acme,dev{i}\"\ndma = false\n"));
        }
        text.push_str("[[entry]]\nmachine = \"acme,board\"\ndma = false\n");
        let list = Allowlist::parse("big.toml", &text).unwrap();
        assert_eq!(list.entries().len(), n + 1);
        let found = list.lookup(["acme,other", "acme,dev199999"], ["acme,board"]).unwrap();
        assert_eq!(found.device.as_deref(), Some("acme,dev199999"));
        let machine_only = list.lookup(["acme,none"], ["x", "acme,board"]).unwrap();
        assert_eq!(machine_only.machine.as_deref(), Some("acme,board"));
        text.push_str("[[entry]]\ndevice = \"acme,dev7\"\ndma = false\n");
        let err = Allowlist::parse("big.toml", &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big.toml: entry 200002 (acme,dev7): the same key appears earlier: merge the two entries"
        );
    }
}
