# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs dcs.etcd.etcd_ca_rotation in the controller's worker process: no module is sent anywhere."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible_collections.dcs.etcd.plugins.module_utils._pki import ROTATION_ARGUMENT_SPEC, PkiError, rotate


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ROTATION_ARGUMENT_SPEC)
        try:
            outcome = rotate(args["pki_dir"], args["step"], args["ca_common_name"], args["ca_valid_days"],
                             time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()), check_mode=self._task.check_mode)
        except (PkiError, OSError, ValueError) as exc:
            result.update(failed=True, msg="etcd_ca_rotation: %s" % exc)
            return result
        result.update(outcome)
        if self._task.diff and outcome["changed"]:
            result["diff"] = dict(before="phase: %s\n" % outcome["phase_before"], after="phase: %s\n" % outcome["phase"])
        return result
