"""etcd_snapshot's verification on `snapshot status -w json` recorded from real etcd 3.4.23 (etcdctl), 3.5.1
and 3.5.16 (etcdutl), for a snapshot saved by `etcdctl snapshot save` and for a file that is no snapshot."""
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import parse_json_output
from ansible_collections.dcs.etcd.plugins.modules import etcd_snapshot

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.1", "etcd-3.5.16"]


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
    assert etcd_snapshot.verify(parsed) is None and parsed["totalKey"] > 0 and parsed["revision"] >= 2


@pytest.mark.parametrize("version", VERSIONS)
def test_a_file_that_is_no_snapshot_does_not_verify(version):
    corrupt = recorded(version, "snapshot-status-corrupt")
    assert corrupt["rc"] != 0 and "invalid database" in corrupt["stderr"]


def test_verify_rejects_empty_answers():
    assert etcd_snapshot.verify(None) == "snapshot status printed no JSON"
    assert etcd_snapshot.verify({"hash": 5, "totalKey": 0}) == "the snapshot holds no keys"
    assert etcd_snapshot.verify({"hash": 0, "totalKey": 3}) == "the snapshot has no hash"


def test_status_tool_is_etcdutl_when_there_is_one(tmp_path):
    class Ctl(object):
        binary = "/usr/bin/etcdctl"
    etcdutl = tmp_path / "etcdutl"
    assert etcd_snapshot.status_argv(Ctl(), str(etcdutl), "/b/s.db")[0] == "/usr/bin/etcdctl"
    etcdutl.write_text("#!/bin/sh\n")
    etcdutl.chmod(0o755)
    assert etcd_snapshot.status_argv(Ctl(), str(etcdutl), "/b/s.db") == [str(etcdutl), "snapshot", "status", "/b/s.db", "-w", "json"]
