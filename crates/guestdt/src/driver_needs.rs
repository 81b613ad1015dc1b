//! What the guest's Linux driver needs from a device's `clocks` and `resets`: the getters its
//! probe reaches, read from Linux 6.1's sources by `scripts/gen-evidence` (`data/evidence/
//! guest-drivers.json`, compiled in by `build.rs`), and which of them this node must satisfy for
//! the driver to probe.
//!
//! Owns: the evidence tables and the rule "a getter is required for this node". Must not:
//! decide what the guest tree holds (`props` does, with this answer) or read a host clock rate.
//!
//! Why the node matters, not only the driver: the host runs the same driver on the same node, so
//! a getter whose clock or reset the node does not have (a name missing from `clock-names` /
//! `reset-names`, an index past the end) is one the driver tolerates; only getters the node
//! satisfies can fail in a guest that lacks them.

use platreset_fdt::Node;

/// How a getter takes its clock(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetterKind {
    /// One clock, by connection id (`name`) or index (`index`; no name: the first).
    Single,
    /// A list the driver builds (`clk_bulk_get`): which names is not read.
    Bulk,
    /// Every clock of the node (`clk_bulk_get_all`): none is success.
    All,
    /// Every reset line of the node (`reset_control_array_get`): none is an error unless optional.
    Array,
    /// An OPP configuration naming clocks (`devm_pm_opp_set_config`).
    Opp,
    /// A child node's clock (`devm_get_clk_from_child`): not this node's `clocks`.
    Child,
    /// A PM clock list (`of_pm_clk_add_clks`, `pm_clk_add_clk`).
    PmClocks,
}

/// One getter call the driver's probe, remove or PM callbacks reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Getter {
    /// The function called (`devm_clk_get`).
    pub call: &'static str,
    /// How it takes clocks.
    pub kind: GetterKind,
    /// Its connection id, when a literal.
    pub name: Option<&'static str>,
    /// Its index, when a literal (an unnamed getter is index 0).
    pub index: Option<u32>,
    /// An `_optional` getter (or `bulk_get_all`): a node without the clock is success.
    pub optional: bool,
    /// `file:line` of the call.
    pub at: &'static str,
    /// `file:line` of the driver's call into another directory that reaches it, if any.
    pub via: Option<&'static str>,
}

/// One driver's facts: a view of the generated tables.
#[derive(Debug, Clone, Copy)]
pub struct DriverNeeds {
    row: &'static DriverRow,
}

impl DriverNeeds {
    /// `file:driver-struct`.
    pub fn driver(self) -> &'static str {
        self.row.driver.get()
    }

    /// Every clock getter found.
    pub fn clocks(self) -> impl Iterator<Item = Getter> {
        self.getters(Resource::Clocks)
    }

    /// The driver calls the clk API but no getter explains where its clock came from.
    pub fn clocks_used_without_getter(self) -> bool {
        self.row.clocks_used_without_getter
    }

    /// Every reset getter found (and `device_reset` calls, index 0).
    pub fn resets(self) -> impl Iterator<Item = Getter> {
        self.getters(Resource::Resets)
    }

    /// The getters of `resource`.
    pub fn getters(self, resource: Resource) -> impl Iterator<Item = Getter> {
        match resource {
            Resource::Clocks => self.row.clocks.getters(),
            Resource::Resets => self.row.resets.getters(),
        }
    }
}

/// A span of the generated tables: `(offset, length)` in `STRINGS` or in `GETTERS`. The tables
/// hold spans, not references, so that the loader has nothing to relocate (build.rs says why).
#[derive(Debug, Clone, Copy)]
struct Span(u32, u16);

impl Span {
    /// No string.
    const NONE: Span = Span(u32::MAX, 0);

    /// The string it spans.
    fn get(self) -> &'static str {
        let from = self.0 as usize;
        // The build script wrote each span from the string it appended, so it is in bounds and
        // on character boundaries; "" is the answer for a span that is not (a broken build).
        STRINGS.get(from..from + usize::from(self.1)).unwrap_or_default()
    }

    /// The string it spans, or `None` for [`Span::NONE`].
    fn opt(self) -> Option<&'static str> {
        (self.0 != u32::MAX).then(|| self.get())
    }

    /// The getters it spans.
    fn getters(self) -> impl Iterator<Item = Getter> {
        let from = self.0 as usize;
        GETTERS.get(from..from + usize::from(self.1)).unwrap_or_default().iter().map(GetterRow::getter)
    }
}

