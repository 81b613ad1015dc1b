//! The grade of the evidence that a device's reset quiesces it (rule 4): an allowlist entry's
//! kind (`hardware`, `simulator`, `vendor`, `upstream-handler`), else what its Linux driver does
//! with the reset (`kernel-driver-recovery` > `-probe` > `-deassert` > `-unused`) and whether the
//! driver takes every line the node has; which grades `--accept-evidence` accepts; the citation.
//!
//! Owns: comparing a driver's coverage with a node's lines, the grade names, what each
//! `--accept-evidence` value accepts and their wording. Must not: find the allowlist entry or
//! decide the verdict (that is `policy`), or read the data (that is `evidence`).

use std::fmt;

use crate::allowlist;
use crate::evidence::{self, Driver, DriverGrade, Site};

/// Every grade name, strongest first, as `audit` counts them.
pub const GRADES: [&str; 9] = [
    "hardware",
    "simulator",
    "vendor",
    "upstream-handler",
    "kernel-driver-recovery",
    "kernel-driver-probe",
    "kernel-driver-deassert",
    "kernel-driver-unused",
    "none",
];

/// Whether the driver takes every line the node has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Every one: by name, by index, or all at once (array, bulk).
    All,
    /// Some are never asked for: the reset may not cover the whole IP (a separate AXI or DMA
    /// reset, for example).
    Missing {
        /// The first line not taken.
        first: usize,
        /// How many are not taken.
        count: usize,
    },
    /// A line not taken by a literal name or index, and the driver computes names at run time.
    Unknown {
        /// The first expression (a macro or variable, not expanded).
        expr: &'static str,
    },
}

impl Lines {
    /// `all`, `partial` or `unknown`, or `none` when not one of the node's `count` lines is
    /// taken: the JSON value.
    pub fn label(self, count: usize) -> &'static str {
        match self {
            Lines::All => "all",
            Lines::Missing { count: missing, .. } if missing >= count => "none",
            Lines::Missing { .. } => "partial",
            Lines::Unknown { .. } => "unknown",
        }
    }
}

/// What the node's Linux driver does with its reset, compared with the node's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelEvidence {
    /// The compatible the driver matched (the first of the node's that any driver lists).
    pub compatible: &'static str,
    /// The driver.
    pub driver: &'static Driver,
    /// Whether it takes every line.
    pub lines: Lines,
    /// How many lines the node has.
    pub line_count: usize,
}

impl KernelEvidence {
    /// The evidence for a node with `compatible` (most specific first), `reset_names` and
    /// `line_count` lines; `None` when no driver in the data lists any of its compatibles.
    pub fn of<'n, C, N>(compatible: C, reset_names: N, line_count: usize) -> Option<KernelEvidence>
    where
        C: IntoIterator,
        C::Item: AsRef<[u8]>,
        N: IntoIterator<Item = &'n [u8]>,
    {
        let (matched, driver) = evidence::lookup(compatible)?;
        Some(KernelEvidence {
            compatible: matched,
            driver,
            lines: lines(driver, reset_names, line_count),
            line_count,
        })
    }

