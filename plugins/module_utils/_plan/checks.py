# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the first step of every plan, before any host is contacted: the
inventory (etcd_seq, one cluster per host) and the parameters (types that span fields, ranges, the install
source, the CA directory, per-member values). Each problem is refused with the variable and the hosts that
have it; access parameters (RBAC, consumer certificates, TLS) are checked in access."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath

from ansible_collections.dcs.etcd.plugins.module_utils._backup import VERSION_RE, parse_duration
from ansible_collections.dcs.etcd.plugins.module_utils._s3 import parse_url
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import (
    ARCHIVE_RE,
    DNS_RE,
    DURATION_RE,
    METRICS_URL_RE,
    SHA256_RE,
    SYSTEM_DIRS,
    as_bool,
    data_dir_problem,
    is_ip,
    names,
    port_ok,
    san_problem,
)
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import version_errors


def sibling_groups(groups, cluster):
    """The inventory groups that share a host with the cluster's group without being its parent or its part:
    each may be another cluster's group (the plan decides, from which of their hosts have an etcd_seq)."""
    own = set(groups.get(cluster) or []) if isinstance(cluster, str) else set()
    found = {}
    for name, hosts in sorted(groups.items()):
        hosts = set(hosts or [])
        if name in ("all", "ungrouped", cluster) or not (hosts & own) or hosts >= own or hosts <= own:
            continue
        found[name] = sorted(hosts)
    return found


def check_inventory(run):
    """etcd_seq on every member, unique; every host of the play in the cluster's group, and in no other
    cluster's."""
    bad = [h for h in run.order if h not in run.seqs]
    if bad:
        run.refuse("etcd_seq must be a non-negative integer on every member; missing or invalid on: %s."
                   % names(bad))
    valid = [(h, run.seqs[h]) for h in run.order if h in run.seqs]
    dups = [h for h, s in valid if [s2 for _h, s2 in valid].count(s) > 1]
    if dups:
        run.refuse("etcd_seq must be unique in the cluster: %s."
                   % ", ".join("%s has etcd_seq %s" % (h, s) for h, s in valid if h in dups))
    for host in run.play:
        if host not in run.order:
            run.refuse("this host (%s) is not in the group etcd_cluster=%s." % (host, run.cluster))
    for host in run.order:
        other = run.host_param(host, "etcd_cluster")
        if other != run.cluster:
            run.refuse("%s is in the inventory group %s but has etcd_cluster=%s: a host belongs to one cluster."
                       % (host, run.cluster, other))
    # Another cluster's group (every host of it has an etcd_seq) that shares hosts with this one. With
    # -e etcd_cluster=NAME every host reads the same etcd_cluster, so the groups tell.
    with_seq = set(run.raw.get("seq_hosts") or [])
    for group, hosts in sibling_groups(run.groups, run.cluster).items():
        shared = [h for h in run.order if h in hosts]
        if all(h in with_seq for h in hosts) and shared:
            run.refuse("%s %s in the inventory groups of two clusters, %s and %s: a host belongs to one cluster "
                       "(its member would be in both). Take it out of one group."
                       % (names(shared), "is" if len(shared) == 1 else "are", run.cluster, group))


def check_parameters(run):
    """The general parameters: etcd_init, timing, compaction, timeouts, alert thresholds, the scrape certificate's
    directory."""
    hb, et = run.param("etcd_heartbeat_interval"), run.param("etcd_election_timeout")
    try:
        hb, et = int(hb), int(et)
    except (TypeError, ValueError):
        run.refuse("etcd_heartbeat_interval and etcd_election_timeout must be numbers of milliseconds.")
    else:
        if hb <= 0:
            run.refuse("etcd_heartbeat_interval=%s: must be a positive number of milliseconds." % hb)
        elif et < hb * 5 or et > 50000:
            run.refuse("etcd_election_timeout=%s: must be at least 5 x etcd_heartbeat_interval (%d) and at most "
                       "50000; etcd refuses to start otherwise." % (et, hb * 5))
    for name in ("etcd_health_timeout", "etcd_cert_valid_days"):
        try:
            if int(run.param(name)) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a positive number." % (name, run.param(name)))
    try:
        if int(run.param("etcd_start_timeout", 0)) < 0:
            raise ValueError
    except (TypeError, ValueError):
        run.refuse("etcd_start_timeout=%s: must be 0 (no limit) or a number of seconds." % run.param("etcd_start_timeout"))
    # Prometheus refuses rules with a bad duration or threshold, and keeps its old ones without a word.
    if not DURATION_RE.match(str(run.param("etcd_alert_member_down_for", "1m"))):
        run.refuse("etcd_alert_member_down_for=%s: must be a Prometheus duration such as 30s, 1m or 1h."
                   % run.param("etcd_alert_member_down_for"))
    for name in ("etcd_alert_leader_changes", "etcd_alert_failed_proposals", "etcd_alert_fsync_seconds",
                 "etcd_alert_commit_seconds", "etcd_alert_quota_percent", "etcd_alert_growth_hours",
                 "etcd_alert_fragmentation_ratio", "etcd_alert_certificate_days", "etcd_alert_backup_hours"):
        try:
            if float(run.param(name, 1)) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a positive number." % (name, run.param(name)))
    cert_dir = str(run.param("etcd_prometheus_cert_dir") or "")
    if cert_dir and (not cert_dir.startswith("/") or len([x for x in cert_dir.split("/") if x]) < 3
                     or posixpath.normpath(cert_dir) in (str(run.param("etcd_prometheus_targets_dir") or ""),
                                                         str(run.param("etcd_prometheus_rules_dir") or ""))):
        run.refuse("etcd_prometheus_cert_dir=%s: must be an absolute directory of this cluster's own, such as "
                   "/etc/prometheus/etcd/%s (a removed cluster's certificate is deleted from it)."
                   % (cert_dir, run.cluster))


