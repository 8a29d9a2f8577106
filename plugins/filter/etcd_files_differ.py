# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_files_differ
short_description: Whether dcs.etcd.etcd_files would change anything on a member
version_added: 0.1.0
description:
  - Compares the entries one would pass to M(dcs.etcd.etcd_files) (directories, or files with content)
    with the C(paths) that M(dcs.etcd.etcd_host_info) reported for the member, using the same comparison as
    the module. Lets a play skip a round trip when nothing would change.
positional: _input, probed
options:
  _input:
    description: List of entries with C(path) and optional C(content), C(owner), C(group), C(mode).
    type: list
    elements: dict
    required: true
  probed:
    description: The C(paths) return value of M(dcs.etcd.etcd_host_info).
    type: dict
    required: true
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Write files only when one differs
  dcs.etcd.etcd_files:
    files: "{{ wanted }}"
  when: wanted | dcs.etcd.etcd_files_differ(probe.paths)
"""

RETURN = r"""
_value:
  description: True when at least one entry differs from what was probed (or was not probed).
  type: bool
"""

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.module_utils._files import entry_differs


def etcd_files_differ(entries, probed):
    if not isinstance(entries, list) or not isinstance(probed, dict):
        raise AnsibleFilterError("etcd_files_differ expects a list of entries and the dict of probed paths")
    return any(entry_differs(entry, probed.get(entry["path"])) for entry in entries)


class FilterModule(object):
    def filters(self):
        return {"etcd_files_differ": etcd_files_differ}
