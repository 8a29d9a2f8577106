# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: verified snapshots (backups) of an etcd cluster, their sidecars and
their retention; which member takes the scheduled backup; what a restore may do on which etcd version.

The rules are pure functions, used by the etcd_backup and etcd_snapshot modules, by the run's plan, and by
the scheduled backup on the members (`etcd-backup`, run by the etcd-backup.timer unit), which imports this
file and _etcdctl.py as installed on the member: they need nothing but the Python standard library there."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import calendar
import fcntl
import hashlib
import json
import os
import re
import subprocess
import sys
import time

from ansible_collections.dcs.etcd.plugins.module_utils._s3 import S3Error, Store
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import (
    Etcdctl,
    EtcdctlError,
    hex_id,
    member_list,
    member_view,
    parse_json_output,
    with_status,
)

# A scheduled or on-demand backup: <cluster>-<UTC time>.db and its sidecar <cluster>-<UTC time>.json.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
INCOMING = ".incoming"
SIDECAR_FORMAT = 1
# `snapshot restore --bump-revision --mark-compacted` exist from these releases on.
BUMP_SINCE = {(3, 4): (3, 4, 27), (3, 5): (3, 5, 10)}
DURATION_PART = re.compile(r"([0-9]+)([smhdw])")
DURATION_SECONDS = dict(s=1, m=60, h=3600, d=86400, w=604800)
VERSION_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def backup_re(cluster):
    return re.compile(r"^%s-([0-9]{8}T[0-9]{6}Z)\.(db|json)$" % re.escape(cluster))


def backup_name(cluster, when):
    """The base name of a backup taken at `when` (seconds since the epoch)."""
    return "%s-%s" % (cluster, time.strftime(STAMP_FORMAT, time.gmtime(when)))


def parse_duration(text):
    """Seconds of a duration such as 14d, 36h, 1w2d or 90m; 0 for 0 or an empty value; None when invalid."""
    text = str(text if text is not None else "").strip()
    if text in ("", "0"):
        return 0
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(int(n) * DURATION_SECONDS[u] for n, u in parts)


def parse_version(version):
    """(major, minor, patch) of an X.Y.Z version, or None."""
    match = VERSION_RE.match(str(version or "").strip())
    return tuple(int(x) for x in match.groups()) if match else None


def key_counting(status):
    """How a `snapshot status -w json` answer counts keys: "live" (etcdutl 3.6 and later, whose answer names the
    snapshot's storage version: live user keys only, 0 for a cluster without any) or "all" (3.4 and 3.5: every
    entry of the database, never 0). Counts are compared only when both were counted the same way."""
    return "live" if isinstance(status, dict) and "version" in status else "all"


def verify_status(status):
    """Why a parsed `snapshot status -w json` answer does not describe a usable snapshot, or None."""
    if not isinstance(status, dict):
        return "snapshot status printed no JSON"
    if int(status.get("totalKey") or 0) <= 0 and key_counting(status) == "all":
        return "the snapshot holds no keys"
    if int(status.get("hash") or 0) == 0:
        return "the snapshot has no hash"
    return None


def verify_against_sidecar(status, sha256, sidecar):
    """Why a snapshot (its status and SHA-256) is not the one its sidecar describes, one sentence each."""
    problems = []
    if not isinstance(sidecar, dict):
        return ["its sidecar is not a JSON object"]
    if sidecar.get("sha256") != sha256:
        problems.append("its SHA-256 is %s, the sidecar records %s" % (sha256, sidecar.get("sha256")))
    if isinstance(status, dict):
        # A sidecar of a release before this field was written counted as 3.4 and 3.5 count.
        same_counting = sidecar.get("total_key_counting", "all") == key_counting(status)
        for field, key in (("hash", "hash"), ("revision", "revision"), ("total_key", "totalKey")):
            if field == "total_key" and not same_counting:
                continue
            if sidecar.get(field) is not None and int(sidecar[field]) != int(status.get(key) or 0):
                problems.append("its %s is %s, the sidecar records %s" % (field, status.get(key), sidecar[field]))
    return problems


