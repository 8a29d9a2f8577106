"""etcd_downgrade on etcdctl output recorded from real etcd 3.7.4 (to 3.6) and 3.6.17 (to 3.5)
(tests/unit/fixtures/record_etcdctl_downgrade.py): validate, enable, a downgrade already under way, cancel."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import parse_json_output
from ansible_collections.dcs.etcd.plugins.modules import etcd_cluster_info, etcd_downgrade

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "etcdctl"
CONNECTION = dict(etcdctl_path="/usr/bin/etcdctl", endpoints=["https://h1:2379"], cacert="/etc/etcd/ca.crt",
                  cert="/etc/etcd/root.crt", key="/etc/etcd/root.key")
RELEASES = [("etcd-3.7.4", "3.6"), ("etcd-3.6.17", "3.5")]


def recorded(release, name):
    return json.loads((FIXTURES / ("%s-downgrade-%s.json" % (release, name))).read_text())


@pytest.fixture
def etcd(monkeypatch):
    """etcdctl answering from the recordings: `endpoint status` with the named one, each downgrade command with
    its own (the second enable with `enable-again`); the calls are kept."""
    def install(release, status, enable="enable"):
        calls = []

        def run_command(self, argv, **kwargs):
            args = [a for a in argv[1:] if not a.startswith("--")]
            calls.append(args)
            if args[:2] == ["endpoint", "status"]:
                answer = recorded(release, status)
            else:
                answer = recorded(release, {"validate": "validate", "enable": enable, "cancel": "cancel"}[args[1]])
            return answer["rc"], answer["stdout"], answer["stderr"]
        monkeypatch.setattr(AnsibleModule, "run_command", run_command)
        return calls
    return install


@pytest.mark.parametrize("release,lower", RELEASES)
def test_a_downgrade_is_validated_then_enabled(run_module, etcd, release, lower):
    calls = etcd(release, "status-before")
    result = run_module(etcd_downgrade.main, dict(CONNECTION, version=lower), diff=True)
    assert result["changed"] and result["target_before"] is None and result["target"] == lower + ".0"
    assert [c[:3] for c in calls[1:]] == [["downgrade", "validate", lower], ["downgrade", "enable", lower]]
    assert result["answer"].startswith("Downgrade enable success, cluster version")
    assert result["diff"] == {"before": "downgrade: None\n", "after": "downgrade: %s.0\n" % lower}


@pytest.mark.parametrize("release,lower", RELEASES)
def test_check_mode_validates_only(run_module, etcd, release, lower):
    calls = etcd(release, "status-before")
    result = run_module(etcd_downgrade.main, dict(CONNECTION, version=lower), check_mode=True)
    assert result["changed"] and [c[:2] for c in calls[1:]] == [["downgrade", "validate"]]
    assert result["answer"].startswith("Downgrade validate success")


@pytest.mark.parametrize("release,lower", RELEASES)
def test_a_downgrade_under_way_is_left_as_it_is(run_module, etcd, release, lower):
    # The status etcd reported once enabled (and once the storage version moved): nothing is asked again.
    for status in ("status-enabled", "status-storage-lowered"):
        calls = etcd(release, status)
        result = run_module(etcd_downgrade.main, dict(CONNECTION, version=lower))
        assert not result["changed"] and result["target_before"] == lower + ".0" and len(calls) == 1


@pytest.mark.parametrize("release,lower", RELEASES)
def test_a_downgrade_to_another_minor_or_a_second_enable_fails_with_etcd_s_answer(run_module, etcd, release, lower):
    etcd(release, "status-enabled")
    result = run_module(etcd_downgrade.main, dict(CONNECTION, version="3.4"))
    assert result["failed"] and "cancel it first (state=cancelled)" in result["msg"]
    # A downgrade enabled between the status read and the enable (another operator): etcd's own answer.
    etcd(release, "status-before", enable="enable-again")
    result = run_module(etcd_downgrade.main, dict(CONNECTION, version=lower))
    assert result["failed"] and "cluster has a downgrade job in progress" in result["msg"]
    assert "run the same command again" in result["msg"].split("in progress", 1)[1]


@pytest.mark.parametrize("release,lower", RELEASES)
def test_cancel(run_module, etcd, release, lower):
    calls = etcd(release, "status-enabled")
    result = run_module(etcd_downgrade.main, dict(CONNECTION, version=lower, state="cancelled"))
    assert result["changed"] and result["target"] is None and calls[-1][:2] == ["downgrade", "cancel"]
    calls = etcd(release, "status-cancelled")
    assert not run_module(etcd_downgrade.main, dict(CONNECTION, version=lower, state="cancelled"))["changed"]
    assert len(calls) == 1


def test_a_version_that_is_no_minor_release_is_refused(run_module, etcd):
    etcd("etcd-3.7.4", "status-before")
    assert "must be a minor release X.Y" in run_module(etcd_downgrade.main, dict(CONNECTION, version="3.6.17"))["msg"]


@pytest.mark.parametrize("release,lower", RELEASES)
def test_the_cluster_read_reports_the_downgrade_and_the_storage_version(release, lower):
    def summary(status):
        parsed = parse_json_output(recorded(release, status)["stdout"])
        members = {"header": {}, "members": [{"ID": parsed[0]["Status"]["header"]["member_id"], "name": "etcd-1",
                                              "peerURLs": ["http://p"], "clientURLs": ["CLIENT"]}]}
        return etcd_cluster_info.summarize(members, [{"endpoint": "CLIENT", "health": True}], parsed, [])
    before = summary("status-before")["members"][0]["status"]
    assert before["downgrade"] is None and before["storage_version"] == "%s.0" % release.split("-")[1].rsplit(".", 1)[0]
    lowered = summary("status-storage-lowered")["members"][0]["status"]
    assert lowered["downgrade"] == {"target": lower + ".0"} and lowered["storage_version"] == lower + ".0"
    after = summary("status-after")["members"][0]["status"]
    assert after["downgrade"] is None and after["version"].startswith(lower + ".")
