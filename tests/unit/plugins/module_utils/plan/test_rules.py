# -*- coding: utf-8 -*-
"""module_utils/_plan/rules.py and _membership.py: judging a cluster read, the shared membership rules."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster, quorum, successor
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems, peers_answering
from .conftest import EXPECT3, healthy, member, peer, read


def storage(cluster, *versions):
    """The read with each member's storage version (etcd 3.6 and later report one)."""
    for member_read, version in zip(cluster["members"], versions):
        member_read["status"]["storage_version"] = version
    return cluster


@pytest.mark.parametrize("case,cluster,expect,problem", [
    ("healthy", healthy(3), EXPECT3, None),
    ("member-down", read(member(1, leader=True), member(2), member(3, healthy=False)), EXPECT3, "member etcd-3 on 10.0.0.13 is not healthy"),
    ("down-tolerated", read(member(1, leader=True), member(2), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(3)]), None),
    ("no-margin", read(member(1, leader=True), member(2), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(3)], margin=1), "restarting one would leave fewer than a quorum (2)"),
    ("quorum-lost", read(member(1, leader=True), member(2, healthy=False), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(2), peer(3)]),
     "1 of 3 voting members are healthy (not: etcd-2, etcd-3), fewer than a quorum (2)"),
    ("learner", read(member(1, leader=True), member(2), member(3, learner=True)), EXPECT3, "member etcd-3 is still a learner"),
    ("missing", healthy(2), EXPECT3, "member etcd-3 (%s) is missing from the membership" % peer(3)),
    ("stranger", healthy(3), {"members": EXPECT3["members"][:2]}, "member etcd-3 (%s) is not in the inventory's membership" % peer(3)),
    ("unstarted", read(member(1, leader=True), member(2), member(3, started=False)), EXPECT3, "was added but has not started"),
    ("no-leader", read(member(1), member(2), member(3), leader=False), EXPECT3, "do not agree on one leader"),
    ("alarm", read(member(1, leader=True), member(2), member(3), alarms=[{"member_id": "1001", "alarm": "NOSPACE"}]),
     EXPECT3, "alarm NOSPACE is active on member 1001"),
    ("version", read(member(1, leader=True), member(2), member(3, version="3.4.23")),
     dict(EXPECT3, versions={"etcd-3": "3.5.16"}), "member etcd-3 runs etcd 3.4.23, not 3.5.16"),
    ("version-outside-run", read(member(1, leader=True), member(2), member(3, version="3.4.23")),
     dict(EXPECT3, versions={"etcd-1": "3.5.16"}), None),
    # The last member of a 3.6 upgrade restarted: until etcd moves each member's storage version (recorded from
    # 3.6.17: a member that just joined reported 3.5.0 beside one on 3.6.0), the upgrade is not done.
    ("storage-behind", storage(read(member(1, leader=True), member(2), member(3)), "3.6.0", "3.6.0", "3.5.0"),
     dict(EXPECT3, storage_version="3.6"), "member etcd-3 on 10.0.0.13 has storage version 3.5.0, not 3.6 yet"),
    ("storage-there", storage(read(member(1, leader=True), member(2), member(3)), "3.6.0", "3.6.0", "3.6.0"),
     dict(EXPECT3, storage_version="3.6"), None),
    ("storage-not-reported", healthy(3), dict(EXPECT3, storage_version="3.6"), None),
    # Between the rungs of a ladder and after an upgrade: etcd's /version reports the cluster version ("3.5.0";
    # "not_decided" right after a start), which moves only after the last member.
    ("cluster-version-behind", dict(healthy(3), cluster_version="3.4.0"), dict(EXPECT3, cluster_version="3.5"),
     "the cluster version is 3.4.0, not 3.5 yet"),
    ("cluster-version-undecided", dict(healthy(3), cluster_version="not_decided"), dict(EXPECT3, cluster_version="3.5"),
     "the cluster version is not_decided, not 3.5 yet"),
    ("cluster-version-unread", healthy(3), dict(EXPECT3, cluster_version="3.5"), "the cluster version is not known"),
    ("cluster-version-there", dict(healthy(3), cluster_version="3.5.0"), dict(EXPECT3, cluster_version="3.5"), None),
    ("caught-up", healthy(3), dict(EXPECT3, catch_up={"name": "etcd-2", "index": 100}), None),
    ("behind", healthy(3), dict(EXPECT3, catch_up={"name": "etcd-2", "index": 101}), "etcd-2 has not applied raft index 101 yet"),
    ("read-failed", {"failed": True, "msg": "connection refused"}, EXPECT3, "could not be read: connection refused"),
    # The last answer of a wait whose retries ran out: Ansible marks it failed ("Unknown error" once normalized);
    # what is wrong is what etcd reported (issue 21: an upgrade interrupted after its first restart).
    ("retries-ran-out", dict(read(member(1, version="3.5.30"), member(2, leader=True), member(3)), failed=True,
                             attempts=60, msg="Task failed: Action failed: Unknown error."),
     dict(EXPECT3, versions={"etcd-1": "3.5.30", "etcd-2": "3.5.30", "etcd-3": "3.5.30"}),
     "member etcd-2 runs etcd 3.5.16, not 3.5.30"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_cluster_problems(case, cluster, expect, problem):
    problems = cluster_problems(cluster, expect)
    if problem is None:
        assert problems == []
    else:
        assert [p for p in problems if problem in p], problems
        assert not [p for p in problems if "Unknown error" in p], problems


def test_quorum():
    assert [quorum(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


def test_successor_is_the_healthy_voter_that_applied_the_most():
    members = [member(1, leader=True, applied=100), member(2, applied=98), member(3, applied=99),
               member(4, learner=True, applied=100), member(5, healthy=False)]
    assert successor(members, members[0]["id"])["name"] == "etcd-3"
    tie = [member(1, leader=True), member(3, applied=5), member(2, applied=5)]
    assert successor(tie, tie[0]["id"])["name"] == "etcd-2"
    assert successor([member(1, leader=True)], "1001") is None


def test_initial_cluster_names_unstarted_members_from_the_plan():
    members = [member(1), member(4, learner=True, started=False)]
    assert initial_cluster(members, {peer(4): "etcd-4"}) == "etcd-1=%s,etcd-4=%s" % (peer(1), peer(4))


def test_which_old_members_answered_is_read_from_wait_for_results():
    url = "https://10.0.0.99:2380"
    # wait_for with failed_when: false: a port that opened returns its state, a timeout a msg (and failed false).
    opened = {"item": {"url": url}, "state": "started", "port": 2380, "elapsed": 0, "failed": False, "changed": False}
    closed = {"item": {"url": url + "1"}, "msg": "Timeout when waiting for 10.0.0.99:23801", "elapsed": 3,
              "failed": False, "failed_when_result": False}
    skipped = {"item": {"url": url + "2"}, "skipped": True}
    assert peers_answering([opened, closed, skipped]) == {url: True, url + "1": False}