def choose_member(members, preference):
    """The member that takes the scheduled backup: the first started, healthy voting member in the order of
    `preference` (member names, the inventory's order), then by name; None when no member qualifies. The rule
    does not depend on who leads: every member, running at its own random time, must come to the same answer
    while the members' health stays the same.

    members: views with name, is_learner, started, healthy (_etcdctl.with_status)."""
    rank = dict((name, i) for i, name in enumerate(preference or []))
    candidates = [m for m in members if m.get("started") and m.get("healthy") and not m.get("is_learner")]
    if not candidates:
        return None
    return sorted(candidates, key=lambda m: (rank.get(m.get("name"), len(rank)), m.get("name") or ""))[0].get("name")


def prune(backups, keep, max_age, now):
    """Which good backups to delete: beyond the newest `keep`, and older than `max_age` seconds (0: no age
    limit). The newest is never deleted, however old: a cluster always keeps its last good backup.

    backups: (name, created) pairs; returns the names, oldest first."""
    ordered = sorted(backups, key=lambda b: (b[1], b[0]), reverse=True)
    doomed = []
    for index, (name, created) in enumerate(ordered):
        if index == 0:
            continue
        if index >= max(int(keep), 1) or (max_age and now - created > max_age):
            doomed.append(name)
    return list(reversed(doomed))


def scan(directory, cluster):
    """The backups of `cluster` in a directory: (good, orphans). good: (name, created, sidecar) for each
    snapshot that has its sidecar; orphans: files of the naming scheme without their other half."""
    pattern = backup_re(cluster)
    found = {}
    for entry in sorted(os.listdir(directory)) if os.path.isdir(directory) else []:
        match = pattern.match(entry)
        if match:
            found.setdefault(entry.rsplit(".", 1)[0], set()).add(match.group(2))
    good, orphans = [], []
    for name, kinds in sorted(found.items()):
        if kinds == set(["db", "json"]):
            try:
                with open(os.path.join(directory, name + ".json")) as handle:
                    sidecar = json.load(handle)
                created = float(sidecar["created"])
            except (OSError, ValueError, KeyError, TypeError):
                orphans.append(name + ".json")
                orphans.append(name + ".db")
                continue
            good.append((name, created, sidecar))
        else:
            orphans.extend("%s.%s" % (name, kind) for kind in sorted(kinds))
    return good, orphans


def read_metrics(path):
    """The values of a node_exporter textfile ({metric name: number}, labels dropped); {} when absent."""
    values = {}
    try:
        with open(path) as handle:
            for line in handle:
                parts = line.split()
                if len(parts) == 2 and not line.startswith("#"):
                    try:
                        values[parts[0].split("{", 1)[0]] = float(parts[1])
                    except ValueError:
                        continue
    except (OSError, IOError):
        pass
    return values


def summary(directory, cluster, metrics_file=None):
    """What a member holds of a cluster's backups, for -t etcd_check: how many, the newest (name, created,
    size) and the scheduled backup's metrics (metrics_file, see textfile())."""
    good, _orphans = scan(directory, cluster)
    newest = max(good, key=lambda g: g[1]) if good else None
    return dict(count=len(good), newest=newest[0] if newest else None, newest_created=newest[1] if newest else None,
                newest_size=(newest[2].get("total_size") if newest else None),
                metrics=read_metrics(metrics_file) if metrics_file else {})


def restore_flags(version, bump):
    """What `snapshot restore` can be given on etcd `version` to bump the revision by `bump` and mark the
    old revisions compacted: (flags, note). Before 3.4.27 and 3.5.10 etcd has neither flag: the restored
    cluster starts at the snapshot's revision, and the note says so."""
    parsed = parse_version(version)
    if not bump:
        return [], "the revision is not bumped (etcd_restore_bump_revision is 0)"
    if parsed is None:
        return [], "the revision is not bumped: the etcd version is not known"
    since = BUMP_SINCE.get(parsed[:2])
    if since is None and parsed[:2] > (3, 5):
        since = parsed
    if since is None or parsed < since:
        return [], ("the revision is not bumped: etcd %s has no --bump-revision (3.4.27 and 3.5.10 added it); "
                    "watchers that saw a later revision must re-read their keys" % version)
    return ["--bump-revision", str(int(bump)), "--mark-compacted"], (
        "the revision is bumped by %d and the old revisions are marked compacted" % int(bump))


