#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_cluster_info
short_description: Read an etcd cluster's members, leader, and each member's status and health
version_added: 0.1.0
description:
  - Asks the cluster, through C(etcdctl -w json) on the managed host, for its member list, then the
    status and health of every started member and the active alarms, in one module run.
  - Reports whether the cluster is healthy as automation needs it, that is every member started,
    answering and healthy, all agreeing on one leader, and no alarm.
  - Read-only.
options:
  cluster_version:
    description:
      - Also read the cluster version (RV(cluster_version)), the minor release every member has agreed to speak,
        which etcd moves only after the last member of a rolling upgrade, and back by its downgrade.
      - etcdctl prints it nowhere, so it is read from the C(/version) endpoint of the first endpoint (over TLS with
        O(cacert), O(cert) and O(key) when given), which needs no user.
    type: bool
    default: false
  check_auth:
    description:
      - Also tell whether RBAC authentication is enabled (RV(auth_enabled)), for example before a 3.4 to 3.5
        upgrade, which etcd does not support with authentication on.
      - Works with etcd 3.4, which has no C(auth status) request. etcdctl logs in with a user name and a
        random password that cannot exist; etcd answers that authentication is not enabled, or that the
        login failed.
    type: bool
    default: false
extends_documentation_fragment:
  - dcs.etcd.connection
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Reading twice gives the same kind of answer and changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Read the cluster through the local member
  dcs.etcd.etcd_cluster_info:
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://127.0.0.1:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/server.crt
    key: /etc/etcd/server.key
  register: cluster

- name: Wait for a healthy cluster
  dcs.etcd.etcd_cluster_info:
  register: cluster
  until: cluster is succeeded and cluster.healthy
  retries: 30
  delay: 2
"""

RETURN = r"""
membership_serializable:
  description:
    - True when the linearizable member list failed (no quorum) and etcd 3.6 or later answered a serializable
      one, from the member's own view; the cluster is then reported not healthy.
  returned: success
  type: bool
cluster_id:
  description: The cluster ID, as etcd prints it (hexadecimal).
  returned: always
  type: str
  sample: bc3d4e5b3b6b0a0c
members:
  description: The member list.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Member ID in hexadecimal, as etcdctl prints it.
      type: str
    name:
      description: Member name; empty until a newly added member has started.
      type: str
    peer_urls:
      description: Peer URLs.
      type: list
      elements: str
    client_urls:
      description: Client URLs; empty until the member has started.
      type: list
      elements: str
    is_learner:
      description: Whether the member is a learner (non-voting).
      type: bool
    started:
      description: Whether the member has started (it has a name).
      type: bool
    healthy:
      description: Its client endpoint answered a health check.
      type: bool
    leader:
      description: Whether it is the leader.
      type: bool
    status:
      description:
        - Its endpoint status (version, raft_index, raft_applied_index, raft_term, db_size, leader), or null.
        - From etcd 3.6, also C(storage_version), and C(downgrade) (C(target), the release a downgrade under way
          takes the cluster to; null when none runs).
      type: dict
leader:
  description: ID (hexadecimal) of the leader all started members agree on, or null.
  returned: always
  type: str
leader_name:
  description: Name of the leader, or null.
  returned: always
  type: str
alarms:
  description: Active alarms, as C({member_id, alarm}) entries.
  returned: always
  type: list
  elements: dict
healthy:
  description: Every member started, answered and is healthy, all agree on one leader, and no alarm is active.
  returned: always
  type: bool
raft_index:
  description: The highest raft index any member reported (entries committed so far), or 0.
  returned: always
  type: int
statuses:
  description:
    - When the member list cannot be read (the module fails), each endpoint's own status by client URL
      (C(member_id), C(leader) it knows, C(0) for none, C(raft_index), C(version)), so that a cluster that
      lost its quorum can still be judged.
  returned: failure
  type: dict
cluster_version:
  description: The cluster version etcd's C(/version) reports (C(3.6.0); C(not_decided) right after a start), or null
    when it could not be read.
  returned: when O(cluster_version) is true
  type: str
  sample: 3.6.0
auth_enabled:
  description: Whether RBAC authentication is enabled; null when the answer did not tell.
  returned: when O(check_auth) is true
  type: bool
problems:
  description: Why RV(healthy) is false, one sentence each.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.http_client import HTTPException
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    alarm_view,
    EtcdctlError,
    auth_probe_result,
    hex_id,
    json_many,
    member_list,
    member_view,
    start_auth_probe,
    version_endpoint,
)


