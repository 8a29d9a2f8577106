"""etcd_leader and the shared leadership helpers on etcdctl output recorded from real etcd 3.4.23, 3.5.1 and
3.5.16 (tests/unit/fixtures/record_etcdctl_members.py): two voters, before and after `move-leader`."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _etcdctl
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import member_view, parse_json_output
from ansible_collections.dcs.etcd.plugins.modules import etcd_leader

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.1", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"]


def recorded(version, name):
    return json.loads((FIXTURES / ("%s-%s.json" % (version, name))).read_text())


class FakeCtl(object):
    """Answers `endpoint status` with a recorded answer."""

    def __init__(self, status):
        self.status = status
        self.calls = []

    def json(self, args, endpoints=None):
        self.calls.append((args, endpoints))
        return 0, parse_json_output(self.status["stdout"]), ""


def viewed(version, status_name):
    members = [member_view(m) for m in parse_json_output(recorded(version, "member-list-two-voters")["stdout"])["members"]]
    return _etcdctl.with_status(FakeCtl(recorded(version, status_name)), members)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_leader_before_and_after_the_recorded_transfer(version):
    before = viewed(version, "endpoint-status-two")
    after = viewed(version, "endpoint-status-moved")
    assert _etcdctl.leader_of(before)["name"] == "etcd-1"
    assert _etcdctl.leader_of(after)["name"] == "etcd-2"
    assert all(m["healthy"] and m["status"]["raft_applied_index"] > 0 for m in before)
    assert recorded(version, "move-leader")["stdout"].startswith("Leadership transferred from")


@pytest.mark.parametrize("version", VERSIONS)
def test_choose_target(version):
    members = viewed(version, "endpoint-status-two")
    leader = _etcdctl.leader_of(members)
    # etcd-1 leads: as a follower it hands over to etcd-2; etcd-2 is a follower already.
    assert etcd_leader.choose_target(members, leader, "etcd-1", "follower")["name"] == "etcd-2"
    assert etcd_leader.choose_target(members, leader, "etcd-2", "follower") is None
    assert etcd_leader.choose_target(members, leader, "etcd-2", "leader")["name"] == "etcd-2"
    assert etcd_leader.choose_target(members, leader, "etcd-1", "leader") is None
    with pytest.raises(ValueError, match="no started member named etcd-9"):
        etcd_leader.choose_target(members, leader, "etcd-9", "leader")
    with pytest.raises(ValueError, match="do not agree on a leader"):
        etcd_leader.choose_target(members, None, "etcd-1", "follower")
    alone = [dict(m, healthy=False, status=None) if m["name"] == "etcd-2" else m for m in members]
    with pytest.raises(ValueError, match="no other started, healthy voting member can take over"):
        etcd_leader.choose_target(alone, leader, "etcd-1", "follower")


@pytest.mark.parametrize("version", VERSIONS)
def test_move_leader_goes_to_the_leader_s_endpoint_only(version):
    """Only the leader serves move-leader: sent elsewhere, etcdctl refuses (recorded: "no leader endpoint")."""
    assert "no leader endpoint given" in recorded(version, "move-leader-not-leader")["stderr"]
    members = viewed(version, "endpoint-status-two")
    leader, target = _etcdctl.leader_of(members), members[1]

    class Ctl(object):
        def __init__(self, answer):
            self.answer, self.calls = answer, []

        def run(self, args, endpoints=None):
            self.calls.append((args, endpoints))
            return self.answer["rc"], self.answer["stdout"], self.answer["stderr"]

    ctl = Ctl(recorded(version, "move-leader"))
    _etcdctl.move_leader(ctl, leader, target)
    assert ctl.calls == [(["move-leader", target["id"]], leader["client_urls"][:1])]
    with pytest.raises(_etcdctl.EtcdctlError, match="no leader endpoint"):
        _etcdctl.move_leader(Ctl(recorded(version, "move-leader-not-leader")), leader, target)
