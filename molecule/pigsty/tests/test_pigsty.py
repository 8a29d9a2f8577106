"""Takeover of a cluster that Pigsty v4.5 deployed, without a rebuild (docs/pigsty.md).

The first test lays the three members out as Pigsty's `etcd` role does (facts from its role and docs, no code
of it): Pigsty's etcd package's place for the binaries (/usr/bin), its `etcd` system user, /etc/etcd/etcd.conf
with its keys (names etcd-N, token etcd, quota 8 GiB, 24 h compaction, TLS on both ports without
client-cert-auth), /etc/etcd/etcd.pass, its unit in /etc/systemd/system, /etc/profile.d/etcdctl.sh, /data/etcd,
and certificates from a CA made as Pigsty's is (RSA 4096, CN pigsty-ca, no EKU on the member certificates).
RBAC is on as in Pigsty v4: a root password, and a user and role per PostgreSQL cluster (pg-test, readwrite on
/pg/pg-test/), which a Patroni-like client uses with its own certificate from the same CA.

Then ./etcd.yml, run as the guide says, takes the cluster over: refused first without Pigsty's CA in
etcd_pki_dir (nothing touched), then with it the members keep their IDs, data and keys, restart one at a
time while the consumer writes (none lost), RBAC stays as it was with the same root password, and a re-run
changes nothing. The one client-side change the guide warns about is shown too: with client-cert-auth on,
etcd's HTTP gateway (Patroni's etcd3 client) refuses a client certificate that has a CN, so such consumers get
a certificate without CN from the collection."""
import datetime
import ipaddress
import json
import pathlib
import shutil
import subprocess
import sys
import time

import etcd3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

import ops  # noqa: E402
from ops import KEY, SSH, WORK, LoadWriter, b64, changes, pids, playbook, ssh, started_at  # noqa: E402

HOSTS = ["10.89.87.11", "10.89.87.12", "10.89.87.13"]
# Pigsty's own repository ships etcd 3.6.
VERSION = "3.6.17"
ARCHIVE = ops.archive(VERSION)
# Pigsty's controller PKI (files/pki under the Pigsty home): its CA, the member certificates, and the
# certificate its pgsql role gives Patroni (CN <pg_cluster>-<pg_seq>).
PIGSTY = WORK / "pigsty-pki"
# The operator's etcd_pki_dir for the takeover: Pigsty's CA copied in.
PKI = WORK / "pki-takeover"
# Test credentials (Pigsty's default root password is Etcd.Root; a deployment sets its own).
ROOT_PASSWORD = "Pigsty-Test-Root-1"
PG_PASSWORD = "pg-test-password"
FIGURES = {}


def names(host):
    return "etcd-%d" % (HOSTS.index(host) + 1)


# --- Pigsty's layout ------------------------------------------------------------------------------------------

def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=4096)


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def pigsty_name(cn, unit):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pigsty"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])


