# -*- coding: utf-8 -*-
"""module_utils/_plan/registration.py: registration with Prometheus."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from .conftest import CA, HOSTS, UNREACHABLE, healthy, host, inputs, make, member, probe, read, refused, running


def with_monitoring(inp, hosts=("mon-1",)):
    inp["groups"]["infra"] = list(hosts)
    return inp


def test_every_expected_member_is_a_scrape_target_on_every_monitoring_host():
    inp = with_monitoring(inputs(probes=running(3), cluster=healthy(3)), ("mon-1", "mon-2"))
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    reg = plan["register"]
    assert reg["hosts"] == ["mon-1", "mon-2"] and reg["group"] == "infra"
    assert reg["targets"]["etcd-2.yml"] == [{"labels": {"cls": "etcd", "ins": "etcd-2", "ip": host(2)},
                                             "targets": ["%s:2379" % host(2)]}]
    assert sorted(reg["targets"]) == ["etcd-1.yml", "etcd-2.yml", "etcd-3.yml"]
    assert reg["cert_dir"] == "/etc/prometheus/etcd/etcd" and not reg["remove_cluster"]
    import re
    pattern = re.compile(reg["target_pattern"])
    assert pattern.match("etcd-12.yml") and not pattern.match("etcd-meta-1.yml") and not pattern.match("etcdx1.yml")


def test_no_monitoring_group_registers_nothing():
    plan = make(probes=running(3), cluster=healthy(3))
    assert plan["register"]["hosts"] == [] and plan["register"]["group"] == "infra"


def test_removed_members_lose_their_targets_and_a_removed_cluster_all_of_them():
    partial = pipeline.make_plan(with_monitoring(inputs(play=[host(3)], tags=["etcd_clean"], probes=running(3),
                                                        cluster=healthy(3))), {"ca_sha256": CA})
    assert sorted(partial["register"]["targets"]) == ["etcd-1.yml", "etcd-2.yml"]
    # A partial removal only prunes targets: no certificate (and so never a CA) is made, no rule rewritten.
    assert partial["register"]["mode"] == "prune"
    whole = pipeline.make_plan(with_monitoring(inputs(tags=["etcd_clean"], probes=running(3))), {"ca_sha256": CA})
    assert whole["register"]["targets"] == {} and whole["register"]["remove_cluster"]
    assert whole["register"]["mode"] == "remove"
    assert make(probes=running(3), cluster=healthy(3))["register"]["mode"] == "converge"
    # Only a converge writes the cluster's files; the dashboard with etcd_grafana_dashboards_dir.
    assert partial["register"]["groups"] == whole["register"]["groups"] == []
    assert make(probes=running(3), cluster=healthy(3))["register"]["groups"] == ["cluster"]
    dash = make(probes=running(3), cluster=healthy(3), params={"etcd_grafana_dashboards_dir": "/var/lib/grafana/dashboards"})
    assert dash["register"]["groups"] == ["cluster", "dashboard"]


def test_a_dns_named_member_that_cannot_be_reached_keeps_its_target():
    inp = with_monitoring(inputs())
    group = [host(1), host(2), "etcd-c.example"]
    inp["groups"]["etcd"] = group
    inp["play_hosts"] = group
    inp["host_params"] = {host(1): {"etcd_seq": 1}, host(2): {"etcd_seq": 2}, "etcd-c.example": {"etcd_seq": 3}}
    inp["host_facts"]["etcd-c.example"] = {"inventory_dir": "/srv"}
    inp["probes"] = {host(1): probe(), host(2): probe(), "etcd-c.example": UNREACHABLE}
    # Its address from etcd's membership, when the cluster was read ...
    inp["cluster_read"] = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    assert plan["register"]["targets"]["etcd-3.yml"][0]["targets"] == ["%s:2379" % host(3)]
    # ... else its file stays as it is.
    inp["cluster_read"] = {"failed": True, "msg": "no answer"}
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    assert "etcd-3.yml" not in plan["register"]["targets"]
    assert plan["register"]["keep_files"] == ["/etc/prometheus/targets/etcd/etcd-3.yml"]


@pytest.mark.parametrize("params,expected", [
    ({"etcd_alert_member_down_for": "1 minute"}, "etcd_alert_member_down_for=1 minute: must be a Prometheus duration"),
    ({"etcd_alert_quota_percent": 0}, "etcd_alert_quota_percent=0: must be a positive number"),
    ({"etcd_alert_fsync_seconds": "fast"}, "etcd_alert_fsync_seconds=fast: must be a positive number"),
    ({"etcd_prometheus_cert_dir": "/etc/prometheus"}, "etcd_prometheus_cert_dir=/etc/prometheus: must be an absolute directory"),
    ({"etcd_prometheus_cert_dir": "certs/etcd"}, "etcd_prometheus_cert_dir=certs/etcd"),
    ({"etcd_prometheus_cert_dir": "/etc/prometheus/rules"}, "etcd_prometheus_cert_dir=/etc/prometheus/rules"),
])
def test_registration_parameters_that_prometheus_or_a_removal_would_trip_on(params, expected):
    assert refused(make(params=params), expected)


def test_a_member_down_keeps_its_target_so_that_its_alert_fires():
    probes = dict(running(2), **{host(3): UNREACHABLE})
    plan = pipeline.make_plan(with_monitoring(inputs(probes=probes, cluster=read(member(1, leader=True), member(2),
                                                                                 member(3, healthy=False)))),
                              {"ca_sha256": CA})
    assert "etcd-3.yml" in plan["register"]["targets"]


@pytest.mark.parametrize("url,target,scheme", [
    ("http://0.0.0.0:2381", "%s:2381" % HOSTS[0], "http"),
    # A loopback listener serves agents on the member itself; Prometheus, elsewhere, scrapes the client URL.
    ("http://127.0.0.1:2381", "%s:2379" % HOSTS[0], None),
    ("https://[::]:2381", "%s:2381" % HOSTS[0], None),
])
def test_a_metrics_url_is_scraped_where_it_listens(url, target, scheme):
    plan = pipeline.make_plan(with_monitoring(inputs(params={"etcd_metrics_url": url}, probes=running(3),
                                                     cluster=healthy(3))), {"ca_sha256": CA})
    (entry,) = plan["register"]["targets"]["etcd-1.yml"]
    assert entry["targets"] == [target] and entry["labels"].get("__scheme__") == scheme


@pytest.mark.parametrize("url,expected", [
    ("10.0.0.1:2381", "must be http://ADDRESS:PORT or https://ADDRESS:PORT"),
    ("http://10.0.0.1", "must be http://ADDRESS:PORT"),
    ("http://0.0.0.0:2379", "its port is the member's client or peer port"),
])
def test_a_bad_metrics_url_is_refused(url, expected):
    assert refused(make(params={"etcd_metrics_url": url}), "etcd_metrics_url=%s" % url, expected)
