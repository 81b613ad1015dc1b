//! `audit --sort`: the order of a file's node records.
//!
//! Owns: the keys and the comparison. Must not: drop, change or add records; every sort is
//! stable, so nodes equal by the key keep the tree's order and the output does not depend on
//! anything but the input.

use std::cmp::Ordering;

use clap::ValueEnum;

use super::report::NodeRecord;

/// What `--sort` orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortKey {
    /// The node's full path, as a string (`/soc/a@10` before `/soc/a@2`).
    Node,
    /// Eligible first, then eligible with accepted warnings, then refused, then host
    /// infrastructure (no candidate).
    Verdict,
    /// The first reset line's controller path, then its cells; unresolvable `resets` last.
    Controller,
    /// The `status` string (`disabled` before `okay`).
    Status,
}

/// Where a verdict sorts: eligible, eligible with accepted warnings, refused, no candidate.
fn verdict_rank(n: &NodeRecord<'_>) -> u8 {
    match (n.verdict.candidate, n.verdict.eligible, n.verdict.warnings.is_empty()) {
        (false, _, _) => 3,
        (true, true, true) => 0,
        (true, true, false) => 1,
        (true, false, _) => 2,
    }
}

/// The first resolved line's controller and cells.
fn first_line<'n>(n: &'n NodeRecord<'_>) -> Option<(&'n str, &'n [u32])> {
    n.resets.as_ref().and_then(|l| l.first()).map(|l| (l.controller.as_ref(), l.args.as_ref()))
}

fn by_controller(a: &NodeRecord<'_>, b: &NodeRecord<'_>) -> Ordering {
    match (first_line(a), first_line(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Orders `nodes` by `key`, stably; `None` leaves the tree's order.
pub fn sort(nodes: &mut [NodeRecord<'_>], key: Option<SortKey>) {
    match key {
        None => {}
        Some(SortKey::Node) => nodes.sort_by(|a, b| a.node.cmp(&b.node)),
        Some(SortKey::Verdict) => nodes.sort_by_key(verdict_rank),
        Some(SortKey::Controller) => nodes.sort_by(by_controller),
        Some(SortKey::Status) => nodes.sort_by(|a, b| a.status.cmp(&b.status)),
    }
}
