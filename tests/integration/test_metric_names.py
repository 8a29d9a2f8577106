"""Every metric the rules and the dashboard use is one that real etcd exports: the names are read from a
scrape of a 2-member cluster (peer round trips need a peer) of etcd 3.4.23, 3.5.16 and the newest 3.6 and 3.7
(3.6 removed etcd_http_* and etcd_debugging_mvcc_range_total), run on loopback with the default --metrics basic.
The scheduled backup's metrics (etcd_backup_*) are not etcd's: they are the names its program writes into the node
exporter's textfile."""
import json
import os
import pathlib
import re
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.dcs.etcd.plugins.module_utils import _backup  # noqa: E402
from test_modules import Member, bin_dir  # noqa: E402
from test_prometheus_rules import render_rules  # noqa: E402

DASHBOARD = ROOT / "roles" / "etcd" / "files" / "etcd-overview.json"
NAME = re.compile(r"\b((?:etcd|grpc)_[a-z0-9_]+)\s*[{\[]")  # a selector: name{...} or name[...]


def used_names():
    """Metric names in the rules' and the dashboard's expressions (recorded names, with a colon, excluded)."""
    exprs = []
    for line in render_rules(certificates={"etcd-1": 1}).splitlines():
        if line.strip().startswith("expr:"):
            exprs.append(line)
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        exprs.extend(t["expr"] for t in panel["targets"])
    names = set()
    for expr in exprs:
        names.update(n for n in NAME.findall(expr) if ":" not in n)
    return names


def scraped_names(url):
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        return scraped_from_text(response.read().decode())


def test_every_backup_metric_used_is_one_the_backup_program_writes():
    used = set(n for n in used_names() if n.startswith("etcd_backup_"))
    assert used == {"etcd_backup_last_success_timestamp_seconds", "etcd_backup_last_run_success",
                    "etcd_backup_offsite_last_run_success", "etcd_backup_offsite_last_success_timestamp_seconds"}
    text = _backup.textfile("etcd", "etcd-1", dict((name, 1) for name, _help in _backup.METRICS))
    assert used <= scraped_from_text(text)


def scraped_from_text(text):
    """The metric names of a Prometheus text exposition."""
    return set(line.split("{")[0].split()[0] for line in text.splitlines() if line and not line.startswith("#"))


@pytest.mark.parametrize("source,version", [("bookworm", "3.4.23"), ("trixie", "3.5.16"), ("3.6", "3.6."), ("3.7", "3.7.")])
def test_every_metric_used_is_exported(tmp_path, source, version):
    binaries = bin_dir(source)
    first, second = Member(binaries, tmp_path, "etcd-1"), Member(binaries, tmp_path, "etcd-2")
    cluster = "etcd-1=%s,etcd-2=%s" % (first.peer, second.peer)
    env = dict(os.environ)
    wanted = set(n for n in used_names() if not n.startswith("etcd_backup_"))
    assert {"etcd_server_has_leader", "etcd_disk_wal_fsync_duration_seconds_bucket",
            "etcd_network_peer_round_trip_time_seconds_bucket", "grpc_server_handled_total"} <= wanted
    try:
        first.start(cluster, "new")
        second.start(cluster, "new")
        missing = wanted
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            subprocess.run([str(binaries / "etcdctl"), "--endpoints=" + first.client, "put", "/k", "v"],
                           capture_output=True, check=False, env=env)
            try:
                missing = wanted - scraped_names(first.client)
            except OSError:
                missing = wanted
            if not missing:
                break
            time.sleep(1)
        assert not missing, "not exported by etcd %s: %s" % (version, ", ".join(sorted(missing)))
    finally:
        second.stop()
        first.stop()
