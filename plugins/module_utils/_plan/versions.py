# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: what etcd's releases allow, as the plan and the role's filters apply it:
which version changes are safe (etcd's upgrade rules: one minor at a time, no downgrade, the last 3.5 patch
before 3.6, no rolling 3.4 to 3.5 with authentication on, the known-bad list), which release reads which
setting, and which version a member runs after a run. Pure functions over version strings and states."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._backup import VERSION_RE, parse_version

# The patch release every member of the old line must run before a minor upgrade, from etcd's upgrade guides
# (https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/, https://etcd.io/docs/v3.7/upgrades/upgrade_3_7/). The 3.5
# floor moved from 3.5.20 to 3.5.24, 3.5.26 and 3.5.32 as upgrade blockers were found ("too many learner
# members", zombie members voting again, a panic on custom v2 entries in the WAL).
MINOR_FLOORS = {
    (3, 6): ((3, 5, 32), "learner promotions kept only in the v2 store, removed members that vote again and custom v2 "
                         "entries in the WAL that make 3.6 panic are fixed or detected there"),
    (3, 7): ((3, 6, 11), "earlier 3.6 releases may not be compatible with a rolling upgrade to 3.7"),
}
# The oldest release the collection deploys: it relies on learners (3.4) and on the v3 API and config keys. Ubuntu
# 22.04's etcd-server package is 3.3 (as far as its archive tells; not in the test bed).
MINIMUM = (3, 4, 0)
# Lines out of support upstream (the release that ended it, and when).
END_OF_LIFE = {(3, 4): "2026-05-15"}
# etcd's downgrade (etcdctl downgrade validate|enable|cancel): from 3.6 on, one minor at a time, to 3.5 at the
# lowest (https://etcd.io/docs/v3.6/downgrades/).
DOWNGRADE_FROM = (3, 6)
DOWNGRADE_LOWEST = (3, 5)
# Settings that are feature gates from 3.6 (feature-gates: Name=true) and experimental-* keys before; 3.7 reads
# only the gates (an experimental-* key in a config file is ignored without a word there).
FEATURE_GATES = {"initial_corrupt_check": ("InitialCorruptCheck", "experimental-initial-corrupt-check")}


def uses_feature_gates(version):
    """Whether a release takes its gated settings as feature-gates (3.6 and later)."""
    parsed = parse_version(version)
    return bool(parsed) and parsed[:2] >= (3, 6)


def gated_settings(version, enabled):
    """The config keys a member on `version` gets for the gated settings named in `enabled` (names of
    FEATURE_GATES): {"feature-gates": "A=true,B=true"} from 3.6, {"experimental-...": true} before; a version
    not known yet takes the form of the releases before 3.6."""
    names = [name for name in sorted(FEATURE_GATES) if name in enabled]
    if not names:
        return {}
    if uses_feature_gates(version):
        return {"feature-gates": ",".join("%s=true" % FEATURE_GATES[n][0] for n in names)}
    return dict((FEATURE_GATES[n][1], True) for n in names)


# Releases that, with RBAC on, refuse non-root users reads that consumers need (Patroni's user lists the members):
# 3.5.28 and 3.6.9 made member list, endpoint status and alarm list need an authenticated user and gave them to
# root only; 3.5.29/3.6.10 gave non-root users member list and alarm list back, 3.5.32/3.6.12 endpoint status.
CONSUMER_READS = (
    ((3, 5, 28), (3, 5, 28), "member list, endpoint status and alarm list", "3.5.32"),
    ((3, 5, 29), (3, 5, 31), "endpoint status", "3.5.32"),
    ((3, 6, 9), (3, 6, 9), "member list, endpoint status and alarm list", "3.6.12"),
    ((3, 6, 10), (3, 6, 11), "endpoint status", "3.6.12"),
)


