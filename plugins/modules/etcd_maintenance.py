#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_maintenance
short_description: Compact an etcd cluster, defragment one member, disarm the NOSPACE alarm, prove a write
version_added: 0.1.0
description:
  - One maintenance step per call, through C(etcdctl -w json) on the managed host. The role decides what to run
    and in which order (one member at a time, the leader last); the module does the step and reports it.
  - O(state=compacted) compacts the keyspace, physically (so that the freed pages can be defragmented), to the
    current revision minus O(keep). A revision at or below the one already compacted changes nothing.
  - O(state=defragmented) defragments the one member of O(endpoints), which blocks that member meanwhile, and
    reports its database size before and after.
  - O(state=disarmed) disarms the NOSPACE alarms; nothing changes when none is raised.
  - O(state=written) writes a probe key and deletes it again, to prove that the cluster takes writes.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  state:
    description: The step, see the description.
    type: str
    choices: [compacted, defragmented, disarmed, written]
    required: true
  keep:
    description: For O(state=compacted), how many revisions behind the current one to keep (0 with the NOSPACE alarm).
    type: int
    default: 1000
  quota:
    description:
      - For O(state=disarmed), the backend quota (C(etcd_quota_backend_bytes)). Every member's data must fit under
        it with O(margin) to spare, else the module fails with the quota to raise it to and disarms nothing.
    type: int
  margin:
    description: For O(state=disarmed), the share of the quota to keep free (C(0.2) is 20 %).
    type: float
    default: 0.2
  probe_key:
    description: For O(state=written), the key written and deleted.
    type: str
    default: /dcs.etcd/maintenance-probe
notes:
  - For O(state=defragmented), O(endpoints) must name exactly one member. Give a large O(command_timeout) for a
    large database.
attributes:
  check_mode:
    support: full
    description: Reads what it can (alarms, sizes, the compacted revision) and reports whether the step would change anything.
  diff_mode:
    support: none
    description: Nothing to show as a text diff.
  idempotent:
    support: partial
    description: C(compacted) and C(disarmed) change nothing the second time; C(defragmented) defragments again; C(written) writes again.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Compact the keyspace, keeping the last 1000 revisions
  dcs.etcd.etcd_maintenance:
    state: compacted
    keep: 1000
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]

- name: Defragment member etcd-2
  dcs.etcd.etcd_maintenance:
    state: defragmented
    endpoints: ["https://10.0.0.12:2379"]
    command_timeout: 120
"""

RETURN = r"""
db_size_before:
  description: For C(defragmented), the member's database file before, in bytes.
  returned: state defragmented
  type: int
db_size:
  description: For C(defragmented), the member's database file after, in bytes.
  returned: state defragmented
  type: int
db_size_in_use:
  description: For C(defragmented), the bytes in use after.
  returned: state defragmented
  type: int
led:
  description: For C(defragmented), whether the member was the leader when its defragmentation began (the role makes sure it is not).
  returned: state defragmented
  type: bool
alarms:
  description: For C(disarmed), the alarms that were raised.
  returned: state disarmed
  type: list
  elements: dict
revision:
  description: For C(compacted), the revision compacted to (or that was already compacted); 0 when there was nothing to compact.
  returned: state compacted
  type: int
needed_quota:
  description: For C(disarmed), the quota the data needs when it does not fit (the module fails then).
  returned: failure of state disarmed
  type: int
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import CONNECTION_ARGSPEC, Etcdctl, EtcdctlError, alarm_view
from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import compact_revision, quota_needed

ALREADY_COMPACTED = "required revision has been compacted"


def status_of(ctl, endpoints=None):
    rc, parsed, err = ctl.json(["endpoint", "status"], endpoints)
    entry = parsed[0] if isinstance(parsed, list) and parsed else parsed
    if rc != 0 or not isinstance(entry, dict):
        raise EtcdctlError(["endpoint", "status"], rc, "", err)
    return entry.get("Status") or {}


