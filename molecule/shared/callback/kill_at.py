# -*- coding: utf-8 -*-
"""Test harness, not part of the collection: kills the controller at a named task, as an operator's lost SSH
session, sleeping laptop or CI timeout would (SIGKILL to ansible-playbook's process group: no handler, no
cleanup, no `always`). molecule/shared/ops.py's interrupted() enables it for one run.

DCS_KILL_AT     the task's name, as Ansible prints it without the role prefix; a trailing * matches a prefix
DCS_KILL_NTH    kill at the Nth start of a matching task (default 1)
DCS_KILL_MARK   a file to write before the kill (the test checks that the kill happened where it asked)
"""
from __future__ import annotations

import os
import signal

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: kill_at
type: aggregate
short_description: kill ansible-playbook at a named task (a test harness)
description: Sends SIGKILL to the playbook's process group when the named task starts for the Nth time.
requirements: [enabled in ansible.cfg or ANSIBLE_CALLBACKS_ENABLED, DCS_KILL_AT set]
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_at"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.target = os.environ.get("DCS_KILL_AT", "")
        self.nth = int(os.environ.get("DCS_KILL_NTH", "1"))
        self.seen = 0

    def matches(self, name):
        name = name.split(" : ", 1)[-1]
        if self.target.endswith("*"):
            return name.startswith(self.target[:-1])
        return name == self.target

    def v2_playbook_on_task_start(self, task, is_conditional):
        if not self.target or not self.matches(task.get_name()):
            return
        self.seen += 1
        if self.seen < self.nth:
            return
        mark = os.environ.get("DCS_KILL_MARK")
        if mark:
            with open(mark, "w") as handle:
                handle.write("%s #%d\n" % (task.get_name(), self.seen))
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)
