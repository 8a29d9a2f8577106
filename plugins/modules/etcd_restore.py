#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_restore
short_description: Restore an etcd member's data directory from a snapshot, or set it aside
version_added: 0.1.0
description:
  - Works on a stopped member's data directory on the managed host. The role calls it on every member with the
    same snapshot file; it decides nothing about the cluster.
  - O(state=verified) checks that O(snapshot) reads back (C(etcdutl snapshot status) from etcd 3.5 on,
    C(etcdctl snapshot status) before), holds keys and a hash, and, when a sidecar C(SNAPSHOT.json) (or
    O(sidecar)) is there, that its SHA-256, hash, revision and key count are the sidecar's. Changes nothing.
  - O(state=restored) verifies the same way, moves etcd's data C(DATA_DIR/member) aside to
    C(DATA_DIR/member.SUFFIX) (kept, not deleted; etcd ignores it), restores the snapshot into C(DATA_DIR/.restore-SUFFIX)
    with the member's O(name), O(peer_url), the full O(initial_cluster), a new O(token) and the O(flags) the run
    chose (revision bump), moves the restored C(member) into place and gives it to O(owner). The data directory
    itself is never renamed (it may be a mount point). When the restore fails, the old data is put back.
  - O(state=set_aside) only moves C(DATA_DIR/member) aside (a lost-quorum recovery does this on the members it
    re-adds).
  - O(state=discarded) deletes C(DATA_DIR/member.SUFFIX), the copy a restore set aside, once the restored cluster is healthy.
  - O(state=checked) asks the restored cluster (through O(endpoints)) for its revision and its keys, counted at
    O(expect_revision) when given, and fails unless they are what the snapshot's sidecar records. Changes nothing.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  data_dir:
    description: The member's data directory.
    type: path
    required: true
  state:
    description: What to do, see the description.
    type: str
    choices: [verified, restored, set_aside, discarded, checked]
    default: restored
  snapshot:
    description: The snapshot file on the managed host. Required for O(state=verified) and O(state=restored).
    type: path
  sidecar:
    description: The snapshot's sidecar. Default is the snapshot's path with C(.json) for C(.db), or with C(.json) appended.
    type: path
  require_sidecar:
    description: Fail when the sidecar does not exist.
    type: bool
    default: false
  sha256:
    description: The SHA-256 the snapshot must have (the file the run checked on the controller).
    type: str
  suffix:
    description: What the set-aside copy of the data is called after, C(DATA_DIR/member.SUFFIX). Required for every state but V(verified) and V(checked).
    type: str
  name:
    description: The member's name (C(--name)). Required for O(state=restored).
    type: str
  peer_url:
    description: The member's peer URL (C(--initial-advertise-peer-urls)). Required for O(state=restored).
    type: str
  initial_cluster:
    description: Every member's C(name=peer-url), as etcd's C(--initial-cluster). Required for O(state=restored).
    type: str
  token:
    description: The restored cluster's C(--initial-cluster-token), new for every restore. Required for O(state=restored).
    type: str
  flags:
    description: More flags of C(snapshot restore), such as C(--bump-revision N --mark-compacted).
    type: list
    elements: str
    default: []
  owner:
    description: The user that owns the restored data directory.
    type: str
    default: etcd
  expect_keys:
    description: For O(state=checked), the keys the restored cluster must hold (the sidecar's C(keys)); not checked when null.
    type: int
  expect_revision:
    description: For O(state=checked), the revision the restore starts at; the keys are counted at it.
    type: int
  min_revision:
    description: For O(state=checked), the lowest revision the restored cluster may be at (the snapshot's).
    type: int
  etcdutl_path:
    description: Path of C(etcdutl). Default is C(etcdutl) beside O(etcdctl_path); used when it exists.
    type: path
attributes:
  check_mode:
    support: full
    description: Verifies the snapshot and reports what would be moved, restored or deleted; changes nothing.
  diff_mode:
    support: none
    description: A data directory has no meaningful text diff.
  idempotent:
    support: partial
    description: V(verified), V(checked), V(set_aside) and V(discarded) change nothing the second time; V(restored) restores again.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Restore member etcd-1 from the snapshot every member received
  dcs.etcd.etcd_restore:
    snapshot: /var/backups/etcd/restore/etcd-20261202T063000Z.db
    data_dir: /var/lib/etcd
    suffix: before-restore-20261202T070000Z
    sha256: 5b0f2c8d4e0c3f1a9b7e6d5c4b3a29180f6e5d4c3b2a19087f6e5d4c3b2a1908
    name: etcd-1
    peer_url: https://10.0.0.11:2380
    initial_cluster: etcd-1=https://10.0.0.11:2380,etcd-2=https://10.0.0.12:2380,etcd-3=https://10.0.0.13:2380
    token: etcd-restored-20261202T070000Z
    flags: [--bump-revision, "1000000000", --mark-compacted]
    etcdctl_path: /usr/local/bin/etcdctl
"""

RETURN = r"""
status:
  description: The snapshot's C(snapshot status) (hash, revision, totalKey, totalSize).
  returned: states verified and restored
  type: dict
set_aside:
  description: Where etcd's data (C(DATA_DIR/member)) was moved (or would be), or null when there was none.
  returned: states restored and set_aside
  type: str
sidecar:
  description: The sidecar as read, or null when there is none.
  returned: states verified and restored
  type: dict
keys:
  description: The keys the restored cluster holds (at O(expect_revision) when given).
  returned: state checked
  type: int
revision:
  description: The restored cluster's current revision.
  returned: state checked
  type: int
"""

import grp
import os
import pwd
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._backup import (
    BackupError,
    count_keys,
    file_sha256,
    restored_problems,
    status_argv,
    verify_file,
)
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import CONNECTION_ARGSPEC, Etcdctl, EtcdctlError, advice, etcd_answer


def chown_tree(path, owner):
    user = pwd.getpwnam(owner)
    group = grp.getgrgid(user.pw_gid).gr_gid
    for root, dirs, files in os.walk(path):
        for entry in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(entry, user.pw_uid, group)


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(
        data_dir=dict(type="path", required=True),
        state=dict(type="str", choices=["verified", "restored", "set_aside", "discarded", "checked"], default="restored"),
        snapshot=dict(type="path"), sidecar=dict(type="path"), require_sidecar=dict(type="bool", default=False),
        sha256=dict(type="str"),
        suffix=dict(type="str"), name=dict(type="str"), peer_url=dict(type="str"),
        initial_cluster=dict(type="str"), token=dict(type="str", no_log=False),
        flags=dict(type="list", elements="str", default=[]), owner=dict(type="str", default="etcd"),
        expect_keys=dict(type="int", no_log=False), expect_revision=dict(type="int"), min_revision=dict(type="int"),
        etcdutl_path=dict(type="path"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_if=[("state", "verified", ["snapshot"]),
                     ("state", "restored", ["snapshot", "suffix", "name", "peer_url", "initial_cluster", "token"]),
                     ("state", "set_aside", ["suffix"]), ("state", "discarded", ["suffix"])],
        supports_check_mode=True,
    )
    params = module.params
    state, data_dir = params["state"], params["data_dir"].rstrip("/")
    if params["suffix"] is not None and (not params["suffix"] or "/" in params["suffix"]):
        module.fail_json(msg="suffix must be a non-empty name without /, got %r" % params["suffix"])
    # etcd keeps everything in DATA_DIR/member: that is what is set aside, beside it (the data directory may
    # be a mount point of its own, which cannot be renamed).
    member = os.path.join(data_dir, "member")
    aside = "%s.%s" % (member, params["suffix"]) if params["suffix"] else None
    try:
        run(module, params, state, data_dir, member, aside)
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (data_dir, exc))


def run(module, params, state, data_dir, member, aside):
    if state == "discarded":
        if not os.path.exists(aside):
            module.exit_json(changed=False)
        if not module.check_mode:
            shutil.rmtree(aside)
        module.exit_json(changed=True, discarded=aside)

    if state == "set_aside":
        if not os.path.isdir(member):
            module.exit_json(changed=False, set_aside=None)
        if os.path.exists(aside):
            module.fail_json(msg="cannot set %s aside: %s exists" % (member, aside))
        if not module.check_mode:
            os.rename(member, aside)
        module.exit_json(changed=True, set_aside=aside)

    if state == "checked":
        ctl = Etcdctl(module)
        try:
            keys, revision = count_keys(ctl, params["expect_revision"])
        except EtcdctlError as exc:
            module.fail_json(msg="cannot read the restored cluster: %s" % exc)
        problems = restored_problems(revision, keys, params["expect_keys"], params["expect_revision"], params["min_revision"])
        if problems:
            module.fail_json(msg="the restored cluster does not hold the snapshot's data: %s" % "; ".join(problems),
                             keys=keys, revision=revision)
        module.exit_json(changed=False, keys=keys, revision=revision)

    ctl = Etcdctl(module, endpoints=[])
    etcdutl = params["etcdutl_path"] or os.path.join(os.path.dirname(ctl.binary), "etcdutl")
    snapshot = params["snapshot"]
    sidecar_path = params["sidecar"] or (snapshot[:-3] + ".json" if snapshot.endswith(".db") else snapshot + ".json")
    if not os.path.isfile(snapshot):
        module.fail_json(msg="the snapshot %s does not exist on this host" % snapshot)
    if params["require_sidecar"] and not os.path.isfile(sidecar_path):
        module.fail_json(msg="the snapshot's sidecar %s does not exist on this host" % sidecar_path)
    try:
        status, problems = verify_file(ctl, etcdutl, snapshot, sidecar_path)
    except BackupError as exc:
        status, problems = None, [str(exc)]
    if params["sha256"] and file_sha256(snapshot) != params["sha256"]:
        problems.append("its SHA-256 is not %s, that of the file on the controller" % params["sha256"])
    if problems:
        module.fail_json(msg="the snapshot %s does not verify: %s. Nothing was changed." % (snapshot, "; ".join(problems)))
    sidecar = None
    if os.path.isfile(sidecar_path):
        with open(sidecar_path) as handle:
            sidecar = module.from_json(handle.read())
    if state == "verified":
        module.exit_json(changed=False, status=status, sidecar=sidecar)

    moved = os.path.isdir(member)
    if moved and os.path.exists(aside):
        module.fail_json(msg="cannot set %s aside for the restore: %s exists. Nothing was changed." % (member, aside))
    if module.check_mode:
        module.exit_json(changed=True, status=status, sidecar=sidecar, set_aside=aside if moved else None)
    if not os.path.isdir(data_dir):
        os.makedirs(data_dir, 0o700)
    # Restored beside the data (same file system), then moved into place.
    staging = os.path.join(data_dir, ".restore-%s" % params["suffix"])
    if os.path.exists(staging):
        shutil.rmtree(staging)
    if moved:
        os.rename(member, aside)
    tool = status_argv(ctl.binary, etcdutl, snapshot)[0]
    argv = [tool, "snapshot", "restore", snapshot, "--name", params["name"], "--data-dir", staging,
            "--initial-cluster", params["initial_cluster"], "--initial-cluster-token", params["token"],
            "--initial-advertise-peer-urls", params["peer_url"]] + list(params["flags"])
    rc, out, err = module.run_command(argv, environ_update=ctl.environ)
    if rc != 0 or not os.path.isdir(os.path.join(staging, "member")):
        # Put the old data back where it was: the member is as it was before.
        if os.path.exists(staging):
            shutil.rmtree(staging)
        if moved:
            os.rename(aside, member)
        answer = etcd_answer(err, out) or "it restored no member directory"
        module.fail_json(msg="%s failed (rc=%d): %s. The data directory is as it was. %s"
                         % (" ".join(argv[:3]), rc, answer, advice(answer)), stdout=out, stderr=err)
    os.rename(os.path.join(staging, "member"), member)
    os.rmdir(staging)
    chown_tree(member, params["owner"])
    user = pwd.getpwnam(params["owner"])
    os.chown(data_dir, user.pw_uid, user.pw_gid)
    os.chmod(data_dir, 0o700)
    module.exit_json(changed=True, status=status, sidecar=sidecar, set_aside=aside if moved else None, restored=member,
                     stdout=out, stderr=err)


if __name__ == "__main__":
    main()
