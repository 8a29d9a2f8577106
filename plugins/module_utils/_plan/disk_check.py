# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the disk check's figures (etcd_disk_check, measured by etcd_host_info on
hosts without data): a slow fdatasync p99 refuses the run (fail) or warns (warn); a full or small file system
warns. The figures go into the plan's `disks`; which members the probe measures, into `probe`."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import disk_findings
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool


def judge_disks(run, facts, plan):
    """The disk check's figures (etcd_disk_check on hosts without data): a slow fdatasync fails the run
    (etcd_disk_check=fail) or warns (warn); a full or small file system warns."""
    mode = run.param("etcd_disk_check", "warn")
    plan["disks"] = {}
    for host in run.order:
        found = (facts.probe_of(host) or {}).get("disk") if facts.reachable(host) else None
        if not found:
            continue
        if found.get("error"):
            run.warn("The disk check on %s gave no figure: %s." % (host, found["error"]))
            continue
        problems, warnings = disk_findings(found.get("fdatasync_p99_ms"), run.param("etcd_disk_fsync_p99_max_ms", 10),
                                           found.get("used_percent"), found.get("fs_bytes"),
                                           run.int_param("etcd_quota_backend_bytes", 2147483648))
        plan["disks"][host] = dict(p99_ms=found.get("fdatasync_p99_ms"), method=found.get("method"),
                                   directory=found.get("directory"), problems=problems, warnings=warnings)
        where = "%s (%s, on the file system of %s)" % (host, found.get("method"), found.get("directory"))
        if problems and mode == "fail":
            run.refuse("etcd_disk_check=fail: %s: %s. etcd needs a disk whose fdatasync p99 stays under "
                       "etcd_disk_fsync_p99_max_ms, or it misses heartbeats and elects leaders over and over. Give "
                       "etcd a faster disk, or set etcd_disk_check=warn to deploy anyway. Nothing was changed."
                       % (where, "; ".join(problems)))
        elif problems:
            run.warn("Disk check %s: %s (etcd_disk_check=warn)." % (where, "; ".join(problems)))
        for warning in warnings:
            run.warn("Disk check %s: %s." % (where, warning))


def probe_mode(run):
    """Which members the probe measures: none (etcd_disk_check=skip), all (etcd_disk_check_all), or only
    those without data (new)."""
    if run.param("etcd_disk_check", "warn") == "skip":
        return "skip"
    return "all" if as_bool(run.param("etcd_disk_check_all")) else "new"
