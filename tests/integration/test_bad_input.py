"""Bad input is refused with a message naming the variable, before any host is contacted (end to end, through
./etcd.yml; every refusal of the plan is unit-tested in tests/unit/plugins/module_utils/plan/).

The inventory's hosts are loopback addresses on port 1, where nothing listens: had the playbook tried to
reach a host, the run would end UNREACHABLE instead of with the expected message."""
import json
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ARCHIVE_NAME = "etcd-v3.5.16-linux-amd64.tar.gz"


def inventory(tmp_path, hosts, extra_groups=None):
    groups = {"etcd": {"hosts": hosts}}
    groups.update(extra_groups or {})
    data = {"all": {"vars": {"ansible_port": 1, "ansible_user": "nobody", "ansible_connection": "ssh",
                             "ansible_ssh_common_args": "-o ConnectTimeout=1"},
                    "children": groups}}
    path = tmp_path / "inventory.yml"
    path.write_text(json.dumps(data))
    return path


def run(tmp_path, hosts, extra=None, playbook="etcd.yml", extra_groups=None, tags=None, limit=None, cwd=ROOT):
    inv = inventory(tmp_path, hosts, extra_groups)
    cmd = [str(ROOT / playbook) if playbook == "etcd.yml" else "ansible-playbook", "-i", str(inv)]
    if playbook != "etcd.yml":
        cmd.append(str(playbook))
    if extra:
        cmd += ["-e", json.dumps(extra)]
    if tags:
        cmd += ["-t", tags]
    if limit:
        cmd += ["-l", limit]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "UNREACHABLE" not in out, "a host was contacted:\n" + out
    return out


THREE = {"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 2}, "127.0.0.13": {"etcd_seq": 3}}


@pytest.fixture()
def archive(tmp_path):
    path = tmp_path / ARCHIVE_NAME
    path.write_bytes(b"not really an archive")
    return path


# Every refusal is unit-tested in tests/unit/plugins/module_utils/plan/; these run a few of them end to
# end, through ./etcd.yml, to show that the plan refuses before any host is contacted.
@pytest.mark.parametrize("hosts,expected", [
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {}}, "etcd_seq"),
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 1}}, "etcd_seq must be unique in the cluster"),
], ids=["missing", "duplicated"])
def test_bad_etcd_seq(tmp_path, hosts, expected):
    assert expected in run(tmp_path, hosts)


@pytest.mark.parametrize("extra,expected", [
    ({"etcd_port": 70000}, "etcd_port=70000: must be a port number"),
    ({"etcd_install_method": "archive", "etcd_archive_src": "/nonexistent/" + ARCHIVE_NAME},
     "etcd_archive_src=/nonexistent/%s: no such file on the controller" % ARCHIVE_NAME),
    ({"etcd_data": "/data"}, "etcd_data=/data: is the root or a top-level directory"),
    ({"etcd_data": "/var/lib"}, "etcd_data=/var/lib: is a system directory"),
    ({"etcd_cert_extra_sans": ["DNS:etcd.example.com", "IP:not-an-address"]}, "'IP:not-an-address' is not an IP address"),
    ({"etcd_pki_dir": "pki/etcd"}, "etcd_pki_dir=pki/etcd: must be an absolute path"),
    ({"etcd_auth": True}, "etcd_root_password is empty: etcd_auth=true needs the password of etcd's root user"),
    ({"etcd_users": [{"name": "root"}]}, "etcd_users[0].name=root: root is managed by the role"),
    ({"etcd_users": [{"name": "etcd-2"}]}, "etcd_users[0].name=etcd-2: a member's certificate carries that name"),
    ({"etcd_roles": [{"name": "app", "permissions": [{"prefix": "", "access": "read"}]}]},
     "an empty prefix would cover every key"),
    ({"etcd_client_certs": [{"name": "patroni", "cn": "root", "controller_dir": "/tmp/x"}]},
     "etcd_client_certs[0].cn=root"),
    # The argument spec's checks of list entries (ansible-core runs them before any task of the role).
    ({"etcd_roles": [{"name": "app", "state": "gone"}]}, "value of state must be one of: present, absent, got: gone found in etcd_roles"),
], ids=["port", "archive-missing", "data-top-level", "data-system-dir", "extra-san", "relative-pki-dir", "auth-no-password",
        "user-root", "user-member-name", "empty-prefix", "cert-cn-root", "role-state"])
def test_bad_parameter(tmp_path, extra, expected):
    assert expected in run(tmp_path, THREE, extra)


def test_a_bad_user_entry_is_refused_without_showing_its_password(tmp_path):
    out = run(tmp_path, THREE, {"etcd_users": [{"name": "app", "password": "Pw-Secret-9", "stat": "absent"}]})
    assert "etcd_users.stat. Supported parameters include: name, password" in out
    assert "Pw-Secret-9" not in out


