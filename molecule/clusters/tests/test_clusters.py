"""Two clusters in one inventory, driven through ./etcd.yml as an operator runs it (inventory-examples/
two-clusters.yml): `etcd` on the first host, `meta` on the second, each with its own CA.

The tests run in order and build on each other: both clusters are deployed (and a re-run of each changes
nothing); they have distinct cluster IDs and CAs; a member certificate of one is refused on the peer and the
client port of the other, while the other's own is accepted; a host put in both groups is refused before
anything changes; meta grows by the third host, then is removed with -t etcd_clean, and etcd is untouched by
both (same process, membership, revision, keys and files)."""
import hashlib
import json
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

import ops  # noqa: E402
from ops import KEY, WORK, changes, pids, ssh  # noqa: E402

import etcd3  # noqa: E402

ETCD, META, SPARE = "10.89.85.11", "10.89.85.12", "10.89.85.13"
# The newest 3.5, the line still supported upstream until mid 2027.
ARCHIVE = ops.archive("3.5.36")
PKI = {"etcd": WORK / "pki-etcd", "meta": WORK / "pki-meta"}


def inventory(meta_hosts=(META,), shared=False):
    """etcd on ETCD; meta on meta_hosts (with its own ports and PKI). shared puts SPARE in etcd's group too."""
    cluster_vars = {"etcd_install_method": "archive", "etcd_archive_src": str(ARCHIVE)}
    etcd_hosts = {ETCD: {"etcd_seq": 1}}
    if shared:
        etcd_hosts[SPARE] = {"etcd_seq": 2}
    data = {"all": {"vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(KEY),
                             "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
                    "children": {
                        "etcd": {"hosts": etcd_hosts, "vars": dict(cluster_vars, etcd_pki_dir=str(PKI["etcd"]))},
                        "meta": {"hosts": {h: {"etcd_seq": i + 1} for i, h in enumerate(meta_hosts)},
                                 "vars": dict(cluster_vars, etcd_cluster="meta", etcd_pki_dir=str(PKI["meta"]),
                                              etcd_port=12379, etcd_peer_port=12380,
                                              etcd_data="/data/etcd-meta")}}}}
    path = WORK / ("clusters-inventory-%d%s.json" % (len(meta_hosts), "-shared" if shared else ""))
    path.write_text(json.dumps(data))
    return path


def client(cluster, host, port):
    pki = PKI[cluster]
    stem = pki / "members" / host
    return etcd3.client(host=host, port=port, ca_cert=str(pki / "ca.crt"), cert_cert=str(stem) + ".crt",
                        cert_key=str(stem) + ".key", timeout=5)


def status(host):
    """The cluster ID, revision and member names as the host's etcdctl profile (its cluster's members) sees them."""
    header = ops.etcdctl_json(host, "endpoint status")[0]["Status"]["header"]
    return {"cluster_id": header["cluster_id"], "revision": header["revision"],
            "members": sorted(m["name"] for m in ops.etcdctl_json(host, "member list")["members"])}


def etcd_state():
    """What must not change on the etcd cluster while meta is operated on."""
    files = ssh(ETCD, "sha256sum /etc/etcd/* /etc/systemd/system/etcd.service /etc/profile.d/etcdctl.sh "
                      "2>/dev/null | sort")
    with client("etcd", ETCD, 2379) as c:
        value = c.get("/clusters/etcd")[0]
    return dict(status(ETCD), pid=pids([ETCD])[ETCD], files=files, key=value)


# Run on a member: GET /version from TARGET:PORT with this member's own certificate (/etc/etcd/server.{crt,key}),
# trusting the target cluster's CA (ca_pem, prepended by tls_exchange), so that only the server can refuse.
# Peers connect from the address their certificate names: this runs on the member, not on the controller.
REMOTE_GET = r"""
import http.client, ssl, sys, tempfile
ca = tempfile.NamedTemporaryFile("w", suffix=".crt", delete=False)
ca.write(sys.stdin.read()); ca.close()
ctx = ssl.create_default_context(cafile=ca.name)
ctx.check_hostname = False
ctx.load_cert_chain("/etc/etcd/server.crt", "/etc/etcd/server.key")
conn = http.client.HTTPSConnection(sys.argv[1], int(sys.argv[2]), context=ctx, timeout=5)
try:
    conn.request("GET", "/version")
    print("HTTP %d" % conn.getresponse().status)
except (ssl.SSLError, ConnectionError, http.client.HTTPException) as exc:
    print("refused: %s %s" % (type(exc).__name__, exc))
"""


