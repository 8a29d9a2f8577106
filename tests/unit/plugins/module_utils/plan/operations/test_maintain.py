# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/maintain.py: -t etcd_maintain."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ..conftest import CA, client, healthy, inputs, member, read, refused, running


def maintain(cluster, compacted=False, params=None, probes=None):
    data = inputs(tags=("etcd_maintain",), probes=probes or running(3), cluster=cluster, params=params)
    data["compacted"] = compacted
    return pipeline.make_plan(data, {"ca_sha256": CA, "archive_exists": True})


def sized(read_, sizes):
    for member, (size, in_use) in zip(read_["members"], sizes):
        member["status"].update(db_size=size, db_size_in_use=in_use)
    return read_


def test_maintenance_compacts_first_then_defragments_followers_first_the_leader_last():
    mib = 1024 * 1024
    cluster = sized(healthy(3, leader=1), [(200 * mib, 50 * mib), (200 * mib, 50 * mib), (200 * mib, 190 * mib)])
    first = maintain(cluster)
    assert first["refusals"] == [] and first["maintain"]["keep"] == 1000 and first["maintain"]["defrag"] == []
    plan = maintain(cluster, compacted=True)
    assert [d["name"] for d in plan["maintain"]["defrag"]] == ["etcd-2", "etcd-1"]
    leader = plan["maintain"]["defrag"][-1]
    assert leader["leader"] and leader["move_to"] == "etcd-2" and plan["maintain"]["defrag"][0]["move_to"] is None
    assert plan["maintain"]["defrag"][0]["endpoint"] == client(2)


def test_with_nospace_every_member_is_defragmented_and_everything_compacted():
    cluster = healthy(3, leader=2)
    cluster["alarms"] = [{"member_id": "1001", "alarm": "NOSPACE"}]
    for m in cluster["members"]:
        m["healthy"], m["health_error"] = False, "Active Alarm(s): NOSPACE "
    plan = maintain(cluster, compacted=True)
    assert plan["refusals"] == [] and plan["maintain"]["nospace"] and plan["maintain"]["keep"] == 0
    assert [d["name"] for d in plan["maintain"]["defrag"]] == ["etcd-1", "etcd-3", "etcd-2"]


@pytest.mark.parametrize("case,expected", [
    ("member-down", "member etcd-3 on 10.0.0.13 is not healthy"),
    ("corrupt", "alarm CORRUPT on member 1001 is active: not a matter for maintenance"),
    ("no-leader", "do not agree on one leader"),
])
def test_maintenance_is_refused_for_an_unhealthy_cluster(case, expected):
    cluster = healthy(3)
    if case == "member-down":
        cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    elif case == "corrupt":
        cluster["alarms"] = [{"member_id": "1001", "alarm": "CORRUPT"}]
    elif case == "no-leader":
        cluster = read(member(1), member(2), member(3), leader=False)
    assert refused(maintain(cluster), expected, "Nothing was changed")
