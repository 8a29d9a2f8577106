# -*- coding: utf-8 -*-
"""plugins/action/etcd_plan.py: what the action gathers for the plan (the parameters without a secret, each
member's own values, the probes, the read, the peers that answered) and what it finds on the controller (the
archive, the CA, a restore's snapshot and sidecar)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import pathlib

import pytest
import yaml

from ansible_collections.dcs.etcd.plugins.action.etcd_plan import ActionModule, masked, without_secrets
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import MASK

ROLE = pathlib.Path(__file__).resolve().parents[4] / "roles" / "etcd"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
HOSTS = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
PASSWORD = "Root-Secret-1"
USER_PASSWORD = "App-Secret-2"


def task_vars(tmp_path, params=None, hostvars=None, **extra):
    """The task_vars of the plan task on the first member: the role's defaults, the play's hosts, each host's own
    variables (etcd_seq)."""
    own = dict((h, dict({"etcd_seq": i + 1, "inventory_dir": str(tmp_path)}, **(hostvars or {}).get(h, {})))
               for i, h in enumerate(HOSTS))
    found = dict(DEFAULTS, etcd_cluster="etcd", etcd_pki_dir=str(tmp_path / "pki"), **(params or {}))
    found.update(groups={"all": HOSTS, "ungrouped": [], "etcd": HOSTS}, ansible_play_hosts_all=list(HOSTS),
                 ansible_run_tags=["all"], ansible_skip_tags=[], hostvars=own)
    found.update(extra)
    return found


def gathered(run_action, tmp_path, monkeypatch, args=None, **kwargs):
    """The inputs the action hands make_plan, and the action's result."""
    seen = {}
    from ansible_collections.dcs.etcd.plugins.action import etcd_plan

    def recording(inputs, controller):
        seen.update(inputs=inputs, controller=controller)
        return real(inputs, controller)
    real = etcd_plan.make_plan
    monkeypatch.setattr(etcd_plan, "make_plan", recording)
    result = run_action(ActionModule, "dcs.etcd.etcd_plan", dict({"paths": {}}, **(args or {})),
                        task_vars=task_vars(tmp_path, **kwargs))
    return seen.get("inputs"), seen.get("controller"), result


@pytest.mark.parametrize("value,expected", [
    (PASSWORD, MASK), ("two words", "it contains whitespace"), ("", ""), (None, None), (42, "it is not a string")])
def test_a_password_reaches_the_plan_only_as_whether_it_is_usable(value, expected):
    assert masked(value) == expected
    users = without_secrets({"etcd_root_password": value, "etcd_users": [{"name": "app", "password": value}, "bad"]})
    assert users["etcd_root_password"] == (expected or "")
    assert users["etcd_users"] == [{"name": "app", "password": expected}, "bad"]


def test_no_secret_reaches_the_plan_or_its_result(run_action, tmp_path, monkeypatch):
    params = dict(etcd_auth=True, etcd_root_password=PASSWORD,
                  etcd_users=[dict(name="app", password=USER_PASSWORD, permissions=[dict(prefix="/app/", access="readwrite")])])
    inputs, controller, result = gathered(run_action, tmp_path, monkeypatch, params=params)
    text = json.dumps([inputs, controller, result])
    assert PASSWORD not in text and USER_PASSWORD not in text
    assert inputs["params"]["etcd_root_password"] == MASK and inputs["params"]["etcd_users"][0]["password"] == MASK


def test_no_secret_of_the_off_host_store_reaches_the_plan(run_action, tmp_path, monkeypatch):
    params = dict(etcd_backup_s3_url="http://127.0.0.1:9/etcd-backups", etcd_backup_s3_access_key="AKIDSECRETID",
                  etcd_backup_s3_secret_key="VerySecretKey/123")
    inputs, controller, result = gathered(run_action, tmp_path, monkeypatch, params=params)
    text = json.dumps([inputs, controller, result])
    assert "AKIDSECRETID" not in text and "VerySecretKey/123" not in text
    assert inputs["params"]["etcd_backup_s3_secret_key"] == MASK and not result.get("failed"), result.get("msg")
    assert result["step"] == "inputs" and not result.get("failed"), result.get("msg")


def test_a_password_with_a_blank_is_refused_without_its_text(run_action, tmp_path, monkeypatch):
    inputs, controller, result = gathered(run_action, tmp_path, monkeypatch,
                                          params=dict(etcd_auth=True, etcd_root_password="Root Secret"))
    assert result["failed"] and "etcd_root_password is not usable (it contains whitespace)" in result["msg"]
    assert "Root Secret" not in json.dumps(result)


