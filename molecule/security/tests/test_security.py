"""Access control and certificates of a running 3-member cluster with RBAC on, checked from outside with the
etcd3 client and Python's ssl module.

In order: the cluster deploys with RBAC on and a re-run changes nothing; least privilege (a certificate
without a user, a member certificate used as a client and another CA's certificate are refused; a consumer
reads and writes its prefix only; a certificate-only user reads its key only); the unit's hardening and TLS
settings as etcd applies them; a rolling restart under load moves leadership first, and a backup works, with
auth on; a consumer's credentials rotated under load without a failed request; a password changed in the
inventory; a member certificate close to expiry renewed by a plain run, served without a restart; member
changes and maintenance with auth on; the CA rotated under load, its first run killed inside its restarts and
resumed by the same command; authentication turned off only when asked."""
import datetime
import json
import pathlib
import socket
import ssl
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import PKI, WORK, LoadWriter, archive, b64, changes, interrupted, inventory, pids, playbook, record, ssh  # noqa: E402
from ops import gateway as ops_gateway  # noqa: E402
from load import client as load_client  # noqa: E402  (tests/, put on the path by ops)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

HOSTS = ["10.89.83.1%d" % i for i in (1, 2, 3)]
# etcd 3.7, with 3.6's rules for RBAC (root for maintenance, a user for member list and status).
VERSION = "3.7.4"
CONSUMERS = WORK / "consumers"
ROOT_PASSWORD = "molecule-Root-1"
ROLES = [{"name": "pg-test", "permissions": [{"prefix": "/pg-test/", "access": "readwrite"}]}]
PATRONI_A = {"name": "patroni-a", "password": "molecule-Patroni-A", "roles": ["pg-test"]}
VIP = {"name": "vip", "permissions": [{"key": "/pg-test/leader", "access": "read"}]}
CERTS = [{"name": "patroni", "cn": "patroni-a", "hosts": [HOSTS[0]], "dir": "/etc/patroni/etcd", "mode": "0640",
          "controller_dir": str(CONSUMERS)},
         {"name": "vip", "controller_dir": str(CONSUMERS)}, {"name": "stranger", "controller_dir": str(CONSUMERS)},
         {"name": "patroni-gw", "cn": "", "controller_dir": str(CONSUMERS)}]
FIGURES = {}


def security_inventory(name, users=None, **extra):
    values = dict(etcd_archive_src=str(archive(VERSION)), etcd_auth=True, etcd_root_password=ROOT_PASSWORD,
                  etcd_roles=ROLES, etcd_users=users if users is not None else [PATRONI_A, VIP], etcd_client_certs=CERTS)
    values.update(extra)
    return inventory(HOSTS, name=name, **values)


INV = security_inventory("security")


def consumer(name, login=None, host=None, ca_file=None):
    """A consumer's etcd3 client: its certificate from the controller directory the role copied it to."""
    return load_client(host or HOSTS[0], str(CONSUMERS), str(CONSUMERS / name), timeout=5, login=login,
                       ca_file=ca_file or str(CONSUMERS / "ca.crt"))


def denied(call):
    with pytest.raises(Exception) as caught:
        call()
    text = "%s %s" % (type(caught.value).__name__, caught.value)
    details = getattr(caught.value, "details", None)
    if callable(details):
        text += " " + str(details())
    return text


def root_ctl(host, args, check=True):
    return ssh(host, ". /etc/profile.d/etcdctl.sh && etcdctl %s" % args, check=check)


