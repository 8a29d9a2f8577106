# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_check, the read-only status of a cluster. One table: each member's
service, version, role, health, raft index, database size and shares, the days left of its certificate and its
newest backup; then the cluster's alarms, the CA's, root's, the scrape job's and the consumers' certificates,
the newest backup and its off-host copy. Each finding that needs action names the command that fixes it; the
run then fails (a non-zero exit for cron or AWX). Notices are shown, and fail nothing."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import math

from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import defrag_reason
from ansible_collections.dcs.etcd.plugins.module_utils._membership import quorum
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import healthy_but_for_alarms, healthy_voters, member_label
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool

# Reads and writes nothing but what every run reads: no member is started, no certificate written.
ACCEPTS_LOST_DATA = True
WRITES_CERTIFICATES = False
DAY = 86400.0
MIB = 1024.0 * 1024.0
HEADER = ("MEMBER", "HOST", "SERVICE", "VERSION", "ROLE", "HEALTH", "RAFT INDEX", "DB SIZE", "IN USE", "QUOTA",
          "CERT DAYS", "NEWEST BACKUP")


def size_text(size):
    if size is None:
        return "-"
    size = int(size)
    if size < MIB:
        return "%d KiB" % round(size / 1024.0)
    if size < 1024 * MIB:
        return "%.1f MiB" % (size / MIB)
    return "%.2f GiB" % (size / MIB / 1024.0)


def age_text(seconds):
    if seconds is None:
        return "-"
    if seconds < 3600:
        return "%d min ago" % (seconds // 60)
    if seconds < 2 * DAY:
        return "%.1f h ago" % (seconds / 3600.0)
    return "%.1f d ago" % (seconds / DAY)


def table(rows):
    """Rows of text cells as lines of aligned columns."""
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]


def certificate_days(run, now):
    """{name: days left (negative: expired)} of the cluster's certificates on the controller that exist
    (registration.certificate_files, read by the etcd_plan action)."""
    found = (run.controller.get("certificates") or {})
    return dict((name, int(math.floor((float(expiry) - now) / DAY))) for name, expiry in found.items() if expiry)


