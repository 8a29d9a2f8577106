"""The run's plan (module_utils/_plan.py), situation by situation.

Each test builds what the etcd_plan action would gather - the role's real defaults, the inventory, the run's
hosts and tags, what etcd_host_info found on each member, and the cluster as etcd_cluster_info reports it -
and checks the plan's decisions and refusals. The probe and read shapes are those of the modules (their
own unit tests check them against output recorded from real etcd 3.4.23, 3.5.1 and 3.5.16)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import copy
import pathlib

import pytest
import yaml

from ansible_collections.dcs.etcd.plugins.module_utils import _plan
from ansible_collections.dcs.etcd.plugins.module_utils._membership import initial_cluster, quorum, successor

ROLE = pathlib.Path(__file__).resolve().parents[4] / "roles" / "etcd"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
PATHS = {"conf_file": "/etc/etcd/etcd.conf", "unit_file": "/etc/systemd/system/etcd.service",
         "permit": "/etc/etcd/bootstrap-permit", "ca_file": "/etc/etcd/ca.crt",
         "root_cert": "/etc/etcd/root.crt", "root_key": "/etc/etcd/root.key"}
CA = "c" * 64
OTHER_CA = "d" * 64
HOSTS = ["10.0.0.%d" % i for i in range(11, 16)]


def host(i):
    return HOSTS[i - 1]


def peer(i, port=2380):
    return "https://%s:%d" % (host(i), port)


def client(i, port=2379):
    return "https://%s:%d" % (host(i), port)


# --- what etcd_host_info reports -------------------------------------------------------------------------

def probe(data=True, state="active", version="3.5.16", conf=None, permit=False, ca=CA, unit=None, user=True,
          stale=(), config=None, entries=None, ipv4=None, enabled=None, root=False):
    """A member as etcd_host_info reports it. By default: a running member with data."""
    conf = data if conf is None else conf
    unit = conf if unit is None else unit
    paths = {
        PATHS["conf_file"]: {"exists": conf},
        PATHS["permit"]: {"exists": permit},
        PATHS["ca_file"]: {"exists": ca is not None, "sha256": ca} if ca else {"exists": False},
        PATHS["root_cert"]: {"exists": root},
        PATHS["root_key"]: {"exists": root},
    }
    return {
        "version": version, "data_initialized": data, "data_dir_exists": data or entries is not None,
        "data_dir_entries": list(entries if entries is not None else (["member"] if data else [])),
        "unit_exists": unit, "user_exists": user, "service_state": state, "service_active": state == "active",
        "service_enabled": state in ("active", "activating") if enabled is None else enabled,
        "service_stale": bool(stale), "stale_reasons": list(stale), "paths": paths, "default_ipv4": ipv4,
        "nofile_max": 20000, "config": config or {},
    }


def fresh():
    """A host that has never been a member: no etcd, no data, no config."""
    return probe(data=False, state="inactive", version=None, conf=False, ca=None, unit=False, user=False)


def installed_not_started():
    """A bootstrapping member: config and permit written, never started."""
    return probe(data=False, state="inactive", conf=True, permit=True)


UNREACHABLE = {"unreachable": True, "msg": "Failed to connect to the host via ssh"}


# --- what etcd_cluster_info reports ----------------------------------------------------------------------

def member(i, leader=False, learner=False, started=True, healthy=True, version="3.5.16", applied=100, raft=100,
           name=None):
    return {
        "id": "%x" % (0x1000 + i), "name": (name or "etcd-%d" % i) if started else "",
        "peer_urls": [peer(i)], "client_urls": [client(i)] if started else [], "is_learner": learner,
        "started": started, "healthy": healthy and started, "leader": leader,
        "status": {"version": version, "raft_index": raft, "raft_applied_index": applied,
                   "leader": "%x" % 0x1001, "db_size": 1, "raft_term": 2, "errors": []} if healthy and started else None,
    }


def read(*members, leader=True, auth=False, alarms=()):
    """A cluster read; the member flagged leader (or the first) leads, unless leader=False."""
    members = [copy.deepcopy(m) for m in members]
    lead = next((m for m in members if m["leader"]), members[0] if members and leader else None)
    if leader and lead is not None:
        lead["leader"] = True
        for m in members:
            if m["status"]:
                m["status"]["leader"] = lead["id"]
    return {"members": members, "leader": lead["id"] if leader and lead else None,
            "leader_name": lead["name"] if leader and lead else None, "alarms": list(alarms),
            "healthy": all(m["healthy"] for m in members) and leader, "auth_enabled": auth, "changed": False}


def healthy(n, version="3.5.16", leader=1):
    return read(*[member(i, leader=(i == leader), version=version) for i in range(1, n + 1)])


# --- the inputs ------------------------------------------------------------------------------------------

def inputs(n=3, play=None, tags=("all",), skip=(), params=None, host_params=None, probes=None, cluster=None,
           facts=None, rebuilt=False, check_mode=False):
    members = HOSTS[:n]
    hp = dict((h, {"etcd_seq": i + 1}) for i, h in enumerate(members))
    for h, values in (host_params or {}).items():
        hp.setdefault(h, {}).update(values)
    merged = dict(DEFAULTS, etcd_cluster="etcd", etcd_pki_dir="/srv/pki/etcd")
    merged.update(params or {})
    return {
        "params": merged, "groups": {"all": members, "ungrouped": [], "etcd": members},
        "play_hosts": list(play if play is not None else members), "run_tags": list(tags), "skip_tags": list(skip),
        "check_mode": check_mode, "paths": PATHS, "host_params": hp,
        "host_facts": dict((h, dict({"inventory_dir": "/srv", "ansible_host": None}, **(facts or {}).get(h, {})))
                           for h in members),
        "probes": probes, "cluster_read": cluster, "rebuilt": rebuilt,
    }


def make(controller=None, **kwargs):
    return _plan.make_plan(inputs(**kwargs), dict({"ca_sha256": CA, "archive_exists": True}, **(controller or {})))


def running(n, **kwargs):
    return dict((host(i), probe(**kwargs)) for i in range(1, n + 1))


def refused(plan, *texts):
    joined = " ".join(plan["refusals"])
    return all(t in joined for t in texts)


# === step 1: inventory and parameters (no host contacted) ===============================================


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
    plan = _plan.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})
    assert refused(plan, "10.0.0.13 is in the inventory groups of two clusters, etcd and meta"), plan["refusals"]
    # A group of hosts without etcd_seq (Patroni's, Prometheus') that shares a member is no cluster; nor is a
    # parent group of both clusters, or a part of this one.
    inp["seq_hosts"] = [host(3)]
    inp["groups"].update(dcs=HOSTS[:5], etcd_dc1=HOSTS[:2])
    assert _plan.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})["refusals"] == []
    assert _plan.sibling_groups(inp["groups"], "etcd") == {"meta": [host(3), host(4)]}
    # The two clusters side by side, each host in one group: no refusal.
    inp["groups"]["meta"] = [host(4), host(5)]
    inp["seq_hosts"] = []
    assert _plan.make_plan(inp, {"ca_sha256": CA, "archive_exists": True})["refusals"] == []


@pytest.mark.parametrize("params,host_params,expected", [
    ({"etcd_init": "fresh"}, None, "etcd_init=fresh: must be new or existing"),
    ({"etcd_port": 70000}, None, "etcd_port=70000: must be a port number"),
    ({"etcd_peer_port": 0}, None, "etcd_peer_port=0: must be a port number"),
    ({"etcd_port": 2380}, None, "etcd_port and etcd_peer_port must differ"),
    ({"etcd_election_timeout": 400}, None, "etcd_election_timeout=400: must be at least 5 x etcd_heartbeat_interval"),
    ({"etcd_heartbeat_interval": 0}, None, "etcd_heartbeat_interval=0: must be a positive number"),
    ({"etcd_install_method": "docker"}, None, "etcd_install_method=docker"),
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
    ({"etcd_auto_compaction_mode": "sometimes"}, None, "etcd_auto_compaction_mode=sometimes"),
    ({"etcd_health_timeout": 0}, None, "etcd_health_timeout=0: must be a positive number"),
    ({"etcd_start_timeout": -1}, None, "etcd_start_timeout=-1"),
    ({"etcd_data": "data/etcd"}, None, "etcd_data=data/etcd: must be an absolute path"),
    ({"etcd_advertise_address": "https://10.0.0.1"}, None, "etcd_advertise_address=https://10.0.0.1"),
    (None, {HOSTS[1]: {"etcd_port": 1234, "etcd_peer_port": 1234}}, "etcd_port and etcd_peer_port must differ (both 1234) (on 10.0.0.12)"),
], ids=["init", "port", "peer-port", "equal-ports", "election-timeout", "heartbeat", "install-method",
        "archive-no-source", "url-without-checksum", "unofficial-name", "relative-archive", "checksum-format",
        "version-format", "version-differs-from-archive", "known-bad", "compaction", "health-timeout",
        "start-timeout", "relative-data", "advertise-url", "per-host-ports"])
def test_bad_parameters_are_refused_before_any_host_is_probed(params, host_params, expected):
    plan = make(params=params, host_params=host_params)
    assert plan["stage"] == "inputs" and refused(plan, expected), plan["refusals"]


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


def test_cluster_group_and_tags():
    assert _plan.run_problems({"etcd": ["a"]}, "etcd", ["all"]) == []
    assert "names no inventory group" in _plan.run_problems({"etcd": ["a"], "other": []}, "nosuch", ["all"])[0]
    assert "names no inventory group" in _plan.run_problems({"empty": []}, "empty", ["all"])[0]
    assert "must be a simple name" in _plan.run_problems({}, "a b", ["all"])[0]
    for tag in ("etcd_check", "etcd_env", "etcd_member"):
        problems = _plan.run_problems({"etcd": ["a"]}, "etcd", [tag])
        assert problems and "-t %s" % tag in problems[0] and "would run nothing" in problems[0]
    assert "no such stage" in _plan.run_problems({"etcd": ["a"]}, "etcd", ["etcd_lanch"])[0]
    # A role tagged by the user's own site playbook, and Ansible's own tags, are not ours to refuse.
    assert _plan.run_problems({"etcd": ["a"]}, "etcd", ["etcd", "database", "always"]) == []
    assert "cannot be combined" in _plan.run_problems({"etcd": ["a"]}, "etcd", ["etcd_clean", "etcd_install"])[0]
    # Skipping a tag that does nothing is harmless; skipping one that does not exist is a typo.
    assert _plan.run_problems({"etcd": ["a"]}, "etcd", ["all"], ["etcd_check"]) == []
    assert _plan.run_problems({"etcd": ["a"]}, "etcd", ["etcd_register"]) == []
    assert "--skip-tags etcd_lanch: no such stage" in _plan.run_problems({"etcd": ["a"]}, "etcd", ["all"], ["etcd_lanch"])[0]


def test_host_outside_the_group_and_other_cluster_name():
    plan = make(play=HOSTS[:3] + ["10.0.0.99"])
    assert refused(plan, "this host (10.0.0.99) is not in the group etcd_cluster=etcd")
    plan = make(host_params={host(2): {"etcd_cluster": "other"}})
    assert refused(plan, "10.0.0.12 is in the inventory group etcd but has etcd_cluster=other")


def test_even_member_count_is_only_a_warning():
    plan = make(n=2)
    assert plan["refusals"] == [] and "has 2 members. An even count" in plan["warnings"][0]
    assert make(n=3)["warnings"] == []


# --- the CA directory -----------------------------------------------------------------------------------

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
    plan = _plan.make_plan(inp, {"ca_sha256": None})
    assert plan["pki_dir"] == "/srv/pki/renamed" and plan["refusals"] == []
    # ... and the probes then show that the members hold another CA: refused (below).


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
    assert plan["refusals"] == [] and plan["rebuild"]


# === step 2 and 3: probes and the cluster ===============================================================

@pytest.mark.parametrize("n", [1, 3, 5])
def test_fresh_cluster(n):
    probes = dict((host(i), fresh()) for i in range(1, n + 1))
    plan = make(n=n, probes=probes, controller={"ca_sha256": None})
    assert plan["refusals"] == [] and plan["stage"] == "final" and plan["read"] is None
    cluster = ",".join("etcd-%d=%s" % (i, peer(i)) for i in range(1, n + 1))
    for i in range(1, n + 1):
        me = plan["hosts"][host(i)]
        assert me["name"] == "etcd-%d" % i and me["peer_url"] == peer(i) and me["client_url"] == client(i)
        assert me["initial_cluster"] == cluster and me["initial_cluster_state"] == "new"
        assert me["start"] and me["start_no_block"] and me["write_permit"] and me["install"] and me["binaries"]
        assert me["restart_reasons"] == []
    assert plan["joiners"] == [] and plan["expected_hosts"] == HOSTS[:n]
    assert plan["verify"]["host"] == host(1) and plan["verify"]["expect"]["tolerate_down"] == []
    assert plan["settled"]["client_endpoints"] == ",".join(client(i) for i in range(1, n + 1))


def test_the_plan_uses_no_key_ansible_reserves_in_a_task_result():
    # A plan with an "unreachable" (or "failed", "skipped") key would make Ansible take the plan task's host
    # for unreachable (or failed, skipped).
    plan = make(probes=dict(running(2), **{host(3): UNREACHABLE}), cluster=healthy(3))
    assert not set(plan) & {"unreachable", "failed", "skipped", "changed", "results", "msg", "rc"}


def test_a_converged_cluster_plans_nothing():
    plan = make(probes=running(3))
    assert plan["refusals"] == [] and plan["stage"] == "final" and plan["read"] is None
    for me in plan["hosts"].values():
        assert not (me["start"] or me["install"] or me["restart_reasons"] or me["write_permit"] or me["remove"])


def test_names_addresses_and_urls():
    probes = {"node-a": probe(ipv4="192.0.2.1"), "node-b": probe(ipv4="192.0.2.2")}
    inp = inputs(n=1)
    inp.update(play_hosts=["node-a", "node-b"], groups={"etcd": ["node-a", "node-b"]}, probes=probes,
               host_params={"node-a": {"etcd_seq": 7}, "node-b": {"etcd_seq": 8, "etcd_advertise_address": "2001:db8::8",
                                                                  "etcd_peer_port": 2390}},
               host_facts={"node-a": {"inventory_dir": "/srv"}, "node-b": {"inventory_dir": "/srv"}})
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
    a, b = plan["hosts"]["node-a"], plan["hosts"]["node-b"]
    assert a["name"] == "etcd-7" and a["peer_url"] == "https://192.0.2.1:2380" and a["client_url"] == "https://192.0.2.1:2379"
    assert b["peer_url"] == "https://[2001:db8::8]:2390" and b["url_host"] == "[2001:db8::8]"
    assert "DNS:node-a" in a["cert_sans"] and "IP:192.0.2.1" in a["cert_sans"] and "IP:127.0.0.1" in a["cert_sans"]
    no_address = dict(probes, **{"node-a": probe(ipv4=None)})
    inp["probes"] = no_address
    assert refused(_plan.make_plan(inp, {"ca_sha256": CA}), "No address to advertise for node-a", "etcd_advertise_address")


# --- scale-out -------------------------------------------------------------------------------------------

def test_scale_out_one_to_three_needs_the_cluster_read_first():
    probes = {host(1): probe(), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes)
    assert plan["stage"] == "probed" and plan["read"]["host"] == host(1) and plan["read"]["endpoints"] == [client(1)]


def test_scale_out_one_to_three():
    probes = {host(1): probe(), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes, cluster=healthy(1))
    assert plan["refusals"] == []
    joiners = plan["joiners"]
    assert [j["host"] for j in joiners] == HOSTS[1:3]
    assert joiners[0]["initial_cluster"] == "etcd-1=%s,etcd-2=%s" % (peer(1), peer(2))
    assert joiners[1]["initial_cluster"] == "etcd-1=%s,etcd-2=%s,etcd-3=%s" % (peer(1), peer(2), peer(3))
    assert joiners[1]["membership_peer_urls"] == sorted([peer(1), peer(2), peer(3)])
    assert plan["voter_endpoints"] == [client(1)]
    two, three = plan["hosts"][host(2)], plan["hosts"][host(3)]
    assert two["initial_cluster_state"] == "existing" and two["initial_cluster"] == joiners[0]["initial_cluster"]
    assert not two["start"] and two["joining"] and not plan["hosts"][host(1)]["restart_reasons"]
    # The profile lists the voters while the new members join; the settled membership afterwards.
    assert two["client_endpoints"] == client(1)
    assert plan["settled"]["client_endpoints"] == ",".join([client(1), client(2), client(3)])
    assert plan["settle"]["run_hosts"] == HOSTS[1:3] and plan["settle"]["others"] == [host(1)]
    assert plan["expected_hosts"] == HOSTS[:3]


def test_scale_out_three_to_five():
    probes = dict(running(3), **{host(4): fresh(), host(5): fresh()})
    plan = make(n=5, play=HOSTS[3:5], params={"etcd_init": "existing"}, probes=probes, cluster=healthy(3))
    assert plan["refusals"] == [] and [j["name"] for j in plan["joiners"]] == ["etcd-4", "etcd-5"]
    assert plan["joiners"][0]["initial_cluster"].count("=") == 4 and plan["joiners"][1]["initial_cluster"].count("=") == 5


def test_resumed_join_after_the_learner_was_added():
    probes = dict(running(3), **{host(4): installed_not_started()})
    cluster = read(member(1, leader=True), member(2), member(3), member(4, learner=True, started=False))
    plan = make(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes, cluster=cluster)
    assert plan["refusals"] == []
    (joiner,) = plan["joiners"]
    # Added once only: the unstarted learner has no name in etcd, the plan's name is used.
    assert joiner["initial_cluster"].count(peer(4)) == 1 and "etcd-4=%s" % peer(4) in joiner["initial_cluster"]
    assert not joiner["started"]


def test_resumed_join_after_the_learner_started():
    probes = dict(running(3), **{host(4): probe()})
    cluster = read(member(1, leader=True), member(2), member(3), member(4, learner=True))
    plan = make(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes, cluster=cluster)
    (joiner,) = plan["joiners"]
    assert joiner["started"] and plan["hosts"][host(4)]["initial_cluster_state"] == "new"


@pytest.mark.parametrize("cluster,expected", [
    (read(member(1, leader=True), member(2, healthy=False), member(3)), "voting member etcd-2 is not healthy"),
    (healthy(3) | {"leader": None}, "no leader"),
    (read(member(1, leader=True), member(2), member(3), member(5, learner=True)),
     "are learners outside this run; etcd allows one learner at a time"),
    ({"failed": True, "msg": "context deadline exceeded"}, "context deadline exceeded"),
], ids=["unhealthy-voter", "no-leader", "foreign-learner", "read-failed"])
def test_scale_out_refusals(cluster, expected):
    probes = dict(running(3), **{host(4): fresh()})
    plan = make(n=5, play=[host(4)], params={"etcd_init": "existing"}, probes=dict(probes, **{host(5): fresh()}),
                cluster=cluster)
    assert refused(plan, expected), plan["refusals"]
    # The message names the member, not a placeholder (the Jinja version printed a literal \1).
    assert "\\1" not in " ".join(plan["refusals"])


def test_scale_out_with_nothing_running():
    probes = {host(1): probe(state="inactive"), host(2): fresh(), host(3): fresh()}
    plan = make(play=HOSTS[1:3], params={"etcd_init": "existing"}, probes=probes)
    assert refused(plan, "etcd_init=existing adds members to a running cluster, but no member of etcd is running")


def test_a_host_that_would_start_a_second_cluster_is_refused():
    probes = dict(running(3), **{host(4): fresh()})
    plan = make(n=4, probes=probes, cluster=healthy(3))
    assert refused(plan, "10.0.0.14 would start without data but is not a member",
                   "./etcd.yml -l 10.0.0.14 -e etcd_init=existing")
    # Without a readable cluster: refused all the same, since the others hold its data.
    plan = make(n=4, probes=probes, cluster={"failed": True, "msg": "no quorum"})
    assert refused(plan, "10.0.0.14 would start without data")


def test_an_interrupted_bootstrap_is_not_a_stranger():
    probes = {host(1): probe(), host(2): probe(), host(3): installed_not_started()}
    cluster = read(member(1, leader=True), member(2), member(3, started=False))
    plan = make(probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["hosts"][host(3)]["start"] and plan["hosts"][host(3)]["write_permit"]


# --- removal ---------------------------------------------------------------------------------------------

def test_partial_removal():
    probes = running(5)
    plan = make(n=5, play=HOSTS[3:5], tags=["etcd_clean"], probes=probes, cluster=healthy(5))
    assert plan["refusals"] == [] and plan["partial_removal"] and plan["removed_hosts"] == HOSTS[3:5]
    assert [r["name"] for r in plan["removals"]] == ["etcd-4", "etcd-5"]
    assert plan["removal_via"]["host"] == host(1)
    assert plan["removal_via"]["endpoints"] == [client(1), client(2), client(3)]
    assert plan["hosts"][host(4)]["wipe"] and plan["hosts"][host(4)]["stop"] and not plan["hosts"][host(1)]["wipe"]
    assert plan["settle"]["others"] == HOSTS[:3] and plan["settled"]["client_endpoints"].count("https") == 3
    assert plan["expected_hosts"] == HOSTS[:3]


def test_whole_cluster_removal_needs_no_read():
    plan = make(tags=["etcd_clean"], probes=running(3))
    assert plan["refusals"] == [] and not plan["partial_removal"] and plan["removals"] == []
    assert plan["read"] is None and all(plan["hosts"][h]["wipe"] for h in HOSTS[:3])


@pytest.mark.parametrize("case,probes,cluster,expected", [
    ("two-of-three", running(3), healthy(3), "1 of its 3 voting members would stay, fewer than a quorum (2)"),
    # The defect: with the member that stays stopped, the removal was taken for a whole-cluster removal and
    # both running members were wiped.
    ("stay-stopped", dict(running(2), **{host(3): probe(state="inactive")}),
     read(member(1, leader=True), member(2), member(3, healthy=False)), "voting member etcd-3 is not healthy"),
    ("stay-unreachable", dict(running(2), **{host(3): UNREACHABLE}),
     read(member(1, leader=True), member(2), member(3, healthy=False)), "voting member etcd-3 is not healthy"),
    ("stay-stopped-unreadable", dict(running(2, state="inactive"), **{host(3): probe(state="inactive")}), None,
     "the members that stay (10.0.0.13) hold or may hold etcd data, but the cluster could not be read"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_a_removal_that_would_cost_the_quorum_is_refused(case, probes, cluster, expected):
    plan = make(play=HOSTS[:2], tags=["etcd_clean"], probes=probes, cluster=cluster)
    assert plan["partial_removal"], "a removal that leaves members behind is a partial removal"
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_a_dead_member_is_removed_by_peer_url_through_the_others():
    probes = dict(running(2), **{host(3): UNREACHABLE})
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=[host(3)], tags=["etcd_purge"], probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["removed_hosts"] == [host(3)]
    assert plan["removals"] == [{"host": host(3), "name": "etcd-3", "id": "1003", "peer_urls": [peer(3)]}]
    assert plan["removal_via"]["host"] == host(1) and client(3) not in plan["removal_via"]["endpoints"]
    three = plan["hosts"][host(3)]
    assert not three["stop"] and not three["wipe"] and "removed from the membership only" in " ".join(plan["warnings"])
    # With the safeguard on, an unreachable host cannot be judged: only etcd_purge removes it.
    guarded = make(play=[host(3)], tags=["etcd_clean"], probes=probes, cluster=cluster,
                   host_params={host(3): {"etcd_safeguard": True}})
    assert refused(guarded, "etcd_safeguard is true for 10.0.0.13, which cannot be reached")


def test_the_files_of_each_member_name_the_client_certificate_that_member_holds():
    # Purging a dead member: its own flag cannot be known (no probe, no cert stage), and the settle step writes
    # the profiles of the others, which hold the root certificate. Each host's root_client_files is its own.
    probes = {host(1): probe(root=True), host(2): probe(root=True), host(3): UNREACHABLE}
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=[host(3)], tags=["etcd_purge"], probes=probes, cluster=cluster)
    assert plan["refusals"] == [] and plan["settle"]["others"] == [host(1), host(2)]
    assert [plan["hosts"][h]["root_client_files"] for h in HOSTS[:3]] == [True, True, False]
    assert plan["root_client"], "every member with data holds the root certificate"
    # A member deployed by an older release, without it: its files keep naming the member certificate.
    older = make(play=[host(3)], tags=["etcd_purge"], probes=dict(probes, **{host(2): probe()}), cluster=cluster)
    assert [older["hosts"][h]["root_client_files"] for h in HOSTS[:2]] == [True, False] and not older["root_client"]


def test_a_dead_member_with_a_dns_name_is_removed_by_name():
    # Its address came from its probe, which cannot run: etcd's membership is matched by the member's name.
    inp = inputs(play=["etcd-c.example"], tags=["etcd_purge"])
    group = [host(1), host(2), "etcd-c.example"]
    inp["groups"]["etcd"] = group
    inp["host_params"] = {host(1): {"etcd_seq": 1}, host(2): {"etcd_seq": 2}, "etcd-c.example": {"etcd_seq": 3}}
    inp["host_facts"]["etcd-c.example"] = {"inventory_dir": "/srv"}
    inp["probes"] = {host(1): probe(), host(2): probe(), "etcd-c.example": UNREACHABLE}
    inp["cluster_read"] = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
    assert plan["refusals"] == [], plan["refusals"]
    assert [r["name"] for r in plan["removals"]] == ["etcd-3"] and plan["removals"][0]["peer_urls"] == [peer(3)]


def test_replacing_a_dead_member_after_its_removal():
    # The dead member was purged and left the inventory; a new host joins in its place.
    probes = {host(1): probe(), host(2): probe(), host(4): fresh()}
    inp = inputs(n=4, play=[host(4)], params={"etcd_init": "existing"}, probes=probes,
                 cluster=read(member(1, leader=True), member(2)))
    group = [host(1), host(2), host(4)]
    inp["groups"]["etcd"] = group
    inp["host_params"] = {host(1): {"etcd_seq": 1}, host(2): {"etcd_seq": 2}, host(4): {"etcd_seq": 4}}
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
    assert plan["refusals"] == [] and [j["host"] for j in plan["joiners"]] == [host(4)]
    assert plan["joiners"][0]["initial_cluster"] == "etcd-1=%s,etcd-2=%s,etcd-4=%s" % (peer(1), peer(2), peer(4))


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


def test_rebuild_is_refused_with_a_limit():
    assert refused(make(play=HOSTS[:2], params={"etcd_clean": True}), "etcd_clean=true rebuilds the whole cluster")


def test_rebuild_then_plan_a_new_cluster():
    plan = make(params={"etcd_clean": True}, probes=running(3))
    assert plan["rebuild"] and plan["removing"] and all(plan["hosts"][h]["wipe"] for h in HOSTS[:3])
    after = make(params={"etcd_clean": True}, probes=dict((host(i), fresh()) for i in (1, 2, 3)), rebuilt=True,
                 controller={"ca_sha256": None})
    assert not after["removing"] and all(after["hosts"][h]["start"] for h in HOSTS[:3])


# --- unreachable members ---------------------------------------------------------------------------------

def test_a_plain_converge_carries_on_without_an_unreachable_member():
    probes = dict(running(2), **{host(3): UNREACHABLE})
    # The cluster is read first: is the unreachable host a member at all?
    assert make(probes=probes)["stage"] == "probed"
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


# --- data on disk ----------------------------------------------------------------------------------------

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


# --- a member's identity ---------------------------------------------------------------------------------

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


# --- versions and upgrades ---------------------------------------------------------------------------------

ARCHIVE = "/srv/etcd-v%s-linux-amd64.tar.gz"


def upgrade_plan(target, current="3.4.23", auth=False, cluster=True, **kwargs):
    probes = running(3, version=current)
    return make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % target}, probes=probes,
                cluster=(read(*[member(i, leader=(i == 2), version=current) for i in (1, 2, 3)], auth=auth)
                         if cluster else None), **kwargs)


def test_upgrade_is_planned_with_a_snapshot_on_the_leader():
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                 probes=running(3, version="3.4.23"))
    assert first["stage"] == "probed" and first["read"]["check_auth"]
    plan = upgrade_plan("3.5.16")
    assert plan["refusals"] == []
    up = plan["upgrade"]
    assert up["hosts"] == HOSTS[:3] and up["target"] == "3.5.16" and up["snapshot_host"] == host(2)
    assert up["snapshot_endpoint"] == client(2) and up["snapshot_file"] == "/var/backups/etcd/etcd-before-3.5.16.db"
    assert all(plan["hosts"][h]["binaries"] for h in HOSTS[:3])
    # After the run every member of the run must run the target.
    assert plan["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert plan["restart"]["order"] == [host(1), host(3), host(2)]


@pytest.mark.parametrize("target,current,auth,expected", [
    ("3.5.16", "3.4.23", True, "RBAC authentication is enabled"),
    ("3.5.16", "3.4.23", None, "could not tell whether RBAC authentication is enabled"),
    ("3.6.0", "3.4.23", False, "etcd 3.6.0 would skip a minor version"),
    ("3.4.23", "3.5.16", False, "would downgrade the members running 3.5.16 to minor version 3.4"),
    ("3.6.0", "3.5.16", False, "needs every 3.5 member on 3.5.26 or later first"),
    ("4.0.0", "3.5.16", False, "another major version"),
    ("3.5.1", "3.4.23", False, "etcd 3.5.1 is on the known-bad list"),
])
def test_unsafe_version_changes_are_refused(target, current, auth, expected):
    plan = upgrade_plan(target, current=current, auth=auth)
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_an_interrupted_upgrade_is_resumed():
    # The binaries are 3.5.16 everywhere, the members still run 3.4.23: the read says whether auth is on
    # (it is asked on every read), and the members are restarted onto what is installed.
    probes = running(3, stale=["binary replaced"])
    first = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert first["stage"] == "probed" and first["read"]["check_auth"]
    cluster = read(*[member(i, leader=(i == 1), version="3.4.23") for i in (1, 2, 3)], auth=False)
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes,
                cluster=cluster)
    assert plan["refusals"] == [] and plan["upgrade"] is None
    assert all("runs etcd 3.4.23, etcd 3.5.16 is installed" in plan["hosts"][h]["restart_reasons"] for h in HOSTS[:3])
    with_auth = dict(cluster, auth_enabled=True)
    assert refused(make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                        probes=probes, cluster=with_auth), "RBAC authentication is enabled")


def test_no_version_is_expected_from_a_removal_or_without_the_install_stage():
    # Before, an empty list of members meant every member: a removal then failed on the members that stay
    # when the configured archive was newer than what they run.
    params = {"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.17"}
    removal = make(play=[host(3)], tags=["etcd_clean"], params=params, probes=running(3), cluster=healthy(3))
    assert removal["refusals"] == [] and removal["verify"]["expect"]["versions"] == {}
    launch = make(tags=["etcd_launch"], params=params, probes=running(3), cluster=healthy(3))
    assert launch["verify"]["expect"]["versions"] == {"etcd-1": "3.5.16", "etcd-2": "3.5.16", "etcd-3": "3.5.16"}
    assert _plan.cluster_problems(healthy(3), dict(EXPECT3, versions={})) == []


def test_an_unpinned_package_is_checked_against_the_repository_s_version():
    probes = dict(running(2, version="3.4.23"), **{host(3): dict(fresh(), package_candidate="3.6.0")})
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")),
                host_params={})
    assert refused(plan, "the etcd-server package that the repositories of 10.0.0.13 offer (etcd 3.6.0",
                   "would skip a minor version")
    probes[host(3)]["package_candidate"] = "3.4.23"
    plan = make(probes=probes, cluster=read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23")))
    assert plan["verify"]["expect"]["versions"]["etcd-3"] == "3.4.23"
    assert make()["install"]["probe_package"] == "etcd-server"
    assert make(params={"etcd_version": "3.5.16"})["install"]["probe_package"] is None


def test_patch_changes_and_the_same_version_are_allowed():
    assert upgrade_plan("3.5.16", current="3.5.12")["refusals"] == []
    same = upgrade_plan("3.5.16", current="3.5.16")
    assert same["refusals"] == [] and same["upgrade"] is None


def test_upgrade_refused_when_nothing_runs_or_the_cluster_is_unhealthy():
    probes = running(3, version="3.4.23", state="inactive")
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"}, probes=probes)
    assert refused(plan, "no member is running, so no snapshot can be taken first", "3.4.23")
    sick = read(member(1, leader=True, version="3.4.23"), member(2, version="3.4.23", healthy=False),
                member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3, version="3.4.23"), cluster=sick)
    assert refused(plan, "the cluster is not healthy (voting member etcd-2 is not healthy)")


def test_a_member_still_on_the_old_version_is_restarted():
    # The defect: binaries replaced, but one member still ran the old etcd and a re-run changed nothing.
    cluster = read(member(1, leader=True), member(2), member(3, version="3.4.23"))
    plan = make(params={"etcd_install_method": "archive", "etcd_archive_src": ARCHIVE % "3.5.16"},
                probes=running(3), cluster=cluster, play=HOSTS[:3])
    assert plan["hosts"][host(3)]["restart_reasons"] == ["runs etcd 3.4.23, etcd 3.5.16 is installed"]
    problems = _plan.cluster_problems(cluster, plan["verify"]["expect"])
    assert "member etcd-3 runs etcd 3.4.23, not 3.5.16" in problems


# --- restarts --------------------------------------------------------------------------------------------

def test_restart_on_request_followers_first_leader_last_and_its_successor():
    cluster = read(member(1, applied=90), member(2, leader=True, applied=100), member(3, applied=99))
    plan = make(tags=["etcd_launch"], probes=running(3), cluster=cluster)
    assert all(plan["hosts"][h]["restart_reasons"] == ["restart requested (-t etcd_launch)"] for h in HOSTS[:3])
    assert plan["restart"]["order"] == [host(1), host(3), host(2)] and plan["restart"]["leader_host"] == host(2)
    assert plan["restart"]["successor"] == "etcd-3"
    # The same rule orders the queue at restart time, with the leader of a fresh read.
    fresh_read = read(member(1, leader=True), member(2), member(3))
    assert _plan.restart_order([host(3), host(1)], plan, fresh_read) == [host(3), host(1)]
    assert _plan.restart_order(HOSTS[:3], plan, fresh_read) == [host(2), host(3), host(1)]


def test_restart_order_without_a_leader_keeps_the_inventory_order():
    cluster = read(member(1), member(2), member(3), leader=False)
    plan = make(play=HOSTS[:3], probes=running(3, stale=["binary replaced"]), cluster=cluster)
    assert plan["restart"]["order"] == HOSTS[:3] and plan["restart"]["leader_host"] is None


def test_a_stale_member_gets_a_reason():
    probes = dict(running(2), **{host(3): probe(stale=["/etc/etcd/etcd.conf modified after start"])})
    plan = make(probes=probes, cluster=healthy(3))
    assert plan["hosts"][host(3)]["restart_reasons"] == [
        "running process older than its files: /etc/etcd/etcd.conf modified after start"]
    assert plan["hosts"][host(1)]["restart_reasons"] == []


def test_a_requested_restart_of_a_cluster_that_cannot_spare_a_member_is_refused():
    cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    plan = make(play=HOSTS[:2], tags=["etcd_launch"], probes=dict(running(2), **{host(3): probe(state="inactive")}),
                cluster=cluster)
    assert refused(plan, "Refusing to restart 10.0.0.11, 10.0.0.12", "(not: etcd-3): restarting one would leave fewer "
                   "than a quorum", "is not healthy")
    five = read(*[member(i, leader=(i == 1), healthy=(i != 5)) for i in range(1, 6)])
    ok = make(n=5, play=HOSTS[:4], tags=["etcd_launch"], probes=dict(running(4), **{host(5): probe(state="inactive")}),
              cluster=five)
    assert ok["refusals"] == []


# === judging a cluster read ===============================================================================

EXPECT3 = {"members": [{"name": "etcd-%d" % i, "peer_url": peer(i)} for i in (1, 2, 3)]}


@pytest.mark.parametrize("case,cluster,expect,problem", [
    ("healthy", healthy(3), EXPECT3, None),
    ("member-down", read(member(1, leader=True), member(2), member(3, healthy=False)), EXPECT3, "member etcd-3 is not healthy"),
    ("down-tolerated", read(member(1, leader=True), member(2), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(3)]), None),
    ("no-margin", read(member(1, leader=True), member(2), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(3)], margin=1), "restarting one would leave fewer than a quorum (2)"),
    ("quorum-lost", read(member(1, leader=True), member(2, healthy=False), member(3, healthy=False)),
     dict(EXPECT3, tolerate_down=[peer(2), peer(3)]),
     "1 of 3 voting members are healthy (not: etcd-2, etcd-3), fewer than a quorum (2)"),
    ("learner", read(member(1, leader=True), member(2), member(3, learner=True)), EXPECT3, "member etcd-3 is still a learner"),
    ("missing", healthy(2), EXPECT3, "member etcd-3 (%s) is missing from the membership" % peer(3)),
    ("stranger", healthy(3), {"members": EXPECT3["members"][:2]}, "member etcd-3 (%s) is not in the inventory's membership" % peer(3)),
    ("unstarted", read(member(1, leader=True), member(2), member(3, started=False)), EXPECT3, "was added but has not started"),
    ("no-leader", read(member(1), member(2), member(3), leader=False), EXPECT3, "do not agree on one leader"),
    ("alarm", read(member(1, leader=True), member(2), member(3), alarms=[{"member_id": "1001", "alarm": "NOSPACE"}]),
     EXPECT3, "alarm NOSPACE is active on member 1001"),
    ("version", read(member(1, leader=True), member(2), member(3, version="3.4.23")),
     dict(EXPECT3, versions={"etcd-3": "3.5.16"}), "member etcd-3 runs etcd 3.4.23, not 3.5.16"),
    ("version-outside-run", read(member(1, leader=True), member(2), member(3, version="3.4.23")),
     dict(EXPECT3, versions={"etcd-1": "3.5.16"}), None),
    ("caught-up", healthy(3), dict(EXPECT3, catch_up={"name": "etcd-2", "index": 100}), None),
    ("behind", healthy(3), dict(EXPECT3, catch_up={"name": "etcd-2", "index": 101}), "etcd-2 has not applied raft index 101 yet"),
    ("read-failed", {"failed": True, "msg": "connection refused"}, EXPECT3, "could not be read: connection refused"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_cluster_problems(case, cluster, expect, problem):
    problems = _plan.cluster_problems(cluster, expect)
    if problem is None:
        assert problems == []
    else:
        assert [p for p in problems if problem in p], problems


# === the shared membership rules =========================================================================

def test_quorum():
    assert [quorum(n) for n in range(1, 8)] == [1, 2, 2, 3, 3, 4, 4]


def test_successor_is_the_healthy_voter_that_applied_the_most():
    members = [member(1, leader=True, applied=100), member(2, applied=98), member(3, applied=99),
               member(4, learner=True, applied=100), member(5, healthy=False)]
    assert successor(members, members[0]["id"])["name"] == "etcd-3"
    tie = [member(1, leader=True), member(3, applied=5), member(2, applied=5)]
    assert successor(tie, tie[0]["id"])["name"] == "etcd-2"
    assert successor([member(1, leader=True)], "1001") is None


def test_initial_cluster_names_unstarted_members_from_the_plan():
    members = [member(1), member(4, learner=True, started=False)]
    assert initial_cluster(members, {peer(4): "etcd-4"}) == "etcd-1=%s,etcd-4=%s" % (peer(1), peer(4))


def test_stages_from_tags():
    every = {"install": True, "dir": True, "cert": True, "conf": True, "register": True, "auth": True}
    assert _plan.stages_run(["all"]) == every
    assert _plan.stages_run(["etcd_auth"]) == dict((k, k == "auth") for k in every)
    assert _plan.stages_run(["etcd_cert"]) == dict((k, k == "cert") for k in every)
    assert _plan.stages_run(["etcd_config"]) == dict((k, k in ("cert", "conf")) for k in every)
    assert _plan.stages_run(["all"], ["etcd_cert"]) == dict(every, cert=False)
    assert _plan.stages_run(["etcd_register"]) == dict((k, k == "register") for k in every)


# === registration with Prometheus ========================================================================

def with_monitoring(inp, hosts=("mon-1",)):
    inp["groups"]["infra"] = list(hosts)
    return inp


def test_every_expected_member_is_a_scrape_target_on_every_monitoring_host():
    inp = with_monitoring(inputs(probes=running(3), cluster=healthy(3)), ("mon-1", "mon-2"))
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
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
    partial = _plan.make_plan(with_monitoring(inputs(play=[host(3)], tags=["etcd_clean"], probes=running(3),
                                                     cluster=healthy(3))), {"ca_sha256": CA})
    assert sorted(partial["register"]["targets"]) == ["etcd-1.yml", "etcd-2.yml"]
    # A partial removal only prunes targets: no certificate (and so never a CA) is made, no rule rewritten.
    assert partial["register"]["mode"] == "prune"
    whole = _plan.make_plan(with_monitoring(inputs(tags=["etcd_clean"], probes=running(3))), {"ca_sha256": CA})
    assert whole["register"]["targets"] == {} and whole["register"]["remove_cluster"]
    assert whole["register"]["mode"] == "remove"
    assert make(probes=running(3), cluster=healthy(3))["register"]["mode"] == "converge"


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
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
    assert plan["register"]["targets"]["etcd-3.yml"][0]["targets"] == ["%s:2379" % host(3)]
    # ... else its file stays as it is.
    inp["cluster_read"] = {"failed": True, "msg": "no answer"}
    plan = _plan.make_plan(inp, {"ca_sha256": CA})
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
    plan = _plan.make_plan(with_monitoring(inputs(probes=probes, cluster=read(member(1, leader=True), member(2),
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
    plan = _plan.make_plan(with_monitoring(inputs(params={"etcd_metrics_url": url}, probes=running(3),
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


# === operations: backup, restore, recover ===============================================================

SNAPSHOT = "/srv/backups/etcd-20261202T063000Z.db"
SIDECAR = {"sha256": "e" * 64, "revision": 500, "keys": 42, "hash": 7, "total_key": 60,
           "members": [{"name": "etcd-1", "peer_urls": [peer(1)]}, {"name": "etcd-9", "peer_urls": ["https://10.0.0.99:2380"]}]}


def restore_controller(sha="e" * 64, sidecar="default", exists=True):
    sidecar = SIDECAR if sidecar == "default" else sidecar
    return {"restore": {"path": SNAPSHOT, "exists": exists, "sha256": sha, "sidecar": copy.deepcopy(sidecar),
                        "sidecar_path": SNAPSHOT[:-3] + ".json"}, "stamp": "20261202T070000Z"}


def restore(cluster=None, probes=None, peers=None, controller=None, **kwargs):
    kwargs.setdefault("params", {"etcd_restore_snapshot": SNAPSHOT})
    data = inputs(tags=("etcd_restore",), probes=probes or running(3), cluster=cluster or healthy(3), **kwargs)
    data["peers"] = peers
    return _plan.make_plan(data, dict({"ca_sha256": CA, "archive_exists": True},
                                      **(controller if controller is not None else restore_controller())))


@pytest.mark.parametrize("tags,expected", [
    (("etcd_restore", "etcd_config"), "-t etcd_config,etcd_restore: etcd_restore runs on its own"),
    (("etcd_backup", "etcd_recover"), "etcd_backup and etcd_recover runs on its own"),
])
def test_an_operation_runs_on_its_own(tags, expected):
    assert refused(make(tags=tags), expected)


def test_the_backup_is_taken_by_the_first_healthy_member():
    plan = make(tags=("etcd_backup",), probes=running(3), cluster=healthy(3, leader=1))
    assert plan["operation"] == "backup" and plan["backup"]["host"] == host(1)
    assert plan["backup"]["endpoint"] == client(1) and plan["backup"]["keep"] == 7
    assert plan["backup"]["max_age"] == 14 * 86400 and plan["backup"]["preference"] == ["etcd-1", "etcd-2", "etcd-3"]
    down = read(member(1, healthy=False), member(2, leader=True), member(3))
    assert make(tags=("etcd_backup",), probes=running(3), cluster=down)["backup"]["host"] == host(2)


def test_a_backup_is_not_refused_for_a_member_that_lost_its_data_or_another_ca():
    probes = running(3)
    probes[host(3)] = probe(data=False, state="failed", conf=True, ca=OTHER_CA)
    plan = make(tags=("etcd_backup",), probes=probes, cluster=read(member(1, leader=True), member(2), member(3, healthy=False)))
    assert plan["refusals"] == [] and plan["backup"]["host"] == host(1)


def test_no_backup_without_a_running_member():
    plan = make(tags=("etcd_backup",), probes=running(3, state="inactive"))
    assert refused(plan, "Cannot back up cluster etcd: no member of it is running")


@pytest.mark.parametrize("params,expected", [
    ({"etcd_backup_keep": 0}, "etcd_backup_keep=0: must be a whole number of at least 1"),
    ({"etcd_backup_max_age": "two weeks"}, "etcd_backup_max_age=two weeks: must be a duration"),
    ({"etcd_backup_randomized_delay": "1 hour"}, "etcd_backup_randomized_delay=1 hour"),
    ({"etcd_backup_schedule": ""}, "etcd_backup_schedule=''"),
    ({"etcd_backup_dir": "backups"}, "etcd_backup_dir=backups: must be an absolute directory"),
    ({"etcd_backup_dir": "/var/lib"}, "etcd_backup_dir=/var/lib: must be an absolute directory of its own"),
    ({"etcd_restore_bump_revision": -1}, "etcd_restore_bump_revision=-1"),
    ({"etcd_backup": "sometimes"}, "etcd_backup=sometimes: must be true or false"),
    ({"etcd_alert_backup_hours": 0}, "etcd_alert_backup_hours=0: must be a positive number"),
])
def test_bad_backup_parameters_are_refused_before_any_host_is_probed(params, expected):
    plan = make(params=params)
    assert plan["stage"] == "inputs" and refused(plan, expected), plan["refusals"]


def test_a_restore_rebuilds_every_member_from_the_same_snapshot():
    plan = restore()
    assert plan["refusals"] == [] and plan["operation"] == "restore"
    r = plan["restore"]
    assert r["file"] == "/var/backups/etcd/restore/etcd-20261202T063000Z.db"
    assert r["sidecar_file"] == "/var/backups/etcd/restore/etcd-20261202T063000Z.json"
    assert r["token"] == "etcd-restore-20261202T070000Z-eeeeeeee" and r["suffix"] == "before-restore-20261202T070000Z"
    assert r["initial_cluster"] == ",".join("etcd-%d=%s" % (i, peer(i)) for i in (1, 2, 3))
    # 3.5.16 bumps: the keys are counted at the bumped revision.
    assert all(plan["hosts"][h]["restore_flags"] == ["--bump-revision", "1000000000", "--mark-compacted"] for h in HOSTS[:3])
    assert r["expect"] == {"keys": 42, "revision": 1000000500, "min_revision": 500}
    assert [m["name"] for m in plan["verify"]["expect"]["members"]] == ["etcd-1", "etcd-2", "etcd-3"]
    # The old member outside the inventory (from the sidecar) is checked before anything changes.
    assert r["outsiders"] == [{"url": "https://10.0.0.99:2380", "host": "10.0.0.99", "port": 2380}]


def test_a_restore_on_3_4_23_cannot_bump_the_revision_and_says_so():
    plan = restore(probes=running(3, version="3.4.23"), cluster=healthy(3, version="3.4.23"))
    assert plan["refusals"] == [] and plan["restore"]["expect"]["revision"] == 500
    assert all(plan["hosts"][h]["restore_flags"] == [] for h in HOSTS[:3])
    assert any("etcd 3.4.23 has no --bump-revision" in w for w in plan["warnings"])


@pytest.mark.parametrize("case,expected", [
    ("safeguard", "etcd_safeguard is true for 10.0.0.12: a restore replaces the data of every member"),
    ("limited", "but 10.0.0.13 is outside this run (-l). Run it without -l"),
    ("corrupt", "does not verify: its SHA-256 is ffff"),
    ("missing", "etcd_restore_snapshot=%s: no such file on the controller" % SNAPSHOT),
    ("unset", "-t etcd_restore needs etcd_restore_snapshot=PATH"),
    ("old-member-runs", "https://10.0.0.99:2380, a member of the cluster outside the inventory, still answers"),
    ("unreachable", "10.0.0.13 cannot be reached"),
    ("not-deployed", "10.0.0.13 has no etcd deployed"),
    ("mixed-versions", "do not all support --bump-revision"),
])
def test_a_restore_is_refused(case, expected):
    probes = running(3)
    kwargs = {}
    if case == "safeguard":
        kwargs["host_params"] = {host(2): {"etcd_safeguard": True}}
    elif case == "limited":
        kwargs["play"] = HOSTS[:2]
    elif case == "corrupt":
        kwargs["controller"] = restore_controller(sha="f" * 64)
    elif case == "missing":
        kwargs["controller"] = restore_controller(exists=False)
    elif case == "unset":
        kwargs["params"] = {}
    elif case == "old-member-runs":
        kwargs["peers"] = {"https://10.0.0.99:2380": True}
    elif case == "unreachable":
        probes[host(3)] = UNREACHABLE
    elif case == "not-deployed":
        probes[host(3)] = fresh()
    elif case == "mixed-versions":
        probes[host(3)] = probe(version="3.5.9")
    plan = restore(probes=probes, **kwargs)
    assert refused(plan, expected), plan["refusals"]
    assert refused(plan, "Nothing was changed")


def test_a_restore_without_a_sidecar_warns_and_checks_no_key_count():
    plan = restore(controller=restore_controller(sidecar=None))
    assert plan["refusals"] == [] and plan["restore"]["expect"] == {"keys": None, "revision": None, "min_revision": 0}
    assert any("has no sidecar" in w for w in plan["warnings"])


def test_a_restore_is_not_refused_for_members_that_lost_their_data():
    probes = running(3)
    probes[host(2)] = probe(data=False, state="failed", conf=True)
    plan = restore(probes=probes, cluster=read(member(1, leader=True), member(3)))
    assert plan["refusals"] == [], plan["refusals"]


def recover(cluster, probes=None, play=None):
    data = inputs(tags=("etcd_recover",), probes=probes or lost_probes(), cluster=cluster, play=play)
    return _plan.make_plan(data, {"ca_sha256": CA, "archive_exists": True, "stamp": "20261202T070000Z"})


def lost_probes(*lost):
    """Member 1 runs; the others (or those given) were lost: stopped, their data gone."""
    probes = running(3)
    for i in lost or (2, 3):
        probes[host(i)] = probe(data=False, state="inactive", conf=True)
    return probes


def lost_quorum(raft=(300, 0, 0)):
    return read(member(1, raft=raft[0]), member(2, healthy=False), member(3, healthy=False), leader=False)


def test_a_recovery_is_refused_while_the_quorum_holds():
    plan = recover(healthy(3), probes=running(3))
    assert refused(plan, "Cluster etcd has its quorum (3 of 3 voting members healthy", "Nothing was changed")
    one_down = read(member(1, leader=True), member(2), member(3, healthy=False))
    assert refused(recover(one_down, probes=lost_probes(3)), "has its quorum (2 of 3 voting members healthy")
    # A leader is known, even with one member's health flaky: refused.
    flaky = read(member(1, leader=True), member(2, healthy=False), member(3, healthy=False))
    assert refused(recover(flaky, probes=lost_probes()), "has its quorum (1 of 3 voting members healthy")


def test_a_recovery_starts_from_the_member_with_the_highest_raft_index():
    plan = recover(lost_quorum())
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(1)
    assert plan["recover"]["others"] == [host(2), host(3)] and plan["recover"]["suffix"] == "before-recover-20261202T070000Z"
    assert plan["verify"]["expect"]["members"] == [{"name": "etcd-1", "peer_url": peer(1)}]
    two = read(member(1, raft=300), member(2, raft=310), member(3, healthy=False), leader=False)
    assert recover(two, probes=lost_probes(3))["recover"]["survivor"] == host(2)


def test_a_recovery_from_the_host_named_in_l():
    probes = running(3, state="inactive")
    plan = recover(None, probes=probes, play=[host(3)])
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(3) and plan["recover"]["others"] == []
    assert plan["recover"]["outside"] == [host(1), host(2)]
    assert any("wipe them with -l 10.0.0.11,10.0.0.12 -t etcd_purge" in w for w in plan["warnings"])
    # A member outside the run still runs etcd: it may hold the quorum; refused.
    probes[host(1)] = probe()
    alone = {"failed": True, "msg": "context deadline exceeded",
             "statuses": {client(1): {"member_id": "1001", "leader": "0", "raft_index": 300}}}
    assert refused(recover(alone, probes=probes, play=[host(3)]), "10.0.0.11, outside this run, runs etcd")


@pytest.mark.parametrize("case,expected", [
    ("nothing-answers", "10.0.0.11 holds member data but its etcd does not run"),
    ("unreachable", "10.0.0.13 cannot be reached to tell whether its etcd runs"),
    ("silent", "10.0.0.12 runs etcd but did not answer with its status"),
    ("stopped-with-data", "10.0.0.13 holds member data but its etcd does not run"),
])
def test_a_recovery_is_refused_when_the_run_cannot_see_that_the_quorum_is_lost(case, expected):
    probes, cluster = lost_probes(), lost_quorum()
    if case == "nothing-answers":
        probes, cluster = lost_probes(), None
        probes[host(1)] = probe(state="inactive")
    elif case == "unreachable":
        probes[host(3)] = UNREACHABLE
    elif case == "silent":
        # Member 2 runs (a partition: it may have a quorum with member 3) but did not answer from member 1.
        probes[host(2)] = probe()
    elif case == "stopped-with-data":
        probes[host(3)] = probe(state="inactive")
    plan = recover(cluster, probes=probes)
    assert refused(plan, expected, "Nothing was changed"), plan["refusals"]


def test_after_the_first_half_of_a_recovery_the_others_are_joiners():
    probes = running(3)
    for i in (2, 3):
        probes[host(i)] = probe(data=False, state="inactive", conf=False)
    data = inputs(tags=("etcd_recover",), probes=probes, params={"etcd_init": "existing"},
                  cluster=read(member(1, leader=True)))
    data["recovered"] = True
    plan = _plan.make_plan(data, {"ca_sha256": CA, "archive_exists": True})
    assert plan["refusals"] == [] and plan["operation"] is None
    assert [j["host"] for j in plan["joiners"]] == [host(2), host(3)]
    assert plan["hosts"][host(2)]["write_permit"] and plan["hosts"][host(2)]["initial_cluster_state"] == "existing"


def test_a_recovery_reads_each_members_own_status_when_etcdctl_cannot_list_the_members():
    # etcdctl 3.5 asks for a linearizable member list, which a member without a quorum cannot serve.
    failed = {"failed": True, "msg": "etcdctl member list failed (rc=1): context deadline exceeded",
              "statuses": {client(1): {"member_id": "1001", "leader": "0", "raft_index": 300, "version": "3.5.16"},
                           client(2): {"member_id": "1002", "leader": "0", "raft_index": 320, "version": "3.5.16"}}}
    probes = lost_probes(3)
    plan = recover(failed, probes=probes)
    assert plan["refusals"] == [] and plan["recover"]["survivor"] == host(2) and plan["recover"]["raft_index"] == 320
    failed["statuses"][client(1)]["leader"] = "1002"
    assert refused(recover(failed, probes=probes), "a member knows a leader (1002)")


def test_which_old_members_answered_is_read_from_wait_for_results():
    url = "https://10.0.0.99:2380"
    # wait_for with failed_when: false: a port that opened returns its state, a timeout a msg (and failed false).
    opened = {"item": {"url": url}, "state": "started", "port": 2380, "elapsed": 0, "failed": False, "changed": False}
    closed = {"item": {"url": url + "1"}, "msg": "Timeout when waiting for 10.0.0.99:23801", "elapsed": 3,
              "failed": False, "failed_when_result": False}
    skipped = {"item": {"url": url + "2"}, "skipped": True}
    assert _plan.peers_answering([opened, closed, skipped]) == {url: True, url + "1": False}


# === maintenance and the disk check ===================================================================

def maintain(cluster, compacted=False, params=None, probes=None):
    data = inputs(tags=("etcd_maintain",), probes=probes or running(3), cluster=cluster, params=params)
    data["compacted"] = compacted
    return _plan.make_plan(data, {"ca_sha256": CA, "archive_exists": True})


def sized(read_, sizes):
    for member, (size, in_use) in zip(read_["members"], sizes):
        member["status"].update(db_size=size, db_size_in_use=in_use)
    return read_


def test_maintenance_compacts_first_then_defragments_followers_first_the_leader_last():
    mib = 1024 * 1024
    cluster = sized(healthy(3, leader=1), [(200 * mib, 50 * mib), (200 * mib, 50 * mib), (200 * mib, 190 * mib)])
    first = maintain(cluster)
    assert first["refusals"] == [] and first["maintain"]["keep"] == 1000 and first["maintain"]["defrag"] == []
    plan = maintain(cluster, compacted=True)
    assert [d["name"] for d in plan["maintain"]["defrag"]] == ["etcd-2", "etcd-1"]
    leader = plan["maintain"]["defrag"][-1]
    assert leader["leader"] and leader["move_to"] == "etcd-2" and plan["maintain"]["defrag"][0]["move_to"] is None
    assert plan["maintain"]["defrag"][0]["endpoint"] == client(2)


def test_with_nospace_every_member_is_defragmented_and_everything_compacted():
    cluster = healthy(3, leader=2)
    cluster["alarms"] = [{"member_id": "1001", "alarm": "NOSPACE"}]
    for m in cluster["members"]:
        m["healthy"], m["health_error"] = False, "Active Alarm(s): NOSPACE "
    plan = maintain(cluster, compacted=True)
    assert plan["refusals"] == [] and plan["maintain"]["nospace"] and plan["maintain"]["keep"] == 0
    assert [d["name"] for d in plan["maintain"]["defrag"]] == ["etcd-1", "etcd-3", "etcd-2"]


@pytest.mark.parametrize("case,expected", [
    ("member-down", "member etcd-3 is not healthy"),
    ("corrupt", "alarm CORRUPT on member 1001 is active: not a matter for maintenance"),
    ("no-leader", "do not agree on one leader"),
])
def test_maintenance_is_refused_for_an_unhealthy_cluster(case, expected):
    cluster = healthy(3)
    if case == "member-down":
        cluster = read(member(1, leader=True), member(2), member(3, healthy=False))
    elif case == "corrupt":
        cluster["alarms"] = [{"member_id": "1001", "alarm": "CORRUPT"}]
    elif case == "no-leader":
        cluster = read(member(1), member(2), member(3), leader=False)
    assert refused(maintain(cluster), expected, "Nothing was changed")


def test_a_slow_disk_fails_or_warns_by_etcd_disk_check():
    probes = dict((host(i), fresh()) for i in (1, 2, 3))
    # etcd_host_info's disk check (disk_check: new), on a host without data.
    probes[host(1)]["disk"] = {"fdatasync_p99_ms": 25.0, "method": "builtin", "directory": "/data", "used_percent": 80,
                               "fs_bytes": 10 ** 12}
    data = inputs(probes=probes, params={"etcd_disk_check": "fail"})
    plan = _plan.make_plan(data, {"ca_sha256": None, "archive_exists": True})
    assert refused(plan, "etcd_disk_check=fail: 10.0.0.11 (builtin, on the file system of /data): fdatasync p99 is 25.00 ms")
    data["params"]["etcd_disk_check"] = "warn"
    plan = _plan.make_plan(data, {"ca_sha256": None, "archive_exists": True})
    assert not refused(plan, "etcd_disk_check=fail") and any("fdatasync p99 is 25.00 ms" in w for w in plan["warnings"])
    assert any("the file system is 80 % full" in w for w in plan["warnings"])


# === a cluster taken over from Pigsty (docs/pigsty.md) ===================================================

PIGSTY_CONFIG = {"data-dir": "/data/etcd", "client-transport-security.cert-file": "/etc/etcd/server.crt",
                 "client-transport-security.trusted-ca-file": "/etc/etcd/ca.crt"}
OURS = {"data-dir": "/data/etcd", "client-transport-security.client-cert-auth": "true"}


def no_user(cluster):
    """What etcd answers a health check without a user while RBAC is on (etcd 3.5.16, the pigsty scenario)."""
    for m in cluster["members"]:
        m["healthy"], m["health_error"] = False, "etcdserver: user name is empty"
    return dict(cluster, healthy=False, auth_enabled=True)


def test_members_without_client_cert_auth_are_read_and_with_rbac_on_the_run_logs_in_as_root():
    probes = running(3, config=PIGSTY_CONFIG)
    # First the cluster is read (RBAC on or not decides how the role's calls connect).
    first = make(probes=probes)
    assert first["stage"] == "probed" and first["read"]["check_auth"]
    # RBAC on, the certificate is no user: log in as root with etcd_root_password.
    params = {"etcd_root_password": _plan.RBAC_MASK}  # the action plugin masks it
    plan = make(probes=probes, cluster=no_user(healthy(3)), params=params)
    assert plan["refusals"] == [] and plan["root_login"]
    # Without the password: refused, naming the variable and the members.
    plan = make(probes=probes, cluster=no_user(healthy(3)))
    assert refused(plan, "etcd_root_password is empty", "etcd-1, etcd-2, etcd-3 do not take a client certificate",
                   "Nothing was changed")
    # RBAC off: the certificate is enough, no login.
    plan = make(probes=probes, cluster=healthy(3), params=params)
    assert plan["refusals"] == [] and not plan["root_login"]


def test_members_that_run_this_roles_config_are_not_read_for_it_and_need_no_login():
    plan = make(probes=running(3, config=OURS, root=True))
    assert plan["stage"] == "final" and plan["read"] is None and not plan["root_login"]
    # A config of ours written after the process started (an interrupted takeover): read again; the members
    # that still run Pigsty's config refuse the certificate, so the run logs in.
    stale = dict(running(3, config=OURS), **{host(1): probe(config=OURS, stale=[PATHS["conf_file"] + " modified after start"])})
    assert make(probes=stale)["stage"] == "probed"
    plan = make(probes=stale, cluster=no_user(healthy(3)), params={"etcd_root_password": _plan.RBAC_MASK})
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
