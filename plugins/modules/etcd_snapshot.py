#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_snapshot
short_description: Save a verified snapshot of an etcd cluster on the managed host
version_added: 0.1.0
description:
  - Saves a snapshot of the cluster's data from one member (C(etcdctl snapshot save), which checks the
    snapshot's SHA-256 as it receives it, writes C(PATH.part) and renames it), then reads it back
    (C(etcdutl snapshot status) from etcd 3.5 on, C(etcdctl snapshot status) before) and checks that it
    holds keys and a hash. A snapshot that does not verify is deleted and the module fails.
  - The directory of O(path) is created (mode C(0700), owned by root) when it does not exist; the snapshot
    itself is made C(0600).
  - An existing file at O(path) is replaced.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  path:
    description: Where to write the snapshot on the managed host.
    type: path
    required: true
  etcdutl_path:
    description:
      - Path of C(etcdutl), used to read the snapshot back. Default is C(etcdutl) beside O(etcdctl_path); when
        it does not exist (etcd 3.4), C(etcdctl snapshot status) is used.
    type: path
notes:
  - O(endpoints) must name exactly one member (etcdctl refuses to save a snapshot from several).
attributes:
  check_mode:
    support: full
    description: Reports that a snapshot would be saved; saves nothing.
  diff_mode:
    support: none
    description: A snapshot has no meaningful text diff.
  idempotent:
    support: none
    description: Every run saves a new snapshot of the data as it is then.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Save a snapshot from the leader before an upgrade
  dcs.etcd.etcd_snapshot:
    path: /var/backups/etcd/etcd-before-3.5.16.db
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://10.0.0.11:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/server.crt
    key: /etc/etcd/server.key
  register: snapshot

- name: Show what it holds
  ansible.builtin.debug:
    msg: "revision {{ snapshot.revision }}, {{ snapshot.total_key }} keys, {{ snapshot.total_size }} bytes"
"""

RETURN = r"""
path:
  description: The snapshot file.
  returned: always
  type: str
revision:
  description: The revision of the data in the snapshot.
  returned: success, not in check mode
  type: int
hash:
  description: The snapshot's hash as C(snapshot status) computes it.
  returned: success, not in check mode
  type: int
total_key:
  description:
    - Keys in the snapshot as C(snapshot status) counts them, see RV(total_key_counting).
  returned: success, not in check mode
  type: int
total_key_counting:
  description:
    - V(all) - every entry of the database, etcd's own included, never 0 for a real snapshot (etcd 3.4, 3.5).
    - V(live) - live user keys only, 0 for a cluster without any (etcd 3.6 and later).
  returned: success, not in check mode
  type: str
  sample: live
total_size:
  description: Size of the snapshot's database in bytes.
  returned: success, not in check mode
  type: int
sha256:
  description: SHA-256 of the snapshot file.
  returned: success, not in check mode
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    CONNECTION_ARGSPEC,
    Etcdctl,
    EtcdctlError,
)
from ansible_collections.dcs.etcd.plugins.module_utils._backup import key_counting, read_status
from ansible_collections.dcs.etcd.plugins.module_utils._files import file_sha256


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(path=dict(type="path", required=True), etcdutl_path=dict(type="path"))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    path = module.params["path"]
    ctl = Etcdctl(module)
    if len(ctl.endpoints or []) != 1:
        module.fail_json(msg="endpoints must name exactly one member to save a snapshot from, got %s"
                             % (", ".join(ctl.endpoints or []) or "none"))
    if module.check_mode:
        module.exit_json(changed=True, path=path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    args = ["snapshot", "save", path]
    rc, out, err = ctl.run(args)
    if rc != 0:
        module.fail_json(msg=str(EtcdctlError(args, rc, out, err)), rc=rc, stdout=out, stderr=err, path=path)
    os.chmod(path, 0o600)
    etcdutl = module.params["etcdutl_path"] or os.path.join(os.path.dirname(ctl.binary), "etcdutl")
    status, problem = read_status(ctl, etcdutl, path)
    if problem:
        os.unlink(path)
        module.fail_json(msg="the snapshot saved at %s does not verify: %s; it was deleted" % (path, problem), path=path)
    module.exit_json(changed=True, path=path, revision=int(status.get("revision") or 0), hash=int(status["hash"]),
                     total_key=int(status["totalKey"]), total_key_counting=key_counting(status),
                     total_size=int(status.get("totalSize") or 0), sha256=file_sha256(path))


if __name__ == "__main__":
    main()
