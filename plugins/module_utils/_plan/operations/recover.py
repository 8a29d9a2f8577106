# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_recover: a cluster that lost its quorum restarted from its most
advanced surviving member as a one-member cluster, the others re-added as a scale-out adds members."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import names


# An operation starts no member as a converge does: a member that lost its data is no reason to refuse it (a
# restore or a recovery is what that member needs).
ACCEPTS_LOST_DATA = True
# Whether it writes certificates, so that a CA on the members that is not the controller's must be refused.
WRITES_CERTIFICATES = False


# What the first half of a recovery names the data it sets aside: member.before-recover-STAMP.
SUFFIX = "before-recover-"
# The survivor's one-shot start as a new one-member cluster: a config and a unit drop-in, both in /run.
FORCE_CONFIG = "/run/etcd-force-new-cluster.yml"
DROPIN = "/run/systemd/system/etcd.service.d/50-force-new-cluster.conf"


def plan_resumed(run, facts, plan):
    """A recovery whose run was interrupted after its first half: the cluster has its quorum again, every member
    is a host of the inventory, and the hosts of the run outside the membership neither run etcd nor hold data
    (the first half set their data aside, or they had lost it). Running the same command again re-adds them (the
    second half alone): nothing is stopped or forced again, and nothing that holds data is touched. Returns
    whether it is such a run."""
    hosts, states = facts.hosts, facts.states
    in_membership = [h for h in run.order if facts.in_membership.get(h)]
    missing = [h for h in run.order if h in run.play and not facts.in_membership.get(h)]
    if not missing or len(in_membership) != len(facts.members):
        return False
    for host in missing:
        state = states.get(host)
        if not state or state["running"] or state["has_data"]:
            return False
    leader = next((h for h in in_membership if facts.in_membership[h].get("leader")), in_membership[0])
    plan["recover"] = dict(
        survivor=leader, name=hosts[leader]["name"], raft_index=None, others=missing, outside=[], resume=True,
        suffix=SUFFIX + str(run.controller.get("stamp") or ""), force_config=FORCE_CONFIG, dropin=DROPIN,
        report="Cluster %s: the recovery interrupted after its first half is finished; re-added: %s." % (
            run.cluster, ", ".join(missing)))
    run.warn("Cluster %s runs again with %s, and %s, outside its membership, hold%s no data: finishing the "
             "recovery, %s re-added as new members." % (run.cluster, names(in_membership), names(missing),
                                                        "s" if len(missing) == 1 else "",
                                                        "it is" if len(missing) == 1 else "they are"))
    return True


