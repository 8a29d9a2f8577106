# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/backup.py: -t etcd_backup."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _backup
from ..conftest import OTHER_CA, client, healthy, host, make, member, probe, read, refused, running


def test_the_backup_is_taken_by_the_first_healthy_member():
    plan = make(tags=("etcd_backup",), probes=running(3), cluster=healthy(3, leader=1))
    assert plan["operation"] == "backup" and plan["backup"]["host"] == host(1)
    assert plan["backup"]["endpoint"] == client(1) and plan["backup"]["keep"] == 7
    assert plan["backup"]["max_age"] == 14 * 86400 and plan["backup"]["preference"] == ["etcd-1", "etcd-2", "etcd-3"]
    down = read(member(1, healthy=False), member(2, leader=True), member(3))
    assert make(tags=("etcd_backup",), probes=running(3), cluster=down)["backup"]["host"] == host(2)


def test_a_backup_is_not_refused_for_a_member_that_lost_its_data_or_another_ca():
    probes = running(3)
    probes[host(3)] = probe(data=False, state="failed", conf=True, ca=OTHER_CA)
    plan = make(tags=("etcd_backup",), probes=probes, cluster=read(member(1, leader=True), member(2), member(3, healthy=False)))
    assert plan["refusals"] == [] and plan["backup"]["host"] == host(1)


def test_no_backup_without_a_running_member():
    plan = make(tags=("etcd_backup",), probes=running(3, state="inactive"))
    assert refused(plan, "Cannot back up cluster etcd: no member of it is running")


def test_the_backup_metrics_file_is_where_the_backup_program_writes_it():
    assert make(params={"etcd_backup_textfile_dir": ""})["backup"]["metrics_file"] == ""
    plan = make(params={"etcd_backup_textfile_dir": "/var/lib/prometheus/node-exporter"})
    assert plan["backup"]["metrics_file"] == "/var/lib/prometheus/node-exporter/etcd_backup_etcd.prom"
    assert plan["backup"]["metrics_file"] == _backup.metrics_path("/var/lib/prometheus/node-exporter", "etcd")


S3 = {"etcd_backup_s3_url": "https://s3.example.com/etcd-backups/prod", "etcd_backup_s3_access_key": "********",
      "etcd_backup_s3_secret_key": "********"}


def test_the_off_host_copy_is_planned_without_its_credentials():
    plan = make(tags=("etcd_backup",), probes=running(3), cluster=healthy(3), params=dict(S3, etcd_backup_s3_max_age="2w"))
    assert plan["refusals"] == [] and plan["backup"]["s3"] == dict(
        url="https://s3.example.com/etcd-backups/prod", region="us-east-1", keep=14, max_age=14 * 86400, timeout=60)
    assert make(tags=("etcd_backup",), probes=running(3), cluster=healthy(3))["backup"]["s3"] is None


@pytest.mark.parametrize("params,expected", [
    (dict(S3, etcd_backup_s3_url="s3://etcd-backups/prod"), "etcd_backup_s3_url=s3://etcd-backups/prod: must be http(s)://"),
    (dict(S3, etcd_backup_s3_secret_key=""), "etcd_backup_s3_secret_key: must be set"),
    (dict(S3, etcd_backup_s3_access_key="it contains whitespace"), "etcd_backup_s3_access_key: must be set"),
    (dict(S3, etcd_backup_s3_keep=0), "etcd_backup_s3_keep=0: must be a whole number of at least 1"),
    (dict(S3, etcd_backup_s3_max_age="a month"), "etcd_backup_s3_max_age=a month: must be a duration"),
    (dict(S3, etcd_backup_s3_region=""), "etcd_backup_s3_region: must be the store's region"),
])
def test_a_bad_off_host_setting_is_refused_before_any_host_is_contacted(params, expected):
    plan = make(params=params)
    assert plan["step"] == "inputs" and refused(plan, expected)


def test_a_restore_from_the_store_that_could_not_be_fetched_is_refused():
    plan = make(tags=("etcd_restore",), probes=running(3), cluster=healthy(3),
                params=dict(S3, etcd_restore_snapshot="s3:latest", etcd_safeguard=False),
                controller={"restore": {"error": "https://s3.example.com/etcd-backups/prod/ holds no backup of cluster etcd"}})
    assert refused(plan, "etcd_restore_snapshot=s3:latest: https://s3.example.com", "holds no backup", "Nothing was changed")


def test_a_backup_of_another_cluster_fetched_from_the_store_is_refused():
    restore = {"path": "/c/etcd-20261201T000000Z.db", "exists": True, "sha256": "a" * 64, "fetched_from": "https://s/b/etcd-x.db",
               "sidecar_path": "/c/etcd-20261201T000000Z.json", "sidecar": {"sha256": "a" * 64, "cluster": "etcd-meta"}}
    plan = make(tags=("etcd_restore",), probes=running(3), cluster=healthy(3),
                params=dict(S3, etcd_restore_snapshot="s3:latest", etcd_safeguard=False), controller={"restore": restore})
    assert refused(plan, "is a backup of cluster etcd-meta, not etcd", "etcd_backup_s3_url of its own")
