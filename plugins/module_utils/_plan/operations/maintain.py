# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_maintain: compact, then defragment the members that need it, one
at a time, the leader last; recover from the NOSPACE alarm."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import defrag_order, defrag_reason
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems


# An operation starts no member as a converge does: a member that lost its data is no reason to refuse it (a
# restore or a recovery is what that member needs).
ACCEPTS_LOST_DATA = True
# Whether it writes certificates, so that a CA on the members that is not the controller's must be refused.
WRITES_CERTIFICATES = False


def plan_maintain(run, facts, plan):
    """-t etcd_maintain: compact once, then defragment the members that need it (the rule of
    _maintenance.defrag_reason), one at a time, followers first, the leader last after handing leadership to a
    member already done; with the NOSPACE alarm, every member, then disarm once the data fits, and prove a write.
    Refused for a cluster that is not healthy (but for the NOSPACE alarm) or has another alarm."""
    hosts = facts.hosts
    read = facts.read or {}
    if not facts.read_ok:
        run.refuse("Cannot maintain cluster %s: %s. Nothing was changed." % (
            run.cluster, facts.read_problem or "no member of it is running"))
        return
    alarms = list(read.get("alarms") or [])
    nospace = any(a.get("alarm") == "NOSPACE" for a in alarms)
    other = ["%s on member %s" % (a.get("alarm"), a.get("member_id")) for a in alarms if a.get("alarm") != "NOSPACE"]
    expect = dict(members=None, tolerate_down=[], margin=0, versions={}, tolerate_alarms=["NOSPACE"])
    problems = cluster_problems(read, expect)
    if other:
        problems.append("alarm %s is active: not a matter for maintenance (see docs/maintenance.md)" % ", ".join(other))
    if problems:
        run.refuse("Refusing to maintain cluster %s: it is not healthy (%s). Nothing was changed."
                   % (run.cluster, "; ".join(problems)))
        return
    members = [m for m in facts.members if m.get("status")]
    preference = [hosts[h]["name"] for h in run.order]
    reasons = {}
    if run.compacted:
        for member in members:
            why = defrag_reason(member["status"], run.param("etcd_defrag_min_ratio", 0.25),
                                run.int_param("etcd_defrag_min_free_bytes", 33554432), nospace)
            if why:
                reasons[member["name"]] = why
    order = defrag_order(members, set(reasons), preference)
    by_name = dict((m["name"], m) for m in members)
    defrag = []
    for index, name in enumerate(order):
        member = by_name[name]
        defrag.append(dict(name=name, host=facts.host_of_member(name), endpoint=(member.get("client_urls") or [None])[0],
                           reason=reasons[name], leader=bool(member.get("leader")),
                           # The leader goes last, after leadership moved to a member already done.
                           move_to=order[index - 1] if member.get("leader") and index > 0 else None))
    voter_endpoints = [(m.get("client_urls") or [None])[0] for m in members if not m.get("is_learner")]
    plan["maintain"] = dict(
        nospace=nospace, compacted=run.compacted,
        keep=0 if nospace else run.int_param("etcd_maintain_keep_revisions", 1000),
        endpoints=[e for e in voter_endpoints if e], defrag=defrag,
        quota=run.int_param("etcd_quota_backend_bytes", 2147483648),
        margin=float(run.param("etcd_nospace_margin", 0.2)), timeout=run.int_param("etcd_maintain_timeout", 300))
    via = [h for h in run.order if facts.reachable(h) and (facts.states.get(h) or {}).get("running")]
    plan["verify"] = dict(host=via[0] if via else None, endpoints=[hosts[h]["client_url"] for h in run.order],
                          expect=dict(expect, members=[dict(name=hosts[h]["name"], peer_url=hosts[h]["peer_url"])
                                                       for h in run.order if facts.in_membership.get(h)]))
