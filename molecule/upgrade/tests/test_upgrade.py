"""Rolling upgrade of a running 3-member cluster from etcd 3.4.23 to 3.5.16, and the version guards.

In order: each refused change (a known-bad release, a skipped minor version, 3.4 to 3.5 with RBAC auth
enabled) fails before any host is touched: same binaries, same processes; then the upgrade while the load
harness writes 20 keys/s, its controller killed after the install and again before the leader's restart, then
a follower's host cut off as the leader restarts (the run fails naming it), finished by the same command once
the host is back: a verified snapshot on the leader's host, one member at a time, leader last, no acknowledged
write missing, every member on 3.5.16; a re-run changes nothing; a patch upgrade to the newest 3.5 (built from
etcd's Go modules) killed after its first restart is finished by the same command, though the etcd of the
member upgraded first is killed meanwhile; the downgrade is refused; then the minor upgrades on to 3.6.17 and 3.7.4
under load, each ending on the new storage version."""
import json
import pathlib
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import (ROOT, WORK, archive, changes, endpoint_status, faulted, interrupted, inventory, leader, member_fault,  # noqa: E402
                 names_lost_host, pids, playbook, power_on, record, run_under_load, ssh, started_at, versions)

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


def test_05_rolling_upgrade_under_load_killed_twice_and_finished_by_the_same_command():
    """The upgrade's first run is killed after the install, before the first restart; the second before the
    leader's restart (the followers run 3.5.16, the leader 3.4.23). The third loses a follower's host (cut off
    as by a power cut) as the leader restarts: the quorum is gone until the leader is back, then the run fails
    naming that member and its host. Once the host is back, the same command finishes the upgrade."""
    first_leader = leader(HOSTS)
    cut = next(h for h in HOSTS if h != first_leader)
    before = pids(HOSTS)
    inv = inventory(HOSTS, etcd_archive_src=str(archive("3.5.16")))
    left = {}

    def upgrade():
        first = interrupted(inv, "Restart each member")
        left["installed"] = versions(HOSTS)
        assert pids(HOSTS) == before
        second = interrupted(inv, "Move leadership away if it leads - *", nth=3)
        left["followers"] = versions(HOSTS)
        # A shorter health wait than the default 60 s: the failure is the point here.
        _rc, third = faulted(inv, "Restart %s" % first_leader, member_fault(cut, "cut"), "-e", "etcd_health_timeout=20",
                             fail=True)
        power_on(cut)
        return first + second + third, playbook(inv)

    (failed, out), report = run_under_load(HOSTS, upgrade)
    assert left["installed"] == ({h: "3.4.23" for h in HOSTS}, {h: "3.5.16" for h in HOSTS}), left
    assert left["followers"][0] == dict({h: "3.5.16" for h in HOSTS}, **{first_leader: "3.4.23"}), left
    assert names_lost_host(failed, cut), failed[-3000:]
    assert report["lost"] == {} and report["acknowledged"] > 100, report
    record("rolling upgrade 3.4.23 -> 3.5.16, killed twice, a follower's host cut off", report)
    after = pids(HOSTS)
    assert all(after[h] != before[h] for h in HOSTS)
    # Leader last among the members the role restarted (the host that was cut off started when it came back).
    assert sorted([h for h in HOSTS if h != cut], key=started_at(HOSTS).get)[-1] == first_leader
    assert versions(HOSTS) == ({h: "3.5.16" for h in HOSTS}, {h: "3.5.16" for h in HOSTS})
    # The snapshot saved on the leader's host before the upgrade reads back.
    status = json.loads(ssh(first_leader, "/usr/local/bin/etcdutl snapshot status /var/backups/etcd/etcd-before-3.5.16.db -w json"))
    assert status["totalKey"] > 0 and status["revision"] > 0
    assert "etcd-before-3.5.16.db" in failed + out


def test_06_a_rerun_changes_nothing():
    before = pids(HOSTS)
    assert changes(run("3.5.16")) == 0
    assert pids(HOSTS) == before


