# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: etcd_version_errors
short_description: Why installing an etcd version on a cluster would be unsafe
version_added: 0.1.0
description:
  - Checks a target etcd version against the versions a cluster's members run or hold on disk, following
    etcd's upgrade rules, and returns one message per problem (an empty list when the target is safe).
  - Refused are a target on the known-bad list; a change of the major version; skipping a minor version
    (3.4 to 3.6); a 3.5 to 3.6 upgrade from a 3.5 release before 3.5.26; a downgrade of the minor version (a member cannot start on data written by a newer
    minor); and a rolling upgrade from 3.4 to 3.5 while RBAC authentication is enabled (or when that
    cannot be told), which etcd does not support.
  - A patch upgrade or downgrade within one minor version is allowed.
positional: _input, current, known_bad, auth_enabled, source
options:
  _input:
    description: The target version, X.Y.Z. An empty value means unknown, and nothing is checked.
    type: str
    required: true
  current:
    description: Versions the cluster's members run or have installed next to their data.
    type: list
    elements: str
    required: true
  known_bad:
    description: Releases to refuse (C(etcd_known_bad_versions)).
    type: list
    elements: str
    required: true
  auth_enabled:
    description: Whether RBAC authentication is enabled on the cluster; null when unknown.
    type: bool
  source:
    description: The parameter the target comes from, named in the messages.
    type: str
    default: etcd_version
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Refuse an unsafe version change before touching any host
  ansible.builtin.assert:
    that: errors | length == 0
    fail_msg: "{{ errors | join(' ') }}"
  vars:
    errors: "{{ '3.6.0' | dcs.etcd.etcd_version_errors(['3.4.23'], ['3.5.0', '3.5.1', '3.5.2']) }}"
"""

RETURN = r"""
_value:
  description: One message per problem, each naming the parameter; empty when the target is safe.
  type: list
  elements: str
"""

import re

from ansible.errors import AnsibleFilterError

# etcd's 3.5 to 3.6 upgrade guide: every 3.5 member must first run at least this patch release.
LAST_35_BEFORE_36 = (3, 5, 26)
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def parse(version):
    match = VERSION_RE.match(str(version or "").strip())
    return tuple(int(x) for x in match.groups()) if match else None


def minor_name(parsed):
    return "%d.%d" % parsed[:2]


def etcd_version_errors(target, current, known_bad, auth_enabled=None, source="etcd_version"):
    if not isinstance(current, list) or not isinstance(known_bad, list):
        raise AnsibleFilterError("etcd_version_errors expects lists of current and known-bad versions")
    wanted = parse(target)
    if wanted is None:
        return []
    errors = []
    if str(target) in [str(v).strip() for v in known_bad]:
        errors.append(
            "%s: etcd %s is on the known-bad list (etcd_known_bad_versions: %s). Choose another release; only if "
            "you accept its known problems, remove it from etcd_known_bad_versions. Nothing was changed."
            % (source, target, ", ".join(str(v) for v in known_bad)))
    running = sorted(set(p for p in (parse(v) for v in current) if p is not None))
    if not running:
        return errors
    lowest, highest = running[0], running[-1]
    have = ", ".join(sorted(set(str(v) for v in current if parse(v))))
    if wanted[0] != lowest[0] or wanted[0] != highest[0]:
        errors.append("%s: etcd %s has another major version than the cluster's members (%s); etcd supports no "
                      "such change in place. Nothing was changed." % (source, target, have))
    elif wanted[:2] < highest[:2]:
        errors.append("%s: etcd %s would downgrade the members running %s to minor version %s. A member cannot "
                      "start on data written by a newer minor version; to go back, restore a snapshot into a new "
                      "cluster. Nothing was changed." % (source, target, have, minor_name(wanted)))
    elif wanted[1] > lowest[1] + 1:
        errors.append("%s: etcd %s would skip a minor version: the cluster runs %s. Upgrade one minor version "
                      "at a time (to %d.%d first, then on). Nothing was changed."
                      % (source, target, have, lowest[0], lowest[1] + 1))
    elif wanted[:2] == (3, 6) and lowest[:2] == (3, 5) and lowest < LAST_35_BEFORE_36:
        errors.append("%s: etcd %s needs every 3.5 member on 3.5.%d or later first (the cluster runs %s); "
                      "earlier 3.5 releases cannot run next to 3.6 members. Upgrade to the newest 3.5 release "
                      "first. Nothing was changed." % (source, target, LAST_35_BEFORE_36[2], have))
    elif lowest[:2] == (3, 4) and wanted[:2] == (3, 5) and auth_enabled is not False:
        if auth_enabled:
            reason = "RBAC authentication is enabled on the cluster"
        else:
            reason = "the run could not tell whether RBAC authentication is enabled (the cluster was not read, or did not say)"
        errors.append("%s: etcd %s would upgrade the cluster from 3.4 to 3.5 member by member, but %s: etcd "
                      "does not support a rolling 3.4 to 3.5 upgrade with authentication enabled. Disable it "
                      "(etcdctl auth disable) for the upgrade, and enable it again afterwards. Nothing was "
                      "changed." % (source, target, reason))
    return errors


class FilterModule(object):
    def filters(self):
        return {"etcd_version_errors": etcd_version_errors}
