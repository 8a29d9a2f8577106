#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_disk_check
short_description: Measure fdatasync latency on the file system that will hold etcd's data
version_added: 0.1.0
description:
  - Writes a pattern that resembles etcd's write-ahead log (small sequential writes, each followed by
    C(fdatasync)) in a temporary directory on the file system of O(path) (its nearest existing parent), and
    reports the 99th percentile of the C(fdatasync) latency, the file system's size and how full it is. The
    temporary directory is deleted afterwards.
  - Uses C(fio) when it is installed (etcd's hardware guide's test, C(--rw=write --ioengine=sync --fdatasync=1
    --bs=2300)), else writes the same pattern itself.
  - Decides nothing; the role compares the figures with its thresholds.
options:
  path:
    description: Where etcd's data will be (C(etcd_data)); the check runs on its file system.
    type: path
    required: true
  size_mb:
    description: How many MiB to write (fio's C(--size)); the built-in measurement writes at most 1000 blocks of this.
    type: int
    default: 22
  fio_path:
    description: Path of C(fio); default is C(fio) in the PATH, when there is one.
    type: path
  method:
    description: C(auto) uses fio when installed; C(builtin) never does.
    type: str
    choices: [auto, builtin]
    default: auto
attributes:
  check_mode:
    support: full
    description: Measures in check mode too (it writes only in its temporary directory, which it deletes).
  diff_mode:
    support: none
    description: Nothing changes.
  idempotent:
    support: full
    description: Nothing changes.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Measure the disk before etcd lands on it
  dcs.etcd.etcd_disk_check:
    path: /data/etcd
  register: disk
"""

RETURN = r"""
fdatasync_p99_ms:
  description: The 99th percentile of fdatasync latency, in milliseconds.
  returned: always
  type: float
method:
  description: C(fio) or C(builtin).
  returned: always
  type: str
samples:
  description: How many fdatasync calls were measured (builtin), or null (fio).
  returned: always
  type: int
fs_bytes:
  description: Size of the file system, in bytes.
  returned: always
  type: int
used_percent:
  description: How full the file system is, in percent.
  returned: always
  type: int
directory:
  description: The existing directory the check ran in (a temporary directory inside it).
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import measure_disk


def main():
    module = AnsibleModule(argument_spec=dict(
        path=dict(type="path", required=True), size_mb=dict(type="int", default=22), fio_path=dict(type="path"),
        method=dict(type="str", choices=["auto", "builtin"], default="auto")), supports_check_mode=True)
    params = module.params
    fio = params["fio_path"] or (module.get_bin_path("fio") if params["method"] == "auto" else None)
    result = measure_disk(module, params["path"], params["size_mb"], fio)
    if result.get("error"):
        module.fail_json(msg=result.pop("error"), **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
