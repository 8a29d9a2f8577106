# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: certificate_expiry
short_description: When certificates on the controller expire
version_added: 0.1.0
description:
  - Returns, for each given PEM certificate on the controller, the end of its validity in seconds since the
    epoch, read in-process with the C(cryptography) library; 0 for a path that is not a file.
  - The etcd role records these times in Prometheus recording rules, so that an alert can warn before a
    member's certificate, the CA or the scrape certificate expires (etcd exposes no such metric).
options:
  _terms:
    description: Paths of PEM certificates on the controller.
    type: list
    elements: path
    required: true
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Days left for the CA
  ansible.builtin.debug:
    msg: "{{ ((lookup('dcs.etcd.certificate_expiry', '/srv/pki/etcd/ca.crt') | int) - now().timestamp()) / 86400 }}"
"""

RETURN = r"""
_raw:
  description: One time per path, in seconds since the epoch, or 0 where the path is not a file.
  type: list
  elements: int
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.dcs.etcd.plugins.module_utils._pki import not_after


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        result = []
        for term in terms:
            try:
                result.append(not_after(os.path.expanduser(str(term))) or 0)
            except ValueError as exc:
                raise AnsibleLookupError("%s is not a PEM certificate: %s" % (term, exc))
        return result
