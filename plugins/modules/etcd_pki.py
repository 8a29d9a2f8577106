#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_pki
short_description: Keep a cluster CA and a member's key and certificate on the controller
version_added: 0.1.0
description:
  - Runs on the controller only (action plugin), in O(pki_dir). Creates the cluster CA once, when
    C(ca.crt) and C(ca.key) are both absent, and never replaces an existing one (a CA provided by the
    user is used as it is).
  - Creates the member's ECDSA P-256 key (C(members/MEMBER.key), mode 0600) when absent, and issues its
    certificate (C(members/MEMBER.crt)) when absent, when its SANs differ from O(sans), when it does not
    match the key, or when another CA signed it. Nothing is regenerated otherwise.
  - Member certificates carry both serverAuth and clientAuth extended key usage (etcd's gRPC gateway
    dials its own server with the member certificate).
  - Concurrent runs for several members are safe, as CA creation is serialized by a lock file.
options:
  pki_dir:
    description: Directory on the controller holding C(ca.crt), C(ca.key) and C(members/).
    type: path
    required: true
  member:
    description: File name stem for the member's key and certificate (the inventory hostname).
    type: str
    required: true
  common_name:
    description:
      - Subject common name of the member certificate (the etcd member name), or of the client certificate.
      - Empty (V(kind=client) only) for a subject without CN (C(O=dcs.etcd, OU=<member>)), for clients of etcd's
        HTTP gateway such as Patroni, which etcd refuses with a CN while RBAC is on.
    type: str
    required: true
  sans:
    description: Subject alternative names, as C(DNS:name), C(IP:address), or bare names and addresses.
    type: list
    elements: str
    required: true
  ca_common_name:
    description: Subject common name of a CA created by this module.
    type: str
    default: dcs.etcd CA
  valid_days:
    description: Validity of a newly issued member certificate, in days.
    type: int
    default: 3650
  ca_valid_days:
    description: Validity of a newly created CA certificate, in days.
    type: int
    default: 10950
  kind:
    description:
      - V(member) issues a member certificate (serverAuth and clientAuth) in C(members/).
      - V(client) issues a client certificate (clientAuth only, no SANs needed) in C(clients/), such as the
        one Prometheus scrapes the members with.
    type: str
    choices: [member, client]
    default: member
  ca_must_exist:
    description:
      - Fail instead of creating a CA when O(pki_dir) has none. For certificates that must be signed by a CA
        that already exists (a scrape certificate for a running cluster).
    type: bool
    default: false
  renew_days:
    description:
      - Issue the certificate again when it expires in fewer days than this (0 never does). etcd reads its
        certificate and key again for every new TLS connection, so a renewed member certificate needs no restart.
      - With O(kind=client), a certificate whose common name differs from O(common_name) is issued again too.
    type: int
    default: 0
  ca_warn_days:
    description: Warn when the CA expires in fewer days than this (0 never does).
    type: int
    default: 0
  ca_fail_days:
    description: Fail when the CA expires in fewer days than this (0 never does); the message names the rotation.
    type: int
    default: 0
attributes:
  check_mode:
    support: full
    description: Reports what would be created or issued and writes nothing.
  diff_mode:
    support: partial
    description: The diff names the certificate and the reason it would be issued.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
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
- name: Issue the member certificate (controller side)
  dcs.etcd.etcd_pki:
    pki_dir: "{{ inventory_dir }}/pki/etcd"
    member: "{{ inventory_hostname }}"
    common_name: etcd-1
    sans: [IP:10.0.0.11, DNS:localhost, IP:127.0.0.1]
"""

RETURN = r"""
ca_created:
  description: The CA was created by this run.
  returned: always
  type: bool
key_created:
  description: The member key was created by this run.
  returned: always
  type: bool
cert_issued:
  description: The member certificate was issued by this run.
  returned: always
  type: bool
reason:
  description: Why the certificate was issued, or null.
  returned: always
  type: str
  sample: SANs changed
days_left:
  description: Whole days until the certificate expires (after a renewal, those of the new one).
  returned: always
  type: int
ca_days_left:
  description: Whole days until the CA certificate expires.
  returned: always
  type: int
serial:
  description: Serial number of the certificate, in hexadecimal (null in check mode when it would be issued).
  returned: always
  type: str
ca_cert:
  description: Path of the CA certificate.
  returned: always
  type: str
cert:
  description: Path of the member certificate.
  returned: always
  type: str
key:
  description: Path of the member key.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._pki import ARGUMENT_SPEC


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(msg="dcs.etcd.etcd_pki runs on the controller through its action plugin; "
                         "it cannot run as a module on a managed host.")


if __name__ == "__main__":
    main()
