# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: convergence. What each member of the run installs, writes, starts, stops
or wipes; which running members restart and why (one at a time, the leader last, with its successor named);
which members the run may find down; and the final check: which members the converged cluster must hold,
healthy, each on the version it is meant to run, and which members outside the run refresh their files."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._backup import VERSION_RE, parse_version
from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster, leader_last, successor
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import cluster_problems, leader_host
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import as_bool, names
from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import gated_settings, tls_min_version_supported, version_after


def plan_member_actions(run, facts, plan, removed, settled, joiners, upgrade_hosts):
    """What each member of the run writes and starts: its membership lines, profile, install, start."""
    hosts = facts.hosts
    target = run.target_version()
    settled_pairs = [dict(name=hosts[h]["name"], peer_urls=[hosts[h]["peer_url"]]) for h in settled if hosts[h]["peer_url"]]
    settled_cluster = initial_cluster(settled_pairs)
    client_now = [hosts[h]["client_url"] for h in settled if h not in joiners and hosts[h]["client_url"]]
    client_settled = [hosts[h]["client_url"] for h in settled if hosts[h]["client_url"]]
    plan["settled"] = dict(hosts=settled, initial_cluster=settled_cluster, initial_cluster_state="new",
                           client_endpoints=",".join(client_settled))
    joiner_info = dict((j["host"], j) for j in plan.get("joiners") or [])
    method = run.param("etcd_install_method")
    any_install = False
    for host in run.order:
        info = hosts[host]
        state = facts.states.get(host)
        joining = host in joiner_info and not (state and state["has_data"])
        info["joining"] = host in joiner_info
        info["initial_cluster"] = joiner_info[host]["initial_cluster"] if joining else settled_cluster
        info["initial_cluster_state"] = "existing" if joining else "new"
        info["client_endpoints"] = ",".join(client_now)
        bootstrapping = bool(state) and not state["has_data"] and (not state["conf_exists"] or state["permit_exists"])
        info["bootstrapping"] = bootstrapping
        active = host in run.play and host not in removed and bool(state)
        info["install"] = info["binaries"] = info["create_user"] = False
        if active and not run.removing:
            # No etcd, or another version than the target (the archive's, or the pinned package version).
            info["binaries"] = state["version"] is None or bool(VERSION_RE.match(target or "")) and state["version"] != target
            info["install"] = info["binaries"] or not state["user_exists"]
            info["create_user"] = method == "package" and not state["user_exists"]
            any_install = any_install or info["install"]
        info["remove"] = host in removed or (run.rebuild and host in run.play)
        info["stop"] = info["remove"] and bool(state) and state["unit_exists"]
        info["wipe"] = info["remove"] and bool(state)
        info["start"] = (active and not run.removing and not info["joining"]
                         and not (state["running"] and state["enabled"]))
        info["start_no_block"] = bool(state) and not state["has_data"]
        info["daemon_reload"] = bool(state) and (state["unit_exists"] or method == "package")
        info["upgrade"] = host in upgrade_hosts
        info["backup_timer_exists"] = bool(state) and state["backup_timer_exists"]
        # The files that name a client certificate (etcdctl profile, backup settings) name the root one once it
        # is on the member, or when this run's cert stage puts it there; until then the member's own.
        root_files = bool(plan["stages"]["cert"]) or bool(state and state["root_cert_exists"])
        info["client_cert"], info["client_key"] = client_pair(run, root_files)
        info["conf_groups"] = conf_groups(plan, bootstrapping)
        runs = version_after(state, target, plan["stages"]["install"])
        info["tls_min_version"] = tls_min_version_supported(runs)
        # The gated settings in the form the release the member runs after this run reads (feature-gates from
        # 3.6, experimental-* keys before): never a key that release ignores.
        info["gated_settings"] = gated_settings(runs, ["initial_corrupt_check"] if as_bool(run.param("etcd_initial_corrupt_check")) else [])
        info.setdefault("restart_reasons", [])
    # The role's own etcdctl calls connect as root (its client certificate, CN root, which RBAC maps to the root
    # user) once every running member holds it; before (a cluster deployed by an older release), with the
    # member certificate, which does as long as authentication is off.
    plan["root_client"] = bool(facts.with_data) and all(facts.states[h]["root_cert_exists"] for h in facts.with_data)
    plan["install"]["download"] = bool(run.param("etcd_archive_url")) and method == "archive" and any_install


def client_pair(run, root):
    """The certificate and key a client on the member connects with: the root client's, or the member's."""
    if root:
        return run.paths.get("root_cert"), run.paths.get("root_key")
    return run.paths.get("cert_file"), run.paths.get("key_file")


def conf_groups(plan, bootstrapping):
    """The groups of files (the role's __etcd_files_<name>, __etcd_dirs_<name>, __etcd_secrets_<name>) the conf
    stage writes on a member in one module run, with its directories: the certificates when the cert stage ran
    before it, the config, unit and profile, a member's one-time bootstrap permit, and the scheduled backup's
    program and settings."""
    return ((["cert"] if plan["stages"]["cert"] else []) + ["conf"]
            + (["permit"] if bootstrapping else []) + (["backup"] if plan["backup"]["enabled"] else []))


def probe_groups(plan):
    """The groups of paths (the role's __etcd_probe_<name>) the probe of a member of the run looks at: the
    member's own files, and the scheduled backup's when it is on."""
    return ["member"] + (["backup"] if plan["backup"]["enabled"] else [])


