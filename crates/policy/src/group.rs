//! Devices that share reset lines, proposed as one assignable unit (`--group`): the closure of a
//! node under "shares a line with", and the policy's verdict on handing all of it to one VM.
//!
//! A shared line is a problem only when a sharer stays with the host; assigned together, the
//! members reset only each other. Disabled members have no platform device, so they cannot be
//! assigned, but nothing on the host uses them either: they are reported as "also reset".
//!
//! Owns: the closure and the group verdict. Must not: word reasons or decide a single device's
//! rules (the [`Evaluator`] does).

use std::collections::BTreeSet;

use platreset_fdt::NodeId;
use platreset_topology::Topology;

use crate::policy::{Evaluator, Verdict};

/// The nodes reachable from one node through shared reset lines, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Every member, the starting node included.
    pub members: Vec<NodeId>,
}

impl Group {
    /// The group of `node`: itself, and every node sharing a line with a member.
    pub fn of(topology: &Topology<'_, '_>, node: NodeId) -> Group {
        let mut members = BTreeSet::from([node]);
        let mut todo = vec![node];
        // Each node enters `todo` once, so this ends after at most one visit per node.
        while let Some(current) = todo.pop() {
            let Some(consumer) = topology.consumer(current) else { continue };
            for line in consumer.lines() {
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
}

impl GroupVerdict {
    /// Whether every enabled member may be handed to the VM, together.
    pub fn eligible(&self) -> bool {
        !self.assign.is_empty() && self.assign.iter().all(|(_, v)| v.eligible())
    }
}

impl Evaluator<'_, '_, '_, '_> {
    /// The verdict on assigning `group` as one unit.
    pub fn group_verdict(&self, group: &Group) -> GroupVerdict {
        let topology = self.topology();
        let enabled = |&id: &NodeId| topology.node(id).is_some_and(|n| n.is_enabled());
        let (assign, also_reset): (Vec<NodeId>, Vec<NodeId>) =
            group.members.iter().copied().partition(enabled);
        let assign = assign.into_iter().map(|id| (id, self.verdict_with(id, &group.members))).collect();
        GroupVerdict { assign, also_reset }
    }
}
