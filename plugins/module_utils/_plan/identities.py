# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: who each member is. Its name (etcd_cluster-etcd_seq), address (the
inventory's, else the host's default IPv4), client and peer URLs, data directory, the names its certificate
carries, and, once probed, whether it runs and holds data, and the file limit it gets."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath

from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import (
    as_bool,
    is_ip,
    port_ok,
    san_entry,
    san_problem,
    url_host,
)


def identities(run):
    """Name, address and URLs of every member; the address from the inventory, or the probe."""
    hosts = {}
    for host in run.order:
        seq = run.seqs.get(host)
        probe = (run.probes or {}).get(host) or {}
        address = str(run.host_param(host, "etcd_advertise_address") or "")
        if not address:
            if is_ip(host):
                address = host.strip("[]")
            else:
                address = str(probe.get("default_ipv4") or "")
        port, peer = run.host_param(host, "etcd_port"), run.host_param(host, "etcd_peer_port")
        info = dict(
            name=run.member_name(host),
            seq=seq,
            address=address,
            url_host=url_host(address) if address else "",
            peer_url="https://%s:%s" % (url_host(address), peer) if address and port_ok(peer) else "",
            client_url="https://%s:%s" % (url_host(address), port) if address and port_ok(port) else "",
            port=int(port) if port_ok(port) else None,
            peer_port=int(peer) if port_ok(peer) else None,
            data_dir=posixpath.normpath(str(run.host_param(host, "etcd_data") or "")) if run.host_param(host, "etcd_data") else "",
            in_run=host in run.play,
            safeguard=as_bool(run.host_param(host, "etcd_safeguard")),
            metrics_url=str(run.host_param(host, "etcd_metrics_url") or ""),
        )
        hosts[host] = info
    return hosts


def cert_sans(run, host, info):
    """The names a member's certificate carries: its address, host names, member name, loopback, and
    etcd_cert_extra_sans, each once, in canonical form."""
    known = run.host_facts.get(host) or {}
    entries = [info["address"], host, known.get("ansible_host") or host, info["name"], "localhost", "127.0.0.1", "::1"]
    entries += list(run.host_param(host, "etcd_cert_extra_sans") or [])
    sans = []
    for entry in entries:
        if entry and san_problem(entry) is None:
            canonical = san_entry(entry)
            if canonical not in sans:
                sans.append(canonical)
    return sans


def refuse_missing_addresses(run, facts):
    """A member of the run must have an address: the probe found its default IPv4, or the inventory names it."""
    for host in run.order:
        info = facts.hosts[host]
        if not info["address"] and (host in run.play and facts.reachable(host)):
            run.refuse("No address to advertise for %s: it is not an IP address and has no default IPv4 route. "
                       "Set etcd_advertise_address for this host. Nothing was changed." % host)


def describe_probed(run, facts):
    """What the plan's hosts say about each member once probed: reachable, running, holding data, its
    certificate's names and its file limit."""
    for host in run.order:
        info = facts.hosts[host]
        info["reachable"] = facts.reachable(host) if facts.probe_of(host) is not None else None
        state = facts.states[host] or {}
        info["running"] = bool(state.get("running"))
        info["has_data"] = bool(state.get("has_data"))
        info["cert_sans"] = cert_sans(run, host, info)
        nofile = int(run.host_param(host, "etcd_nofile_limit") or 65536)
        if state.get("nofile_max"):
            nofile = min(nofile, int(state["nofile_max"]))
        info["nofile_limit"] = nofile
