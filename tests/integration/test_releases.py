"""etcd 3.5, 3.6 and 3.7 built from etcd's Go modules by the test bed (`tests/testbed/testbed.py build`, the newest
patch of each minor that Go's module proxy serves, cached per version): each archive has the official layout, each
binary says its version, and each release starts once on loopback and serves a write, a read and a snapshot."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tarfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MINORS = ("3.5", "3.6", "3.7")


def build(minor):
    """(archive path, version) of the newest patch of minor, built or taken from the cache."""
    res = subprocess.run([sys.executable, str(ROOT / "tests/testbed/testbed.py"), "build", minor], check=False,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    path, _digest, version = res.stdout.split()[:3]
    return pathlib.Path(path), version


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("minor", MINORS)
def test_release_built_from_go_modules_starts_and_serves(tmp_path, minor):
    archive, version = build(minor)
    assert version.startswith(minor + ".")
    top = "etcd-v%s-linux-amd64" % version
    assert archive.name == top + ".tar.gz"
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["%s/%s" % (top, name) for name in ("etcd", "etcdctl", "etcdutl")]
        tar.extractall(tmp_path, filter="data")
    binaries = tmp_path / top
    said = {name: subprocess.run([str(binaries / name), arg], capture_output=True, text=True, check=True).stdout
            for name, arg in (("etcd", "--version"), ("etcdctl", "version"), ("etcdutl", "version"))}
    assert "etcd Version: %s\n" % version in said["etcd"]
    assert "etcdctl version: %s\n" % version in said["etcdctl"]
    assert "etcdutl version: %s\n" % version in said["etcdutl"]

    client, peer = "http://127.0.0.1:%d" % free_port(), "http://127.0.0.1:%d" % free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ETCDCTL_")}
    log = open(tmp_path / "etcd.log", "w")
    proc = subprocess.Popen(
        [str(binaries / "etcd"), "--name", "one", "--data-dir", str(tmp_path / "data"),
         "--listen-client-urls", client, "--advertise-client-urls", client, "--listen-peer-urls", peer,
         "--initial-advertise-peer-urls", peer, "--initial-cluster", "one=" + peer],
        stdout=log, stderr=subprocess.STDOUT)

    def etcdctl(*args):
        return subprocess.run([str(binaries / "etcdctl"), "--endpoints=" + client, *args], capture_output=True,
                              text=True, check=False, env=env, timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            res = etcdctl("endpoint", "status", "-w", "json")
            if res.returncode == 0 or proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert res.returncode == 0, (res.stderr, (tmp_path / "etcd.log").read_text()[-3000:])
        assert json.loads(res.stdout)[0]["Status"]["version"] == version
        assert etcdctl("put", "/release", version).returncode == 0
        assert etcdctl("get", "/release", "--print-value-only").stdout.strip() == version
        snapshot = tmp_path / "snap.db"
        saved = etcdctl("snapshot", "save", str(snapshot))
        assert saved.returncode == 0, saved.stderr
        status = subprocess.run([str(binaries / "etcdutl"), "snapshot", "status", str(snapshot), "-w", "json"],
                                capture_output=True, text=True, check=True)
        assert json.loads(status.stdout)["revision"] >= 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
