#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_leader
short_description: Move an etcd cluster's leadership away from a member, or to it
version_added: 0.1.0
description:
  - With O(state=follower), makes sure member O(name) does not lead. When it leads, leadership goes to its
    successor, the started, healthy voting member that has applied the most of the raft log (the least to
    catch up, so the transfer completes at once; the first by name on a tie). The role moves leadership away
    this way before it restarts or removes the leader.
  - With O(state=leader), makes member O(name) the leader.
  - Runs C(etcdctl member list), C(endpoint status) and C(move-leader) on the managed host. The transfer is
    sent to the current leader's endpoint, which is the only one that serves it.
  - Waits until the members report the new leader, for at most O(timeout) seconds.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  name:
    description: The member's name (etcd's C(--name)).
    type: str
    required: true
  state:
    description:
      - V(follower) moves leadership away from the member if it leads.
      - V(leader) moves leadership to the member if it does not lead. It must be a started, healthy voting member.
    type: str
    choices: [follower, leader]
    default: follower
  timeout:
    description: Seconds to wait for the members to report the new leader.
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Reads the cluster and reports whether leadership would move, and to whom; moves nothing.
  diff_mode:
    support: full
    description: Shows the leader before and after.
  idempotent:
    support: full
    description: A second run finds the wanted leadership and changes nothing.
notes:
  - etcd refuses a transfer when RBAC authentication is enabled and no root credentials are given; the module
    then fails with etcd's answer.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Make sure etcd-1 does not lead before restarting it
  dcs.etcd.etcd_leader:
    name: etcd-1
    state: follower
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/server.crt
    key: /etc/etcd/server.key

- name: Hand leadership to etcd-3
  dcs.etcd.etcd_leader:
    name: etcd-3
    state: leader
"""

RETURN = r"""
leader_before:
  description: Name of the leader before the module ran, or null when the members did not agree on one.
  returned: always
  type: str
  sample: etcd-1
leader:
  description: Name of the leader afterwards (in check mode, the one it would be).
  returned: always
  type: str
  sample: etcd-2
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    EtcdctlError,
    leader_of,
    member_list,
    member_view,
    move_leader,
    with_status,
)
from ansible_collections.dcs.etcd.plugins.module_utils._membership import successor


def read(ctl):
    members = [member_view(m) for m in member_list(ctl).get("members", [])]
    viewed = with_status(ctl, members)
    return viewed, leader_of(viewed)


def choose_target(viewed, leader, name, state):
    """The member to hand leadership to, or None when nothing is to be done; ValueError when it cannot be."""
    if leader is None:
        raise ValueError("the members do not agree on a leader, so leadership cannot be moved")
    if state == "follower":
        if leader["name"] != name:
            return None
        target = successor(viewed, leader["id"])
        if target is None:
            raise ValueError("member %s leads and no other started, healthy voting member can take over" % name)
        return target
    if leader["name"] == name:
        return None
    target = next((m for m in viewed if m["name"] == name), None)
    if target is None:
        raise ValueError("no started member named %s" % name)
    if target["is_learner"] or not target["healthy"]:
        raise ValueError("member %s is %s and cannot lead" % (name, "a learner" if target["is_learner"] else "not healthy"))
    return target


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["follower", "leader"], default="follower"),
        timeout=dict(type="int", default=30),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    name, state = module.params["name"], module.params["state"]
    ctl = Etcdctl(module)
    try:
        viewed, leader = read(ctl)
        try:
            target = choose_target(viewed, leader, name, state)
        except ValueError as exc:
            module.fail_json(msg=str(exc), leader_before=leader["name"] if leader else None)
        result = dict(changed=target is not None, leader_before=leader["name"], leader=leader["name"])
        if target is not None:
            result["leader"] = target["name"]
            if not module.check_mode:
                move_leader(ctl, leader, target)
                deadline = time.monotonic() + module.params["timeout"]
                while True:
                    viewed, now = read(ctl)
                    if now is not None and now["id"] == target["id"]:
                        break
                    if time.monotonic() >= deadline:
                        module.fail_json(msg="etcd accepted the transfer to %s, but the members do not report it as "
                                             "leader after %ss" % (target["name"], module.params["timeout"]), **result)
                    time.sleep(0.2)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    if module._diff:
        result["diff"] = dict(before="leader: %s\n" % result["leader_before"], after="leader: %s\n" % result["leader"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
