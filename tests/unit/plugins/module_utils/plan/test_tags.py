# -*- coding: utf-8 -*-
"""module_utils/_plan/tags.py: what a run's tags select, and which combinations are refused."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan.tags import run_problems, stages_run
from .conftest import make, refused


def test_cluster_group_and_tags():
    assert run_problems({"etcd": ["a"]}, "etcd", ["all"]) == []
    assert "names no inventory group" in run_problems({"etcd": ["a"], "other": []}, "nosuch", ["all"])[0]
    assert "names no inventory group" in run_problems({"empty": []}, "empty", ["all"])[0]
    assert "must be a simple name" in run_problems({}, "a b", ["all"])[0]
    for tag in ("etcd_env", "etcd_member"):
        problems = run_problems({"etcd": ["a"]}, "etcd", [tag])
        assert problems and "-t %s" % tag in problems[0] and "would run nothing" in problems[0]
    assert "no such stage" in run_problems({"etcd": ["a"]}, "etcd", ["etcd_lanch"])[0]
    # A role tagged by the user's own site playbook, and Ansible's own tags, are not ours to refuse.
    assert run_problems({"etcd": ["a"]}, "etcd", ["etcd", "database", "always"]) == []
    assert "cannot be combined" in run_problems({"etcd": ["a"]}, "etcd", ["etcd_clean", "etcd_install"])[0]
    # Skipping a tag that does nothing is harmless; skipping one that does not exist is a typo.
    assert run_problems({"etcd": ["a"]}, "etcd", ["all"], ["etcd_env"]) == []
    # Pigsty's etcd_check is ours too: the read-only status, on its own.
    assert run_problems({"etcd": ["a"]}, "etcd", ["etcd_check"]) == []
    assert "runs on its own" in run_problems({"etcd": ["a"]}, "etcd", ["etcd_check", "etcd_launch"])[0]
    assert run_problems({"etcd": ["a"]}, "etcd", ["etcd_register"]) == []
    assert "--skip-tags etcd_lanch: no such stage" in run_problems({"etcd": ["a"]}, "etcd", ["all"], ["etcd_lanch"])[0]


def test_stages_from_tags():
    every = {"install": True, "dir": True, "cert": True, "conf": True, "register": True, "auth": True}
    assert stages_run(["all"]) == every
    assert stages_run(["etcd_auth"]) == dict((k, k == "auth") for k in every)
    assert stages_run(["etcd_cert"]) == dict((k, k == "cert") for k in every)
    assert stages_run(["etcd_config"]) == dict((k, k in ("cert", "conf")) for k in every)
    assert stages_run(["all"], ["etcd_cert"]) == dict(every, cert=False)
    assert stages_run(["etcd_register"]) == dict((k, k == "register") for k in every)


@pytest.mark.parametrize("tags,expected", [
    (("etcd_restore", "etcd_config"), "-t etcd_config,etcd_restore: etcd_restore runs on its own"),
    (("etcd_backup", "etcd_recover"), "etcd_backup and etcd_recover runs on its own"),
])
def test_an_operation_runs_on_its_own(tags, expected):
    assert refused(make(tags=tags), expected)