/// A getter as the tables hold it.
#[derive(Debug)]
struct GetterRow {
    call: Span,
    kind: GetterKind,
    name: Span,
    /// `u32::MAX`: none.
    index: u32,
    optional: bool,
    at: Span,
    via: Span,
}

impl GetterRow {
    fn getter(&self) -> Getter {
        Getter {
            call: self.call.get(),
            kind: self.kind,
            name: self.name.opt(),
            index: (self.index != u32::MAX).then_some(self.index),
            optional: self.optional,
            at: self.at.get(),
            via: self.via.opt(),
        }
    }
}

/// A driver as the tables hold it.
#[derive(Debug)]
struct DriverRow {
    driver: Span,
    clocks: Span,
    clocks_used_without_getter: bool,
    resets: Span,
}

/// The two kinds of host wiring a guest driver may ask for by getter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// `clocks` / `clock-names`.
    Clocks,
    /// `resets` / `reset-names`.
    Resets,
}

impl Resource {
    /// "clock" or "reset".
    pub fn noun(self) -> &'static str {
        match self {
            Resource::Clocks => "clock",
            Resource::Resets => "reset",
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/guest_drivers_generated.rs"));

/// What the guest driver of a node needs from its `clocks` or its `resets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuestNeed {
    /// No driver of Linux 6.1 lists any of the node's compatibles.
    NoEvidence,
    /// The driver probes without any of them (it takes none, or only optionally).
    Nothing {
        /// `file:driver-struct`.
        driver: &'static str,
    },
    /// The driver fails its probe without this clock or reset of the node.
    Required {
        /// `file:driver-struct`.
        driver: &'static str,
        /// Clocks or resets.
        resource: Resource,
        /// The getter that needs it.
        getter: Getter,
        /// The node's name for it (`clock-names` / `reset-names`), when known.
        name: Option<String>,
    },
    /// The driver holds clocks no getter explains: what it needs is unknown.
    Unknown {
        /// `file:driver-struct`.
        driver: &'static str,
    },
}

impl GuestNeed {
    /// The driver the evidence is about, as `(file, driver struct)`; `None` without evidence.
    pub fn driver(&self) -> Option<(&'static str, &'static str)> {
        match self {
            GuestNeed::NoEvidence => None,
            GuestNeed::Nothing { driver }
            | GuestNeed::Required { driver, .. }
            | GuestNeed::Unknown { driver } => driver.rsplit_once(':'),
        }
    }

    /// A short word for scripts: `no-evidence`, `nothing`, `clock` or `reset` (required),
    /// `unknown`.
    pub fn kind(&self) -> &'static str {
        match self {
            GuestNeed::NoEvidence => "no-evidence",
            GuestNeed::Nothing { .. } => "nothing",
            GuestNeed::Required { resource, .. } => resource.noun(),
            GuestNeed::Unknown { .. } => "unknown",
        }
    }

    /// Whether the guest driver fails its probe without one of them.
    pub fn is_required(&self) -> bool {
        matches!(self, GuestNeed::Required { .. })
    }

    /// `file` and driver struct, as "driver (file)".
    fn describe(driver: &str) -> String {
        match driver.rsplit_once(':') {
            Some((file, name)) => format!("{name} ({file})"),
            None => driver.to_string(),
        }
    }

    /// One sentence on what the guest driver needs, for a decision's reason.
    pub fn sentence(&self) -> String {
        match self {
            GuestNeed::NoEvidence => {
                "no Linux 6.1 driver lists its compatible, so what a guest driver needs from it is unknown".into()
            }
            GuestNeed::Nothing { driver } => format!(
                "the guest's driver {} probes without them (it takes none, or only optionally)",
                Self::describe(driver)
            ),
            GuestNeed::Required { driver, resource, getter, name } => {
                let noun = resource.noun();
                let (which, it) = match (name, getter.index) {
                    (Some(n), _) => (format!("{noun} `{n}`"), "it"),
                    (None, Some(i)) => (format!("{noun} {i}"), "it"),
                    // a list, or a name or index computed at run time
                    (None, None) => (format!("its {noun}s"), "them"),
                };
                let via = getter.via.map(|v| format!(", called from {v}")).unwrap_or_default();
                format!(
                    "the guest's driver {} requires {which} ({} at {}{via}) and fails its probe without {it}",
                    Self::describe(driver),
                    getter.call,
                    getter.at
                )
            }
            GuestNeed::Unknown { driver } => format!(
                "the guest's driver {} uses clocks no getter of its own explains, so what it needs is unknown",
                Self::describe(driver)
            ),
        }
    }
}