def restored_problems(revision, keys, expect_keys, expect_revision, min_revision):
    """Why a restored cluster (its current `revision`, and its `keys` counted at `expect_revision` when given,
    else at the current revision) does not hold what the snapshot's sidecar records, one sentence each."""
    problems = []
    if min_revision is not None and revision < int(min_revision):
        problems.append("its revision %d is lower than the snapshot's %d" % (revision, int(min_revision)))
    if expect_revision is not None and revision < int(expect_revision):
        problems.append("its revision %d is lower than the restore's %d" % (revision, int(expect_revision)))
    if expect_keys is not None and keys != int(expect_keys):
        problems.append("it holds %d keys, the snapshot's sidecar records %d" % (keys, int(expect_keys)))
    return problems


def count_keys(ctl, revision=None, endpoints=None):
    """(keys, current revision) of the cluster: all keys, counted at `revision` when given. A range answer
    counts every key of the range whatever its limit (etcdctl 3.4 has no --count-only; 3.5's wants -w fields)."""
    args = ["get", "", "--from-key", "--keys-only", "--limit=1"] + (["--rev=%d" % int(revision)] if revision else [])
    rc, answer, err = ctl.json(args, endpoints)
    if rc != 0 or not isinstance(answer, dict):
        raise EtcdctlError(args, rc, "", err)
    return int(answer.get("count") or 0), int((answer.get("header") or {}).get("revision") or 0)


def status_argv(etcdctl, etcdutl, path):
    """How to read a snapshot back: etcdutl when there is one (3.5+), else etcdctl (3.4)."""
    if etcdutl and os.access(etcdutl, os.X_OK):
        return [etcdutl, "snapshot", "status", path, "-w", "json"]
    return [etcdctl, "snapshot", "status", path, "-w", "json"]


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_status(ctl, etcdutl, path):
    """(status, problem) of a snapshot file: its parsed `snapshot status` and why it does not verify (or None)."""
    argv = status_argv(ctl.binary, etcdutl, path)
    rc, out, err = ctl.module.run_command(argv, environ_update=ctl.environ)
    status = parse_json_output(out) if rc == 0 else None
    problem = verify_status(status) if rc == 0 else ("%s: %s" % (" ".join(argv[:3]), (err or out).strip()))
    return status, problem


def write_json(path, data, mode=0o644):
    """Write JSON to path atomically (temporary file, fsync, rename)."""
    temp = "%s.tmp-%d" % (path, os.getpid())
    with open(temp, "w") as handle:
        os.fchmod(handle.fileno(), mode)
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temp, path)


def _fsync_dir(directory):
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def take_backup(ctl, etcdutl, directory, cluster, endpoint, keep, max_age, now=None):
    """Save a snapshot from `endpoint` into directory/.incoming, verify it (snapshot status: keys and hash;
    the user keys at its revision), write its sidecar, move both into `directory` (the snapshot first, the
    sidecar last: a snapshot without its sidecar is not a backup), then apply the retention. Returns the
    sidecar, with `pruned` (the names deleted). Raises EtcdctlError or BackupError; a failed snapshot is
    deleted and never becomes the newest backup."""
    now = time.time() if now is None else now
    incoming = os.path.join(directory, INCOMING)
    for path in (directory, incoming):
        if not os.path.isdir(path):
            os.makedirs(path, 0o700)
    # One backup at a time in a directory (the timer's and one on demand could meet): the lock goes with the
    # process, however it ends.
    lock = open(os.path.join(directory, ".lock"), "w")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        raise BackupError("another backup is running in %s" % directory)
    try:
        return _take_backup(ctl, etcdutl, directory, cluster, endpoint, keep, max_age, now, incoming)
    finally:
        lock.close()


