# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: changes of the membership. Which members leave (-l HOSTS -t etcd_clean)
and through which member, refused when the members that stay would lose their quorum or health; which hosts
join (-e etcd_init=existing) as learners, one at a time, with the initial cluster each starts with, resumed
where an earlier run stopped; and hosts that would start a second cluster next to a running one."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster, quorum
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import names


def plan_removals(run, facts, plan, partial):
    """The members that leave, matched by peer URL (or name), removed through a member that stays."""
    hosts = facts.hosts
    removed, settled, voters = run.removed, run.settled, facts.voters
    if run.rebuild or not partial:
        return
    # The members that leave, as etcd knows them (matched by peer URL, or by name for a host whose
    # address is unknown: a DNS-named host that cannot be reached).
    removed_ids = set(facts.in_membership[h]["id"] for h in removed if facts.in_membership.get(h))

    def leaving(member):
        return member["id"] in removed_ids

    if not facts.read_ok:
        staying = [h for h in settled if facts.states.get(h) and (facts.states[h]["has_data"] or facts.states[h]["running"])]
        run.refuse("Refusing to remove %s from cluster %s: the members that stay (%s) hold or may hold etcd data, but the "
                   "cluster could not be read (%s), so its quorum cannot be judged. Start the members that stay, "
                   "or remove the whole cluster (without -l). Nothing was changed."
                   % (names(removed), run.cluster, names(staying) or names(settled),
                      facts.read_problem or "no member of the cluster is running"))
        return
    staying_voters = [m for m in voters if not leaving(m)]
    problems = facts.voter_problems(staying_voters)
    if problems:
        run.refuse("Refusing to remove %s from cluster %s: the members that stay are not healthy (%s). Nothing "
                   "was changed." % (names(removed), run.cluster, "; ".join(problems)))
    if len(staying_voters) < quorum(len(voters)):
        run.refuse("Refusing to remove %s from cluster %s: %d of its %d voting members would stay, fewer than a "
                   "quorum (%d). Remove fewer members at a time. Nothing was changed."
                   % (names(removed), run.cluster, len(staying_voters), len(voters), quorum(len(voters))))
    for host in removed:
        member = facts.in_membership.get(host)
        if member:
            plan["removal"]["members"].append(dict(host=host, name=hosts[host]["name"], id=member["id"],
                                                   peer_urls=list(member.get("peer_urls") or [])))
    via = [h for h in settled if facts.states.get(h) and facts.states[h]["running"] and facts.states[h]["has_data"]]
    endpoints = [(m.get("client_urls") or [None])[0] for m in staying_voters if m.get("started")]
    plan["removal"]["via"] = dict(host=via[0] if via else (facts.read or {}).get("host"),
                                  endpoints=[e for e in endpoints if e])


def plan_joins(run, facts, plan, joining_run):
    """The hosts of the run that join as learners, each with the membership it starts with."""
    hosts = facts.hosts
    running, members, voters = facts.running, facts.members, facts.voters
    plan["joiners"] = []
    plan["voter_endpoints"] = [(m.get("client_urls") or [None])[0] for m in voters if m.get("started")]
    plan["voter_endpoints"] = [e for e in plan["voter_endpoints"] if e]
    if not joining_run:
        return []
    if not running:
        run.refuse("etcd_init=existing adds members to a running cluster, but no member of %s is running (probed: "
                   "%s). To create the cluster, use etcd_init=new without -l." % (run.cluster, names(run.order)))
        return []
    if not facts.read_ok:
        run.refuse("Cannot add members to cluster %s: %s. Nothing was changed." % (run.cluster, facts.read_problem))
        return []
    voter_urls = set(u for m in voters for u in m.get("peer_urls") or [])
    joiners = [h for h in run.order if h in run.play and hosts[h]["peer_url"] not in voter_urls]
    if not joiners:
        return []
    unreachable = [h for h in joiners if not facts.reachable(h)]
    if unreachable:
        run.refuse("Cannot add %s to cluster %s: unreachable. Nothing was changed." % (names(unreachable), run.cluster))
    problems = facts.voter_problems(voters)
    if problems:
        run.refuse("Refusing to add %s to cluster %s: it is not healthy (%s). Nothing was changed."
                   % (names(joiners), run.cluster, "; ".join(problems)))
    joiner_urls = set(hosts[h]["peer_url"] for h in joiners)
    foreign = [m for m in members if m.get("is_learner") and not set(m.get("peer_urls") or []) & joiner_urls]
    if foreign:
        run.refuse("Member(s) %s of cluster %s are learners outside this run; etcd allows one learner at a time. "
                   "Promote or remove them first (or include their hosts in -l). Nothing was changed."
                   % (", ".join("%s (%s)" % (m.get("name") or m["id"], ", ".join(m.get("peer_urls") or []))
                                for m in foreign), run.cluster))
    names_by_url = dict((hosts[h]["peer_url"], hosts[h]["name"]) for h in run.order if hosts[h]["peer_url"])
    member_urls = set(u for m in members for u in m.get("peer_urls") or [])
    pending = list(members)
    for host in joiners:
        info = hosts[host]
        if info["peer_url"] not in member_urls:
            pending.append(dict(id="", name=info["name"], peer_urls=[info["peer_url"]]))
        cluster = initial_cluster(pending, names_by_url)
        plan["joiners"].append(dict(
            host=host, name=info["name"], peer_url=info["peer_url"], initial_cluster=cluster,
            membership_peer_urls=sorted(u for m in pending for u in m["peer_urls"]),
            started=bool(facts.states[host] and facts.states[host]["has_data"])))
    return joiners


def refuse_strangers(run, facts):
    """A host that would start without data next to a running cluster whose member it is not."""
    hosts = facts.hosts
    members, with_data = facts.members, facts.with_data
    member_urls = set(u for m in members for u in m.get("peer_urls") or [])
    strangers = []
    for host in run.order:
        state = facts.states.get(host)
        if host not in run.play or not state or state["has_data"] or state["running"]:
            continue
        if hosts[host]["peer_url"] in member_urls:
            continue
        if facts.read_ok and members:
            strangers.append(host)
        elif with_data and not state["conf_exists"]:
            # Never configured for this cluster, while other members hold its data.
            strangers.append(host)
    if strangers:
        run.refuse("Cluster %s is running and %s would start without data but %s not a member. To add members, "
                   "run ./etcd.yml -l %s -e etcd_init=existing. Nothing was changed."
                   % (run.cluster, names(strangers), "is" if len(strangers) == 1 else "are", ",".join(strangers)))
