# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/check.py: -t etcd_check, the read-only status: what it shows and what it flags,
situation by situation."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ..conftest import CA, UNREACHABLE, fresh, healthy, host, inputs, member, probe, read, running

NOW = 1800000000.0
DAY = 86400
MIB = 1024 * 1024
YEARS = dict((name, NOW + 3000 * DAY) for name in ("etcd-1", "etcd-2", "etcd-3", "ca", "root", "prometheus"))


def with_backups(probes, created=NOW - 3600, on=(2,)):
    for i, h in enumerate(sorted(probes), 1):
        probes[h]["backups"] = dict(count=3 if i in on else 0, newest="etcd-x" if i in on else None,
                                    newest_created=created if i in on else None, newest_size=2 * MIB if i in on else None,
                                    metrics={})
    return probes


HEALTHY = object()


def check(cluster=HEALTHY, probes=None, params=None, certificates=None, play=None):
    probes = probes if probes is not None else with_backups(running(3))
    data = inputs(tags=("etcd_check",), probes=probes, cluster=healthy(3) if cluster is HEALTHY else cluster,
                  params=dict({"etcd_backup": True}, **(params or {})), play=play)
    plan = pipeline.make_plan(data, {"ca_sha256": CA, "archive_exists": True, "now": NOW,
                                     "certificates": YEARS if certificates is None else certificates})
    assert plan["refusals"] == [], plan["refusals"]
    return plan["check"]


def flagged(result, *texts):
    joined = " ".join(result["action"])
    return all(t in joined for t in texts)


def test_the_probe_reads_the_backups_only_for_a_check():
    data = inputs(tags=("etcd_check",), params={"etcd_backup_dir": "/b"})
    assert pipeline.make_plan(data, {})["probe"]["backups"] == dict(
        dir="/b", cluster="etcd", metrics_file="/var/lib/prometheus/node-exporter/etcd_backup_etcd.prom")
    assert pipeline.make_plan(inputs(), {})["probe"]["backups"] is None


def test_the_action_reads_every_certificate_of_the_cluster_for_a_check_only():
    params = {"etcd_client_certs": [{"name": "patroni", "hosts": []}, {"name": "gone", "state": "absent"}]}
    wanted = pipeline.controller_paths(inputs(tags=("etcd_check",), params=params))["certificates"]
    assert [c["name"] for c in wanted] == ["etcd-1", "etcd-2", "etcd-3", "ca", "root", "prometheus", "patroni"]
    assert wanted[0]["path"] == "/srv/pki/etcd/members/%s.crt" % host(1)
    assert wanted[-1]["path"] == "/srv/pki/etcd/clients/patroni.crt"
    assert pipeline.controller_paths(inputs(params=params))["certificates"] == []


def test_a_healthy_cluster_is_one_table_and_nothing_to_do():
    cluster = healthy(3, leader=2)
    for m in cluster["members"]:
        m["status"].update(db_size=20 * MIB, db_size_in_use=18 * MIB)
    result = check(cluster)
    assert result["ok"] and result["action"] == [] and result["notice"] == []
    table = result["table"]
    assert table[0] == "cluster etcd: OK"
    assert table[1].split()[:3] == ["MEMBER", "HOST", "SERVICE"]
    row = table[3].split()
    assert row[:6] == ["etcd-2", host(2), "active", "3.5.16", "leader", "ok"]
    assert "20.0 MiB" in table[3] and "90%" in table[3] and "1%" in table[3] and "3000" in table[3]
    assert "1.0 h ago (3)" in table[3] and table[2].endswith("none")
    assert any(line.startswith("leader etcd-2, ") and "alarms: none" in line for line in table)
    assert any(line.startswith("certificate days left: etcd-1 3000") and "root 3000" in line for line in table)
    assert any(line.startswith("newest backup: etcd-x on %s, 1.0 h ago" % host(2)) for line in table)


def test_a_member_down_is_flagged_with_the_command_that_starts_it():
    probes = with_backups(running(3))
    probes[host(3)] = dict(probes[host(3)], service_state="failed", service_active=False)
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    result = check(cluster, probes)
    assert not result["ok"] and result["table"][0] == "cluster etcd: NEEDS ACTION (1)"
    assert flagged(result, "member etcd-3 (%s): etcd is failed" % host(3), "./etcd.yml -l %s" % host(3))
    assert "down" in result["table"][4].split()


