"""What an operator checks after ./etcd.yml, from outside the members: service state and file modes on
each host, then each cluster of the inventory through real etcd clients over mutual TLS."""
import datetime
import json
import ssl
import time
import urllib.request
import uuid

import pytest
from conftest import CLUSTERS, MEMBERS, client_for
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

testinfra_hosts = [m["host"] for m in MEMBERS]
BY_HOST = {m["host"]: m for m in MEMBERS}
NAMES = sorted(CLUSTERS)


def test_unit_active_and_enabled(host):
    service = host.service("etcd")
    assert service.is_running
    assert service.is_enabled
    unit = host.file("/etc/systemd/system/etcd.service").content_string
    assert "Type=notify" in unit and "User=etcd" in unit


def test_systemd_does_not_kill_a_member_that_is_slow_to_start(host):
    # A member catching up a large database reports ready late; the role's health timeout is another matter.
    assert host.run("systemctl show -p TimeoutStartUSec --value etcd").stdout.strip() == "infinity"


@pytest.mark.parametrize("path,user,group,mode", [
    ("/etc/etcd", "root", "etcd", 0o750),
    ("/etc/etcd/server.key", "etcd", "etcd", 0o600),
    ("/etc/etcd/server.crt", "root", "etcd", 0o644),
    ("/etc/etcd/ca.crt", "root", "etcd", 0o644),
    ("/etc/etcd/root.crt", "root", "root", 0o644),
    ("/etc/etcd/root.key", "root", "root", 0o600),
    ("/etc/etcd/etcd.conf", "root", "etcd", 0o640),
    ("/data/etcd", "etcd", "etcd", 0o700),
])
def test_file_modes(host, path, user, group, mode):
    f = host.file(path)
    assert f.exists
    assert (f.user, f.group, f.mode) == (user, group, mode)


def test_ca_key_never_leaves_the_controller(host):
    pki = BY_HOST[host.backend.host]["pki"]
    assert (pki / "ca.key").exists()
    listing = host.run("grep -rl 'PRIVATE KEY' /etc/etcd /etc/profile.d").stdout.split()
    # The member's own key and the root client key (CN root, readable by root only): never the CA's.
    assert sorted(listing) == ["/etc/etcd/root.key", "/etc/etcd/server.key"]
    ca_key = (pki / "ca.key").read_text().strip()
    assert all(host.file(path).content_string.strip() != ca_key for path in listing)


def test_package_default_member_never_started(host):
    # Debian's etcd-server would start a member from /etc/default/etcd with data in /var/lib/etcd/default.
    assert not host.file("/var/lib/etcd/default").exists
    assert host.run("journalctl --no-pager -u etcd | grep -c 'data-dir.*/var/lib/etcd/default'").stdout.strip() in ("", "0")


def test_bootstrapped_member_can_never_bootstrap_again(host):
    # The one-time bootstrap permit was used up when etcd reported ready; the unit refuses an empty data dir.
    assert not host.file("/etc/etcd/bootstrap-permit").exists
    unit = host.file("/etc/systemd/system/etcd.service").content_string
    assert "ExecStartPre=/bin/sh -c 'test -d \"$$0/member\" || test -e \"$$1\"" in unit


@pytest.mark.parametrize("cluster", NAMES)
def test_member_list_equals_inventory(clients, cluster):
    for member in CLUSTERS[cluster]:
        listed = sorted((m.name, tuple(m.peer_urls)) for m in clients[member["name"]].members)
        wanted = sorted((m["name"], ("https://%s:%d" % (m["address"], m["peer_port"]),)) for m in CLUSTERS[cluster])
        assert listed == wanted, "member list seen through %s" % member["name"]


def _tls_context(member, cert=True):
    context = ssl.create_default_context(cafile=str(member["pki"] / "ca.crt"))
    if cert:
        stem = member["pki"] / "members" / member["host"]
        context.load_cert_chain(str(stem) + ".crt", str(stem) + ".key")
    return context


def _get(member, path):
    url = "https://%s:%d%s" % (member["address"], member["port"], path)
    with urllib.request.urlopen(url, context=_tls_context(member), timeout=5) as response:
        return response.read().decode()


def test_the_initial_corruption_check_is_on_in_the_form_the_release_reads(host):
    # etcd ignores an unknown key of its config file without a word: on 3.7 the experimental-* form would leave
    # the check off. Proven from the running member, not from the file: 3.6 and later export each feature gate
    # (etcd_server_feature_enabled); 3.4 and 3.5 log the setting as they read it at start ("starting an etcd
    # server"; the check itself runs from a member's second start on, once it holds data).
    member = BY_HOST[host.backend.hostname]
    version = tuple(int(x) for x in json.loads(_get(member, "/version"))["etcdserver"].split(".")[:2])
    config = host.file("/etc/etcd/etcd.conf").content_string
    if version >= (3, 6):
        assert "feature-gates: \"InitialCorruptCheck=true\"" in config and "experimental-" not in config
        enabled = [line for line in _get(member, "/metrics").splitlines()
                   if line.startswith("etcd_server_feature_enabled{") and 'name="InitialCorruptCheck"' in line]
        assert len(enabled) == 1 and enabled[0].endswith(" 1"), enabled
    else:
        assert "experimental-initial-corrupt-check: true" in config and "feature-gates" not in config
        assert '"initial-corrupt-check":true' in host.check_output("journalctl -u etcd --no-pager -o cat")