def make_pigsty_pki():
    """Pigsty's CA (RSA 4096, CN pigsty-ca, O pigsty, OU ca, CA:TRUE pathlen 1, 100 years) and certificates
    signed by it: etcd-N for each member (SANs 127.0.0.1, localhost, its IP, etcd-N; no extended key usage),
    and pg-test-1 for the Patroni-like consumer."""
    (PIGSTY / "ca").mkdir(parents=True, exist_ok=True)
    (PIGSTY / "etcd").mkdir(exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa_key()
    ca_name = pigsty_name("pigsty-ca", "ca")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=36500))
          .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    (PIGSTY / "ca" / "ca.key").write_bytes(pem_key(ca_key))
    (PIGSTY / "ca" / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(cn, unit, sans):
        key = rsa_key()
        builder = (x509.CertificateBuilder().subject_name(pigsty_name(cn, unit)).issuer_name(ca_name)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=7300))
                   .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        (PIGSTY / "etcd" / (cn + ".key")).write_bytes(pem_key(key))
        cert = builder.sign(ca_key, hashes.SHA256())
        (PIGSTY / "etcd" / (cn + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    for host in HOSTS:
        issue(names(host), "etcd", [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
                                    x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName(names(host))])
    issue("pg-test-1", "pgsql", [x509.IPAddress(ipaddress.ip_address(HOSTS[0]))])


def put(host, path, data, owner="root:root", mode="0644"):
    """Write data (text, or PEM bytes) to path on host, with owner and mode."""
    ssh(host, "cat > %s && chown %s %s && chmod %s %s" % (path, owner, path, mode, path),
        stdin=data.decode() if isinstance(data, bytes) else data)


def pigsty_conf(host):
    """/etc/etcd/etcd.conf as Pigsty's template renders it (its keys and values)."""
    cluster = ",".join("%s=https://%s:2380" % (names(h), h) for h in sorted(HOSTS))
    return "\n".join([
        "name: %s" % names(host),
        "data-dir: /data/etcd",
        'initial-cluster-token: "etcd"',
        'initial-cluster-state: "new"',
        'initial-cluster: "%s"' % cluster,
        'initial-advertise-peer-urls: "https://%s:2380"' % host,
        'listen-peer-urls: "https://%s:2380"' % host,
        'listen-client-urls: "https://%s:2379,https://127.0.0.1:2379"' % host,
        'advertise-client-urls: "https://%s:2379"' % host,
        "election-timeout: 1000",
        "heartbeat-interval: 100",
        "quota-backend-bytes: 8589934592",
        "auto-compaction-mode: periodic",
        'auto-compaction-retention: "24h"',
        "client-transport-security:",
        "  cert-file: /etc/etcd/server.crt",
        "  key-file: /etc/etcd/server.key",
        "  trusted-ca-file: /etc/etcd/ca.crt",
        "peer-transport-security:",
        "  cert-file: /etc/etcd/server.crt",
        "  key-file: /etc/etcd/server.key",
        "  trusted-ca-file: /etc/etcd/ca.crt",
        "#enable-v2: true", ""])


PIGSTY_UNIT = """[Unit]
Description=Etcd Server
After=network.target
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
WorkingDirectory=/data/etcd
User=etcd
ExecStart=/usr/bin/etcd --config-file /etc/etcd/etcd.conf
Restart=on-failure
RestartSec=5
TimeoutStartSec=60
TimeoutStopSec=60
LimitNOFILE=65536
OOMScoreAdjust=-1000

[Install]
WantedBy=multi-user.target
"""


def pigsty_profile():
    return ("alias e=etcdctl\nalias em=\"etcdctl member\"\nexport ETCDCTL_API=3\n"
            "export ETCDCTL_ENDPOINTS=%s\n" % ",".join("https://%s:2379" % h for h in HOSTS)
            + "export ETCDCTL_CACERT=/etc/etcd/ca.crt\nexport ETCDCTL_CERT=/etc/etcd/server.crt\n"
              "export ETCDCTL_KEY=/etc/etcd/server.key\n"
              "[ \"$(id -un)\" = root ] && [ -r /etc/etcd/etcd.pass ] && export ETCDCTL_USER=\"root:$(cat /etc/etcd/etcd.pass)\"\n")


def lay_out(host):
    """One member as Pigsty's package and role leave it (not started)."""
    subprocess.run(SSH + ["root@" + host, "tar -xzf - -C /usr/bin --strip-components=1 --no-same-owner "
                                          "etcd-v{0}-linux-amd64/etcd etcd-v{0}-linux-amd64/etcdctl "
                                          "etcd-v{0}-linux-amd64/etcdutl".format(VERSION)],
                   stdin=ARCHIVE.open("rb"), check=True, capture_output=True)
    # The package's preinstall script, then the role's etcd_dir.
    ssh(host, "groupadd -r etcd && useradd -r -g etcd -d /var/lib/etcd -M -s /sbin/nologin -c 'etcd service' etcd"
              " && install -d -o etcd -g etcd -m 0750 /etc/etcd && install -d -o etcd -g etcd -m 0770 /var/lib/etcd"
              " && install -d -o root -g root -m 0755 /data && install -d -o etcd -g etcd -m 0700 /data/etcd")
    put(host, "/etc/etcd/etcd.conf", pigsty_conf(host), "etcd:etcd", "0644")
    put(host, "/etc/etcd/etcd.pass", ROOT_PASSWORD, "root:etcd", "0640")
    put(host, "/etc/systemd/system/etcd.service", PIGSTY_UNIT)
    put(host, "/etc/profile.d/etcdctl.sh", pigsty_profile())
    put(host, "/etc/etcd/ca.crt", (PIGSTY / "ca" / "ca.crt").read_bytes(), "etcd:etcd", "0644")
    put(host, "/etc/etcd/server.crt", (PIGSTY / "etcd" / (names(host) + ".crt")).read_bytes(), "etcd:etcd", "0644")
    put(host, "/etc/etcd/server.key", (PIGSTY / "etcd" / (names(host) + ".key")).read_bytes(), "etcd:etcd", "0600")
    ssh(host, "systemctl daemon-reload && systemctl enable etcd -q && systemctl start --no-block etcd")


def pigsty_ctl(host, args, stdin=None):
    """etcdctl as Pigsty's profile sets it up for root (member certificate, root's password)."""
    res = subprocess.run(SSH + ["root@" + host, ". /etc/profile.d/etcdctl.sh && etcdctl " + args],
                         input=stdin, capture_output=True, text=True, check=False)
    assert res.returncode == 0, (args, res.stdout, res.stderr)
    return res.stdout


# --- Clients from outside ---------------------------------------------------------------------------------------

def gateway(stem, path, body, token=None):
    """A POST to etcd's HTTP gateway (what Patroni's etcd3 client speaks) on the first member with a client
    certificate of Pigsty's CA."""
    return ops.gateway(HOSTS[0], PIGSTY / "ca" / "ca.crt", stem, path, body, token)


def gateway_put_get(stem, key):
    """Log in as pg-test through the gateway, write key and read it back: the HTTP statuses."""
    status, body = gateway(stem, "/v3/auth/authenticate", {"name": "pg-test", "password": PG_PASSWORD})
    if status != 200:
        return status, body
    token = json.loads(body)["token"]
    status, body = gateway(stem, "/v3/kv/put", {"key": b64(key), "value": b64("ok")}, token)
    if status != 200:
        return status, body
    return gateway(stem, "/v3/kv/range", {"key": b64(key)}, token)


def state():
    """What a takeover must keep: cluster ID, member IDs by name, keys under /pg/, RBAC users and roles."""
    members = json.loads(pigsty_ctl(HOSTS[0], "member list -w json"))
    header = members["header"]
    keys = pigsty_ctl(HOSTS[0], "get --prefix /pg/pg-test/ --keys-only").split()
    return {"cluster_id": header["cluster_id"],
            "members": sorted((m["name"], m["ID"], m.get("isLearner", False)) for m in members["members"]),
            "keys": sorted(k for k in keys if "/load" not in k),
            "users": pigsty_ctl(HOSTS[0], "user list").split(), "roles": pigsty_ctl(HOSTS[0], "role list").split(),
            "pg_role": pigsty_ctl(HOSTS[0], "role get pg-test")}


def inventory(pki=PKI, **extra):
    """The operator's inventory for the takeover, as docs/pigsty.md writes it."""
    group_vars = {"etcd_install_method": "archive", "etcd_archive_src": str(ARCHIVE), "etcd_pki_dir": str(pki),
                  # Pigsty's settings kept (its quota and compaction; ours default to 2 GiB and 1 h).
                  "etcd_quota_backend_bytes": 8589934592, "etcd_auto_compaction_retention": "24h",
                  # RBAC as Pigsty left it: on, with the same root password (Pigsty's playbooks log in with it).
                  "etcd_auth": True, "etcd_root_password": ROOT_PASSWORD,
                  # Patroni's etcd3 client speaks the HTTP gateway: a consumer certificate without CN.
                  "etcd_client_certs": [{"name": "pg-test", "cn": "", "controller_dir": str(WORK / "consumers")}]}
    group_vars.update(extra)
    data = {"all": {"vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(KEY),
                             "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
                    "children": {"etcd": {"hosts": {h: {"etcd_seq": i + 1} for i, h in enumerate(HOSTS)},
                                          "vars": group_vars}}}}
    path = WORK / ("pigsty-inventory-%s.json" % pki.name)
    path.write_text(json.dumps(data))
    return path


# --- The story ----------------------------------------------------------------------------------------------------

def test_01_a_cluster_laid_out_as_pigsty_does_runs_with_rbac_on():
    shutil.rmtree(PIGSTY, ignore_errors=True)
    make_pigsty_pki()
    for host in HOSTS:
        lay_out(host)
    deadline = time.monotonic() + 90
    while subprocess.run(SSH + ["root@" + HOSTS[0], ". /etc/profile.d/etcdctl.sh && etcdctl endpoint health"],
                         capture_output=True, check=False).returncode != 0:
        assert time.monotonic() < deadline, "the Pigsty-style cluster did not become healthy"
        time.sleep(1)
    # Pigsty's etcd_auth stage: root with the password, then auth enable; its pgsql role: a role and a user per
    # PostgreSQL cluster, readwrite on /pg/<cluster>/.
    pigsty_ctl(HOSTS[0], "user add root --interactive=false", stdin=ROOT_PASSWORD + "\n")
    pigsty_ctl(HOSTS[0], "auth enable")
    pigsty_ctl(HOSTS[0], "role add pg-test")
    pigsty_ctl(HOSTS[0], "role grant-permission pg-test --prefix=true readwrite /pg/pg-test/")
    pigsty_ctl(HOSTS[0], "user add pg-test --interactive=false", stdin=PG_PASSWORD + "\n")
    pigsty_ctl(HOSTS[0], "user grant-role pg-test pg-test")
    for key in ("leader", "config", "initialize", "members/pg-test-1", "status"):
        pigsty_ctl(HOSTS[0], "put /pg/pg-test/%s %s" % (key, key.replace("/", "-")))
    # The Patroni-like consumer, with Pigsty's pgsql certificate (it has a CN) and its password, over the
    # gateway: etcd ignores the CN while client-cert-auth is off.
    status, body = gateway_put_get(PIGSTY / "etcd" / "pg-test-1", "/pg/pg-test/gateway")
    assert status == 200 and b64("ok") in body, (status, body)
    assert "Authentication Status: true" in pigsty_ctl(HOSTS[0], "auth status")
    FIGURES["before"] = state()
    assert len(FIGURES["before"]["members"]) == 3


def test_02_takeover_without_pigstys_ca_is_refused_before_any_host_is_touched():
    before = pids(HOSTS)
    files = {h: ssh(h, "sha256sum /etc/etcd/* /etc/systemd/system/etcd.service") for h in HOSTS}
    out = playbook(inventory(WORK / "pki-empty"), fail=True)
    assert "ca.crt" in out and "etcd_pki_dir" in out, out[-3000:]
    assert changes(out) == 0, out[-3000:]
    assert pids(HOSTS) == before
    assert {h: ssh(h, "sha256sum /etc/etcd/* /etc/systemd/system/etcd.service") for h in HOSTS} == files


def test_02b_takeover_without_the_root_password_is_refused_before_any_host_is_touched():
    # RBAC is on and Pigsty's members take no client certificate as a user: the run must log in as root.
    PKI.mkdir(exist_ok=True)
    for name in ("ca.crt", "ca.key"):
        shutil.copy(PIGSTY / "ca" / name, PKI / name)
    (PKI / "ca.key").chmod(0o600)
    before = pids(HOSTS)
    files = {h: ssh(h, "sha256sum /etc/etcd/* /etc/systemd/system/etcd.service") for h in HOSTS}
    out = playbook(inventory(etcd_auth=False, etcd_root_password=""), fail=True)
    assert "etcd_root_password is empty" in out and "do not take a client certificate" in out, out[-3000:]
    assert changes(out) == 0, out[-3000:]
    assert pids(HOSTS) == before
    assert {h: ssh(h, "sha256sum /etc/etcd/* /etc/systemd/system/etcd.service") for h in HOSTS} == files


def test_03_takeover_keeps_members_data_and_rbac_and_restarts_one_at_a_time_under_load():
    before_pids, before_start = pids(HOSTS), started_at(HOSTS)
    inv = inventory()
    # A Patroni-like writer as pg-test over gRPC (what etcdctl and python-etcd3 speak), with Pigsty's pgsql
    # certificate: the CN does not matter there, the password does.
    stem = str(PIGSTY / "etcd" / "pg-test-1")
    with LoadWriter([(h, stem) for h in HOSTS], str(PIGSTY / "ca"), rate=20, prefix="/pg/pg-test/load/",
                    login=("pg-test", PG_PASSWORD), ca_file=str(PIGSTY / "ca" / "ca.crt")) as load:
        load.settle()
        started = time.monotonic()
        out = playbook(inv)
        seconds = round(time.monotonic() - started, 1)
        load.settle()
    lost = load.verify([(h, stem) for h in HOSTS])
    report = load.report()
    assert not any(lost.values()), lost
    # Every member restarted once, one at a time (each start after the previous member was healthy again).
    after_pids, after_start = pids(HOSTS), started_at(HOSTS)
    assert all(after_pids[h] != before_pids[h] for h in HOSTS)
    starts = sorted(after_start.values())
    assert all(b - a > 1_000_000 for a, b in zip(starts, starts[1:])), after_start
    assert all(after_start[h] > before_start[h] for h in HOSTS)
    # Same cluster, members, keys and RBAC; the data directory is the one Pigsty made.
    assert state() == FIGURES["before"]
    for host in HOSTS:
        conf = ssh(host, "cat /etc/etcd/etcd.conf")
        assert "data-dir: \"/data/etcd\"" in conf and "client-cert-auth: true" in conf
        assert "quota-backend-bytes: 8589934592" in conf and 'auto-compaction-retention: "24h"' in conf
        assert ssh(host, "systemctl show -p User --value etcd").strip() == "etcd"
    # Pigsty's playbooks and patronictl log in as root with its password: it still works, over gRPC with a
    # certificate of Pigsty's CA.
    with etcd3.client(host=HOSTS[1], port=2379, ca_cert=str(PIGSTY / "ca" / "ca.crt"), cert_cert=stem + ".crt",
                      cert_key=stem + ".key", user="root", password=ROOT_PASSWORD, timeout=5) as root:
        assert root.get("/pg/pg-test/leader")[0] == b"leader"
    assert "Authentication Status: true" in pigsty_ctl(HOSTS[0], "auth status")
    FIGURES["takeover"] = {"seconds": seconds, "writes": report["acknowledged"], "max_stall_s": report["max_stall_s"],
                           "lost": sum(len(v) for v in lost.values())}
    ops.record("pigsty-takeover", FIGURES["takeover"])


def test_04_a_rerun_changes_nothing():
    before = pids(HOSTS)
    out = playbook(inventory())
    assert changes(out) == 0, out[-3000:]
    assert pids(HOSTS) == before


def test_05_gateway_consumers_need_a_certificate_without_cn():
    # With client-cert-auth on and RBAC on, etcd's gateway refuses a client certificate with a CN (Pigsty's
    # pgsql certificate), whatever the password; the consumer certificate the collection issued without CN
    # (signed by Pigsty's CA) works with the same user and password.
    status, body = gateway_put_get(PIGSTY / "etcd" / "pg-test-1", "/pg/pg-test/gateway")
    assert status == 400 and "CommonName" in body, (status, body)
    status, body = gateway_put_get(WORK / "consumers" / "pg-test", "/pg/pg-test/gateway")
    assert status == 200 and b64("ok") in body, (status, body)
