#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_role
short_description: Manage an etcd RBAC role and its key permissions
version_added: 0.1.0
description:
  - Creates, updates or deletes one etcd role through C(etcdctl -w json) on the managed host.
  - The role holds exactly the permissions of O(permissions) once O(prune=true). Without O(prune), a permission
    the role holds but O(permissions) does not name is left alone and reported in RV(drift).
  - Works whether RBAC authentication is on or off; with it on, connect as root (the role's root client
    certificate, CN C(root), or the root user).
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  name:
    description: Name of the role. C(root) is etcd's own and cannot be managed here.
    type: str
    required: true
  permissions:
    description:
      - The role's permissions. Each entry gives exactly one of C(prefix) (every key that starts with it) and
        C(key) (that key alone), and C(access).
    type: list
    elements: dict
    default: []
    suboptions:
      prefix:
        description: A key prefix, such as C(/pg-test/).
        type: str
      key:
        description: A single key.
        type: str
      access:
        description: What the role may do there.
        type: str
        choices: [read, write, readwrite]
        default: read
  state:
    description: Whether the role exists (V(present)) or not (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description: Revoke the permissions the role holds that O(permissions) does not name.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the role and reports what would change; changes nothing.
  diff_mode:
    support: full
    description: The role's permissions before and after, one per line.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: A role that reads and writes the keys of one Patroni cluster
  dcs.etcd.etcd_role:
    name: pg-test
    permissions:
      - {prefix: /pg/pg-test/, access: readwrite}
    prune: true
    endpoints: ["https://10.0.0.11:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/root.crt
    key: /etc/etcd/root.key
"""

RETURN = r"""
permissions:
  description: The role's permissions after the run, as C(READ|WRITE|READWRITE KEY*) (a prefix) or C(... KEY).
  returned: always
  type: list
  elements: str
granted:
  description: The permissions granted by this run.
  returned: always
  type: list
  elements: str
revoked:
  description: The permissions revoked by this run (O(prune)).
  returned: always
  type: list
  elements: str
drift:
  description: Permissions the role holds that O(permissions) does not name, left in place (O(prune=false)).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    EtcdctlError,
    parse_json_output,
)
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import (
    ROOT,
    describe,
    missing,
    parse_role,
    permission_of,
    prefix_end,
    role_changes,
)

PERMISSION_SPEC = dict(prefix=dict(type="str", no_log=False), key=dict(type="str", no_log=False),
                       access=dict(type="str", choices=["read", "write", "readwrite"], default="read"))


def read_role(ctl, name):
    """The role's permissions, or None when it does not exist."""
    args = ["role", "get", name, "-w", "json"]
    rc, out, err = ctl.run(args)
    if rc != 0:
        if missing(err):
            return None
        raise EtcdctlError(args, rc, out, err)
    return parse_role(parse_json_output(out))


def perm_args(permission):
    kind, key, end = permission
    if not end:
        return [key]
    if end == prefix_end(key):
        return [key, "--prefix"]
    return [key, end]


def main():
    module = AnsibleModule(
        argument_spec=dict(CONNECTION_ARGSPEC, name=dict(type="str", required=True),
                           permissions=dict(type="list", elements="dict", default=[], options=PERMISSION_SPEC,
                                            mutually_exclusive=[("prefix", "key")], required_one_of=[("prefix", "key")]),
                           state=dict(type="str", choices=["present", "absent"], default="present"),
                           prune=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
    name, state = module.params["name"], module.params["state"]
    if name == ROOT:
        module.fail_json(msg="name=root: etcd's root role is managed by the role itself (etcd_root_password)")
    ctl = Etcdctl(module)
    try:
        current = read_role(ctl, name)
        before = "\n".join(describe(p) for p in current or []) + ("\n" if current else "")
        if state == "absent":
            if current is not None and not module.check_mode:
                ctl.check(["role", "delete", name])
            module.exit_json(changed=current is not None, permissions=[], granted=[], revoked=[describe(p) for p in current or []],
                             drift=[], diff=dict(before=before, after=""))
        wanted = sorted(set(permission_of(p) for p in module.params["permissions"]))
        grant, revoke, drift = role_changes(current or [], wanted, module.params["prune"])
        changed = current is None or bool(grant or revoke)
        if not module.check_mode:
            if current is None:
                ctl.check(["role", "add", name])
            for permission in grant:
                ctl.check(["role", "grant-permission", name, permission[0].lower()] + perm_args(permission))
            for permission in revoke:
                ctl.check(["role", "revoke-permission", name] + perm_args(permission))
        after = sorted(set(wanted) | set(drift))
        module.exit_json(changed=changed, permissions=[describe(p) for p in after], granted=[describe(p) for p in grant],
                         revoked=[describe(p) for p in revoke], drift=[describe(p) for p in drift],
                         diff=dict(before=before, after="\n".join(describe(p) for p in after) + ("\n" if after else "")))
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stderr=exc.stderr)


if __name__ == "__main__":
    main()
