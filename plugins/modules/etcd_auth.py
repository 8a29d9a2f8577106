#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_auth
short_description: Turn etcd's RBAC authentication on or off, with its root user
version_added: 0.1.0
description:
  - "Through C(etcdctl) on the managed host. Tells whether authentication is on in a way that works on etcd 3.4,
    which has no C(auth status): etcdctl logs in with a user that cannot exist, and etcd answers that
    authentication is not enabled, or that it failed."
  - O(state=enabled) makes sure the root user exists with the root role and the password O(root_password)
    (given on etcdctl's standard input, never on a command line), then enables authentication. Once it is on,
    the password is checked by logging in as root, and changed when it is wrong.
  - O(state=disabled) disables authentication; users and roles stay.
  - O(state=present) changes nothing and reports the state, the users and the roles.
  - With authentication on, the module must connect as root, with the role's root client certificate (CN C(root)).
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  state:
    description: See the description.
    type: str
    choices: [enabled, disabled, present]
    default: present
  root_password:
    description: The root user's password. Required with O(state=enabled).
    type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change; changes nothing.
  diff_mode:
    support: full
    description: Whether authentication is on, before and after.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Enable authentication
  dcs.etcd.etcd_auth:
    state: enabled
    root_password: "{{ etcd_root_password }}"
    endpoints: ["https://10.0.0.11:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/root.crt
    key: /etc/etcd/root.key
  no_log: true
"""

RETURN = r"""
auth_enabled:
  description: Whether authentication is on after the run.
  returned: always
  type: bool
auth_was_enabled:
  description: Whether authentication was on before the run.
  returned: always
  type: bool
root_created:
  description: The root user was created by this run.
  returned: always
  type: bool
password_changed:
  description: The root password was found wrong and changed by this run.
  returned: always
  type: bool
users:
  description: The users etcd holds after the run.
  returned: always
  type: list
  elements: str
roles:
  description: The roles etcd holds after the run.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    EtcdctlError,
    auth_probe_answer,
    login_result,
    start_auth_probe,
)
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import ROOT, parse_names


def names(ctl, kind):
    rc, parsed, err = ctl.json([kind, "list"])
    if rc != 0:
        raise EtcdctlError([kind, "list"], rc, "", err)
    return parse_names(parsed, kind + "s")


def auth_enabled(ctl):
    enabled, rc, err = auth_probe_answer(start_auth_probe(ctl, (ctl.endpoints or [None])[0]))
    if enabled is None:
        # etcd's answer tells neither (a member down, another CA): it is the message.
        raise EtcdctlError(["endpoint", "status"], rc or 1, "", err or "no answer on whether RBAC authentication is enabled")
    return enabled


def main():
    module = AnsibleModule(
        argument_spec=dict(CONNECTION_ARGSPEC,
                           state=dict(type="str", choices=["enabled", "disabled", "present"], default="present"),
                           root_password=dict(type="str", no_log=True)),
        required_if=[("state", "enabled", ["root_password"])],
        supports_check_mode=True,
    )
    state, password = module.params["state"], module.params["root_password"]
    ctl = Etcdctl(module)
    result = dict(changed=False, root_created=False, password_changed=False)
    try:
        was = auth_enabled(ctl)
        now = was
        if state == "enabled":
            if not was:
                users = names(ctl, "user")
                if ROOT not in users:
                    result.update(changed=True, root_created=True)
                    if not module.check_mode:
                        ctl.check(["user", "add", ROOT, "--interactive=false"], data=password)
                if not module.check_mode:
                    # Idempotent: granting a role the user holds changes nothing.
                    ctl.check(["user", "grant-role", ROOT, ROOT])
                    ctl.check(["auth", "enable"])
                result["changed"], now = True, True
            if not module.check_mode or was:
                verdict = login_result(ctl, ROOT, password)
                if verdict is False:
                    result.update(changed=True, password_changed=True)
                    if not module.check_mode:
                        ctl.check(["user", "passwd", ROOT, "--interactive=false"], data=password)
        elif state == "disabled" and was:
            result["changed"], now = True, False
            if not module.check_mode:
                ctl.check(["auth", "disable"])
        result.update(auth_enabled=now, auth_was_enabled=was, users=names(ctl, "user"), roles=names(ctl, "role"),
                      diff=dict(before="auth: %s\n" % ("on" if was else "off"),
                                after="auth: %s\n" % ("on" if now else "off")))
        module.exit_json(**result)
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stderr=exc.stderr)


if __name__ == "__main__":
    main()
