# -*- coding: utf-8 -*-
"""module_utils/_etcdctl.py: what a user reads when etcdctl fails. Every failure recorded from real etcd
(tests/unit/fixtures/etcdctl, rc != 0) becomes a message with etcd's own answer (not etcdctl's JSON log lines)
and what to do next (the modules pass it on: tests/unit/plugins/modules/test_module_failures.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _etcdctl
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import ADVICE, DEFAULT_ADVICE, EtcdctlError

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "etcdctl"
FAILURES = sorted(p.name[:-5] for p in FIXTURES.glob("*.json") if json.loads(p.read_text())["rc"])
ADVICES = [what for _needles, what in ADVICE]


def recorded(name):
    return json.loads((FIXTURES / (name + ".json")).read_text())


def test_failures_were_recorded_from_every_release_of_the_fixtures():
    assert len(FAILURES) > 50
    assert set(name.split("-")[1] for name in FAILURES) >= {"3.4.23", "3.5.1", "3.5.16"}


@pytest.mark.parametrize("name", FAILURES)
def test_a_recorded_failure_reads_as_etcds_answer_and_what_to_do(name):
    answer = recorded(name)
    message = str(EtcdctlError(["member", "list"], answer["rc"], answer["stdout"], answer["stderr"]))
    errors = [line[len("Error:"):].strip() for line in answer["stderr"].splitlines() if line.startswith("Error:")]
    for error in errors:
        assert error.rstrip(".") in message
    assert '{"level"' not in message and "Unknown error" not in message
    assert message.startswith("etcdctl member list failed (rc=%d): " % answer["rc"])
    assert any(message.endswith(what) for what in ADVICES + [DEFAULT_ADVICE]), message


@pytest.mark.parametrize("name,advice", [
    ("etcd-3.5.16-nospace-put", "-t etcd_maintain"),
    ("etcd-3.5.16-member-add-duplicate", "resumes a join"),
    ("etcd-3.5.1-member-add-duplicate", "resumes a join"),
    ("etcd-3.5.16-member-promote-not-started", "has not caught up"),
    ("etcd-3.5.16-member-promote-voter", "a voter already"),
    ("etcd-3.5.16-member-remove-missing", "reads the membership as it is now"),
    ("etcd-3.5.16-member-remove-new-leader", "start the members that are down"),
    ("etcd-3.5.16-lost-quorum-member-list", "keep a quorum"),
    ("etcd-3.5.1-one-down-endpoint-status", "check that the member runs"),
    ("etcd-3.5.16-auth-user-list-no-user", "use the root client certificate"),
    ("etcd-3.5.16-auth-login-wrong-password", "set etcd_root_password"),
    ("etcd-3.5.16-auth-put-denied", "etcd_roles"),
    ("etcd-3.5.16-auth-auth-enable-without-root", "set etcd_root_password"),
    ("etcd-3.5.16-auth-role-get-missing", "create it through etcd_roles"),
    ("etcd-3.5.16-snapshot-status-corrupt", "take a new one"),
    ("etcd-3.4.23-snapshot-restore-bump", "etcd --version"),
])
def test_known_answers_get_their_own_advice(name, advice):
    answer = recorded(name)
    message = str(EtcdctlError(["x"], answer["rc"], answer["stdout"], answer["stderr"]))
    assert advice in message and DEFAULT_ADVICE not in message, message


def test_an_answer_without_an_error_line_is_the_last_plain_line_or_the_log_entrys_error():
    assert _etcdctl.etcd_answer("", "") == "no output"
    assert _etcdctl.etcd_answer("warning: x\nsomething broke\n") == "something broke"
    log = json.dumps({"level": "warn", "msg": "retrying", "error": "rpc error: code = Unavailable"})
    assert _etcdctl.etcd_answer(log + "\n") == "rpc error: code = Unavailable"