def served_certificate(host, port=2379, client_stem=None):
    """The certificate the member serves on a new TLS connection, read with Python's ssl module."""
    context = ssl.create_default_context(cafile=str(PKI / "ca-trust.crt") if (PKI / "ca-trust.crt").exists()
                                         else str(PKI / "ca.crt"))
    context.check_hostname = False
    stem = client_stem or str(PKI / "clients" / "root")
    context.load_cert_chain(stem + ".crt", stem + ".key")
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def other_ca_certificate(directory, cn):
    """A client certificate from a CA that is not the cluster's."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "another CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "other.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "other.key").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    return str(directory / "other")


def test_00_a_cluster_with_rbac_on_deploys_and_a_rerun_changes_nothing():
    # The operator's inventory deploys the cluster (no Molecule converge: the tests drive every run).
    out = playbook(INV)
    assert changes(out) > 0
    out = playbook(INV)
    assert changes(out) == 0, out[-3000:]
    assert ROOT_PASSWORD not in out and PATRONI_A["password"] not in out


def test_01_least_privilege():
    # Authentication is on: a certificate of the cluster CA whose CN is no user, and a member's own
    # certificate used as a client, are refused every key.
    with consumer("stranger") as stranger:
        assert "PermissionDenied" in denied(lambda: stranger.get("/pg-test/x")) or "permission denied" in denied(
            lambda: stranger.get("/pg-test/x"))
    with load_client(HOSTS[0], str(PKI), str(PKI / "members" / HOSTS[1]), timeout=5) as member:
        assert "ermission denied" in denied(lambda: member.put("/pg-test/x", "1")) or "PermissionDenied" in denied(
            lambda: member.put("/pg-test/x", "1"))
    # A certificate from another CA does not get past the TLS handshake.
    stem = other_ca_certificate(WORK / "other-ca", "patroni-a")

    def foreign():
        with load_client(HOSTS[0], str(CONSUMERS), stem, timeout=5, login=("patroni-a", PATRONI_A["password"]),
                         ca_file=str(CONSUMERS / "ca.crt")) as other:
            other.get("/pg-test/x")
    text = denied(foreign)
    assert "UNAVAILABLE" in text, text
    # The consumer user reads and writes its prefix, and nothing else.
    with consumer("patroni", login=("patroni-a", PATRONI_A["password"])) as patroni:
        patroni.put("/pg-test/leader", "pg-1")
        assert patroni.get("/pg-test/leader")[0] == b"pg-1"
        assert "ermission" in denied(lambda: patroni.put("/other/x", "1"))
        assert "ermission" in denied(lambda: patroni.get("/other/x"))
    # A certificate-only user (CN vip, no password) reads its one key, and writes nothing.
    with consumer("vip") as vip:
        assert vip.get("/pg-test/leader")[0] == b"pg-1"
        assert "ermission" in denied(lambda: vip.put("/pg-test/leader", "x"))
        assert "ermission" in denied(lambda: vip.get("/pg-test/other"))
    # A wrong password is refused.
    assert "uthentication failed" in denied(lambda: consumer("patroni", login=("patroni-a", "wrong")).get("/pg-test/leader"))
    # The certificate installed on the consumer host: clientAuth only, its key readable by its group only.
    modes = ssh(HOSTS[0], "stat -c '%n %a %U' /etc/patroni/etcd/*").split("\n")
    assert "/etc/patroni/etcd/patroni.key 640 root" in modes and "/etc/patroni/etcd/ca.crt 644 root" in modes
    cert = x509.load_pem_x509_certificate(ssh(HOSTS[0], "cat /etc/patroni/etcd/patroni.crt").encode())
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "patroni-a"
    # etcd's root user has the root password; the role's own calls use the root certificate.
    assert "Authentication Status: true" in root_ctl(HOSTS[0], "auth status")


def gateway(cert, path, body, token=None):
    """A POST to etcd's HTTP gateway on the first member with a consumer certificate: (HTTP status, body)."""
    return ops_gateway(HOSTS[0], CONSUMERS / "ca.crt", CONSUMERS / cert, path, body, token)


