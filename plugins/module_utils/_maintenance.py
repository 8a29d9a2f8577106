# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the rules of maintenance (compaction, defragmentation, the NOSPACE
alarm) and of the disk check before a deploy. Pure functions, used by the run's plan and by the modules."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import json
import math
import os
import shutil
import tempfile
import time

MIB = 1024 * 1024


def fragmentation(size, in_use):
    """Share of the database file that is free (freed pages not yet returned by a defragmentation)."""
    size, in_use = int(size or 0), int(in_use or 0)
    return (size - in_use) / float(size) if size > 0 else 0.0


def defrag_reason(status, min_ratio, min_free, nospace=False):
    """Why a member's database should be defragmented, or None. The rule: the NOSPACE alarm is raised (every
    member is defragmented then), or at least `min_ratio` of the file is free and that is at least `min_free`
    bytes (a small file is not worth a blocked member).

    status: db_size and db_size_in_use, as etcd_cluster_info reports them."""
    size, in_use = int(status.get("db_size") or 0), int(status.get("db_size_in_use") or 0)
    if nospace:
        return "the NOSPACE alarm is raised"
    free = size - in_use
    ratio = fragmentation(size, in_use)
    if ratio >= float(min_ratio) and free >= int(min_free):
        return "%.0f %% of its %d MiB database file is free (%d MiB)" % (ratio * 100, size // MIB, free // MIB)
    return None


def defrag_order(members, needing, preference):
    """The members to defragment, one at a time: followers first in `preference` order (member names, the
    inventory's), the leader last. members: views with name, leader; needing: names."""
    rank = dict((name, i) for i, name in enumerate(preference or []))
    chosen = [m for m in members if m.get("name") in needing]
    ordered = sorted(chosen, key=lambda m: (bool(m.get("leader")), rank.get(m.get("name"), len(rank)), m.get("name") or ""))
    return [m["name"] for m in ordered]


def compact_revision(current, keep):
    """The revision to compact to: `keep` revisions behind the current one (0: none to compact)."""
    return max(int(current or 0) - max(int(keep or 0), 0), 0)


def quota_needed(in_use_sizes, quota, margin):
    """None when every member's data (bytes in use after a defragmentation) fits under the quota with `margin`
    (a share, such as 0.2) to spare; else the quota to raise etcd_quota_backend_bytes to, rounded up to MiB."""
    largest = max([int(s or 0) for s in in_use_sizes] + [0])
    room = 1.0 - float(margin)
    if largest <= int(quota) * room:
        return None
    return int(math.ceil(largest / room / MIB)) * MIB


def fio_fdatasync_p99_ms(report):
    """The 99th percentile of fdatasync latency in milliseconds from fio's JSON output (--output-format=json)
    of a write job with --fdatasync=1, or None when the report does not hold it."""
    try:
        job = report["jobs"][0]
        sync = job["sync"]
        percentiles = (sync.get("lat_ns") or {}).get("percentile") or sync.get("percentile") or {}
        value = percentiles.get("99.000000")
        if value is None:
            return None
        return int(value) / 1e6
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def percentile(values, share):
    """The nearest-rank percentile of `values` (share 0.99 for p99)."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(int(math.ceil(share * len(ordered))) - 1, 0)
    return ordered[rank]


def disk_findings(p99_ms, max_ms, used_percent, fs_bytes, quota):
    """(problems, warnings) of a disk check: fdatasync p99 over etcd's hardware guide's figure is a problem (the
    run fails or warns by etcd_disk_check); a file system over 75 % full or smaller than the quota is a warning."""
    problems, warnings = [], []
    if p99_ms is not None and p99_ms > float(max_ms):
        problems.append("fdatasync p99 is %.2f ms, above etcd_disk_fsync_p99_max_ms=%s" % (p99_ms, max_ms))
    if used_percent is not None and used_percent > 75:
        warnings.append("the file system is %d %% full" % used_percent)
    if fs_bytes is not None and quota and int(fs_bytes) < int(quota):
        warnings.append("the file system (%d MiB) is smaller than etcd_quota_backend_bytes (%d MiB)"
                        % (int(fs_bytes) // MIB, int(quota) // MIB))
    return problems, warnings


# --------------------------------------------------------------------------------------------------------
# The disk check's measurement, on the member (etcd_host_info and etcd_disk_check run it).

BLOCK = 2300


def existing_parent(path):
    path = os.path.abspath(path)
    while not os.path.isdir(path):
        path = os.path.dirname(path)
    return path


def _builtin(directory, size_mb):
    """fdatasync latencies (seconds) of BLOCK-byte sequential writes, at most 1000 or size_mb MiB."""
    count = min(1000, int(size_mb) * 1024 * 1024 // BLOCK)
    path = os.path.join(directory, "wal")
    data = b"\0" * BLOCK
    latencies = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _i in range(count):
            os.write(fd, data)
            started = time.monotonic()
            os.fdatasync(fd)
            latencies.append(time.monotonic() - started)
    finally:
        os.close(fd)
    return latencies


def measure_disk(module, path, size_mb=1, fio=None):
    """fdatasync p99 on the file system of `path` (its nearest existing parent), in a temporary directory that is
    deleted afterwards: fio's write test (etcd's hardware guide: --rw=write --ioengine=sync --fdatasync=1
    --bs=2300) when `fio` is given, else the same pattern written here. Returns a dict, with `error` when fio
    gave no figure."""
    parent = existing_parent(path)
    stat = os.statvfs(parent)
    result = dict(directory=parent, fs_bytes=stat.f_blocks * stat.f_frsize,
                  used_percent=int(round(100.0 * (stat.f_blocks - stat.f_bfree) / stat.f_blocks)) if stat.f_blocks else 0)
    work = tempfile.mkdtemp(prefix=".etcd-disk-check-", dir=parent)
    try:
        if fio:
            rc, out, err = module.run_command([fio, "--name=etcd-disk-check", "--directory=" + work, "--rw=write",
                                               "--ioengine=sync", "--fdatasync=1", "--size=%dm" % int(size_mb),
                                               "--bs=%d" % BLOCK, "--output-format=json"])
            try:
                p99 = fio_fdatasync_p99_ms(json.loads(out[out.index("{"):])) if rc == 0 else None
            except ValueError:
                p99 = None
            if p99 is None:
                result["error"] = "fio gave no fdatasync latency (rc=%d): %s" % (rc, (err or out).strip()[-500:])
                return result
            result.update(fdatasync_p99_ms=round(p99, 3), method="fio", samples=None)
        else:
            latencies = _builtin(work, size_mb)
            result.update(fdatasync_p99_ms=round(percentile(latencies, 0.99) * 1000, 3), method="builtin",
                          samples=len(latencies))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return result
