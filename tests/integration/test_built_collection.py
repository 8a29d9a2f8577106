"""The built collection (ansible-galaxy collection build) provides the same playbook as dcs.etcd.etcd, with
every stage tagged, documents every module and the role, and carries none of the development tooling."""
import json
import os
import pathlib
import subprocess
import tarfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_built_collection_playbook_and_tags(tmp_path):
    subprocess.run(["ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    artifact = next(tmp_path.glob("dcs-etcd-*.tar.gz"))
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("MANIFEST.json"))["collection_info"]
    assert "playbooks/etcd.yml" in names and "roles/etcd/meta/argument_specs.yml" in names and "LICENSE" in names
    tooling = (".cache", ".venv", "collections", ".ci", ".config", ".git", ".ansible-lint", "Makefile", "molecule",
               "scripts", "tests", "ansible.cfg")
    assert not [n for n in names if n.split("/")[0] in tooling or n == "etcd.yml"]
    # Real metadata: an SPDX licence, no placeholder address.
    assert manifest["license"] == ["GPL-3.0-or-later"]
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    for key in ("repository", "documentation", "homepage", "issues"):
        assert "example" not in str(galaxy.get(key) or "") and "example" not in str(manifest.get(key) or "")

    collections = tmp_path / "collections"
    subprocess.run(["ansible-galaxy", "collection", "install", str(artifact), "-p", str(collections)],
                   check=True, capture_output=True, cwd=tmp_path)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[etcd]\n127.0.0.11 etcd_seq=1\n")
    # Run outside the checkout, so its ansible.cfg and collections link play no part.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    tags = subprocess.run(["ansible-playbook", "-i", str(inventory), "dcs.etcd.etcd", "--list-tags"],
                          check=True, capture_output=True, text=True, cwd=tmp_path, env=env).stdout
    for tag in ("etcd_assert", "etcd_install", "etcd_dir", "etcd_config", "etcd_cert", "etcd_conf", "etcd_launch",
                "etcd_clean", "etcd_purge", "etcd_register"):
        assert tag in tags
    # Every module and the role's entry points are documented from the installed collection.
    modules = sorted(p.stem for p in (ROOT / "plugins/modules").glob("*.py"))
    listed = subprocess.run(["ansible-doc", "-l", "dcs.etcd", "--json"], check=True, capture_output=True, text=True,
                            cwd=tmp_path, env=env).stdout
    assert sorted(name.split(".")[-1] for name in json.loads(listed)) == modules
    for module in modules:
        doc = subprocess.run(["ansible-doc", "dcs.etcd." + module], check=True, capture_output=True, text=True,
                             cwd=tmp_path, env=env).stdout
        assert "EXAMPLES" in doc and "RETURN VALUES" in doc, module
    role = subprocess.run(["ansible-doc", "-t", "role", "dcs.etcd.etcd"], check=True, capture_output=True, text=True,
                          cwd=tmp_path, env=env).stdout
    assert "etcd_seq" in role and "etcd_safeguard" in role
    syntax = subprocess.run(["ansible-playbook", "-i", str(inventory), "dcs.etcd.etcd", "--syntax-check"],
                            capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert syntax.returncode == 0, syntax.stdout + syntax.stderr
    # ansible-doc renders the modules that talk to etcd, with the shared connection options.
    for module, option in (("etcd_member", "promote"), ("etcd_cluster_info", "endpoints"), ("etcd_leader", "follower"),
                           ("etcd_snapshot", "etcdutl_path")):
        doc = subprocess.run(["ansible-doc", "dcs.etcd." + module], check=True, capture_output=True, text=True,
                             cwd=tmp_path, env=env).stdout
        assert option in doc and "etcdctl_path" in doc and "ETCDCTL_ENDPOINTS" in doc
    plan = subprocess.run(["ansible-doc", "dcs.etcd.etcd_plan"], check=True, capture_output=True, text=True,
                          cwd=tmp_path, env=env).stdout
    assert "refusals" in plan and "probe_var" in plan
