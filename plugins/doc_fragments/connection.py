# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # How the modules reach etcd: through etcdctl on the managed host.
    DOCUMENTATION = r"""
options:
  etcdctl_path:
    description: Path of the C(etcdctl) binary on the managed host.
    type: path
    default: etcdctl
  endpoints:
    description:
      - Client URLs to talk to, such as C(https://10.0.0.11:2379).
      - Falls back to the E(ETCDCTL_ENDPOINTS) environment variable.
    type: list
    elements: str
  cacert:
    description: CA certificate that signed the members' certificates. Falls back to E(ETCDCTL_CACERT).
    type: path
  cert:
    description: Client certificate. Falls back to E(ETCDCTL_CERT).
    type: path
  key:
    description: Client private key. Falls back to E(ETCDCTL_KEY).
    type: path
  user:
    description: User name for etcd RBAC. Falls back to E(ETCDCTL_USER) (C(user) or C(user:password)).
    type: str
  password:
    description: Password for O(user). Falls back to E(ETCDCTL_PASSWORD).
    type: str
  command_timeout:
    description: Seconds etcdctl waits for each request (its C(--command-timeout)).
    type: int
    default: 5
requirements:
  - C(etcdctl) 3.4 or later on the managed host. No Python library is needed.
"""
