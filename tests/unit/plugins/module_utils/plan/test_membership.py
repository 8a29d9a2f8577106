# -*- coding: utf-8 -*-
"""module_utils/_plan/membership.py: scale-out (joins, resumed joins, strangers) and removals."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from .conftest import (
    CA,
    HOSTS,
    UNREACHABLE,
    client,
    fresh,
    healthy,
    host,
    inputs,
    make,
    member,
    peer,
    probe,
    read,
    refused,
    running,
)


def installed_not_started():
    """A bootstrapping member: config and permit written, never started."""
    return probe(data=False, state="inactive", conf=True, permit=True)


def test_scale_out_one_to_three_needs_the_cluster_read_first():
    probes = {host(1): probe(), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes)
    assert plan["step"] == "probed" and plan["read"]["host"] == host(1) and plan["read"]["endpoints"] == [client(1)]


def test_scale_out_one_to_three():
    probes = {host(1): probe(), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes, cluster=healthy(1))
    assert plan["refusals"] == []
    joiners = plan["joiners"]
    assert [j["host"] for j in joiners] == HOSTS[1:3]
    assert joiners[0]["initial_cluster"] == "etcd-1=%s,etcd-2=%s" % (peer(1), peer(2))
    assert joiners[1]["initial_cluster"] == "etcd-1=%s,etcd-2=%s,etcd-3=%s" % (peer(1), peer(2), peer(3))
    assert joiners[1]["membership_peer_urls"] == sorted([peer(1), peer(2), peer(3)])
    assert plan["voter_endpoints"] == [client(1)]
    two, three = plan["hosts"][host(2)], plan["hosts"][host(3)]
    assert two["initial_cluster_state"] == "existing" and two["initial_cluster"] == joiners[0]["initial_cluster"]
    assert not two["start"] and two["joining"] and not plan["hosts"][host(1)]["restart_reasons"]
    # The profile lists the voters while the new members join; the settled membership afterwards.
    assert two["client_endpoints"] == client(1)
    assert plan["settled"]["client_endpoints"] == ",".join([client(1), client(2), client(3)])
    assert plan["refresh"]["run_hosts"] == HOSTS[1:3] and plan["refresh"]["others"] == [host(1)]
    assert plan["expected_hosts"] == HOSTS[:3]


def test_scale_out_three_to_five():
    probes = dict(running(3), **{host(4): fresh(), host(5): fresh()})
    plan = make(n=5, play=HOSTS[3:5], params={"etcd_init": "existing"}, probes=probes, cluster=healthy(3))
    assert plan["refusals"] == [] and [j["name"] for j in plan["joiners"]] == ["etcd-4", "etcd-5"]
    assert plan["joiners"][0]["initial_cluster"].count("=") == 4 and plan["joiners"][1]["initial_cluster"].count("=") == 5


def test_resumed_join_after_the_learner_was_added():
    probes = dict(running(3), **{host(4): installed_not_started()})
    cluster = read(member(1, leader=True), member(2), member(3), member(4, learner=True, started=False))
    plan = make(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes, cluster=cluster)
    assert plan["refusals"] == []
    (joiner,) = plan["joiners"]
    # Added once only: the unstarted learner has no name in etcd, the plan's name is used.
    assert joiner["initial_cluster"].count(peer(4)) == 1 and "etcd-4=%s" % peer(4) in joiner["initial_cluster"]
    assert not joiner["started"]


def test_resumed_join_after_the_learner_started():
    probes = dict(running(3), **{host(4): probe()})
    cluster = read(member(1, leader=True), member(2), member(3), member(4, learner=True))
    plan = make(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes, cluster=cluster)
    (joiner,) = plan["joiners"]
    assert joiner["started"] and plan["hosts"][host(4)]["initial_cluster_state"] == "new"


@pytest.mark.parametrize("cluster,expected", [
    (read(member(1, leader=True), member(2, healthy=False), member(3)), "voting member etcd-2 is not healthy"),
    (healthy(3) | {"leader": None}, "no leader"),
    (read(member(1, leader=True), member(2), member(3), member(5, learner=True)),
     "are learners outside this run; etcd allows one learner at a time"),
    ({"failed": True, "msg": "context deadline exceeded"}, "context deadline exceeded"),
], ids=["unhealthy-voter", "no-leader", "foreign-learner", "read-failed"])
def test_scale_out_refusals(cluster, expected):
    probes = dict(running(3), **{host(4): fresh()})
    plan = make(n=5, play=[host(4)], params={"etcd_init": "existing"}, probes=dict(probes, **{host(5): fresh()}),
                cluster=cluster)
    assert refused(plan, expected), plan["refusals"]
    # The message names the member, not a placeholder (the Jinja version printed a literal \1).
    assert "\\1" not in " ".join(plan["refusals"])


def test_scale_out_with_nothing_running():
    probes = {host(1): probe(state="inactive"), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes)
    assert refused(plan, "etcd_init=existing adds members to a running cluster, but no member of etcd is running")


def test_a_host_that_would_start_a_second_cluster_is_refused():
    probes = dict(running(3), **{host(4): fresh()})
    plan = make(n=4, probes=probes, cluster=healthy(3))
    assert refused(plan, "10.0.0.14 would start without data but is not a member",
                   "./etcd.yml -l 10.0.0.14 -e etcd_init=existing")
    # Without a readable cluster: refused all the same, since the others hold its data.
    plan = make(n=4, probes=probes, cluster={"failed": True, "msg": "no quorum"})
    assert refused(plan, "10.0.0.14 would start without data")


def test_an_interrupted_bootstrap_is_not_a_stranger():
    probes = {host(1): probe(), host(2): probe(), host(3): installed_not_started()}
    cluster = read(member(1, leader=True), member(2), member(3, started=False))
    plan = make(probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["hosts"][host(3)]["start"] and "permit" in plan["hosts"][host(3)]["conf_groups"]


def test_partial_removal():
    probes = running(5)
    plan = make(n=5, play=HOSTS[3:5], tags=["etcd_clean"], probes=probes, cluster=healthy(5))
    assert plan["refusals"] == [] and plan["removal"]["partial"] and plan["removal"]["hosts"] == HOSTS[3:5]
    assert [r["name"] for r in plan["removal"]["members"]] == ["etcd-4", "etcd-5"]
    assert plan["removal"]["via"]["host"] == host(1)
    assert plan["removal"]["via"]["endpoints"] == [client(1), client(2), client(3)]
    assert plan["hosts"][host(4)]["wipe"] and plan["hosts"][host(4)]["stop"] and not plan["hosts"][host(1)]["wipe"]
    assert plan["refresh"]["others"] == HOSTS[:3] and plan["settled"]["client_endpoints"].count("https") == 3
    assert plan["expected_hosts"] == HOSTS[:3]


def test_whole_cluster_removal_needs_no_read():
    plan = make(tags=["etcd_clean"], probes=running(3))
    assert plan["refusals"] == [] and not plan["removal"]["partial"] and plan["removal"]["members"] == []
    assert plan["read"] is None and all(plan["hosts"][h]["wipe"] for h in HOSTS[:3])


@pytest.mark.parametrize("case,probes,cluster,expected", [
    ("two-of-three", running(3), healthy(3), "1 of its 3 voting members would stay, fewer than a quorum (2)"),
    # The defect: with the member that stays stopped, the removal was taken for a whole-cluster removal and
    # both running members were wiped.
    ("stay-stopped", dict(running(2), **{host(3): probe(state="inactive")}),
     read(member(1, leader=True), member(2), member(3, healthy=False)), "voting member etcd-3 is not healthy"),
    ("stay-unreachable", dict(running(2), **{host(3): UNREACHABLE}),
     read(member(1, leader=True), member(2), member(3, healthy=False)), "voting member etcd-3 is not healthy"),
    ("stay-stopped-unreadable", dict(running(2, state="inactive"), **{host(3): probe(state="inactive")}), None,
     "the members that stay (10.0.0.13) hold or may hold etcd data, but the cluster could not be read"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_a_removal_that_would_cost_the_quorum_is_refused(case, probes, cluster, expected):
    plan = make(play=HOSTS[:2], tags=["etcd_clean"], probes=probes, cluster=cluster)
    assert plan["removal"]["partial"], "a removal that leaves members behind is a partial removal"
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_a_dead_member_is_removed_by_peer_url_through_the_others():
    probes = dict(running(2), **{host(3): UNREACHABLE})
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=[host(3)], tags=["etcd_purge"], probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["removal"]["hosts"] == [host(3)]
    assert plan["removal"]["members"] == [{"host": host(3), "name": "etcd-3", "id": "1003", "peer_urls": [peer(3)]}]
    assert plan["removal"]["via"]["host"] == host(1) and client(3) not in plan["removal"]["via"]["endpoints"]
    three = plan["hosts"][host(3)]
    assert not three["stop"] and not three["wipe"] and "removed from the membership only" in " ".join(plan["warnings"])
    # With the safeguard on, an unreachable host cannot be judged: only etcd_purge removes it.
    guarded = make(play=[host(3)], tags=["etcd_clean"], probes=probes, cluster=cluster,
                   host_params={host(3): {"etcd_safeguard": True}})
    assert refused(guarded, "etcd_safeguard is true for 10.0.0.13, which cannot be reached")


def test_a_dead_member_with_a_dns_name_is_removed_by_name():
    # Its address came from its probe, which cannot run: etcd's membership is matched by the member's name.
    inp = inputs(play=["etcd-c.example"], tags=["etcd_purge"])
    group = [host(1), host(2), "etcd-c.example"]
    inp["groups"]["etcd"] = group
    inp["host_params"] = {host(1): {"etcd_seq": 1}, host(2): {"etcd_seq": 2}, "etcd-c.example": {"etcd_seq": 3}}
    inp["host_facts"]["etcd-c.example"] = {"inventory_dir": "/srv"}
    inp["probes"] = {host(1): probe(), host(2): probe(), "etcd-c.example": UNREACHABLE}
    inp["cluster_read"] = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    assert plan["refusals"] == [], plan["refusals"]
    assert [r["name"] for r in plan["removal"]["members"]] == ["etcd-3"] and plan["removal"]["members"][0]["peer_urls"] == [peer(3)]


def test_replacing_a_dead_member_after_its_removal():
    # The dead member was purged and left the inventory; a new host joins in its place.
    probes = {host(1): probe(), host(2): probe(), host(4): fresh()}
    inp = inputs(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes,
                 cluster=read(member(1, leader=True), member(2)))
    group = [host(1), host(2), host(4)]
    inp["groups"]["etcd"] = group
    inp["host_params"] = {host(1): {"etcd_seq": 1}, host(2): {"etcd_seq": 2}, host(4): {"etcd_seq": 4}}
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    assert plan["refusals"] == [] and [j["host"] for j in plan["joiners"]] == [host(4)]
    assert plan["joiners"][0]["initial_cluster"] == "etcd-1=%s,etcd-2=%s,etcd-4=%s" % (peer(1), peer(2), peer(4))


def test_rebuild_then_plan_a_new_cluster():
    plan = make(params={"etcd_clean": True}, probes=running(3))
    assert plan["removal"]["rebuild"] and plan["removal"]["active"] and all(plan["hosts"][h]["wipe"] for h in HOSTS[:3])
    after = make(params={"etcd_clean": True}, probes=dict((host(i), fresh()) for i in (1, 2, 3)), rebuilt=True,
                 controller={"ca_sha256": None})
    assert not after["removal"]["active"] and all(after["hosts"][h]["start"] for h in HOSTS[:3])
