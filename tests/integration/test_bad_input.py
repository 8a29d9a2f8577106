"""Bad input is refused with a message naming the variable, before any host is contacted.

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


def run(tmp_path, hosts, extra=None, playbook="etcd.yml", extra_groups=None):
    inv = inventory(tmp_path, hosts, extra_groups)
    cmd = [str(ROOT / playbook) if playbook == "etcd.yml" else "ansible-playbook", "-i", str(inv)]
    if playbook != "etcd.yml":
        cmd.append(str(playbook))
    if extra:
        cmd += ["-e", json.dumps(extra)]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
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


@pytest.mark.parametrize("hosts,expected", [
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {}}, "etcd_seq"),
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": "two"}}, "etcd_seq"),
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": -2}}, "etcd_seq must be a non-negative integer"),
    ({"127.0.0.11": {"etcd_seq": 1}, "127.0.0.12": {"etcd_seq": 1}}, "etcd_seq must be unique in the cluster"),
], ids=["missing", "not-an-integer", "negative", "duplicated"])
def test_bad_etcd_seq(tmp_path, hosts, expected):
    assert expected in run(tmp_path, hosts)


@pytest.mark.parametrize("extra,expected", [
    ({"etcd_init": "fresh"}, "etcd_init"),
    ({"etcd_port": 70000}, "etcd_port=70000"),
    ({"etcd_peer_port": 0}, "etcd_peer_port=0"),
    ({"etcd_port": 2380}, "etcd_port and etcd_peer_port must differ"),
    ({"etcd_election_timeout": 400}, "etcd_election_timeout=400: must be at least 5 x etcd_heartbeat_interval"),
    ({"etcd_install_method": "docker"}, "etcd_install_method"),
    ({"etcd_install_method": "archive"}, "etcd_install_method=archive needs exactly one of etcd_archive_src"),
    ({"etcd_install_method": "archive", "etcd_archive_src": "/nonexistent/" + ARCHIVE_NAME},
     "etcd_archive_src=/nonexistent/%s: no such file on the controller" % ARCHIVE_NAME),
    ({"etcd_install_method": "archive", "etcd_archive_url": "https://example.invalid/" + ARCHIVE_NAME},
     "etcd_archive_url needs etcd_archive_checksum"),
    ({"etcd_install_method": "archive", "etcd_archive_url": "https://example.invalid/etcd.tgz",
      "etcd_archive_checksum": "0" * 64}, "must name an official release file"),
    ({"etcd_archive_checksum": "xyz"}, "etcd_archive_checksum=xyz: must be 64 hex digits"),
    ({"etcd_data": "data/etcd"}, "etcd_data=data/etcd: must be an absolute path"),
], ids=["init", "port", "peer-port", "equal-ports", "election-timeout", "install-method", "archive-no-source",
        "archive-missing", "url-without-checksum", "unofficial-name", "checksum-format", "relative-data"])
def test_bad_parameter(tmp_path, extra, expected):
    assert expected in run(tmp_path, THREE, extra)


def test_archive_checksum_mismatch(tmp_path, archive):
    out = run(tmp_path, THREE, {"etcd_install_method": "archive", "etcd_archive_src": str(archive),
                                "etcd_archive_checksum": "a" * 64})
    assert "etcd_archive_src=%s has sha256" % archive in out
    assert "Nothing was installed" in out


def test_archive_version_differs_from_etcd_version(tmp_path, archive):
    out = run(tmp_path, THREE, {"etcd_install_method": "archive", "etcd_archive_src": str(archive),
                                "etcd_version": "3.4.23"})
    assert "etcd_version=3.4.23 but the archive %s holds etcd 3.5.16" % ARCHIVE_NAME in out


def test_known_bad_version_is_refused_before_any_host_is_contacted(tmp_path):
    out = run(tmp_path, THREE, {"etcd_version": "3.5.1"})
    assert "etcd_version=3.5.1: etcd 3.5.1 is on the known-bad list (etcd_known_bad_versions: 3.5.0, 3.5.1, 3.5.2)" in out


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
