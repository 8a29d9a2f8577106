"""etcd_files on real files in a temporary directory: changed, check mode, diff, idempotence."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
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


def test_a_new_key_never_exists_with_a_wider_mode(tmp_path, run_module, monkeypatch):
    """Every write renames a temporary file that already has the final mode over the target; nothing widens
    the mode afterwards. (Before the fix, the module's atomic move made a new file 0644 after the rename, and
    only then was it set to 0600.)"""
    seen = []
    real_rename, real_chmod = os.rename, os.chmod

    def rename(src, dst, *a, **kw):
        seen.append(("rename", str(dst), os.stat(src).st_mode & 0o777))
        return real_rename(src, dst, *a, **kw)

    def chmod(path, mode, *a, **kw):
        seen.append(("chmod", str(path), mode & 0o777))
        return real_chmod(path, mode, *a, **kw)

    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "chmod", chmod)
    run_module(main, args(tmp_path))
    key = str(tmp_path / "etc" / "server.key")
    on_key = [(what, mode) for what, path, mode in seen if path == key]
    assert on_key == [("rename", 0o600)], seen
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"


def test_empty_content_is_refused_before_anything_is_written(tmp_path, run_module):
    """A certificate or key that could not be read on the controller arrives as empty content."""
    result = run_module(main, args(tmp_path, key=""))
    assert result["failed"] and "refusing to write empty content to %s" % (tmp_path / "etc" / "server.key") in result["msg"]
    assert not (tmp_path / "etc").exists()
    result = run_module(main, args(tmp_path, content="  \n"))
    assert result["failed"] and not (tmp_path / "etc").exists()


def test_restart_needed_only_for_restart_paths_beyond_minor_lines(tmp_path, run_module):
    conf = str(tmp_path / "etc" / "etcd.conf")
    base = dict(args(tmp_path, content='name: "etcd-1"\ninitial-cluster: "a"\n'), restart_paths=[conf],
                minor_lines=["^initial-cluster: "])
    assert run_module(main, base)["restart_needed"]
    minor = dict(base, files=[dict(base["files"][0], content='name: "etcd-1"\ninitial-cluster: "b"\n')])
    result = run_module(main, minor)
    assert result["changed"] and result["minor_paths"] == [conf] and not result["restart_needed"]
    major = dict(base, files=[dict(base["files"][0], content='name: "etcd-2"\ninitial-cluster: "b"\n')])
    assert run_module(main, major)["restart_needed"]
    # A changed file that is not a restart path (the etcdctl profile) restarts nothing.
    assert not run_module(main, dict(major, restart_paths=[], files=[dict(base["files"][0], content="x")]))["restart_needed"]


def test_rmdir_removes_only_an_empty_directory(tmp_path, run_module):
    data = tmp_path / "data"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "notes.txt").write_text("an operator's file")
    spec = {"absent": [str(data / "member")], "rmdir": [str(data)]}
    checked = run_module(main, spec, check_mode=True)
    assert checked["changed"] and (data / "member").exists()
    kept = run_module(main, spec)
    assert kept["changed_paths"] == [str(data / "member")] and kept["kept"] == [{"path": str(data), "entries": ["notes.txt"]}]
    assert (data / "notes.txt").exists() and not (data / "member").exists()
    (data / "notes.txt").unlink()
    assert run_module(main, spec)["changed_paths"] == [str(data)] and not data.exists()
    assert not run_module(main, spec)["changed"]


def test_exclusive_removes_only_the_other_files_of_the_pattern(tmp_path, run_module):
    targets = tmp_path / "targets"
    targets.mkdir()
    for name in ("etcd-1.yml", "etcd-9.yml", "etcd-meta-1.yml", "notes.txt"):
        (targets / name).write_text("old\n")
    spec = {"files": [{"path": str(targets / "etcd-1.yml"), "content": "new"}],
            "exclusive": [{"path": str(targets), "regexp": r"^etcd-[0-9]+\.yml$"}]}
    checked = run_module(main, spec, check_mode=True)
    assert checked["changed_paths"] == [str(targets / "etcd-1.yml"), str(targets / "etcd-9.yml")]
    assert (targets / "etcd-9.yml").exists()
    done = run_module(main, spec)
    assert done["changed_paths"] == [str(targets / "etcd-1.yml"), str(targets / "etcd-9.yml")]
    # Another cluster's files (etcd-meta) and other files stay.
    assert sorted(p.name for p in targets.iterdir()) == ["etcd-1.yml", "etcd-meta-1.yml", "notes.txt"]
    assert not run_module(main, spec)["changed"]
    gone = run_module(main, {"exclusive": [{"path": str(tmp_path / "absent"), "regexp": "."}]})
    assert not gone["changed"]


def test_exclusive_keeps_the_files_it_is_told_to(tmp_path, run_module):
    targets = tmp_path / "targets"
    targets.mkdir()
    for name in ("etcd-1.yml", "etcd-2.yml", "etcd-3.yml"):
        (targets / name).write_text("old\n")
    spec = {"exclusive": [{"path": str(targets), "regexp": r"^etcd-[0-9]+\.yml$",
                           "keep": [str(targets / "etcd-1.yml"), str(targets / "etcd-2.yml")]}]}
    assert run_module(main, spec)["changed_paths"] == [str(targets / "etcd-3.yml")]
    assert sorted(p.name for p in targets.iterdir()) == ["etcd-1.yml", "etcd-2.yml"]
