# -*- coding: utf-8 -*-
"""Runs an action plugin of the collection as Ansible's worker does: a real Task with its args, check and diff
modes, a real PlayContext, DataLoader, Templar and the local connection plugin (no host is contacted by the
plugins under test: they run on the controller)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.play_context import PlayContext
from ansible.playbook.task import Task
from ansible.plugins.loader import connection_loader
from ansible.template import Templar


@pytest.fixture
def run_action():
    def runner(cls, action, args, task_vars=None, check_mode=False, diff=False):
        task = Task()
        task.action = action
        task.args = dict(args)
        task.check_mode = check_mode
        task.diff = diff
        loader = DataLoader()
        play_context = PlayContext()
        connection = connection_loader.get("local", play_context)
        plugin = cls(task, connection, play_context, loader, Templar(loader=loader), None)
        return plugin.run(task_vars=dict(task_vars or {}))
    return runner
