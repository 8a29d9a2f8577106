# -*- coding: utf-8 -*-
"""module_utils/_plan/convergence.py: restarts, followers first, the leader last; what each member holds."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re

import yaml

from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import restart_order
from .conftest import HOSTS, ROLE, fresh, healthy, host, make, member, probe, read, refused, running


def test_restart_on_request_followers_first_leader_last_and_its_successor():
    cluster = read(member(1, applied=90), member(2, leader=True, applied=100), member(3, applied=99))
    plan = make(tags=["etcd_launch"], probes=running(3), cluster=cluster)
    assert all(plan["hosts"][h]["restart_reasons"] == ["restart requested (-t etcd_launch)"] for h in HOSTS[:3])
    assert plan["restart"]["order"] == [host(1), host(3), host(2)] and plan["restart"]["leader_host"] == host(2)
    assert plan["restart"]["successor"] == "etcd-3"
    # The same rule orders the queue at restart time, with the leader of a fresh read.
    fresh_read = read(member(1, leader=True), member(2), member(3))
    assert restart_order([host(3), host(1)], plan, fresh_read) == [host(3), host(1)]
    assert restart_order(HOSTS[:3], plan, fresh_read) == [host(2), host(3), host(1)]


def test_restart_order_without_a_leader_keeps_the_inventory_order():
    cluster = read(member(1), member(2), member(3), leader=False)
    plan = make(play=HOSTS[:3], probes=running(3, stale=["binary replaced"]), cluster=cluster)
    assert plan["restart"]["order"] == HOSTS[:3] and plan["restart"]["leader_host"] is None


def test_a_stale_member_gets_a_reason():
    probes = dict(running(2), **{host(3): probe(stale=["/etc/etcd/etcd.conf modified after start"])})
    plan = make(probes=probes, cluster=healthy(3))
    assert plan["hosts"][host(3)]["restart_reasons"] == [
        "running process older than its files: /etc/etcd/etcd.conf modified after start"]
    assert plan["hosts"][host(1)]["restart_reasons"] == []


def test_a_requested_restart_of_a_cluster_that_cannot_spare_a_member_is_refused():
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=HOSTS[:2], tags=["etcd_launch"], probes=dict(running(2), **{host(3): probe(state="inactive")}),
                cluster=cluster)
    assert refused(plan, "Refusing to restart 10.0.0.11, 10.0.0.12", "(not: etcd-3): restarting one would leave fewer "
                   "than a quorum", "is not healthy")
    five = read(*[member(i, leader=(i == 1), healthy=(i != 5)) for i in range(1, 6)])
    ok = make(n=5, play=HOSTS[:4], tags=["etcd_launch"], probes=dict(running(4), **{host(5): probe(state="inactive")}),
              cluster=five)
    assert ok["refusals"] == []


# --- what each member holds: the groups of files the role resolves by name ---------------------------------

def test_the_conf_stage_writes_the_groups_of_files_the_member_needs():
    new = make(probes=dict((h, fresh()) for h in HOSTS[:3]))
    assert all(new["hosts"][h]["conf_groups"] == ["cert", "conf", "permit"] for h in HOSTS[:3])
    # A member that runs: no permit; without the cert stage, no certificates; with the scheduled backup, its files.
    plan = make(tags=["etcd_conf"], probes=running(3), params={"etcd_backup": True})
    assert plan["hosts"][host(1)]["conf_groups"] == ["conf", "backup"]


def test_the_probe_looks_at_the_backup_files_only_with_the_scheduled_backup():
    assert make()["probe"] == dict(groups=["member"], disk_check="new", check_v2store=False, backups=None)
    assert make(params={"etcd_backup": "yes", "etcd_disk_check_all": True})["probe"] == dict(
        groups=["member", "backup"], disk_check="all", check_v2store=False, backups=None)
    # etcd's v2store check when the run's target is 3.6 or later (the way there may pass the 3.5 to 3.6 upgrade
    # that needs it; the probe runs it on members whose installed etcd is 3.5 only).
    assert make(params={"etcd_version": "3.6.17"})["probe"]["check_v2store"] is True
    assert make(params={"etcd_version": "3.7.4"})["probe"]["check_v2store"] is True
    assert make(params={"etcd_version": "3.5.36"})["probe"]["check_v2store"] is False
    assert make(params={"etcd_disk_check": "skip", "etcd_disk_check_all": True})["probe"]["disk_check"] == "skip"


def test_every_group_the_plan_names_is_taken_by_the_role_and_no_other():
    """The role takes, for each group the plan names, the variable of that name (__etcd_files_cert for `cert` in
    a member's conf_groups): every group the plan can name is taken, the role takes no group the plan cannot
    name, and each exists as a variable."""
    text = (ROLE / "vars" / "main.yml").read_text()
    names = set(yaml.safe_load(text))
    # A plan that names every group: new members, the scheduled backup, a dashboard.
    params = {"etcd_backup": True, "etcd_grafana_dashboards_dir": "/srv/dash"}
    plan = make(probes=dict((h, fresh()) for h in HOSTS[:3]), params=params)
    lists = {"__etcd_me.conf_groups": plan["hosts"][host(1)]["conf_groups"],
             "__etcd_plan.probe.groups": plan["probe"]["groups"], "__etcd_plan.register.groups": plan["register"]["groups"]}
    taken = re.findall(r"(__etcd_\w+) if '(\w+)' in (__etcd_[\w.]+) else", text)
    assert taken
    for variable, group, where in taken:
        assert variable.endswith("_" + group) and variable in names, variable
        assert group in lists[where], (group, where)
    for where, groups in lists.items():
        assert sorted(set(groups)) == sorted(set(g for _v, g, w in taken if w == where)), where


def test_a_run_that_leaves_every_member_on_3_6_or_later_waits_for_their_storage_version():
    archive = {"etcd_install_method": "archive", "etcd_archive_src": "/srv/etcd-v3.7.4-linux-amd64.tar.gz"}
    plan = make(probes=running(3, version="3.6.17"), cluster=healthy(3, version="3.6.17"), params=archive)
    assert plan["verify"]["expect"]["storage_version"] == "3.7"
    # 3.5 members report no storage version; a run limited to one member leaves the others' minor unknown.
    assert "storage_version" not in make(probes=running(3), cluster=healthy(3))["verify"]["expect"]
    limited = make(play=[host(1)], probes=running(3, version="3.6.17"), cluster=healthy(3, version="3.6.17"), params=archive)
    assert "storage_version" not in limited["verify"]["expect"]