def plan_check(run, facts, plan):
    """-t etcd_check: the table and the findings (action: fail the run; notice: shown)."""
    now = float(run.controller.get("now") or 0)
    hosts, states = facts.hosts, facts.states
    read = facts.read if facts.read_ok else None
    members = facts.members
    # Each active alarm is a finding of its own: etcd 3.5 also calls every member unhealthy while one is on, which
    # is no lost quorum (and -t etcd_recover no remedy for it).
    alarmed = [a.get("alarm") for a in (read or {}).get("alarms") or []]
    action, notice = [], []
    renew_days = run.int_param("etcd_cert_renew_days", 30)
    warn_days = run.int_param("etcd_cert_warn_days", 90)
    quota = run.int_param("etcd_quota_backend_bytes", 2147483648)
    quota_percent = float(run.param("etcd_alert_quota_percent", 80) or 80)
    backup_hours = float(run.param("etcd_alert_backup_hours", 36) or 36)
    backups_on = as_bool(run.param("etcd_backup"))
    days = certificate_days(run, now)
    pki = run.pki_dir() or ""
    show = [h for h in run.order if h in run.play]
    member_names = set(hosts[h]["name"] for h in run.order)
    rows = [HEADER]
    newest = None  # (created, host, name, size)
    versions = set()
    for host in run.order:
        info = hosts[host]
        state = states.get(host)
        member = facts.in_membership.get(host)
        status = (member or {}).get("status") or {}
        probe = facts.probe_of(host) or {}
        backups = probe.get("backups") or {}
        if backups.get("newest_created") and (newest is None or backups["newest_created"] > newest[0]):
            newest = (float(backups["newest_created"]), host, backups.get("newest"), backups.get("newest_size"))
        version = status.get("version") or (state or {}).get("version")
        if status.get("version"):
            versions.add(status["version"])
        if host not in show:
            continue
        where = "member %s (%s)" % (info["name"], host)
        cert = days.get(info["name"])
        if state is None:
            service = "unreachable"
            action.append("%s: cannot be reached (%s). Check SSH to it, or, for a host that is lost for good, replace "
                          "the member (docs/members.md)." % (where, probe.get("msg") or "no answer"))
        else:
            service = state["service_state"]
            if not state["has_data"] and not member:
                action.append("%s: holds no member. Add it: ./etcd.yml -l %s -e etcd_init=existing." % (where, host))
            elif not state["running"]:
                action.append("%s: etcd is %s. Start it and converge: ./etcd.yml -l %s (its log: journalctl -u etcd)."
                              % (where, service, host))
            elif state["stale_reasons"]:
                action.append("%s: runs outdated files (%s). A plain run restarts it, one member at a time: ./etcd.yml."
                              % (where, "; ".join(state["stale_reasons"])))
            if state["running"] and not state["enabled"]:
                notice.append("%s: the etcd service is not enabled at boot. A plain run enables it: ./etcd.yml." % where)
            if run.controller.get("ca_sha256") and facts.holds_other_ca(host):
                action.append("%s: its CA is not the one in etcd_pki_dir (%s). Point etcd_pki_dir at the cluster's CA "
                              "directory (docs/security.md)." % (where, pki))
        if read is not None and member is None and state is not None and (state["has_data"] or state["running"]):
            action.append("%s: not in the cluster's membership though it holds a member (%s). Remove its data with "
                          "./etcd.yml -l %s -t etcd_clean, then add it: ./etcd.yml -l %s -e etcd_init=existing."
                          % (where, ", ".join(facts.member_on_disk(host)) or "running", host, host))
        if member is not None:
            role = "learner" if member.get("is_learner") else "leader" if member.get("leader") else "follower"
            health = "ok" if member.get("healthy") else "down" if not status else "unhealthy"
            if member.get("is_learner"):
                action.append("%s: is still a learner. Promote it: ./etcd.yml -l %s -e etcd_init=existing."
                              % (where, host))
            if state is not None and state["running"] and not member.get("healthy") and status \
                    and not healthy_but_for_alarms(member, alarmed):
                action.append("%s: answers but is not healthy (%s)." % (where, member.get("health_error") or "no health answer"))
            elif state is not None and state["running"] and not status:
                action.append("%s: its service runs but etcd does not answer on %s. See its log: journalctl -u etcd "
                              "on %s." % (where, info["client_url"], host))
        else:
            role, health = ("-", "-") if read is None else ("not a member", "-")
        size, in_use = status.get("db_size"), status.get("db_size_in_use")
        in_use_text, quota_text = "-", "-"
        if size:
            quota_share = 100.0 * int(size) / quota if quota else 0
            quota_text = "%d%%" % round(quota_share)
            if in_use is not None:
                in_use_text = "%d%%" % round(100.0 * int(in_use) / int(size))
            if quota_share >= quota_percent:
                action.append("%s: its database uses %d%% of etcd_quota_backend_bytes (%s), over "
                              "etcd_alert_quota_percent (%d%%). Compact and defragment: ./etcd.yml -t etcd_maintain; "
                              "if it stays full, delete data or raise etcd_quota_backend_bytes."
                              % (where, round(quota_share), size_text(quota), round(quota_percent)))
            else:
                why = defrag_reason(status, run.param("etcd_defrag_min_ratio", 0.25),
                                    run.int_param("etcd_defrag_min_free_bytes", 33554432))
                if why:
                    notice.append("%s: %s. Defragment: ./etcd.yml -t etcd_maintain." % (where, why))
        rows.append((info["name"], host, service, version or "-", role, health,
                     str(status.get("raft_index")) if status.get("raft_index") is not None else "-",
                     size_text(size), in_use_text, quota_text,
                     "%d" % cert if cert is not None else "-",
                     ("%s (%s)" % (age_text(now - float(backups["newest_created"])), backups.get("count", 0))
                      if backups.get("newest_created") else "none" if backups else "-")))
    # --- the cluster ---------------------------------------------------------------------------------------
    lines = []
    voters = [m for m in members if not m.get("is_learner")]
    if read is None:
        running = [h for h in run.order if (states.get(h) or {}).get("running")]
        if not running:
            action.append("cluster %s: no member runs. Start it with a plain run: ./etcd.yml." % run.cluster)
        else:
            action.append("cluster %s: cannot be read through %s (%s). If fewer than a quorum of its members can "
                          "start, recover it from the survivors: ./etcd.yml -t etcd_recover (docs/backup.md)."
                          % (run.cluster, ", ".join(facts.read_hosts) or "-", facts.read_problem or "no answer"))
    else:
        healthy = healthy_voters(voters, alarmed)
        if not read.get("leader"):
            action.append("cluster %s: the members do not agree on one leader." % run.cluster)
        if voters and len(healthy) < quorum(len(voters)):
            action.append("cluster %s: %d of %d voting members are healthy, fewer than a quorum: recover it "
                          "(./etcd.yml -t etcd_recover, docs/backup.md)." % (run.cluster, len(healthy), len(voters)))
        for alarm in read.get("alarms") or []:
            owner = next((m for m in members if m.get("id") == alarm.get("member_id")), None)
            label = member_label(owner) if owner else alarm.get("member_id")
            if alarm.get("alarm") == "NOSPACE":
                action.append("alarm NOSPACE on member %s: the cluster takes no writes. Recover: ./etcd.yml -t "
                              "etcd_maintain (docs/maintenance.md)." % label)
            else:
                action.append("alarm %s on member %s: see docs/troubleshooting.md." % (alarm.get("alarm"), label))
        # Matched to the inventory as Facts matches them (by peer URL); one that bears a member's name is that
        # member's host under another address, reported on its own row.
        ours = [m for m in facts.in_membership.values() if m is not None]
        for member in members:
            if not any(member is m for m in ours) and member.get("name") not in member_names:
                action.append("member %s (%s) of cluster %s is not in the inventory. Add its host to group %s, or "
                              "remove it (docs/members.md)." % (
                                  member.get("name") or member["id"], ", ".join(member.get("peer_urls") or []),
                                  run.cluster, run.cluster))
            target = ((member.get("status") or {}).get("downgrade") or {}).get("target")
            if target:
                action.append("member %s takes part in etcd's downgrade to %s: finish the rollback (./etcd.yml with that "
                              "release, docs/upgrade.md) or cancel it." % (member_label(member), target))
        lines.append("leader %s, cluster ID %s, %d voting member(s), raft index %s, alarms: %s" % (
            read.get("leader_name") or "none", read.get("cluster_id") or "-", len(voters), read.get("raft_index", "-"),
            ", ".join("%s on %s" % (a.get("alarm"), a.get("member_id")) for a in read.get("alarms") or []) or "none"))
    if len(versions) > 1:
        action.append("cluster %s: members run different etcd releases (%s). Converge them: ./etcd.yml (an upgrade "
                      "interrupted halfway finishes so, docs/interrupted.md)." % (run.cluster, ", ".join(sorted(versions))))
    target = run.target_version()
    if target and versions and versions != set([target]):
        notice.append("cluster %s runs etcd %s; the inventory asks for %s (%s). ./etcd.yml upgrades or rolls back "
                      "(docs/upgrade.md)." % (run.cluster, ", ".join(sorted(versions)), target, run.target_source()))
    # --- certificates --------------------------------------------------------------------------------------
    named = []
    fail_days = run.int_param("etcd_cert_fail_days", 14)
    for name, left in sorted(days.items(), key=lambda item: (item[0] not in member_names, item[0])):
        label = "the certificate of member %s" % name if name in member_names else "certificate %s" % name
        named.append("%s %d" % (name, left))
        if name == "ca":
            # No run renews the CA: it is rotated (the run itself warns and fails by the same two limits).
            if left < fail_days:
                action.append("the CA %s. Rotate it: ./etcd.yml -t etcd_ca_rotate, one phase per run "
                              "(docs/security.md)." % ("expired %d day(s) ago" % -left if left < 0 else
                                                       "expires in %d day(s), inside etcd_cert_fail_days (%d)"
                                                       % (left, fail_days)))
            elif left < warn_days:
                notice.append("the CA expires in %d day(s) (etcd_cert_warn_days: %d). Rotate it before: ./etcd.yml -t "
                              "etcd_ca_rotate (docs/security.md)." % (left, warn_days))
            continue
        if left < 0:
            action.append("%s expired %d day(s) ago. Issue it anew: ./etcd.yml (docs/troubleshooting.md, expired "
                          "certificates)." % (label, -left))
        elif left < renew_days:
            action.append("%s expires in %d day(s), inside etcd_cert_renew_days (%d). Renew it: ./etcd.yml."
                          % (label, left, renew_days))
        elif left < warn_days:
            notice.append("%s expires in %d day(s) (etcd_cert_warn_days: %d); a plain run renews it from %d days "
                          "before." % (label, left, warn_days, renew_days))
    lines.append("certificate days left: %s" % (", ".join(named) or "no certificate found in %s" % (pki or "etcd_pki_dir")))
    # --- backups -------------------------------------------------------------------------------------------
    if newest is not None:
        age = now - newest[0]
        lines.append("newest backup: %s on %s, %s, %s" % (newest[2], newest[1], age_text(age), size_text(newest[3])))
        if backups_on and age > backup_hours * 3600:
            action.append("the newest backup of cluster %s is %s, older than etcd_alert_backup_hours (%d). See the "
                          "backup timer's log (journalctl -u etcd-backup on the members) and take one now: "
                          "./etcd.yml -t etcd_backup." % (run.cluster, age_text(age), backup_hours))
    elif backups_on:
        action.append("cluster %s has no backup in etcd_backup_dir on any member, though etcd_backup is on. Take one "
                      "now: ./etcd.yml -t etcd_backup." % run.cluster)
        lines.append("newest backup: none")
    else:
        lines.append("newest backup: none; scheduled backups are off (etcd_backup: false, docs/backup.md)")
    offsite = [((facts.probe_of(h) or {}).get("backups") or {}).get("metrics") or {} for h in run.order]
    lines += offsite_lines(run, offsite, now, backup_hours, action)
    verdict = "NEEDS ACTION (%d)" % len(action) if action else "OK"
    head = "cluster %s: %s" % (run.cluster, verdict)
    plan["check"] = dict(
        ok=not action, action=action, notice=notice,
        table=[head] + table(rows) + lines + ["needs action: " + a for a in action] + ["notice: " + n for n in notice])


