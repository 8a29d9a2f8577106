# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/recover.py: -t etcd_recover."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ..conftest import CA, UNREACHABLE, client, healthy, host, inputs, member, peer, probe, read, refused, running


def recover(cluster, probes=None, play=None):
    data = inputs(tags=("etcd_recover",), probes=probes or lost_probes(), cluster=cluster, play=play)
    return pipeline.make_plan(data, {"ca_sha256": CA, "archive_exists": True, "stamp": "20261202T070000Z"})


def lost_probes(*lost):
    """Member 1 runs; the others (or those given) were lost: stopped, their data gone."""
    probes = running(3)
    for i in lost or (2, 3):
        probes[host(i)] = probe(data=False, state="inactive", conf=True)
    return probes


def lost_quorum(raft=(300, 0, 0)):
    return read(member(1, raft=raft[0]), member(2, healthy=False), member(3, healthy=False), leader=False)


def test_a_recovery_is_refused_while_the_quorum_holds():
    plan = recover(healthy(3), probes=running(3))
    assert refused(plan, "Cluster etcd has its quorum (3 of 3 voting members healthy", "Nothing was changed")
    one_down = read(member(1, leader=True), member(2), member(3, healthy=False))
    assert refused(recover(one_down, probes=lost_probes(3)), "has its quorum (2 of 3 voting members healthy")
    # A leader is known, even with one member's health flaky: refused.
    flaky = read(member(1, leader=True), member(2, healthy=False), member(3, healthy=False))
    assert refused(recover(flaky, probes=lost_probes()), "has its quorum (1 of 3 voting members healthy")


def test_a_recovery_killed_after_its_first_half_is_finished_by_the_same_command():
    """Issue 21: the controller died once the survivor ran as a new one-member cluster, before the others
    rejoined. The cluster has its quorum again (one member); the others hold no data (set aside, or lost before).
    The same command re-adds them, and stops or forces nothing again."""
    aside = ["member.before-recover-20261202T065900Z"]
    probes = running(3)
    for i in (2, 3):
        probes[host(i)] = probe(data=False, state="inactive", conf=False, entries=aside)
    plan = recover(read(member(1, leader=True)), probes=probes)
    assert plan["refusals"] == [] and plan["recover"]["resume"]
    assert plan["recover"]["survivor"] == host(1) and plan["recover"]["others"] == [host(2), host(3)]
    assert plan["recover"]["report"] == ("Cluster etcd: the recovery interrupted after its first half is finished; "
                                         "re-added: 10.0.0.12, 10.0.0.13.")
    assert any("hold no data: finishing the recovery" in w for w in plan["warnings"])
    # One of them rejoined before the kill: the other is re-added.
    probes[host(2)] = probe()
    plan = recover(read(member(1, leader=True), member(2)), probes=probes)
    assert plan["refusals"] == [] and plan["recover"]["others"] == [host(3)]
    # Data lost before the recovery: nothing set aside, the same.
    probes[host(3)] = probe(data=False, state="inactive", conf=False, entries=[])
    assert recover(read(member(1, leader=True), member(2)), probes=probes)["recover"]["others"] == [host(3)]
    # A host outside the membership that holds data, or runs: refused (a recovery would throw away what works).
    probes[host(3)] = probe(data=True, state="inactive", conf=False, entries=aside + ["member"])
    assert refused(recover(read(member(1, leader=True), member(2)), probes=probes), "has its quorum (2 of 2")
    probes[host(3)] = probe(data=False, state="active", conf=True)
    assert refused(recover(read(member(1, leader=True), member(2)), probes=probes), "has its quorum (2 of 2")
    # A member of another inventory in the membership: refused.
    probes[host(3)] = probe(data=False, state="inactive", conf=False)
    stranger = member(4)
    assert refused(recover(read(member(1, leader=True), member(2), stranger), probes=probes), "has its quorum")


