# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the facts of the cluster, as one object built once: what the probes
(etcd_host_info) found on each member (its disk, its service, its files, its version) and the cluster as
etcd_cluster_info read it (the membership matched to the inventory, the voters, the leader). It decides
nothing; the steps judge it."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

# A systemd unit in one of these states has an etcd process that answers, or soon will.
RUNNING_STATES = ("active", "activating", "reloading")
# What etcd keeps in its data directory, and what a fresh file system holds.
ETCD_DATA_ENTRIES = ("member",)
IGNORED_DATA_ENTRIES = ("lost+found",)
# What a restore or a recovery sets aside in the data directory (member.before-restore-TIME, ...); etcd ignores it.
SET_ASIDE_PREFIX = "member.before-"


class Facts(object):
    """What the probes and the cluster read found. hosts: the members' identities (the plan's `hosts`)."""

    def __init__(self, run, hosts):
        self.hosts = hosts
        self.probes = run.probes
        self.paths = run.paths
        self.order = run.order
        self.states = dict((h, self.state_of(h)) for h in run.order)
        self.unreachable = [h for h in run.order if self.probe_of(h) is not None and not self.reachable(h)]
        self.read = run.read
        self.read_ok = bool(self.read) and not self.read.get("failed") and "members" in self.read
        # Empty unless the read succeeded.
        self.members = list(self.read.get("members") or []) if self.read_ok else []
        self.voters = [m for m in self.members if not m.get("is_learner")]
        # The membership as etcd sees it, matched to the inventory by peer URL (or name): {host: member or None}.
        self.in_membership = dict((h, self.member_of(h)) for h in run.order)
        # The members whose etcd runs on its data, the ones that stay first: the read goes through the first.
        self.running = [h for h in run.order if self.states[h] and self.states[h]["running"] and self.states[h]["has_data"]]
        self.read_hosts = [h for h in self.running if h not in run.removed] + [h for h in self.running if h in run.removed]
        self.with_data = [h for h in run.order if self.states[h] and self.states[h]["has_data"]]
        # The CA files the controller's etcd_pki_dir accepts a member to hold (during a CA rotation, each phase's).
        self.accepted_cas = run.controller.get("ca_sha256s") or [run.controller.get("ca_sha256")]
        self.read_problem = None
        if self.read is not None and not self.read_ok and self.read_hosts:
            self.read_problem = "cannot read cluster %s through %s: %s" % (
                run.cluster, self.read_hosts[0], (self.read or {}).get("msg") or "no answer")

    def probe_of(self, host):
        """What etcd_host_info found on the host (None: not probed)."""
        return (self.probes or {}).get(host)

    def reachable(self, host):
        """Whether the host was probed and answered."""
        probe = self.probe_of(host)
        return probe is not None and not probe.get("unreachable") and not probe.get("failed")

    def state_of(self, host):
        """What is on a member's disk and in its service manager, as probed (None: not known)."""
        probe = self.probe_of(host)
        if probe is None or not self.reachable(host):
            return None
        paths = probe.get("paths") or {}
        conf = paths.get(self.paths.get("conf_file")) or {}
        permit = paths.get(self.paths.get("permit")) or {}
        ca = paths.get(self.paths.get("ca_file")) or {}
        timer = paths.get(self.paths.get("backup_timer")) or {}
        state = probe.get("service_state") or ("active" if probe.get("service_active") else "inactive")
        has_data = bool(probe.get("data_initialized"))
        entries = list(probe.get("data_dir_entries") or [])
        return dict(
            has_data=has_data,
            running=state in RUNNING_STATES,
            service_state=state,
            enabled=bool(probe.get("service_enabled")),
            unit_exists=bool(probe.get("unit_exists")),
            user_exists=bool(probe.get("user_exists")),
            conf_exists=bool(conf.get("exists")),
            permit_exists=bool(permit.get("exists")),
            backup_timer_exists=bool(timer.get("exists")),
            root_cert_exists=all((paths.get(self.paths.get(name)) or {}).get("exists") for name in ("root_cert", "root_key")),
            ca_sha256=ca.get("sha256") if ca.get("exists") else None,
            version=probe.get("version"),
            stale_reasons=list(probe.get("stale_reasons") or []),
            nofile_max=probe.get("nofile_max"),
            config=probe.get("config") or {},
            foreign_entries=[e for e in entries if e not in ETCD_DATA_ENTRIES and e not in IGNORED_DATA_ENTRIES
                             and not e.startswith(SET_ASIDE_PREFIX)],
            data_dir_exists=bool(probe.get("data_dir_exists")),
            candidate=probe.get("package_candidate"),
            v2store=probe.get("v2store"),
        )

    def holds_other_ca(self, host):
        """Whether the member holds a CA file that etcd_pki_dir on the controller does not account for."""
        state = self.states.get(host) or {}
        return bool(state.get("ca_sha256")) and state["ca_sha256"] not in self.accepted_cas

    def member_of(self, host):
        """The member of the read that is this host's: by peer URL, or by name for a host without one."""
        info = self.hosts[host]
        for member in self.members:
            if info["peer_url"] and info["peer_url"] in (member.get("peer_urls") or []):
                return member
        if not info["peer_url"]:
            return next((m for m in self.members if m.get("name") == info["name"]), None)
        return None

    def host_of_member(self, name):
        """The inventory host of the member named so, or None."""
        return next((h for h in self.order if self.hosts[h]["name"] == name), None)

    def voter_problems(self, voters):
        """What a membership change or an upgrade cannot go on with: a voting member (of those given) that is
        not started and healthy, or no leader."""
        problems = ["voting member %s is not healthy" % (m.get("name") or m["id"]) for m in voters
                    if not (m.get("started") and m.get("healthy"))]
        if not (self.read or {}).get("leader"):
            problems.append("no leader")
        return problems

    def member_on_disk(self, host):
        """What of a member a host holds: data, unit, config."""
        state = self.states.get(host) or {}
        what = []
        info = self.hosts[host]
        if state.get("has_data"):
            what.append("data in %s" % info["data_dir"])
        if state.get("unit_exists"):
            what.append("unit %s" % self.paths.get("unit_file"))
        if state.get("conf_exists"):
            what.append("config %s" % self.paths.get("conf_file"))
        return what