def check_rebuild_limit(run):
    """etcd_clean=true rebuilds every member: never under -l."""
    if as_bool(run.param("etcd_clean")) and [h for h in run.order if h not in run.play]:
        run.refuse("etcd_clean=true rebuilds the whole cluster %s: run it without -l. To remove some members, "
                   "run -l HOSTS -t etcd_clean." % run.cluster)


def check_member_count(run):
    """An even member count is allowed, with a word."""
    if len(run.order) % 2 == 0 and run.order:
        run.warn("Cluster %s has %d members. An even count tolerates no more failures than one member fewer: "
                 "prefer 1, 3 or 5." % (run.cluster, len(run.order)))


def check_backup_parameters(run):
    """The scheduled backup, restore, maintenance and disk check parameters."""
    for name, least in (("etcd_backup_keep", 1), ("etcd_restore_bump_revision", 0)):
        try:
            if int(run.param(name, least)) < least or isinstance(run.param(name), bool):
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a whole number of at least %d." % (name, run.param(name), least))
    for name in ("etcd_backup_max_age", "etcd_backup_randomized_delay"):
        if parse_duration(run.param(name, 0)) is None:
            run.refuse("%s=%s: must be a duration such as 0, 30m, 36h, 14d or 2w." % (name, run.param(name)))
    for name, low, high in (("etcd_defrag_min_ratio", 0.0, 1.0), ("etcd_nospace_margin", 0.0, 0.9)):
        try:
            if not low <= float(run.param(name, low)) <= high:
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a number from %s to %s." % (name, run.param(name), low, high))
    for name in ("etcd_maintain_keep_revisions", "etcd_defrag_min_free_bytes"):
        try:
            if int(run.param(name, 0)) < 0 or isinstance(run.param(name), bool):
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a whole number, 0 or more." % (name, run.param(name)))
    try:
        if float(run.param("etcd_disk_fsync_p99_max_ms", 10)) <= 0:
            raise ValueError
    except (TypeError, ValueError):
        run.refuse("etcd_disk_fsync_p99_max_ms=%s: must be a positive number of milliseconds." % run.param("etcd_disk_fsync_p99_max_ms"))
    schedule = str(run.param("etcd_backup_schedule", "daily") or "")
    if not schedule.strip() or "\n" in schedule or "=" in schedule:
        run.refuse("etcd_backup_schedule=%r: must be a systemd calendar expression such as daily, hourly or "
                   "'*-*-* 02:30:00' (man systemd.time)." % schedule)
    for name in ("etcd_backup_dir", "etcd_backup_textfile_dir"):
        value = str(run.param(name) or "")
        if value and (not value.startswith("/") or posixpath.normpath(value) in SYSTEM_DIRS | set(["/"])):
            run.refuse("%s=%s: must be an absolute directory of its own (not a system directory)%s."
                       % (name, value, ", or empty for none" if name == "etcd_backup_textfile_dir" else ""))
    check_s3_parameters(run)