def offsite_lines(run, metrics, now, backup_hours, action):
    """What the scheduled backups' metrics on the members say of the off-host copy (etcd_backup_s3_url)."""
    if not str(run.param("etcd_backup_s3_url") or ""):
        return []
    runs = [m for m in metrics if m.get("etcd_backup_offsite_last_run_timestamp_seconds")]
    if not runs:
        return ["off-host copy: none recorded yet (etcd_backup_s3_url)"]
    latest = max(runs, key=lambda m: m["etcd_backup_offsite_last_run_timestamp_seconds"])
    success = max([m.get("etcd_backup_offsite_last_success_timestamp_seconds") or 0 for m in runs])
    line = "off-host copy: last run %s %s, newest verified copy %s, %s kept" % (
        age_text(now - latest["etcd_backup_offsite_last_run_timestamp_seconds"]),
        "succeeded" if latest.get("etcd_backup_offsite_last_run_success") else "FAILED",
        age_text(now - success) if success else "none", int(latest.get("etcd_backup_offsite_count") or 0))
    if not latest.get("etcd_backup_offsite_last_run_success"):
        action.append("the last off-host copy of cluster %s failed (etcd_backup_s3_url). See journalctl -u etcd-backup "
                      "on the member that took the backup; once the store answers, run the scheduled backup again "
                      "(systemctl start etcd-backup.service on a member), which records the copy." % run.cluster)
    elif success and now - success > backup_hours * 3600:
        action.append("the newest off-host copy of cluster %s is %s, older than etcd_alert_backup_hours." % (
            run.cluster, age_text(now - success)))
    return [line]
