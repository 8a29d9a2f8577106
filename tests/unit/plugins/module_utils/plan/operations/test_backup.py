# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/backup.py: -t etcd_backup."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

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
