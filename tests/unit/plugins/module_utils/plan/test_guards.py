# -*- coding: utf-8 -*-
"""module_utils/_plan/guards.py: another CA, unreachable members, lost data, foreign files, identity changes,
the safeguard."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from .conftest import (
    CA,
    HOSTS,
    OTHER_CA,
    UNREACHABLE,
    client,
    fresh,
    healthy,
    host,
    make,
    member,
    peer,
    probe,
    read,
    refused,
    running,
)


@pytest.mark.parametrize("controller_ca,case", [(None, "no CA"), (OTHER_CA, "another CA")])
def test_a_run_that_would_push_another_ca_is_refused(controller_ca, case):
    plan = make(probes=running(3), cluster=healthy(3), controller={"ca_sha256": controller_ca})
    assert refused(plan, "etcd_pki_dir=/srv/pki/etcd", "10.0.0.11, 10.0.0.12, 10.0.0.13 hold a CA", "Nothing was changed")
    if controller_ca is None:
        assert refused(plan, "this run would create a new one")


def test_a_member_outside_the_run_with_another_ca_is_refused_too():
    probes = running(3)
    probes[host(3)] = probe(ca=OTHER_CA)
    plan = make(play=HOSTS[:2], probes=probes, cluster=healthy(3))
    assert refused(plan, "10.0.0.13 holds a CA")


def test_fresh_hosts_and_a_rebuild_accept_a_new_ca():
    assert make(probes=dict((host(i), fresh()) for i in (1, 2, 3)), controller={"ca_sha256": None})["refusals"] == []
    plan = make(params={"etcd_clean": True}, probes=running(3), controller={"ca_sha256": None})
    assert plan["refusals"] == [] and plan["removal"]["rebuild"]


@pytest.mark.parametrize("tags,params,expected", [
    (["etcd_clean"], {}, "refusing to remove it"),
    (["all"], {"etcd_clean": True}, "refusing to rebuild the cluster (etcd_clean=true)"),
])
def test_the_safeguard_protects_a_member_on_disk_running_or_not(tags, params, expected):
    for state in ("active", "inactive"):
        probes = running(3, state=state)
        plan = make(play=HOSTS[:3] if tags == ["all"] else [host(3)], tags=tags, params=params,
                    host_params={host(3): {"etcd_safeguard": True}}, probes=probes, cluster=healthy(3))
        assert refused(plan, "etcd_safeguard is true for 10.0.0.13, which holds etcd member etcd-3", expected)
    purge = make(play=[host(3)], tags=["etcd_purge"], host_params={host(3): {"etcd_safeguard": True}},
                 probes=running(3), cluster=healthy(3))
    assert purge["refusals"] == []


def test_rebuild_is_refused_when_a_member_cannot_be_reached():
    # Otherwise the reachable members would be wiped, and the new cluster then refused without the other.
    probes = dict(running(2), **{host(3): UNREACHABLE})
    assert refused(make(params={"etcd_clean": True}, probes=probes), "Cannot rebuild cluster etcd (etcd_clean=true): 10.0.0.13")


def test_a_plain_converge_carries_on_without_an_unreachable_member():
    probes = dict(running(2), **{host(3): UNREACHABLE})
    # The cluster is read first: is the unreachable host a member at all?
    assert make(probes=probes)["step"] == "probed"
    plan = make(probes=probes, cluster=read(member(1, leader=True), member(2), member(3, healthy=False)))
    assert plan["refusals"] == [] and plan["unreachable_hosts"] == [host(3)]
    assert "10.0.0.13 (etcd-3) is unreachable: it is left out of this run" in " ".join(plan["warnings"])
    assert not plan["hosts"][host(3)]["start"] and plan["verify"]["expect"]["tolerate_down"] == [peer(3)]
    assert plan["verify"]["host"] == host(1) and client(3) not in plan["verify"]["endpoints"]


def test_a_member_outside_the_run_that_is_down_is_tolerated():
    probes = dict(running(2), **{host(3): probe(state="inactive")})
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=HOSTS[:2], probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["verify"]["expect"]["tolerate_down"] == [peer(3)]


def test_a_probe_that_failed_is_refused():
    probes = dict(running(2), **{host(3): {"failed": True, "msg": "python3 not found"}})
    assert refused(make(probes=probes), "Probing 10.0.0.13 failed: python3 not found")


def test_bootstrap_with_an_unreachable_host_and_a_run_that_reaches_nobody():
    probes = {host(1): fresh(), host(2): fresh(), host(3): UNREACHABLE}
    assert refused(make(probes=probes, controller={"ca_sha256": None}), "Cannot bootstrap cluster etcd: 10.0.0.13 is unreachable")
    nobody = dict((host(i), UNREACHABLE) for i in (1, 2, 3))
    assert refused(make(probes=nobody), "No host of this run is reachable")


def test_an_activating_member_is_taken_for_running():
    probes = dict(running(2), **{host(3): probe(state="activating")})
    plan = make(probes=probes)
    three = plan["hosts"][host(3)]
    assert three["running"] and not three["start"]


def test_lost_data_is_refused():
    probes = dict(running(2), **{host(3): probe(data=False, state="inactive", conf=True, permit=False)})
    assert refused(make(probes=probes), "10.0.0.13 ran as an etcd member", "holds no member data", "Nothing was changed")
    single = make(n=1, probes={host(1): probe(data=False, state="inactive", conf=True)})
    assert refused(single, "and a new, empty cluster")


def test_a_changed_data_directory_is_named():
    probes = dict(running(2), **{host(3): probe(data=False, state="inactive", conf=True,
                                                config={"data-dir": "/data/etcd"})})
    plan = make(probes=probes, host_params={host(3): {"etcd_data": "/srv/etcd"}})
    assert refused(plan, "etcd_data=/srv/etcd on 10.0.0.13, but its member etcd-3 keeps its data in /data/etcd")


def test_a_data_directory_holding_other_files_is_refused():
    probes = dict(running(2), **{host(3): probe(data=False, state="inactive", conf=False, entries=["pg_wal", "lost+found"])})
    assert refused(make(probes=probes, cluster=healthy(2)), "etcd_data=/data/etcd on 10.0.0.13 holds files that are not etcd data (pg_wal)")
    # A fresh file system (lost+found only) is fine.
    probes[host(3)] = probe(data=False, state="inactive", conf=False, entries=["lost+found"], ca=None, unit=False)
    assert not refused(make(n=3, probes=probes, controller={"ca_sha256": CA}), "holds files")


@pytest.mark.parametrize("host_params,config,expected", [
    ({"etcd_peer_port": 2480}, {"initial-advertise-peer-urls": peer(3)}, "would move member etcd-3 from peer URL %s" % peer(3)),
    ({"etcd_advertise_address": "10.0.0.99"}, {"initial-advertise-peer-urls": peer(3)}, "etcd_peer_port/etcd_advertise_address of 10.0.0.13"),
    ({"etcd_port": 2479}, {"advertise-client-urls": client(3)}, "etcd_port/etcd_advertise_address of 10.0.0.13"),
    ({"etcd_seq": 9}, {"name": "etcd-3"}, "etcd_seq of 10.0.0.13 would rename its member etcd-3 to etcd-9"),
])
def test_changing_a_running_member_s_address_or_name_is_refused(host_params, config, expected):
    probes = dict(running(2), **{host(3): probe(config=config)})
    plan = make(probes=probes, host_params={host(3): host_params})
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_an_address_change_is_also_caught_in_the_membership():
    probes = running(3)
    cluster = read(member(1, leader=True), member(2), member(3))
    cluster["members"][2]["peer_urls"] = ["https://10.0.0.99:2380"]
    plan = make(play=HOSTS[:2], probes=probes, cluster=cluster)
    assert refused(plan, "Member etcd-3 of cluster etcd has peer URL https://10.0.0.99:2380 in etcd")
