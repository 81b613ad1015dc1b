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
        let not_found = || LookupError::NotFound { spec: path.to_string(), tried: "by path".into() };
        let rest = path.strip_prefix('/').ok_or_else(not_found)?;
        let mut node = self.root();
        for component in rest.split('/').filter(|c| !c.is_empty()) {
            node = child_by_component(node, path, component)?.ok_or_else(not_found)?;
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
        Err(LookupError::NotFound {
            spec: spec.to_string(),
            tried: "not a path (no leading '/'), not an alias in /aliases, not a label in /__symbols__"
                .into(),
        })
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
            first: first.path(),
            second: second.path(),
        });
    }
    Ok(Some(first))
}
