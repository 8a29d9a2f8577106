#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_backup
short_description: Take a verified backup of an etcd cluster, with its sidecar and the retention
version_added: 0.1.0
description:
  - Saves a snapshot of the cluster from one member (C(etcdctl snapshot save), which checks the snapshot's
    SHA-256 as it receives it) into C(DIR/.incoming), reads it back (C(etcdutl snapshot status) from etcd 3.5
    on, C(etcdctl snapshot status) before), requires keys and a hash, and counts the cluster's keys at the
    snapshot's revision.
  - Writes a sidecar C(CLUSTER-TIME.json) (revision, hash, key counts, size, SHA-256, etcd version, cluster
    ID, member list, time), moves the snapshot C(CLUSTER-TIME.db) into O(dir) and the sidecar after it; a
    snapshot without its sidecar is not a backup. A snapshot that does not verify is deleted and the module
    fails; it never becomes the newest backup.
  - Then applies the retention, O(keep) and O(max_age), to the backups of O(cluster) in O(dir). The newest is
    never deleted. Files of the naming scheme without their other half are deleted; no other file is touched.
  - The scheduled backup (the C(etcd-backup.timer) unit the role installs with C(etcd_backup=true)) does the
    same, with the same code.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  dir:
    description: The backup directory on the managed host (created with mode C(0700) when it does not exist).
    type: path
    required: true
  cluster:
    description: The cluster's name; backups are named C(CLUSTER-YYYYmmddTHHMMSSZ.db) and C(.json).
    type: str
    required: true
  keep:
    description: How many backups of the cluster to keep at most.
    type: int
    default: 7
  max_age:
    description: Seconds after which a backup is deleted (the newest is always kept); V(0) is no age limit.
    type: int
    default: 0
  s3:
    description:
      - Also copy the backup and its sidecar to an S3-compatible object store (path-style URL), read both back and
        compare their SHA-256, then apply the store's own retention. The role passes C(etcd_backup_s3_*) here.
      - When the copy fails, the module fails; the local backup stays (RV(path)).
    type: dict
    suboptions:
      url:
        description: C(http(s)://HOST[:PORT]/BUCKET[/PREFIX]).
        type: str
        required: true
      region:
        description: The region the requests are signed for (AWS Signature Version 4).
        type: str
        default: us-east-1
      access_key:
        description: The access key ID.
        type: str
        required: true
      secret_key:
        description: The secret access key.
        type: str
        required: true
      ca_file:
        description: A CA bundle that signs the store's HTTPS certificate, instead of the system's.
        type: path
      keep:
        description: How many backups of the cluster the store keeps at most.
        type: int
        default: 14
      max_age:
        description: Seconds after which a backup is deleted from the store (the newest stays); V(0) is no limit.
        type: int
        default: 0
      timeout:
        description: Seconds a request to the store may wait for an answer.
        type: int
        default: 60
  etcdutl_path:
    description:
      - Path of C(etcdutl). Default is C(etcdutl) beside O(etcdctl_path); when it does not exist (etcd 3.4),
        C(etcdctl snapshot status) reads the snapshot back.
    type: path
notes:
  - O(endpoints) must name exactly one member, the one the snapshot is taken from.
attributes:
  check_mode:
    support: full
    description: Reports that a backup would be taken, and which backups the retention would delete then; changes nothing.
  diff_mode:
    support: none
    description: A snapshot has no meaningful text diff.
  idempotent:
    support: none
    description: Every run takes a new backup of the data as it is then.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Back up cluster etcd now, from member 2, keeping a week of backups
  dcs.etcd.etcd_backup:
    dir: /var/backups/etcd
    cluster: etcd
    keep: 7
    max_age: 604800
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://10.0.0.12:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/server.crt
    key: /etc/etcd/server.key
  register: backup
"""

RETURN = r"""
path:
  description: The backup's snapshot file.
  returned: success, not in check mode
  type: str
  sample: /var/backups/etcd/etcd-20261202T063000Z.db
sidecar_path:
  description: The backup's sidecar file.
  returned: success, not in check mode
  type: str
sidecar:
  description: What the sidecar holds.
  returned: success, not in check mode
  type: dict
  contains:
    revision:
      description: The revision of the data in the snapshot.
      type: int
    hash:
      description: The snapshot's hash as C(snapshot status) computes it.
      type: int
    keys:
      description: The cluster's keys at the snapshot's revision (what a restore holds).
      type: int
    total_key:
      description: Keys in the snapshot's database, etcd's own buckets included.
      type: int
    total_size:
      description: Size of the snapshot's database in bytes.
      type: int
    sha256:
      description: SHA-256 of the snapshot file.
      type: str
    etcd_version:
      description: The etcd version of the member the snapshot was taken from.
      type: str
    cluster_id:
      description: The cluster's ID (hexadecimal).
      type: str
    members:
      description: The members (name, peer URLs, learner) at the time.
      type: list
      elements: dict
offsite:
  description:
    - With O(s3), the copy in the store, null without it. C(url), C(name) (the backup's base name there),
      C(verified) (both objects read back with the local files' SHA-256), C(pruned) (the objects the store's
      retention deleted), C(count) (the backups kept there), C(retention_error) (why the store refused the retention,
      which does not fail the module, since the copy is verified), C(seconds).
  returned: success
  type: dict
pruned:
  description: The files the retention deleted (in check mode, those it would delete after a new backup).
  returned: always
  type: list
  elements: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._backup import BackupError, copy_offsite, prune, scan, take_backup
from ansible_collections.dcs.etcd.plugins.module_utils._s3 import S3Error
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import CONNECTION_ARGSPEC, Etcdctl, EtcdctlError


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(dir=dict(type="path", required=True), cluster=dict(type="str", required=True),
                         keep=dict(type="int", default=7), max_age=dict(type="int", default=0),
                         etcdutl_path=dict(type="path"),
                         s3=dict(type="dict", options=dict(
                             url=dict(type="str", required=True), region=dict(type="str", default="us-east-1"),
                             access_key=dict(type="str", required=True, no_log=True),
                             secret_key=dict(type="str", required=True, no_log=True), ca_file=dict(type="path"),
                             keep=dict(type="int", default=14), max_age=dict(type="int", default=0),
                             timeout=dict(type="int", default=60))))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if params["keep"] < 1:
        module.fail_json(msg="keep must be at least 1, got %d" % params["keep"])
    ctl = Etcdctl(module)
    if len(ctl.endpoints or []) != 1:
        module.fail_json(msg="endpoints must name exactly one member to take the backup from, got %s"
                             % (", ".join(ctl.endpoints or []) or "none"))
    if module.check_mode:
        now = time.time()
        good, orphans = scan(params["dir"], params["cluster"])
        would = prune([(n, c) for n, c, _s in good] + [("(new backup)", now)], params["keep"], params["max_age"], now)
        module.exit_json(changed=True, pruned=[n + s for n in would for s in (".db", ".json")] + orphans)
    etcdutl = params["etcdutl_path"] or os.path.join(os.path.dirname(ctl.binary), "etcdutl")
    try:
        sidecar = take_backup(ctl, etcdutl, params["dir"], params["cluster"], ctl.endpoints[0], params["keep"],
                              params["max_age"])
    except (EtcdctlError, BackupError, OSError) as exc:
        module.fail_json(msg="backup of cluster %s into %s failed: %s" % (params["cluster"], params["dir"], exc))
    pruned = sidecar.pop("pruned")
    path = os.path.join(params["dir"], sidecar["file"])
    offsite = None
    if params["s3"]:
        try:
            offsite = copy_offsite(params["s3"], params["dir"], sidecar)
        except (S3Error, BackupError, OSError, ValueError) as exc:
            module.fail_json(msg="backup %s was taken and verified, but its copy to %s failed: %s. The backup stays on "
                                 "this member." % (path, params["s3"]["url"], exc), path=path, sidecar=sidecar)
    module.exit_json(changed=True, path=path, sidecar_path=os.path.join(params["dir"], sidecar["name"] + ".json"),
                     sidecar=sidecar, pruned=pruned, offsite=offsite)


if __name__ == "__main__":
    main()