def summarize(member_list_json, health, status, alarms):
    """Combine the JSON of member list, endpoint health, endpoint status and alarm list."""
    header = (member_list_json or {}).get("header", {})
    by_url = dict((s.get("Endpoint"), s.get("Status", {})) for s in status or [])
    health_by_url = dict((h.get("endpoint"), h) for h in health or [])
    members = []
    problems = []
    leaders = set()
    for raw in (member_list_json or {}).get("members", []):
        member = member_view(raw)
        started = bool(member["name"])
        url = member["client_urls"][0] if member["client_urls"] else None
        st = by_url.get(url)
        hl = health_by_url.get(url, {})
        member.update(
            started=started,
            healthy=bool(hl.get("health")),
            # etcd 3.5 reports a member unhealthy while an alarm is active ("Active Alarm(s): NOSPACE").
            health_error=hl.get("error") or None,
            leader=False,
            status=None,
        )
        if st:
            member["status"] = dict(
                version=st.get("version"),
                # 3.6 and later: the version of the member's data, moved after the cluster version.
                storage_version=st.get("storageVersion"),
                # 3.6 and later: the minor a downgrade under way takes the cluster to (etcdctl downgrade enable).
                downgrade=dict(target=st["downgradeInfo"].get("targetVersion"))
                if (st.get("downgradeInfo") or {}).get("enabled") else None,
                db_size=st.get("dbSize"),
                db_size_in_use=st.get("dbSizeInUse"),
                leader=hex_id(st.get("leader", 0)),
                raft_index=st.get("raftIndex"),
                raft_term=st.get("raftTerm"),
                raft_applied_index=st.get("raftAppliedIndex"),
                errors=st.get("errors") or [],
            )
            if st.get("leader"):
                leaders.add(int(st["leader"]))
            member["leader"] = int(st.get("leader", 0)) == int(raw["ID"])
        if not started:
            problems.append("member %s (%s) was added but has not started" % (member["id"], ", ".join(member["peer_urls"])))
        elif not st:
            problems.append("member %s did not answer a status request" % member["name"])
        elif not member["healthy"]:
            problems.append("member %s is not healthy: %s" % (member["name"], hl.get("error") or "no health answer"))
        members.append(member)
    if len(leaders) != 1:
        problems.append("members do not agree on one leader (%s)" % (", ".join(hex_id(x) for x in sorted(leaders)) or "none"))
    alarm_list = [alarm_view(a) for a in alarms or []]
    for alarm in alarm_list:
        problems.append("alarm %s on member %s" % (alarm["alarm"], alarm["member_id"]))
    leader = hex_id(next(iter(leaders))) if len(leaders) == 1 else None
    raft_index = max([int(m["status"]["raft_index"] or 0) for m in members if m["status"]] + [0])
    leader_name = next((m["name"] for m in members if m["id"] == leader), None)
    return dict(
        cluster_id=hex_id(header["cluster_id"]) if "cluster_id" in header else None,
        members=members,
        leader=leader,
        leader_name=leader_name,
        alarms=alarm_list,
        healthy=not problems and bool(members),
        problems=problems,
        raft_index=raft_index,
    )


def local_statuses(ctl):
    """Each endpoint's own status, by client URL, when the cluster cannot be read (etcdctl 3.5 asks for a
    linearizable member list, which a member without a quorum cannot serve; a status is the member's own):
    member ID, leader it knows (0: none), raft index. Empty when no endpoint answers."""
    try:
        answers = json_many(ctl, [(["endpoint", "status"], ctl.endpoints)], optional=(0,))
    except (EtcdctlError, OSError):
        return {}
    return statuses_of(answers[0][1])


def statuses_of(parsed):
    """The statuses of `endpoint status -w json` (a list, or one entry) by endpoint."""
    result = {}
    for entry in parsed if isinstance(parsed, list) else [parsed] if isinstance(parsed, dict) else []:
        status = entry.get("Status") or {}
        header = status.get("header") or {}
        result[entry.get("Endpoint")] = dict(member_id=hex_id(header.get("member_id", 0)), leader=hex_id(status.get("leader", 0)),
                                             raft_index=status.get("raftIndex"), version=status.get("version"))
    return result


def main():
    module = AnsibleModule(argument_spec=dict(CONNECTION_ARGSPEC, check_auth=dict(type="bool", default=False),
                                              cluster_version=dict(type="bool", default=False)),
                           supports_check_mode=True)
    ctl = Etcdctl(module)
    extra = {}
    try:
        members = member_list(ctl)
        urls = [m["clientURLs"][0] for m in members.get("members", []) if m.get("clientURLs")]
        # Three independent requests, at the same time. Unhealthy or unreachable endpoints make etcdctl
        # exit non-zero but still print the others.
        requests = [(["alarm", "list"], None)]
        probe = start_auth_probe(ctl, (ctl.endpoints or urls or [None])[0]) if module.params["check_auth"] else None
        if urls:
            requests += [(["endpoint", "health"], urls), (["endpoint", "status"], urls)]
        # A cluster without a quorum answers no alarm list: reported as a problem, the rest is still read.
        answers = json_many(ctl, requests, optional=(0,))
        alarms = (answers[0][1] or {}).get("alarms") or []
        if answers[0][1] is None:
            extra["alarms_unknown"] = True
        health = (answers[1][1] or []) if urls else []
        status = (answers[2][1] or []) if urls else []
        if probe is not None:
            extra["auth_enabled"] = auth_probe_result(probe)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr, healthy=False,
                         statuses=local_statuses(ctl))
    if isinstance(health, dict):
        health = [health]
    if isinstance(status, dict):
        status = [status]
    result = summarize(members, health, status, alarms)
    if extra.pop("alarms_unknown", False):
        result["problems"].append("the alarm list could not be read")
        result["healthy"] = False
    if module.params["cluster_version"]:
        try:
            result["cluster_version"] = version_endpoint(ctl, (ctl.endpoints or urls or [None])[0]).get("etcdcluster")
        except (OSError, ValueError, HTTPException) as exc:
            result["cluster_version"] = None
            result["problems"].append("the cluster version could not be read: %s" % exc)
    result["membership_serializable"] = bool(members.get("serializable"))
    if result["membership_serializable"]:
        result["problems"].append("the member list could be read only without a quorum (serializable, each member's "
                                  "own view)")
        result["healthy"] = False
    module.exit_json(changed=False, **dict(result, **extra))


if __name__ == "__main__":
    main()
