#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_binaries
short_description: Install etcd binaries from an official release archive on the host
version_added: 0.1.0
description:
  - Reads an official etcd release archive (C(etcd-vX.Y.Z-linux-ARCH.tar.gz), whose files sit in one
    top-level directory) in one pass, and installs the named binaries into O(dest) with mode 0755, owned
    by root. The archive is either on the controller (O(src), sent by the action plugin into the task's
    temporary directory and gone afterwards) or already on the host (O(archive)).
  - A binary is replaced only when its content differs, atomically (written beside it, then renamed), so a
    running etcd keeps its old executable until it is restarted.
  - With O(user), also creates the system user (and its group) that runs etcd, in the same module run.
options:
  src:
    description: Path of the release archive on the controller. Exactly one of O(src) and O(archive).
    type: path
  archive:
    description: Path of the release archive on the host. Exactly one of O(src) and O(archive).
    type: path
  dest:
    description: Directory to install into; it must exist.
    type: path
    required: true
  names:
    description: Binaries to install, by file name inside the archive's top-level directory.
    type: list
    elements: str
    default: [etcd, etcdctl]
  remove_archive:
    description: Delete O(archive) once the binaries are in place.
    type: bool
    default: false
  user:
    description:
      - Name of the system user (with a group of the same name) that runs etcd; created with C(useradd --system)
        when missing, with no login shell and O(user_home) as its home, which is not created. An existing user
        is left as it is.
      - Empty (the default) leaves users alone.
    type: str
    default: ""
  user_home:
    description: Home directory recorded for a user created by O(user).
    type: path
    default: /var/lib/etcd
attributes:
  action:
    support: full
    description: An action plugin sends O(src) to the host.
  check_mode:
    support: full
    description: Reports which binaries would change and writes nothing (a missing archive counts as a change).
  diff_mode:
    support: none
    description: Binary content is not shown.
  idempotent:
    support: full
    description: A second run with the same archive changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Install etcd 3.5.16 from a release archive on the controller
  dcs.etcd.etcd_binaries:
    src: /srv/dist/etcd-v3.5.16-linux-amd64.tar.gz
    dest: /usr/local/bin
    names: [etcd, etcdctl, etcdutl]
    user: etcd

- name: Install etcd 3.5.16 from a release archive already on the host
  dcs.etcd.etcd_binaries:
    archive: /var/tmp/etcd-v3.5.16-linux-amd64.tar.gz
    dest: /usr/local/bin
    names: [etcd, etcdctl, etcdutl]
    remove_archive: true
"""

RETURN = r"""
installed:
  description: Binaries written (new or different content).
  returned: always
  type: list
  elements: str
  sample: [etcd, etcdctl]
user_created:
  description: Whether O(user) was created (or would be, in check mode).
  returned: always
  type: bool
  sample: true
"""

import hashlib
import os
import pwd
import tarfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._files import file_sha256, write_atomically


def archive_members(tar, names):
    """Map each wanted name to its regular-file member in the archive's top-level directory."""
    found = {}
    for member in tar:
        parts = member.name.strip("/").split("/")
        if member.isfile() and len(parts) == 2 and parts[1] in names:
            found[parts[1]] = member
            if len(found) == len(names):
                break
    return found


def useradd_argv(useradd, name, home):
    """Create a system user and its own group, with no login shell and no home directory made."""
    return [useradd, "--system", "--user-group", "--home-dir", home, "--no-create-home",
            "--shell", "/usr/sbin/nologin", "--comment", "etcd key-value store", name]


def ensure_user(module, name, home):
    """Create the system user when missing; return whether it was (or would be) created."""
    try:
        pwd.getpwnam(name)
        return False
    except KeyError:
        pass
    if not module.check_mode:
        module.run_command(useradd_argv(module.get_bin_path("useradd", required=True), name, home), check_rc=True)
    return True


def install(module, archive, dest, names):
    installed = []
    with tarfile.open(archive, "r:gz") as tar:
        found = archive_members(tar, names)
        missing = [n for n in names if n not in found]
        if missing:
            module.fail_json(msg="%s has no %s in its top-level directory" % (archive, ", ".join(missing)))
        # In archive order: a gzip stream read out of order is decompressed again from its start.
        for name in sorted(names, key=lambda n: found[n].offset):
            data = tar.extractfile(found[name]).read()
            target = os.path.join(dest, name)
            if hashlib.sha256(data).hexdigest() == file_sha256(target):
                if os.stat(target).st_mode & 0o777 != 0o755 and not module.check_mode:
                    os.chmod(target, 0o755)
                continue
            installed.append(name)
            if not module.check_mode:
                write_atomically(module, target, data, mode=0o755, owner=0, group=0)
    return installed


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path"),
            archive=dict(type="path"),
            dest=dict(type="path", required=True),
            names=dict(type="list", elements="str", default=["etcd", "etcdctl"]),
            remove_archive=dict(type="bool", default=False),
            user=dict(type="str", default=""),
            user_home=dict(type="path", default="/var/lib/etcd"),
        ),
        supports_check_mode=True,
        required_one_of=[("src", "archive")],
        mutually_exclusive=[("src", "archive")],
    )
    if module.params["src"]:
        module.fail_json(msg="src is sent to the host by the dcs.etcd.etcd_binaries action plugin; "
                             "call the module by its collection name, not as a bare module")
    archive, dest, names = module.params["archive"], module.params["dest"], module.params["names"]
    if not os.path.isdir(dest):
        module.fail_json(msg="dest %s is not a directory" % dest)
    user_created = ensure_user(module, module.params["user"], module.params["user_home"]) if module.params["user"] else False
    if not os.path.isfile(archive):
        if module.check_mode:
            module.exit_json(changed=True, installed=list(names), user_created=user_created)
        module.fail_json(msg="archive %s not found on the host" % archive)
    try:
        installed = install(module, archive, dest, names)
    except (tarfile.TarError, OSError) as exc:
        module.fail_json(msg="cannot install from %s: %s" % (archive, exc))
    if module.params["remove_archive"] and not module.check_mode:
        os.unlink(archive)
    module.exit_json(changed=bool(installed) or user_created, installed=installed, user_created=user_created)


if __name__ == "__main__":
    main()
