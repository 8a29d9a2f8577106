# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the rules about a cluster as etcd reported it, shared by the plan and
the role's filters: whether a read meets what a run expects (membership, health, quorum, versions, alarms),
which inventory host a member is, who leads, the order of restarts (the leader last), which peers answered,
whether a member takes a client certificate as a user. Pure functions over plain data."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible_collections.dcs.etcd.plugins.module_utils._membership import leader_last, quorum

# etcd's answer to a request without a user while RBAC is on: a client certificate is no user unless the
# member runs with client-cert-auth.
USER_NAME_EMPTY = "user name is empty"


def certificate_is_user(config):
    """Whether a member's config (etcd_host_info's parsed settings) makes the CN of a client certificate the user
    (client-cert-auth on the client port), as this role's config does. A config whose client TLS section was
    not read (none yet) counts as one."""
    section = [k for k in config or {} if k.startswith("client-transport-security.")]
    if not section:
        return True
    return str(config.get("client-transport-security.client-cert-auth", "")).lower() == "true"


def peers_answering(results):
    """Which peer URLs answered, from the results of the restore's loop of ansible.builtin.wait_for over them
    (registered with failed_when: false, so `failed` says nothing): a port that opened returns its `state`; a
    timeout returns a `msg` and no state. {url: answered}."""
    answered = {}
    for item in results or []:
        if isinstance(item, dict) and isinstance(item.get("item"), dict) and not item.get("skipped"):
            answered[item["item"].get("url")] = bool(item.get("state")) and not item.get("msg")
    return answered


def _expected_match(member, expected):
    urls = set(member.get("peer_urls") or [])
    for exp in expected:
        if exp.get("peer_url") and exp["peer_url"] in urls:
            return exp
        if not exp.get("peer_url") and exp.get("name") and exp["name"] == member.get("name"):
            return exp
    return None


def healthy_but_for_alarms(member, tolerated_alarms):
    """etcd 3.5 says a member is unhealthy while an alarm is active: not a problem when the alarm is tolerated."""
    error = str(member.get("health_error") or "")
    named = [a for a in error.replace("Active Alarm(s):", "").split() if a]
    return bool(tolerated_alarms) and error.startswith("Active Alarm(s):") and set(named) <= set(tolerated_alarms)


def healthy_voters(voters, tolerated_alarms=()):
    """The voting members that started, answered with their status and are healthy, or unhealthy only because of
    a tolerated alarm: those that count towards the quorum."""
    return [m for m in voters if m.get("started") and m.get("status")
            and (m.get("healthy") or healthy_but_for_alarms(m, tolerated_alarms))]


