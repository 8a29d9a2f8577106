# -*- coding: utf-8 -*-
"""Test harness, not part of the collection: kills the controller at a named task, as an operator's lost SSH
session, sleeping laptop or CI timeout would (SIGKILL to ansible-playbook's process group: no handler, no
cleanup, no `always`); or, with DCS_FAULT_RUN, strikes a member there instead (its etcd killed, its host cut
off) and lets the run go on. molecule/shared/ops.py's interrupted() and faulted() enable it for one run.

DCS_KILL_AT     the task's name, as Ansible prints it without the role prefix; a trailing * matches a prefix
DCS_KILL_NTH    act at the Nth start of a matching task (default 1)
DCS_KILL_MARK   a file to write first (the test checks that it happened where it asked)
DCS_FAULT_RUN   a command (argv as JSON) to run there, to its end, instead of the kill; once
"""
from __future__ import annotations

import json
import os
import signal
import subprocess

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: kill_at
type: aggregate
short_description: kill ansible-playbook, or strike a member, at a named task (a test harness)
description: Sends SIGKILL to the playbook's process group, or runs a fault command, when the named task starts for the Nth time.
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
        if self.seen != self.nth:
            return
        mark = os.environ.get("DCS_KILL_MARK")
        if mark:
            with open(mark, "w") as handle:
                handle.write("%s #%d\n" % (task.get_name(), self.seen))
        fault = os.environ.get("DCS_FAULT_RUN")
        if fault:
            subprocess.run(json.loads(fault), check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            return
        os.killpg(os.getpgrp(), signal.SIGKILL)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)
