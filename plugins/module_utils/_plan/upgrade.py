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

import posixpath

from ansible_collections.dcs.etcd.plugins.module_utils._backup import VERSION_RE, parse_version
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import certificate_is_user, expect_every_member, leader_host
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool, names
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import (
    MINOR_FLOORS, downgrade_minor, gated_settings, ladder, release_warnings, tls_min_version_supported, version_after,
    version_errors)


def upgrading_hosts(run, facts):
    """The members of the run that hold data and have another etcd version installed than the target."""
    target = run.target_version()
    if not VERSION_RE.match(target or "") or run.removing:
        return []
    return [h for h in run.order if h in run.play and facts.states[h] and facts.states[h]["has_data"]
            and facts.states[h]["version"] and facts.states[h]["version"] != target]


def v2store_check_wanted(run):
    """Whether the probe runs etcd's v2store check (`etcdutl check v2store`, 3.5.32 and later, on the members whose
    installed etcd is 3.5): when the run's target is 3.6 or later, whose way passes the 3.5 to 3.6 upgrade that
    needs it (https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/)."""
    target = parse_version(run.target_version())
    return bool(target) and target[:2] >= (3, 6)


V2STORE_REFUSAL = ("Refusing to upgrade %s to etcd %s: etcd's check of its v2 store and WAL (etcdutl check v2store) did "
                   "not pass: %s. etcd 3.6 panics on custom v2 content. As etcd's 3.5 to 3.6 guide says, remove "
                   "enable-v2 if it is set, restart that member with --snapshot-count=1 until the check is clean, then "
                   "run again (docs/upgrade.md).")


def v2store_refusals(run, facts, upgrade_hosts, target, deferred=()):
    """The members that move from 3.5 to 3.6 in this run (to the target, or to a rung of the ladder) whose v2 store
    or WAL holds custom content (3.6 panics on it), or whose check could not tell: one refusal each, with etcd's
    remedy. `deferred`: members that a rung of the ladder first takes to a 3.5 release that has the check; the
    rung to 3.6 runs it on them (shared/upgrade_rung.yml)."""
    if not v2store_check_wanted(run):
        return
    for host in upgrade_hosts:
        state = facts.states.get(host) or {}
        if not (parse_version(state.get("version")) or (0, 0))[:2] == (3, 5) or host in deferred:
            continue
        verdict = state.get("v2store")
        if verdict and verdict.get("clean"):
            continue
        answer = (verdict or {}).get("answer") or "the probe did not run the check"
        run.refuse(V2STORE_REFUSAL % (host, target, answer) + " Nothing was changed.")


def member_versions(facts, host):
    """The versions a member holds and runs (installed binary, running process), known ones only."""
    state = facts.states.get(host) or {}
    running = ((facts.in_membership.get(host) or {}).get("status") or {}).get("version")
    return [v for v in (state.get("version"), running) if parse_version(v)]


def rung_sources(run):
    """The releases the rungs of a ladder may come from, {version: dict(path, url, checksum)}, and where they
    were looked for (for messages): the official archives in the directory of etcd_archive_src, or, with
    etcd_archive_url, the releases etcd_upgrade_rungs lists, each downloaded from the target's URL with its
    version in place of the target's. etcd_upgrade_rungs also narrows the directory's choice to the releases it
    lists. The package method has no ladder: its repositories offer one release."""
    if run.param("etcd_install_method") != "archive":
        return {}, None
    listed = dict(rung_entries(run.param("etcd_upgrade_rungs")))
    target = run.target_version()
    if run.param("etcd_archive_src"):
        found = dict(run.controller.get("archive_dir") or {})
        where = "the directory of etcd_archive_src (%s)" % posixpath.dirname(str(run.param("etcd_archive_src")))
        if listed:
            found = dict((v, p) for v, p in found.items() if v in listed)
            where = "etcd_upgrade_rungs (%s), in %s" % (", ".join(sorted(listed)), where)
        return dict((v, dict(path=p, url="", checksum="")) for v, p in found.items()), where
    url = str(run.param("etcd_archive_url") or "")
    cache = str(run.param("etcd_archive_cache_dir") or "~/.cache/dcs.etcd")
    sources = {}
    for version, checksum in listed.items():
        rung_url = url.replace(target, version) if target else url
        sources[version] = dict(path=posixpath.join(cache, posixpath.basename(rung_url)), url=rung_url,
                                checksum=checksum)
    return sources, "etcd_upgrade_rungs (%s)" % (", ".join(sorted(listed)) or "none listed")


def rung_entries(value):
    """(version, checksum) of each entry of etcd_upgrade_rungs: "X.Y.Z", or {version, checksum}."""
    for entry in value or []:
        if isinstance(entry, dict):
            yield str(entry.get("version") or ""), str(entry.get("checksum") or "")
        else:
            yield str(entry), ""