def tls_exchange(member, target, port, target_cluster):
    """What `member` gets with its own certificate from target:port, trusting target_cluster's CA."""
    ca = (PKI[target_cluster] / "ca.crt").read_text()
    res = subprocess.run(ops.SSH + ["root@" + member, "python3 - %s %d" % (target, port)],
                         input="import sys\nsys.argv = ['x', %r, %r]\nca_pem = %r\n" % (target, str(port), ca)
                         + REMOTE_GET.replace("sys.stdin.read()", "ca_pem"),
                         capture_output=True, text=True, check=True)
    return res.stdout.strip()


STATE = {}


def test_both_clusters_deploy_and_a_rerun_changes_nothing():
    ops.playbook(inventory())
    ops.playbook(inventory(), "-e", "etcd_cluster=meta")
    with client("etcd", ETCD, 2379) as c:
        c.put("/clusters/etcd", "etcd")
    with client("meta", META, 12379) as c:
        c.put("/clusters/meta", "meta")
    assert changes(ops.playbook(inventory())) == 0
    assert changes(ops.playbook(inventory(), "-e", "etcd_cluster=meta")) == 0


def test_distinct_cluster_ids_cas_and_memberships():
    etcd, meta = status(ETCD), status(META)
    assert etcd["cluster_id"] != meta["cluster_id"]
    assert etcd["members"] == ["etcd-1"] and meta["members"] == ["meta-1"]
    cas = {h: ssh(h, "sha256sum /etc/etcd/ca.crt").split()[0] for h in (ETCD, META)}
    assert cas[ETCD] != cas[META]
    assert cas[ETCD] == hashlib.sha256((PKI["etcd"] / "ca.crt").read_bytes()).hexdigest()
    assert cas[META] == hashlib.sha256((PKI["meta"] / "ca.crt").read_bytes()).hexdigest()
    # Each member's key stays on its host; neither host holds the other cluster's files.
    assert ssh(ETCD, "ls /etc/etcd/ | grep -c meta || true").strip() == "0"


def test_a_member_certificate_of_one_cluster_is_refused_by_the_other():
    # Control: a member's own certificate gets an answer on both ports of its cluster.
    for member, ports in ((META, (12380, 12379)), (ETCD, (2380, 2379))):
        cluster = "meta" if member == META else "etcd"
        for port in ports:
            assert tls_exchange(member, member, port, cluster) == "HTTP 200", (member, port)
    # A member certificate of etcd (a peer's, signed by etcd's CA) on meta's peer and client ports, and the other
    # way round: the server refuses it in the TLS exchange.
    for member, target, ports, cluster in ((ETCD, META, (12380, 12379), "meta"), (META, ETCD, (2380, 2379), "etcd")):
        for port in ports:
            answer = tls_exchange(member, target, port, cluster)
            # An alert (unknown CA) or the server closing the TLS session: no HTTP answer either way.
            assert answer.startswith(("refused: SSLError", "refused: SSLEOFError")), (member, target, port, answer)


def test_a_host_in_both_groups_is_refused_before_anything_changes():
    before = etcd_state()
    out = ops.playbook(inventory((META, SPARE), shared=True), "-l", SPARE, "-e", "etcd_init=existing", fail=True)
    assert "a host belongs to one cluster" in out and "10.89.85.13" in out
    out = ops.playbook(inventory((META, SPARE), shared=True), "-e", "etcd_cluster=meta", fail=True)
    assert "10.89.85.13 is in the inventory groups of two clusters, meta and etcd" in out
    assert etcd_state() == before
    assert ssh(SPARE, "test -e /etc/etcd || echo absent").strip() == "absent"


def test_scaling_out_meta_leaves_etcd_untouched():
    STATE["etcd"] = etcd_state()
    ops.playbook(inventory((META, SPARE)), "-l", SPARE, "-e", "etcd_cluster=meta", "-e", "etcd_init=existing")
    assert status(META)["members"] == ["meta-1", "meta-2"]
    with client("meta", SPARE, 12379) as c:
        assert c.get("/clusters/meta")[0] == b"meta"
    assert changes(ops.playbook(inventory((META, SPARE)), "-e", "etcd_cluster=meta")) == 0
    assert etcd_state() == STATE["etcd"]


def test_removing_meta_leaves_etcd_untouched():
    ops.playbook(inventory((META, SPARE)), "-e", "etcd_cluster=meta", "-t", "etcd_clean")
    for host in (META, SPARE):
        assert ssh(host, "systemctl is-active etcd", check=False).strip() != "active"
        assert ssh(host, "test -e /data/etcd-meta/member || echo gone").strip() == "gone"
    assert etcd_state() == STATE["etcd"]
    assert changes(ops.playbook(inventory())) == 0
