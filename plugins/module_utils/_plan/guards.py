# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the guards, each refusing before anything changes. A probe that failed;
etcd_safeguard over a member on disk; data lost since a member ran, a data directory that holds something else,
a CA that is not the controller's; a member whose name or address would change in place; members out of reach
for a bootstrap or a rebuild (and the warnings for members left out)."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath

from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import names


def refuse_failed_probes(run, facts):
    """A probe that failed (not one that could not reach its host) says nothing the run may carry on without."""
    for host in run.order:
        probe = facts.probe_of(host)
        if probe is not None and probe.get("failed") and not probe.get("unreachable"):
            run.refuse("Probing %s failed: %s. Nothing was changed." % (host, probe.get("msg") or "no message"))


def guard_safeguard(run, facts, wiped, purging, rebuild):
    """etcd_safeguard: a member on disk (data, unit or config), or a host that cannot be reached to tell, is
    neither removed nor rebuilt, but by -t etcd_purge."""
    if purging:
        return
    for host in wiped:
        if not facts.hosts[host]["safeguard"]:
            continue
        action = "rebuild the cluster (etcd_clean=true)" if rebuild else "remove it"
        if facts.states.get(host) is None:
            run.refuse("etcd_safeguard is true for %s, which cannot be reached to tell whether it holds etcd "
                       "member %s: refusing to %s. Nothing was changed. Set etcd_safeguard=false for this host, "
                       "or force the removal with -t etcd_purge." % (host, facts.hosts[host]["name"], action))
            continue
        what = facts.member_on_disk(host)
        if what:
            run.refuse("etcd_safeguard is true for %s, which holds etcd member %s (%s): refusing to %s. Nothing "
                       "was changed. Set etcd_safeguard=false for this host, or force the removal with -t "
                       "etcd_purge." % (host, facts.hosts[host]["name"], ", ".join(what), action))


def guard_data_and_ca(run, facts, removing, rebuild, data_lost_ok, ca_checked):
    """Data lost since a member ran, data directories that hold something else, and a CA that is not the
    controller's. data_lost_ok: the run is what a member that lost its data needs (a restore, a recovery);
    ca_checked: the run writes certificates (a converge, a CA rotation)."""
    ca_sha = run.controller.get("ca_sha256")
    other_ca = []
    for host in run.order:
        state = facts.states.get(host)
        if state is None:
            continue
        info = facts.hosts[host]
        in_run = host in run.play
        if in_run and not removing and not data_lost_ok and not state["has_data"] and state["conf_exists"] \
                and not state["permit_exists"]:
            old_dir = (state.get("config") or {}).get("data-dir")
            if old_dir and posixpath.normpath(str(old_dir)) != info["data_dir"]:
                run.refuse("etcd_data=%s on %s, but its member %s keeps its data in %s: etcd would start it "
                           "without its data. Changing a member's data directory in place is not supported: set "
                           "etcd_data back, or move the data there first. Nothing was changed."
                           % (info["data_dir"], host, info["name"], old_dir))
            else:
                run.refuse("%s ran as an etcd member (%s exists and its one-time bootstrap permit was used) but "
                           "its data directory %s holds no member data. Starting it again would create a new, "
                           "empty member%s. Restore the data directory from a backup, or remove this member from "
                           "the cluster and delete %s before adding it again. Nothing was changed."
                           % (host, run.paths.get("conf_file"), info["data_dir"],
                              " and a new, empty cluster" if len(run.order) == 1 else "",
                              run.paths.get("conf_file")))
        if in_run and not removing and not state["has_data"] and state["foreign_entries"]:
            run.refuse("etcd_data=%s on %s holds files that are not etcd data (%s): refusing to use it as a data "
                       "directory. Choose an empty directory of its own. Nothing was changed."
                       % (info["data_dir"], host, ", ".join(sorted(state["foreign_entries"])[:5])))
        wiped = removing and (rebuild or host in run.play)
        if not wiped and facts.holds_other_ca(host):
            other_ca.append(host)
    # ca_checked: whether this run writes certificates (a converge, a CA rotation; no other operation).
    if other_ca and not removing and ca_checked:
        held = sorted(set(facts.states[h]["ca_sha256"] for h in other_ca))
        run.refuse("etcd_pki_dir=%s: %s, but %s %s a CA with sha256 %s in %s. Pushing another CA would cut the "
                   "members off from each other and from their clients. Point etcd_pki_dir at the directory "
                   "that holds the cluster's ca.crt and ca.key (for example after a move of the inventory, a "
                   "renamed cluster, or a fresh checkout). Nothing was changed."
                   % (run.pki_dir(), "its CA has sha256 %s" % ca_sha[:16] if ca_sha
                      else "there is no CA there yet, so this run would create a new one",
                      names(other_ca), "holds" if len(other_ca) == 1 else "hold",
                      ", ".join(s[:16] for s in held), run.paths.get("ca_file")))


