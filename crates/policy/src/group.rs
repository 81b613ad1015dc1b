//! Devices that share reset lines, proposed as one assignable unit (`--group`): the closure of a
//! node under "shares a line with", and the policy's verdict on handing all of it to one VM.
//!
//! A shared line is a problem only when a sharer stays with the host; assigned together, the
//! members reset only each other. Disabled members have no platform device, so they cannot be
//! assigned, but nothing on the host uses them either: they are reported as "also reset".
//! Host infrastructure (a power gate, a clock controller, …) sharing a line is never assigned:
//! it stays with the host, so the line stays shared and the members using it stay refused; and
//! the closure does not run on through its other lines, which join nothing to the group.
//!
//! Owns: the closure and the group verdict. Must not: word reasons or decide a single device's
//! rules (the [`Evaluator`] does).

use std::collections::{BTreeMap, BTreeSet};

use platreset_fdt::NodeId;
use platreset_topology::{ResetLine, Topology};

use crate::policy::{Evaluator, LineSharers, Verdict};

/// The nodes reachable from one node through shared reset lines, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Every member, the starting node included.
    pub members: Vec<NodeId>,
}

impl Group {
    /// The group of `node`: itself, and every node sharing a line with a member. A member that
    /// is host infrastructure (other than `node`) joins, but its own other lines are not followed.
    pub fn of(topology: &Topology<'_, '_>, node: NodeId) -> Group {
        let mut members = BTreeSet::from([node]);
        let mut visited: BTreeSet<ResetLine> = BTreeSet::new();
        let mut todo = vec![node];
        // Each node enters `todo` once and each line's users are visited once, so this ends
        // after one visit per member and per user of a member's line.
        while let Some(current) = todo.pop() {
            let Some(consumer) = topology.consumer(current) else { continue };
            if current != node && consumer.service.is_some() {
                continue;
            }
            for line in consumer.lines() {
                if !visited.insert(*line) {
                    continue;
                }
                for other in topology.users_of(line) {
                    if members.insert(other) {
                        todo.push(other);
                    }
                }
            }
        }
        Group { members: members.into_iter().collect() }
    }

    /// Whether the node shares nothing.
    pub fn is_single(&self) -> bool {
        self.members.len() == 1
    }
}

/// The policy's decision on assigning a group to one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupVerdict {
    /// Enabled members, each with its verdict when assigned together with the others.
    pub assign: Vec<(NodeId, Verdict)>,
    /// Disabled members: reset along with the group, never assigned.
    pub also_reset: Vec<NodeId>,
    /// Members that are host infrastructure (any status): never assigned, they keep the lines
    /// they use shared for the members that use them.
    pub host: Vec<NodeId>,
}

impl GroupVerdict {
    /// Whether every enabled member may be handed to the VM, together.
    pub fn eligible(&self) -> bool {
        !self.assign.is_empty() && self.assign.iter().all(|(_, v)| v.eligible())
    }
}

impl Evaluator<'_, '_, '_, '_> {
    /// The verdict on assigning `group` as one unit. Who outside the group uses each member's
    /// lines is found once per distinct line, not once per member (a closed group, as
    /// [`Group::of`] makes, has no one outside).
    pub fn group_verdict(&self, group: &Group) -> GroupVerdict {
        let topology = self.topology();
        let enabled = |&id: &NodeId| topology.node(id).is_some_and(|n| n.is_enabled());
        let (candidates, host): (Vec<NodeId>, Vec<NodeId>) =
            group.members.iter().copied().partition(|&id| self.infrastructure(id).is_none());
        let (assign, also_reset): (Vec<NodeId>, Vec<NodeId>) = candidates.iter().copied().partition(enabled);
        // Infrastructure stays with the host, whatever its status: it is someone the lines are
        // shared with, not one of the group (`candidates` is sorted, as `members` is).
        let mut outside: BTreeMap<ResetLine, Option<LineSharers>> = BTreeMap::new();
        for consumer in assign.iter().filter_map(|&id| topology.consumer(id)) {
            for line in consumer.lines() {
                if !outside.contains_key(line) {
                    // The member itself is in the group: who is left is the same for every member.
                    let sharers = self.line_sharers_apart(line, consumer.node, &candidates);
                    outside.insert(*line, sharers);
                }
            }
        }
        let sharers = |line: &ResetLine| outside.get(line).cloned().flatten();
        let assign = assign.into_iter().map(|id| (id, self.verdict_sharing(id, &sharers))).collect();
        GroupVerdict { assign, also_reset, host }
    }
}
