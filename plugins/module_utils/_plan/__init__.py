# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: every cross-host decision of a run of the etcd role, as pure functions
over plain data. The etcd_plan action plugin gathers the inputs (the inventory, the parameters, the run's tags,
what the probes found on each member, the cluster as etcd reported it) and returns make_plan()'s result; the
role's tasks and templates only read it.

A run plans in up to three steps, each with what is known by then, each refusing as early as it can:
  1. the inventory and the parameters (no host has been contacted);
  2. plus what etcd_host_info found on every member (read-only);
  3. plus the cluster as etcd_cluster_info read it through a running member, when the run needs it.

Each refusal names the variable and the host, and no refusal comes after a change. Every rule is here once,
in the module named after its concern:

  inputs        what the run was given (Inputs), and its refusals and warnings
  tags          which stages and operations a run's tags select
  values        what one value may be (names, addresses, ports, paths, SANs, booleans)
  checks        step 1: the inventory and the parameters
  access        RBAC, the root login, consumer certificates (their checks and their plan)
  facts         what the probes and the cluster read found (Facts)
  identities    each member's name, address, URLs and certificate names
  guards        safeguard, lost data, another CA, identity changes, unreachable members
  disk_check    the disk check's figures
  membership    removals and joins
  versions      etcd's version rules; upgrade: the install source and the upgrade
  convergence   what each member does, restarts (leader last), the final check
  registration  Prometheus targets, rules and certificates
  rules         the rules the role's filters share (cluster_problems, restart_order, ...)
  operations/   one module per operation (backup, restore, recover, maintain, ca_rotate) and their registry
  pipeline      the order of the steps: make_plan"""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan.inputs import Inputs
from ansible_collections.dcs.etcd.plugins.module_utils._plan.pipeline import make_plan

__all__ = ["controller_paths", "make_plan"]


def controller_paths(raw):
    """What the action must look at on the controller before planning: the release archive given by path,
    and the CA certificate in the resolved etcd_pki_dir."""
    run = Inputs(raw, {})
    return dict(archive=run.archive_src(), pki_dir=run.pki_dir(),
                archive_path=run.archive_path() if run.param("etcd_install_method") == "archive" else None,
                restore_snapshot=str(run.param("etcd_restore_snapshot") or "") or None
                if run.operation == "restore" else None)
