# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_restart_order
short_description: The order in which a rolling restart takes the members
version_added: 0.1.0
description:
  - Orders the inventory hosts to restart as the etcd role's plan (M(dcs.etcd.etcd_plan)) lists the members,
    followers first and the leader last, the leader taken from a fresh M(dcs.etcd.etcd_cluster_info) result
    (leadership may have moved since the plan was made).
positional: _input, plan, cluster
options:
  _input:
    description: Inventory hosts to restart.
    type: list
    elements: str
    required: true
  plan:
    description: The registered plan of M(dcs.etcd.etcd_plan).
    type: dict
    required: true
  cluster:
    description: A fresh result of M(dcs.etcd.etcd_cluster_info); without it, the leader the plan saw.
    type: dict
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Restart followers first, the leader last
  ansible.builtin.include_tasks: shared/restart_member.yml
  loop: "{{ hosts_to_restart | dcs.etcd.etcd_restart_order(plan, cluster) }}"
"""

RETURN = r"""
_value:
  description: The hosts, followers first, the leader last.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import restart_order


def etcd_restart_order(hosts, plan, cluster=None):
    if not isinstance(hosts, list) or not isinstance(plan, dict):
        raise AnsibleFilterError("etcd_restart_order expects a list of hosts and the plan")
    return restart_order(hosts, plan, cluster if isinstance(cluster, dict) and "members" in cluster else None)


class FilterModule(object):
    def filters(self):
        return {"etcd_restart_order": etcd_restart_order}
