"""The rules of maintenance (module_utils/_maintenance.py): which member is defragmented and in which order,
the compaction revision, the quota a NOSPACE recovery needs, and the disk check's figures."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _maintenance as m

MIB = 1024 * 1024


@pytest.mark.parametrize("size,in_use,nospace,expected", [
    (100 * MIB, 40 * MIB, False, "60 % of its 100 MiB database file is free (60 MiB)"),
    (100 * MIB, 90 * MIB, False, None),            # 10 % free: below the ratio
    (20 * MIB, 5 * MIB, False, None),              # 75 % free, but only 15 MiB: below the size
    (20 * MIB, 19 * MIB, True, "the NOSPACE alarm is raised"),
    (0, 0, False, None),
])
def test_the_defragmentation_rule(size, in_use, nospace, expected):
    status = {"db_size": size, "db_size_in_use": in_use}
    assert m.defrag_reason(status, min_ratio=0.25, min_free=32 * MIB, nospace=nospace) == expected


def test_followers_first_in_inventory_order_and_the_leader_last():
    members = [{"name": "etcd-1", "leader": True}, {"name": "etcd-2"}, {"name": "etcd-3"}]
    order = ["etcd-1", "etcd-2", "etcd-3"]
    assert m.defrag_order(members, {"etcd-1", "etcd-2", "etcd-3"}, order) == ["etcd-2", "etcd-3", "etcd-1"]
    assert m.defrag_order(members, {"etcd-3", "etcd-1"}, order) == ["etcd-3", "etcd-1"]
    assert m.defrag_order(members, set(), order) == []


def test_compaction_keeps_the_revisions_asked_for():
    assert m.compact_revision(5000, 1000) == 4000
    assert m.compact_revision(500, 1000) == 0
    assert m.compact_revision(5000, 0) == 5000


def test_the_quota_a_nospace_recovery_needs():
    assert m.quota_needed([10 * MIB, 12 * MIB], 16 * MIB, 0.2) is None
    # 14 MiB in use does not leave 20 % of a 16 MiB quota: 17.5 MiB, rounded up to 18 MiB.
    assert m.quota_needed([14 * MIB], 16 * MIB, 0.2) == 18 * MIB


def test_fio_fdatasync_p99():
    report = {"jobs": [{"sync": {"lat_ns": {"percentile": {"99.000000": 2359296, "50.000000": 1000}}}}]}
    assert m.fio_fdatasync_p99_ms(report) == pytest.approx(2.359296)
    assert m.fio_fdatasync_p99_ms({"jobs": [{"sync": {}}]}) is None
    assert m.fio_fdatasync_p99_ms({}) is None


def test_percentile_and_disk_findings():
    assert m.percentile([5, 1, 3, 2, 4], 0.99) == 5 and m.percentile(list(range(1, 101)), 0.99) == 99
    assert m.percentile([], 0.99) is None
    problems, warnings = m.disk_findings(12.5, 10, 80, 1024 * MIB, 2048 * MIB)
    assert problems == ["fdatasync p99 is 12.50 ms, above etcd_disk_fsync_p99_max_ms=10"]
    assert warnings == ["the file system is 80 % full",
                        "the file system (1024 MiB) is smaller than etcd_quota_backend_bytes (2048 MiB)"]
    assert m.disk_findings(2.0, 10, 30, 10240 * MIB, 2048 * MIB) == ([], [])


# --- on etcdctl output recorded from real 3.4.23 and 3.5.16 (tests/unit/fixtures/record_etcdctl_maintenance.py) ---
import json  # noqa: E402
import pathlib  # noqa: E402

from ansible_collections.dcs.etcd.plugins.module_utils import _etcdctl  # noqa: E402
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems  # noqa: E402
from ansible_collections.dcs.etcd.plugins.modules import etcd_cluster_info, etcd_maintenance  # noqa: E402

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.16"]


def recorded(version, name):
    return json.loads((FIXTURES / ("%s-%s.json" % (version, name))).read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_the_nospace_alarm_as_etcdctl_reports_it(version):
    refused = recorded(version, "nospace-put")
    assert refused["rc"] != 0 and "database space exceeded" in refused["stderr"]
    alarms = _etcdctl.parse_json_output(recorded(version, "nospace-alarm-list")["stdout"])["alarms"]
    # -w json gives the alarm as a number: 1 is NOSPACE.
    assert [_etcdctl.alarm_view(a)["alarm"] for a in alarms] == ["NOSPACE"]
    assert _etcdctl.parse_json_output(recorded(version, "disarmed-alarm-list")["stdout"]).get("alarms") is None


@pytest.mark.parametrize("version", VERSIONS)
def test_a_cluster_with_nospace_is_healthy_enough_for_maintenance(version):
    health = _etcdctl.parse_json_output(recorded(version, "nospace-endpoint-health")["stdout"])
    status = _etcdctl.parse_json_output(recorded(version, "nospace-endpoint-status")["stdout"])
    alarms = _etcdctl.parse_json_output(recorded(version, "nospace-alarm-list")["stdout"])["alarms"]
    member_id = status[0]["Status"]["header"]["member_id"]
    listed = {"header": {}, "members": [{"ID": member_id, "name": "etcd-1", "peerURLs": ["PEER"], "clientURLs": ["CLIENT"]}]}
    read = etcd_cluster_info.summarize(listed, health, status, alarms)
    # 3.5 says the member is unhealthy while the alarm is active; 3.4 does not.
    assert read["members"][0]["healthy"] == (version == "etcd-3.4.23")
    assert cluster_problems(read, {"tolerate_alarms": ["NOSPACE"]}) == []
    assert "alarm NOSPACE is active on member %x" % member_id in cluster_problems(read, {})


@pytest.mark.parametrize("version", VERSIONS)
def test_compaction_and_defragmentation_as_etcdctl_reports_them(version):
    assert recorded(version, "compaction")["stdout"].startswith("compacted revision ")
    again = recorded(version, "compaction-again")
    assert again["rc"] != 0 and etcd_maintenance.ALREADY_COMPACTED in again["stderr"]
    assert "Finished defragmenting etcd member" in recorded(version, "defrag")["stdout"]
    before = _etcdctl.parse_json_output(recorded(version, "nospace-endpoint-status")["stdout"])[0]["Status"]
    after = _etcdctl.parse_json_output(recorded(version, "defragmented-endpoint-status")["stdout"])[0]["Status"]
    assert after["dbSize"] < before["dbSize"] // 3
    # After the compaction and defragmentation the data fits a 2 MiB quota with 20 % to spare: disarm.
    assert m.quota_needed([after["dbSizeInUse"]], 2 * MIB, 0.2) is None
    assert m.quota_needed([before["dbSizeInUse"]], 2 * MIB, 0.2) is not None
    assert recorded(version, "alarm-disarm")["rc"] == 0 and recorded(version, "disarmed-put")["stdout"].strip() == "OK"