def test_01b_the_http_gateway_takes_a_certificate_without_cn_and_a_password():
    # Patroni's etcd3 client speaks etcd's HTTP gateway. With RBAC on, etcd refuses a client certificate that
    # carries a CN there, even with a password: the consumer certificate for such a client has cn: "".
    login = {"name": "patroni-a", "password": PATRONI_A["password"]}
    status, body = gateway("patroni", "/v3/auth/authenticate", login)
    assert status == 400 and "CommonName" in body, (status, body)
    cert = x509.load_pem_x509_certificate((CONSUMERS / "patroni-gw.crt").read_bytes())
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    status, body = gateway("patroni-gw", "/v3/auth/authenticate", login)
    assert status == 200, (status, body)
    token = json.loads(body)["token"]
    status, body = gateway("patroni-gw", "/v3/kv/put", {"key": b64("/pg-test/gateway"), "value": b64("ok")}, token)
    assert status == 200, (status, body)
    status, body = gateway("patroni-gw", "/v3/kv/range", {"key": b64("/pg-test/gateway")}, token)
    assert status == 200 and json.loads(body)["kvs"][0]["value"] == b64("ok"), (status, body)
    # Least privilege holds there too: outside its prefix, and without a token (a certificate without CN is no
    # user), nothing.
    status, body = gateway("patroni-gw", "/v3/kv/range", {"key": b64("/other/x")}, token)
    assert status != 200 and "permission denied" in body, (status, body)
    status, body = gateway("patroni-gw", "/v3/kv/range", {"key": b64("/pg-test/gateway")})
    assert status == 403 and "permission denied" in body, (status, body)


def test_02_hardening_and_tls_as_etcd_applies_them():
    for host in HOSTS:
        shown = ssh(host, "systemctl show etcd -p NoNewPrivileges -p CapabilityBoundingSet")
        assert "NoNewPrivileges=yes" in shown and "CapabilityBoundingSet=\n" in shown + "\n", shown
        # What the kernel applies to the running etcd: no privilege gain, no capability. The sandbox
        # (etcd_unit_sandbox, off by default) needs CAP_SYS_ADMIN for systemd, which these containers do not have.
        status = ssh(host, "grep -E '^(NoNewPrivs|CapBnd|CapEff):' /proc/$(systemctl show -p MainPID --value etcd)/status")
        assert "NoNewPrivs:\t1" in status and "CapBnd:\t0000000000000000" in status, status
        conf = ssh(host, "cat /etc/etcd/etcd.conf")
        # etcd 3.7 reads the corruption check as a feature gate only (an experimental key would be ignored).
        assert "tls-min-version: TLS1.2" in conf and 'feature-gates: "InitialCorruptCheck=true"' in conf
        assert "experimental-" not in conf
    # TLS 1.1 is refused; TLS 1.2 with a suite outside the list is refused.
    for version in (ssl.TLSVersion.TLSv1_1,):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        context.minimum_version = context.maximum_version = version
        with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
            with socket.create_connection((HOSTS[0], 2379), timeout=5) as raw:
                context.wrap_socket(raw).do_handshake()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-SHA")
    with pytest.raises((ssl.SSLError, ConnectionResetError, OSError)):
        with socket.create_connection((HOSTS[0], 2379), timeout=5) as raw:
            context.wrap_socket(raw).do_handshake()


def test_04_rolling_restart_moves_leadership_first_and_a_backup_works_with_auth_on():
    before = pids(HOSTS)
    with LoadWriter([(h, str(CONSUMERS / "patroni")) for h in HOSTS], str(CONSUMERS), rate=20, prefix="/pg-test/load1/",
                    login=("patroni-a", PATRONI_A["password"]), ca_file=str(CONSUMERS / "ca.crt")) as load:
        load.settle()
        out = playbook(INV, "-t", "etcd_launch")
        load.settle()
    report = load.report()
    lost = load.verify([(h, str(CONSUMERS / "patroni")) for h in HOSTS])
    after = pids(HOSTS)
    assert all(before[h] != after[h] for h in HOSTS)
    assert "Leadership could not be moved away" not in out and "Move leadership away if it leads" in out
    assert not lost and report["acknowledged"] > 0
    # Leadership moved before the leader stopped: no election, so no stall near the election timeout (1 s).
    assert report["max_stall_s"] < 1.0, report
    FIGURES["rolling_restart_with_auth"] = dict(report, gaps=len(report["gaps"]))
    out = playbook(INV, "-t", "etcd_backup")
    assert "failed=0" in out
    listed = ssh(HOSTS[0], "ls /var/backups/etcd; ls /var/backups/etcd/*/ 2>/dev/null", check=False) + \
        ssh(HOSTS[1], "ls -R /var/backups/etcd", check=False) + ssh(HOSTS[2], "ls -R /var/backups/etcd", check=False)
    assert ".db" in listed and ".json" in listed


