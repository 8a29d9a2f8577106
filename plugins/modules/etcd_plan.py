#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_plan
short_description: Plan a run of the dcs.etcd.etcd role - membership, quorum, versions, restarts - or refuse it
version_added: 0.1.0
description:
  - Runs on the controller only (action plugin), once per run. Reads the inventory group of the cluster
    (C(etcd_cluster)), every member's parameters (its inventory variables, else the play's), the hosts and
    tags of the run, what M(dcs.etcd.etcd_host_info) found on each member and, when given, the cluster as
    M(dcs.etcd.etcd_cluster_info) read it. Returns one plan that the role's tasks and templates read.
  - Every cross-host decision is made here, once - each member's name and URLs, the initial cluster, which
    hosts join (and the membership each joins), which are removed, which must restart and in which order
    (followers first, the leader last, and its successor), whether an upgrade is safe, and what a healthy
    result must look like.
  - Refuses the run, before it changes anything, with messages that name the variable and the host - bad
    parameters and inventory, tags that do nothing, a CA that is not the members', a data directory that
    is not etcd's, lost data, a membership change that would cost the quorum, a changed member address, an
    unsafe version change. A refused plan fails the task; its C(refusals) list every reason.
  - The role calls it three times - with the inventory only (before any host is contacted), with the probes,
    and (when the run needs it) with the cluster as read through a running member.
options:
  scope:
    description:
      - V(cluster) plans the run of the role for the cluster group.
      - V(run) only checks that O(cluster) names an inventory group with hosts and that the run's tags are
        the role's stages, for a play that runs before the role (a playbook that names no hosts succeeds
        silently otherwise).
    type: str
    choices: [cluster, run]
    default: cluster
  cluster:
    description: The cluster's name (its inventory group). Default is the C(etcd_cluster) variable.
    type: str
  probe_var:
    description: Name of the variable each member of the run registered M(dcs.etcd.etcd_host_info) in.
    type: str
    default: __etcd_host
  others_probe_var:
    description: Name of the variable that holds the looped, delegated probes of the members outside the run.
    type: str
    default: __etcd_others_probe
  read_var:
    description: Name of the variable that holds the M(dcs.etcd.etcd_cluster_info) result, when the cluster was read.
    type: str
  paths:
    description: The role's file locations on a member (C(conf_file), C(unit_file), C(permit), C(ca_file)).
    type: dict
    default: {}
  phase:
    description:
      - Which step of a run in several steps this planning follows, for the plan to take the next one.
      - C(rebuilt) - the members were wiped for a rebuild (C(etcd_clean=true)) in this run; plan a new cluster.
      - C(recovered) - the first half of a recovery (C(-t etcd_recover)) is done in this run; plan the re-adding of
        the other members as a converge with C(etcd_init=existing) plans it.
      - C(compacted) - the maintenance (C(-t etcd_maintain)) has compacted the keyspace in this run; plan the
        defragmentation.
      - Empty - the run's first planning.
    type: str
    choices: ["", rebuilt, recovered, compacted]
    default: ""
  peers_var:
    description:
      - Name of the variable that holds the results of a loop of M(ansible.builtin.wait_for) over the old members'
        peer URLs (C(item.url)) that a restore found outside the inventory; one that did not fail answers.
    type: str
attributes:
  check_mode:
    support: full
    description: The plan only reads; check mode plans the same.
  diff_mode:
    support: none
    description: Nothing changes.
  idempotent:
    support: full
    description: Planning changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Plan the run
  dcs.etcd.etcd_plan:
    paths: {conf_file: /etc/etcd/etcd.conf, unit_file: /etc/systemd/system/etcd.service,
            permit: /etc/etcd/bootstrap-permit, ca_file: /etc/etcd/ca.crt}
  run_once: true
  register: plan

- name: Check the cluster group and the tags before a role runs
  dcs.etcd.etcd_plan:
    scope: run
    cluster: "{{ etcd_cluster | default('etcd') }}"
"""

RETURN = r"""
step:
  description: What the plan was made from - C(inputs) (inventory only), C(probed) (the cluster must be read
    next), C(final).
  returned: always
  type: str
refusals:
  description: Why the run is refused, one message each, naming the variable and the host; empty when it may go on.
  returned: always
  type: list
  elements: str
warnings:
  description: What the run should tell the operator but does not stop for (an even member count, an unreachable member).
  returned: always
  type: list
  elements: str
hosts:
  description:
    - Per inventory host of the cluster - name, address, peer_url, client_url, data_dir, cert_sans,
      initial_cluster and initial_cluster_state (what this run writes), client_endpoints, install, start,
      restart_reasons, remove, wipe, and what the probe found (running, has_data, reachable).
  returned: always
  type: dict
order:
  description: The cluster's hosts, in inventory order.
  returned: always
  type: list
  elements: str
joiners:
  description: Hosts that join, in order, each with the membership it joins (initial_cluster).
  returned: when planned with the probes
  type: list
  elements: dict
removal:
  description:
    - What the run removes - active (a removal or a rebuild), rebuild (C(etcd_clean=true)), purge
      (C(-t etcd_purge)), rebuilt (the second half of a rebuild), hosts (the hosts whose members leave),
      partial (members stay), members (to remove from the membership) and via (the host and endpoints to send
      the removals through).
  returned: when planned with the probes
  type: dict
refresh:
  description: The members of the run (run_hosts) and outside it (others) whose config and etcdctl profile record
    the settled membership.
  returned: when the plan is final
  type: dict
upgrade:
  description: Hosts to upgrade, the target, and where the snapshot taken first goes (the leader's host), or null.
  returned: when planned with the probes
  type: dict
restart:
  description: order (followers first, the leader last), leader_host and the leader's successor.
  returned: when the plan is final
  type: dict
verify:
  description: Where to read the cluster through, and what a healthy result must look like (expect, restart_expect).
  returned: when the plan is final
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._plan.inputs import ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="dcs.etcd.etcd_plan runs on the controller through its action plugin; "
                         "it cannot run as a module on a managed host.")


if __name__ == "__main__":
    main()
