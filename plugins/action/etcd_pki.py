# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs dcs.etcd.etcd_pki in the controller's worker process: no module is sent anywhere."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible_collections.dcs.etcd.plugins.module_utils._pki import ARGUMENT_SPEC, PkiError, ca_expiry_problem, ensure


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            outcome = ensure(
                args["pki_dir"], args["member"], args["common_name"], args["sans"],
                args["ca_common_name"], args["valid_days"], args["ca_valid_days"],
                check_mode=self._task.check_mode, kind=args["kind"], ca_must_exist=args["ca_must_exist"],
                renew_days=args["renew_days"],
            )
        except (PkiError, OSError, ValueError) as exc:
            result.update(failed=True, msg="etcd_pki: %s" % exc)
            return result
        result.update(outcome)
        problem = ca_expiry_problem(outcome.get("ca_days_left"), args["ca_warn_days"], args["ca_fail_days"])
        # During a rotation, the CA that expires is the one being replaced: failing would stop the rotation.
        if problem and problem[0] == "fail" and not outcome.get("rotation_phase"):
            result.update(failed=True, msg="etcd_pki: %s" % problem[1])
        elif problem:
            result["warnings"] = [problem[1]]
        if self._task.diff and outcome["changed"]:
            result["diff"] = dict(before_header=outcome["cert"], after_header=outcome["cert"],
                                  before="", after="%s\n" % (outcome["reason"],))
        return result