    /// Whether the driver takes `all` the node's lines, `partial`ly, `none`, or `unknown`.
    pub fn lines_label(&self) -> &'static str {
        self.lines.label(self.line_count)
    }

    /// The driver's grade.
    pub fn grade(&self) -> DriverGrade {
        self.driver.grade
    }

    /// `kernel-driver-recovery`, `-probe`, `-deassert` or `-unused`.
    pub fn label(&self) -> &'static str {
        match self.driver.grade {
            DriverGrade::RecoveryReset => "kernel-driver-recovery",
            DriverGrade::ProbeReset => "kernel-driver-probe",
            DriverGrade::DeassertOnly => "kernel-driver-deassert",
            DriverGrade::Unused => "kernel-driver-unused",
        }
    }

    /// The call that earns the grade (`unused`: the getter, if the driver has one).
    pub fn site(&self) -> Option<&'static Site> {
        let d = self.driver;
        d.cite.as_ref().or_else(|| d.sites.iter().find(|s| s.op == "get"))
    }

    /// `file:line (function)` of [`KernelEvidence::site`], or the driver structure's place.
    pub fn citation(&self) -> String {
        match self.site() {
            Some(s) => format!("{}:{} ({})", s.file, s.line, s.function),
            None => format!("{}:{} ({})", self.driver.file, self.driver.line, self.driver.name),
        }
    }

    /// Whether `--accept-evidence accept` accepts this evidence: the grade at least the
    /// weakest it takes, and every line taken.
    pub fn accepted_by(&self, accept: Option<AcceptEvidence>) -> bool {
        accept.is_some_and(|a| self.driver.grade >= a.weakest() && self.lines == Lines::All)
    }

    /// The `--accept-evidence` value that would accept it, if one would.
    pub fn would_be_accepted_with(&self) -> Option<&'static str> {
        if self.lines != Lines::All {
            return None;
        }
        AcceptEvidence::ALL.iter().find(|&&a| self.accepted_by(Some(a))).map(|a| a.as_str())
    }
}

/// The lines of a node that `driver` takes.
fn lines<'n>(driver: &Driver, reset_names: impl IntoIterator<Item = &'n [u8]>, count: usize) -> Lines {
    let c = &driver.coverage;
    if c.array || c.bulk {
        return Lines::All;
    }
    let names: Vec<&[u8]> = reset_names.into_iter().collect();
    let taken = |i: usize| {
        names.get(i).is_some_and(|n| c.names.iter().any(|w| w.as_bytes() == *n))
            || c.indices.contains(&(i as u64))
            || (c.device_reset && i == 0)
    };
    let missing: Vec<usize> = (0..count).filter(|&i| !taken(i)).collect();
    match (missing.first(), c.expr.first()) {
        (None, _) => Lines::All,
        (Some(_), Some(expr)) => Lines::Unknown { expr },
        (Some(&first), None) => Lines::Missing { first, count: missing.len() },
    }
}

/// What the Linux driver says about a device whose quiescence is otherwise unproven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriverEvidence {
    /// Not the generic reset (ACPI `_RST`): the driver's use of `resets` says nothing about it.
    NotApplicable,
    /// No driver in the data lists any of the node's compatibles.
    NoDriver,
    /// The driver's grade and the lines it takes.
    Found(KernelEvidence),
}

/// What `--accept-evidence` would change for a refused device: the value that would accept its
/// kernel-driver evidence, and whether the device would then be eligible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint {
    /// The `--accept-evidence` value.
    pub option: &'static str,
    /// Whether nothing else refuses the device.
    pub eligible: bool,
}

/// The evidence rule 4 rests on, strongest kind first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade<'e> {
    /// An allowlist entry records it.
    Allowlist(&'e allowlist::Evidence),
    /// What the Linux driver does.
    KernelDriver(KernelEvidence),
    /// Nothing: no entry, and no driver in the data lists its compatibles (or the method is
    /// not the generic reset, whose driver evidence is about).
    None,
}

/// A grade as a verdict carries it: its name, where the evidence is, and whether the driver
/// takes every line (the fields `audit` and `explain` add to a verdict's JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceSummary {
    /// One of [`GRADES`].
    pub grade: &'static str,
    /// The allowlist entry's source, or the driver's call as `file:line (function)`; none for
    /// `none`.
    pub citation: Option<String>,
    /// `all`, `partial`, `none` or `unknown` for a kernel-driver grade.
    pub lines: Option<&'static str>,
}

impl Default for EvidenceSummary {
    fn default() -> EvidenceSummary {
        EvidenceSummary { grade: "none", citation: None, lines: None }
    }
}

