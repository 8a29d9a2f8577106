#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_downgrade
short_description: Enable or cancel etcd's downgrade of a cluster to the minor release below (etcd 3.6 and later)
version_added: 0.1.0
description:
  - With O(state=enabled), makes sure etcd runs a downgrade of the cluster to minor release O(version), one
    below the members' (C(etcdctl downgrade validate), then C(downgrade enable)). etcd then moves the cluster
    version, and each member's storage version, to O(version); once every member runs a release of O(version)
    (their binaries replaced one at a time), etcd completes the downgrade by itself.
  - A downgrade to O(version) already under way (an earlier run) is left as it is.
  - With O(state=cancelled), makes sure no downgrade runs (C(etcdctl downgrade cancel)).
  - Reads each endpoint's status (C(endpoint status -w json), its C(downgradeInfo)) first.
extends_documentation_fragment:
  - dcs.etcd.connection
options:
  version:
    description: The minor release to downgrade to, C(X.Y) (for example C(3.6) on a 3.7 cluster).
    type: str
    required: true
  state:
    description:
      - V(enabled) makes sure a downgrade to O(version) runs.
      - V(cancelled) makes sure no downgrade runs.
    type: str
    choices: [enabled, cancelled]
    default: enabled
attributes:
  check_mode:
    support: full
    description: Reads the status and, for a downgrade to enable, asks etcd to validate it; enables or cancels nothing.
  diff_mode:
    support: full
    description: Shows the downgrade target before and after.
  idempotent:
    support: full
    description: A downgrade already enabled to O(version), or none to cancel, changes nothing.
notes:
  - etcd accepts only the minor release right below the cluster version, from 3.6 on (a 3.6 cluster to 3.5). With
    RBAC authentication on, it needs the root user.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Downgrade a 3.7 cluster to 3.6 (then replace the binaries, one member at a time, the leader last)
  dcs.etcd.etcd_downgrade:
    version: "3.6"
    etcdctl_path: /usr/local/bin/etcdctl
    endpoints: ["https://10.0.0.11:2379", "https://10.0.0.12:2379", "https://10.0.0.13:2379"]
    cacert: /etc/etcd/ca.crt
    cert: /etc/etcd/root.crt
    key: /etc/etcd/root.key

- name: Cancel a downgrade
  dcs.etcd.etcd_downgrade:
    version: "3.6"
    state: cancelled
"""

RETURN = r"""
target_before:
  description: The release a downgrade under way took the cluster to before the module ran (C(3.6.0)), or null.
  returned: always
  type: str
target:
  description: The release a downgrade takes the cluster to afterwards (in check mode, would), or null.
  returned: always
  type: str
  sample: 3.6.0
answer:
  description: What etcdctl printed for the validation, the enabling or the cancel, when one ran.
  returned: always
  type: str
  sample: Downgrade enable success, cluster version 3.7
"""

import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import CONNECTION_ARGSPEC, Etcdctl, EtcdctlError

MINOR_RE = re.compile(r"^\d+\.\d+$")


def downgrade_targets(statuses):
    """The targets of the downgrades the endpoints report as enabled (`endpoint status -w json`, 3.6 and later)."""
    targets = set()
    for entry in statuses if isinstance(statuses, list) else [statuses] if isinstance(statuses, dict) else []:
        info = (entry.get("Status") or {}).get("downgradeInfo") or {}
        if info.get("enabled") and info.get("targetVersion"):
            targets.add(info["targetVersion"])
    return sorted(targets)


def main():
    argument_spec = dict(CONNECTION_ARGSPEC)
    argument_spec.update(version=dict(type="str", required=True),
                         state=dict(type="str", choices=["enabled", "cancelled"], default="enabled"))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    version, state = module.params["version"], module.params["state"]
    if not MINOR_RE.match(version):
        module.fail_json(msg="version=%s: must be a minor release X.Y (for example 3.6)." % version)
    ctl = Etcdctl(module)
    try:
        _rc, statuses, _err = ctl.json(["endpoint", "status"])
        targets = downgrade_targets(statuses)
        before = targets[0] if targets else None
        result = dict(changed=False, target_before=before, target=before, answer="")
        if state == "enabled":
            if before and before.startswith(version + "."):
                pass
            elif before:
                module.fail_json(msg="etcd runs a downgrade to %s, not to %s: cancel it first (state=cancelled)."
                                 % (before, version), **result)
            else:
                result["answer"] = ctl.check(["downgrade", "validate", version]).strip()
                result.update(changed=True, target="%s.0" % version)
                if not module.check_mode:
                    result["answer"] = ctl.check(["downgrade", "enable", version]).strip()
        elif before:
            result.update(changed=True, target=None)
            if not module.check_mode:
                result["answer"] = ctl.check(["downgrade", "cancel"]).strip()
    except EtcdctlError as exc:
        module.fail_json(msg=str(exc), rc=exc.rc, stdout=exc.stdout, stderr=exc.stderr)
    if module._diff:
        result["diff"] = dict(before="downgrade: %s\n" % result["target_before"], after="downgrade: %s\n" % result["target"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
