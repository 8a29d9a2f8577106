# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: file_sha256
short_description: SHA-256 of files on the controller
version_added: 0.1.0
description:
  - Returns the hexadecimal SHA-256 digest of each given file on the controller, computed in-process
    (no module run), or an empty string for a path that is not a regular file.
options:
  _terms:
    description: Paths of files on the controller.
    type: list
    elements: path
    required: true
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Compare a release archive with its published checksum
  ansible.builtin.assert:
    that: lookup('dcs.etcd.file_sha256', '/srv/etcd-v3.5.16-linux-amd64.tar.gz') == wanted_sha256
"""

RETURN = r"""
_raw:
  description: One digest per path, or an empty string where the path is not a regular file.
  type: list
  elements: str
"""

import os

from ansible.plugins.lookup import LookupBase
from ansible_collections.dcs.etcd.plugins.module_utils._files import file_sha256


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [file_sha256(os.path.expanduser(str(term))) or "" for term in terms]