def _take_backup(ctl, etcdutl, directory, cluster, endpoint, keep, max_age, now, incoming):
    for stale in os.listdir(incoming):
        os.unlink(os.path.join(incoming, stale))
    name = backup_name(cluster, now)
    if os.path.exists(os.path.join(directory, name + ".db")):
        raise BackupError("a backup named %s already exists in %s (one backup per second)" % (name, directory))
    part = os.path.join(incoming, name + ".db")
    try:
        args = ["snapshot", "save", part]
        rc, out, err = ctl.run(args, [endpoint])
        if rc != 0:
            raise EtcdctlError(args, rc, out, err)
        os.chmod(part, 0o600)
        status, problem = read_status(ctl, etcdutl, part)
        if problem:
            raise BackupError("the snapshot from %s does not verify: %s" % (endpoint, problem))
        revision = int(status.get("revision") or 0)
        # The keys a restore of this snapshot holds: the cluster's keys at the snapshot's revision.
        keys = count_keys(ctl, revision, [endpoint])[0]
        listed = member_list(ctl, [endpoint])
        header = listed.get("header") or {}
        members = [member_view(m) for m in listed.get("members") or []]
        rc, state, err = ctl.json(["endpoint", "status"], [endpoint])
        state = (state[0] if isinstance(state, list) and state else state or {}).get("Status") or {}
        sidecar = dict(
            format=SIDECAR_FORMAT, name=name, file=name + ".db", created=now,
            created_utc=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)), cluster=cluster,
            cluster_id=hex_id(header.get("cluster_id") or 0), etcd_version=state.get("version"),
            taken_from=endpoint, revision=revision, hash=int(status["hash"]), total_key=int(status["totalKey"]),
            total_key_counting=key_counting(status),
            total_size=int(status.get("totalSize") or 0), keys=keys, sha256=file_sha256(part),
            members=[dict(name=m["name"], peer_urls=m["peer_urls"], is_learner=m["is_learner"]) for m in members])
        write_json(os.path.join(incoming, name + ".json"), sidecar, 0o600)
        os.rename(part, os.path.join(directory, name + ".db"))
        os.rename(os.path.join(incoming, name + ".json"), os.path.join(directory, name + ".json"))
        _fsync_dir(directory)
    finally:
        for leftover in os.listdir(incoming):
            os.unlink(os.path.join(incoming, leftover))
    sidecar["pruned"] = apply_retention(directory, cluster, keep, max_age, now)
    return sidecar


def apply_retention(directory, cluster, keep, max_age, now):
    """Delete the backups `prune` names and the orphans of the naming scheme; returns the file names deleted."""
    good, orphans = scan(directory, cluster)
    deleted = []
    for name in prune([(n, c) for n, c, _s in good], keep, max_age, now):
        for suffix in (".json", ".db"):
            os.unlink(os.path.join(directory, name + suffix))
            deleted.append(name + suffix)
    for entry in orphans:
        os.unlink(os.path.join(directory, entry))
        deleted.append(entry)
    return deleted


class BackupError(Exception):
    pass


# --------------------------------------------------------------------------------------------------------
# The scheduled backup on a member (etcd-backup.service): no Ansible there, the same etcdctl runner.

class HostRunner(object):
    """What Etcdctl needs of an AnsibleModule, for a program that runs without Ansible."""

    def __init__(self, params):
        self.params = params

    @staticmethod
    def get_bin_path(name, required=False):
        for directory in os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin").split(os.pathsep):
            candidate = os.path.join(directory, name)
            if os.access(candidate, os.X_OK):
                return candidate
        raise BackupError("%s not found in PATH" % name)

    @staticmethod
    def run_command(argv, environ_update=None):
        env = dict(os.environ)
        env.update(environ_update or {})
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        out, err = proc.communicate()
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


METRICS = (
    ("etcd_backup_last_run_timestamp_seconds", "When the scheduled backup last ran on this member."),
    ("etcd_backup_last_run_success", "1 when the last run succeeded (took a verified backup, or left it to another member), 0 when it failed."),
    ("etcd_backup_last_run_taken", "1 when the last run took the backup on this member, 0 when another member took it."),
    ("etcd_backup_last_success_timestamp_seconds", "When the newest verified backup on this member was taken."),
    ("etcd_backup_last_revision", "Revision of the newest verified backup on this member."),
    ("etcd_backup_last_size_bytes", "Size of the newest verified backup on this member."),
    ("etcd_backup_last_keys", "Keys in the newest verified backup on this member."),
    ("etcd_backup_count", "Verified backups kept on this member."),
    ("etcd_backup_offsite_last_run_timestamp_seconds", "When this member last copied a backup off the cluster (etcd_backup_s3_url)."),
    ("etcd_backup_offsite_last_run_success", "1 when the last off-host copy was uploaded and verified, 0 when it failed."),
    ("etcd_backup_offsite_last_success_timestamp_seconds", "When the newest verified off-host copy this member made was taken."),
    ("etcd_backup_offsite_last_seconds", "How long the last off-host copy took (upload, read back, retention)."),
    ("etcd_backup_offsite_count", "Backups kept in the off-host store after the last copy."),
)
# The off-host metrics a failed copy carries over from the member's previous textfile.
OFFSITE_KEPT = ("etcd_backup_offsite_last_success_timestamp_seconds", "etcd_backup_offsite_count")