/// The drivers Linux would match to `node`: those of its most specific compatible that has any.
fn drivers_of(node: &Node<'_, '_>) -> Vec<DriverNeeds> {
    let Some(compatible) = node.property("compatible") else { return Vec::new() };
    for c in compatible.strings() {
        let c = String::from_utf8_lossy(c);
        let from = BY_COMPATIBLE.partition_point(|(k, _)| k.get() < c.as_ref());
        let found: Vec<DriverNeeds> = BY_COMPATIBLE[from..]
            .iter()
            .take_while(|(k, _)| k.get() == c.as_ref())
            .filter_map(|(_, i)| DRIVERS.get(usize::from(*i)))
            .map(|row| DriverNeeds { row })
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// What `node`'s guest driver needs from its `clocks` or `resets` (`resource`), whose names are
/// `names` (`clock-names` / `reset-names`, possibly empty) and which number `count`.
pub fn guest_need(node: &Node<'_, '_>, resource: Resource, names: &[String], count: usize) -> GuestNeed {
    let drivers = drivers_of(node);
    if drivers.is_empty() {
        return GuestNeed::NoEvidence;
    }
    for d in &drivers {
        for g in d.getters(resource).filter(|g| !g.optional) {
            let name = match (g.kind, g.name, g.index) {
                (GetterKind::Child | GetterKind::All, ..) => continue,
                // a name the node lacks fails on the host too: the driver tolerates it
                (GetterKind::Single, Some(n), _) if !names.iter().any(|m| m == n) => continue,
                (GetterKind::Single, Some(n), _) => Some(n.to_string()),
                (GetterKind::Single, None, Some(i)) if i as usize >= count => continue,
                (GetterKind::Single, None, Some(i)) => names.get(i as usize).cloned(),
                _ => None,
            };
            return GuestNeed::Required { driver: d.driver(), resource, getter: g, name };
        }
    }
    if resource == Resource::Clocks {
        if let Some(d) = drivers.iter().find(|d| d.clocks_used_without_getter()) {
            return GuestNeed::Unknown { driver: d.driver() };
        }
    }
    GuestNeed::Nothing { driver: drivers[0].driver() }
}

/// The kernel source the evidence was read from (`linux-source-6.1 6.1.192-3`).
pub fn source() -> &'static str {
    SOURCE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn driver(name: &str) -> DriverNeeds {
        DRIVERS
            .iter()
            .map(|row| DriverNeeds { row })
            .find(|d| d.driver().ends_with(name))
            .expect("the driver is in the evidence")
    }

    #[test]
    fn the_index_is_sorted_and_points_at_drivers() {
        assert!(BY_COMPATIBLE.windows(2).all(|w| w[0].0.get() <= w[1].0.get()));
        assert!(BY_COMPATIBLE.iter().all(|(k, i)| !k.get().is_empty() && usize::from(*i) < DRIVERS.len()));
        assert!(DRIVERS.len() > 4000, "{}", DRIVERS.len());
        // every span of the tables is a string of the table
        for row in DRIVERS {
            assert!(row.driver.get().contains(".c:"), "{row:?}");
            for g in row.clocks.getters().chain(row.resets.getters()) {
                assert!(!g.call.is_empty() && g.at.contains(".c:"), "{g:?}");
            }
        }
    }

    #[test]
    fn the_evidence_knows_drivers_with_and_without_clocks_and_resets() {
        // rcar-dmac leaves clocks to the CPG/MSSR clock domain; sdhci-msm takes its own by name.
        assert_eq!(driver(":rcar_dmac_driver").clocks().count(), 0);
        let msm = driver("sdhci-msm.c:sdhci_msm_driver");
        for name in ["iface", "core", "xo"] {
            assert!(msm.clocks().any(|g| g.name == Some(name) && !g.optional), "{name}: {msm:?}");
        }
        assert!(msm.resets().all(|g| g.optional), "{msm:?}");
        // nouveau takes the GPU's clocks and reset in another directory, reached through a call
        let nouveau = driver(":nouveau_platform_driver");
        assert!(nouveau.clocks().any(|g| g.name == Some("gpu") && g.via.is_some()), "{nouveau:?}");
        assert!(nouveau.resets().any(|g| g.name == Some("gpu") && !g.optional), "{nouveau:?}");
        // ehci-platform goes on without a clock it cannot get (the next IS_ERR block sets it NULL)
        assert!(driver(":ehci_platform_driver").clocks().all(|g| g.optional));
    }
}
