# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: what a run was given, as one object built once: the inventory (the
cluster's group, the play's hosts, each member's own parameters), the parameters, the tags, what the action
found on the controller, and what follows from them alone (the target version, the CA directory, whether the
run removes members). It also collects the run's refusals and warnings. It decides nothing else."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath

from ansible_collections.dcs.etcd.plugins.module_utils._plan.tags import REMOVAL_TAGS, operation_of
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import ARCHIVE_RE, SEQ_RE, as_bool, names

# Options of dcs.etcd.etcd_plan, shared by its action plugin and its documentation stub module.
ARGUMENT_SPEC = dict(
    scope=dict(type="str", choices=["cluster", "run"], default="cluster"),
    cluster=dict(type="str"),
    probe_var=dict(type="str", default="__etcd_host"),
    others_probe_var=dict(type="str", default="__etcd_others_probe"),
    read_var=dict(type="str"),
    paths=dict(type="dict", default={}),
    peers_var=dict(type="str"),
    # The step of a run in several steps this planning follows (a rebuild, a recovery, a maintenance).
    phase=dict(type="str", choices=["", "rebuilt", "recovered", "compacted"], default=""),
)

# Parameters that can differ per member (read from each host's inventory variables, else the play's value).
HOST_PARAMS = ("etcd_cluster", "etcd_advertise_address", "etcd_data", "etcd_port", "etcd_peer_port",
               "etcd_safeguard", "etcd_cert_extra_sans", "etcd_pki_dir", "etcd_nofile_limit", "etcd_metrics_url")