def newest_3_5():
    """(archive, version) of the newest 3.5 patch, built by the test bed from etcd's Go modules (cached)."""
    out = subprocess.run([sys.executable, str(ROOT / "tests/testbed/testbed.py"), "build", "3.5"], check=True,
                         capture_output=True, text=True).stdout.split()
    return pathlib.Path(out[0]), out[2]


def test_07_a_patch_upgrade_killed_after_its_first_restart_is_finished_by_the_same_command():
    """Issue 21: the controller dies once the first member runs the new patch release; the binaries are new on
    every member, two members still run the old process. Running the same command again finishes the upgrade,
    though the etcd of the member upgraded first is killed meanwhile."""
    path, version = newest_3_5()
    inv = inventory(HOSTS, etcd_archive_src=str(path))

    def killed_then_again():
        interrupted(inv, "Wait for a healthy cluster and the catch-up of *")
        left = versions(HOSTS)
        # The same command again, and as it restarts the next member, the etcd of the member the killed run
        # upgraded dies (SIGKILL): two of three are down until systemd starts it again (RestartSec=5s). The
        # health gate waits for the quorum and the run carries on.
        upgraded = next(h for h, v in left[0].items() if v == version)
        rc, out = faulted(inv, "Wait for a healthy cluster and the catch-up of *", member_fault(upgraded, "kill"))
        return left, upgraded, rc, out

    (left, upgraded, rc, out), report = run_under_load(HOSTS, killed_then_again)
    assert rc == 0, out[-4000:]
    running, installed = left
    assert installed == {h: version for h in HOSTS}
    assert sorted(running.values()) == ["3.5.16", "3.5.16", version], left
    assert report["lost"] == {} and report["acknowledged"] > 50, report
    record("patch upgrade 3.5.16 -> %s killed after its first restart, run again, an etcd killed" % version, report)
    assert "runs etcd 3.5.16, etcd %s is installed" % version in out
    assert versions(HOSTS) == ({h: version for h in HOSTS}, {h: version for h in HOSTS})
    before = pids(HOSTS)
    assert changes(playbook(inv)) == 0
    assert pids(HOSTS) == before


def test_08_a_downgrade_is_refused():
    _path, version = newest_3_5()
    before = pids(HOSTS)
    out = run("3.4.23", fail=True)
    assert "would downgrade the members running %s to minor version 3.4" % version in out
    assert "Nothing was changed" in out and changes(out) == 0
    assert pids(HOSTS) == before
    assert versions(HOSTS) == ({h: version for h in HOSTS}, {h: version for h in HOSTS})


def test_09_minor_upgrades_to_3_6_and_3_7_under_load_end_on_the_new_storage_version():
    """Issue 22: the newest 3.5 (past etcd's 3.5.32 floor, its v2 store checked clean by etcdutl on each member)
    to 3.6.17, then to 3.7.4 (past the 3.6.11 floor), each a guarded rolling upgrade under load. Each ends only
    once every member's storage version is the new minor; the config is written for the release each member runs
    (the corruption check as a feature gate, no experimental key that 3.7 would ignore)."""
    for version in ("3.6.17", "3.7.4"):
        inv = inventory(HOSTS, etcd_archive_src=str(archive(version)))
        first_leader = leader(HOSTS)
        out, report = run_under_load(HOSTS, lambda: playbook(inv))
        minor = version.rsplit(".", 1)[0]
        assert versions(HOSTS) == ({h: version for h in HOSTS}, {h: version for h in HOSTS})
        assert {h: st.get("storageVersion") for h, st in endpoint_status(HOSTS).items()} == {h: minor + ".0" for h in HOSTS}
        assert sorted(HOSTS, key=started_at(HOSTS).get)[-1] == first_leader
        assert report["lost"] == {} and report["acknowledged"] > 50, report
        record("minor upgrade to %s" % version, report)
        for host in HOSTS:
            config = ssh(host, "cat /etc/etcd/etcd.conf")
            assert 'feature-gates: "InitialCorruptCheck=true"' in config and "experimental-" not in config
        before = pids(HOSTS)
        assert changes(playbook(inv)) == 0
        assert pids(HOSTS) == before
