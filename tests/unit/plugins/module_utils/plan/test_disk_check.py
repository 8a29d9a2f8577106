# -*- coding: utf-8 -*-
"""module_utils/_plan/disk_check.py: the disk check's figures."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from .conftest import fresh, host, inputs, refused


def test_a_slow_disk_fails_or_warns_by_etcd_disk_check():
    probes = dict((host(i), fresh()) for i in (1, 2, 3))
    # etcd_host_info's disk check (disk_check: new), on a host without data.
    probes[host(1)]["disk"] = {"fdatasync_p99_ms": 25.0, "method": "builtin", "directory": "/data", "used_percent": 80,
                               "fs_bytes": 10 ** 12}
    data = inputs(probes=probes, params={"etcd_disk_check": "fail"})
    plan = pipeline.make_plan(data, {"ca_sha256": None, "archive_exists": True})
    assert refused(plan, "etcd_disk_check=fail: 10.0.0.11 (builtin, on the file system of /data): fdatasync p99 is 25.00 ms")
    data["params"]["etcd_disk_check"] = "warn"
    plan = pipeline.make_plan(data, {"ca_sha256": None, "archive_exists": True})
    assert not refused(plan, "etcd_disk_check=fail") and any("fdatasync p99 is 25.00 ms" in w for w in plan["warnings"])
    assert any("the file system is 80 % full" in w for w in plan["warnings"])
