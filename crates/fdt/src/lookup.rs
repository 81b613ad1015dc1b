//! Finding nodes the way people name them: by full path (`/soc/mmc@ee100000`), by path without
//! unit address when unambiguous (`/soc/mmc`), by alias (`mmc0`, `serial0/child`) and by
//! `__symbols__` label (`sdhi0` or `&sdhi0`).

use crate::error::LookupError;
use crate::node::Node;
use crate::Fdt;

impl<'a> Fdt<'a> {
    /// The node at an absolute path. A component without `@` also matches a single child whose
    /// name without unit address equals it; several such children make the path ambiguous.
    pub fn find_path(&self, path: &str) -> Result<Node<'_, 'a>, LookupError> {
        let not_found = |tried: String| LookupError::NotFound { spec: path.to_string(), tried };
        let rest = path.strip_prefix('/').ok_or_else(|| not_found("by path".into()))?;
        let mut node = self.root();
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            node = match child_by_component(node, path, component)? {
                Some(child) => child,
                None => {
                    let names = node.children().map(|c| c.name_lossy().into_owned());
                    let near = nearest(component, names);
                    let hint = if near.is_empty() {
                        String::new()
                    } else {
                        format!("; did you mean {} under {}?", near.join(", "), node.path())
                    };
                    return Err(not_found(format!("by path{hint}")));
                }
            };
        }
        Ok(node)
    }

    /// The path an alias in `/aliases` names.
    pub fn alias(&self, name: &str) -> Option<&'a [u8]> {
        let aliases = self.root().child(b"aliases")?;
        aliases.property(name).map(|p| p.first_string())
    }

    /// The path a label in `/__symbols__` names (present when the tree was compiled with `dtc -@`).
    pub fn label(&self, name: &str) -> Option<&'a [u8]> {
        let symbols = self.root().child(b"__symbols__")?;
        symbols.property(name).map(|p| p.first_string())
    }

    /// Resolves what a user typed: `/path`, `&label`, `alias[/rest]`, or a bare label.
    pub fn resolve(&self, spec: &str) -> Result<Node<'_, 'a>, LookupError> {
        if spec.starts_with('/') {
            return self.find_path(spec);
        }
        if let Some(label) = spec.strip_prefix('&') {
            return self.follow("label", label, "", self.label(label), spec);
        }
        let (head, tail) = spec.split_once('/').map_or((spec, ""), |(h, t)| (h, t));
        if let Some(target) = self.alias(head) {
            return self.follow("alias", head, tail, Some(target), spec);
        }
        if tail.is_empty() {
            if let Some(target) = self.label(head) {
                return self.follow("label", head, "", Some(target), spec);
            }
        }
        // A path typed without its leading '/' (`soc/mmc@ee100000`).
        if !spec.is_empty() {
            if let Ok(node) = self.find_path(&format!("/{spec}")) {
                return Ok(node);
            }
        }
        Err(LookupError::NotFound { spec: spec.to_string(), tried: self.not_found_help(spec) })
    }

    /// Where a name was looked for, what this tree offers instead, and the nearest names.
    fn not_found_help(&self, spec: &str) -> String {
        let mut help =
            "not a path (no leading '/'), not an alias in /aliases, not a label in /__symbols__".to_string();
        let names_of = |node: Option<Node<'_, 'a>>| -> Vec<String> {
            node.map(|n| n.properties().map(|p| String::from_utf8_lossy(p.name()).into_owned()).collect())
                .unwrap_or_default()
        };
        let aliases: Vec<String> =
            names_of(self.root().child(b"aliases")).into_iter().filter(|n| n != "phandle").collect();
        let labels = names_of(self.root().child(b"__symbols__"));
        if labels.is_empty() {
            help.push_str(
                "; this DTB has no __symbols__ (it was compiled without dtc -@), so labels are unknown",
            );
            if aliases.is_empty() {
                help.push_str(" and it has no aliases either: use a path (`platreset audit` lists them)");
            } else {
                let shown: Vec<&str> = aliases.iter().take(12).map(String::as_str).collect();
                let more = aliases.len().saturating_sub(shown.len());
                let more = if more > 0 { format!(" and {more} more") } else { String::new() };
                help.push_str(&format!("; its aliases: {}{more}", shown.join(", ")));
            }
        }
        let node_names = self.nodes().map(|n| n.name_lossy().into_owned());
        let near = nearest(spec.trim_start_matches('&'), aliases.into_iter().chain(labels).chain(node_names));
        if !near.is_empty() {
            help.push_str(&format!("; did you mean {}?", near.join(", ")));
        }
        help
    }

    fn follow(
        &self,
        kind: &'static str,
        name: &str,
        tail: &str,
        target: Option<&[u8]>,
        spec: &str,
    ) -> Result<Node<'_, 'a>, LookupError> {
        let Some(target) = target else {
            return Err(LookupError::NotFound {
                spec: spec.to_string(),
                tried: format!("no {kind} '{name}'"),
            });
        };
        let bad = |problem: String| LookupError::BadTarget {
            kind,
            name: name.to_string(),
            target: String::from_utf8_lossy(target).into_owned(),
            problem,
        };
        let path = std::str::from_utf8(target).map_err(|_| bad("not UTF-8".into()))?;
        if !path.starts_with('/') {
            return Err(bad("not an absolute path".into()));
        }
        let full = if tail.is_empty() { path.to_string() } else { format!("{path}/{tail}") };
        self.find_path(&full).map_err(|e| bad(e.to_string()))
    }
}

