# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_cluster_problems
short_description: Why an etcd cluster, as read, is not in the state a run expects
version_added: 0.1.0
description:
  - Judges the result of M(dcs.etcd.etcd_cluster_info) against an expectation and returns one sentence per
    problem (an empty list when the cluster is as expected). The etcd role waits on it after starting,
    restarting, adding and removing members, with the expectations its plan (M(dcs.etcd.etcd_plan)) made.
  - Always checked, every started member healthy (except the members the expectation tolerates as down), one
    leader all agree on, no alarm, and a quorum of healthy voting members (with O(_input) margin to spare).
positional: _input, expect
options:
  _input:
    description: The registered result of M(dcs.etcd.etcd_cluster_info) (a failed read is a problem).
    type: dict
    required: true
  expect:
    description:
      - C(members), a list of C({name, peer_url}) the membership must equal, none a learner (omit to skip).
      - C(tolerate_down), peer URLs or names of members known to be down (not a problem while a quorum stays).
      - C(margin), how many more voting members may go down with a quorum still healthy (1 before a restart).
      - C(versions), a dict of member names to the etcd version each of those members must run.
      - C(catch_up), C({name, index}), a member that must have applied at least that raft index.
      - C(tolerate_alarms), alarm names that are no problem (C(NOSPACE) while maintenance recovers from it; etcd
        3.5 then reports every member unhealthy, which is no problem either).
    type: dict
    required: true
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Wait until the cluster is healthy with the expected members
  dcs.etcd.etcd_cluster_info:
  register: cluster
  until: "cluster | dcs.etcd.etcd_cluster_problems({'members': expected_members}) | length == 0"
  retries: 60
  delay: 1
"""

RETURN = r"""
_value:
  description: One sentence per problem; empty when the cluster is as expected.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems


def etcd_cluster_problems(read, expect):
    if not isinstance(read, dict) or not isinstance(expect, dict):
        raise AnsibleFilterError("etcd_cluster_problems expects the etcd_cluster_info result and a dict")
    return cluster_problems(read, expect)


class FilterModule(object):
    def filters(self):
        return {"etcd_cluster_problems": etcd_cluster_problems}
