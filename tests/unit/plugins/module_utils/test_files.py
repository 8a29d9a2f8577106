"""How member files are compared, on real files in a temporary directory."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import getpass
import grp
import os

from ansible_collections.dcs.etcd.plugins.module_utils._files import (
    content_sha256,
    delivered_sha256,
    entry_differs,
    normalize,
    stat_path,
)

USER = getpass.getuser()
GROUP = grp.getgrgid(os.getgid()).gr_name


def test_normalize_ends_with_one_newline():
    assert normalize("a\n\n\n") == b"a\n"
    assert normalize("a") == b"a\n"


def test_stat_and_compare_a_file(tmp_path):
    path = tmp_path / "etcd.conf"
    path.write_bytes(b"name: etcd-1\n")
    path.chmod(0o640)
    probed = stat_path(str(path))
    assert probed == {"exists": True, "type": "file", "owner": USER, "group": GROUP, "mode": "0640",
                      "sha256": content_sha256("name: etcd-1")}
    same = {"path": str(path), "content": "name: etcd-1", "owner": USER, "group": GROUP, "mode": "0640"}
    assert not entry_differs(same, probed)
    assert entry_differs(dict(same, content="name: etcd-2"), probed)
    assert entry_differs(dict(same, mode="0600"), probed)
    assert entry_differs(dict(same, owner="somebody-else"), probed)


def test_directories_and_missing_paths(tmp_path):
    probed = stat_path(str(tmp_path))
    assert probed["type"] == "directory" and "sha256" not in probed
    assert not entry_differs({"path": str(tmp_path), "mode": probed["mode"]}, probed)
    assert entry_differs({"path": str(tmp_path), "content": "x"}, probed)
    assert stat_path(str(tmp_path / "absent")) == {"exists": False}
    assert entry_differs({"path": str(tmp_path / "absent")}, {"exists": False})
    assert entry_differs({"path": str(tmp_path / "absent")}, None)


def test_a_ca_is_hashed_as_the_members_receive_it(tmp_path):
    """A user's ca.crt with CRLF line ends or blank lines at its end reaches the members without them: the
    plan compares the members' CA with this hash (before, with the raw file's, and refused every run)."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    ca = tmp_path / "ca.crt"
    ca.write_bytes((pem + "\r\n\n\n").encode())
    assert delivered_sha256(str(ca)) == content_sha256(pem)
    delivered = tmp_path / "delivered.crt"
    delivered.write_bytes(normalize(pem))
    assert delivered_sha256(str(ca)) == stat_path(str(delivered))["sha256"]
    assert delivered_sha256(str(tmp_path / "absent")) is None
