"""etcd_member's logic on etcdctl output recorded from real etcd 3.4.23 (Debian 12 package), 3.5.1 (upstream
build) and 3.5.16 (Debian 13 package): a learner added, started, promoted, then removed after a leader move
(tests/unit/fixtures/record_etcdctl_members.py). The module's runs against a live cluster are in
tests/integration/test_modules.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import member_view, parse_json_output
from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster
from ansible_collections.dcs.etcd.plugins.modules import etcd_member

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = sorted({p.name.split("-member-add-learner")[0] for p in FIXTURES.glob("*-member-add-learner.json")})


def recorded(version, name):
    return json.loads((FIXTURES / ("%s-%s.json" % (version, name))).read_text())


def members(version, name):
    return [member_view(m) for m in parse_json_output(recorded(version, name)["stdout"])["members"]]


def test_both_versions_were_recorded():
    assert VERSIONS == ["etcd-3.4.23", "etcd-3.5.1", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"]


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unstarted_learner_is_found_by_peer_url_only(version):
    added = parse_json_output(recorded(version, "member-add-learner")["stdout"])
    listed = members(version, "member-list-unstarted-learner")
    learner = member_view(added["member"])
    assert learner["is_learner"] and learner["name"] == "" and learner["client_urls"] == []
    # etcd knows no name before the member starts: the lookup by name alone finds nothing.
    assert etcd_member.find_member(listed, "etcd-2", None) is None
    assert etcd_member.find_member(listed, "etcd-2", learner["peer_urls"])["id"] == learner["id"]
    # The initial-cluster a joining member needs: every member's peer URL, its own under its name.
    first = next(m for m in listed if m["name"] == "etcd-1")
    expected = {"etcd-1=" + first["peer_urls"][0], "etcd-2=" + learner["peer_urls"][0]}
    assert set(initial_cluster(listed, {learner["peer_urls"][0]: "etcd-2"}).split(",")) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_started_learner_and_promoted_voter(version):
    started = etcd_member.find_member(members(version, "member-list-started-learner"), "etcd-2", None)
    assert started["is_learner"] and started["client_urls"]
    promoted = etcd_member.find_member(members(version, "member-list-two-voters"), "etcd-2", None)
    assert promoted["id"] == started["id"] and not promoted["is_learner"]
    assert recorded(version, "member-promote")["stdout"].startswith("Member %s promoted" % started["id"])


@pytest.mark.parametrize("version", VERSIONS)
def test_recorded_refusals_are_classified(version):
    # Retried until the timeout: a learner not in sync yet, a membership change right after a leader change.
    assert etcd_member.NOT_IN_SYNC in recorded(version, "member-promote-not-started")["stderr"]
    assert etcd_member.UNHEALTHY in recorded(version, "member-remove-new-leader")["stderr"]
    # Not errors for an idempotent module: promoted already, added already, removed already.
    voter = recorded(version, "member-promote-voter")["stderr"]
    assert etcd_member.NOT_LEARNER in voter and etcd_member.NOT_IN_SYNC not in voter
    assert etcd_member.ALREADY_EXISTS in recorded(version, "member-add-duplicate")["stderr"]
    assert etcd_member.NOT_FOUND in recorded(version, "member-remove-missing")["stderr"]


@pytest.mark.parametrize("version", VERSIONS)
def test_remove_answer_lists_the_remaining_member(version):
    remaining = [member_view(m) for m in parse_json_output(recorded(version, "member-remove")["stdout"])["members"]]
    assert [m["name"] for m in remaining] == ["etcd-1"]


def test_name_and_url_matching_two_members_is_an_error():
    listed = [dict(id="1", name="a", peer_urls=["https://h1:2380"], client_urls=[], is_learner=False),
              dict(id="2", name="b", peer_urls=["https://h2:2380"], client_urls=[], is_learner=False)]
    with pytest.raises(ValueError, match="match different members"):
        etcd_member.find_member(listed, "a", ["https://h2:2380"])
    assert etcd_member.find_member(listed, "c", ["https://h3:2380"]) is None


def test_diff_lines_are_sorted_and_name_unstarted_members():
    listed = [dict(id="2", name="", peer_urls=["https://h2:2380"], client_urls=[], is_learner=True),
              dict(id="1", name="a", peer_urls=["https://h1:2380"], client_urls=[], is_learner=False)]
    assert etcd_member.describe(listed) == "(not started) 2 learner https://h2:2380\na 1 voter https://h1:2380\n"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_removal_is_sent_to_the_other_voters_only(version):
    listed = members(version, "member-list-two-voters")
    leaving = etcd_member.find_member(listed, "etcd-2", None)
    staying = etcd_member.find_member(listed, "etcd-1", None)
    assert etcd_member.removal_endpoints(listed, leaving) == staying["client_urls"][:1]
    # A started learner is no endpoint for a membership change either.
    with_learner = members(version, "member-list-started-learner")
    learner = etcd_member.find_member(with_learner, "etcd-2", None)
    assert etcd_member.removal_endpoints(with_learner, learner) == staying["client_urls"][:1]
    assert etcd_member.removal_endpoints(with_learner, staying) == []


class FakeModule(object):
    """Answers etcdctl's argv with the scripted (rc, stdout, stderr) in turn and records each argv."""

    def __init__(self, answers):
        self.params = dict(etcdctl_path="/usr/bin/etcdctl", endpoints=["https://h1:2379"], timeout=30)
        self.answers = list(answers)
        self.calls = []

    def run_command(self, argv, environ_update=None):
        self.calls.append(argv)
        return self.answers.pop(0)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_member_stopping_while_it_answers_is_retried(version, monkeypatch):
    monkeypatch.setattr(etcd_member.time, "sleep", lambda seconds: None)
    listed = members(version, "member-list-two-voters")
    leaving = etcd_member.find_member(listed, "etcd-2", None)
    staying = etcd_member.find_member(listed, "etcd-1", None)
    # etcdctl's stderr when the member serving `member remove` applied its own removal first (etcd 3.5.16,
    # seen in CI on 2026-12-01); the retry then finds the removal done.
    module = FakeModule([(1, "", "Error: etcdserver: server stopped\n"),
                         (1, "", recorded(version, "member-remove-missing")["stderr"])])
    etcd_member.Membership(module).remove(leaving, listed)
    assert len(module.calls) == 2
    for argv in module.calls:
        assert "--endpoints=%s" % staying["client_urls"][0] in argv and argv[-4:-2] == ["remove", leaving["id"]]
    # Any other refusal is an error at once.
    module = FakeModule([(1, "", "Error: permission denied\n")])
    with pytest.raises(etcd_member.EtcdctlError):
        etcd_member.Membership(module).remove(leaving, listed)
    assert len(module.calls) == 1


