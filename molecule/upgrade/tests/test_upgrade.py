"""Rolling upgrade of a running 3-member cluster from etcd 3.4.23 to 3.5.16, and the version guards.

In order: each refused change (a known-bad release, a skipped minor version, 3.4 to 3.5 with RBAC auth
enabled) fails before any host is touched: same binaries, same processes; then the upgrade while the load
harness writes 20 keys/s: a verified snapshot on the leader's host, one member at a time, leader last,
no acknowledged write missing, every member on 3.5.16; a re-run changes nothing; the downgrade is refused."""
import json
import pathlib
import shutil
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import (WORK, archive, changes, inventory, leader, pids, playbook, record, run_under_load, ssh,  # noqa: E402
                 started_at, versions)

HOSTS = ["10.89.78.1%d" % i for i in (1, 2, 3)]


def run(version, *args, fail=False, path=None):
    return playbook(inventory(HOSTS, etcd_archive_src=str(path or archive(version))), *args, fail=fail)


def assert_untouched(out, before):
    assert "Nothing was changed" in out and changes(out) == 0, out[-3000:]
    assert pids(HOSTS) == before
    assert versions(HOSTS) == ({h: "3.4.23" for h in HOSTS}, {h: "3.4.23" for h in HOSTS})


def test_01_the_cluster_runs_3_4():
    assert versions(HOSTS) == ({h: "3.4.23" for h in HOSTS}, {h: "3.4.23" for h in HOSTS})


def test_02_a_known_bad_release_is_refused():
    before = pids(HOSTS)
    out = run("3.5.1", fail=True)
    assert "etcd 3.5.1 is on the known-bad list" in out and "etcd_known_bad_versions" in out
    assert_untouched(out, before)


def test_03_skipping_a_minor_version_is_refused():
    # The guard decides on the version alone, before any host is touched: the file is never read.
    fake = WORK / "etcd-v3.6.0-linux-amd64.tar.gz"
    shutil.copy(archive("3.5.16"), fake)
    before = pids(HOSTS)
    out = run("3.6.0", fail=True, path=fake)
    assert "etcd 3.6.0 would skip a minor version" in out
    assert_untouched(out, before)


def test_04_upgrading_3_4_to_3_5_with_auth_enabled_is_refused():
    ctl = ". /etc/profile.d/etcdctl.sh && etcdctl "
    ssh(HOSTS[0], ctl + "user add root --new-user-password=upgrade-test && " + ctl + "user grant-role root root && "
        + ctl + "auth enable")
    try:
        before = pids(HOSTS)
        out = run("3.5.16", fail=True)
        assert "RBAC authentication is enabled" in out
        assert_untouched(out, before)
    finally:
        ssh(HOSTS[0], ctl + "--user=root:upgrade-test auth disable")


def test_05_rolling_upgrade_under_load():
    first_leader = leader(HOSTS)
    before = pids(HOSTS)
    out, report = run_under_load(HOSTS, lambda: run("3.5.16"))
    assert report["lost"] == {} and report["acknowledged"] > 100, report
    record("rolling upgrade 3.4.23 -> 3.5.16", report)
    after = pids(HOSTS)
    assert all(after[h] != before[h] for h in HOSTS)
    assert sorted(HOSTS, key=started_at(HOSTS).get)[-1] == first_leader
    assert versions(HOSTS) == ({h: "3.5.16" for h in HOSTS}, {h: "3.5.16" for h in HOSTS})
    # The snapshot saved on the leader's host before the upgrade reads back.
    status = json.loads(ssh(first_leader, "/usr/local/bin/etcdutl snapshot status /var/backups/etcd/etcd-before-3.5.16.db -w json"))
    assert status["totalKey"] > 0 and status["revision"] > 0
    assert "etcd-before-3.5.16.db" in out


def test_06_a_rerun_changes_nothing():
    before = pids(HOSTS)
    assert changes(run("3.5.16")) == 0
    assert pids(HOSTS) == before


def test_07_a_downgrade_is_refused():
    before = pids(HOSTS)
    out = run("3.4.23", fail=True)
    assert "would downgrade the members running 3.5.16 to minor version 3.4" in out
    assert "Nothing was changed" in out and changes(out) == 0
    assert pids(HOSTS) == before
    assert versions(HOSTS) == ({h: "3.5.16" for h in HOSTS}, {h: "3.5.16" for h in HOSTS})