def test_05_credentials_rotated_under_load_without_a_failed_request():
    patroni_b = {"name": "patroni-b", "password": "molecule-Patroni-B", "roles": ["pg-test"]}
    members = [(h, str(CONSUMERS / "patroni")) for h in HOSTS]
    with LoadWriter(members, str(CONSUMERS), rate=20, prefix="/pg-test/rotate-a/", login=("patroni-a", PATRONI_A["password"]),
                    ca_file=str(CONSUMERS / "ca.crt")) as load_a:
        load_a.settle()
        # 1. The new credentials exist beside the old ones.
        out = playbook(security_inventory("rotate-1", users=[PATRONI_A, patroni_b, VIP]))
        assert changes(out) >= 1
        # 2. The consumer switches to them (here: a second writer starts, then the first stops).
        with LoadWriter(members, str(CONSUMERS), rate=20, prefix="/pg-test/rotate-b/",
                        login=("patroni-b", patroni_b["password"]), ca_file=str(CONSUMERS / "ca.crt")) as load_b:
            load_b.settle()
            load_a.stop()
            # 3. The old user goes.
            out = playbook(security_inventory("rotate-2", users=[dict(PATRONI_A, state="absent"), patroni_b, VIP]))
            assert changes(out) >= 1
            load_b.settle()
    for load in (load_a, load_b):
        report = load.report()
        assert report["errors"] == 0 and report["acknowledged"] > 0, report
    assert not load_b.verify(members)
    FIGURES["credentials_rotation"] = dict(a=load_a.report()["acknowledged"], b=load_b.report()["acknowledged"],
                                           errors=0)
    # The old user is gone: its login is refused.
    assert "uthentication failed" in denied(
        lambda: consumer("patroni", login=("patroni-a", PATRONI_A["password"])).get("/pg-test/leader"))
    # A password changed in the inventory is changed in etcd (and only then: the re-run changes nothing).
    changed_b = dict(patroni_b, password="molecule-Patroni-B2")
    inv = security_inventory("rotate-3", users=[dict(PATRONI_A, state="absent"), changed_b, VIP])
    out = playbook(inv)
    assert changes(out) >= 1
    with consumer("patroni", login=("patroni-b", "molecule-Patroni-B2")) as fresh:
        assert fresh.get("/pg-test/leader")[0] == b"pg-1"
    assert changes(playbook(inv)) == 0
    assert "molecule-Patroni-B2" not in out and ROOT_PASSWORD not in out


