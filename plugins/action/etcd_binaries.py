# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""With src (a controller path), send the archive into the task's remote temporary directory and run the
module on it there, in one task: no separate copy step and its remote stat, and no archive left behind."""

from __future__ import annotations

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = self._task.args.copy()
        source = args.pop("src", None)
        try:
            if source is not None:
                if args.get("archive"):
                    raise AnsibleActionFail("src and archive are mutually exclusive")
                try:
                    source = self._find_needle("files", source)
                except Exception as exc:
                    raise AnsibleActionFail(to_text(exc))
                if self._task.check_mode:
                    # Nothing is sent in check mode; the module reports the archive as a change.
                    args["archive"] = self._connection._shell.join_path(self._connection._shell.tmpdir, "absent.tar.gz")
                else:
                    remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "release.tar.gz")
                    self._transfer_file(source, remote)
                    self._fixup_perms2((self._connection._shell.tmpdir, remote))
                    args["archive"] = remote
                args["remove_archive"] = False
            result.update(self._execute_module(module_name="dcs.etcd.etcd_binaries", module_args=args,
                                               task_vars=task_vars))
        except AnsibleActionFail as exc:
            result.update(failed=True, msg=to_text(exc))
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