def leads(status):
    """Whether the member that answered `status` was the leader then."""
    return bool(status.get("leader")) and status.get("leader") == (status.get("header") or {}).get("member_id")


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(state=dict(type="str", choices=["compacted", "defragmented", "disarmed", "written"], required=True),
                         keep=dict(type="int", default=1000), quota=dict(type="int"), margin=dict(type="float", default=0.2),
                         probe_key=dict(type="str", no_log=False, default="/dcs.etcd/maintenance-probe"))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    ctl = Etcdctl(module)
    state = module.params["state"]
    try:
        if state == "compacted":
            current = int((status_of(ctl, ctl.endpoints[:1]).get("header") or {}).get("revision") or 0)
            revision = compact_revision(current, module.params["keep"])
            if revision <= 0:
                module.exit_json(changed=False, revision=0)
            args = ["compaction", str(revision), "--physical"]
            if module.check_mode:
                module.exit_json(changed=True, revision=revision)
            rc, out, err = ctl.run(args)
            if rc != 0 and ALREADY_COMPACTED in err:
                module.exit_json(changed=False, revision=revision)
            if rc != 0:
                raise EtcdctlError(args, rc, out, err)
            module.exit_json(changed=True, revision=revision)
        if state == "defragmented":
            if len(ctl.endpoints or []) != 1:
                module.fail_json(msg="endpoints must name exactly one member to defragment, got %s" % (ctl.endpoints or []))
            before = status_of(ctl)
            if module.check_mode:
                module.exit_json(changed=True, db_size_before=before.get("dbSize"), db_size=before.get("dbSize"),
                                 db_size_in_use=before.get("dbSizeInUse"), led=leads(before))
            args = ["defrag"]
            rc, out, err = ctl.run(args)
            if rc != 0:
                raise EtcdctlError(args, rc, out, err)
            after = status_of(ctl)
            module.exit_json(changed=True, db_size_before=before.get("dbSize"), db_size=after.get("dbSize"),
                             db_size_in_use=after.get("dbSizeInUse"), led=leads(before))
        if state == "disarmed":
            rc, parsed, err = ctl.json(["alarm", "list"])
            if rc != 0 or not isinstance(parsed, dict):
                raise EtcdctlError(["alarm", "list"], rc, "", err)
            alarms = [alarm_view(a) for a in parsed.get("alarms") or []]
            if not alarms:
                module.exit_json(changed=False, alarms=[])
            if module.params["quota"]:
                rc, listed, err = ctl.json(["endpoint", "status"])
                sizes = [int((e.get("Status") or {}).get("dbSizeInUse") or (e.get("Status") or {}).get("dbSize") or 0)
                         for e in (listed if isinstance(listed, list) else [listed or {}])]
                if rc != 0 or len(sizes) != len(ctl.endpoints or []):
                    raise EtcdctlError(["endpoint", "status"], rc, "", err)
                needed = quota_needed(sizes, module.params["quota"], module.params["margin"])
                if needed:
                    module.fail_json(msg="the data still does not fit under the quota with %d %% to spare (largest member: %d "
                                         "bytes in use, quota %d): raise etcd_quota_backend_bytes to %d (a rolling restart "
                                         "with ./etcd.yml), then run -t etcd_maintain again. The alarm stays raised."
                                         % (module.params["margin"] * 100, max(sizes), module.params["quota"], needed),
                                     needed_quota=needed, alarms=alarms)
            if not module.check_mode:
                args = ["alarm", "disarm"]
                rc, out, err = ctl.run(args)
                if rc != 0:
                    raise EtcdctlError(args, rc, out, err)
            module.exit_json(changed=True, alarms=alarms)
        # written
        if module.check_mode:
            module.exit_json(changed=True)
        key = module.params["probe_key"]
        for args in (["put", key, "written by dcs.etcd to prove that the cluster takes writes"], ["del", key]):
            rc, out, err = ctl.run(args)
            if rc != 0:
                raise EtcdctlError(args, rc, out, err)
        module.exit_json(changed=True)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stderr=exc.stderr)


if __name__ == "__main__":
    main()
