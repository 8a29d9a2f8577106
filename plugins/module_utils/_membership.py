# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: rules about an etcd membership that both the modules (on a member)
and the run's plan (on the controller) apply, so that each rule exists once. Pure functions over member
views (see _etcdctl.member_view, and the `members` of etcd_cluster_info)."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type


def quorum(voters):
    """How many voting members a cluster of `voters` voting members needs to commit anything."""
    return voters // 2 + 1


def initial_cluster(members, names_by_url=None):
    """etcd's initial-cluster value (name=peer-url pairs, in the given order) for a member joining this
    membership, as `etcdctl member add` prints it. A member that has not started has no name in etcd: its
    name comes from names_by_url (peer URL -> name)."""
    names_by_url = names_by_url or {}
    pairs = []
    for member in members:
        for url in member["peer_urls"]:
            pairs.append("%s=%s" % (member.get("name") or names_by_url.get(url) or "", url))
    return ",".join(pairs)


def successor(members, leaving_id):
    """The member that should take over leadership from member `leaving_id`: a started, healthy voting
    member other than it, the one that has applied the most of the raft log (the least to catch up, so
    the transfer completes at once); on a tie, the first by name. None when there is no such member.

    members: views with id, name, is_learner, started (or client_urls), healthy and status.raft_applied_index
    (etcd_cluster_info); a member without a status has applied nothing we know of."""
    candidates = []
    for member in members:
        if member["id"] == leaving_id or member.get("is_learner"):
            continue
        started = member.get("started", bool(member.get("client_urls")))
        if not started or not member.get("healthy", True):
            continue
        applied = int((member.get("status") or {}).get("raft_applied_index") or 0)
        candidates.append((-applied, member.get("name") or "", member))
    if not candidates:
        return None
    return sorted(candidates, key=lambda c: (c[0], c[1]))[0][2]


def leader_last(hosts, leader_host):
    """hosts in their order, the leader's host moved to the end: followers restart first."""
    return [h for h in hosts if h != leader_host] + [h for h in hosts if h == leader_host]