def check_s3_parameters(run):
    """The off-host copy (etcd_backup_s3_*): a path-style URL, the credentials (without them the store would
    refuse every copy, each night, silently but for an alert), its retention."""
    url = str(run.param("etcd_backup_s3_url") or "")
    if not url:
        return
    if parse_url(url) is None:
        run.refuse("etcd_backup_s3_url=%s: must be http(s)://HOST[:PORT]/BUCKET[/PREFIX] (path-style, a bucket name of "
                   "3 to 63 lower-case letters, digits, dots and hyphens), or empty for no off-host copy." % url)
    for name in ("etcd_backup_s3_access_key", "etcd_backup_s3_secret_key"):
        value = run.param(name)
        # The action hands the plan a mask of a secret (_rbac.MASK) or why it is not usable.
        if (not isinstance(value, str) or not value or any(c.isspace() for c in value)
                or value in ("it contains whitespace", "it is not a string")):
            run.refuse("%s: must be set (a non-empty string without spaces; keep it in Ansible Vault) when "
                       "etcd_backup_s3_url is set." % name)
    try:
        if int(run.param("etcd_backup_s3_keep", 1)) < 1 or isinstance(run.param("etcd_backup_s3_keep"), bool):
            raise ValueError
    except (TypeError, ValueError):
        run.refuse("etcd_backup_s3_keep=%s: must be a whole number of at least 1." % run.param("etcd_backup_s3_keep"))
    if parse_duration(run.param("etcd_backup_s3_max_age", 0)) is None:
        run.refuse("etcd_backup_s3_max_age=%s: must be a duration such as 0, 30d or 8w." % run.param("etcd_backup_s3_max_age"))
    if not str(run.param("etcd_backup_s3_region") or "").strip():
        run.refuse("etcd_backup_s3_region: must be the store's region (us-east-1 for most stores other than AWS).")


def check_install(run):
    """Where etcd comes from (archive or package), its version and checksum, and the version rules against the
    target alone."""
    method = run.param("etcd_install_method")
    version = str(run.param("etcd_version") or "")
    if version and not VERSION_RE.match(version):
        run.refuse("etcd_version=%s: must be X.Y.Z or empty." % version)
    checksum = str(run.param("etcd_archive_checksum") or "")
    if checksum and not SHA256_RE.match(checksum):
        run.refuse("etcd_archive_checksum=%s: must be 64 hex digits, optionally prefixed sha256:." % checksum)
    if method == "archive":
        src, url = str(run.param("etcd_archive_src") or ""), str(run.param("etcd_archive_url") or "")
        if bool(src) == bool(url):
            run.refuse("etcd_install_method=archive needs exactly one of etcd_archive_src (a release tarball on the "
                       "controller) and etcd_archive_url.")
        name = run.archive_name()
        if name and not ARCHIVE_RE.match(name):
            run.refuse("etcd_archive_src/etcd_archive_url must name an official release file "
                       "etcd-vX.Y.Z-linux-ARCH.tar.gz, got %s." % name)
        if src and not src.startswith("/") and not src.startswith("~"):
            run.refuse("etcd_archive_src=%s: must be an absolute path on the controller." % src)
        elif src and not run.controller.get("archive_exists"):
            run.refuse("etcd_archive_src=%s: no such file on the controller." % src)
        elif src and checksum and SHA256_RE.match(checksum) and run.controller.get("archive_sha256") \
                and run.controller["archive_sha256"] != checksum.lower().replace("sha256:", ""):
            run.refuse("etcd_archive_src=%s has sha256 %s but etcd_archive_checksum=%s. Nothing was installed."
                       % (src, run.controller["archive_sha256"], checksum))
        if url and not checksum:
            run.refuse("etcd_archive_url needs etcd_archive_checksum (the sha256 of the file).")
        if version and ARCHIVE_RE.match(name) and version != run.archive_version():
            run.refuse("etcd_version=%s but the archive %s holds etcd %s." % (version, name, run.archive_version()))
    check_upgrade_rungs(run, method)
    for message in version_errors(run.target_version(), [], run.param("etcd_known_bad_versions") or [], False,
                                  run.target_source()):
        run.refuse(message)


def check_upgrade_rungs(run, method):
    """etcd_upgrade_rungs: the releases a ladder's rungs may take (docs/upgrade.md), each X.Y.Z or {version,
    checksum}; with etcd_archive_url each needs its checksum, with etcd_archive_src its archive beside the
    target's."""
    rungs = run.param("etcd_upgrade_rungs") or []
    if not isinstance(rungs, list):
        run.refuse("etcd_upgrade_rungs must be a list of releases (X.Y.Z, or {version: X.Y.Z, checksum: SHA256}).")
        return
    url = method == "archive" and bool(run.param("etcd_archive_url"))
    beside = run.controller.get("archive_dir") or {}
    for entry in rungs:
        version = str(entry.get("version") or "") if isinstance(entry, dict) else str(entry)
        checksum = str(entry.get("checksum") or "") if isinstance(entry, dict) else ""
        if not VERSION_RE.match(version):
            run.refuse("etcd_upgrade_rungs: %s is not a release X.Y.Z (or {version: X.Y.Z, checksum: SHA256})." % (entry,))
        elif url and not SHA256_RE.match(checksum):
            run.refuse("etcd_upgrade_rungs: %s needs its checksum (the sha256 of etcd-v%s's archive) with "
                       "etcd_archive_url: {version: %s, checksum: SHA256}." % (version, version, version))
        elif method == "archive" and run.param("etcd_archive_src") and run.controller.get("archive_exists") \
                and version not in beside:
            run.refuse("etcd_upgrade_rungs: %s has no archive etcd-v%s-linux-ARCH.tar.gz beside etcd_archive_src=%s."
                       % (version, version, run.param("etcd_archive_src")))
        elif checksum and SHA256_RE.match(checksum) and version in (run.controller.get("archive_dir_sha256") or {}) \
                and run.controller["archive_dir_sha256"][version] != checksum.lower().replace("sha256:", ""):
            run.refuse("etcd_upgrade_rungs: the archive of %s beside etcd_archive_src has sha256 %s, not %s. Nothing was "
                       "installed." % (version, run.controller["archive_dir_sha256"][version], checksum))