def release_warnings(version, source="etcd_version", rbac=False):
    """Warnings about the release a cluster runs or gets: its line is out of support upstream, it is below the
    patch release the next minor upgrade requires, or (rbac: authentication on) it refuses non-root users reads
    that consumers need (one sentence each)."""
    parsed = parse_version(version)
    if not parsed:
        return []
    warnings = []
    for first, last, reads, fixed in CONSUMER_READS if rbac else ():
        if first <= parsed <= last:
            warnings.append("%s: etcd %s refuses %s to users other than root while RBAC is on: consumers that log in "
                            "as their own user (Patroni lists the members) lose these reads. Choose %s or later "
                            "(docs/versions.md)." % (source, version, reads, fixed))
    if parsed[:2] in END_OF_LIFE:
        warnings.append("%s: etcd %s belongs to the %d.%d line, out of support upstream since %s: upgrade to a "
                        "supported line (docs/upgrade.md)." % (source, version, parsed[0], parsed[1],
                                                               END_OF_LIFE[parsed[:2]]))
    floor = MINOR_FLOORS.get((parsed[0], parsed[1] + 1))
    if floor and parsed < floor[0]:
        warnings.append("%s: etcd %s is below %s, the release etcd's upgrade guide requires before %d.%d (%s). "
                        "Upgrade to the newest %d.%d release first (docs/upgrade.md)."
                        % (source, version, ".".join(map(str, floor[0])), parsed[0], parsed[1] + 1, floor[1],
                           parsed[0], parsed[1]))
    return warnings


def version_errors(target, current, known_bad, auth_enabled=None, source="etcd_version"):
    """Why installing etcd `target` on a cluster whose members run or hold `current` would be unsafe, one
    message per problem (etcd's upgrade rules); empty when it is safe or the target is unknown."""
    wanted = parse_version(target)
    if wanted is None:
        return []
    errors = []
    if wanted < MINIMUM:
        errors.append(
            "%s: etcd %s is older than %s, the oldest release dcs.etcd deploys (it adds members as learners, which "
            "came with 3.4, and writes 3.4's config keys). Install 3.5 or later: etcd_install_method=archive with "
            "an official release archive (etcd_archive_src or etcd_archive_url; docs/versions.md), or a "
            "distribution whose etcd-server package is 3.4 or later. Nothing was changed."
            % (source, target, ".".join(map(str, MINIMUM))))
        return errors
    if str(target) in [str(v).strip() for v in known_bad or []]:
        errors.append(
            "%s: etcd %s is on the known-bad list (etcd_known_bad_versions: %s). Choose another release; only if "
            "you accept its known problems, remove it from etcd_known_bad_versions. Nothing was changed."
            % (source, target, ", ".join(str(v) for v in known_bad)))
    running = sorted(set(p for p in (parse_version(v) for v in current or []) if p is not None))
    if not running:
        return errors
    lowest, highest = running[0], running[-1]
    have = ", ".join(sorted(set(str(v) for v in current if parse_version(v))))
    if wanted[0] != lowest[0] or wanted[0] != highest[0]:
        errors.append("%s: etcd %s has another major version than the cluster's members (%s); etcd supports no "
                      "such change in place. Nothing was changed." % (source, target, have))
    elif wanted[:2] < highest[:2]:
        errors += downgrade_errors(wanted, lowest, highest, "%s: etcd %s" % (source, target), have)
    elif wanted[1] > lowest[1] + 1:
        errors.append("%s: etcd %s would skip a minor version: the cluster runs %s. Upgrade one minor version "
                      "at a time (to %d.%d first, then on). Nothing was changed."
                      % (source, target, have, lowest[0], lowest[1] + 1))
    elif wanted[:2] in MINOR_FLOORS and lowest[:2] == MINOR_FLOORS[wanted[:2]][0][:2] and lowest < MINOR_FLOORS[wanted[:2]][0]:
        floor, reason = MINOR_FLOORS[wanted[:2]]
        errors.append("%s: etcd %s needs every %d.%d member on %s or later first (the cluster runs %s): etcd's "
                      "upgrade guide requires it, as %s. Upgrade to the newest %d.%d release first. Nothing was "
                      "changed." % (source, target, floor[0], floor[1], ".".join(map(str, floor)), have, reason,
                                    floor[0], floor[1]))
    elif lowest[:2] == (3, 4) and wanted[:2] == (3, 5) and auth_enabled is not False:
        if auth_enabled:
            reason = "RBAC authentication is enabled on the cluster"
        else:
            reason = "the run could not tell whether RBAC authentication is enabled (the cluster was not read, or did not say)"
        errors.append("%s: etcd %s would upgrade the cluster from 3.4 to 3.5 member by member, but %s: etcd "
                      "does not support a rolling 3.4 to 3.5 upgrade with authentication enabled. Disable it "
                      "(etcdctl auth disable) for the upgrade, and enable it again afterwards. Nothing was "
                      "changed." % (source, target, reason))
    return errors