# etcdctl's stderr when the leader did not apply a promotion within the request timeout (etcd 3.5.16 in the
# security scenario, CI on 2026-12-03, auth on, two voters on a loaded 2-core host).
TIMED_OUT = ('{"level":"warn","ts":"2026-12-03T15:05:04.385336Z","logger":"etcd-client","caller":'
             '"v3/retry_interceptor.go:63","msg":"retrying of unary invoker failed","target":'
             '"etcd-endpoints://0xc0002452c0/10.89.83.12:2379","attempt":0,"error":"rpc error: code = '
             'Unavailable desc = etcdserver: request timed out"}\nError: etcdserver: request timed out\n')


@pytest.mark.parametrize("version", VERSIONS)
def test_a_promotion_that_timed_out_is_retried_and_found_done(version, monkeypatch):
    monkeypatch.setattr(etcd_member.time, "sleep", lambda seconds: None)
    learner = etcd_member.find_member(members(version, "member-list-started-learner"), "etcd-2", None)
    # The first request timed out but was applied: the retry is refused as "not a learner", and the member
    # list shows a voter.
    module = FakeModule([(1, "", TIMED_OUT),
                         (1, "", recorded(version, "member-promote-voter")["stderr"]),
                         (0, recorded(version, "member-list-two-voters")["stdout"], "")])
    etcd_member.Membership(module).promote(learner, ["https://h1:2379"])
    assert all(argv[-3:] == ["member", "promote", learner["id"]] for argv in module.calls[:2])
    # The first request timed out and was not applied: the retry promotes.
    module = FakeModule([(1, "", TIMED_OUT), (0, recorded(version, "member-promote")["stdout"], "")])
    etcd_member.Membership(module).promote(learner, ["https://h1:2379"])
    assert len(module.calls) == 2
    # etcdctl's own deadline (--command-timeout) ran out first (CI on 2026-12-03, the same join): the same.
    deadline = TIMED_OUT.replace("Unavailable desc = etcdserver: request timed out", "DeadlineExceeded desc = "
                                 "context deadline exceeded").replace("Error: etcdserver: request timed out",
                                                                      "Error: context deadline exceeded")
    module = FakeModule([(1, "", deadline), (0, recorded(version, "member-promote")["stdout"], "")])
    etcd_member.Membership(module).promote(learner, ["https://h1:2379"])
    assert len(module.calls) == 2
    # A timeout that lasts past the module's timeout is an error naming etcd's answer.
    module = FakeModule([(1, "", TIMED_OUT)])
    module.params["timeout"] = 0
    with pytest.raises(etcd_member.EtcdctlError, match="request timed out"):
        etcd_member.Membership(module).promote(learner, ["https://h1:2379"])