@pytest.mark.parametrize("tags", ["etcd_install", "etcd_launch", "etcd_assert"])
def test_archive_checksum_mismatch_is_refused_under_every_tag(tmp_path, archive, tags):
    out = run(tmp_path, THREE, {"etcd_install_method": "archive", "etcd_archive_src": str(archive),
                                "etcd_archive_checksum": "a" * 64}, tags=tags)
    assert "etcd_archive_src=%s has sha256" % archive in out
    assert "Nothing was installed" in out


def test_known_bad_version_is_refused_before_any_host_is_contacted(tmp_path):
    out = run(tmp_path, THREE, {"etcd_version": "3.5.1"})
    assert "etcd_version=3.5.1: etcd 3.5.1 is on the known-bad list (etcd_known_bad_versions: 3.5.0, 3.5.1, 3.5.2)" in out


@pytest.mark.parametrize("limit", [None, "127.0.0.11"])
def test_a_cluster_name_that_names_no_group_fails(tmp_path, limit):
    # A limit leaves the implicit localhost out of a play: the check runs for whichever host it leaves.
    out = run(tmp_path, THREE, {"etcd_cluster": "nosuch"}, limit=limit)
    assert "etcd_cluster=nosuch names no inventory group with hosts" in out


@pytest.mark.parametrize("tag,expected", [
    ("etcd_env", "-t etcd_env: dcs.etcd writes the etcdctl environment"),
    ("etcd_member", "-t etcd_member: dcs.etcd adds members with"),
    ("etcd_lanch", "-t etcd_lanch: no such stage"),
])
def test_a_tag_that_would_run_nothing_fails(tmp_path, tag, expected):
    out = run(tmp_path, THREE, tags=tag)
    assert expected in out and "would run nothing" in out or "no such stage" in out


def test_two_inventories_in_different_directories_would_make_two_cas(tmp_path):
    """etcd_pki_dir defaults to pki/<cluster> beside the inventory: members from two inventory directories
    would get certificates from two CAs."""
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    common = {"ansible_port": 1, "ansible_user": "nobody", "ansible_ssh_common_args": "-o ConnectTimeout=1"}
    (first / "inventory.yml").write_text(json.dumps({"all": {"vars": common, "children": {"etcd": {"hosts": {
        "127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 2}}}}}}))
    (second / "inventory.yml").write_text(json.dumps({"all": {"vars": common, "children": {"etcd": {"hosts": {
        "127.0.0.13": {"etcd_seq": 3}}}}}}))
    res = subprocess.run([str(ROOT / "etcd.yml"), "-i", str(first / "inventory.yml"), "-i", str(second / "inventory.yml")],
                         cwd=ROOT, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True,
                         timeout=120, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "UNREACHABLE" not in out, out
    assert "etcd_pki_dir resolves to different directories" in out


def test_host_not_in_cluster_group(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text("- hosts: all\n  gather_facts: false\n  any_errors_fatal: true\n"
                    "  roles: [dcs.etcd.etcd]\n")
    out = run(tmp_path, {"127.0.0.11": {"etcd_seq": 1}}, playbook=play,
              extra_groups={"other": {"hosts": {"127.0.0.21": {"etcd_seq": 9}}}})
    assert "this host (127.0.0.21) is not in the group etcd_cluster=etcd" in out


def test_even_member_count_is_only_a_warning(tmp_path):
    inv = inventory(tmp_path, {"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 2}})
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    res = subprocess.run([str(ROOT / "etcd.yml"), "-i", str(inv)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120, check=False)
    out = res.stdout + res.stderr
    assert "has 2 members. An even count" in out
    # The checks passed: the run went on to contact the (unreachable, loopback) hosts.
    assert "UNREACHABLE" in out


@pytest.mark.parametrize("how", ["./etcd.yml", "ansible-playbook path/to/etcd.yml"])
def test_the_checkout_entry_point_runs_from_any_directory(tmp_path, how):
    # The collection resolves through the playbook-adjacent collections/ link, whatever the working directory
    # (ansible.cfg is read from the working directory only).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    playbook = "etcd.yml" if how == "./etcd.yml" else str(ROOT / "etcd.yml")
    out = run(tmp_path, {"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 1}}, playbook=playbook,
              cwd=elsewhere)
    assert "etcd_seq" in out and "couldn't resolve module/action" not in out and "was not found" not in out


@pytest.mark.parametrize("cluster,expected", [
    (None, "127.0.0.13 is in the inventory group etcd but has etcd_cluster=meta: a host belongs to one cluster"),
    ("meta", "127.0.0.13 is in the inventory groups of two clusters, meta and etcd: a host belongs to one cluster"),
])
def test_a_host_in_two_clusters_is_refused(tmp_path, cluster, expected):
    # Two clusters in one inventory (inventory-examples/two-clusters.yml), 127.0.0.13 put in both groups.
    meta = {"hosts": {"127.0.0.13": {}, "127.0.0.21": {"etcd_seq": 2}},
            "vars": {"etcd_cluster": "meta", "etcd_port": 12379, "etcd_peer_port": 12380}}
    out = run(tmp_path, THREE, extra_groups={"meta": meta}, extra={"etcd_cluster": cluster} if cluster else None)
    assert expected in out, out
