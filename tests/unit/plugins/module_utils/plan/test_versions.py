# -*- coding: utf-8 -*-
"""module_utils/_plan/versions.py: which release reads which setting."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import gated_settings, release_warnings, tls_min_version_supported
from .conftest import CA, healthy, inputs, running


@pytest.mark.parametrize("version,supported", [("3.4.23", False), ("3.4.25", True), ("3.5.7", False),
                                               ("3.5.8", True), ("3.5.16", True), ("3.6.0", True), (None, False)])
def test_tls_min_version_is_written_where_etcd_reads_it(version, supported):
    assert tls_min_version_supported(version) is supported


@pytest.mark.parametrize("version,written", [
    # etcd 3.6 takes its former experimental booleans as feature gates; 3.7 has no experimental-* setting left and
    # drops an unknown key of its config file without a word (etcd --help of 3.5.36, 3.6.17 and 3.7.4).
    ("3.4.23", {"experimental-initial-corrupt-check": True}),
    ("3.5.36", {"experimental-initial-corrupt-check": True}),
    ("3.6.17", {"feature-gates": "InitialCorruptCheck=true"}),
    ("3.7.4", {"feature-gates": "InitialCorruptCheck=true"}),
    (None, {"experimental-initial-corrupt-check": True}),
])
def test_the_corruption_check_is_written_in_the_form_each_release_reads(version, written):
    assert gated_settings(version, ["initial_corrupt_check"]) == written
    assert gated_settings(version, []) == {}


def test_an_end_of_life_line_and_a_release_below_the_next_upgrades_floor_are_named():
    # 3.4: no floor before 3.5 (etcd's 3.4 -> 3.5 guide names none), its line is out of support.
    (eol,) = release_warnings("3.4.23")
    assert "out of support upstream since 2026-05-15" in eol and eol.startswith("etcd_version: etcd 3.4.23")
    (below,) = release_warnings("3.5.16", source="etcd_archive_src")
    assert below.startswith("etcd_archive_src: etcd 3.5.16 is below 3.5.32") and "before 3.6" in below
    (below,) = release_warnings("3.6.10")
    assert "below 3.6.11" in below and "before 3.7" in below
    assert release_warnings("3.5.36") == release_warnings("3.6.17") == release_warnings("3.7.4") == []
    assert release_warnings(None) == release_warnings("garbage") == []


def test_the_plan_writes_each_members_config_for_the_release_it_runs_after_the_run():
    # A 3.6 cluster upgraded to 3.7 by the archive: the config is written for 3.7 before the restart; a member
    # that stays on what it runs keeps its own release's form.
    plan = pipeline.make_plan(inputs(probes=running(3, version="3.6.17"), cluster=healthy(3, version="3.6.17"),
                                     params={"etcd_install_method": "archive",
                                             "etcd_archive_src": "/srv/etcd-v3.7.4-linux-amd64.tar.gz"}),
                              {"ca_sha256": CA, "archive_exists": True})
    assert not plan["refusals"], plan["refusals"]
    assert plan["upgrade"]["target"] == "3.7.4"
    assert {h["gated_settings"]["feature-gates"] for h in plan["hosts"].values()} == {"InitialCorruptCheck=true"}
    plan = pipeline.make_plan(inputs(probes=running(3), cluster=healthy(3), params={"etcd_initial_corrupt_check": False}),
                              {"ca_sha256": CA})
    assert [h["gated_settings"] for h in plan["hosts"].values()] == [{}, {}, {}]
    plan = pipeline.make_plan(inputs(probes=running(3), cluster=healthy(3)), {"ca_sha256": CA})
    assert [h["gated_settings"] for h in plan["hosts"].values()] == [{"experimental-initial-corrupt-check": True}] * 3
    assert any("3.5.16 is below 3.5.32" in w for w in plan["warnings"]), plan["warnings"]


@pytest.mark.parametrize("version,rbac,expected", [
    ("3.6.9", True, "refuses member list, endpoint status and alarm list to users other than root"),
    ("3.6.11", True, "refuses endpoint status to users other than root"),
    ("3.5.28", True, "Choose 3.5.32 or later"),
    ("3.6.12", True, None),
    ("3.6.9", False, None),
])
def test_a_release_that_refuses_consumers_their_reads_is_named_with_rbac_on(version, rbac, expected):
    said = [w for w in release_warnings(version, rbac=rbac) if "users other than root" in w or "Choose" in w]
    if expected is None:
        assert said == []
    else:
        assert [w for w in said if expected in w], said
