"""The changelog fragments make correct release notes: antsibull-changelog lints them and releases the
galaxy.yml version in a copy of the collection, with a release summary, every module and lookup listed once
(from their version_added), and no fragment announcing a module by hand."""
import pathlib
import re
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_release_notes(tmp_path):
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    copy = tmp_path / "ansible_collections" / "dcs" / "etcd"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", ".cache", "collections", ".ansible"))
    subprocess.run(["antsibull-changelog", "lint"], check=True, cwd=copy)
    subprocess.run(["antsibull-changelog", "release", "--version", version, "--date", "2026-12-03"], check=True, cwd=copy)
    notes = (copy / "CHANGELOG.rst").read_text()
    assert "v%s\n" % version in notes and "Release Summary\n---------------" in notes
    modules = sorted(p.stem for p in (ROOT / "plugins/modules").glob("*.py"))
    lookups = sorted(p.stem for p in (ROOT / "plugins/lookup").glob("*.py"))
    new = notes[notes.index("New Plugins\n-----------"):]
    listed = re.findall(r"^- (\w+) - ", new, re.M)
    for name in modules + lookups:
        assert listed.count(name) == 1, "%s is listed %d times in the release notes" % (name, listed.count(name))
    for fragment in (ROOT / "changelogs/fragments").glob("*.yml"):
        assert not re.search(r"new (module|lookup)\b", fragment.read_text(), re.I), fragment.name
