# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the registry of the operations a run performs on its own
(-t etcd_backup, ...), one module each. An operation's module gives its plan function (run, facts, plan) and
what the generic steps must know about it: ACCEPTS_LOST_DATA, WRITES_CERTIFICATES. A new operation is a
module, a line here, its tag in tags.OPERATION_TAGS, and its task file."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan.operations import backup, ca_rotate, check, maintain, recover, restore

# The operation's name (its tag without etcd_) -> (its module, its plan function).
OPERATIONS = {
    "backup": (backup, backup.plan_backup),
    "restore": (restore, restore.plan_restore),
    "recover": (recover, recover.plan_recover),
    "maintain": (maintain, maintain.plan_maintain),
    "ca_rotate": (ca_rotate, ca_rotate.plan_ca_rotate),
    "check": (check, check.plan_check),
}
