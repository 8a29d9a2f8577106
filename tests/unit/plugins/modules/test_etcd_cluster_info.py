"""etcd_cluster_info on etcdctl output recorded from real etcd 3.4.23 (Debian 12 package) and 3.5.1
(upstream build) 3-member clusters, healthy and with one member stopped
(tests/unit/fixtures/record_etcdctl.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _etcdctl
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import parse_json_output
from ansible_collections.dcs.etcd.plugins.modules import etcd_cluster_info

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = sorted({p.name.split("-healthy-")[0] for p in FIXTURES.glob("*-healthy-member-list.json")})


def recorded(version, state, command):
    return json.loads((FIXTURES / ("%s-%s-%s.json" % (version, state, command))).read_text())


def outputs(version, state):
    return [parse_json_output(recorded(version, state, c)["stdout"])
            for c in ("member-list", "endpoint-health", "endpoint-status", "alarm-list")]


def test_both_versions_were_recorded():
    assert VERSIONS == ["etcd-3.4.23", "etcd-3.5.1"]


@pytest.mark.parametrize("version", VERSIONS)
def test_healthy_cluster(version):
    members, health, status, alarms = outputs(version, "healthy")
    result = etcd_cluster_info.summarize(members, health, status, (alarms or {}).get("alarms"))
    assert result["healthy"], result["problems"]
    assert sorted(m["name"] for m in result["members"]) == ["etcd-1", "etcd-2", "etcd-3"]
    assert sum(m["leader"] for m in result["members"]) == 1
    assert result["leader_name"] in ("etcd-1", "etcd-2", "etcd-3")
    assert all(m["healthy"] and m["started"] and not m["is_learner"] for m in result["members"])
    assert {m["status"]["version"] for m in result["members"]} == {version.split("-")[1]}
    # IDs above 2**53 survive exactly (JSON ints, printed as etcdctl prints them).
    raw_ids = {"%x" % m["ID"] for m in members["members"]}
    assert {m["id"] for m in result["members"]} == raw_ids


@pytest.mark.parametrize("version", VERSIONS)
def test_cluster_with_a_stopped_member(version):
    health_run = recorded(version, "one-down", "endpoint-health")
    assert health_run["rc"] != 0
    members, health, status, alarms = outputs(version, "one-down")
    result = etcd_cluster_info.summarize(members, health, status, (alarms or {}).get("alarms"))
    assert not result["healthy"]
    down = [m for m in result["members"] if not m["healthy"]]
    assert [m["name"] for m in down] == ["etcd-3"]
    assert down[0]["status"] is None
    assert any("etcd-3" in problem for problem in result["problems"])
    # The two others still agree on one leader.
    assert result["leader"] is not None


def test_member_added_but_not_started_and_alarm():
    members, health, status = outputs("etcd-3.5.1", "healthy")[:3]
    members = dict(members, members=members["members"] + [
        {"ID": 1234567890123456789, "peerURLs": ["https://10.0.0.99:2380"], "isLearner": True}])
    result = etcd_cluster_info.summarize(members, health, status, [{"memberID": 1234567890123456789, "alarm": "NOSPACE"}])
    assert not result["healthy"]
    new = [m for m in result["members"] if not m["started"]]
    assert new and new[0]["is_learner"] and new[0]["name"] == ""
    assert any("NOSPACE" in p for p in result["problems"])


def test_parse_json_output_accepts_json_lines():
    assert parse_json_output('{"a": 1}\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]
    assert parse_json_output("") is None
    assert parse_json_output("Error: x") is None


# etcdctl's answers to a login with a user that cannot exist, recorded from etcd 3.4.23 and 3.5.16.
AUTH_ON_34 = ('{"level":"warn","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed",'
              '"error":"rpc error: code = InvalidArgument desc = etcdserver: authentication failed, invalid user ID or '
              'password"}\nError: etcdserver: authentication failed, invalid user ID or password\n')
UNREACHABLE = "Error: context deadline exceeded\n"


def test_auth_probe_answers():
    from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import auth_from_answer
    assert auth_from_answer(0, "") is False
    assert auth_from_answer(2, AUTH_ON_34) is True
    assert auth_from_answer(1, UNREACHABLE) is None


@pytest.mark.parametrize("version,lists", [("etcd-3.4.23", True), ("etcd-3.5.16", False), ("etcd-3.5.36", False),
                                           ("etcd-3.6.17", False), ("etcd-3.7.4", False)])
def test_a_member_without_a_quorum_still_tells_its_own_status(version, lists):
    """Two members, one stopped: etcdctl 3.5 asks for a linearizable member list, which the other cannot serve;
    3.4 gets the member's own view. Either way each answering member's status has no leader and its raft index."""
    listed = json.loads((FIXTURES / ("%s-lost-quorum-member-list.json" % version)).read_text())
    assert (listed["rc"] == 0) == lists
    if not lists:
        assert "context deadline exceeded" in listed["stderr"]
    status = json.loads((FIXTURES / ("%s-lost-quorum-endpoint-status.json" % version)).read_text())
    assert status["rc"] != 0 and "Failed to get the status of endpoint CLIENT2" in status["stderr"]
    statuses = etcd_cluster_info.statuses_of(parse_json_output(status["stdout"]))
    assert list(statuses) == ["CLIENT1"]
    assert statuses["CLIENT1"]["leader"] == "0" and statuses["CLIENT1"]["raft_index"] > 20
    assert statuses["CLIENT1"]["version"] == version.split("-")[1]


@pytest.mark.parametrize("version,serializable", [("etcd-3.5.36", False), ("etcd-3.6.17", True), ("etcd-3.7.4", True)])
def test_without_a_quorum_3_6_and_later_list_the_members_serializably(run_module, monkeypatch, version, serializable):
    """The same lost quorum, through the module: the linearizable list fails on every release from 3.5; 3.6 and
    later answer `member list --consistency=s` from the member's own view (3.5 refuses the flag). The membership is
    then known, marked serializable, and the cluster is not healthy."""
    from ansible.module_utils.basic import AnsibleModule
    answers = dict((name, json.loads((FIXTURES / ("%s-%s.json" % (version, name))).read_text()))
                   for name in ("lost-quorum-member-list", "lost-quorum-member-list-serializable",
                                "lost-quorum-endpoint-status", "lost-quorum-endpoint-health", "lost-quorum-alarm-list"))
    assert (answers["lost-quorum-member-list-serializable"]["rc"] == 0) == serializable

    def run_command(self, argv, **kwargs):
        name = ("lost-quorum-member-list-serializable" if "--consistency=s" in argv else
                "lost-quorum-member-list" if "member" in argv else "lost-quorum-endpoint-status")
        return answers[name]["rc"], answers[name]["stdout"], answers[name]["stderr"]
    monkeypatch.setattr(AnsibleModule, "run_command", run_command)

    class Proc(object):
        """The requests made side by side (alarm list, endpoint health, endpoint status), as recorded."""
        def __init__(self, argv, **kwargs):
            self.answer = answers["lost-quorum-endpoint-%s" % ("status" if "status" in argv else "health")
                                  if "endpoint" in argv else "lost-quorum-alarm-list"]
            self.returncode = self.answer["rc"]

        def communicate(self, data=None, timeout=None):
            return self.answer["stdout"].encode(), self.answer["stderr"].encode()
    monkeypatch.setattr(_etcdctl.subprocess, "Popen", Proc)
    result = run_module(etcd_cluster_info.main, dict(etcdctl_path="/usr/bin/etcdctl", endpoints=["CLIENT1"]))
    if serializable:
        assert not result.get("failed") and result["membership_serializable"] and not result["healthy"], result
        assert sorted(m["name"] for m in result["members"]) == ["etcd-1", "etcd-2"]
        assert any("without a quorum" in p for p in result["problems"]), result["problems"]
    else:
        assert result["failed"] and "context deadline exceeded" in result["msg"], result
