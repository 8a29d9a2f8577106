# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The golden net under a change of the plan's shape: the unit tests, run with

    PLAN_GOLDEN=record:FILE   record every plan that make_plan (and every answer controller_paths) returns,
                              keyed by its inputs;
    PLAN_GOLDEN=check:FILE    fail a test whose inputs give another plan than the one recorded (compared as
                              JSON with sorted keys, byte for byte), and the session if a recorded situation
                              was not met again.

Without PLAN_GOLDEN nothing changes. Record before a move, check after each step of it."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import os

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline

MODE, _SEP, FILE = (os.environ.get("PLAN_GOLDEN") or "").partition(":")
RECORDED = {}
MET = set()


def canonical(value):
    return json.dumps(value, sort_keys=True, default=repr)


def key_of(function, args):
    return hashlib.sha256((function + canonical(args)).encode("utf-8")).hexdigest()


def pytest_sessionfinish(session, exitstatus):
    if MODE == "record":
        with open(FILE, "w") as handle:
            json.dump(RECORDED, handle, sort_keys=True, indent=0)
    elif MODE == "check":
        missing = sorted(set(RECORDED) - MET)
        if missing and exitstatus == 0 and not session.config.getoption("keyword") \
                and not session.config.getoption("markexpr") and len(session.config.args) == 1:
            session.exitstatus = 1
            print("\nplan golden net: %d recorded situations were not met again (first: %s)" % (len(missing), missing[0]))


def netted(function, original):
    def wrapper(*args):
        key = key_of(function, args)
        result = original(*args)
        got = canonical(result)
        if MODE == "record":
            RECORDED[key] = got
        elif key in RECORDED:
            MET.add(key)
            assert got == RECORDED[key], "plan golden net: %s gave another result for the same inputs" % function
        else:
            pytest.fail("plan golden net: %s was called with inputs that were not recorded" % function)
        return result
    return wrapper


@pytest.fixture(autouse=True)
def plan_golden_net(monkeypatch):
    if MODE == "check" and not RECORDED:
        with open(FILE) as handle:
            RECORDED.update(json.load(handle))
    if MODE in ("record", "check"):
        for function in ("make_plan", "controller_paths"):
            monkeypatch.setattr(pipeline, function, netted(function, getattr(pipeline, function)))
    yield
