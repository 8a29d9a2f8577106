"""Maintenance of a running 3-member cluster with a 16 MiB quota, keys checked with the etcd3 client.

In order: the disk check refuses to add a member on a disk slower than its threshold (set below anything
real), before any change, using fio; a fragmented database is compacted and defragmented under client load,
one member at a time, never the leader while it leads, by a first run killed after the first member and the
same command run again, every member smaller after, and a further run changes nothing; the cluster is filled
until NOSPACE, and the same command, under client load, brings it back to writable with every key
acknowledged before; a quota that is still too small after compaction is refused with
the figure to raise it to; a naive defragmentation of every member at once, under the same load, for the
write stall it costs."""
import json
import pathlib
import re
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import (PKI, LoadWriter, archive, changes, interrupted, inventory, load_members, pids, playbook,  # noqa: E402
                 record, ssh, ssh_background)
from load import client as load_client  # noqa: E402  (tests/, put on the path by ops)

HOSTS = ["10.89.82.1%d" % i for i in (1, 2, 3)]
GROUP_VARS = dict(etcd_archive_src=str(archive("3.6.17")), etcd_quota_backend_bytes=16777216,
                  etcd_defrag_min_free_bytes=1048576, etcd_maintain_keep_revisions=100)
INV = inventory(HOSTS, **GROUP_VARS)
MIB = 1024 * 1024
FIGURES = {}


def ctl(host, args):
    return ssh(host, ". /etc/profile.d/etcdctl.sh && etcdctl %s" % args, check=False)


def statuses():
    out = ssh(HOSTS[0], ". /etc/profile.d/etcdctl.sh && etcdctl endpoint status --cluster -w json")
    return {e["Endpoint"].split("//")[1].split(":")[0]: e["Status"] for e in json.loads(out)}


def fragment(rounds=60, size=100000):
    """Overwrite five keys with 100 kB values: each overwrite leaves the old value in the database until a
    compaction, and its pages free (not returned) until a defragmentation."""
    value = "f" * size
    client = probe_client()
    for i in range(rounds):
        client.put("/fragment/%d" % (i % 5), value)
    # More than etcd_maintain_keep_revisions (100) small writes after them: the overwritten values are compacted.
    for i in range(150):
        client.put("/after-fragment/%d" % i, "x")


def probe_client(host=None):
    host = host or HOSTS[0]
    return load_client(host, str(PKI), str(PKI / "members" / host), timeout=5)


def run_under_load(action, rate=20, refused=False):
    """action() under the load writer, once writes flow (refused: once the writer has been refused, as under a
    NOSPACE alarm), and until writes flow again after it."""
    with LoadWriter(load_members(HOSTS), str(PKI), rate=rate) as load:
        if refused:
            load.settle_refused()
        else:
            load.settle()
        started = time.monotonic()
        result = action()
        seconds = round(time.monotonic() - started, 1)
        load.settle()
    report = load.report()
    report["seconds"] = seconds
    report["lost"] = {h: len(keys) for h, keys in load.verify(load_members(HOSTS)).items()}
    return result, report


def test_01_a_slow_disk_refuses_a_new_member_before_anything_changes():
    playbook(INV, "-l", HOSTS[2], "-t", "etcd_purge")
    out = playbook(INV, "-l", HOSTS[2], "-e", "etcd_init=existing", "-e", "etcd_disk_check=fail",
                   "-e", "etcd_disk_fsync_p99_max_ms=0.0001", fail=True)
    assert "etcd_disk_check=fail: %s (fio, on the file system of /" % HOSTS[2] in out and "Nothing was changed" in out
    assert changes(out) == 0
    FIGURES["disk_check"] = {"fdatasync_p99_ms_fio": float(re.search(r"fdatasync p99 is ([\d.]+) ms", out).group(1))}
    assert ssh(HOSTS[2], "systemctl is-active etcd", check=False).strip() != "active"
    assert ssh(HOSTS[2], "test -e /etc/etcd/etcd.conf && echo yes || echo no").strip() == "no"
    # With the default (warn), the member is added.
    out = playbook(INV, "-l", HOSTS[2], "-e", "etcd_init=existing")
    assert len(statuses()) == 3


DEFRAGMENTED = r"(etcd-\d): [\d.]+ MiB -> [\d.]+ MiB \(leading: (yes|no)\)"