fn child_by_component<'f, 'a>(
    node: Node<'f, 'a>,
    spec: &str,
    component: &str,
) -> Result<Option<Node<'f, 'a>>, LookupError> {
    let want = component.as_bytes();
    if let Some(exact) = node.child(want) {
        return Ok(Some(exact));
    }
    // A name with control characters is shown escaped (`Node::name_lossy`): what is shown can be
    // typed back.
    if component.contains("\\u{") {
        if let Some(shown) = node.children().find(|c| c.name_lossy() == component) {
            return Ok(Some(shown));
        }
    }
    if want.contains(&b'@') {
        return Ok(None);
    }
    let mut matches = node.children().filter(|c| c.base_name() == want);
    let Some(first) = matches.next() else {
        return Ok(None);
    };
    if let Some(second) = matches.next() {
        return Err(LookupError::Ambiguous {
            spec: spec.to_string(),
            component: component.to_string(),
            matches: [first.path(), second.path()].into_iter().chain(matches.map(|m| m.path())).collect(),
        });
    }
    Ok(Some(first))
}

/// The candidates nearest `typed` (edit distance at most 2, or the same name without its unit
/// address), closest first, at most 5, each once.
fn nearest(typed: &str, candidates: impl Iterator<Item = String>) -> Vec<String> {
    let typed_lower = typed.to_ascii_lowercase();
    let mut scored: Vec<(usize, String)> = Vec::new();
    for candidate in candidates {
        let lower = candidate.to_ascii_lowercase();
        let base = lower.split('@').next().unwrap_or_default();
        let distance =
            if base == typed_lower && lower != typed_lower { 0 } else { edit_distance(&typed_lower, &lower) };
        if distance <= 2 && lower != typed_lower && !scored.iter().any(|(_, c)| *c == candidate) {
            scored.push((distance, candidate));
        }
    }
    scored.sort();
    scored.into_iter().take(5).map(|(_, c)| c).collect()
}

/// Levenshtein distance, bounded: names longer than 64 bytes are not compared (a typo of a
/// short name is what this is for, and the cost stays linear in the tree).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 64 || b.len() > 64 || a.len().abs_diff(b.len()) > 2 {
        return usize::MAX;
    }
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}