def test_a_recovery_starts_from_the_member_with_the_highest_raft_index():
    plan = recover(lost_quorum())
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(1)
    assert plan["recover"]["others"] == [host(2), host(3)] and plan["recover"]["suffix"] == "before-recover-20261202T070000Z"
    assert plan["verify"]["expect"]["members"] == [{"name": "etcd-1", "peer_url": peer(1)}]
    assert plan["recover"]["report"] == "Cluster etcd recovered from 10.0.0.11 (etcd-1, raft index %s); re-added: " \
        "10.0.0.12, 10.0.0.13." % plan["recover"]["raft_index"]
    two = read(member(1, raft=300), member(2, raft=310), member(3, healthy=False), leader=False)
    assert recover(two, probes=lost_probes(3))["recover"]["survivor"] == host(2)


def test_a_recovery_from_the_host_named_in_l():
    probes = running(3, state="inactive")
    plan = recover(None, probes=probes, play=[host(3)])
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(3) and plan["recover"]["others"] == []
    assert plan["recover"]["outside"] == [host(1), host(2)]
    assert any("wipe them with -l 10.0.0.11,10.0.0.12 -t etcd_purge" in w for w in plan["warnings"])
    assert plan["recover"]["report"] == (
        "Cluster etcd recovered from 10.0.0.13 (etcd-3, raft index unknown). Outside this run: wipe 10.0.0.11,10.0.0.12 "
        "with -l 10.0.0.11,10.0.0.12 -t etcd_purge, then add them with -l 10.0.0.11,10.0.0.12 -e etcd_init=existing.")
    # A member outside the run still runs etcd: it may hold the quorum; refused.
    probes[host(1)] = probe()
    alone = {"failed": True, "msg": "context deadline exceeded",
             "statuses": {client(1): {"member_id": "1001", "leader": "0", "raft_index": 300}}}
    assert refused(recover(alone, probes=probes, play=[host(3)]), "10.0.0.11, outside this run, runs etcd")


@pytest.mark.parametrize("case,expected", [
    ("nothing-answers", "10.0.0.11 holds member data but its etcd does not run"),
    ("unreachable", "10.0.0.13 cannot be reached to tell whether its etcd runs"),
    ("silent", "10.0.0.12 runs etcd but did not answer with its status"),
    ("stopped-with-data", "10.0.0.13 holds member data but its etcd does not run"),
])
def test_a_recovery_is_refused_when_the_run_cannot_see_that_the_quorum_is_lost(case, expected):
    probes, cluster = lost_probes(), lost_quorum()
    if case == "nothing-answers":
        probes, cluster = lost_probes(), None
        probes[host(1)] = probe(state="inactive")
    elif case == "unreachable":
        probes[host(3)] = UNREACHABLE
    elif case == "silent":
        # Member 2 runs (a partition: it may have a quorum with member 3) but did not answer from member 1.
        probes[host(2)] = probe()
    elif case == "stopped-with-data":
        probes[host(3)] = probe(state="inactive")
    plan = recover(cluster, probes=probes)
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_after_the_first_half_of_a_recovery_the_others_are_joiners():
    probes = running(3)
    for i in (2, 3):
        probes[host(i)] = probe(data=False, state="inactive", conf=False)
    data = inputs(tags=("etcd_recover",), probes=probes, params={"etcd_init": "existing"},
                  cluster=read(member(1, leader=True)))
    data["recovered"] = True
    plan = pipeline.make_plan(data, {"ca_sha256": CA, "archive_exists": True})
    assert plan["refusals"] == [] and plan["operation"] is None
    assert [j["host"] for j in plan["joiners"]] == [host(2), host(3)]
    assert "permit" in plan["hosts"][host(2)]["conf_groups"] and plan["hosts"][host(2)]["initial_cluster_state"] == "existing"


def test_a_recovery_reads_each_members_own_status_when_etcdctl_cannot_list_the_members():
    # etcdctl 3.5 asks for a linearizable member list, which a member without a quorum cannot serve.
    failed = {"failed": True, "msg": "etcdctl member list failed (rc=1): context deadline exceeded",
              "statuses": {client(1): {"member_id": "1001", "leader": "0", "raft_index": 300, "version": "3.5.16"},
                           client(2): {"member_id": "1002", "leader": "0", "raft_index": 320, "version": "3.5.16"}}}
    probes = lost_probes(3)
    plan = recover(failed, probes=probes)
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(2) and plan["recover"]["raft_index"] == 320
    failed["statuses"][client(1)]["leader"] = "1002"
    assert refused(recover(failed, probes=probes), "a member knows a leader (1002)")
