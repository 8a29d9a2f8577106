# -*- coding: utf-8 -*-
"""module_utils/_plan/operations/ca_rotate.py: -t etcd_ca_rotate."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ansible_collections.dcs.etcd.plugins.module_utils._plan.operations.ca_rotate import rotation_steps
from ..conftest import CA, healthy, inputs, refused, running


def test_a_ca_rotation_needs_the_whole_healthy_cluster():
    plan = pipeline.make_plan(inputs(tags=("etcd_ca_rotate",), probes=running(3), cluster=healthy(3)),
                              {"ca_sha256": CA, "ca_rotation": "trust", "stamp": "T"})
    assert not plan["refusals"] and plan["operation"] == "ca_rotate"
    assert plan["ca_rotation"] == {"phase": "trust", "installed": True, "ca_common_name": "dcs.etcd CA (etcd) T",
                                   "steps": ["reissue"]}
    assert rotation_steps(None, True, False) == ["begin"]
    assert rotation_steps("reissue", True, False) == ["finish", "complete"]
    assert rotation_steps(None, True, True) == ["begin", "reissue", "finish", "complete"]
    assert rotation_steps("finish", True, False) == ["finish", "complete"]
    assert plan["verify"]["host"] and plan["register"]["mode"] == "converge"
    limited = pipeline.make_plan(inputs(tags=("etcd_ca_rotate",), play=["10.0.0.11"], probes=running(3), cluster=healthy(3)),
                                 {"ca_sha256": CA})
    assert refused(limited, "run it without -l (left out: 10.0.0.12, 10.0.0.13)")
    probes = running(3)
    probes["10.0.0.13"] = dict(probes["10.0.0.13"], service_state="inactive", service_active=False)
    down = pipeline.make_plan(inputs(tags=("etcd_ca_rotate",), probes=probes, cluster=healthy(3)), {"ca_sha256": CA})
    assert refused(down, "Refusing to rotate the CA", "10.0.0.13 not running")


def test_a_phase_a_killed_run_did_not_install_everywhere_is_installed_again_and_the_run_ends_there():
    # The run that began phase reissue was killed before every host held it: the same command installs reissue
    # again (its step is a no-op on the controller) and ends with reissue's message, so that consumers that read
    # their certificate only at start can still be restarted before finish stops trusting the old CA.
    plan = pipeline.make_plan(inputs(tags=("etcd_ca_rotate",), probes=running(3), cluster=healthy(3)),
                              {"ca_sha256": CA, "ca_rotation": "reissue", "ca_rotation_installed": False, "stamp": "T"})
    assert not plan["refusals"] and plan["ca_rotation"]["steps"] == ["reissue"]
    assert rotation_steps("trust", False, False) == ["begin"]
    assert rotation_steps("trust", False, True) == ["begin", "reissue", "finish", "complete"]
    # finish goes with the completion anyway: installing it again changes no file that is already there.
    assert rotation_steps("finish", False, False) == ["finish", "complete"]


def test_members_holding_a_bundle_of_the_rotation_are_not_strangers():
    other = "e" * 64
    probes = running(3)
    probes["10.0.0.12"]["paths"]["/etc/etcd/ca.crt"] = {"exists": True, "sha256": other}
    assert refused(pipeline.make_plan(inputs(probes=probes, cluster=healthy(3)), {"ca_sha256": CA}), "Pushing another CA")
    assert not pipeline.make_plan(inputs(probes=probes, cluster=healthy(3)), {"ca_sha256": CA, "ca_sha256s": [CA, other]})[
        "refusals"]
