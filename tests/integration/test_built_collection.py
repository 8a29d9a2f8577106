"""The built collection (ansible-galaxy collection build) provides the same playbook as dcs.etcd.etcd, with
every stage tagged, and carries none of the checkout-only files."""
import os
import pathlib
import subprocess
import tarfile

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_built_collection_playbook_and_tags(tmp_path):
    subprocess.run(["ansible-galaxy", "collection", "build", str(ROOT), "--output-path", str(tmp_path)],
                   check=True, capture_output=True, cwd=tmp_path)
    artifact = next(tmp_path.glob("dcs-etcd-*.tar.gz"))
    names = tarfile.open(artifact).getnames()
    assert "playbooks/etcd.yml" in names and "roles/etcd/meta/argument_specs.yml" in names
    assert not [n for n in names if n.startswith((".cache", ".venv", ".collections")) or n == "etcd.yml"]

    collections = tmp_path / "collections"
    subprocess.run(["ansible-galaxy", "collection", "install", str(artifact), "-p", str(collections)],
                   check=True, capture_output=True, cwd=tmp_path)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("[etcd]\n127.0.0.11 etcd_seq=1\n")
    # Run outside the checkout, so its ansible.cfg and .collections link play no part.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1")
    env.pop("ANSIBLE_CONFIG", None)
    tags = subprocess.run(["ansible-playbook", "-i", str(inventory), "dcs.etcd.etcd", "--list-tags"],
                          check=True, capture_output=True, text=True, cwd=tmp_path, env=env).stdout
    for tag in ("etcd_assert", "etcd_install", "etcd_dir", "etcd_config", "etcd_cert", "etcd_conf", "etcd_launch",
                "etcd_clean", "etcd_purge", "etcd_register"):
        assert tag in tags
    # ansible-doc renders the modules that talk to etcd, with the shared connection options.
    for module, option in (("etcd_member", "promote"), ("etcd_cluster_info", "endpoints"), ("etcd_leader", "follower"),
                           ("etcd_snapshot", "etcdutl_path")):
        doc = subprocess.run(["ansible-doc", "dcs.etcd." + module], check=True, capture_output=True, text=True,
                             cwd=tmp_path, env=env).stdout
        assert option in doc and "etcdctl_path" in doc and "ETCDCTL_ENDPOINTS" in doc
    plan = subprocess.run(["ansible-doc", "dcs.etcd.etcd_plan"], check=True, capture_output=True, text=True,
                          cwd=tmp_path, env=env).stdout
    assert "refusals" in plan and "probe_var" in plan
