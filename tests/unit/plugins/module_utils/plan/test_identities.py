# -*- coding: utf-8 -*-
"""module_utils/_plan/identities.py: names, addresses and URLs."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.dcs.etcd.plugins.module_utils._plan import pipeline
from .conftest import CA, inputs, probe, refused


def test_names_addresses_and_urls():
    probes = {"node-a": probe(ipv4="192.0.2.1"), "node-b": probe(ipv4="192.0.2.2")}
    inp = inputs(n=1)
    inp.update(play_hosts=["node-a", "node-b"], groups={"etcd": ["node-a", "node-b"]}, probes=probes,
               host_params={"node-a": {"etcd_seq": 7}, "node-b": {"etcd_seq": 8, "etcd_advertise_address": "2001:db8::8",
                                                                  "etcd_peer_port": 2390}},
               host_facts={"node-a": {"inventory_dir": "/srv"}, "node-b": {"inventory_dir": "/srv"}})
    plan = pipeline.make_plan(inp, {"ca_sha256": CA})
    a, b = plan["hosts"]["node-a"], plan["hosts"]["node-b"]
    assert a["name"] == "etcd-7" and a["peer_url"] == "https://192.0.2.1:2380" and a["client_url"] == "https://192.0.2.1:2379"
    assert b["peer_url"] == "https://[2001:db8::8]:2390" and b["url_host"] == "[2001:db8::8]"
    assert "DNS:node-a" in a["cert_sans"] and "IP:192.0.2.1" in a["cert_sans"] and "IP:127.0.0.1" in a["cert_sans"]
    no_address = dict(probes, **{"node-a": probe(ipv4=None)})
    inp["probes"] = no_address
    assert refused(pipeline.make_plan(inp, {"ca_sha256": CA}), "No address to advertise for node-a", "etcd_advertise_address")