def plan_recover(run, facts, plan):
    """-t etcd_recover: a cluster that lost its quorum restarted from its most advanced surviving member as a
    one-member cluster; the other members re-added through the scale-out path. Refused unless the run can see
    that the quorum is lost: no member knows a leader, and every member that runs answered with its own status."""
    hosts = facts.hosts
    # Without a quorum, etcdctl 3.5 cannot list the members: the read then has each member's own status.
    statuses = {} if facts.read_ok else dict((facts.read or {}).get("statuses") or {})

    def status_of(host):
        member = facts.in_membership.get(host) or {}
        found = dict(member.get("status") or statuses.get(hosts[host]["client_url"]) or {})
        if member.get("is_learner"):
            found["is_learner"] = True
        return found

    voters = facts.voters
    healthy = [m for m in voters if m.get("started") and m.get("healthy")]
    leading = sorted(set(s.get("leader") for s in statuses.values() if s.get("leader") not in (None, "0")))
    if facts.read_ok and (facts.read or {}).get("leader"):
        if plan_resumed(run, facts, plan):
            return
        run.refuse("Cluster %s has its quorum (%d of %d voting members healthy, leader %s): a recovery would throw "
                   "away the members that work. Replace a failed member with -l HOST -t etcd_clean, then -l HOST "
                   "-e etcd_init=existing. Nothing was changed."
                   % (run.cluster, len(healthy), len(voters), (facts.read or {}).get("leader_name") or "known"))
        return
    if leading:
        run.refuse("Cannot recover cluster %s: the member list could not be read, but a member knows a leader "
                   "(%s); the cluster may still have its quorum. Try again. Nothing was changed."
                   % (run.cluster, ", ".join(leading)))
        return
    named = len(run.play) == 1 and len(run.order) > 1
    # A member that runs but did not answer may be part of a quorum this run cannot see (a partition).
    silent = [h for h in run.order if (facts.states.get(h) or {}).get("running") and status_of(h).get("raft_index") is None]
    unknown = [h for h in run.order if facts.probe_of(h) is not None and not facts.reachable(h)]
    if silent or unknown:
        why = (["%s runs etcd but did not answer with its status" % h for h in silent]
               + ["%s cannot be reached to tell whether its etcd runs" % h for h in unknown])
        run.refuse("Cannot recover cluster %s: %s. It may be part of a quorum that this run cannot see. Fix the "
                   "connection, or stop that etcd if the member is lost. Nothing was changed." % (run.cluster, "; ".join(why)))
        return
    if named:
        survivor = run.play[0]
        if not (facts.states.get(survivor) or {}).get("has_data"):
            run.refuse("Cannot recover cluster %s from %s (-l): it holds no member data. Nothing was changed."
                       % (run.cluster, survivor))
            return
        outside_running = [h for h in run.order if h != survivor and (facts.states.get(h) or {}).get("running")]
        if outside_running:
            run.refuse("Cannot recover cluster %s from %s alone: %s, outside this run, runs etcd. Stop it first (or "
                       "recover without -l, which re-adds it). Nothing was changed."
                       % (run.cluster, survivor, names(outside_running)))
            return
    else:
        stopped = [h for h in run.order if h in run.play and (facts.states.get(h) or {}).get("has_data")
                   and not (facts.states.get(h) or {}).get("running")]
        if stopped:
            run.refuse("Cannot recover cluster %s: %s %s member data but %s etcd does not run. Start it: it may bring "
                       "the quorum back, or be the most advanced survivor. Or name the survivor with -l HOST. Nothing "
                       "was changed." % (run.cluster, names(stopped), "holds" if len(stopped) == 1 else "hold",
                                         "its" if len(stopped) == 1 else "their"))
            return
        candidates = [(-int(status_of(h)["raft_index"] or 0), run.order.index(h), h) for h in run.order
                      if h in run.play and (facts.states.get(h) or {}).get("has_data")
                      and status_of(h).get("raft_index") is not None and not status_of(h).get("is_learner")]
        if not candidates:
            run.refuse("Cannot recover cluster %s: no voting member of the run holds data and answers with its raft "
                       "index (%s). Start the surviving member with the most recent data, or name it with -l HOST. "
                       "Nothing was changed." % (run.cluster, facts.read_problem or "read: %d members" % len(facts.members or [])))
            return
        survivor = sorted(candidates)[0][2]
    others = [h for h in run.order if h != survivor and h in run.play]
    stamp = str(run.controller.get("stamp") or "")
    status = status_of(survivor)
    outside = [h for h in run.order if h not in run.play]
    plan["recover"] = dict(
        survivor=survivor, name=hosts[survivor]["name"], raft_index=status.get("raft_index"), others=others,
        outside=outside, resume=False, suffix=SUFFIX + stamp,
        force_config=FORCE_CONFIG, dropin=DROPIN,
        # What the run says once the survivor runs alone and the others are back.
        report="Cluster %s recovered from %s (%s, raft index %s)%s%s." % (
            run.cluster, survivor, hosts[survivor]["name"],
            "unknown" if status.get("raft_index") is None else status["raft_index"],
            "; re-added: %s" % ", ".join(others) if others else "",
            ". Outside this run: wipe %s with -l %s -t etcd_purge, then add them with -l %s -e etcd_init=existing"
            % ((",".join(outside),) * 3) if outside else ""))
    # The first half ends with the survivor alone in its cluster, healthy.
    plan["verify"] = dict(host=survivor, endpoints=[hosts[survivor]["client_url"]], expect=dict(
        members=[dict(name=hosts[survivor]["name"], peer_url=hosts[survivor]["peer_url"])], tolerate_down=[],
        margin=0, versions={}))
    run.warn("Recovering cluster %s from %s (%s, raft index %s)%s." % (
        run.cluster, survivor, hosts[survivor]["name"], status.get("raft_index", "unknown"),
        "; the data of %s is set aside and %s re-added as new members" % (names(others), "it is" if len(others) == 1 else "they are")
        if others else "; %s outside this run: wipe %s with -l %s -t etcd_purge, then add %s with -l %s -e etcd_init=existing"
        % (names(outside), "them" if len(outside) > 1 else "it", ",".join(outside), "them" if len(outside) > 1 else "it",
           ",".join(outside))))