def cluster_problems(read, expect):
    """Why the cluster as read does not meet `expect`, one sentence each (empty: it does).

    expect: storage_version (X.Y: every member that reports a storage version, etcd 3.6 and later, has that
    minor), members (list of {name, peer_url}: the membership must be exactly these, none a learner; omitted:
    not checked), tolerate_down (peer URLs or names of members the run knows to be down: reported by the plan,
    not a problem here as long as a quorum stays), margin (how many more voting members may go down with a
    quorum still healthy: 1 before a restart), versions ({member name: the etcd version it must run}),
    catch_up ({name, index}: that member has applied at least that raft index), tolerate_alarms (alarm names
    that are not a problem: NOSPACE while maintenance recovers from it), no_downgrade (no member takes part in a
    downgrade of etcd), cluster_version (X.Y: the read's cluster_version, etcd_cluster_info's cluster_version
    option, is that minor)."""
    expect = expect or {}
    # A read that holds the membership is judged on it, even marked failed: Ansible marks the last answer of an
    # until loop whose retries ran out (shared/wait_healthy.yml) failed, with no message of its own ("Unknown
    # error"), though it is still the cluster as etcd reported it.
    if not read or "members" not in read:
        return ["the cluster could not be read: %s" % ((read or {}).get("msg") or "no answer")]
    members = read.get("members") or []
    tolerated = set(expect.get("tolerate_down") or [])
    problems = []
    expected = expect.get("members")
    if expected is not None:
        seen = []
        for member in members:
            match = _expected_match(member, expected)
            if match is None:
                problems.append("member %s (%s) is not in the inventory's membership"
                                % (member.get("name") or member["id"], ", ".join(member.get("peer_urls") or [])))
            else:
                seen.append(id(match))
            if member.get("is_learner"):
                problems.append("member %s is still a learner" % (member.get("name") or member["id"]))
        for exp in expected:
            if id(exp) not in seen:
                problems.append("member %s (%s) is missing from the membership" % (exp.get("name"), exp.get("peer_url") or "?"))

    def down_tolerated(member):
        return bool(tolerated & (set(member.get("peer_urls") or []) | set([member.get("name")])))

    tolerated_alarms = set(expect.get("tolerate_alarms") or [])

    for member in members:
        label = member_label(member)
        if not member.get("started"):
            problem = "member %s (%s) was added but has not started" % (member["id"], ", ".join(member.get("peer_urls") or []))
        elif not member.get("status"):
            problem = "member %s is not healthy: it did not answer a status request" % label
        elif not member.get("healthy") and not healthy_but_for_alarms(member, tolerated_alarms):
            problem = "member %s is not healthy" % label
        else:
            continue
        if not down_tolerated(member):
            problems.append(problem)
    if not read.get("leader"):
        problems.append("the members do not agree on one leader")
    for alarm in read.get("alarms") or []:
        if alarm.get("alarm") not in tolerated_alarms:
            problems.append("alarm %s is active on member %s" % (alarm.get("alarm"), alarm.get("member_id")))
    voters = [m for m in members if not m.get("is_learner")]
    healthy = healthy_voters(voters, tolerated_alarms)
    margin = int(expect.get("margin") or 0)
    if voters and len(healthy) - margin < quorum(len(voters)):
        down = ", ".join(m.get("name") or m["id"] for m in voters if m not in healthy)
        if margin:
            problems.append("%d of %d voting members are healthy (not: %s): restarting one would leave fewer than a "
                            "quorum (%d)" % (len(healthy), len(voters), down or "none", quorum(len(voters))))
        else:
            problems.append("%d of %d voting members are healthy (not: %s), fewer than a quorum (%d)"
                            % (len(healthy), len(voters), down or "none", quorum(len(voters))))
    versions = expect.get("versions") or {}
    for member in members:
        running = (member.get("status") or {}).get("version")
        wanted = versions.get(member.get("name"))
        if wanted and running and running != wanted:
            problems.append("member %s runs etcd %s, not %s" % (member["name"], running, wanted))
    # After the last member of a cluster on 3.6 or later, etcd moves the cluster version, then each member's
    # storage version, to the new minor: until then the upgrade is not done (and a downgrade could not start).
    storage = expect.get("storage_version")
    if storage:
        for member in members:
            have = (member.get("status") or {}).get("storage_version")
            if have is not None and not str(have).startswith(storage + "."):
                problems.append("member %s has storage version %s, not %s yet" % (member_label(member), have, storage))
    # A run that leaves every member on one release of 3.6 or later is done only once no downgrade runs: etcd ends
    # one by itself a moment after the last member runs the lower release; one that stays was left by an
    # interrupted rollback whose target this run no longer has.
    if expect.get("no_downgrade"):
        for member in members:
            target = ((member.get("status") or {}).get("downgrade") or {}).get("target")
            if target:
                problems.append("member %s still takes part in etcd's downgrade to %s: finish it by running with that "
                                "release, or cancel it (etcdctl downgrade cancel) and run again"
                                % (member_label(member), target))
    # etcd moves the cluster version after the last member of a rolling upgrade (or back, by its downgrade): a
    # member of the next minor release cannot join before (shared/upgrade_rung.yml waits for it between rungs).
    cluster = expect.get("cluster_version")
    if cluster:
        have = read.get("cluster_version")
        if not str(have or "").startswith(cluster + "."):
            problems.append("the cluster version is %s, not %s yet" % (have or "not known", cluster))
    catch_up = expect.get("catch_up")
    if catch_up:
        member = next((m for m in members if m.get("name") == catch_up["name"]), None)
        applied = int(((member or {}).get("status") or {}).get("raft_applied_index") or -1)
        if applied < int(catch_up["index"]):
            problems.append("member %s has not applied raft index %s yet (applied: %s)"
                            % (catch_up["name"], catch_up["index"], applied if applied >= 0 else "unknown"))
    return problems


def member_label(member):
    """A member as a problem names it: its name and the host of its peer URL (the host the operator brings
    back)."""
    name = member.get("name") or member["id"]
    host = next(filter(None, (urlsplit(u).hostname for u in member.get("peer_urls") or [])), None)
    return "%s on %s" % (name, host) if host else name


def leader_host(plan, read):
    """The inventory host of the leader the read names, or None."""
    leader = next((m for m in (read or {}).get("members") or [] if m.get("leader")), None)
    if leader is None:
        return None
    return plan_host_of(plan, leader)


def plan_host_of(plan, member):
    """The inventory host of a member of the read: by peer URL, or by name for a host without one."""
    urls = set(member.get("peer_urls") or [])
    for host, info in plan["hosts"].items():
        if info.get("peer_url") and info["peer_url"] in urls:
            return host
    for host, info in plan["hosts"].items():
        if member.get("name") and info["name"] == member.get("name") and not info.get("peer_url"):
            return host
    return None


def restart_order(hosts, plan, read=None):
    """The members to restart, followers first (in the plan's order), the leader last."""
    order = [h for h in plan["order"] if h in hosts] + [h for h in hosts if h not in plan["order"]]
    return leader_last(order, leader_host(plan, read) if read else plan["restart"].get("leader_host"))


# --------------------------------------------------------------------------------------------------------


def expect_every_member(hosts, order):
    """What a restored or recovered cluster must be: every inventory host a healthy member, one leader."""
    members = [dict(name=hosts[h]["name"], peer_url=hosts[h]["peer_url"] or None) for h in order]
    return dict(members=members, tolerate_down=[], margin=0, versions={})
