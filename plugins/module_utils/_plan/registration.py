# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: registration with Prometheus. Where each member is scraped (its client
URL, or etcd_metrics_url), the file_sd target files the monitoring hosts get, the rules file, the certificates
whose expiry the rules record, and what the register stage does: converge, prune after a partial removal, or
remove a whole cluster's files."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import json
import re

from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import ANY_ADDRESS, METRICS_URL_RE, is_loopback, url_host


def scrape_target(run, facts, host, address):
    """Where Prometheus scrapes a member: its client URL (HTTPS, with the scrape job's client certificate),
    or etcd_metrics_url when set (its scheme; the member's own address when it listens on all). A loopback
    listener serves agents on the member itself: Prometheus scrapes the client URL then."""
    info = facts.hosts[host]
    url_address = url_host(address)
    url = run.host_param(host, "etcd_metrics_url")
    match = METRICS_URL_RE.match(str(url)) if url else None
    if not match or is_loopback(match.group(2)):
        return "https", "%s:%s" % (url_address, info["port"])
    listen = match.group(2)
    if listen in ANY_ADDRESS:
        listen = url_address
    return match.group(1), "%s:%s" % (listen, match.group(3))


def certificate_files(run, members):
    """The cluster's certificates on the controller, [{name, path}]: each member's (members: [{host, name}]), the
    CA's, the root client's, the scrape job's and each consumer's (etcd_client_certs). The rules record when each
    one that exists expires (EtcdCertificateExpiring); -t etcd_check shows the days left."""
    pki = run.pki_dir()
    consumers = [c.get("name") for c in run.param("etcd_client_certs") or [] if isinstance(c, dict)
                 and c.get("name") and c.get("state", "present") == "present"]
    return ([dict(name=m["name"], path="%s/members/%s.crt" % (pki, m["host"])) for m in members]
            + [dict(name="ca", path="%s/ca.crt" % pki), dict(name="root", path="%s/clients/root.crt" % pki),
               dict(name="prometheus", path="%s/clients/prometheus.crt" % pki)]
            + [dict(name=name, path="%s/clients/%s.crt" % (pki, name)) for name in consumers
               if name not in ("root", "prometheus")])


def plan_register(run, facts, plan):
    """The members Prometheus scrapes: one file_sd target file per member that the run expects, on every
    host of the monitoring group; none after a removal of the whole cluster. mode says what the register
    stage does: converge (targets, rules, scrape certificate), prune (a partial removal: the removed members'
    targets only, nothing else is touched, no certificate made) or remove (the whole cluster's files)."""
    expected = plan["expected_hosts"]
    group = str(run.param("etcd_prometheus_group") or "")
    monitors = list(run.groups.get(group) or []) if group else []
    targets = {}
    members = []
    keep = []
    targets_dir = str(run.param("etcd_prometheus_targets_dir") or "/etc/prometheus/targets/etcd").rstrip("/")
    for host in expected:
        info = facts.hosts[host]
        name = "%s-%s.yml" % (run.cluster, info["seq"])
        address = info["address"]
        member = facts.in_membership.get(host)
        if not address and member and member.get("peer_urls"):
            # A DNS-named host that cannot be reached: its address as etcd knows it.
            address = member["peer_urls"][0].split("//", 1)[-1].rsplit(":", 1)[0].strip("[]")
        members.append(dict(host=host, name=info["name"]))
        if not address:
            # Not known this run: the member's target stays as it is (its alert keeps firing if it is down).
            keep.append("%s/%s" % (targets_dir, name))
            continue
        scheme, target = scrape_target(run, facts, host, address)
        labels = dict(cls=run.cluster, ins=info["name"], ip=address)
        if scheme != "https":
            labels["__scheme__"] = scheme
        targets[name] = [dict(labels=labels, targets=[target])]
    cert_dir = (str(run.param("etcd_prometheus_cert_dir") or "") or "/etc/prometheus/etcd/%s" % run.cluster).rstrip("/")
    # file_sd reads YAML, and JSON is YAML.
    target_files = [dict(path="%s/%s" % (targets_dir, name),
                         content="# etcd member %s of cluster %s (written by dcs.etcd)\n%s" % (
                             entries[0]["labels"]["ins"], run.cluster, json.dumps(entries, indent=2, sort_keys=True)))
                    for name, entries in sorted(targets.items())]
    if run.removing and not run.rebuild:
        mode = "prune" if plan["removal"]["partial"] else "remove"
    else:
        mode = "converge"
    if mode == "prune":
        # Only the removed members' target files go: those of the members that stay are kept as they are.
        keep += [f["path"] for f in target_files]
    plan["register"] = dict(
        group=group, hosts=monitors, mode=mode, targets=targets, target_files=target_files, keep_files=keep,
        # Whether the cluster's files (targets, rules, scrape certificate, dashboard) are written, and which
        # groups of them (the role's __etcd_register_files_<name>, ...): the dashboard where etcd_grafana_dashboards_dir is set.
        write=mode == "converge",
        groups=(["cluster"] + (["dashboard"] if run.param("etcd_grafana_dashboards_dir") else [])) if mode == "converge" else [],
        targets_dir=targets_dir, members=members, cert_dir=cert_dir,
        rules_file="%s/etcd-%s.rules.yml" % (str(run.param("etcd_prometheus_rules_dir") or "/etc/prometheus/rules")
                                             .rstrip("/"), run.cluster),
        # The certificates whose expiry the rules record.
        certificates=certificate_files(run, members),
        # This cluster's target files, and no other cluster's ("etcd-1.yml", not "etcd-meta-1.yml").
        target_pattern="^%s-[0-9]+\\.yml$" % re.escape(str(run.cluster)),
        remove_cluster=mode == "remove")
