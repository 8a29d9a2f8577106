# -*- coding: utf-8 -*-
"""module_utils/_plan/upgrade.py and versions.py: version guards and upgrades."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems
from .conftest import EXPECT3, HOSTS, client, fresh, healthy, host, make, member, read, refused, running


ARCHIVE = "/srv/etcd-v%s-linux-amd64.tar.gz"


def upgrade_plan(target, current="3.4.23", auth=False, cluster=True, **kwargs):
    probes = running(3, version=current)
    return make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % target}, probes=probes,
                cluster=(read(*[member(i, leader=(i == 2), version=current) for i in (1, 2, 3)], auth=auth)
                         if cluster else None), **kwargs)


def test_upgrade_is_planned_with_a_snapshot_on_the_leader():
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                 probes=running(3, version="3.4.23"))
    assert first["step"] == "probed" and first["read"]["check_auth"]
    plan = upgrade_plan("3.5.16")
    assert plan["refusals"] == []
    up = plan["upgrade"]
    assert up["hosts"] == HOSTS[:3] and up["target"] == "3.5.16" and up["snapshot_host"] == host(2)
    assert up["snapshot_endpoint"] == client(2) and up["snapshot_file"] == "/var/backups/etcd/etcd-before-3.5.16.db"
    assert all(plan["hosts"][h]["binaries"] for h in HOSTS[:3])
    # After the run every member of the run must run the target.
    assert plan["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert plan["restart"]["order"] == [host(1), host(3), host(2)]


@pytest.mark.parametrize("target,current,auth,expected", [
    ("3.5.16", "3.4.23", True, "RBAC authentication is enabled"),
    ("3.5.16", "3.4.23", None, "could not tell whether RBAC authentication is enabled"),
    ("3.6.0", "3.4.23", False, "etcd 3.6.0 would skip a minor version"),
    ("3.4.23", "3.5.16", False, "would downgrade the members running 3.5.16 to minor version 3.4"),
    ("3.6.0", "3.5.16", False, "needs every 3.5 member on 3.5.32 or later first"),
    ("4.0.0", "3.5.16", False, "another major version"),
    ("3.5.1", "3.4.23", False, "etcd 3.5.1 is on the known-bad list"),
])
def test_unsafe_version_changes_are_refused(target, current, auth, expected):
    plan = upgrade_plan(target, current=current, auth=auth)
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_an_interrupted_upgrade_is_resumed():
    # The binaries are 3.5.16 everywhere, the members still run 3.4.23: the read says whether auth is on
    # (it is asked on every read), and the members are restarted onto what is installed.
    probes = running(3, stale=["binary replaced"])
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert first["step"] == "probed" and first["read"]["check_auth"]
    cluster = read(*[member(i, leader=(i == 1), version="3.4.23") for i in (1, 2, 3)], auth=False)
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes,
                cluster=cluster)
    assert plan["refusals"] == [] and plan["upgrade"] is None
    assert all("runs etcd 3.4.23, etcd 3.5.16 is installed" in plan["hosts"][h]["restart_reasons"] for h in HOSTS[:3])
    with_auth = dict(cluster, auth_enabled=True)
    assert refused(make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                        probes=probes, cluster=with_auth), "RBAC authentication is enabled")


def test_no_version_is_expected_from_a_removal_or_without_the_install_stage():
    # Before, an empty list of members meant every member: a removal then failed on the members that stay
    # when the configured archive was newer than what they run.
    params = {"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.17"}
    removal = make(play=[host(3)], tags=["etcd_clean"], params=params, probes=running(3), cluster=healthy(3))
    assert removal["refusals"] == [] and removal["verify"]["expect"]["versions"] == {}
    launch = make(tags=["etcd_launch"], params=params, probes=running(3), cluster=healthy(3))
    assert launch["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert cluster_problems(healthy(3), dict(EXPECT3, versions={})) == []


def test_an_unpinned_package_is_checked_against_the_repository_s_version():
    probes = dict(running(2, version="3.4.23"), **{host(3): dict(fresh(), package_candidate="3.6.0")})
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")),
                host_params={})
    assert refused(plan, "the etcd-server package that the repositories of 10.0.0.13 offer (etcd 3.6.0",
                   "would skip a minor version")
    probes[host(3)]["package_candidate"] = "3.4.23"
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")))
    assert plan["verify"]["expect"]["versions"]["etcd-3"] == "3.4.23"
    assert make()["install"]["probe_package"] == "etcd-server"
    assert make(params={"etcd_version": "3.5.16"})["install"]["probe_package"] is None


def test_patch_changes_and_the_same_version_are_allowed():
    assert upgrade_plan("3.5.16", current="3.5.12")["refusals"] == []
    same = upgrade_plan("3.5.16", current="3.5.16")
    assert same["refusals"] == [] and same["upgrade"] is None


def test_upgrade_refused_when_nothing_runs_or_the_cluster_is_unhealthy():
    probes = running(3, version="3.4.23", state="inactive")
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert refused(plan, "no member is running, so no snapshot can be taken first", "3.4.23")
    sick = read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23", healthy=False),
                member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3, version="3.4.23"), cluster=sick)
    assert refused(plan, "the cluster is not healthy (voting member etcd-2 is not healthy)")


def test_a_member_still_on_the_old_version_is_restarted():
    # The defect: binaries replaced, but one member still ran the old etcd and a re-run changed nothing.
    cluster = read(member(1, leader=True), member(2), member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3), cluster=cluster, play=HOSTS[:3])
    assert plan["hosts"][host(3)]["restart_reasons"] == ["runs etcd 3.4.23, etcd 3.5.16 is installed"]
    problems = cluster_problems(cluster, plan["verify"]["expect"])
    assert "member etcd-3 runs etcd 3.4.23, not 3.5.16" in problems


def test_a_3_5_member_whose_v2store_check_did_not_pass_stops_the_upgrade_to_3_6():
    # etcdutl 3.5.36 answered "No custom content found in both v2store and WAL records." on a member that never
    # had enable-v2; a member with custom content (or no verdict) is refused, with etcd's remedy.
    clean = dict(clean=True, answer="No custom content found in both v2store and WAL records.")
    probes = running(3, version="3.5.36")
    for h in probes:
        probes[h]["v2store"] = clean
    params = {"etcd_install_method": "archive", "etcd_archive_src": "/srv/etcd-v3.6.17-linux-amd64.tar.gz"}
    plan = make(probes=probes, cluster=healthy(3, version="3.5.36"), params=params)
    assert not plan["refusals"] and plan["upgrade"]["target"] == "3.6.17", plan["refusals"]
    probes[host(2)]["v2store"] = dict(clean=False, answer="detected custom content in v2store")
    probes[host(3)]["v2store"] = None
    plan = make(probes=probes, cluster=healthy(3, version="3.5.36"), params=params)
    assert refused(plan, "Refusing to upgrade %s to etcd 3.6.17" % host(2), "detected custom content in v2store",
                   "--snapshot-count=1", "Nothing was changed")
    assert refused(plan, "Refusing to upgrade %s to etcd 3.6.17" % host(3), "the probe did not run the check")
