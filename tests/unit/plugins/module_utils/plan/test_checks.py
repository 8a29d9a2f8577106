# -*- coding: utf-8 -*-
"""module_utils/_plan/checks.py: the inventory and the parameters, refused before any host is contacted."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from ansible_collections.dcs.etcd.plugins.module_utils._plan.checks import sibling_groups
from .conftest import CA, HOSTS, host, inputs, make, refused, running


def test_a_host_in_the_groups_of_two_clusters_is_refused():
    # Two clusters side by side (etcd, meta); 10.0.0.13 was put in both groups, so its etcd_cluster is the other
    # group's. Deploying either one is refused before any host is contacted, naming the host and both clusters.
    plan = make(host_params={host(3): {"etcd_cluster": "meta"}})
    assert refused(plan, "10.0.0.13 is in the inventory group etcd but has etcd_cluster=meta: a host belongs to one "
                         "cluster"), plan["refusals"]
    # With -e etcd_cluster=etcd every host reads the same etcd_cluster: the groups tell. 10.0.0.13 is also in
    # meta, whose hosts all have an etcd_seq: another cluster.
    inp = inputs()
    inp["groups"]["meta"] = [host(3), host(4)]
    inp["seq_hosts"] = [host(3), host(4)]
    plan = pipeline.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})
    assert refused(plan, "10.0.0.13 is in the inventory groups of two clusters, etcd and meta"), plan["refusals"]
    # A group of hosts without etcd_seq (Patroni's, Prometheus') that shares a member is no cluster; nor is a
    # parent group of both clusters, or a part of this one.
    inp["seq_hosts"] = [host(3)]
    inp["groups"].update(dcs=HOSTS[:5], etcd_dc1=HOSTS[:2])
    assert pipeline.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})["refusals"] == []
    assert sibling_groups(inp["groups"], "etcd") == {"meta": [host(3), host(4)]}
    # The two clusters side by side, each host in one group: no refusal.
    inp["groups"]["meta"] = [host(4), host(5)]
    inp["seq_hosts"] = []
    assert pipeline.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})["refusals"] == []


@pytest.mark.parametrize("params,host_params,expected", [
    ({"etcd_port": 70000}, None, "etcd_port=70000: must be a port number"),
    ({"etcd_peer_port": 0}, None, "etcd_peer_port=0: must be a port number"),
    ({"etcd_port": 2380}, None, "etcd_port and etcd_peer_port must differ"),
    ({"etcd_election_timeout": 400}, None, "etcd_election_timeout=400: must be at least 5 x etcd_heartbeat_interval"),
    ({"etcd_heartbeat_interval": 0}, None, "etcd_heartbeat_interval=0: must be a positive number"),
    ({"etcd_install_method": "archive"}, None, "needs exactly one of etcd_archive_src"),
    ({"etcd_install_method": "archive", "etcd_archive_url": "https://x.invalid/etcd-v3.5.16-linux-amd64.tar.gz"},
     None, "etcd_archive_url needs etcd_archive_checksum"),
    ({"etcd_install_method": "archive", "etcd_archive_url": "https://x.invalid/etcd.tgz", "etcd_archive_checksum": "0" * 64},
     None, "must name an official release file"),
    ({"etcd_install_method": "archive", "etcd_archive_src": "relative/etcd-v3.5.16-linux-amd64.tar.gz"}, None,
     "etcd_archive_src=relative/etcd-v3.5.16-linux-amd64.tar.gz: must be an absolute path"),
    ({"etcd_archive_checksum": "xyz"}, None, "etcd_archive_checksum=xyz: must be 64 hex digits"),
    ({"etcd_version": "3.5"}, None, "etcd_version=3.5: must be X.Y.Z or empty"),
    ({"etcd_install_method": "archive", "etcd_archive_src": "/a/etcd-v3.5.16-linux-amd64.tar.gz", "etcd_version": "3.4.23"},
     None, "etcd_version=3.4.23 but the archive etcd-v3.5.16-linux-amd64.tar.gz holds etcd 3.5.16"),
    ({"etcd_version": "3.5.1"}, None, "etcd 3.5.1 is on the known-bad list"),
    ({"etcd_health_timeout": 0}, None, "etcd_health_timeout=0: must be a positive number"),
    ({"etcd_start_timeout": -1}, None, "etcd_start_timeout=-1"),
    ({"etcd_data": "data/etcd"}, None, "etcd_data=data/etcd: must be an absolute path"),
    ({"etcd_advertise_address": "https://10.0.0.1"}, None, "etcd_advertise_address=https://10.0.0.1"),
    (None, {HOSTS[1]: {"etcd_port": 1234, "etcd_peer_port": 1234}}, "etcd_port and etcd_peer_port must differ (both 1234) (on 10.0.0.12)"),
], ids=["port", "peer-port", "equal-ports", "election-timeout", "heartbeat",
        "archive-no-source", "url-without-checksum", "unofficial-name", "relative-archive", "checksum-format",
        "version-format", "version-differs-from-archive", "known-bad", "health-timeout",
        "start-timeout", "relative-data", "advertise-url", "per-host-ports"])
def test_bad_parameters_are_refused_before_any_host_is_probed(params, host_params, expected):
    plan = make(params=params, host_params=host_params)
    assert plan["step"] == "inputs" and refused(plan, expected), plan["refusals"]


@pytest.mark.parametrize("seqs,expected", [
    ({HOSTS[1]: {"etcd_seq": None}}, "missing or invalid on: 10.0.0.12"),
    ({HOSTS[1]: {"etcd_seq": "two"}}, "missing or invalid on: 10.0.0.12"),
    ({HOSTS[1]: {"etcd_seq": -2}}, "etcd_seq must be a non-negative integer"),
    ({HOSTS[1]: {"etcd_seq": 1}}, "etcd_seq must be unique in the cluster: 10.0.0.11 has etcd_seq 1, 10.0.0.12 has etcd_seq 1"),
])
def test_bad_etcd_seq(seqs, expected):
    assert refused(make(host_params=seqs), expected)


def test_archive_checksum_mismatch_is_refused_under_any_tag():
    params = {"etcd_install_method": "archive", "etcd_archive_src": "/a/etcd-v3.5.16-linux-amd64.tar.gz",
              "etcd_archive_checksum": "a" * 64}
    for tags in (["all"], ["etcd_install"], ["etcd_launch"]):
        plan = make(params=params, tags=tags, controller={"archive_sha256": "b" * 64})
        assert refused(plan, "has sha256 %s but etcd_archive_checksum=%s. Nothing was installed." % ("b" * 64, "a" * 64))
    missing = make(params=dict(params, etcd_archive_checksum=""), controller={"archive_exists": False})
    assert refused(missing, "no such file on the controller")


@pytest.mark.parametrize("data", ["/", "/data", "/var/lib", "/etc", "/etc/etcd", "/usr/local", "/proc/etcd", "/srv",
                                  "/data/etcd/../../etc", "/var/log"])
def test_a_data_directory_that_is_not_etcd_s_own_is_refused(data):
    assert refused(make(params={"etcd_data": data}), "etcd_data=%s" % data, "Nothing was changed")


@pytest.mark.parametrize("data", ["/data/etcd", "/var/lib/etcd", "/srv/etcd/data", "/opt/etcd"])
def test_usual_data_directories_are_accepted(data):
    assert make(params={"etcd_data": data})["refusals"] == []


@pytest.mark.parametrize("sans,accepted", [
    (["DNS:etcd.example.com", "IP:192.0.2.7", "etcd-alias", "198.51.100.1", "IP:2001:db8::1", "*.etcd.example"],
     ["DNS:etcd.example.com", "IP:192.0.2.7", "DNS:etcd-alias", "IP:198.51.100.1", "IP:2001:db8::1", "DNS:*.etcd.example"]),
])
def test_extra_sans_in_every_documented_form(sans, accepted):
    plan = make(params={"etcd_cert_extra_sans": sans}, probes=running(3), cluster=None)
    for san in accepted:
        assert san in plan["hosts"][host(1)]["cert_sans"]
    # Before the fix, "DNS:x" became "IP:DNS:x" and "IP:1.2.3.4" became "IP:IP:1.2.3.4".
    assert not [s for s in plan["hosts"][host(1)]["cert_sans"] if s.count(":") and s.startswith(("IP:DNS", "IP:IP"))]


@pytest.mark.parametrize("bad", ["IP:not-an-ip", "DNS:", "bad name!", "IP:10.0.0.300"])
def test_bad_extra_sans_are_refused(bad):
    assert refused(make(params={"etcd_cert_extra_sans": [bad]}), "etcd_cert_extra_sans", repr(bad))


def test_host_outside_the_group_and_other_cluster_name():
    plan = make(play=HOSTS[:3] + ["10.0.0.99"])
    assert refused(plan, "this host (10.0.0.99) is not in the group etcd_cluster=etcd")
    plan = make(host_params={host(2): {"etcd_cluster": "other"}})
    assert refused(plan, "10.0.0.12 is in the inventory group etcd but has etcd_cluster=other")


def test_even_member_count_is_only_a_warning():
    plan = make(n=2)
    assert plan["refusals"] == [] and "has 2 members. An even count" in plan["warnings"][0]
    assert make(n=3)["warnings"] == []


def test_pki_dir_defaults_beside_the_inventory():
    plan = make(params={"etcd_pki_dir": ""})
    assert plan["pki_dir"] == "/srv/pki/etcd" and plan["refusals"] == []


@pytest.mark.parametrize("params,facts,expected", [
    ({"etcd_pki_dir": ""}, {h: {"inventory_dir": None} for h in HOSTS}, "the inventory of 10.0.0.11, 10.0.0.12, 10.0.0.13 has no directory"),
    ({"etcd_pki_dir": ""}, {h: {"inventory_dir": "None"} for h in HOSTS}, "has no directory"),
    ({"etcd_pki_dir": "pki/etcd"}, None, "etcd_pki_dir=pki/etcd: must be an absolute path"),
    ({"etcd_pki_dir": ""}, {HOSTS[2]: {"inventory_dir": "/elsewhere"}}, "resolves to different directories"),
], ids=["host-list-inventory", "host-list-inventory-str", "relative", "two-inventories"])
def test_a_pki_dir_that_is_not_one_absolute_path_is_refused(params, facts, expected):
    assert refused(make(params=params, facts=facts), expected, "Nothing was changed")


def test_a_renamed_cluster_gets_a_pki_dir_of_its_own():
    # etcd_pki_dir defaults to pki/<etcd_cluster>: a renamed cluster looks for another CA ...
    inp = inputs(params={"etcd_pki_dir": "", "etcd_cluster": "renamed"})
    inp["groups"]["renamed"] = inp["groups"].pop("etcd")
    plan = pipeline.make_plan(inp, {"ca_sha256": None})
    assert plan["pki_dir"] == "/srv/pki/renamed" and plan["refusals"] == []


def test_rebuild_is_refused_with_a_limit():
    assert refused(make(play=HOSTS[:2], params={"etcd_clean": True}), "etcd_clean=true rebuilds the whole cluster")


@pytest.mark.parametrize("params,expected", [
    ({"etcd_backup_keep": 0}, "etcd_backup_keep=0: must be a whole number of at least 1"),
    ({"etcd_backup_max_age": "two weeks"}, "etcd_backup_max_age=two weeks: must be a duration"),
    ({"etcd_backup_randomized_delay": "1 hour"}, "etcd_backup_randomized_delay=1 hour"),
    ({"etcd_backup_schedule": ""}, "etcd_backup_schedule=''"),
    ({"etcd_backup_dir": "backups"}, "etcd_backup_dir=backups: must be an absolute directory"),
    ({"etcd_backup_dir": "/var/lib"}, "etcd_backup_dir=/var/lib: must be an absolute directory of its own"),
    ({"etcd_restore_bump_revision": -1}, "etcd_restore_bump_revision=-1"),
    ({"etcd_alert_backup_hours": 0}, "etcd_alert_backup_hours=0: must be a positive number"),
])
def test_bad_backup_parameters_are_refused_before_any_host_is_probed(params, expected):
    plan = make(params=params)
    assert plan["step"] == "inputs" and refused(plan, expected), plan["refusals"]


def test_the_production_example_inventory_plans_without_a_refusal():
    """inventory-examples/production.yml, its vault values stood for by masks (as the etcd_plan action hands
    secrets to the plan), passes every check of the first step; the archive is taken as present."""
    import pathlib
    import yaml
    from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
    from .conftest import DEFAULTS, PATHS
    example = yaml.safe_load((pathlib.Path(__file__).resolve().parents[5] / "inventory-examples" / "production.yml").read_text())
    children = example["all"]["children"]
    cluster = children["etcd"]
    params = dict(DEFAULTS, **cluster["vars"])
    for name, value in list(params.items()):
        if isinstance(value, str) and "vault_" in value:
            params[name] = "********"
    for user in params["etcd_users"]:
        user["password"] = "********"
    params["etcd_archive_checksum"] = "sha256:" + "a" * 64
    members = list(cluster["hosts"])
    groups = {"all": members + list(children["postgres"]["hosts"]) + list(children["monitoring"]["hosts"]),
              "ungrouped": [], "etcd": members, "postgres": list(children["postgres"]["hosts"]),
              "monitoring": list(children["monitoring"]["hosts"])}
    raw = {"params": params, "groups": groups, "play_hosts": members, "run_tags": ["all"], "skip_tags": [],
           "check_mode": False, "paths": PATHS, "host_params": dict((h, dict(v)) for h, v in cluster["hosts"].items()),
           "host_facts": dict((h, {"inventory_dir": "/srv/inventory", "ansible_host": None}) for h in members),
           "probes": None, "cluster_read": None}
    plan = pipeline.make_plan(raw, {"archive_exists": True, "archive_sha256": "a" * 64})
    assert plan["refusals"] == [] and plan["backup"]["s3"]["url"].endswith("/acme-etcd-backups/prod")