def test_02_a_fragmented_database_is_defragmented_one_member_at_a_time_never_while_it_leads():
    fragment()
    before = statuses()

    def killed_then_again():
        # The controller dies once the first member is defragmented, before the next: the same command
        # defragments the other two.
        killed = interrupted(INV, "Wait until the cluster is healthy again before the next member",
                             "-t", "etcd_maintain")
        return killed, playbook(INV, "-t", "etcd_maintain")

    (killed, out), report = run_under_load(killed_then_again)
    assert report["lost"] == {} and report["acknowledged"] > 50, report
    after = statuses()
    for host in HOSTS:
        assert after[host]["dbSize"] < before[host]["dbSize"], (host, before[host]["dbSize"], after[host]["dbSize"])
    first, rest = re.findall(DEFRAGMENTED, killed), re.findall(DEFRAGMENTED, out)
    assert len(first) == 1 and len(rest) == 2, (first, rest)
    assert sorted(name for name, _leading in first + rest) == ["etcd-1", "etcd-2", "etcd-3"]
    assert [leading for _name, leading in first + rest] == ["no", "no", "no"], out[-3000:]
    FIGURES["ours"] = dict(report, sizes_before=[before[h]["dbSize"] for h in HOSTS],
                           sizes_after=[after[h]["dbSize"] for h in HOSTS])
    # The load wrote on after the compaction: the next run compacts those revisions (and finds nothing to
    # defragment); a run after it, with no write in between, changes nothing and restarts nothing.
    again = playbook(INV, "-t", "etcd_maintain")
    assert "Defragment etcd-" not in again
    before_pids = pids(HOSTS)
    assert changes(playbook(INV, "-t", "etcd_maintain")) == 0
    assert pids(HOSTS) == before_pids


def fill_until_nospace():
    client = probe_client()
    acknowledged = {}
    value = "n" * 200000
    for i in range(1000):
        try:
            client.put("/fill/%d" % (i % 10), value)
        except Exception as exc:  # noqa: BLE001 - etcd3 raises its own types for ResourceExhausted
            assert "database space exceeded" in str(exc) or "RESOURCE_EXHAUSTED" in str(exc).upper(), exc
            break
        acknowledged["/fill/%d" % (i % 10)] = value
    else:
        raise AssertionError("the quota was never reached")
    assert "NOSPACE" in ctl(HOSTS[0], "alarm list")
    return acknowledged


def test_03_nospace_is_recovered_under_load_with_every_acknowledged_key():
    client = probe_client()
    for i in range(100):
        client.put("/kept/%03d" % i, "v%d" % i)
    kept = dict(("/kept/%03d" % i, "v%d" % i) for i in range(100))
    filled = fill_until_nospace()
    out, report = run_under_load(lambda: playbook(INV, "-t", "etcd_maintain"), refused=True)
    assert report["lost"] == {}, report
    assert ctl(HOSTS[0], "alarm list").strip() == ""
    assert ctl(HOSTS[0], "put /after-nospace ok").strip() == "OK"
    for host in HOSTS:
        c = probe_client(host)
        for key, value in list(kept.items()) + list(filled.items()):
            got, _meta = c.get(key, serializable=True)
            assert got is not None and got.decode() == value, (host, key)
    assert re.findall(r"\(leading: (yes|no)\)", out) == ["no", "no", "no"]
    FIGURES["nospace"] = report


def test_04_a_quota_that_is_still_too_small_is_refused_with_the_figure():
    client = probe_client()
    value = "q" * 200000
    # Live data (distinct keys): compaction frees none of it.
    for i in range(200):
        try:
            client.put("/live/%d" % i, value)
        except Exception:  # noqa: BLE001
            break
    out = playbook(INV, "-t", "etcd_maintain", fail=True)
    assert "raise etcd_quota_backend_bytes to" in out and "The alarm stays raised" in out
    assert "NOSPACE" in ctl(HOSTS[0], "alarm list")
    # Deleting data is allowed under NOSPACE; then the maintenance recovers.
    client.delete_prefix("/live/")
    playbook(INV, "-t", "etcd_maintain")
    assert ctl(HOSTS[0], "alarm list").strip() == ""


def test_05_a_naive_defragmentation_of_every_member_at_once():
    fragment()
    before = statuses()

    def naive():
        # The same compaction as ours (keep 100 revisions), then every member defragmented at the same time.
        revision = int(statuses()[HOSTS[0]]["header"]["revision"])
        ctl(HOSTS[0], "compaction --physical %d" % max(revision - 100, 1))
        commands = [". /etc/profile.d/etcdctl.sh && ETCDCTL_ENDPOINTS=https://%s:2379 etcdctl defrag" % h for h in HOSTS]
        procs = [ssh_background(h, c) for h, c in zip(HOSTS, commands)]
        for proc in procs:
            proc.wait(timeout=300)
    _none, report = run_under_load(naive)
    assert report["lost"] == {}, report
    after = statuses()
    for host in HOSTS:
        assert after[host]["dbSize"] < before[host]["dbSize"] // 2, (host, before[host]["dbSize"], after[host]["dbSize"])
    FIGURES["naive"] = dict(report, sizes_before=[before[h]["dbSize"] for h in HOSTS],
                            sizes_after=[after[h]["dbSize"] for h in HOSTS])
    record("maintenance: ours against a naive defragmentation of every member at once (3 members, 16 MiB quota)",
           dict((k, dict((f, v[f]) for f in ("seconds", "acknowledged", "max_stall_s", "errors", "sizes_before",
                                             "sizes_after", "fdatasync_p99_ms_fio") if f in v)) for k, v in FIGURES.items()))
