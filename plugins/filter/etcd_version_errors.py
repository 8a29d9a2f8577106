# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_version_errors
short_description: Why installing an etcd version on a cluster would be unsafe
version_added: 0.1.0
description:
  - Checks a target etcd version against the versions a cluster's members run or hold on disk, following
    etcd's upgrade rules, and returns one message per problem (an empty list when the target is safe).
  - Refused are a target on the known-bad list; a change of the major version; skipping a minor version
    (3.4 to 3.6); a 3.5 to 3.6 upgrade from a 3.5 release before 3.5.32, and a 3.6 to 3.7 upgrade from a 3.6 release
    before 3.6.11 (etcd's upgrade guides); a downgrade of the minor version (a member cannot start on data written by a newer
    minor); and a rolling upgrade from 3.4 to 3.5 while RBAC authentication is enabled (or when that
    cannot be told), which etcd does not support.
  - A patch upgrade or downgrade within one minor version is allowed.
positional: _input, current, known_bad, auth_enabled, source
options:
  _input:
    description: The target version, X.Y.Z. An empty value means unknown, and nothing is checked.
    type: str
    required: true
  current:
    description: Versions the cluster's members run or have installed next to their data.
    type: list
    elements: str
    required: true
  known_bad:
    description: Releases to refuse (C(etcd_known_bad_versions)).
    type: list
    elements: str
    required: true
  auth_enabled:
    description: Whether RBAC authentication is enabled on the cluster; null when unknown.
    type: bool
  source:
    description: The parameter the target comes from, named in the messages.
    type: str
    default: etcd_version
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Refuse an unsafe version change before touching any host
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join(' ') }}"
  vars:
    errors: "{{ '3.6.0' | dcs.etcd.etcd_version_errors(['3.4.23'], ['3.5.0', '3.5.1', '3.5.2']) }}"
"""

RETURN = r"""
_value:
  description: One message per problem, each naming the parameter; empty when the target is safe.
  type: list
  elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import version_errors


def etcd_version_errors(target, current, known_bad, auth_enabled=None, source="etcd_version"):
    if not isinstance(current, list) or not isinstance(known_bad, list):
        raise AnsibleFilterError("etcd_version_errors expects lists of current and known-bad versions")
    return version_errors(target, current, known_bad, auth_enabled, source)


class FilterModule(object):
    def filters(self):
        return {"etcd_version_errors": etcd_version_errors}
