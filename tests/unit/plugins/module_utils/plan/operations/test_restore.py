# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/restore.py: -t etcd_restore."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ..conftest import CA, HOSTS, UNREACHABLE, fresh, healthy, host, inputs, member, peer, probe, read, refused, running


SNAPSHOT = "/srv/backups/etcd-20261202T063000Z.db"
SIDECAR = {"sha256": "e" * 64, "revision": 500, "keys": 42, "hash": 7, "total_key": 60,
           "members": [{"name": "etcd-1", "peer_urls": [peer(1)]}, {"name": "etcd-9", "peer_urls": ["https://10.0.0.99:2380"]}]}


def restore_controller(sha="e" * 64, sidecar="default", exists=True):
    sidecar = SIDECAR if sidecar == "default" else sidecar
    return {"restore": {"path": SNAPSHOT, "exists": exists, "sha256": sha, "sidecar": copy.deepcopy(sidecar),
                        "sidecar_path": SNAPSHOT[:-3] + ".json"}, "stamp": "20261202T070000Z"}


def restore(cluster=None, probes=None, peers=None, controller=None, **kwargs):
    kwargs.setdefault("params", {"etcd_restore_snapshot": SNAPSHOT})
    data = inputs(tags=("etcd_restore",), probes=probes or running(3), cluster=cluster or healthy(3), **kwargs)
    data["peers"] = peers
    return pipeline.make_plan(data, dict({"ca_sha256": CA, "archive_exists": True},
                                         **(controller if controller is not None else restore_controller())))


def test_a_restore_rebuilds_every_member_from_the_same_snapshot():
    plan = restore()
    assert plan["refusals"] == [] and plan["operation"] == "restore"
    r = plan["restore"]
    assert r["file"] == "/var/backups/etcd/restore/etcd-20261202T063000Z.db"
    assert r["sidecar_file"] == "/var/backups/etcd/restore/etcd-20261202T063000Z.json"
    assert r["token"] == "etcd-restore-20261202T070000Z-eeeeeeee" and r["suffix"] == "before-restore-20261202T070000Z"
    assert r["initial_cluster"] == ",".join("etcd-%d=%s" % (i, peer(i)) for i in (1, 2, 3))
    # 3.5.16 bumps: the keys are counted at the bumped revision.
    assert all(plan["hosts"][h]["restore_flags"] == ["--bump-revision", "1000000000", "--mark-compacted"] for h in HOSTS[:3])
    assert r["expect"] == {"keys": 42, "revision": 1000000500, "min_revision": 500}
    assert [m["name"] for m in plan["verify"]["expect"]["members"]] == ["etcd-1", "etcd-2", "etcd-3"]
    # The old member outside the inventory (from the sidecar) is checked before anything changes.
    assert r["outsiders"] == [{"url": "https://10.0.0.99:2380", "host": "10.0.0.99", "port": 2380}]


def test_a_restore_on_3_4_23_cannot_bump_the_revision_and_says_so():
    plan = restore(probes=running(3, version="3.4.23"), cluster=healthy(3, version="3.4.23"))
    assert plan["refusals"] == [] and plan["restore"]["expect"]["revision"] == 500
    assert all(plan["hosts"][h]["restore_flags"] == [] for h in HOSTS[:3])
    assert any("etcd 3.4.23 has no --bump-revision" in w for w in plan["warnings"])


@pytest.mark.parametrize("case,expected", [
    ("safeguard", "etcd_safeguard is true for 10.0.0.12: a restore replaces the data of every member"),
    ("limited", "but 10.0.0.13 is outside this run (-l). Run it without -l"),
    ("corrupt", "does not verify: its SHA-256 is ffff"),
    ("missing", "etcd_restore_snapshot=%s: no such file on the controller" % SNAPSHOT),
    ("unset", "-t etcd_restore needs etcd_restore_snapshot=PATH"),
    ("old-member-runs", "https://10.0.0.99:2380, a member of the cluster outside the inventory, still answers"),
    ("unreachable", "10.0.0.13 cannot be reached"),
    ("not-deployed", "10.0.0.13 has no etcd deployed"),
    ("mixed-versions", "do not all support --bump-revision"),
])
def test_a_restore_is_refused(case, expected):
    probes = running(3)
    kwargs = {}
    if case == "safeguard":
        kwargs["host_params"] = {host(2): {"etcd_safeguard": True}}
    elif case == "limited":
        kwargs["play"] = HOSTS[:2]
    elif case == "corrupt":
        kwargs["controller"] = restore_controller(sha="f" * 64)
    elif case == "missing":
        kwargs["controller"] = restore_controller(exists=False)
    elif case == "unset":
        kwargs["params"] = {}
    elif case == "old-member-runs":
        kwargs["peers"] = {"https://10.0.0.99:2380": True}
    elif case == "unreachable":
        probes[host(3)] = UNREACHABLE
    elif case == "not-deployed":
        probes[host(3)] = fresh()
    elif case == "mixed-versions":
        probes[host(3)] = probe(version="3.5.9")
    plan = restore(probes=probes, **kwargs)
    assert refused(plan, expected), plan["refusals"]
    assert refused(plan, "Nothing was changed")


def test_a_restore_without_a_sidecar_warns_and_checks_no_key_count():
    plan = restore(controller=restore_controller(sidecar=None))
    assert plan["refusals"] == [] and plan["restore"]["expect"] == {"keys": None, "revision": None, "min_revision": 0}
    assert any("has no sidecar" in w for w in plan["warnings"])


def test_a_restore_is_not_refused_for_members_that_lost_their_data():
    probes = running(3)
    probes[host(2)] = probe(data=False, state="failed", conf=True)
    plan = restore(probes=probes, cluster=read(member(1, leader=True), member(3)))
    assert plan["refusals"] == [], plan["refusals"]