def store_of(settings):
    """The off-host store of the settings (url, region, ca_file, and the credentials: access_key and
    secret_key, or credentials_file, a JSON file that holds them, readable by root only)."""
    access, secret = settings.get("access_key"), settings.get("secret_key")
    if settings.get("credentials_file"):
        with open(settings["credentials_file"]) as handle:
            credentials = json.load(handle)
        access, secret = credentials.get("access_key"), credentials.get("secret_key")
    return Store(settings["url"], access, secret, settings.get("region"), settings.get("ca_file"),
                 int(settings.get("timeout") or 60))


def store_backups(names, cluster):
    """(complete, incomplete): the backups of `cluster` among a store's object names, newest first, a backup being
    its .db and its .json; incomplete ones lack one of the two (an upload that broke off)."""
    pattern = backup_re(cluster)
    kinds, stamps = {}, {}
    for name in names:
        match = pattern.match(name)
        if match:
            base = name.rsplit(".", 1)[0]
            kinds.setdefault(base, set()).add(match.group(2))
            stamps[base] = calendar.timegm(time.strptime(match.group(1), STAMP_FORMAT))
    ordered = sorted(stamps, key=lambda n: stamps[n], reverse=True)
    return ([(n, stamps[n]) for n in ordered if kinds[n] == set(["db", "json"])],
            [(n, stamps[n]) for n in ordered if kinds[n] != set(["db", "json"])])


def offsite_retention(names, cluster, keep, max_age, now):
    """(the backups to delete from the off-host store, how many stay): the newest `keep` complete ones stay, and
    none older than max_age (seconds, 0: no limit) but the newest; incomplete ones go."""
    complete, incomplete = store_backups(names, cluster)
    doomed = [n for index, (n, stamp) in enumerate(complete)
              if index >= max(int(keep), 1) or (index > 0 and max_age and now - stamp > max_age)]
    return sorted(doomed + [n for n, _stamp in incomplete]), len(complete) - len(doomed)


def copy_offsite(settings, directory, sidecar, now=None):
    """Copy a verified backup (its snapshot and sidecar, in `directory`) to the off-host store, read both back
    and compare their SHA-256 with the local files, then apply the store's retention. Returns {url, name,
    verified, pruned, count, seconds}; raises S3Error, BackupError or OSError."""
    started = time.time()
    now = started if now is None else now
    store = store_of(settings)
    name = sidecar["name"]
    sidecar_path = os.path.join(directory, name + ".json")
    sidecar_sha256 = file_sha256(sidecar_path)
    # The snapshot first, the sidecar last: a snapshot without its sidecar is not a backup (as on the members).
    files = ((os.path.join(directory, name + ".db"), sidecar["sha256"]), (sidecar_path, sidecar_sha256))
    for path, sha256 in files:
        store.put_file(path, os.path.basename(path), sha256)
    for path, sha256 in files:
        copied, size = store.read(os.path.basename(path))
        if copied != sha256:
            # A copy that is not the backup must never be restored: both objects go.
            for kind in (".db", ".json"):
                try:
                    store.delete(name + kind)
                except S3Error:
                    pass
            raise BackupError("the copy of %s in %s reads back with SHA-256 %s, not %s (deleted there)" % (
                os.path.basename(path), store.url, copied, sha256))
    result = dict(url=store.url, name=name, verified=True, pruned=[], count=None, retention_error=None)
    # The copy is verified: a retention the store refuses (a key without s3:DeleteObject, an object lock) is
    # reported, and does not make the copy a failure.
    try:
        listed = [n for n, _size in store.list(sidecar["cluster"] + "-")]
        doomed, result["count"] = offsite_retention(listed, sidecar["cluster"], int(settings.get("keep") or 1),
                                                    int(settings.get("max_age") or 0), now)
        for base in doomed:
            for kind in (".db", ".json"):
                if base + kind in listed:
                    store.delete(base + kind)
                    result["pruned"].append(base + kind)
    except S3Error as exc:
        result["retention_error"] = str(exc)
    result["seconds"] = round(time.time() - started, 3)
    return result