def test_a_running_member_that_does_not_answer_names_its_log():
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    assert flagged(check(cluster), "member etcd-3", "does not answer", "journalctl -u etcd")


def test_an_unreachable_host_and_a_limit():
    probes = with_backups(running(3))
    probes[host(3)] = dict(UNREACHABLE)
    result = check(read(member(1, leader=True), member(2), member(3, healthy=False)), probes)
    assert flagged(result, "member etcd-3 (%s): cannot be reached" % host(3), "Check SSH")
    # -l: the rows of the limited hosts only; the cluster's findings still.
    limited = check(play=[host(1)])
    assert [line.split()[0] for line in limited["table"][2:3]] == ["etcd-1"]
    assert not [line for line in limited["table"] if line.startswith("etcd-2")]


def test_nospace_names_maintenance_and_another_alarm_the_troubleshooting_page():
    cluster = healthy(3)
    cluster["alarms"] = [{"member_id": "1002", "alarm": "NOSPACE"}, {"member_id": "1003", "alarm": "CORRUPT"}]
    result = check(cluster)
    assert flagged(result, "alarm NOSPACE on member etcd-2", "-t etcd_maintain")
    assert flagged(result, "alarm CORRUPT on member etcd-3", "docs/troubleshooting.md")


def test_a_full_database_and_a_fragmented_one():
    cluster = healthy(3)
    cluster["members"][0]["status"].update(db_size=1800 * MIB, db_size_in_use=1700 * MIB)
    cluster["members"][1]["status"].update(db_size=400 * MIB, db_size_in_use=100 * MIB)
    result = check(cluster)
    assert flagged(result, "member etcd-1", "88% of etcd_quota_backend_bytes", "-t etcd_maintain")
    assert [n for n in result["notice"] if n.startswith("member etcd-2") and "etcd_maintain" in n]
    assert len(result["action"]) == 1


@pytest.mark.parametrize("days,verdict", [
    (-3, "expired 3 day(s) ago"), (10, "expires in 10 day(s), inside etcd_cert_renew_days (30)"), (60, None)])
def test_a_certificate_near_or_past_its_end(days, verdict):
    certificates = dict(YEARS, root=NOW + days * DAY + 3600)
    result = check(certificates=certificates)
    if verdict:
        assert flagged(result, "certificate root %s" % verdict, "./etcd.yml")
    else:
        assert result["ok"] and [n for n in result["notice"] if n.startswith("certificate root expires in 60")]


def test_a_member_certificate_is_named_by_its_member():
    result = check(certificates=dict(YEARS, **{"etcd-2": NOW + 5 * DAY + 60}))
    assert flagged(result, "the certificate of member etcd-2 expires in 5 day(s)")


def test_backups_too_old_or_missing_when_the_schedule_is_on():
    assert flagged(check(probes=with_backups(running(3), created=NOW - 40 * 3600)),
                   "older than etcd_alert_backup_hours (36)", "-t etcd_backup")
    assert flagged(check(probes=with_backups(running(3), on=())), "has no backup", "-t etcd_backup")
    # With the schedule off, no backup is no finding.
    off = check(probes=with_backups(running(3), on=()), params={"etcd_backup": False})
    assert off["ok"] and "scheduled backups are off" in " ".join(off["table"])


def test_a_learner_left_and_a_member_outside_the_inventory():
    cluster = read(member(1, leader=True), member(2), member(3, learner=True), member(4))
    result = check(cluster)
    assert flagged(result, "member etcd-3 (%s): is still a learner" % host(3), "-e etcd_init=existing")
    assert flagged(result, "member etcd-4 (https://%s:2380) of cluster etcd is not in the inventory" % host(4))


def test_members_on_different_releases():
    cluster = read(member(1, leader=True, version="3.5.16"), member(2, version="3.6.17"), member(3))
    assert flagged(check(cluster), "members run different etcd releases (3.5.16, 3.6.17)", "./etcd.yml")


