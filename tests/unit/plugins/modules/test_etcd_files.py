"""etcd_files on real files in a temporary directory: changed, check mode, diff, idempotence."""
import getpass
import os

from ansible_collections.dcs.etcd.plugins.modules.etcd_files import main

USER = getpass.getuser()


def args(tmp_path, content="name: etcd-1\n", key="SECRET KEY\n", mode="0640"):
    return {
        "directories": [{"path": str(tmp_path / "etc"), "owner": USER, "mode": "0750"}],
        "files": [{"path": str(tmp_path / "etc" / "etcd.conf"), "content": content, "owner": USER, "mode": mode}],
        "secret_files": [{"path": str(tmp_path / "etc" / "server.key"), "content": key, "mode": "0600"}],
    }


def test_changed_in_check_mode_then_changed_then_unchanged(tmp_path, run_module):
    checked = run_module(main, args(tmp_path), check_mode=True, diff=True)
    assert checked["changed"] and not (tmp_path / "etc").exists()
    first = run_module(main, args(tmp_path), diff=True)
    assert first["changed"]
    assert first["changed_paths"] == [str(tmp_path / "etc"), str(tmp_path / "etc/etcd.conf"), str(tmp_path / "etc/server.key")]
    assert (tmp_path / "etc/etcd.conf").read_text() == "name: etcd-1\n"
    assert oct(os.stat(tmp_path / "etc/server.key").st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "etc").st_mode & 0o777) == "0o750"
    assert not run_module(main, args(tmp_path), check_mode=True)["changed"]
    assert not run_module(main, args(tmp_path))["changed"]


def test_diff_shows_config_but_never_the_secret(tmp_path, run_module):
    run_module(main, args(tmp_path))
    result = run_module(main, args(tmp_path, content="name: etcd-2\n", key="OTHER SECRET\n"), diff=True)
    assert result["changed_paths"] == [str(tmp_path / "etc/etcd.conf"), str(tmp_path / "etc/server.key")]
    text = repr(result["diff"])
    assert "name: etcd-1" in text and "name: etcd-2" in text
    assert "SECRET" not in text
    assert (tmp_path / "etc/server.key").read_text() == "OTHER SECRET\n"


def test_mode_change_alone_is_reported_and_fixed(tmp_path, run_module):
    run_module(main, args(tmp_path))
    result = run_module(main, args(tmp_path, mode="0600"))
    assert result["changed_paths"] == [str(tmp_path / "etc/etcd.conf")]
    assert oct(os.stat(tmp_path / "etc/etcd.conf").st_mode & 0o777) == "0o600"
