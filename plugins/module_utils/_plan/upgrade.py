# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: upgrades. Which members of the run hold data of another version than the
target, whether the version change is safe (versions.version_errors against what the members run and hold, and
against what the repositories would install), and the upgrade itself: refused without a running, healthy
cluster, planned with a snapshot on the leader first."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._backup import VERSION_RE, parse_version
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import leader_host
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import names
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import release_warnings, version_after, version_errors


def upgrading_hosts(run, facts):
    """The members of the run that hold data and have another etcd version installed than the target."""
    target = run.target_version()
    if not VERSION_RE.match(target or "") or run.removing:
        return []
    return [h for h in run.order if h in run.play and facts.states[h] and facts.states[h]["has_data"]
            and facts.states[h]["version"] and facts.states[h]["version"] != target]


def v2store_check_wanted(run):
    """Whether the probe runs etcd's v2store check (`etcdutl check v2store`, 3.5.32 and later): when the run's
    target is 3.6, the minor whose upgrade needs it (https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/)."""
    target = parse_version(run.target_version())
    return bool(target) and target[:2] == (3, 6)


def v2store_refusals(run, facts, upgrade_hosts, target):
    """The members of a 3.5 to 3.6 upgrade whose v2 store or WAL holds custom content (3.6 panics on it), or
    whose check could not tell: one refusal each, with etcd's remedy."""
    if not v2store_check_wanted(run):
        return
    for host in upgrade_hosts:
        state = facts.states.get(host) or {}
        if not (parse_version(state.get("version")) or (0, 0))[:2] == (3, 5):
            continue
        verdict = state.get("v2store")
        if verdict and verdict.get("clean"):
            continue
        answer = (verdict or {}).get("answer") or "the probe did not run the check"
        run.refuse("Refusing to upgrade %s to etcd %s: etcd's check of its v2 store and WAL (etcdutl check v2store) "
                   "did not pass: %s. etcd 3.6 panics on custom v2 content. As etcd's 3.5 to 3.6 guide says, "
                   "remove enable-v2 if it is set, restart that member with --snapshot-count=1 until the check is "
                   "clean, then run again (docs/upgrade.md). Nothing was changed." % (host, target, answer))


def plan_upgrade(run, facts, plan, upgrade_hosts):
    """The version guard on every run that installs, and the upgrade of upgrade_hosts."""
    target = run.target_version()
    removing = run.removing
    plan["upgrade"] = None
    current = []
    if not (removing and run.rebuild):
        current = [facts.states[h]["version"] for h in run.order
                   if facts.states.get(h) and facts.states[h]["has_data"] and facts.states[h]["version"]]
        current += [(m.get("status") or {}).get("version") for m in facts.members if (m.get("status") or {}).get("version")]
    if run.rebuild:
        current = []
    if not (removing and not run.rebuild):
        auth = (facts.read or {}).get("auth_enabled") if facts.read_ok else None
        for message in version_errors(target, current, run.param("etcd_known_bad_versions") or [], auth,
                                      run.target_source()):
            run.refuse(message)
        # Without a pinned version, the hosts that have no etcd get the repository's: the same guard.
        if not VERSION_RE.match(target or "") and run.param("etcd_install_method") == "package":
            for host in run.order:
                state = facts.states.get(host)
                if host in run.play and state and not state["version"] and state["candidate"]:
                    for message in version_errors(
                            state["candidate"], current, run.param("etcd_known_bad_versions") or [], auth,
                            "the etcd-server package that the repositories of %s offer (etcd %s; pin another "
                            "with etcd_version)" % (host, state["candidate"])):
                        run.refuse(message)
        warn_about_releases(run, facts, plan, target)
    if not upgrade_hosts:
        return
    v2store_refusals(run, facts, upgrade_hosts, target)
    versions = sorted(set(facts.states[h]["version"] for h in upgrade_hosts))
    if not facts.running:
        run.refuse("Refusing to upgrade %s of cluster %s to etcd %s: no member is running, so no snapshot can be "
                   "taken first. Start the cluster with its current version (the version installed now: %s), then "
                   "upgrade. Nothing was changed." % (names(upgrade_hosts), run.cluster, target, ", ".join(versions)))
        return
    if not facts.read_ok:
        run.refuse("Refusing to upgrade %s of cluster %s to etcd %s: %s. Nothing was changed."
                   % (names(upgrade_hosts), run.cluster, target, facts.read_problem or "the cluster was not read"))
        return
    problems = facts.voter_problems(facts.voters)
    if problems:
        run.refuse("Refusing to upgrade %s of cluster %s to etcd %s: the cluster is not healthy (%s). Nothing was "
                   "changed." % (names(upgrade_hosts), run.cluster, target, "; ".join(problems)))
        return
    leader = leader_host(dict(hosts=facts.hosts, order=run.order), facts.read)
    backup_dir = str(run.param("etcd_backup_dir") or "/var/backups/etcd").rstrip("/")
    plan["upgrade"] = dict(
        hosts=upgrade_hosts, target=target, from_versions=versions,
        snapshot_host=leader, snapshot_endpoint=facts.hosts[leader]["client_url"] if leader else None,
        snapshot_file="%s/%s-before-%s.db" % (backup_dir, run.cluster, target))
    if leader is None or not facts.reachable(leader):
        run.refuse("Refusing to upgrade %s of cluster %s to etcd %s: the leader's host is %s, so no snapshot can be "
                   "taken there first. Nothing was changed."
                   % (names(upgrade_hosts), run.cluster, target,
                      "not in the inventory" if leader is None else "unreachable (%s)" % leader))


def warn_about_releases(run, facts, plan, target):
    """A release the members of the run run after it whose line is out of support upstream, or that is below the
    patch release the next minor upgrade requires: named in a warning (versions.release_warnings)."""
    after = {}
    for host in run.order:
        if host in run.play and facts.states.get(host):
            version = version_after(facts.states[host], target, plan["stages"]["install"])
            if version:
                after.setdefault(version, []).append(host)
    for version in sorted(after, key=lambda v: parse_version(v) or ()):
        source = run.target_source() if version == target else "the etcd release of %s" % names(after[version])
        for message in release_warnings(version, source=source):
            run.warn(message)


def install_settings(run):
    """Where the install stage takes etcd from: the archive (its path on the controller, the members it holds) or
    the package (probed for its version when none is pinned)."""
    version = parse_version(run.archive_version())
    return dict(
        method=run.param("etcd_install_method"),
        archive_path=(run.controller.get("archive_path") or run.archive_path())
        if run.param("etcd_install_method") == "archive" else "",
        archive_members=(["etcd", "etcdctl"] + (["etcdutl"] if version >= (3, 5, 0) else [])) if version else ["etcd", "etcdctl"],
        download=False,
        # Without a pinned version, the package's version is the repository's: probed, as the target of the
        # hosts that have no etcd yet.
        probe_package="etcd-server" if run.param("etcd_install_method") == "package" and not run.param("etcd_version") else None,
    )
