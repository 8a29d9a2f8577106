#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_user
short_description: Manage an etcd RBAC user, its password and its roles
version_added: 0.1.0
description:
  - Creates, updates or deletes one etcd user through C(etcdctl) on the managed host. The password goes to
    etcdctl on its standard input, never on a command line.
  - "The password is checked by logging in as the user, which tells only while RBAC authentication is on
    (with it off etcd takes any password): then a wrong password is changed. With authentication off, the
    password is set when the user is created."
  - A user holds exactly the roles of O(roles) once O(prune=true). Without O(prune), a role the user holds but
    O(roles) does not name is left alone and reported in RV(drift).
  - With authentication on, connect as root (the role's root client certificate, CN C(root), or the root user).
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  name:
    description: Name of the user. C(root) is managed by M(dcs.etcd.etcd_auth).
    type: str
    required: true
  user_password:
    description:
      - The user's password. Without it, the user has none and logs in with a client certificate whose CN is
        its name (gRPC clients such as etcdctl; etcd's HTTP gateway needs a password).
    type: str
  roles:
    description: The roles the user holds.
    type: list
    elements: str
    default: []
  state:
    description: Whether the user exists (V(present)) or not (V(absent)).
    type: str
    choices: [present, absent]
    default: present
  prune:
    description: Revoke the roles the user holds that O(roles) does not name.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the user and reports what would change; changes nothing.
  diff_mode:
    support: full
    description: The user's roles before and after (never the password).
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: The user Patroni of cluster pg-test logs in with
  dcs.etcd.etcd_user:
    name: pg-test
    user_password: "{{ vault_etcd_pg_test_password }}"
    roles: [pg-test]
    prune: true
    endpoints: ["https://10.0.0.11:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/root.crt
    key: /etc/etcd/root.key
  no_log: true
"""

RETURN = r"""
roles:
  description: The user's roles after the run.
  returned: always
  type: list
  elements: str
granted:
  description: The roles granted by this run.
  returned: always
  type: list
  elements: str
revoked:
  description: The roles revoked by this run (O(prune)).
  returned: always
  type: list
  elements: str
drift:
  description: Roles the user holds that O(roles) does not name, left in place (O(prune=false)).
  returned: always
  type: list
  elements: str
created:
  description: The user was created by this run.
  returned: always
  type: bool
password_changed:
  description: The password was found wrong (authentication on) and changed by this run.
  returned: always
  type: bool
password_checked:
  description: Whether the password could be checked (authentication on). False with it off.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    EtcdctlError,
    login_result,
    parse_json_output,
)
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import ROOT, missing, parse_names, user_changes


def read_user(ctl, name):
    """The user's roles, or None when it does not exist."""
    args = ["user", "get", name, "-w", "json"]
    rc, out, err = ctl.run(args)
    if rc != 0:
        if missing(err):
            return None
        raise EtcdctlError(args, rc, out, err)
    return parse_names(parse_json_output(out), "roles")


def add_user(ctl, name, password):
    if password is None:
        # 3.5's --no-password; 3.4 has no such flag: a random password nobody knows does the same there.
        ctl.check(["user", "add", name, "--interactive=false"], data=random_password())
    else:
        ctl.check(["user", "add", name, "--interactive=false"], data=password)


def random_password():
    import binascii
    import os
    return binascii.hexlify(os.urandom(24)).decode()


def main():
    module = AnsibleModule(
        argument_spec=dict(CONNECTION_ARGSPEC, name=dict(type="str", required=True),
                           user_password=dict(type="str", no_log=True),
                           roles=dict(type="list", elements="str", default=[]),
                           state=dict(type="str", choices=["present", "absent"], default="present"),
                           prune=dict(type="bool", default=False)),
        supports_check_mode=True,
    )
    name, state, password = module.params["name"], module.params["state"], module.params["user_password"]
    if name == ROOT:
        module.fail_json(msg="name=root: etcd's root user is managed by dcs.etcd.etcd_auth (etcd_root_password)")
    ctl = Etcdctl(module)
    result = dict(changed=False, roles=[], granted=[], revoked=[], drift=[], created=False, password_changed=False,
                  password_checked=False)
    try:
        current = read_user(ctl, name)
        before = "" if current is None else "user %s: %s\n" % (name, ", ".join(current) or "(no role)")
        if state == "absent":
            if current is not None and not module.check_mode:
                ctl.check(["user", "delete", name])
            result.update(changed=current is not None, revoked=current or [], diff=dict(before=before, after=""))
            module.exit_json(**result)
        grant, revoke, drift = user_changes(current or [], module.params["roles"], module.params["prune"])
        if current is None:
            result.update(changed=True, created=True)
            if not module.check_mode:
                add_user(ctl, name, password)
        elif password is not None:
            verdict = login_result(ctl, name, password)
            result["password_checked"] = verdict is not None
            if verdict is False:
                result.update(changed=True, password_changed=True)
                if not module.check_mode:
                    ctl.check(["user", "passwd", name, "--interactive=false"], data=password)
        if not module.check_mode:
            for role in grant:
                ctl.check(["user", "grant-role", name, role])
            for role in revoke:
                ctl.check(["user", "revoke-role", name, role])
        roles = sorted(set(module.params["roles"]) | set(drift))
        result.update(changed=result["changed"] or bool(grant or revoke), roles=roles, granted=grant, revoked=revoke,
                      drift=drift,
                      diff=dict(before=before, after="user %s: %s\n" % (name, ", ".join(roles) or "(no role)")))
        module.exit_json(**result)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stderr=exc.stderr)


if __name__ == "__main__":
    main()