def check_member_parameters(run):
    """Per-member parameters, each distinct value checked once and reported with the hosts that have it."""
    def distinct(name):
        values = []
        for host in run.order:
            value = run.host_param(host, name)
            if value not in values:
                values.append(value)
        return values

    for name in ("etcd_port", "etcd_peer_port"):
        for value in distinct(name):
            if not port_ok(value):
                run.refuse("%s=%s%s: must be a port number (1-65535)." % (name, value, run.members_with(name, value)))
    for host in run.order:
        port, peer = run.host_param(host, "etcd_port"), run.host_param(host, "etcd_peer_port")
        if port_ok(port) and port_ok(peer) and int(port) == int(peer):
            run.refuse("etcd_port and etcd_peer_port must differ (both %s)%s." % (port, run.members_with("etcd_port", port)))
    for value in distinct("etcd_data"):
        problem = data_dir_problem(value)
        if problem:
            run.refuse("etcd_data=%s%s: %s. Nothing was changed." % (value, run.members_with("etcd_data", value), problem))
    for value in distinct("etcd_metrics_url"):
        if not value:
            continue
        match = METRICS_URL_RE.match(str(value))
        if not match:
            run.refuse("etcd_metrics_url=%s%s: must be http://ADDRESS:PORT or https://ADDRESS:PORT (etcd's "
                       "--listen-metrics-urls), or empty." % (value, run.members_with("etcd_metrics_url", value)))
            continue
        for host in run.order:
            if run.host_param(host, "etcd_metrics_url") == value and int(match.group(3)) in (
                    int(run.host_param(host, "etcd_port")) if port_ok(run.host_param(host, "etcd_port")) else None,
                    int(run.host_param(host, "etcd_peer_port")) if port_ok(run.host_param(host, "etcd_peer_port")) else None):
                run.refuse("etcd_metrics_url=%s (on %s): its port is the member's client or peer port; give the "
                           "metrics listener a port of its own." % (value, host))
    for value in distinct("etcd_advertise_address"):
        if value and not (is_ip(value) or DNS_RE.match(str(value))):
            run.refuse("etcd_advertise_address=%s%s: must be an IP address or a host name."
                       % (value, run.members_with("etcd_advertise_address", value)))
    for value in distinct("etcd_cert_extra_sans"):
        on = run.members_with("etcd_cert_extra_sans", value)
        if not isinstance(value, list):
            run.refuse("etcd_cert_extra_sans=%s%s: must be a list of names or addresses (DNS:name, IP:address, "
                       "or bare)." % (value, on))
            continue
        for entry in value:
            problem = san_problem(entry)
            if problem:
                run.refuse("etcd_cert_extra_sans%s: %r is %s; entries are DNS:name, IP:address, or a bare name "
                           "or address. Nothing was changed." % (on, entry, problem))


def check_pki(run):
    """One absolute CA directory for the whole cluster."""
    dirs = run.pki_dirs()
    unresolved = [h for h, d in dirs.items() if d is None]
    if unresolved:
        run.refuse("etcd_pki_dir is not set and the inventory of %s has no directory (an inventory given as a "
                   "host list, such as -i h1,h2,): set etcd_pki_dir to the absolute path of the cluster's CA "
                   "directory on the controller. Nothing was changed." % names(unresolved))
        return
    relative = sorted(set(d for d in dirs.values() if not d.startswith("/")))
    if relative:
        run.refuse("etcd_pki_dir=%s: must be an absolute path on the controller (a relative path depends on "
                   "the directory the playbook is started from). Nothing was changed." % relative[0])
        return
    distinct = sorted(set(posixpath.normpath(d) for d in dirs.values()))
    if len(distinct) > 1:
        by_dir = dict((d, [h for h in run.order if posixpath.normpath(dirs[h]) == d]) for d in distinct)
        run.refuse("etcd_pki_dir resolves to different directories for the members of cluster %s (%s): the "
                   "members would get certificates from different CAs. Set etcd_pki_dir to one absolute path "
                   "for the whole cluster. Nothing was changed."
                   % (run.cluster, "; ".join("%s for %s" % (d, names(h)) for d, h in by_dir.items())))
