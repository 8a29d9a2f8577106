# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_backup, and the backup settings every run writes: where backups
go, how many are kept, which member takes them (the scheduled backup's choice, made here the same way)."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._backup import choose_member, metrics_path, parse_duration
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool


# An operation starts no member as a converge does: a member that lost its data is no reason to refuse it (a
# restore or a recovery is what that member needs).
ACCEPTS_LOST_DATA = True
# Whether it writes certificates, so that a CA on the members that is not the controller's must be refused.
WRITES_CERTIFICATES = False


def backup_settings(run, hosts):
    """What the scheduled and the on-demand backup use: where backups go, how many are kept, which member
    is preferred (the inventory's order), the endpoints a member asks about the others, and the file of its
    metrics for node_exporter (etcd_backup_textfile_dir; it goes with the scheduled backup)."""
    textfile_dir = str(run.param("etcd_backup_textfile_dir") or "")
    return dict(
        metrics_file=metrics_path(textfile_dir, run.cluster) if textfile_dir else "",
        enabled=as_bool(run.param("etcd_backup")), dir=str(run.param("etcd_backup_dir") or "/var/backups/etcd").rstrip("/"),
        keep=run.int_param("etcd_backup_keep", 7), max_age=parse_duration(run.param("etcd_backup_max_age", 0)) or 0,
        randomized_delay=parse_duration(run.param("etcd_backup_randomized_delay", 0)) or 0,
        preference=[hosts[h]["name"] for h in run.order],
        endpoints=[hosts[h]["client_url"] for h in run.order if hosts[h]["client_url"]],
        fetch_dir=str(run.param("etcd_backup_fetch_dir") or ""), host=None, endpoint=None,
        # The off-host copy (etcd_backup_s3_url), without its credentials (the tasks pass them, no_log).
        s3=dict(url=str(run.param("etcd_backup_s3_url")), region=str(run.param("etcd_backup_s3_region") or "us-east-1"),
                keep=run.int_param("etcd_backup_s3_keep", 14),
                max_age=parse_duration(run.param("etcd_backup_s3_max_age", 0)) or 0,
                timeout=run.int_param("etcd_backup_s3_timeout", 60))
        if run.param("etcd_backup_s3_url") else None)


def plan_backup(run, facts, plan):
    """-t etcd_backup: the member that takes the backup now, chosen as the scheduled backup chooses it."""
    if not facts.read_ok:
        run.refuse("Cannot back up cluster %s: %s. Nothing was changed." % (
            run.cluster, facts.read_problem or "no member of it is running"))
        return
    chosen = choose_member(facts.members, plan["backup"]["preference"])
    host = facts.host_of_member(chosen) if chosen else None
    if host is None or not facts.reachable(host):
        run.refuse("Cannot back up cluster %s: no healthy voting member of the inventory to take the backup "
                   "from (chosen: %s). Nothing was changed." % (run.cluster, chosen or "none"))
        return
    plan["backup"].update(host=host, endpoint=facts.hosts[host]["client_url"])
