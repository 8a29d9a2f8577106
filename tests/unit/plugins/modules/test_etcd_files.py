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


def test_lines_replace_matching_lines_and_keep_mode(tmp_path, run_module):
    conf = tmp_path / "etcd.conf"
    conf.write_text('name: "etcd-1"\ninitial-cluster: "etcd-1=https://a:2380"\ninitial-cluster-state: new\n')
    conf.chmod(0o640)
    args = {"lines": [
        {"path": str(conf), "regexp": "^initial-cluster: ", "line": 'initial-cluster: "etcd-1=https://a:2380,etcd-2=https://b:2380"'},
        {"path": str(tmp_path / "absent.conf"), "regexp": "^x", "line": "y"},
    ]}
    checked = run_module(main, args, check_mode=True, diff=True)
    assert checked["changed"] and "etcd-2" in checked["diff"][0]["after"]
    assert "etcd-2" not in conf.read_text()
    done = run_module(main, args)
    assert done["changed_paths"] == [str(conf)]
    assert conf.read_text() == ('name: "etcd-1"\ninitial-cluster: "etcd-1=https://a:2380,etcd-2=https://b:2380"\n'
                                "initial-cluster-state: new\n")
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
    assert not run_module(main, args, check_mode=True)["changed"]
    assert not run_module(main, args)["changed"]


def test_a_change_of_minor_lines_only_is_reported_as_minor(tmp_path, run_module):
    conf = tmp_path / "etcd.conf"
    conf.write_text('name: "etcd-1"\ninitial-cluster: "etcd-1=https://a:2380"\ninitial-cluster-state: existing\n')
    minor = ["^initial-cluster: ", "^initial-cluster-state: "]
    membership = 'name: "etcd-1"\ninitial-cluster: "etcd-1=https://a:2380,etcd-2=https://b:2380"\ninitial-cluster-state: new\n'
    os.utime(conf, (1000000000, 1000000000))
    result = run_module(main, {"files": [{"path": str(conf), "content": membership}], "minor_lines": minor})
    assert result["changed_paths"] == [str(conf)] and result["minor_paths"] == [str(conf)]
    # A minor change keeps the modification time: the running member does not look outdated.
    assert conf.read_text() == membership and conf.stat().st_mtime == 1000000000
    renamed = membership.replace("etcd-1\"\n", "etcd-9\"\n", 1)
    result = run_module(main, {"files": [{"path": str(conf), "content": renamed}], "minor_lines": minor})
    assert result["changed_paths"] == [str(conf)] and result["minor_paths"] == []
    assert conf.stat().st_mtime > 1000000000
    # A new file is never minor.
    fresh = tmp_path / "new.conf"
    result = run_module(main, {"files": [{"path": str(fresh), "content": membership}], "minor_lines": minor})
    assert result["minor_paths"] == []


def test_absent_removes_files_and_trees(tmp_path, run_module):
    data = tmp_path / "data"
    (data / "member" / "wal").mkdir(parents=True)
    unit = tmp_path / "etcd.service"
    unit.write_text("[Unit]\n")
    args = {"absent": [str(data), str(unit), str(tmp_path / "never-there")]}
    checked = run_module(main, args, check_mode=True)
    assert checked["changed_paths"] == [str(data), str(unit)] and data.exists()
    assert run_module(main, args)["changed_paths"] == [str(data), str(unit)]
    assert not data.exists() and not unit.exists()
    assert not run_module(main, args)["changed"]
