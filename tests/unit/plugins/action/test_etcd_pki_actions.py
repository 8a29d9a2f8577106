# -*- coding: utf-8 -*-
"""plugins/action/etcd_pki.py, etcd_ca_rotation.py and etcd_binaries.py, run as Ansible's worker runs them: real
keys and certificates in a temporary CA directory (cryptography), check mode that writes nothing, the diff, the
CA's expiry thresholds; etcd_binaries' refusals before anything is sent."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import os

from ansible_collections.dcs.etcd.plugins.action.etcd_binaries import ActionModule as Binaries
from ansible_collections.dcs.etcd.plugins.action.etcd_ca_rotation import ActionModule as Rotation
from ansible_collections.dcs.etcd.plugins.action.etcd_pki import ActionModule as Pki


def pki_args(pki_dir, **kwargs):
    return dict(dict(pki_dir=str(pki_dir), member="10.0.0.11", common_name="etcd-1",
                     sans=["IP:10.0.0.11", "DNS:etcd-1"]), **kwargs)


def files(directory):
    return sorted(os.path.relpath(os.path.join(d, f), str(directory)) for d, _dirs, names in os.walk(str(directory))
                  for f in names if not f.startswith("."))


def test_check_mode_writes_nothing_and_says_what_a_run_would_do(run_action, tmp_path):
    result = run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path / "pki"), check_mode=True, diff=True)
    assert result["changed"] and not result.get("failed")
    assert result["diff"]["after"] == "%s\n" % result["reason"]
    assert files(tmp_path) == []


def test_a_member_certificate_is_issued_once(run_action, tmp_path):
    first = run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path))
    assert first["changed"] and first["ca_created"] and first["cert_issued"]
    assert "ca.crt" in files(tmp_path) and "members/10.0.0.11.crt" in files(tmp_path)
    again = run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path), diff=True)
    assert not again["changed"] and "diff" not in again


def test_a_ca_that_expires_too_soon_warns_or_fails(run_action, tmp_path):
    run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path, ca_valid_days=20))
    warned = run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path, ca_warn_days=30))
    assert not warned.get("failed") and "rotate it with ./etcd.yml -t etcd_ca_rotate" in warned["warnings"][0]
    failed = run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path, ca_warn_days=60, ca_fail_days=30))
    assert failed["failed"] and failed["msg"].startswith("etcd_pki: the cluster CA expires in ")


def test_a_client_certificate_needs_the_ca_when_told(run_action, tmp_path):
    args = pki_args(tmp_path, kind="client", member="app", common_name="app", sans=[], ca_must_exist=True)
    result = run_action(Pki, "dcs.etcd.etcd_pki", args)
    assert result["failed"] and result["msg"].startswith("etcd_pki: ") and files(tmp_path) == []


def test_a_rotation_step_moves_the_phase_once(run_action, tmp_path):
    run_action(Pki, "dcs.etcd.etcd_pki", pki_args(tmp_path))
    checked = run_action(Rotation, "dcs.etcd.etcd_ca_rotation", dict(pki_dir=str(tmp_path), step="begin"),
                         check_mode=True, diff=True)
    assert checked["changed"] and checked["diff"]["after"] == "phase: %s\n" % checked["phase"]
    before = files(tmp_path)
    begun = run_action(Rotation, "dcs.etcd.etcd_ca_rotation", dict(pki_dir=str(tmp_path), step="begin"))
    assert begun["changed"] and begun["phase"] == checked["phase"] and files(tmp_path) != before
    again = run_action(Rotation, "dcs.etcd.etcd_ca_rotation", dict(pki_dir=str(tmp_path), step="begin"))
    assert not again["changed"]
    early = run_action(Rotation, "dcs.etcd.etcd_ca_rotation", dict(pki_dir=str(tmp_path), step="complete"))
    assert early["failed"] and early["msg"].startswith("etcd_ca_rotation: ")


def test_binaries_refuse_two_sources_and_a_missing_archive_before_sending_anything(run_action, tmp_path):
    both = run_action(Binaries, "dcs.etcd.etcd_binaries", dict(src=str(tmp_path / "a.tar.gz"), archive="/tmp/b.tar.gz"))
    assert both["failed"] and both["msg"] == "src and archive are mutually exclusive"
    missing = run_action(Binaries, "dcs.etcd.etcd_binaries", dict(src=str(tmp_path / "etcd-v3.5.16-linux-amd64.tar.gz")))
    assert missing["failed"] and "etcd-v3.5.16-linux-amd64.tar.gz" in missing["msg"]