def test_every_endpoint_healthy():
    for member in MEMBERS:
        url = "https://%s:%d/health" % (member["address"], member["port"])
        with urllib.request.urlopen(url, context=_tls_context(member), timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read())["health"] == "true"


@pytest.mark.parametrize("cluster", NAMES)
def test_exactly_one_leader(clients, cluster):
    clients = {m["name"]: clients[m["name"]] for m in CLUSTERS[cluster]}
    statuses = {name: client.status() for name, client in clients.items()}
    leaders = {s.leader.id for s in statuses.values()}
    assert len(leaders) == 1
    ids = {m.name: m.id for m in next(iter(clients.values())).members}
    # Each status came from the member named by its key: exactly one of them is the leader.
    assert sum(1 for name in statuses if ids[name] in leaders) == 1
    assert len({s.version for s in statuses.values()}) == 1


@pytest.mark.parametrize("cluster", NAMES)
def test_key_written_through_one_member_is_read_from_every_other(clients, cluster):
    key, value = "/dcs-etcd-test/%s" % uuid.uuid4(), uuid.uuid4().hex
    names = sorted(m["name"] for m in CLUSTERS[cluster])
    clients[names[0]].put(key, value)
    for name in names:
        deadline = time.time() + 10
        while True:
            # Serializable: answered from this member's own copy, so this proves replication to it.
            got = clients[name].get(key, serializable=True)[0]
            if got is not None or time.time() > deadline:
                break
            time.sleep(0.2)
        assert got == value.encode(), "value not replicated to %s" % name
    clients[names[-1]].delete(key)


def test_client_without_certificate_is_refused():
    for member in MEMBERS:
        client = client_for(member, cert=False)
        with pytest.raises(Exception):
            client.get("/dcs-etcd-test/refused")
        client.close()
        url = "https://%s:%d/health" % (member["address"], member["port"])
        with pytest.raises(Exception):
            urllib.request.urlopen(url, context=_tls_context(member, cert=False), timeout=5).read()


def _foreign_client_cert(directory):
    """A CA that is not the cluster's, and a client certificate it signed."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "some other CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intruder")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    crt_path, key_path = directory / "intruder.crt", directory / "intruder.key"
    crt_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return crt_path, key_path


def test_client_with_certificate_from_another_ca_is_refused(tmp_path):
    pair = _foreign_client_cert(tmp_path)
    for member in MEMBERS:
        client = client_for(member, cert_pair=pair)
        with pytest.raises(Exception):
            client.put("/dcs-etcd-test/intruder", "x")
        client.close()


@pytest.mark.parametrize("cluster", [name for name in NAMES if len(CLUSTERS[name]) == 1])
def test_zz_member_with_lost_data_dir_does_not_bootstrap_a_new_cluster(clients, cluster):
    """Destructive, so last and on a one-member cluster: its data directory is moved away."""
    import os
    import pathlib
    import subprocess

    import testinfra
    from conftest import INVENTORY

    member = CLUSTERS[cluster][0]
    node = testinfra.get_host("ansible://" + member["host"], ansible_inventory=INVENTORY)
    key, value = "/dcs-etcd-test/survivor", uuid.uuid4().hex
    clients[member["name"]].put(key, value)
    assert node.run("systemctl stop etcd && mv /data/etcd/member /data/etcd/member.saved").rc == 0
    try:
        # A restart (by systemd or by hand) is refused by the unit: no data, no bootstrap permit.
        started = node.run("systemctl start etcd")
        assert started.rc != 0
        assert not node.service("etcd").is_running
        journal = node.run("journalctl -u etcd --no-pager -n 30").stdout
        assert "refusing to start" in journal
        assert not node.file("/data/etcd/member").exists
        # Re-running the playbook is refused too, before anything is changed.
        root = pathlib.Path(__file__).resolve().parents[3]
        rerun = subprocess.run([str(root / "etcd.yml"), "-i", INVENTORY, "-e", "etcd_cluster=" + cluster], cwd=root,
                               capture_output=True, text=True,
                               check=False, env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=str(root / "ansible.cfg")))
        assert rerun.returncode != 0
        assert "holds no member data" in rerun.stdout and "Nothing was changed" in rerun.stdout
        assert not node.service("etcd").is_running
    finally:
        restored = node.run("systemctl stop etcd; rm -rf /data/etcd/member && mv /data/etcd/member.saved /data/etcd/member"
                            " && systemctl reset-failed etcd && systemctl start etcd")
    assert restored.rc == 0, restored.stderr
    deadline = time.time() + 20
    while True:
        try:
            got = client_for(member).get(key)[0]
            break
        except Exception:
            if time.time() > deadline:
                raise
            time.sleep(0.5)
    assert got == value.encode()
