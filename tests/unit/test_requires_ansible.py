"""One support statement: meta/runtime.yml, the role's meta and the README name the oldest ansible-core minor
of the tested matrix (tests/matrix.yml) as the floor, and the suite's own pin is the matrix's newest."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
MATRIX = [entry["version"] for entry in yaml.safe_load((ROOT / "tests/matrix.yml").read_text())["ansible_core"]]


def minor(version):
    return ".".join(version.split(".")[:2])


def test_floor_is_the_oldest_tested_minor():
    oldest, newest = minor(MATRIX[0]), minor(MATRIX[-1])
    assert yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"] == ">=%s.0" % oldest
    role_meta = yaml.safe_load((ROOT / "roles/etcd/meta/main.yml").read_text())["galaxy_info"]
    assert role_meta["min_ansible_version"] == oldest
    readme = (ROOT / "README.md").read_text()
    assert "ansible-core %s to %s" % (oldest, newest) in readme
    for version in MATRIX:
        assert version in readme, "the README's support matrix names %s" % version


def test_the_suite_runs_the_newest_release_of_the_matrix():
    pinned = re.search(r"^ansible-core==(\S+)$", (ROOT / "tests/requirements-sandbox.txt").read_text(), re.M).group(1)
    assert pinned == MATRIX[-1]
    assert [tuple(map(int, v.split("."))) for v in MATRIX] == sorted(tuple(map(int, v.split("."))) for v in MATRIX)
