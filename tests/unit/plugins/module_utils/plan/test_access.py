# -*- coding: utf-8 -*-
"""module_utils/_plan/access.py: RBAC, the root login (a cluster taken over from Pigsty, docs/pigsty.md),
consumer certificates."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _rbac
from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from .conftest import CA, HOSTS, PATHS, UNREACHABLE, healthy, host, inputs, make, member, probe, read, refused, running


PIGSTY_CONFIG = {"data-dir": "/data/etcd", "client-transport-security.cert-file": "/etc/etcd/server.crt",
                 "client-transport-security.trusted-ca-file": "/etc/etcd/ca.crt"}


OURS = {"data-dir": "/data/etcd", "client-transport-security.client-cert-auth": "true"}


def no_user(cluster):
    """What etcd answers a health check without a user while RBAC is on (etcd 3.5.16, the pigsty scenario)."""
    for m in cluster["members"]:
        m["healthy"], m["health_error"] = False, "etcdserver: user name is empty"
    return dict(cluster, healthy=False, auth_enabled=True)


def plan_with(params, **kwargs):
    return pipeline.make_plan(inputs(params=params, probes=running(3), cluster=healthy(3), **kwargs), {"ca_sha256": CA})


def test_the_files_of_each_member_name_the_client_certificate_that_member_holds():
    # Purging a dead member: its own flag cannot be known (no probe, no cert stage), and the settle step writes
    # the profiles of the others, which hold the root certificate. Each host's client_cert is its own.
    probes = {host(1): probe(root=True), host(2): probe(root=True), host(3): UNREACHABLE}
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=[host(3)], tags=["etcd_purge"], probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["refresh"]["others"] == [host(1), host(2)]
    assert [plan["hosts"][h]["client_cert"] for h in HOSTS[:3]] == [PATHS["root_cert"]] * 2 + [PATHS["cert_file"]]
    assert [plan["hosts"][h]["client_key"] for h in HOSTS[:3]] == [PATHS["root_key"]] * 2 + [PATHS["key_file"]]
    assert plan["root_client"], "every member with data holds the root certificate"
    assert plan["connection"] == dict(cert=PATHS["root_cert"], key=PATHS["root_key"], user="")
    # A member deployed by an older release, without it: its files keep naming the member certificate.
    older = make(play=[host(3)], tags=["etcd_purge"], probes=dict(probes, **{host(2): probe()}), cluster=cluster)
    assert [older["hosts"][h]["client_cert"] for h in HOSTS[:2]] == [PATHS["root_cert"], PATHS["cert_file"]]
    assert not older["root_client"]
    # The role's own calls then connect with the member certificate.
    assert older["connection"] == dict(cert=PATHS["cert_file"], key=PATHS["key_file"], user="")


def test_members_without_client_cert_auth_are_read_and_with_rbac_on_the_run_logs_in_as_root():
    probes = running(3, config=PIGSTY_CONFIG)
    # First the cluster is read (RBAC on or not decides how the role's calls connect).
    first = make(probes=probes)
    assert first["step"] == "probed" and first["read"]["check_auth"]
    # RBAC on, the certificate is no user: log in as root with etcd_root_password.
    params = {"etcd_root_password": _rbac.MASK}  # the action plugin masks it
    plan = make(probes=probes, cluster=no_user(healthy(3)), params=params)
    assert plan["refusals"] == [] and plan["root_login"] and plan["connection"]["user"] == "root"
    # Without the password: refused, naming the variable and the members.
    plan = make(probes=probes, cluster=no_user(healthy(3)))
    assert refused(plan, "etcd_root_password is empty", "etcd-1, etcd-2, etcd-3 do not take a client certificate",
                   "Nothing was changed")
    # RBAC off: the certificate is enough, no login.
    plan = make(probes=probes, cluster=healthy(3), params=params)
    assert plan["refusals"] == [] and not plan["root_login"]


def test_members_that_run_this_roles_config_are_not_read_for_it_and_need_no_login():
    plan = make(probes=running(3, config=OURS, root=True))
    assert plan["step"] == "final" and plan["read"] is None and not plan["root_login"]
    # A config of ours written after the process started (an interrupted takeover): read again; the members
    # that still run Pigsty's config refuse the certificate, so the run logs in.
    stale = dict(running(3, config=OURS), **{host(1): probe(config=OURS, stale=[PATHS["conf_file"] + " modified after start"])})
    assert make(probes=stale)["step"] == "probed"
    plan = make(probes=stale, cluster=no_user(healthy(3)), params={"etcd_root_password": _rbac.MASK})
    assert plan["root_login"] and plan["refusals"] == []
    # Read, but every member takes the certificate (RBAC on, CN root): no login.
    plan = make(probes=stale, cluster=dict(healthy(3), auth_enabled=True))
    assert not plan["root_login"] and plan["refusals"] == []


def test_a_takeover_reads_with_the_members_etcdctl_and_a_failed_read_is_refused():
    # Pigsty's binaries are in /usr/bin and this role has installed none yet (no version in etcd_bin_dir):
    # the read uses the etcdctl on the member's PATH.
    probes = running(3, config=PIGSTY_CONFIG, version=None)
    first = make(probes=probes)
    assert first["read"]["etcdctl_from_path"]
    assert make(probes=running(3, config=PIGSTY_CONFIG))["read"]["etcdctl_from_path"] is False
    # A read that failed says nothing about RBAC: refused, nothing changed.
    plan = make(probes=probes, cluster={"failed": True, "msg": "etcdctl: not found"})
    assert refused(plan, "Cannot read cluster etcd", "etcdctl: not found", "whether RBAC authentication is on",
                   "Nothing was changed")


def test_auth_needs_the_root_password_and_refuses_contradictions():
    assert refused(plan_with({"etcd_auth": True, "etcd_root_password": ""}), "etcd_root_password is empty")
    assert refused(plan_with({"etcd_auth": True, "etcd_root_password": "********", "etcd_auth_disable": True}),
                   "contradict")
    assert not plan_with({"etcd_auth": True, "etcd_root_password": "********"})["refusals"]


def test_rbac_problems_refuse_the_run_before_any_host():
    plan = pipeline.make_plan(inputs(params={"etcd_users": [{"name": "etcd-2"}]}), {})
    assert plan["step"] == "inputs" and refused(plan, "etcd_users[0].name=etcd-2")


def test_the_auth_stage_orders_roles_before_users_and_deletions_last():
    plan = plan_with({"etcd_auth": True, "etcd_root_password": "********", "etcd_users": [
        {"name": "pg", "password": "********", "permissions": [{"prefix": "/pg/", "access": "readwrite"}]},
        {"name": "old", "state": "absent", "permissions": [{"prefix": "/old/", "access": "read"}]}],
        "etcd_roles": [{"name": "gone", "state": "absent"}]})
    access = plan["access"]
    assert access["run"] and access["state"] == "enabled" and access["host"] == plan["verify"]["host"]
    assert [r["name"] for r in access["roles"]] == ["pg"] and access["roles"][0]["permissions"] == [
        {"prefix": "/pg/", "access": "readwrite"}]
    assert [(u["name"], u["index"], u["roles"]) for u in access["users"]] == [("pg", 0, ["pg"])]
    assert [u["name"] for u in access["users_absent"]] == ["old"]
    assert sorted(r["name"] for r in access["roles_absent"]) == ["gone", "old"]


def test_the_auth_stage_runs_only_when_asked_for():
    assert not plan_with({})["access"]["run"]
    assert plan_with({"etcd_auth_disable": True})["access"]["state"] == "disabled"
    assert not plan_with({"etcd_auth": True, "etcd_root_password": "********"}, tags=("etcd_cert",))["access"]["run"]
    assert plan_with({"etcd_auth": True, "etcd_root_password": "********"}, tags=("etcd_auth",))["access"]["run"]


def test_the_role_connects_as_root_once_every_member_holds_the_certificate():
    plain = plan_with({})
    assert plain["root_client"] is False
    paths = dict(PATHS, root_cert="/etc/etcd/root.crt", root_key="/etc/etcd/root.key")
    probes = running(3)
    for p in probes.values():
        p["paths"]["/etc/etcd/root.crt"] = {"exists": True}
        p["paths"]["/etc/etcd/root.key"] = {"exists": True}
    inp = inputs(probes=probes, cluster=healthy(3))
    inp["paths"] = paths
    assert pipeline.make_plan(inp, {"ca_sha256": CA})["root_client"] is True
    # One member without it (a cluster deployed by an older release, converging member by member): not yet.
    del probes[list(probes)[1]]["paths"]["/etc/etcd/root.key"]
    assert pipeline.make_plan(inp, {"ca_sha256": CA})["root_client"] is False


@pytest.mark.parametrize("entry,expected", [
    ({"name": "patroni"}, "give hosts"),
    ({"name": "patroni", "hosts": ["nosuch"]}, "not in the inventory: nosuch"),
    ({"name": "patroni", "cn": "root", "controller_dir": "/srv/x"}, "cn=root"),
    ({"name": "patroni", "cn": "etcd-1", "controller_dir": "/srv/x"}, "a member's"),
    ({"name": "root", "controller_dir": "/srv/x"}, "root and prometheus are the role's own"),
    ({"name": "p", "controller_dir": "rel"}, "must be an absolute directory on the controller"),
    ({"name": "p", "controller_dir": "/srv/x", "mode": "0644"}, "never readable by others"),
])
def test_consumer_certificates_are_checked(entry, expected):
    plan = pipeline.make_plan(inputs(params={"etcd_client_certs": [entry]}), {})
    assert refused(plan, expected), plan["refusals"]


def test_consumer_certificates_are_planned():
    plan = plan_with({"etcd_client_certs": [{"name": "patroni", "hosts": ["10.0.0.11"], "controller_dir": "/srv/c"}]})
    assert plan["client_certs"][0]["cn"] == "patroni" and plan["client_certs"][0]["dir"] == "/etc/etcd-client/etcd"
    assert [i["host"] for i in plan["client_cert_installs"]] == ["10.0.0.11"]
    assert [c["dest"] for c in plan["client_cert_copies"]] == ["/srv/c/ca.crt", "/srv/c/patroni.crt", "/srv/c/patroni.key"]
    # cn: "" is a certificate without CN (etcd's HTTP gateway refuses one with a CN while RBAC is on).
    gateway = plan_with({"etcd_client_certs": [{"name": "patroni", "cn": "", "controller_dir": "/srv/c"}]})
    assert gateway["refusals"] == [] and gateway["client_certs"][0]["cn"] == ""


@pytest.mark.parametrize("params,expected", [
    ({"etcd_cert_renew_days": 4000}, "etcd_cert_renew_days=4000 must be below etcd_cert_valid_days"),
    ({"etcd_cert_fail_days": 100, "etcd_cert_warn_days": 10}, "must not exceed etcd_cert_warn_days"),
    ({"etcd_tls_cipher_suites": ["RC4"]}, "etcd_tls_cipher_suites"),
])
def test_certificate_and_tls_parameters(params, expected):
    assert refused(pipeline.make_plan(inputs(params=params), {}), expected)


def test_on_3_6_a_takeover_with_rbac_on_reads_as_root_or_is_refused_without_the_password():
    # etcd 3.6 and later answer no member list without a user while RBAC is on (recorded from 3.6.17:
    # "etcdserver: user name is empty"): with etcd_root_password the read itself logs in as root.
    probes = running(3, config=PIGSTY_CONFIG)
    params = {"etcd_root_password": _rbac.MASK}
    first = make(probes=probes, params=params)
    assert first["step"] == "probed" and first["root_login"] and first["connection"]["user"] == "root"
    plan = make(probes=probes, cluster=dict(healthy(3), auth_enabled=True), params=params)
    assert plan["refusals"] == [] and plan["root_login"]
    # Without the password the read fails, and that failure says RBAC is on: refused, naming the variable.
    failed = {"failed": True, "msg": "etcdctl member list failed (rc=1): etcdserver: user name is empty. RBAC ..."}
    plan = make(probes=probes, cluster=failed)
    assert refused(plan, "etcd_root_password is empty", "etcd-1, etcd-2, etcd-3 do not take a client certificate")
    assert not refused(plan, "needs to know whether RBAC authentication is on")