def guard_identity_changes(run, facts):
    """A member that holds data keeps its name and its URLs: neither changes in place."""
    hosts = facts.hosts
    for host in run.order:
        state = facts.states.get(host)
        info = hosts[host]
        config = (state or {}).get("config") or {}
        if state and state["has_data"] and config:
            old_name = config.get("name")
            if old_name and old_name != info["name"]:
                run.refuse("etcd_seq of %s would rename its member %s to %s (etcd_cluster-etcd_seq); a member's "
                           "name cannot change in place. Set etcd_seq back, or remove the member and add it "
                           "again. Nothing was changed." % (host, old_name, info["name"]))
            old_peer = str(config.get("initial-advertise-peer-urls") or "").split(",", maxsplit=1)[0]
            if old_peer and info["peer_url"] and old_peer != info["peer_url"]:
                run.refuse("etcd_peer_port/etcd_advertise_address of %s would move member %s from peer URL %s to "
                           "%s; the other members would no longer reach it after its next restart. Changing a "
                           "member's address in place is not supported: set them back, or remove the member "
                           "(-l %s -t etcd_clean) and add it again (-e etcd_init=existing). Nothing was changed."
                           % (host, info["name"], old_peer, info["peer_url"], host))
            old_client = str(config.get("advertise-client-urls") or "").split(",", maxsplit=1)[0]
            if old_client and info["client_url"] and old_client != info["client_url"]:
                run.refuse("etcd_port/etcd_advertise_address of %s would move member %s from client URL %s to %s; "
                           "its clients and the other members' etcdctl profiles still use the old one. Set them "
                           "back, or remove the member and add it again. Nothing was changed."
                           % (host, info["name"], old_client, info["client_url"]))
        member = facts.in_membership.get(host)
        if member is None and facts.members:
            named = next((m for m in facts.members if m.get("name") == info["name"]), None)
            if named and info["peer_url"] and info["peer_url"] not in (named.get("peer_urls") or []):
                run.refuse("Member %s of cluster %s has peer URL %s in etcd, but the inventory gives %s %s "
                           "(etcd_advertise_address, etcd_peer_port). Changing a member's address in place is not "
                           "supported. Nothing was changed."
                           % (info["name"], run.cluster, ", ".join(named.get("peer_urls") or []), host,
                              info["peer_url"]))


def guard_unreachable(run, facts, plan):
    """A bootstrap or a rebuild needs every member of the run; a converge carries on without the unreachable
    ones (each named in a warning), a removal warns that what it cannot reach stays on its host."""
    out_of_reach = [h for h in facts.unreachable if h in run.play]
    if not run.removing and not facts.with_data and not facts.members and out_of_reach:
        run.refuse("Cannot bootstrap cluster %s: %s %s unreachable. Every member must take part in the "
                   "bootstrap; fix the connection, or take the host out of the group. Nothing was changed."
                   % (run.cluster, names(out_of_reach), "is" if len(out_of_reach) == 1 else "are"))
    if run.rebuild and out_of_reach:
        run.refuse("Cannot rebuild cluster %s (etcd_clean=true): %s cannot be reached, so it could be neither "
                   "wiped nor part of the new cluster. Nothing was changed." % (run.cluster, names(out_of_reach)))
    if not run.removing and run.play and all(h in facts.unreachable for h in run.play):
        run.refuse("No host of this run is reachable (%s). Nothing was changed." % names(run.play))
    for host in facts.unreachable:
        if host in run.play and not run.removing:
            run.warn("%s (%s) is unreachable: it is left out of this run%s." % (
                host, facts.hosts[host]["name"],
                "; the others carry on as long as they keep a quorum" if facts.with_data else ""))
        elif host in run.play:
            run.warn("%s (%s) is unreachable: %s. Its etcd, data and config stay on it: wipe the host (or run -t "
                     "etcd_purge on it once it is back) before it is used again, and never start that etcd "
                     "again." % (host, facts.hosts[host]["name"],
                                 "it is removed from the membership only" if plan["removal"]["partial"]
                                 else "it can be neither stopped nor wiped"))
        else:
            run.warn("%s (%s), outside this run, is unreachable: its config and etcdctl profile are not refreshed."
                     % (host, facts.hosts[host]["name"]))