impl Grade<'_> {
    /// The grade as a verdict carries it.
    pub fn summary(&self) -> EvidenceSummary {
        match self {
            Grade::Allowlist(e) => {
                EvidenceSummary { grade: e.kind(), citation: Some(e.source().to_string()), lines: None }
            }
            Grade::KernelDriver(k) => EvidenceSummary {
                grade: k.label(),
                citation: Some(k.citation()),
                lines: Some(k.lines_label()),
            },
            Grade::None => EvidenceSummary::default(),
        }
    }

    /// Its name, one of [`GRADES`].
    pub fn label(&self) -> &'static str {
        match self {
            Grade::Allowlist(e) => e.kind(),
            Grade::KernelDriver(k) => k.label(),
            Grade::None => "none",
        }
    }

    /// The kernel-driver evidence, when that is the grade.
    pub fn kernel(&self) -> Option<&KernelEvidence> {
        match self {
            Grade::KernelDriver(k) => Some(k),
            _ => None,
        }
    }
}

/// A value of `--accept-evidence`: the weakest kernel-driver grade that proves quiescence, every
/// line taken. A stronger grade is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptEvidence {
    /// `kernel-driver`: the same as `kernel-driver-recovery`.
    KernelDriver,
    /// `kernel-driver-recovery`: the driver pulses the reset to bring a running IP back.
    KernelDriverRecovery,
    /// `kernel-driver-probe`: a pulse at probe is enough.
    KernelDriverProbe,
}

impl AcceptEvidence {
    /// Every value, the strictest first.
    pub const ALL: [AcceptEvidence; 3] = [
        AcceptEvidence::KernelDriver,
        AcceptEvidence::KernelDriverRecovery,
        AcceptEvidence::KernelDriverProbe,
    ];

    /// The weakest driver grade it accepts.
    pub fn weakest(self) -> DriverGrade {
        match self {
            AcceptEvidence::KernelDriver | AcceptEvidence::KernelDriverRecovery => DriverGrade::RecoveryReset,
            AcceptEvidence::KernelDriverProbe => DriverGrade::ProbeReset,
        }
    }

    /// As written on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            AcceptEvidence::KernelDriver => "kernel-driver",
            AcceptEvidence::KernelDriverRecovery => "kernel-driver-recovery",
            AcceptEvidence::KernelDriverProbe => "kernel-driver-probe",
        }
    }
}

/// The dt-schema caveat, said where kernel-driver evidence is relied on.
pub const SHARED_LINE_CAVEAT: &str = "DT resets alone cannot prove a line exclusive: dt-schema's reset.yaml lets a line shared by several blocks be described once, on a bus node";

