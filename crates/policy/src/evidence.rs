//! What Linux's own drivers do with a device's reset (`data/evidence/`, docs/evidence.md), as a
//! compact table generated at build time by `build.rs`: per driver its grade, the lines it
//! takes, the call that earns its grade and every reset call site; per compatible its drivers.
//!
//! Owns: the table's types and finding a device's driver the way the kernel matches it (the
//! first of the node's compatibles that any driver lists). Must not: compare a driver with a
//! node's lines or decide what a grade is worth (that is `grade`).

/// What a driver does with its reset controls, strongest last (docs/evidence.md "Grades").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DriverGrade {
    /// Got but never deasserted or pulsed, or no reset API at all.
    Unused,
    /// Deasserted in a known path, never pulsed.
    DeassertOnly,
    /// Pulsed (reset, or assert then deassert) at probe.
    ProbeReset,
    /// Pulsed in remove, a PM callback or a recovery path: the driver relies on the reset to
    /// bring a running IP back.
    RecoveryReset,
}

impl DriverGrade {
    /// The name the data files use (`recovery-reset`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DriverGrade::Unused => "unused",
            DriverGrade::DeassertOnly => "deassert-only",
            DriverGrade::ProbeReset => "probe-reset",
            DriverGrade::RecoveryReset => "recovery-reset",
        }
    }
}

/// Which of a node's lines the driver asks for (`coverage` in kernel-drivers.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// The `reset-names` it asks for.
    pub names: &'static [&'static str],
    /// The indices it asks for (an unnamed getter is index 0).
    pub indices: &'static [u64],
    /// It takes every line of the node as one array.
    pub array: bool,
    /// It takes a list of named lines whose names are set at run time (all of them, as written).
    pub bulk: bool,
    /// `device_reset`: the node's first (or only) line.
    pub device_reset: bool,
    /// Names or indices computed at run time (a macro or a variable, not expanded).
    pub expr: &'static [&'static str],
}

/// One call of the reset API in the driver's unit: a getter (`op` "get") or a use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    /// `get`, `assert`, `deassert`, `reset`, `device_reset`, `rearm`, `status`, ...
    pub op: &'static str,
    /// The function called (`reset_control_reset`, `devm_reset_control_get_optional_exclusive`).
    pub call: &'static str,
    /// The kernel file (relative to the source tree).
    pub file: &'static str,
    /// The function the call is in.
    pub function: &'static str,
    /// Its line.
    pub line: u64,
    /// The paths that reach it (`probe`, `remove`, `pm`, `recovery`, `callback`, `unknown`).
    pub paths: &'static [&'static str],
    /// Whether the control is tied to a getter (an untied use is never graded).
    pub tied: bool,
}

/// One driver with an `of_match_table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Driver {
    /// Its driver structure (`renesas_internal_dmac_sdhi_driver`).
    pub name: &'static str,
    /// The file declaring it.
    pub file: &'static str,
    /// The structure's line.
    pub line: u64,
    /// Its grade.
    pub grade: DriverGrade,
    /// Uses that could raise the grade but are not counted: when above 0 the grade is a lower bound.
    pub unclassified: u64,
    /// Whether the driver calls the reset API at all.
    pub uses_reset_api: bool,
    /// Which lines it takes.
    pub coverage: Coverage,
    /// The call that earns the grade: the pulse (recovery or probe), the first deassert, none
    /// for `unused`.
    pub cite: Option<Site>,
    /// Every getter, then every use.
    pub sites: &'static [Site],
}

include!(concat!(env!("OUT_DIR"), "/evidence_generated.rs"));

/// The rows of `compatible` in the index (adjacent: the index is sorted).
fn rows(compatible: &[u8]) -> &'static [(&'static str, u16)] {
    let start = BY_COMPATIBLE.partition_point(|(c, _)| c.as_bytes() < compatible);
    let len = BY_COMPATIBLE[start..].iter().take_while(|(c, _)| c.as_bytes() == compatible).count();
    &BY_COMPATIBLE[start..start + len]
}

/// The drivers listing `compatible` exactly (usually one).
pub fn drivers_of(compatible: &[u8]) -> impl Iterator<Item = &'static Driver> {
    rows(compatible).iter().filter_map(|&(_, i)| DRIVERS.get(usize::from(i)))
}

/// The driver Linux would bind to a node with `compatible` (most specific first): the drivers of
/// the first compatible any driver lists. When several drivers list it (which one binds
/// depends on the kernel's configuration), the weakest grade is returned: evidence must hold
/// whichever binds. Returns the compatible matched and the driver.
pub fn lookup<C>(compatible: C) -> Option<(&'static str, &'static Driver)>
where
    C: IntoIterator,
    C::Item: AsRef<[u8]>,
{
    compatible.into_iter().find_map(|c| {
        let rows = rows(c.as_ref());
        let weakest =
            rows.iter().filter_map(|&(_, i)| DRIVERS.get(usize::from(i))).min_by_key(|d| d.grade)?;
        Some((rows.first()?.0, weakest))
    })
}

/// How many drivers and compatibles the table holds.
pub fn counts() -> (usize, usize) {
    (DRIVERS.len(), BY_COMPATIBLE.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_is_sorted_and_every_row_names_a_driver() {
        assert!(BY_COMPATIBLE.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(BY_COMPATIBLE.iter().all(|(_, i)| usize::from(*i) < DRIVERS.len()));
        let (drivers, rows) = counts();
        assert!(drivers > 4000 && rows > 10_000, "{drivers} drivers, {rows} rows");
        assert!(SOURCE.starts_with("linux-source-6.1 "));
    }

    #[test]
    fn the_first_compatible_a_driver_lists_decides() {
        let (matched, d) = lookup(["renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi"]).unwrap();
        assert_eq!(matched, "renesas,rcar-gen3-sdhi", "the SoC-specific string is in no table");
        assert_eq!((d.name, d.grade), ("renesas_internal_dmac_sdhi_driver", DriverGrade::RecoveryReset));
        let cite = d.cite.unwrap();
        assert_eq!(
            (cite.file, cite.function, cite.line, cite.call),
            ("drivers/mmc/host/renesas_sdhi_core.c", "renesas_sdhi_reset", 588, "reset_control_reset")
        );
        assert_eq!(lookup(["acme,nothing"]), None);
    }

    #[test]
    fn a_compatible_two_drivers_list_gets_the_weaker_grade() {
        let two: Vec<&Driver> = drivers_of(b"adafruit,yx240qv29").collect();
        assert_eq!(two.len(), 2);
        let (_, d) = lookup(["adafruit,yx240qv29"]).unwrap();
        assert_eq!(d.grade, two.iter().map(|d| d.grade).min().unwrap());
    }

    #[test]
    fn grades_order_weakest_first() {
        assert!(DriverGrade::RecoveryReset > DriverGrade::ProbeReset);
        assert!(DriverGrade::ProbeReset > DriverGrade::DeassertOnly);
        assert!(DriverGrade::DeassertOnly > DriverGrade::Unused);
        assert_eq!(DriverGrade::DeassertOnly.as_str(), "deassert-only");
    }
}