def plan_ladder(run, facts, plan, current, auth):
    """The rungs between the members' releases and the target (versions.ladder): each a guarded rolling upgrade of
    the members below it, with its archive, its snapshot, the settings its release reads, and the gate after it
    (every member on it, the cluster version and, from 3.6, the storage version on its minor). Refused before
    any change when a rung's release is not available, or a step breaks etcd's rules. Returns the rungs."""
    target = run.target_version()
    sources, where = rung_sources(run)
    rungs, missing = ladder(target, current, sorted(sources), run.param("etcd_known_bad_versions") or [])
    if not (rungs or missing) or where is None:
        return None
    have = ", ".join(sorted(set(current), key=parse_version))
    way = " -> ".join(rungs + [target])
    for major, minor, floor in missing:
        run.refuse("%s: etcd %s on members running %s climbs a ladder, one rolling upgrade per minor release, and %s "
                   "holds no etcd %d.%d release%s for its rung. Add the newest %d.%d release there (its official "
                   "archive, etcd-vX.Y.Z-linux-ARCH.tar.gz%s), then run again (docs/upgrade.md). Nothing was changed."
                   % (run.target_source(), target, have, where, major, minor,
                      " of %s or later (%s)" % (".".join(map(str, floor)), MINOR_FLOORS[(major, minor + 1)][1])
                      if floor else "", major, minor,
                      "; with etcd_archive_url, list it in etcd_upgrade_rungs with its sha256" if run.param("etcd_archive_url") else ""))
    if missing:
        return None
    known_bad = run.param("etcd_known_bad_versions") or []
    steps = [(rungs[0], current)] + [(rungs[i], [rungs[i - 1]]) for i in range(1, len(rungs))] + [(target, [rungs[-1]])]
    for version, before in steps:
        for message in version_errors(version, before, known_bad, auth, "the ladder's rung %s (on the way to %s)"
                                      % (version, way) if version != target else run.target_source()):
            run.refuse(message)
    # A rung restarts members on this role's config, unit and certificates: a cluster this role has not converged
    # yet (taken over from another tool) is converged on its current release first.
    foreign = [h for h in run.order if facts.states.get(h) and facts.states[h]["has_data"]
               and not (facts.states[h]["conf_exists"] and facts.states[h]["root_cert_exists"]
                        and certificate_is_user(facts.states[h]["config"]))]
    if foreign:
        run.refuse("%s: etcd %s climbs a ladder (%s) whose rungs restart the members on this role's config, unit and "
                   "certificates, which %s %s not hold yet. Converge the cluster on its current release first (./etcd.yml "
                   "with the archive of the release it runs), then climb. Nothing was changed."
                   % (run.target_source(), target, way, names(foreign), "does" if len(foreign) == 1 else "do"))
    outside = [h for h in run.order if h not in run.play]
    if outside:
        run.refuse("%s: etcd %s climbs a ladder (%s) that every member must climb rung by rung, but %s %s not in "
                   "this run (-l). Run without -l. Nothing was changed."
                   % (run.target_source(), target, way, names(outside), "is" if len(outside) == 1 else "are"))
    run.warn("%s: the cluster climbs from etcd %s to %s in this run, one guarded rolling upgrade per rung: %s."
             % (run.target_source(), have, target, way))
    enabled = ["initial_corrupt_check"] if as_bool(run.param("etcd_initial_corrupt_check")) else []
    result = []
    for index, version in enumerate(rungs):
        parsed = parse_version(version)
        minor = "%d.%d" % parsed[:2]
        hosts = [h for h in run.order if facts.states.get(h) and facts.states[h]["has_data"]
                 and min(parse_version(v) for v in member_versions(facts, h) or ["0.0.0"]) < parsed]
        v2store = v2store_deferred(result, minor)
        expect = members_expected(run, facts)
        expect.update(versions=dict((m["name"], version) for m in expect["members"]), cluster_version=minor)
        if parsed[:2] >= (3, 6):
            expect["storage_version"] = minor
        source = sources[version]
        result.append(dict(
            version=version, minor=minor, hosts=hosts, v2store_hosts=v2store,
            archive_path=source["path"], url=source["url"], checksum=source["checksum"],
            download=bool(source["url"]), archive_members=["etcd", "etcdctl"] + (["etcdutl"] if parsed >= (3, 5, 0) else []),
            snapshot_file=snapshot_before(run, version),
            settings=dict((h, dict(gated_settings=gated_settings(version, enabled),
                                   tls_min_version=tls_min_version_supported(version))) for h in hosts),
            v2store_refusal=v2store_refusal(version, rungs[index - 1]) if v2store else "",
            expect=expect))
    return result


def members_expected(run, facts):
    """What the cluster must be between the steps of a change of release: every member in etcd's membership
    healthy, one leader (rules.expect_every_member over them)."""
    return expect_every_member(facts.hosts, [h for h in run.order if facts.in_membership.get(h)])


