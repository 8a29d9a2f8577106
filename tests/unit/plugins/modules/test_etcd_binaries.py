"""etcd_binaries on a real release-layout archive in a temporary directory."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import io
import os
import tarfile

from ansible_collections.dcs.etcd.plugins.modules.etcd_binaries import main, useradd_argv


def make_archive(path, version, files):
    top = "etcd-v%s-linux-amd64" % version
    with tarfile.open(path, "w:gz") as tar:
        for name, data in [("README.md", b"readme")] + files:
            info = tarfile.TarInfo("%s/%s" % (top, name))
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))


def test_install_check_mode_idempotence_and_upgrade(tmp_path, run_module):
    dest = tmp_path / "bin"
    dest.mkdir()
    archive = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    make_archive(archive, "3.5.1", [("etcd", b"etcd 3.5.1"), ("etcdctl", b"etcdctl 3.5.1")])
    args = {"archive": str(archive), "dest": str(dest), "names": ["etcd", "etcdctl"]}

    checked = run_module(main, args, check_mode=True)
    assert checked["changed"] and checked["installed"] == ["etcd", "etcdctl"]
    assert not (dest / "etcd").exists()

    first = run_module(main, args)
    assert first["installed"] == ["etcd", "etcdctl"]
    assert (dest / "etcd").read_bytes() == b"etcd 3.5.1"
    assert oct(os.stat(dest / "etcd").st_mode & 0o777) == "0o755"

    assert not run_module(main, args, check_mode=True)["changed"]
    assert not run_module(main, args)["changed"]

    # A new release replaces only what differs, and the copied archive can be removed.
    newer = tmp_path / "etcd-v3.5.2-linux-amd64.tar.gz"
    make_archive(newer, "3.5.2", [("etcd", b"etcd 3.5.2"), ("etcdctl", b"etcdctl 3.5.1")])
    upgraded = run_module(main, dict(args, archive=str(newer), remove_archive=True))
    assert upgraded["installed"] == ["etcd"]
    assert (dest / "etcd").read_bytes() == b"etcd 3.5.2"
    assert not newer.exists()


def test_missing_binary_in_archive_fails(tmp_path, run_module):
    archive = tmp_path / "etcd-v3.4.23-linux-amd64.tar.gz"
    make_archive(archive, "3.4.23", [("etcd", b"x"), ("etcdctl", b"y")])
    result = run_module(main, {"archive": str(archive), "dest": str(tmp_path), "names": ["etcd", "etcdutl"]})
    assert result["failed"] and "etcdutl" in result["msg"]


def test_user_is_left_alone_when_present_and_reported_in_check_mode(tmp_path, run_module):
    archive = tmp_path / "etcd-v3.5.1-linux-amd64.tar.gz"
    make_archive(archive, "3.5.1", [("etcd", b"etcd 3.5.1"), ("etcdctl", b"etcdctl 3.5.1")])
    args = {"archive": str(archive), "dest": str(tmp_path), "names": ["etcd", "etcdctl"]}
    run_module(main, args)
    # root exists on every host: nothing to create, nothing changed.
    present = run_module(main, dict(args, user="root"))
    assert not present["changed"] and present["user_created"] is False
    # A missing user is reported as a change in check mode, and nothing is run.
    missing = run_module(main, dict(args, user="dcs-etcd-no-such-user"), check_mode=True)
    assert missing["changed"] and missing["user_created"] is True and missing["installed"] == []


def test_useradd_makes_a_system_user_with_its_group_and_no_shell():
    argv = useradd_argv("/usr/sbin/useradd", "etcd", "/var/lib/etcd")
    assert argv[0] == "/usr/sbin/useradd" and argv[-1] == "etcd"
    for flag in ("--system", "--user-group", "--no-create-home"):
        assert flag in argv
    assert argv[argv.index("--shell") + 1] == "/usr/sbin/nologin"
    assert argv[argv.index("--home-dir") + 1] == "/var/lib/etcd"
