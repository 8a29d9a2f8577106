"""Shared fixtures for the Molecule verify step: the scenario's members as Molecule's inventory describes
them (every host with an etcd_seq, grouped by cluster), and real etcd clients (the etcd3 library) connecting from
outside, over mutual TLS with the CA of the member's own cluster."""
import os
import pathlib

# etcd3 0.12's generated protobuf code needs the pure-Python protobuf runtime.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import etcd3  # noqa: E402
import pytest  # noqa: E402
import testinfra.utils.ansible_runner  # noqa: E402

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
PKI = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "pki"


def members():
    result = []
    for host in RUNNER.get_hosts("all"):
        hostvars = RUNNER.get_variables(host)
        if "etcd_seq" not in hostvars:
            continue
        cluster = hostvars.get("etcd_cluster", "etcd")
        result.append({
            "host": host,
            "cluster": cluster,
            "address": hostvars.get("ansible_host", host),
            "name": "%s-%s" % (cluster, hostvars["etcd_seq"]),
            "port": int(hostvars.get("etcd_port", 2379)),
            "peer_port": int(hostvars.get("etcd_peer_port", 2380)),
            "pki": pathlib.Path(hostvars.get("etcd_pki_dir") or PKI),
        })
    return sorted(result, key=lambda m: m["name"])


MEMBERS = members()
# The members of each cluster of the inventory, by cluster name.
CLUSTERS = {}
for _member in MEMBERS:
    CLUSTERS.setdefault(_member["cluster"], []).append(_member)


@pytest.fixture(scope="session")
def cluster():
    return MEMBERS


@pytest.fixture(scope="session")
def pki():
    return PKI


def client_for(member, cert=True, ca=None, cert_pair=None):
    """An etcd3 client talking to one member only, authenticated by the member's own certificate unless
    told otherwise."""
    kwargs = {"host": member["address"], "port": member["port"], "ca_cert": str(ca or member["pki"] / "ca.crt"),
              "timeout": 5}
    if cert_pair:
        kwargs.update(cert_cert=str(cert_pair[0]), cert_key=str(cert_pair[1]))
    elif cert:
        stem = member["pki"] / "members" / member["host"]
        kwargs.update(cert_cert=str(stem) + ".crt", cert_key=str(stem) + ".key")
    return etcd3.client(**kwargs)


@pytest.fixture(scope="session")
def clients():
    made = {m["name"]: client_for(m) for m in MEMBERS}
    yield made
    for client in made.values():
        client.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the end of every member's etcd journal to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        for member in MEMBERS:
            try:
                host = testinfra.get_host("ansible://" + member["host"], ansible_inventory=INVENTORY)
                journal = host.run("journalctl -u etcd --no-pager -n 40").stdout
            except Exception as exc:  # the report must not fail because a host is gone
                journal = "could not read the journal: %s" % exc
            report.sections.append(("etcd journal of %s" % member["host"], journal))