def test_each_member_s_own_values_probes_read_and_peers_are_gathered(run_action, tmp_path, monkeypatch):
    probe = {"service_state": "active", "data_initialized": True}
    hostvars = {HOSTS[0]: {"etcd_port": 12379, "__etcd_host": probe, "unrelated": 1},
                HOSTS[1]: {"__etcd_others_probe": {"results": [
                    {"item": HOSTS[2], "service_state": "inactive"}, {"item": "skipped", "skipped": True}]}}}
    peers = {"results": [{"item": {"url": "https://10.0.0.9:2380"}, "state": "started"},
                         {"item": {"url": "https://10.0.0.8:2380"}, "msg": "Timeout when waiting for 10.0.0.8:2380"}]}
    inputs, controller, result = gathered(
        run_action, tmp_path, monkeypatch, hostvars=hostvars, args=dict(read_var="__read", peers_var="__peers", phase="recovered"),
        __read={"skipped": True}, __peers=peers, __etcd_host=probe)
    assert inputs["host_params"][HOSTS[0]] == {"etcd_seq": 1, "etcd_port": 12379}
    assert inputs["host_facts"][HOSTS[0]] == {"inventory_dir": str(tmp_path), "ansible_host": None}
    assert inputs["probes"][HOSTS[0]] == probe and inputs["probes"][HOSTS[2]]["service_state"] == "inactive"
    assert "skipped" not in inputs["probes"] and HOSTS[1] not in inputs["probes"]
    assert inputs["cluster_read"] is None
    assert inputs["peers"] == {"https://10.0.0.9:2380": True, "https://10.0.0.8:2380": False}
    assert (inputs["recovered"], inputs["rebuilt"], inputs["compacted"]) == (True, False, False)
    assert controller["stamp"] and not result.get("failed"), result.get("msg")


def test_the_archive_is_checked_on_the_controller(run_action, tmp_path, monkeypatch):
    archive = tmp_path / "etcd-v3.5.16-linux-amd64.tar.gz"
    archive.write_bytes(b"not really an archive")
    params = dict(etcd_install_method="archive", etcd_archive_src=str(archive), etcd_archive_checksum="0" * 64)
    inputs, controller, result = gathered(run_action, tmp_path, monkeypatch, params=params)
    assert controller["archive_exists"] and controller["archive_sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    assert result["failed"] and "has sha256 %s but etcd_archive_checksum=" % controller["archive_sha256"] in result["msg"]
    missing = dict(params, etcd_archive_src=str(tmp_path / "etcd-v3.5.17-linux-amd64.tar.gz"), etcd_archive_checksum="")
    inputs, controller, result = gathered(run_action, tmp_path, monkeypatch, params=missing)
    assert result["failed"] and "no such file on the controller" in result["msg"]


def test_a_restore_s_snapshot_and_sidecar_are_read_on_the_controller(tmp_path):
    snapshot = tmp_path / "etcd-20261206.db"
    snapshot.write_bytes(b"snapshot")
    found = ActionModule.restore_snapshot(str(snapshot))
    assert found["exists"] and found["sidecar"] is None and found["sidecar_path"] == str(tmp_path / "etcd-20261206.json")
    assert found["sha256"] == hashlib.sha256(b"snapshot").hexdigest()
    (tmp_path / "etcd-20261206.json").write_text(json.dumps({"sha256": found["sha256"], "keys": 3}))
    assert ActionModule.restore_snapshot(str(snapshot))["sidecar"] == {"sha256": found["sha256"], "keys": 3}
    (tmp_path / "etcd-20261206.json").write_text("[1, 2]")
    broken = ActionModule.restore_snapshot(str(snapshot))
    assert broken["sidecar"] is None and broken["sidecar_error"] == "not a JSON object"
    assert not ActionModule.restore_snapshot(str(tmp_path / "absent.db"))["exists"]


def test_a_run_scope_refuses_tags_and_groups_before_anything(run_action, tmp_path):
    result = run_action(ActionModule, "dcs.etcd.etcd_plan", dict(scope="run", cluster="etcd"),
                        task_vars=task_vars(tmp_path, ansible_run_tags=["etcd_env"]))
    assert result["failed"] and result["refusals"] == [result["msg"]] and result["msg"].startswith("-t etcd_env:")
    result = run_action(ActionModule, "dcs.etcd.etcd_plan", dict(scope="run", cluster="meta"), task_vars=task_vars(tmp_path))
    assert result["failed"] and "etcd_cluster=meta names no inventory group with hosts (groups: etcd)" in result["msg"]
    assert run_action(ActionModule, "dcs.etcd.etcd_plan", dict(scope="run"), task_vars=task_vars(tmp_path)) == \
        {"changed": False, "refusals": []}
