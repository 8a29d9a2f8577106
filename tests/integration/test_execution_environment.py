"""The collection works in an execution environment (AWX, Automation Controller): ansible-builder reads its
meta/execution-environment.yml and finds every Python and system requirement the collection names, and the
example definition of docs/execution-environment.yml makes a build context with the built collection in it.
No image is built (that needs a container engine with a registry to pull the base image from)."""
import pathlib
import re
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def requirement_lines(path):
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")]


def test_ansible_builder_finds_every_requirement(tmp_path):
    subprocess.run(["ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    version = yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"]
    artifact = tmp_path / ("dcs-etcd-%s.tar.gz" % version)
    collections = tmp_path / "collections"
    subprocess.run(["ansible-galaxy", "collection", "install", str(artifact), "-p", str(collections)],
                   check=True, capture_output=True, cwd=tmp_path)
    found = subprocess.run(["ansible-builder", "introspect", "--sanitize", str(collections)], check=True,
                           capture_output=True, text=True).stdout
    data = yaml.safe_load(found[found.index("---"):])
    meta = yaml.safe_load((ROOT / "meta/execution-environment.yml").read_text())["dependencies"]
    for kind in ("python", "system"):
        wanted = requirement_lines(ROOT / meta[kind])
        assert wanted, kind
        got = [re.sub(r"\s+# from collection .*", "", line) for line in data[kind]]
        assert sorted(got) == sorted(wanted), (kind, data[kind])
        assert all("from collection dcs.etcd" in line for line in data[kind])

    # The documented definition: a build context with the collection, its galaxy requirement and the core pin.
    definition = tmp_path / "execution-environment.yml"
    shutil.copy(ROOT / "docs/execution-environment.yml", definition)
    subprocess.run(["ansible-builder", "create", "-f", str(definition), "--context", str(tmp_path / "context")],
                   check=True, capture_output=True, cwd=tmp_path)
    context = tmp_path / "context"
    assert (context / "_build/collections" / artifact.name).is_file()
    galaxy = yaml.safe_load((context / "_build/requirements.yml").read_text())
    assert galaxy["collections"] == [{"name": "collections/" + artifact.name, "type": "file"}]
    # ansible-core within the supported matrix (tests/matrix.yml).
    matrix = [e["version"].split(".") for e in yaml.safe_load((ROOT / "tests/matrix.yml").read_text())["ansible_core"]]
    pin = "ansible-core>=%s.%s,<%s.%d" % (matrix[0][0], matrix[0][1], matrix[-1][0], int(matrix[-1][1]) + 1)
    containerfile = (context / "Containerfile").read_text()
    assert pin in containerfile and "ansible-galaxy collection install" in containerfile