def plan_connection(run, plan):
    """What the role's own etcdctl calls connect with (module_defaults of the dcs.etcd.etcd group): the root
    client certificate once every running member holds it (root_client), else the member's; with RBAC on and
    members that take no client certificate as a user, a login as root (root_login; the password comes from
    etcd_root_password, through etcdctl's environment)."""
    cert, key = client_pair(run, plan["root_client"])
    plan["connection"] = dict(cert=cert, key=key, user="root" if plan["root_login"] else "")


def plan_restarts(run, facts, plan, joiners, removed):
    """Why each running member of the run restarts, and the order: followers first, the leader last."""
    hosts = facts.hosts
    read_ok = facts.read_ok
    for host in run.order:
        info = hosts[host]
        state = facts.states.get(host)
        reasons = []
        if host in run.play and state and state["running"] and host not in joiners and host not in removed \
                and not run.removing:
            if "etcd_launch" in run.run_tags:
                reasons.append("restart requested (-t etcd_launch)")
            reasons += ["running process older than its files: %s" % r for r in state["stale_reasons"]]
            member = facts.in_membership.get(host)
            running_version = ((member or {}).get("status") or {}).get("version")
            if running_version and state["version"] and running_version != state["version"]:
                reasons.append("runs etcd %s, etcd %s is installed" % (running_version, state["version"]))
        info["restart_reasons"] = reasons
    runners = [h for h in run.order if h in run.play and hosts[h].get("running") and h not in removed]
    leader = leader_host(dict(hosts=hosts, order=run.order), facts.read) if read_ok else None
    follower_first = leader_last(runners, leader)
    succ = None
    if read_ok and leader:
        lead_member = facts.in_membership.get(leader)
        chosen = successor(facts.members, lead_member["id"]) if lead_member else None
        succ = chosen.get("name") if chosen else None
    plan["restart"] = dict(order=follower_first, leader_host=leader, successor=succ)
    requested = [h for h in run.order if hosts[h]["restart_reasons"]]
    if requested and read_ok:
        expect = dict(tolerate_down=tolerated_down(run, facts, plan), margin=1)
        problems = cluster_problems(facts.read, expect)
        if problems and "etcd_launch" in run.run_tags:
            run.refuse("Refusing to restart %s of cluster %s: %s. Nothing was changed. The cluster is not healthy "
                       "enough to lose a member for a restart." % (names(requested), run.cluster, "; ".join(problems)))


def tolerated_down(run, facts, plan):
    """Members the run knows to be down and cannot bring back: unreachable hosts, and members outside the
    run (-l) that are not running. A converged cluster may lack them as long as it keeps a quorum."""
    result = []
    for host in run.order:
        info = facts.hosts[host]
        state = facts.states.get(host)
        if host in (run.removed):
            continue
        down = facts.probe_of(host) is not None and not facts.reachable(host)
        if host not in run.play and state is not None and not state["running"]:
            down = True
        if down:
            result.append(info["peer_url"] or info["name"])
    return result


def plan_final_check(run, facts, plan, settled, joiners, removed):
    """What the converged cluster must be, checked through which member, and which members outside the run
    refresh their files."""
    hosts = facts.hosts
    in_membership, read_ok = facts.in_membership, facts.read_ok
    expected = []
    for host in settled:
        state = facts.states.get(host)
        if host in run.play and facts.reachable(host):
            expected.append(host)
        elif in_membership.get(host):
            expected.append(host)
        elif state is not None and state["unit_exists"]:
            expected.append(host)
        elif state is None and facts.probe_of(host) is not None and not read_ok:
            expected.append(host)
    plan["expected_hosts"] = expected
    tolerate = tolerated_down(run, facts, plan)
    members = [dict(name=hosts[h]["name"], peer_url=hosts[h]["peer_url"] or None) for h in expected]
    # After a run that converges (not one that only removes), each member of the run runs the version it
    # is meant to run; a member still on another one fails the run, named.
    versions = {}
    if not run.removing:
        for host in run.play:
            after = version_after(facts.states.get(host), run.target_version(), plan["stages"]["install"])
            if host in hosts and facts.reachable(host) and after:
                versions[hosts[host]["name"]] = after
    expect = dict(members=members, tolerate_down=tolerate, margin=0, versions=versions)
    # Every member on one minor, 3.6 or later: the run is done once their storage version is that minor too.
    minors = set(parse_version(v)[:2] for v in versions.values() if parse_version(v))
    if len(versions) == len(expected) and len(minors) == 1 and min(minors) >= (3, 6):
        expect["storage_version"] = "%d.%d" % min(minors)
        expect["no_downgrade"] = True
    # After an upgrade or a rollback that leaves every member on one minor, the cluster version is that minor too.
    if (plan.get("upgrade") or plan.get("downgrade")) and len(versions) == len(expected) and len(minors) == 1:
        expect["cluster_version"] = "%d.%d" % min(minors)
    via = [h for h in expected if facts.reachable(h) and (h in run.play or (facts.states.get(h) or {}).get("unit_exists"))]
    endpoints = [hosts[h]["client_url"] for h in expected if hosts[h]["client_url"]
                 and (hosts[h]["peer_url"] not in tolerate)]
    plan["verify"] = dict(host=via[0] if via else None, endpoints=endpoints, expect=expect,
                          restart_expect=dict(members=members, tolerate_down=tolerate, margin=1))
    # Refresh the membership recorded by members outside the run (config lines, etcdctl profile).
    plan["refresh"] = dict(
        run_hosts=[h for h in expected if h in run.play] if joiners else [],
        others=[h for h in run.order if h not in run.play and h not in removed and facts.reachable(h)
                and (facts.states.get(h) or {}).get("unit_exists")])
