# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_ca_rotate: a new CA in phases, each installed on every member
(a rolling restart for each change of the trusted CAs) and on the consumers and monitoring hosts; refused
unless every member is in the run and healthy."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan.convergence import plan_final_check, plan_restarts
from ansible_collections.dcs.etcd.plugins.module_utils._plan.registration import plan_register
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems, expect_every_member
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool, names


# An operation starts no member as a converge does: a member that lost its data is no reason to refuse it (a
# restore or a recovery is what that member needs).
ACCEPTS_LOST_DATA = True
# Whether it writes certificates, so that a CA on the members that is not the controller's must be refused.
WRITES_CERTIFICATES = True


def rotation_steps(phase, installed, all_phases):
    """The steps of dcs.etcd.etcd_ca_rotation one -t etcd_ca_rotate run takes from a phase: one phase per run, so
    that consumers that read their CA file only at start can be restarted in between (all_phases: every one).
    A phase that has not reached every host yet (a run interrupted while it installed it: installed false) is
    installed again first, and that run ends there, with the message that phase ends with. The finish phase and
    the completion go together: only the controller's files change after it."""
    order = ["begin", "reissue", "finish", "complete"]
    start = {None: 0, "trust": 1, "reissue": 2, "finish": 2}[phase]
    if phase in ("trust", "reissue") and not installed:
        start -= 1
    if all_phases:
        return order[start:]
    return order[start:start + 1] if start < 2 else order[2:]


def plan_ca_rotate(run, facts, plan):
    """-t etcd_ca_rotate: a new CA in three phases, each installed on every member (a rolling restart for each
    change of the trusted CAs; none for the reissued certificates, which etcd reads for every new connection)
    and on the consumers and monitoring hosts. Refused unless every member of the cluster is in the run and the
    cluster is healthy: a member left out would stop trusting, or being trusted by, the others."""
    hosts = facts.hosts
    left_out = [h for h in run.order if h not in run.play]
    if left_out:
        run.refuse("-t etcd_ca_rotate rotates the CA of every member of %s: run it without -l (left out: %s). "
                   "Nothing was changed." % (run.cluster, names(left_out)))
        return
    if not facts.read_ok:
        run.refuse("Cannot rotate the CA of cluster %s: %s. Nothing was changed." % (
            run.cluster, facts.read_problem or "no member of it is running"))
        return
    expect = expect_every_member(facts.hosts, run.order)
    problems = cluster_problems(facts.read, expect)
    down = [h for h in run.order if not (facts.states.get(h) or {}).get("running")]
    if down:
        problems.append("%s not running" % names(down))
    if problems:
        run.refuse("Refusing to rotate the CA of cluster %s: it is not healthy (%s). Nothing was changed."
                   % (run.cluster, "; ".join(problems)))
        return
    # A member that runs with files older than those on disk (a rotation interrupted during its restarts) is
    # restarted first, before any certificate of another CA reaches the members.
    plan_restarts(run, facts, plan, [], [])
    plan_final_check(run, facts, plan, list(run.order), [], [])
    plan_register(run, facts, plan)
    phase = run.controller.get("ca_rotation")
    installed = run.controller.get("ca_rotation_installed", True)
    plan["ca_rotation"] = dict(phase=phase, installed=installed,
                               steps=rotation_steps(phase, installed, as_bool(run.param("etcd_ca_rotate_all"))
                                                    and not run.check_mode),
                               ca_common_name="dcs.etcd CA (%s) %s" % (run.cluster, run.controller.get("stamp", "")))