def offsite_metrics(result, previous, now, copied=None, error=None):
    """The off-host metrics of a scheduled run that copied (copied: copy_offsite's answer) or failed (error)."""
    result["etcd_backup_offsite_last_run_timestamp_seconds"] = int(now)
    if copied is not None:
        result.update({"etcd_backup_offsite_last_run_success": 1, "etcd_backup_offsite_last_success_timestamp_seconds": int(now),
                       "etcd_backup_offsite_last_seconds": copied["seconds"]})
        if copied.get("count") is not None:
            result["etcd_backup_offsite_count"] = copied["count"]
        elif previous.get("etcd_backup_offsite_count") is not None:
            result["etcd_backup_offsite_count"] = int(previous["etcd_backup_offsite_count"])
    else:
        result["etcd_backup_offsite_last_run_success"] = 0
        for metric in OFFSITE_KEPT:
            if previous.get(metric) is not None:
                result[metric] = int(previous[metric])
    return result


def metrics_path(textfile_dir, cluster):
    """The node_exporter textfile that holds a cluster's backup metrics."""
    return os.path.join(textfile_dir, "etcd_backup_%s.prom" % cluster)


def textfile(cluster, member, values):
    """The node-exporter textfile with the backup metrics (those of `values` that are known)."""
    labels = 'cls="%s",ins="%s"' % (cluster, member)
    lines = []
    for metric, text in METRICS:
        if values.get(metric) is None:
            continue
        lines += ["# HELP %s %s" % (metric, text), "# TYPE %s gauge" % metric,
                  "%s{%s} %s" % (metric, labels, repr(float(values[metric])) if isinstance(values[metric], float) else values[metric])]
    return "\n".join(lines) + "\n"


