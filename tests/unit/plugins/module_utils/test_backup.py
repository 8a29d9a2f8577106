"""The backup rules (module_utils/_backup.py): verification on `snapshot status -w json` recorded from real
etcd 3.4.23 (etcdctl), 3.5.1 and 3.5.16 (etcdutl), the sidecar check, which member takes the scheduled backup,
the retention, what a restore may do on which version, the check of a restored cluster, the textfile."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import os
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _backup
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import parse_json_output

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.1", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"]
DAY = 86400


def recorded(version, name):
    return json.loads((FIXTURES / ("%s-%s.json" % (version, name))).read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_saved_snapshot_verifies(version):
    saved = recorded(version, "snapshot-save")
    assert saved["rc"] == 0 and "Snapshot saved at" in saved["stdout"]
    status = recorded(version, "snapshot-status")
    # 3.4 has no etcdutl: its etcdctl reads the snapshot back; from 3.5 on, etcdutl does.
    assert status["command"].startswith("etcdctl" if version == "etcd-3.4.23" else "etcdutl")
    parsed = parse_json_output(status["stdout"])
    assert _backup.verify_status(parsed) is None and parsed["totalKey"] > 0 and parsed["revision"] >= 2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_file_that_is_no_snapshot_does_not_verify(version):
    corrupt = recorded(version, "snapshot-status-corrupt")
    assert corrupt["rc"] != 0 and "invalid database" in corrupt["stderr"]


def test_verify_rejects_empty_answers():
    assert _backup.verify_status(None) == "snapshot status printed no JSON"
    assert _backup.verify_status({"hash": 5, "totalKey": 0}) == "the snapshot holds no keys"
    assert _backup.verify_status({"hash": 0, "totalKey": 3}) == "the snapshot has no hash"


def test_status_tool_is_etcdutl_when_there_is_one(tmp_path):
    etcdutl = tmp_path / "etcdutl"
    assert _backup.status_argv("/usr/bin/etcdctl", str(etcdutl), "/b/s.db")[0] == "/usr/bin/etcdctl"
    etcdutl.write_text("#!/bin/sh\n")
    etcdutl.chmod(0o755)
    assert _backup.status_argv("/usr/bin/etcdctl", str(etcdutl), "/b/s.db") == [str(etcdutl), "snapshot", "status", "/b/s.db", "-w", "json"]


@pytest.mark.parametrize("version", VERSIONS)
def test_the_sidecar_check_finds_a_changed_file(version):
    status = parse_json_output(recorded(version, "snapshot-status")["stdout"])
    sidecar = {"sha256": "a" * 64, "hash": status["hash"], "revision": status["revision"], "total_key": status["totalKey"]}
    assert _backup.verify_against_sidecar(status, "a" * 64, sidecar) == []
    problems = _backup.verify_against_sidecar(status, "b" * 64, dict(sidecar, hash=status["hash"] + 1))
    assert problems == ["its SHA-256 is %s, the sidecar records %s" % ("b" * 64, "a" * 64),
                        "its hash is %s, the sidecar records %s" % (status["hash"], status["hash"] + 1)]
    assert _backup.verify_against_sidecar(status, "a" * 64, None) == ["its sidecar is not a JSON object"]


def member(name, leader=False, healthy=True, learner=False, started=True):
    return dict(name=name, leader=leader, healthy=healthy, is_learner=learner, started=started)


def test_the_first_healthy_voting_member_in_inventory_order_takes_the_backup_whoever_leads():
    order = ["etcd-1", "etcd-2", "etcd-3"]
    assert _backup.choose_member([member("etcd-1", leader=True), member("etcd-2"), member("etcd-3")], order) == "etcd-1"
    assert _backup.choose_member([member("etcd-1"), member("etcd-2", leader=True), member("etcd-3")], order) == "etcd-1"
    # The first is down: the next one takes it.
    assert _backup.choose_member([member("etcd-1", healthy=False), member("etcd-2", leader=True), member("etcd-3")], order) == "etcd-2"
    # A learner or a member that has not started never takes it; nobody healthy: nobody.
    assert _backup.choose_member([member("etcd-1", learner=True), member("etcd-2", started=False), member("etcd-3")],
                                 order) == "etcd-3"
    assert _backup.choose_member([member("etcd-1", healthy=False)], order) is None


def test_retention_keeps_the_newest_by_count_and_age():
    now = 100 * DAY
    backups = [("b%d" % i, now - i * DAY) for i in range(10)]  # b0 newest ... b9 oldest
    assert _backup.prune(backups, keep=7, max_age=0, now=now) == ["b9", "b8", "b7"]
    assert _backup.prune(backups, keep=7, max_age=3 * DAY + 1, now=now) == ["b9", "b8", "b7", "b6", "b5", "b4"]
    assert _backup.prune(backups, keep=20, max_age=0, now=now) == []
    # The newest stays, however old: the last good backup is never deleted.
    old = [("x1", now - 30 * DAY), ("x2", now - 40 * DAY)]
    assert _backup.prune(old, keep=7, max_age=14 * DAY, now=now) == ["x2"]
    assert _backup.prune(old, keep=0, max_age=0, now=now) == ["x2"]


def test_scan_pairs_snapshots_with_sidecars_and_finds_orphans(tmp_path):
    def backup(name, created, sidecar=True, db=True):
        if db:
            (tmp_path / (name + ".db")).write_bytes(b"x")
        if sidecar:
            (tmp_path / (name + ".json")).write_text(json.dumps({"created": created}))
    backup("etcd-20261201T010000Z", 1)
    backup("etcd-20261202T010000Z", 2)
    backup("etcd-20261203T010000Z", 3, sidecar=False)
    backup("etcd-20261204T010000Z", 4, db=False)
    (tmp_path / "etcd-before-3.5.16.db").write_bytes(b"x")      # the upgrade's snapshot: not ours
    (tmp_path / "etcd-meta-20261201T010000Z.db").write_bytes(b"x")  # another cluster's
    good, orphans = _backup.scan(str(tmp_path), "etcd")
    assert [(n, c) for n, c, _s in good] == [("etcd-20261201T010000Z", 1), ("etcd-20261202T010000Z", 2)]
    assert orphans == ["etcd-20261203T010000Z.db", "etcd-20261204T010000Z.json"]
    deleted = _backup.apply_retention(str(tmp_path), "etcd", keep=1, max_age=0, now=10)
    assert deleted == ["etcd-20261201T010000Z.json", "etcd-20261201T010000Z.db",
                       "etcd-20261203T010000Z.db", "etcd-20261204T010000Z.json"]
    assert sorted(os.listdir(tmp_path)) == ["etcd-20261202T010000Z.db", "etcd-20261202T010000Z.json",
                                            "etcd-before-3.5.16.db", "etcd-meta-20261201T010000Z.db"]


def test_durations():
    assert _backup.parse_duration("14d") == 14 * DAY
    assert _backup.parse_duration("1w2d") == 9 * DAY
    assert _backup.parse_duration("90m") == 5400
    assert _backup.parse_duration("0") == 0 and _backup.parse_duration("") == 0
    assert _backup.parse_duration("14 days") is None and _backup.parse_duration("-1d") is None


def test_the_revision_is_bumped_only_where_etcd_can():
    flags, note = _backup.restore_flags("3.5.16", 1000000000)
    assert flags == ["--bump-revision", "1000000000", "--mark-compacted"] and "bumped by 1000000000" in note
    assert _backup.restore_flags("3.4.27", 5)[0] == ["--bump-revision", "5", "--mark-compacted"]
    assert _backup.restore_flags("3.6.0", 5)[0] == ["--bump-revision", "5", "--mark-compacted"]
    for version in ("3.4.23", "3.5.9", "3.5.1"):
        flags, note = _backup.restore_flags(version, 1000000000)
        assert flags == [] and "etcd %s has no --bump-revision" % version in note
    assert _backup.restore_flags("3.5.16", 0) == ([], "the revision is not bumped (etcd_restore_bump_revision is 0)")
    assert _backup.restore_flags(None, 5)[0] == []


def test_a_restored_cluster_is_checked_against_the_sidecar():
    assert _backup.restored_problems(1000000100, 12, 12, 1000000100, 100) == []
    assert _backup.restored_problems(100, 12, 12, None, 100) == []
    assert _backup.restored_problems(90, 11, 12, None, 100) == [
        "its revision 90 is lower than the snapshot's 100", "it holds 11 keys, the snapshot's sidecar records 12"]
    assert _backup.restored_problems(100, 12, None, 1000000100, 100) == [
        "its revision 100 is lower than the restore's 1000000100"]


def test_the_textfile_names_cluster_and_member():
    text = _backup.textfile("etcd", "etcd-2", {"etcd_backup_last_run_success": 1, "etcd_backup_last_success_timestamp_seconds": 1700000000,
                                               "etcd_backup_last_revision": None})
    assert 'etcd_backup_last_run_success{cls="etcd",ins="etcd-2"} 1' in text
    assert 'etcd_backup_last_success_timestamp_seconds{cls="etcd",ins="etcd-2"} 1700000000' in text
    assert "etcd_backup_last_revision" not in text
    assert text.count("# TYPE") == 2


class RecordedCtl(object):
    """Answers etcdctl requests with one recorded answer, and keeps the arguments it was asked."""

    def __init__(self, version, name):
        self.answer = recorded(version, name)
        self.asked = []

    def json(self, args, endpoints=None):
        self.asked.append(list(args))
        return self.answer["rc"], parse_json_output(self.answer["stdout"]), self.answer["stderr"]


@pytest.mark.parametrize("version", ["etcd-3.4.23", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"])
def test_keys_are_counted_from_a_range_answer_with_limit_1(version):
    # 20 keys written, one deleted: 19 now; 4 at revision 5. The count is the whole range's, whatever the limit.
    ctl = RecordedCtl(version, "get-count")
    assert _backup.count_keys(ctl) == (19, 22)
    assert ctl.asked == [["get", "", "--from-key", "--keys-only", "--limit=1"]]
    ctl = RecordedCtl(version, "get-count-at-revision")
    assert _backup.count_keys(ctl, 5) == (4, 22)
    assert ctl.asked == [["get", "", "--from-key", "--keys-only", "--limit=1", "--rev=5"]]


@pytest.mark.parametrize("version", ["etcd-3.4.23", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"])
def test_the_restore_flags_are_what_the_release_accepts(version):
    plain, bump, exists = (recorded(version, n) for n in ("snapshot-restore", "snapshot-restore-bump", "snapshot-restore-exists"))
    assert plain["rc"] == 0 and "restored snapshot" in plain["stderr"]
    # 3.4.23 refuses --bump-revision, 3.5.16 (etcdutl) restores with it: restore_flags gives it only there.
    flags = _backup.restore_flags(version.split("-")[1], 1000)[0]
    assert (bump["rc"] == 0) == bool(flags)
    assert ("--bump-revision" in bump["command"]) and (bump["rc"] != 0) == ("unknown flag: --bump-revision" in bump["stderr"])
    # A restore never writes into an existing data directory: the module sets it aside first.
    assert exists["rc"] != 0 and 'data-dir "WORKDIR/restored"' in exists["stderr"]
    assert plain["command"].startswith("etcdctl" if version == "etcd-3.4.23" else "etcdutl")


@pytest.mark.parametrize("version,counting,keys", [("etcd-3.5.36", "all", 7), ("etcd-3.6.17", "live", 0),
                                                   ("etcd-3.7.4", "live", 0)])
def test_a_snapshot_of_a_cluster_without_user_keys_verifies_on_every_release(version, counting, keys):
    # From 3.6 on, etcdutl counts live user keys only (and names the snapshot's storage version): a cluster
    # without any gives 0, which is no sign of a broken snapshot there; 3.5 counts etcd's own entries too.
    status = parse_json_output(recorded(version, "snapshot-status-empty")["stdout"])
    assert (status["totalKey"], _backup.key_counting(status)) == (keys, counting)
    assert _backup.verify_status(status) is None
    assert _backup.verify_status(dict(status, hash=0)) == "the snapshot has no hash"


def test_key_counts_are_compared_only_when_counted_the_same_way():
    # The same data read by etcdutl 3.5.36 and 3.6.17 (recorded above: 7 entries against 0 live keys). A sidecar
    # written by the scheduled backup of a 3.5 member, checked by a 3.6 etcdutl after the upgrade, must not fail
    # on the count; a sidecar of the same counting still does.
    old = parse_json_output(recorded("etcd-3.5.36", "snapshot-status-empty")["stdout"])
    new = parse_json_output(recorded("etcd-3.6.17", "snapshot-status-empty")["stdout"])
    sidecar = {"sha256": "a" * 64, "hash": new["hash"], "revision": 0, "total_key": old["totalKey"]}
    assert _backup.verify_against_sidecar(new, "a" * 64, sidecar) == []
    assert _backup.verify_against_sidecar(new, "a" * 64, dict(sidecar, total_key_counting="live")) == [
        "its total_key is 0, the sidecar records 7"]
    assert _backup.verify_against_sidecar(dict(new, totalKey=7), "a" * 64, dict(sidecar, total_key_counting="live")) == []


def test_the_off_host_retention_keeps_the_newest_and_pairs_the_two_files():
    names = ["etcd-20261201T000000Z.db", "etcd-20261201T000000Z.json", "etcd-20261203T000000Z.db",
             "etcd-20261203T000000Z.json", "etcd-20261205T000000Z.db", "etcd-20261205T000000Z.json",
             "etcd-meta-20261201T000000Z.db", "notes.txt"]
    now = 1796601600.0  # 2026-12-07T00:00:00Z
    assert _backup.offsite_retention(names, "etcd", 2, 0, now) == (["etcd-20261201T000000Z"], 2)
    assert _backup.offsite_retention(names, "etcd", 9, 3 * DAY, now) == (["etcd-20261201T000000Z", "etcd-20261203T000000Z"], 1)
    # The newest stays, however old.
    assert _backup.offsite_retention(names, "etcd", 9, 1, now) == (["etcd-20261201T000000Z", "etcd-20261203T000000Z"], 1)
    # etcd-meta's snapshot without its sidecar is no backup: it goes.
    assert _backup.offsite_retention(names, "etcd-meta", 1, 0, now) == (["etcd-meta-20261201T000000Z"], 0)


def test_a_failed_off_host_copy_keeps_the_last_success_it_had():
    previous = {"etcd_backup_offsite_last_success_timestamp_seconds": 1000.0, "etcd_backup_offsite_count": 4.0}
    failed = _backup.offsite_metrics({}, previous, 5000, error=OSError("down"))
    assert failed == {"etcd_backup_offsite_last_run_timestamp_seconds": 5000, "etcd_backup_offsite_last_run_success": 0,
                      "etcd_backup_offsite_last_success_timestamp_seconds": 1000, "etcd_backup_offsite_count": 4}
    copied = _backup.offsite_metrics({}, previous, 6000, copied=dict(count=5, seconds=1.5))
    assert copied["etcd_backup_offsite_last_run_success"] == 1 and copied["etcd_backup_offsite_count"] == 5
    assert copied["etcd_backup_offsite_last_success_timestamp_seconds"] == 6000
    text = _backup.textfile("etcd", "etcd-2", failed)
    assert 'etcd_backup_offsite_last_run_success{cls="etcd",ins="etcd-2"} 0' in text


def test_the_metrics_file_reads_back(tmp_path):
    path = tmp_path / "etcd_backup_etcd.prom"
    path.write_text(_backup.textfile("etcd", "etcd-1", {"etcd_backup_count": 3, "etcd_backup_offsite_last_seconds": 1.25}))
    assert _backup.read_metrics(str(path)) == {"etcd_backup_count": 3.0, "etcd_backup_offsite_last_seconds": 1.25}
    assert _backup.read_metrics(str(tmp_path / "absent")) == {}


def test_a_member_s_backup_summary(tmp_path):
    for name, created in (("etcd-20261201T000000Z", 1796083200), ("etcd-20261202T000000Z", 1796169600)):
        (tmp_path / (name + ".db")).write_text("x")
        (tmp_path / (name + ".json")).write_text(json.dumps({"created": created, "total_size": 42}))
    found = _backup.summary(str(tmp_path), "etcd")
    assert found == dict(count=2, newest="etcd-20261202T000000Z", newest_created=1796169600, newest_size=42, metrics={})
    assert _backup.summary(str(tmp_path / "none"), "etcd")["count"] == 0


def test_a_store_s_backups_are_this_cluster_s_complete_pairs_newest_first():
    names = ["etcd-meta-20261205T000000Z.db", "etcd-meta-20261205T000000Z.json", "etcd-20261101T000000Z.db",
             "etcd-20261101T000000Z.json", "etcd-20261102T000000Z.db"]
    complete, incomplete = _backup.store_backups(names, "etcd")
    # Not etcd-meta's, though its name sorts after etcd's and is newer.
    assert [n for n, _t in complete] == ["etcd-20261101T000000Z"]
    assert [n for n, _t in incomplete] == ["etcd-20261102T000000Z"]
    # An upload that broke off goes with the retention, and is not counted.
    assert _backup.offsite_retention(names, "etcd", 5, 0, 1796601600.0) == (["etcd-20261102T000000Z"], 1)