def snapshot_before(run, version):
    """Where the snapshot taken before a move to `version` goes: etcd_backup_dir/<cluster>-before-<version>.db."""
    backup_dir = str(run.param("etcd_backup_dir") or "/var/backups/etcd").rstrip("/")
    return "%s/%s-before-%s.db" % (backup_dir, run.cluster, version)


def v2store_deferred(rungs, minor):
    """The members whose v2 store the step to `minor` checks itself (shared/v2store_check.yml): on the way to 3.6,
    those the rung before took to a 3.5 release, which has etcd's check (the probe found none before)."""
    if minor != "3.6" or not rungs or rungs[-1]["minor"] != "3.5":
        return []
    return list(rungs[-1]["hosts"])


def v2store_refusal(version, runs):
    """The refusal of a step to `version` whose check of a member's v2 store did not pass, HOST and ANSWER to be
    filled in by the task that ran the check; `runs`: the release the cluster then runs."""
    return (V2STORE_REFUSAL % ("HOST", version, "ANSWER")
            + " The cluster runs etcd %s, healthy; this step changed nothing yet." % runs)


def plan_upgrade(run, facts, plan, upgrade_hosts):
    """The version guard on every run that installs, and the upgrade of upgrade_hosts."""
    target = run.target_version()
    removing = run.removing
    plan["upgrade"] = None
    plan["downgrade"] = None
    current = []
    if not (removing and run.rebuild):
        current = [facts.states[h]["version"] for h in run.order
                   if facts.states.get(h) and facts.states[h]["has_data"] and facts.states[h]["version"]]
        current += [(m.get("status") or {}).get("version") for m in facts.members if (m.get("status") or {}).get("version")]
    if run.rebuild:
        current = []
    rungs = None
    if not (removing and not run.rebuild):
        auth = (facts.read or {}).get("auth_enabled") if facts.read_ok else None
        rungs = plan_ladder(run, facts, plan, current, auth) if upgrade_hosts else None
        if rungs is None and not run.refusals:
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
        if facts.read_ok and not removing and VERSION_RE.match(target or ""):
            plan["downgrade"] = plan_downgrade(run, facts, target)
    if not upgrade_hosts:
        return
    rungs = rungs or []
    final_v2store = v2store_deferred(rungs, "%d.%d" % parse_version(target)[:2])
    v2store_refusals(run, facts, upgrade_hosts, target, deferred=sum([r["hosts"] for r in rungs if r["minor"] == "3.5"], []))
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
    plan["upgrade"] = dict(
        hosts=upgrade_hosts, target=target, from_versions=versions, ladder=rungs,
        snapshot_host=leader, snapshot_endpoint=facts.hosts[leader]["client_url"] if leader else None,
        snapshot_file=snapshot_before(run, target),
        v2store_hosts=final_v2store, v2store_refusal=v2store_refusal(target, rungs[-1]["version"]) if final_v2store else "")
    if leader is None or not facts.reachable(leader):
        run.refuse("Refusing to upgrade %s of cluster %s to etcd %s: the leader's host is %s, so no snapshot can be "
                   "taken there first. Nothing was changed."
                   % (names(upgrade_hosts), run.cluster, target,
                      "not in the inventory" if leader is None else "unreachable (%s)" % leader))


def plan_downgrade(run, facts, target):
    """etcd's downgrade, when the target is one minor below the release every member runs (the rollback of a finished
    minor upgrade; versions.downgrade_minor over the running versions, not the installed ones: a member that holds
    the lower binary but runs the higher release still needs it): enabled before the first member takes the lower
    release, through the member the run checks the cluster with, and waited for until every member's storage
    version is the target's minor (etcd completes it once every member runs the lower release). Also a downgrade
    etcd still runs that this run's target contradicts: cancelled first. None when neither."""
    running_versions = [(m.get("status") or {}).get("version") for m in facts.members]
    running_versions = [v for v in running_versions if parse_version(v)]
    minor = downgrade_minor(target, running_versions) if running_versions and len(running_versions) == len(facts.members) else None
    under_way = set((((m.get("status") or {}).get("downgrade") or {}).get("target") or "") for m in facts.members) - set([""])
    wanted = "%d.%d" % parse_version(target)[:2]
    if minor:
        if run.param("etcd_install_method") == "package":
            run.refuse("%s: rolling cluster %s back to etcd %s needs the archive method (etcd_install_method=archive "
                       "with the %s release's archive): the package method does not install a lower package version. "
                       "Nothing was changed." % (run.target_source(), run.cluster, minor, target))
        return dict(state="enabled", version=minor,
                    expect=dict(members_expected(run, facts), storage_version=minor))
    if under_way and not any(v.startswith(wanted + ".") for v in under_way):
        run.warn("etcd runs a downgrade to %s that %s contradicts: it is cancelled first (etcdctl downgrade cancel)."
                 % (", ".join(sorted(under_way)), run.target_source()))
        return dict(state="cancelled", version=wanted, expect=None)
    return None


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
        for message in release_warnings(version, source=source, rbac=as_bool(run.param("etcd_auth"))):
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
