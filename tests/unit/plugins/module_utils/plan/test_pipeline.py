# -*- coding: utf-8 -*-
"""module_utils/_plan/pipeline.py: whole plans of fresh and converged clusters."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from .conftest import HOSTS, UNREACHABLE, client, fresh, healthy, host, make, peer, running


@pytest.mark.parametrize("n", [1, 3, 5])
def test_fresh_cluster(n):
    probes = dict((host(i), fresh()) for i in range(1, n + 1))
    plan = make(n=n, probes=probes, controller={"ca_sha256": None})
    assert plan["refusals"] == [] and plan["step"] == "final" and plan["read"] is None
    cluster = ",".join("etcd-%d=%s" % (i, peer(i)) for i in range(1, n + 1))
    for i in range(1, n + 1):
        me = plan["hosts"][host(i)]
        assert me["name"] == "etcd-%d" % i and me["peer_url"] == peer(i) and me["client_url"] == client(i)
        assert me["initial_cluster"] == cluster and me["initial_cluster_state"] == "new"
        assert me["start"] and me["start_no_block"] and "permit" in me["conf_groups"] and me["install"] and me["binaries"]
        assert me["restart_reasons"] == []
    assert plan["joiners"] == [] and plan["expected_hosts"] == HOSTS[:n]
    assert plan["verify"]["host"] == host(1) and plan["verify"]["expect"]["tolerate_down"] == []
    assert plan["settled"]["client_endpoints"] == ",".join(client(i) for i in range(1, n + 1))


def test_the_plan_uses_no_key_ansible_reserves_in_a_task_result():
    # A plan with an "unreachable" (or "failed", "skipped") key would make Ansible take the plan task's host
    # for unreachable (or failed, skipped).
    plan = make(probes=dict(running(2), **{host(3): UNREACHABLE}), cluster=healthy(3))
    assert not set(plan) & {"unreachable", "failed", "skipped", "changed", "results", "msg", "rc"}


def test_a_converged_cluster_plans_nothing():
    plan = make(probes=running(3))
    assert plan["refusals"] == [] and plan["step"] == "final" and plan["read"] is None
    for me in plan["hosts"].values():
        assert not (me["start"] or me["install"] or me["restart_reasons"] or "permit" in me["conf_groups"] or me["remove"])