class Inputs(object):
    """The run's inputs (the etcd_plan action's `inputs`) and the controller's findings, read-only once built;
    refuse() and warn() collect what the plan says about them."""

    def __init__(self, raw, controller):
        self.raw = raw
        self.params = raw.get("params") or {}
        self.groups = raw.get("groups") or {}
        self.cluster = self.params.get("etcd_cluster")
        self.play = list(raw.get("play_hosts") or [])
        self.run_tags = list(raw.get("run_tags") or ["all"])
        self.skip_tags = list(raw.get("skip_tags") or [])
        self.check_mode = bool(raw.get("check_mode"))
        self.paths = raw.get("paths") or {}
        self.host_params = raw.get("host_params") or {}
        self.host_facts = raw.get("host_facts") or {}
        self.probes = raw.get("probes")
        self.read = raw.get("cluster_read")
        # The second half of a rebuild (etcd_clean=true): the members are wiped, the cluster is created anew.
        self.rebuilt = bool(raw.get("rebuilt"))
        # After the first half of a recovery, the run re-adds the other members as a converge does.
        self.recovered = bool(raw.get("recovered"))
        self.operation = None if self.recovered else operation_of(self.run_tags)
        # Which peer URLs of old members outside the inventory answered (a restore's check).
        self.peers = raw.get("peers")
        # The maintenance's second step: the keyspace is compacted, the cluster read again.
        self.compacted = bool(raw.get("compacted"))
        self.controller = controller or {}
        self.refusals = []
        self.warnings = []
        group = self.groups.get(self.cluster) if isinstance(self.cluster, str) else None
        self.order = list(group or [])
        # Each member's etcd_seq, where it is a whole number (the checks refuse the others).
        self.seqs = {}
        for host in self.order:
            seq = (self.host_params.get(host) or {}).get("etcd_seq")
            if seq is not None and not isinstance(seq, bool) and SEQ_RE.match(str(seq).strip()):
                self.seqs[host] = int(str(seq).strip())
        # A removal (-t etcd_clean / etcd_purge), or the first half of a rebuild (etcd_clean=true).
        self.rebuild = as_bool(self.param("etcd_clean")) and not self.rebuilt
        self.removing = bool(set(self.run_tags) & set(REMOVAL_TAGS)) or self.rebuild
        self.purging = "etcd_purge" in self.run_tags
        # The hosts whose members leave the cluster (a rebuild removes none: it wipes and creates anew).
        self.removed = [h for h in self.order if h in self.play] if self.removing and not self.rebuild else []
        self.settled = [h for h in self.order if h not in self.removed]

    # --- reading the parameters ---------------------------------------------------------------------
    def param(self, name, default=None):
        """A parameter as the play has it."""
        return self.params.get(name, default)

    def host_param(self, host, name):
        """A per-member parameter: the host's own inventory value, else the play's."""
        own = self.host_params.get(host) or {}
        if name in own:
            return own[name]
        return self.params.get(name)

    def member_name(self, host):
        """A member's etcd name: the cluster's name and its etcd_seq."""
        seq = self.seqs.get(host)
        return "%s-%s" % (self.cluster, seq if seq is not None else "?")

    def int_param(self, name, default):
        """A parameter as a whole number (the default when it is not one: the checks refuse it)."""
        try:
            return int(self.param(name, default))
        except (TypeError, ValueError):
            return default

    def members_with(self, name, value):
        """' (on h1, h2)' when only some members have this value of a per-member parameter, else ''."""
        having = [h for h in self.order if self.host_param(h, name) == value]
        return "" if len(having) == len(self.order) else " (on %s)" % names(having)

    # --- what the run says ------------------------------------------------------------------------------
    def refuse(self, message):
        """Refuse the run (each message once)."""
        if message not in self.refusals:
            self.refusals.append(message)

    def warn(self, message):
        """Warn the operator (each message once)."""
        if message not in self.warnings:
            self.warnings.append(message)

    # --- what follows from the parameters alone ---------------------------------------------------------
    def archive_name(self):
        """The file name of the release archive (etcd_archive_src or etcd_archive_url)."""
        return posixpath.basename(str(self.param("etcd_archive_src") or self.param("etcd_archive_url") or ""))

    def archive_version(self):
        """The etcd version the archive's official name gives, or ''."""
        match = ARCHIVE_RE.match(self.archive_name())
        return match.group(1) if match else ""

    def archive_src(self):
        """The archive on the controller, with the archive method."""
        if self.param("etcd_install_method") != "archive":
            return None
        return str(self.param("etcd_archive_src") or "") or None

    def archive_path(self):
        """Where the archive is on the controller: etcd_archive_src, or the download cache."""
        if self.param("etcd_archive_src"):
            return str(self.param("etcd_archive_src"))
        cache = str(self.param("etcd_archive_cache_dir") or "~/.cache/dcs.etcd")
        return posixpath.join(cache, self.archive_name())

    def target_version(self):
        """The version the install stage installs: the archive's, or the pinned package version ('' when none)."""
        if self.param("etcd_install_method") == "archive":
            return self.archive_version()
        return str(self.param("etcd_version") or "")

    def target_source(self):
        """Which parameter names the target version, for messages."""
        if self.param("etcd_version"):
            return "etcd_version=%s" % self.param("etcd_version")
        if self.param("etcd_archive_src"):
            return "etcd_archive_src=%s (etcd %s)" % (self.param("etcd_archive_src"), self.target_version())
        return "etcd_archive_url=%s (etcd %s)" % (self.param("etcd_archive_url"), self.target_version())

    def pki_dirs(self):
        """The CA directory each member resolves etcd_pki_dir to (None: cannot be resolved)."""
        result = {}
        for host in self.order:
            value = self.host_param(host, "etcd_pki_dir")
            if value in (None, ""):
                inventory_dir = (self.host_facts.get(host) or {}).get("inventory_dir")
                if not inventory_dir or str(inventory_dir) == "None":
                    result[host] = None
                    continue
                value = posixpath.join(str(inventory_dir), "pki", str(self.cluster))
            result[host] = str(value)
        return result

    def pki_dir(self):
        """The cluster's one absolute CA directory, or None (the checks refuse that)."""
        dirs = set(self.pki_dirs().values())
        if len(dirs) == 1:
            value = dirs.pop()
            if value and value.startswith("/"):
                return posixpath.normpath(value)
        return None
