# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_rbac_drift
short_description: The users and roles etcd holds that the inventory does not name
version_added: 0.1.0
description:
  - Compares the users and roles of a M(dcs.etcd.etcd_auth) result with those the etcd role's plan manages
    (present or absent in C(etcd_users) and C(etcd_roles)). etcd's own root user and role are never drift.
positional: _input, access
options:
  _input:
    description: The registered result of M(dcs.etcd.etcd_auth) (its C(users) and C(roles)).
    type: dict
    required: true
  access:
    description: The C(access) part of the plan of M(dcs.etcd.etcd_plan).
    type: dict
    required: true
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Report what the inventory does not name
  ansible.builtin.debug:
    msg: "{{ auth_result | dcs.etcd.etcd_rbac_drift(plan.access) }}"
"""

RETURN = r"""
_value:
  description: C(users) and C(roles), the sorted names etcd holds that the inventory does not name.
  type: dict
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import unmanaged_names


def etcd_rbac_drift(result, access):
    if not isinstance(result, dict) or not isinstance(access, dict):
        raise AnsibleFilterError("etcd_rbac_drift expects the result of dcs.etcd.etcd_auth and the plan's access")
    users = [u["name"] for u in (access.get("users") or []) + (access.get("users_absent") or [])]
    roles = [r["name"] for r in (access.get("roles") or []) + (access.get("roles_absent") or [])]
    found_users, found_roles = unmanaged_names(result.get("users") or [], result.get("roles") or [], users, roles)
    return dict(users=found_users, roles=found_roles)


class FilterModule(object):
    def filters(self):
        return {"etcd_rbac_drift": etcd_rbac_drift}