def run_scheduled(config, now=None):
    """One run of the scheduled backup on a member: (exit status, message). The member takes the backup
    when choose_member() chooses it from the members as its own endpoint reports them; the others exit
    successfully without one. The textfile (when configured) tells monitoring how it went."""
    now = time.time() if now is None else now
    params = dict(etcdctl_path=config["etcdctl"], endpoints=config["endpoints"], cacert=config.get("cacert"),
                  cert=config.get("cert"), key=config.get("key"), command_timeout=int(config.get("command_timeout") or 30))
    cluster, member, directory = config["cluster"], config["member"], config["dir"]
    result = {"etcd_backup_last_run_timestamp_seconds": int(now), "etcd_backup_last_run_success": 0}
    try:
        ctl = Etcdctl(HostRunner(params))
        listed = member_list(ctl, [config["endpoint"]] + [e for e in config["endpoints"] if e != config["endpoint"]])
        members = with_status(ctl, [member_view(m) for m in listed.get("members") or []])
        chosen = choose_member(members, config.get("preference") or [])
        if chosen != member:
            # The age limit applies to the backups this member took before, too.
            pruned = apply_retention(directory, cluster, int(config.get("keep") or 1), int(config.get("max_age") or 0),
                                     now) if os.path.isdir(directory) else []
            message = "member %s takes the backup of cluster %s%s; pruned here: %s" % (
                chosen, cluster, "" if chosen else " (none is healthy)", ", ".join(pruned) or "nothing")
            result.update({"etcd_backup_last_run_success": 1 if chosen else 0, "etcd_backup_last_run_taken": 0})
            code = 0 if chosen else 1
        else:
            sidecar = take_backup(ctl, config.get("etcdutl"), directory, cluster, config["endpoint"],
                                  int(config.get("keep") or 1), int(config.get("max_age") or 0), now)
            message = "backup %s: revision %d, %d keys, %d bytes, sha256 %s; pruned: %s" % (
                sidecar["file"], sidecar["revision"], sidecar["keys"], sidecar["total_size"], sidecar["sha256"],
                ", ".join(sidecar["pruned"]) or "nothing")
            result.update({"etcd_backup_last_run_success": 1, "etcd_backup_last_run_taken": 1})
            code = 0
            if config.get("s3"):
                # The local backup stands whatever becomes of its copy; a failed copy fails the run (the unit
                # shows it) and its metric (EtcdBackupOffsiteFailed).
                previous = read_metrics(metrics_path(config["textfile_dir"], cluster)) if config.get("textfile_dir") else {}
                try:
                    copied = copy_offsite(config["s3"], directory, sidecar, now)
                    offsite_metrics(result, previous, now, copied=copied)
                    message += "; copied to %s and verified in %.1f s, %s kept there, pruned there: %s%s" % (
                        copied["url"], copied["seconds"], copied["count"] if copied["count"] is not None else "?",
                        ", ".join(copied["pruned"]) or "nothing",
                        "; the store's retention failed: %s" % copied["retention_error"] if copied["retention_error"] else "")
                except (S3Error, BackupError, OSError, ValueError, KeyError) as exc:
                    offsite_metrics(result, previous, now, error=exc)
                    message += "; the off-host copy FAILED: %s" % exc
                    code = 1
    except (EtcdctlError, BackupError, OSError, KeyError, ValueError) as exc:
        message = "backup of cluster %s on %s failed: %s" % (cluster, member, exc)
        result["etcd_backup_last_run_taken"] = 1
        code = 1
    good, _orphans = scan(directory, cluster)
    if good:
        newest = max(good, key=lambda g: g[1])[2]
        result.update({"etcd_backup_last_success_timestamp_seconds": int(newest["created"]),
                       "etcd_backup_last_revision": newest.get("revision"), "etcd_backup_last_size_bytes": newest.get("total_size"),
                       "etcd_backup_last_keys": newest.get("keys")})
    result["etcd_backup_count"] = len(good)
    if config.get("textfile_dir"):
        try:
            if not os.path.isdir(config["textfile_dir"]):
                os.makedirs(config["textfile_dir"], 0o755)
            path = metrics_path(config["textfile_dir"], cluster)
            temp = path + ".tmp"
            with open(temp, "w") as handle:
                os.fchmod(handle.fileno(), 0o644)
                handle.write(textfile(cluster, member, result))
            os.rename(temp, path)
        except OSError as exc:
            message += "; cannot write the textfile metrics: %s" % exc
            code = 1
    return code, message


def verify_file(ctl, etcdutl, path, sidecar_path=None):
    """(status, problems) of a backup file and its sidecar (by default the path with .json for .db): the
    snapshot reads back and is what the sidecar records. Without a sidecar, only the snapshot status is checked."""
    status, problem = read_status(ctl, etcdutl, path)
    problems = [problem] if problem else []
    sidecar_path = sidecar_path or (path[:-3] + ".json" if path.endswith(".db") else path + ".json")
    if os.path.isfile(sidecar_path):
        try:
            with open(sidecar_path) as handle:
                sidecar = json.load(handle)
        except ValueError as exc:
            sidecar = None
            problems.append("its sidecar %s is not JSON: %s" % (sidecar_path, exc))
        if sidecar is not None:
            problems += verify_against_sidecar(status, file_sha256(path), sidecar)
    return status, problems


def main(argv=None):
    """etcd-backup --config FILE [--verify SNAPSHOT]: the scheduled backup, or a check of a backup file."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] != "--config":
        sys.stderr.write("usage: etcd-backup --config FILE [--verify SNAPSHOT]\n")
        return 2
    with open(argv[1]) as handle:
        config = json.load(handle)
    if len(argv) == 4 and argv[2] == "--verify":
        ctl = Etcdctl(HostRunner(dict(etcdctl_path=config["etcdctl"], endpoints=[], command_timeout=30)))
        status, problems = verify_file(ctl, config.get("etcdutl"), argv[3])
        if problems:
            sys.stderr.write("%s does not verify: %s\n" % (argv[3], "; ".join(problems)))
            return 1
        sys.stdout.write("%s verifies: revision %s, hash %s, %s keys\n" % (argv[3], status["revision"], status["hash"], status["totalKey"]))
        return 0
    code, message = run_scheduled(config)
    (sys.stdout if code == 0 else sys.stderr).write(message + "\n")
    return code