def reissued(stem, not_before, not_after):
    """The certificate PKI/STEM.crt issued again by the cluster CA, with its subject, key and extensions, for
    another validity (as the role would have issued it at another time); written in place of the controller's."""
    ca_key = serialization.load_pem_private_key((PKI / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((PKI / "ca.crt").read_bytes())
    current = x509.load_pem_x509_certificate((PKI / (stem + ".crt")).read_bytes())
    key = serialization.load_pem_private_key((PKI / (stem + ".key")).read_bytes(), password=None)
    builder = (x509.CertificateBuilder().subject_name(current.subject).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    for extension in current.extensions:
        builder = builder.add_extension(extension.value, critical=extension.critical)
    cert = builder.sign(ca_key, hashes.SHA256())
    (PKI / (stem + ".crt")).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def test_06_a_certificate_close_to_expiry_is_renewed_and_served_without_a_restart():
    inv = security_inventory("renew", users=[{"name": "patroni-b", "password": "molecule-Patroni-B2", "roles": ["pg-test"]}, VIP])
    host = HOSTS[1]
    now = datetime.datetime.now(datetime.timezone.utc)
    short = reissued("members/" + host, now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=10))
    pem = short.public_bytes(serialization.Encoding.PEM)
    ssh(host, "cat > /etc/etcd/server.crt <<'EOF'\n%sEOF" % pem.decode())
    assert served_certificate(host).serial_number == short.serial_number
    before = pids(HOSTS)
    out = playbook(inv, "--diff")
    assert "expires in 9 days" in out or "expires in 10 days" in out, out[-3000:]
    renewed = x509.load_pem_x509_certificate((PKI / "members" / (host + ".crt")).read_bytes())
    assert renewed.serial_number != short.serial_number
    # etcd reads its certificate again for every new connection: the new one is served, nothing restarted.
    assert served_certificate(host).serial_number == renewed.serial_number
    assert pids(HOSTS) == before
    assert changes(playbook(inv)) == 0
    FIGURES["renewal"] = {"restarted": 0, "days_left_before": 10}


def test_06c_a_cluster_whose_certificates_expired_while_it_was_off_comes_back_with_a_plain_run():
    """Every member certificate and the root client certificate expired while the cluster was switched off (as
    if issued 400 days ago for 399): started again, the members cannot reach each other (peer TLS refuses an
    expired certificate) and the role's root certificate is refused too. A plain run renews and installs them;
    etcd takes the new files at the next handshake, the quorum comes back, no key is lost."""
    inv = security_inventory("expired", users=[{"name": "patroni-b", "password": "molecule-Patroni-B2",
                                                "roles": ["pg-test"]}, VIP])
    root_ctl(HOSTS[0], "put /pg-test/expired-check kept")
    expected = root_ctl(HOSTS[0], "get --prefix / --keys-only -w json")
    count = json.loads(expected).get("count")
    for host in HOSTS:
        ssh(host, "systemctl stop etcd")
    now = datetime.datetime.now(datetime.timezone.utc)
    before, after = now - datetime.timedelta(days=400), now - datetime.timedelta(days=1)
    stale = {}
    root = reissued("clients/root", before, after).public_bytes(serialization.Encoding.PEM).decode()
    for host in HOSTS:
        cert = reissued("members/" + host, before, after)
        stale[host] = cert.serial_number
        ssh(host, "cat > /etc/etcd/server.crt <<'EOF'\n%sEOF\ncat > /etc/etcd/root.crt <<'EOF'\n%sEOF\n"
                  "systemctl start --no-block etcd" % (cert.public_bytes(serialization.Encoding.PEM).decode(), root))
    time.sleep(3)
    refused = root_ctl(HOSTS[0], "endpoint health 2>&1", check=False)
    assert "expired" in refused or "unhealthy" in refused or "deadline" in refused, refused
    started = time.monotonic()
    out = playbook(inv)
    FIGURES["expired_certificates_plain_run_seconds"] = round(time.monotonic() - started, 1)
    for host in HOSTS:
        renewed = x509.load_pem_x509_certificate((PKI / "members" / (host + ".crt")).read_bytes())
        assert renewed.serial_number != stale[host]
        assert renewed.not_valid_after_utc > now + datetime.timedelta(days=3000)
        assert served_certificate(host).serial_number == renewed.serial_number
    assert "expired-check" in root_ctl(HOSTS[0], "get /pg-test/expired-check")
    assert json.loads(root_ctl(HOSTS[1], "get --prefix / --keys-only -w json")).get("count") == count
    members = json.loads(root_ctl(HOSTS[2], "endpoint status --cluster -w json"))
    assert len(members) == 3 and len(set(m["Status"]["leader"] for m in members)) == 1
    assert changes(playbook(inv)) == 0, out[-3000:]


def test_06b_member_changes_and_maintenance_work_with_auth_on():
    inv = security_inventory("members", users=[{"name": "patroni-b", "password": "molecule-Patroni-B2",
                                                "roles": ["pg-test"]}, VIP])

    def members():
        return len(json.loads(root_ctl(HOSTS[0], "member list -w json"))["members"])
    playbook(inv, "-l", HOSTS[2], "-t", "etcd_clean")
    assert members() == 2
    playbook(inv, "-l", HOSTS[2], "-e", "etcd_init=existing")
    assert members() == 3
    out = playbook(inv, "-t", "etcd_maintain")
    assert "failed=0" in out
    assert changes(playbook(inv)) == 0
    with consumer("patroni", login=("patroni-b", "molecule-Patroni-B2"), host=HOSTS[2]) as patroni:
        assert patroni.get("/pg-test/leader")[0] == b"pg-1"


def test_07_ca_rotation_under_load_loses_nothing():
    users = [{"name": "patroni-b", "password": "molecule-Patroni-B2", "roles": ["pg-test"]}, VIP]
    inv = security_inventory("rotate-ca", users=users)
    old_ca = x509.load_pem_x509_certificate((PKI / "ca.crt").read_bytes())
    old_client = WORK / "old-patroni"
    old_client.mkdir(exist_ok=True)
    for suffix in (".crt", ".key"):
        (old_client / ("patroni" + suffix)).write_bytes((CONSUMERS / ("patroni" + suffix)).read_bytes())
    members = [(h, str(CONSUMERS / "patroni")) for h in HOSTS]
    phases, restarted, seconds = [], [], 0.0
    with LoadWriter(members, str(CONSUMERS), rate=20, prefix="/pg-test/ca-rotation/",
                    login=("patroni-b", "molecule-Patroni-B2"), ca_file=str(CONSUMERS / "ca.crt")) as load:
        load.settle()
        # One phase per run, as documented: trust, reissue, finish (and complete), each run killed at its dangerous
        # moment and then run again: trust and finish once their first member runs the new CA file (the other two
        # hold it but run the old one), reissue once the members hold certificates of the new CA and the consumer
        # host does not yet. The same command finishes the phase it was killed in (restarting the members that run
        # older files first) and ends there, with that phase's message.
        kills = {0: "Wait for a healthy cluster and the catch-up of *", 2: "Install the consumer certificates",
                 4: "Wait for a healthy cluster and the catch-up of *"}
        for run in range(6):
            previous = pids(HOSTS)
            started = time.monotonic()
            if run in kills:
                out = interrupted(inv, kills[run], "-t", "etcd_ca_rotate")
            else:
                out = playbook(inv, "-t", "etcd_ca_rotate")
                said = {1: "Phase trust is done", 3: "Phase reissue is done", 5: "rotation is complete"}[run]
                assert said in out, out[-3000:]
            seconds += time.monotonic() - started
            phases.append(json.loads((PKI / "ca-rotation.json").read_text())["phase"]
                          if (PKI / "ca-rotation.json").exists() else None)
            restarted.append(sorted(h for h, pid in pids(HOSTS).items() if pid != previous[h]))
        load.settle()
    seconds = round(seconds, 1)
    report = load.report()
    lost = load.verify(members)
    assert phases == ["trust", "trust", "reissue", "reissue", "finish", None], phases
    # trust and finish, killed: one member restarted, the same command restarts the other two; reissue: none.
    for killed, resumed in ((0, 1), (4, 5)):
        assert len(restarted[killed]) == 1 and restarted[resumed] == sorted(set(HOSTS) - set(restarted[killed])), restarted
    assert restarted[2] == restarted[3] == [], restarted
    new_ca = x509.load_pem_x509_certificate((PKI / "ca.crt").read_bytes())
    assert new_ca.fingerprint(hashes.SHA256()) != old_ca.fingerprint(hashes.SHA256())
    assert not (PKI / "ca-next.crt").exists() and not (PKI / "ca-rotation.json").exists()
    assert len(list((PKI / "retired").glob("ca-*.crt"))) == 1
    # Every write the client was told succeeded is on every member; every request went through, after retries.
    assert not lost and report["acknowledged"] > 0, (report, lost)
    # Each member serves a certificate of the new CA, trusts it alone, and refuses a client of the old one.
    for host in HOSTS:
        served = served_certificate(host)
        served.verify_directly_issued_by(new_ca)
        assert "ca.crt" in ssh(host, "ls /etc/etcd") and ssh(host, "grep -c 'BEGIN CERTIFICATE' /etc/etcd/ca.crt").strip() == "1"
    text = denied(lambda: load_client(HOSTS[0], str(CONSUMERS), str(old_client / "patroni"), timeout=5,
                                      login=("patroni-b", "molecule-Patroni-B2"),
                                      ca_file=str(CONSUMERS / "ca.crt")).get("/pg-test/leader"))
    assert "UNAVAILABLE" in text, text
    # The consumer's files on its host follow: a certificate of the new CA, the new CA alone.
    cert = x509.load_pem_x509_certificate(ssh(HOSTS[0], "cat /etc/patroni/etcd/patroni.crt").encode())
    cert.verify_directly_issued_by(new_ca)
    # A plain run afterwards changes nothing.
    assert changes(playbook(inv)) == 0
    FIGURES["ca_rotation"] = dict(seconds=seconds, acknowledged=report["acknowledged"],
                                  errors_retried=report["errors"], lost=0, max_stall_s=report["max_stall_s"],
                                  gaps=report["gaps"], runs=6, killed=3, restarted=restarted)


def test_08_auth_goes_off_only_when_asked():
    users = [{"name": "patroni-b", "password": "molecule-Patroni-B2", "roles": ["pg-test"]}, VIP]
    # etcd_auth=false leaves it on.
    out = playbook(security_inventory("auth-false", users=users, etcd_auth=False))
    with consumer("stranger") as stranger:
        assert "ermission" in denied(lambda: stranger.get("/pg-test/leader"))
    out = playbook(security_inventory("auth-off", users=users, etcd_auth=False, etcd_auth_disable=True))
    assert changes(out) >= 1
    with consumer("stranger") as stranger:
        assert stranger.get("/pg-test/leader")[0] == b"pg-1"


def test_09_auth_enabled_by_a_run_killed_right_after_is_finished_by_the_same_command():
    # Authentication goes on again, with patroni-b's password changed meanwhile (while it is off etcd takes any
    # password, so the role checks it once authentication is on): the run is killed just after `auth enable`,
    # before that check. The same command checks and sets the password; patroni-b logs in with the new one.
    users = [{"name": "patroni-b", "password": "molecule-Patroni-B3", "roles": ["pg-test"]}, VIP]
    inv = security_inventory("auth-on-again", users=users)
    started = time.monotonic()
    interrupted(inv, "Check the users' passwords now that authentication is on*")
    killed = round(time.monotonic() - started, 1)
    with consumer("stranger") as stranger:
        assert "ermission" in denied(lambda: stranger.get("/pg-test/leader"))
    started = time.monotonic()
    out = playbook(inv)
    resumed = round(time.monotonic() - started, 1)
    assert "failed=0" in out
    with consumer("patroni", login=("patroni-b", "molecule-Patroni-B3")) as patroni:
        assert patroni.get("/pg-test/leader")[0] == b"pg-1"
    assert "uthentication failed" in denied(lambda: consumer("patroni", login=("patroni-b", "molecule-Patroni-B2"))
                                            .get("/pg-test/leader"))
    assert changes(playbook(inv)) == 0
    FIGURES["auth_enable_killed"] = dict(killed_run_s=killed, second_run_s=resumed)
    record("security", FIGURES)
