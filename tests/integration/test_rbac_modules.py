"""dcs.etcd.etcd_role, etcd_user and etcd_auth against a real etcd member on loopback, for etcd 3.4.23 (Debian
12's package, which has no `auth status`), 3.5.16 (Debian 13's) and the newest 3.6 and 3.7 (built from etcd's Go
modules): tests/integration/playbooks/etcd_rbac.yml.
Afterwards, what the playbook left is checked with etcdctl itself."""
import json
import os
import subprocess
import sys
import time

import pytest

from test_modules import ROOT, Member, bin_dir

PLAYBOOK = ROOT / "tests" / "integration" / "playbooks" / "etcd_rbac.yml"


@pytest.mark.parametrize("source,version", [("bookworm", "3.4.23"), ("trixie", "3.5.16"), ("3.6", "3.6."), ("3.7", "3.7.")])
def test_rbac_modules(tmp_path, source, version):
    binaries = bin_dir(source)
    member = Member(binaries, tmp_path, "etcd-1")
    ctl = [str(binaries / "etcdctl"), "--endpoints=" + member.client]
    env = dict(os.environ)
    try:
        member.start("etcd-1=" + member.peer, "new")
        for attempt in range(100):
            if subprocess.run(ctl + ["endpoint", "health"], capture_output=True, check=False, env=env).returncode == 0:
                break
            time.sleep(0.2)
        extra = {"bin_dir": str(binaries), "endpoints": [member.client]}
        res = subprocess.run(["ansible-playbook", "-i", "localhost,", str(PLAYBOOK), "-e", json.dumps(extra)], cwd=ROOT,
                             env=dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable),
                             capture_output=True, text=True, check=False, timeout=300)
        assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
        # No password reached the output.
        assert "it-App-" not in res.stdout and "it-Root-1" not in res.stdout
        # What is left: root and its role, authentication off.
        users = json.loads(subprocess.run(ctl + ["user", "list", "-w", "json"], capture_output=True, text=True,
                                          check=True, env=env).stdout)
        assert users.get("users") == ["root"]
        assert subprocess.run(ctl + ["put", "/x", "1"], capture_output=True, check=False, env=env).returncode == 0
    finally:
        member.stop()
