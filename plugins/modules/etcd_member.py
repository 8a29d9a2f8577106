#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_member
short_description: Add, promote or remove an etcd cluster member
version_added: 0.1.0
description:
  - Ensures a member of a running etcd cluster is V(present) (added, as a learner by default, and
    optionally promoted once it is in sync), V(promoted) to a voting member, or V(absent).
  - Looks the member up by O(name) or by any of O(peer_urls) before acting, so a repeated run changes
    nothing. A member that was added but has not started yet has no name in etcd; it is found by its peer
    URL.
  - Runs C(etcdctl) on the managed host. Requests that etcd refuses for a while after a leader change or
    while a learner catches up (C(unhealthy cluster), C(not in sync with leader)) are retried until
    O(timeout).
  - Removing the leader first hands leadership to its successor with C(etcdctl move-leader). The successor is
    the started, healthy voting member that has applied the most of the raft log, the rule the role uses for
    restarts too.
    The removal is sent to the other started voting members only, because a member serving its own removal stops
    before it answers. An answer of C(server stopped) is retried; the retry finds the member gone.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  name:
    description:
      - Member name (etcd's C(--name)). Required to add a member.
      - A member is matched by this name or by any of O(peer_urls).
    type: str
  peer_urls:
    description: The member's peer URLs. Required to add a member.
    type: list
    elements: str
  state:
    description:
      - V(present) adds the member when no member matches; see O(learner) and O(promote).
      - V(promoted) makes a learner a voting member, waiting until it is in sync; a voting member is left
        as it is. The member must exist.
      - V(absent) removes the member when one matches; a member that is already gone is not an error.
    type: str
    choices: [present, promoted, absent]
    default: present
  learner:
    description: Add the member as a learner (non-voting until promoted). Only used when a member is added.
    type: bool
    default: true
  promote:
    description: With O(state=present), also promote the member once it is in sync (as O(state=promoted)).
    type: bool
    default: false
  timeout:
    description: Seconds to keep retrying a request that etcd refuses for now (promotion of a learner that
      is not in sync yet, membership changes right after a leader change).
    type: int
    default: 60
  expect_peer_urls:
    description:
      - With O(state=present) or O(state=promoted), fail unless the peer URLs of the membership after the
        change are exactly these. A member about to start with an C(initial-cluster) that names them checks
        that nobody changed the membership since it was read (etcd refuses to start it otherwise).
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    description: Looks the member up and reports what would change; changes nothing.
  diff_mode:
    support: full
    description: Shows the member list before and after, one member per line.
  idempotent:
    support: full
    description: A second run with the same arguments reports no change.
notes:
  - C(etcdctl member promote -w json) promotes the learner and then crashes in etcdctl's JSON printer
    (3.4 and 3.5); the module uses etcdctl's plain output for that command and checks the result in the
    member list.
  - A membership change the cluster did not apply in time (C(request timed out), or etcdctl's
    C(context deadline exceeded)) or lost to a leader change is retried until O(timeout); the retry finds it
    applied (the member exists, is a voter, is gone) or makes it.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Add etcd-4 as a learner through a running member
  dcs.etcd.etcd_member:
    name: etcd-4
    peer_urls: ["https://10.0.0.14:2380"]
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://10.0.0.11:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/server.crt
    key: /etc/etcd/server.key
  register: added
# Start etcd on the new host with initial-cluster-state existing and
# initial-cluster "{{ added.initial_cluster }}", then:

- name: Promote etcd-4 once it has caught up with the leader
  dcs.etcd.etcd_member:
    name: etcd-4
    state: promoted
    timeout: 120

- name: Remove etcd-4 (leadership is moved away first if it leads)
  dcs.etcd.etcd_member:
    name: etcd-4
    state: absent
"""

RETURN = r"""
member:
  description: The member after the change (null when absent). Its name is empty until it has started.
  returned: always
  type: dict
  contains:
    id:
      description: Member ID in hexadecimal, as etcdctl prints it.
      type: str
    name:
      description: Member name.
      type: str
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
    client_urls:
      description: Client URLs (empty until it has started).
      type: list
      elements: str
    is_learner:
      description: Whether it is a learner.
      type: bool
member_id:
  description: ID of the member (hexadecimal), or null if there is none.
  returned: always
  type: str
  sample: 8e9e05c52164694d
members:
  description: All members after the change, in the form of RV(member).
  returned: always
  type: list
  elements: dict
initial_cluster:
  description:
    - The C(initial-cluster) value a member joining with this membership starts with (C(name=peer-url)
      pairs, as C(etcdctl member add) prints them). Members that have not started have no name yet.
  returned: when O(state) is V(present) or V(promoted) and the member exists
  type: str
  sample: etcd-1=https://10.0.0.11:2380,etcd-4=https://10.0.0.14:2380
leader_moved_to:
  description: Name of the member that took over leadership before the removal, if the member led.
  returned: when O(state=absent)
  type: str
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
from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster, successor

# Refusals that pass by themselves: retried until the timeout.
NOT_IN_SYNC = "which is in sync with leader"
UNHEALTHY = "unhealthy cluster"
NOT_LEARNER = "can only promote a learner member"
NOT_FOUND = "member not found"
# The member that served the request stopped (it applied its own removal, or was removed just before).
SERVER_STOPPED = "server stopped"
ALREADY_EXISTS = "already exist"
# A proposal the leader did not apply in time (slow disks, a busy host; etcd's answer, or etcdctl's own
# --command-timeout running out first) or lost to a leader change: it may or may not have been applied. Retried;
# the retry then finds the change done (already exists, not a learner any more, not found) or makes it.
TRANSIENT = ["request timed out", "leader changed", "context deadline exceeded"]


def find_member(members, name, peer_urls):
    """The member matching name or any peer URL; an error if two different members match."""
    by_name = [m for m in members if name and m["name"] == name]
    by_url = [m for m in members if peer_urls and set(m["peer_urls"]) & set(peer_urls)]
    matches = dict((m["id"], m) for m in by_name + by_url)
    if len(matches) > 1:
        found = sorted("%s (%s)" % (m["id"], m["name"] or "not started") for m in matches.values())
        raise ValueError("name %s and peer URLs %s match different members: %s"
                         % (name, ", ".join(peer_urls or []), ", ".join(found)))
    return next(iter(matches.values()), None)


def voter_endpoints(members):
    """Client URLs of the started voting members: where membership changes are sent (a learner refuses them)."""
    return [m["client_urls"][0] for m in members if m["client_urls"] and not m["is_learner"]]


def removal_endpoints(members, member):
    """Client URLs of the started voting members other than member: where its removal is sent."""
    return [m["client_urls"][0] for m in members
            if m["client_urls"] and not m["is_learner"] and m["id"] != member["id"]]


def describe(members):
    """One line per member, for the diff."""
    lines = ["%s %s %s %s" % (m["name"] or "(not started)", m["id"], "learner" if m["is_learner"] else "voter",
                              ",".join(m["peer_urls"])) for m in members]
    return "\n".join(sorted(lines)) + ("\n" if lines else "")


class Membership(object):
    """Membership requests, each sent to the endpoints its caller names."""

    def __init__(self, module):
        self.module = module
        self.ctl = Etcdctl(module)
        self.deadline = time.monotonic() + module.params["timeout"]

    def list(self, endpoints):
        parsed = member_list(self.ctl, endpoints)
        return [member_view(m) for m in parsed.get("members", [])]

    def retry(self, args, retry_on, endpoints, json_output=True):
        """Run etcdctl until it succeeds, fails for another reason, or the timeout passes."""
        while True:
            rc, out, err = self.ctl.run(list(args) + (["-w", "json"] if json_output else []), endpoints)
            if rc == 0 or not any(text in err for text in retry_on) or time.monotonic() >= self.deadline:
                return rc, out, err
            time.sleep(1)

    def add(self, name, peer_urls, learner, endpoints):
        args = ["member", "add", name, "--peer-urls=" + ",".join(peer_urls)] + (["--learner"] if learner else [])
        rc, out, err = self.retry(args, [UNHEALTHY] + TRANSIENT, endpoints)
        if rc != 0 and ALREADY_EXISTS not in err:
            raise EtcdctlError(args, rc, out, err)

    def promote(self, member, endpoints):
        args = ["member", "promote", member["id"]]
        # Plain output: `-w json` crashes etcdctl after the promotion (3.4 and 3.5).
        rc, out, err = self.retry(args, [NOT_IN_SYNC, UNHEALTHY] + TRANSIENT, endpoints, json_output=False)
        if rc == 0:
            return
        if NOT_LEARNER in err and NOT_IN_SYNC not in err:
            # Promoted already, for example by an earlier request whose answer was lost.
            current = find_member(self.list(endpoints), None, member["peer_urls"])
            if current and not current["is_learner"]:
                return
        if NOT_IN_SYNC in err:
            self.module.fail_json(msg="learner %s (%s) did not catch up with the leader within %ss (timeout); is "
                                      "it running and can it reach the other members' peer URLs?"
                                      % (member["name"] or member["id"], ", ".join(member["peer_urls"]),
                                         self.module.params["timeout"]), stderr=err)
        raise EtcdctlError(args, rc, out, err)

    def move_leader(self, members, member):
        """Hand leadership to the successor (the shared rule: the healthy voter that has applied the most) if
        member leads; return the successor's name, or None when member does not lead."""
        viewed = with_status(self.ctl, members)
        leader = leader_of(viewed)
        if leader is None or leader["id"] != member["id"]:
            return None
        target = successor(viewed, member["id"])
        if target is None:
            return None
        move_leader(self.ctl, leader, target)
        return target["name"]

    def remove(self, member, members):
        """Remove member through the other started voters: a member that serves its own removal stops before
        it answers ("server stopped"), and so does one removed just before whose removal a stale member list
        still shows. Such an answer is retried; the removal may have been applied already (then "not found").
        Returns the endpoints it used."""
        args = ["member", "remove", member["id"]]
        endpoints = removal_endpoints(members, member) or self.ctl.endpoints
        rc, out, err = self.retry(args, [UNHEALTHY, SERVER_STOPPED] + TRANSIENT, endpoints)
        if rc != 0 and NOT_FOUND not in err:
            raise EtcdctlError(args, rc, out, err)
        return endpoints


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(
        name=dict(type="str"),
        peer_urls=dict(type="list", elements="str"),
        state=dict(type="str", choices=["present", "promoted", "absent"], default="present"),
        learner=dict(type="bool", default=True),
        promote=dict(type="bool", default=False),
        timeout=dict(type="int", default=60),
        expect_peer_urls=dict(type="list", elements="str"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("name", "peer_urls")],
        required_if=[("state", "present", ("name", "peer_urls"))],
    )
    params = module.params
    name, peer_urls, state = params["name"], params["peer_urls"], params["state"]
    membership = Membership(module)
    result = dict(changed=False)
    try:
        before = membership.list(membership.ctl.endpoints)
        try:
            member = find_member(before, name, peer_urls)
        except ValueError as exc:
            module.fail_json(msg=str(exc))
        if state == "present" and member and not set(peer_urls) & set(member["peer_urls"]):
            module.fail_json(msg="member %s exists with peer URLs %s, not %s; remove it first"
                                 % (name, ", ".join(member["peer_urls"]), ", ".join(peer_urls)))
        if state == "promoted" and not member:
            module.fail_json(msg="no member named %s or with peer URLs %s to promote"
                                 % (name or "-", ", ".join(peer_urls or []) or "-"))
        wants_promotion = state == "promoted" or (state == "present" and params["promote"])
        adding = state == "present" and member is None
        promoting = wants_promotion and (adding and params["learner"] or member is not None and member["is_learner"])
        removing = state == "absent" and member is not None
        result["changed"] = adding or promoting or removing
        # Membership changes go to the started voting members only.
        voters = voter_endpoints(before) or membership.ctl.endpoints

        if module.check_mode:
            after = [m for m in before if not (removing and m["id"] == member["id"])]
            if adding:
                member = dict(id="", name=name, peer_urls=list(peer_urls), client_urls=[],
                              is_learner=params["learner"] and not wants_promotion)
                after.append(member)
            elif promoting:
                after = [dict(m, is_learner=False) if m["id"] == member["id"] else m for m in after]
                member = dict(member, is_learner=False)
        else:
            listed_via = voters
            if removing:
                result["leader_moved_to"] = membership.move_leader(before, member)
                listed_via = membership.remove(member, before)
            if adding:
                membership.add(name, peer_urls, params["learner"], voters)
                member = find_member(membership.list(voters), name, peer_urls)
            if promoting:
                membership.promote(member, voters)
            # After a removal, list through the members that stay, not through the removed one.
            after = membership.list(listed_via)
            member = None if state == "absent" else find_member(after, name, peer_urls)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr, **result)

    if state == "absent":
        member = None
    result.update(member=member, member_id=member["id"] or None if member else None, members=after)
    if member is not None:
        result["initial_cluster"] = initial_cluster(after, dict((url, name or member["name"]) for url in member["peer_urls"]))
    if params["expect_peer_urls"] is not None and state != "absent":
        have = sorted(url for m in after for url in m["peer_urls"])
        if have != sorted(params["expect_peer_urls"]):
            module.fail_json(msg="the membership is now %s, not %s as expected (expect_peer_urls): it changed since "
                                 "the caller read it" % (", ".join(have), ", ".join(sorted(params["expect_peer_urls"]))),
                             **result)
    if module._diff:
        result["diff"] = dict(before=describe(before), after=describe(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
