# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: -t etcd_restore: every member restored from one verified snapshot on the
controller, with a new cluster token, refused under etcd_safeguard, with -l, or while an old member outside the
inventory still answers."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath
import re

from ansible_collections.dcs.etcd.plugins.module_utils._backup import restore_flags
from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import expect_every_member
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool, names


# An operation starts no member as a converge does: a member that lost its data is no reason to refuse it (a
# restore or a recovery is what that member needs).
ACCEPTS_LOST_DATA = True
# Whether it writes certificates, so that a CA on the members that is not the controller's must be refused.
WRITES_CERTIFICATES = False


def plan_restore(run, facts, plan):
    """-t etcd_restore: every member restored from the same snapshot, with a new cluster token. Refused under
    etcd_safeguard, with -l, for a snapshot that does not verify, and while a member outside the inventory
    still answers on its peer port."""
    hosts = facts.hosts
    snapshot = str(run.param("etcd_restore_snapshot") or "")
    # The snapshot as the action found it on the controller: path, SHA-256, sidecar.
    found = run.controller.get("restore") or {}
    if not snapshot:
        run.refuse("-t etcd_restore needs etcd_restore_snapshot=PATH, a snapshot file on the controller (a backup "
                   "fetched with etcd_backup_fetch_dir, for example), or s3:latest or s3:NAME, a backup in the "
                   "off-host store (etcd_backup_s3_url). Nothing was changed.")
        return
    if found.get("error"):
        run.refuse("etcd_restore_snapshot=%s: %s. Nothing was changed." % (snapshot, found["error"]))
        return
    if not found.get("exists"):
        run.refuse("etcd_restore_snapshot=%s: no such file on the controller. Nothing was changed." % snapshot)
        return
    sidecar = found.get("sidecar")
    if found.get("sidecar_error"):
        run.refuse("etcd_restore_snapshot=%s: its sidecar %s cannot be read: %s. Nothing was changed."
                   % (snapshot, found.get("sidecar_path"), found["sidecar_error"]))
    elif sidecar is not None and sidecar.get("sha256") != found.get("sha256"):
        run.refuse("etcd_restore_snapshot=%s does not verify: its SHA-256 is %s, its sidecar %s records %s. It is "
                   "damaged or not the backup the sidecar describes. Nothing was changed."
                   % (snapshot, found.get("sha256"), found.get("sidecar_path"), sidecar.get("sha256")))
    elif sidecar is None:
        run.warn("etcd_restore_snapshot=%s has no sidecar (%s): the snapshot is checked with snapshot status "
                 "alone, and the restored key count is not compared with a record."
                 % (snapshot, found.get("sidecar_path")))
    guarded = [h for h in run.order if hosts[h]["safeguard"]]
    if guarded:
        run.refuse("etcd_safeguard is true for %s: a restore replaces the data of every member of cluster %s. "
                   "Set etcd_safeguard=false for the restore. Nothing was changed." % (names(guarded), run.cluster))
    outside = [h for h in run.order if h not in run.play]
    if outside:
        run.refuse("A restore rebuilds every member of cluster %s, but %s %s outside this run (-l). Run it without "
                   "-l. Nothing was changed." % (run.cluster, names(outside), "is" if len(outside) == 1 else "are"))
    unreachable = [h for h in run.order if not facts.reachable(h)]
    if unreachable:
        run.refuse("Cannot restore cluster %s: %s cannot be reached. Every member is restored at once; fix the "
                   "connection, or take the host out of the inventory. Nothing was changed."
                   % (run.cluster, names(unreachable)))
    missing = [h for h in run.order if facts.reachable(h) and not (facts.states[h]["version"] and facts.states[h]["unit_exists"])]
    if missing:
        run.refuse("Cannot restore cluster %s: %s %s no etcd deployed (binaries and unit). Deploy the cluster "
                   "first (./etcd.yml), then restore into it. Nothing was changed."
                   % (run.cluster, names(missing), "has" if len(missing) == 1 else "have"))
    # Members of the cluster as it was that the inventory does not list: from the running cluster and the
    # sidecar. One that still runs would keep the old cluster alive next to the restored one.
    ours = set(hosts[h]["peer_url"] for h in run.order)
    urls = []
    for member in list(facts.members or []) + list((sidecar or {}).get("members") or []):
        for url in member.get("peer_urls") or []:
            if url not in ours and url not in urls:
                urls.append(url)
    outsiders = []
    for url in urls:
        match = re.match(r"^https?://(\[[^\]]+\]|[^:/]+):([0-9]+)", url)
        if match:
            outsiders.append(dict(url=url, host=match.group(1).strip("[]"), port=int(match.group(2))))
    answering = [o["url"] for o in outsiders if (run.peers or {}).get(o["url"])]
    if answering:
        run.refuse("Refusing to restore cluster %s: %s, a member of the cluster outside the inventory, still "
                   "answers on its peer port. Stop its etcd (and wipe it) first, or add its host to the inventory: "
                   "a running old member next to the restored cluster splits it. Nothing was changed."
                   % (run.cluster, ", ".join(answering)))
    bump = int(run.param("etcd_restore_bump_revision", 0) or 0)
    stamp = str(run.controller.get("stamp") or "")
    sha = str(found.get("sha256") or "")
    notes = {}
    for host in run.order:
        flags, note = restore_flags((facts.states.get(host) or {}).get("version"), bump)
        hosts[host]["restore_flags"] = flags
        notes.setdefault(note, []).append(host)
    bumped = all(hosts[h]["restore_flags"] for h in run.order)
    if not bumped:
        for note, where in sorted(notes.items()):
            if "not bumped" in note:
                run.warn("%s (%s)." % (note[0].upper() + note[1:], names(where)))
    if len(set(tuple(hosts[h]["restore_flags"]) for h in run.order)) > 1:
        run.refuse("Cannot restore cluster %s: its members run etcd versions that do not all support "
                   "--bump-revision (%s). Every member must be restored the same way: upgrade them to one version "
                   "first, or set etcd_restore_bump_revision=0. Nothing was changed."
                   % (run.cluster, "; ".join("%s: %s" % (names(w), n) for n, w in sorted(notes.items()))))
    if found.get("fetched_from") and sidecar is not None and sidecar.get("cluster") not in (None, run.cluster):
        # From the store, the name chose this cluster's backup: another cluster's sidecar means two clusters
        # share the URL under one name.
        run.refuse("etcd_restore_snapshot=%s: the backup fetched from %s is a backup of cluster %s, not %s. Give each "
                   "cluster an etcd_backup_s3_url of its own (a prefix each). Nothing was changed."
                   % (snapshot, found["fetched_from"], sidecar.get("cluster"), run.cluster))
    elif sidecar is not None and sidecar.get("cluster") not in (None, run.cluster):
        run.warn("etcd_restore_snapshot=%s is a backup of cluster %s, restored into cluster %s: its keys replace "
                 "this cluster's." % (snapshot, sidecar.get("cluster"), run.cluster))
    revision = int((sidecar or {}).get("revision") or 0)
    dirname = "%s/restore" % plan["backup"]["dir"]
    # The file's own name (a backup fetched from the off-host store, s3:latest, is named as it is there).
    base = posixpath.basename(str(found.get("path") or snapshot))
    plan["restore"] = dict(
        fetched_from=found.get("fetched_from"),
        src=str(found.get("path") or snapshot), sha256=sha, sidecar=sidecar, sidecar_src=found.get("sidecar_path") if sidecar is not None else None,
        dir=dirname, file="%s/%s" % (dirname, base), sidecar_file="%s/%s.json" % (dirname, base[:-3] if base.endswith(".db") else base),
        token="%s-restore-%s-%s" % (run.cluster, stamp, sha[:8]), suffix="before-restore-%s" % stamp,
        initial_cluster=initial_cluster([dict(name=hosts[h]["name"], peer_urls=[hosts[h]["peer_url"]]) for h in run.order]),
        outsiders=outsiders, bumped=bumped,
        note=sorted(notes)[0] if len(notes) == 1 else "; ".join(sorted(notes)),
        # What the restored cluster must hold: the sidecar's keys, read at the revision the restore starts
        # at (the snapshot's, bumped when etcd can), and no lower a revision than the snapshot's.
        expect=dict(keys=(sidecar or {}).get("keys"), revision=revision + (bump if bumped else 0) if sidecar else None,
                    min_revision=revision),
        keep_old_data=as_bool(run.param("etcd_restore_keep_old_data")))
    plan["verify"] = dict(host=run.order[0] if run.order else None, expect=expect_every_member(facts.hosts, run.order),
                          endpoints=[hosts[h]["client_url"] for h in run.order])