impl fmt::Display for KernelEvidence {
    /// "its Linux driver renesas_internal_dmac_sdhi_driver (renesas,rcar-gen3-sdhi) is
    /// recovery-reset: reset_control_reset in renesas_sdhi_reset (drivers/…:588); it takes every line"
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.driver;
        write!(f, "its Linux driver {} ({}) is {}", d.name, self.compatible, d.grade.as_str())?;
        match (d.grade, self.site()) {
            (DriverGrade::Unused, Some(s)) => write!(
                f,
                ": it gets the reset ({} in {}, {}:{}) and never uses it",
                s.call, s.function, s.file, s.line
            )?,
            (DriverGrade::Unused, None) => write!(f, ": it calls no reset API ({}:{})", d.file, d.line)?,
            (_, Some(s)) => write!(f, ": {} in {} ({}:{})", s.call, s.function, s.file, s.line)?,
            (_, None) => {}
        }
        if d.unclassified > 0 && d.grade != DriverGrade::RecoveryReset {
            write!(f, " (a lower bound: {} use(s) not classified)", d.unclassified)?;
        }
        if d.grade == DriverGrade::Unused {
            return Ok(());
        }
        match self.lines {
            Lines::All if self.line_count == 1 => f.write_str("; it takes the node's only line"),
            Lines::All => write!(f, "; it takes every one of the node's {} lines", self.line_count),
            Lines::Missing { first, count } => write!(
                f,
                "; it does not take {count} of the {} lines (first: line {first}), so the reset may not cover the whole IP",
                self.line_count
            ),
            Lines::Unknown { expr } => write!(f, "; which lines it takes is computed at run time ({expr})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&'static str]) -> Vec<&'static [u8]> {
        list.iter().map(|s| s.as_bytes()).collect()
    }

    #[test]
    fn the_sdhi_s_one_unnamed_line_is_taken_and_kernel_driver_accepts_it() {
        let k =
            KernelEvidence::of(["renesas,sdhi-r8a774a1", "renesas,rcar-gen3-sdhi"], names(&[]), 1).unwrap();
        assert_eq!((k.label(), k.lines), ("kernel-driver-recovery", Lines::All));
        assert_eq!(k.citation(), "drivers/mmc/host/renesas_sdhi_core.c:588 (renesas_sdhi_reset)");
        assert!(k.accepted_by(Some(AcceptEvidence::KernelDriver)));
        assert!(!k.accepted_by(None));
        assert_eq!(k.would_be_accepted_with(), Some("kernel-driver"));
        let two = KernelEvidence::of(["renesas,rcar-gen3-sdhi"], names(&[]), 2).unwrap();
        assert_eq!(two.lines, Lines::Missing { first: 1, count: 1 }, "index 0 only");
        assert!(
            !two.accepted_by(Some(AcceptEvidence::KernelDriverProbe)),
            "a line not taken is never accepted"
        );
        assert_eq!(two.would_be_accepted_with(), None);
    }

    #[test]
    fn dw_mmc_takes_the_line_named_reset_only() {
        let k =
            KernelEvidence::of(["rockchip,rk3399-dw-mshc", "rockchip,rk3288-dw-mshc"], names(&["reset"]), 1)
                .unwrap();
        assert_eq!((k.label(), k.lines), ("kernel-driver-probe", Lines::All));
        assert_eq!(k.would_be_accepted_with(), Some("kernel-driver-probe"));
        assert!(!k.accepted_by(Some(AcceptEvidence::KernelDriver)));
        assert!(k.accepted_by(Some(AcceptEvidence::KernelDriverProbe)));
        let unnamed = KernelEvidence::of(["rockchip,rk3288-dw-mshc"], names(&[]), 1).unwrap();
        assert_eq!(unnamed.lines, Lines::Missing { first: 0, count: 1 }, "a named getter needs reset-names");
    }

    #[test]
    fn stmmac_names_its_main_line_through_a_macro() {
        let k = KernelEvidence::of(["snps,dwmac-3.70a"], names(&["stmmaceth", "ahb"]), 2).unwrap();
        assert_eq!(k.lines, Lines::Unknown { expr: "STMMAC_RESOURCE_NAME" });
        let ahb_only = KernelEvidence::of(["snps,dwmac-3.70a"], names(&["ahb"]), 1).unwrap();
        assert_eq!(ahb_only.lines, Lines::All);
        assert!(k.to_string().contains("computed at run time (STMMAC_RESOURCE_NAME)"), "{k}");
    }

    #[test]
    fn a_driver_that_never_touches_its_reset_is_unused_and_says_so() {
        let k = KernelEvidence::of(["rockchip,rk3326-csi-dphy"], names(&["apb"]), 1).unwrap();
        assert_eq!(k.label(), "kernel-driver-unused");
        assert_eq!(k.would_be_accepted_with(), None);
        assert!(
            k.to_string().contains("gets the reset (devm_reset_control_get in rockchip_inno_csidphy_probe"),
            "{k}"
        );
        let none = KernelEvidence::of(["fsl,imx35-gpio"], names(&[]), 1).unwrap();
        assert_eq!(none.label(), "kernel-driver-unused");
        assert!(none.to_string().contains(": it calls no reset API (drivers/gpio/gpio-mxc.c:"), "{none}");
    }

    #[test]
    fn every_grade_has_a_name_in_the_list() {
        for a in AcceptEvidence::ALL {
            assert!(a.as_str().starts_with("kernel-driver"));
        }
        assert_eq!(Grade::None.label(), "none");
        assert!(GRADES.contains(&"kernel-driver-deassert"));
    }
}