def downgrade_errors(wanted, lowest, highest, what, have):
    """Why going back to `wanted` from members on lowest..highest (parsed versions) is refused, one message (empty:
    it is done). Members still on the lower minor (an upgrade not finished, from 3.5 on) keep the cluster there: the
    others take their binaries back. Otherwise etcd's downgrade (3.6 and later) goes back one minor at a time, to 3.5 at the
    lowest (https://etcd.io/docs/v3.6/downgrades/downgrade_3_6/)."""
    if lowest[:2] == wanted[:2] and highest[:2] == (wanted[0], wanted[1] + 1) and wanted[:2] >= DOWNGRADE_LOWEST:
        return []
    if lowest[:2] == highest[:2] and highest[:2] == (wanted[0], wanted[1] + 1) and DOWNGRADE_FROM <= highest[:2] \
            and wanted[:2] >= DOWNGRADE_LOWEST:
        return []
    if wanted[:2] < DOWNGRADE_LOWEST or highest[:2] < DOWNGRADE_FROM:
        why = ("etcd has no downgrade below %d.%d: a member cannot start on data written by a newer minor version"
               % DOWNGRADE_LOWEST)
    elif lowest[:2] != highest[:2]:
        why = "the members run two minor versions other than the target's: finish the upgrade first"
    else:
        why = ("etcd's downgrade goes back one minor version at a time: roll back to %d.%d first, then run again"
               % (highest[0], highest[1] - 1))
    return ["%s would downgrade the members running %s to minor version %d.%d: %s. To go back further, restore a "
            "snapshot into a new cluster (docs/upgrade.md). Nothing was changed." % (what, have, wanted[0], wanted[1], why)]


def downgrade_minor(target, current):
    """The minor version ("X.Y") etcd's downgrade takes a cluster to when every member runs the minor above the
    target's (the rollback of a finished minor upgrade), else None: a target on the members' own line, an
    upgrade, or a downgrade that downgrade_errors refuses."""
    wanted = parse_version(target)
    running = sorted(set(p for p in (parse_version(v) for v in current or []) if p is not None))
    if not wanted or not running or downgrade_errors(wanted, running[0], running[-1], "", ""):
        return None
    if running[0][:2] == running[-1][:2] == (wanted[0], wanted[1] + 1):
        return "%d.%d" % wanted[:2]
    return None


def ladder(target, current, available, known_bad=()):
    """The rungs of an upgrade to `target` of members that run or hold `current`: the releases it passes through,
    oldest first, each a rolling upgrade of its own (the target not included), and the lines for which
    `available` holds no fit release, [(major, minor, floor or None)]. A rung is the newest release of a line in
    `available` (not on the known-bad list): every line between the members' and the target's, and the members'
    own line when some of them are below the patch release the next minor requires (MINOR_FLOORS)."""
    wanted = parse_version(target)
    running = sorted(set(p for p in (parse_version(v) for v in current or []) if p is not None))
    if not wanted or not running or wanted[0] != running[0][0] or wanted[:2] <= running[0][:2]:
        return [], []
    bad = set(str(v).strip() for v in known_bad or [])
    candidates = sorted(p for p in (parse_version(v) for v in available or [])
                        if p and p[0] == wanted[0] and "%d.%d.%d" % p not in bad)
    lowest = running[0]
    rungs, missing = [], []
    for minor in range(lowest[1], wanted[1]):
        floor = MINOR_FLOORS.get((wanted[0], minor + 1), (None,))[0]
        if minor == lowest[1] and (floor is None or lowest >= floor):
            continue
        on_line = [p for p in candidates if p[:2] == (wanted[0], minor)]
        # Never below a member already on that line: a rung takes no member back.
        ahead = max([p for p in running if p[:2] == (wanted[0], minor)] + [lowest])
        if on_line and (floor is None or on_line[-1] >= floor) and on_line[-1] >= ahead:
            rungs.append("%d.%d.%d" % on_line[-1])
        else:
            missing.append((wanted[0], minor, floor))
    return rungs, missing


def tls_min_version_supported(version):
    """Whether an etcd release reads --tls-min-version (3.4.25+, 3.5.8+; a config file's unknown key is ignored
    without a word, so the role writes it only where it is read)."""
    parsed = parse_version(version)
    return bool(parsed) and (parsed >= (3, 5, 8) or (3, 4, 25) <= parsed < (3, 5, 0))


def version_after(state, target, installing):
    """The etcd version a member of the run runs after this run, when known: the target the install stage
    installs (the archive's or the pinned one), else what is installed on it, or what the repository
    installs on a host that has none. state: the member's probed state (None: not known)."""
    if not state:
        return None
    if installing and VERSION_RE.match(target or ""):
        return target
    if state["version"]:
        return state["version"]
    return state["candidate"] if installing else None
