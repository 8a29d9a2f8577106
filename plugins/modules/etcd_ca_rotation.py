#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_ca_rotation
short_description: Move a cluster CA rotation to its next phase, on the controller
version_added: 0.1.0
description:
  - Runs on the controller only (action plugin), in O(pki_dir), the directory M(dcs.etcd.etcd_pki) keeps.
  - "A rotation goes through phases, recorded in C(ca-rotation.json): V(begin) makes a new CA (C(ca-next.crt),
    C(ca-next.key)) and enters phase C(trust), where old and new CA are trusted and the old one signs; V(reissue)
    enters phase C(reissue), where the new CA signs; V(finish) enters phase C(finish), where only the new CA is
    trusted; V(complete) makes the new CA C(ca.crt)/C(ca.key), moves the old pair to C(retired/), and ends it."
  - "Each of V(begin), V(reissue) and V(finish) records its phase as not yet installed; V(installed) records that
    the phase in progress reached every host (the role takes it once every host holds the phase and the cluster is
    healthy again). A run interrupted before that installs the same phase again instead of taking the next step."
  - C(ca-trust.crt), the CA file members and clients receive, follows the phase. M(dcs.etcd.etcd_pki) signs with
    the CA of the phase. The role installs the files and restarts the members between the steps
    (C(./etcd.yml -t etcd_ca_rotate)).
  - Each step is a no-op once done, and refused out of order, so an interrupted rotation is resumed by running
    it again.
options:
  pki_dir:
    description: Directory on the controller holding the CA.
    type: path
    required: true
  step:
    description: The step to take.
    type: str
    choices: [begin, reissue, finish, complete, installed]
    required: true
  ca_common_name:
    description: Subject common name of the new CA (V(begin)).
    type: str
    default: dcs.etcd CA
  ca_valid_days:
    description: Validity of the new CA, in days (V(begin)).
    type: int
    default: 10950
attributes:
  check_mode:
    support: full
    description: Reports the phase the step would enter; writes nothing.
  diff_mode:
    support: full
    description: The phase before and after.
  idempotent:
    support: full
    description: A step already taken changes nothing.
  action:
    support: full
    description: Runs in the controller's worker process through its action plugin.
  async:
    support: none
    description: Runs synchronously on the controller.
requirements:
  - The C(cryptography) Python library on the controller (a dependency of ansible-core).
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Begin a CA rotation
  dcs.etcd.etcd_ca_rotation:
    pki_dir: "{{ inventory_dir }}/pki/etcd"
    step: begin
    ca_common_name: dcs.etcd CA (etcd) 2026-12-03

- name: Record that the phase in progress is on every host
  dcs.etcd.etcd_ca_rotation:
    pki_dir: "{{ inventory_dir }}/pki/etcd"
    step: installed
"""

RETURN = r"""
phase_before:
  description: The phase before the step (null when no rotation was in progress).
  returned: always
  type: str
phase:
  description: The phase after the step (null once the rotation is complete).
  returned: always
  type: str
next:
  description: What the operator does next.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._pki import ROTATION_ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ROTATION_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="dcs.etcd.etcd_ca_rotation runs on the controller through its action plugin; "
                         "it cannot run as a module on a managed host.")


if __name__ == "__main__":
    main()
