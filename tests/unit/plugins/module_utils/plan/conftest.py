# -*- coding: utf-8 -*-
"""The builders the plan's unit tests share: what the etcd_plan action would gather - the role's real
defaults, the inventory, the run's hosts and tags, what etcd_host_info found on each member, and the cluster as
etcd_cluster_info reports it. The probe and read shapes are those of the modules (their own unit tests check
them against output recorded from real etcd 3.4.23, 3.5.1 and 3.5.16)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import copy
import pathlib

import yaml

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline


ROLE = pathlib.Path(__file__).resolve().parents[5] / "roles" / "etcd"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
PATHS = {"conf_file": "/etc/etcd/etcd.conf", "unit_file": "/etc/systemd/system/etcd.service",
         "permit": "/etc/etcd/bootstrap-permit", "ca_file": "/etc/etcd/ca.crt",
         "root_cert": "/etc/etcd/root.crt", "root_key": "/etc/etcd/root.key", "cert_file": "/etc/etcd/server.crt",
         "key_file": "/etc/etcd/server.key"}


CA = "c" * 64
OTHER_CA = "d" * 64
HOSTS = ["10.0.0.%d" % i for i in range(11, 16)]


def host(i):
    return HOSTS[i - 1]


def peer(i, port=2380):
    return "https://%s:%d" % (host(i), port)


def client(i, port=2379):
    return "https://%s:%d" % (host(i), port)


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


UNREACHABLE = {"unreachable": True, "msg": "Failed to connect to the host via ssh"}


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
    return pipeline.make_plan(inputs(**kwargs), dict({"ca_sha256": CA, "archive_exists": True}, **(controller or {})))


def running(n, **kwargs):
    return dict((host(i), probe(**kwargs)) for i in range(1, n + 1))


def refused(plan, *texts):
    joined = " ".join(plan["refusals"])
    return all(t in joined for t in texts)


EXPECT3 = {"members": [{"name": "etcd-%d" % i, "peer_url": peer(i)} for i in (1, 2, 3)]}