def test_a_host_that_holds_no_member_and_one_that_is_not_in_the_membership():
    probes = with_backups(running(3))
    probes[host(3)] = dict(fresh(), backups=probes[host(3)]["backups"])
    result = check(read(member(1, leader=True), member(2)), probes)
    assert flagged(result, "member etcd-3 (%s): holds no member" % host(3), "-l %s -e etcd_init=existing" % host(3))
    probes[host(3)] = dict(probe(), backups=probes[host(3)]["backups"])
    assert flagged(check(read(member(1, leader=True), member(2)), probes), "not in the cluster's membership",
                   "-t etcd_clean")


def test_a_cluster_that_is_down_or_without_quorum():
    probes = with_backups(running(3, state="inactive"))
    result = check(None, probes)
    assert flagged(result, "no member runs", "./etcd.yml")
    lost = read(member(1, leader=True), member(2, healthy=False), member(3, healthy=False))
    assert flagged(check(lost), "1 of 3 voting members are healthy", "-t etcd_recover")
    failed = {"failed": True, "msg": "context deadline exceeded"}
    assert flagged(check(failed), "cannot be read through", "context deadline exceeded", "-t etcd_recover")


def test_the_off_host_copy_as_the_metrics_tell():
    probes = with_backups(running(3))
    metrics = {"etcd_backup_offsite_last_run_timestamp_seconds": NOW - 600, "etcd_backup_offsite_last_run_success": 0,
               "etcd_backup_offsite_last_success_timestamp_seconds": NOW - 90000, "etcd_backup_offsite_count": 4}
    probes[host(2)]["backups"]["metrics"] = metrics
    params = {"etcd_backup_s3_url": "http://10.0.0.1:9000/backups", "etcd_backup_s3_access_key": "********",
              "etcd_backup_s3_secret_key": "********"}
    result = check(probes=copy.deepcopy(probes), params=params)
    assert flagged(result, "the last off-host copy of cluster etcd failed", "systemctl start etcd-backup.service")
    assert "off-host copy: last run 10 min ago FAILED, newest verified copy 25.0 h ago, 4 kept" in result["table"]
    probes[host(2)]["backups"]["metrics"].update(etcd_backup_offsite_last_run_success=1,
                                                 etcd_backup_offsite_last_success_timestamp_seconds=NOW - 600)
    assert check(probes=probes, params=params)["ok"]
    # Without a target, nothing is said of one.
    assert not [line for line in check(probes=probes)["table"] if line.startswith("off-host")]


def test_the_ca_is_rotated_not_renewed():
    expiring = check(certificates=dict(YEARS, ca=NOW + 10 * DAY + 60))
    assert flagged(expiring, "the CA expires in 10 day(s), inside etcd_cert_fail_days (14)", "-t etcd_ca_rotate")
    assert not flagged(expiring, "Renew it")
    expired = check(certificates=dict(YEARS, ca=NOW - 2 * DAY))
    assert flagged(expired, "the CA expired 2 day(s) ago", "-t etcd_ca_rotate")
    soon = check(certificates=dict(YEARS, ca=NOW + 40 * DAY))
    assert soon["ok"] and [n for n in soon["notice"] if n.startswith("the CA expires in 40") and "etcd_ca_rotate" in n]


def test_every_host_unreachable_is_a_failed_check():
    probes = dict((host(i), dict(UNREACHABLE)) for i in (1, 2, 3))
    result = check(None, probes)
    assert not result["ok"] and len([a for a in result["action"] if "cannot be reached" in a]) == 3


def test_nospace_on_etcd_3_5_is_the_alarm_and_not_a_lost_quorum():
    """etcd 3.5 answers every member's health with "Active Alarm(s): NOSPACE": the one remedy is maintenance."""
    cluster = healthy(3)
    cluster["alarms"] = [{"member_id": "1001", "alarm": "NOSPACE"}]
    for m in cluster["members"]:
        m["healthy"], m["health_error"] = False, "Active Alarm(s): NOSPACE "
    result = check(cluster)
    assert result["action"] == [a for a in result["action"] if "NOSPACE" in a] and len(result["action"]) == 1
    assert flagged(result, "-t etcd_maintain") and not flagged(result, "etcd_recover")
