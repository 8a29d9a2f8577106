"""The move between etcd releases on a running 3-member cluster under load: the guards, the ladder from 3.4 to
3.7 in one run, the rollback with etcd's downgrade, each interrupted and finished by the same command.

In order: each refused change (a known-bad release, a ladder whose rung is missing, 3.4 to 3.5 with RBAC auth
enabled) fails before any host is touched: same binaries, same processes. Then, while the load harness writes
20 keys/s: the ladder 3.4.23 -> newest 3.5 -> newest 3.6 -> 3.7.4 in one run (figures per rung), a re-run that
changes nothing, rollbacks of more than one minor refused, the rollback 3.7 -> 3.6 killed after its first restart
and finished by the same command though an etcd is killed meanwhile, the rollback 3.6 -> 3.5, and the ladder
3.5 -> 3.6 -> 3.7 again, killed before a rung's leader restarts, then failing on a follower's host cut off
(naming it), finished by the same command once the host is back. No acknowledged write is ever missing."""
import pathlib
import re
import shutil
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import (ARCHIVES, WORK, archive, changes, endpoint_status, faulted, interrupted, inventory, leader,  # noqa: E402
                 member_fault, names_lost_host, pids, playbook, power_on, record, run_under_load, ssh, started_at,
                 versions)

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


def test_03_a_ladder_whose_rung_is_missing_is_refused():
    # 3.4 to 3.6 climbs through the newest 3.5 (3.5.32 or later), which the target's directory does not hold:
    # refused before any host is touched (the file itself is never read).
    fake = WORK / "etcd-v3.6.0-linux-amd64.tar.gz"
    shutil.copy(archive("3.5.16"), fake)
    before = pids(HOSTS)
    out = " ".join(run("3.6.0", fail=True, path=fake).split())
    assert "etcd 3.6.0 on members running 3.4.23 climbs a ladder" in out
    assert "holds no etcd 3.5 release of 3.5.32 or later" in out
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


def newest(line):
    """The newest release of a line among the archives the test bed built (the ladder's rung on that line)."""
    found = [p.name[len("etcd-v"):-len("-linux-amd64.tar.gz")] for p in ARCHIVES.glob("etcd-v%s.*-linux-amd64.tar.gz" % line)]
    return max(found, key=lambda v: tuple(int(x) for x in v.split(".")))


TARGET = "3.7.4"


def rung_figures(out, report, ended):
    """Per step of a ladder run under load (the rungs' reports, then the target's step up to the run's end): its
    seconds and the longest write stall in it (the load harness's gaps, by wall clock)."""
    said = " ".join(out.split())
    rungs = [(v, float(started), float(seconds)) for v, seconds, started in
             re.findall(r"Rung etcd (\S+): .*? upgraded in ([0-9.]+) s \(from ([0-9.]+)\)", said)]
    steps = [(v, started, started + seconds) for v, started, seconds in rungs]
    if steps:
        steps.append((TARGET, steps[-1][2], ended))
    figures = {}
    for version, start, end in steps:
        gaps = [length for at, length in report["gaps"]
                if start <= report["started_at"] + at + length and report["started_at"] + at <= end]
        figures[version] = {"seconds": round(end - start, 1), "max_stall_s": max(gaps + [0.0])}
    return figures


def test_05_the_ladder_from_3_4_to_3_7_in_one_run_under_load():
    """Issue 22: etcd_archive_src of 3.7.4 on a 3.4.23 cluster climbs every rung in one run: the newest 3.5 and the
    newest 3.6 beside it, then 3.7.4; each a guarded rolling upgrade (a snapshot first, the leader last, health
    and catch-up gates, the cluster version, from 3.6 the storage version, on the rung's minor before the next).
    The plan names the ladder before any change. Not one acknowledged write is lost."""
    rungs = [newest("3.5"), newest("3.6")]
    inv = inventory(HOSTS, etcd_archive_src=str(archive(TARGET)))
    out, report = run_under_load(HOSTS, lambda: playbook(inv))
    ended = time.time()
    said = " ".join(out.split())
    assert "climbs from etcd 3.4.23 to %s in this run, one guarded rolling upgrade per rung: %s -> %s -> %s" % (
        TARGET, rungs[0], rungs[1], TARGET) in said
    figures = rung_figures(out, report, ended)
    assert list(figures) == rungs + [TARGET], figures
    assert report["lost"] == {} and report["acknowledged"] > 200, report
    record("ladder 3.4.23 -> %s" % " -> ".join(rungs + [TARGET]), dict(report, gaps=[], steps=figures))
    assert versions(HOSTS) == ({h: TARGET for h in HOSTS}, {h: TARGET for h in HOSTS})
    assert {h: st.get("storageVersion") for h, st in endpoint_status(HOSTS).items()} == {h: "3.7.0" for h in HOSTS}
    # A verified snapshot before each rung and before the target.
    for version in rungs + [TARGET]:
        assert "etcd-before-%s.db" % version in said
    for host in HOSTS:
        config = ssh(host, "cat /etc/etcd/etcd.conf")
        assert 'feature-gates: "InitialCorruptCheck=true"' in config and "experimental-" not in config


def test_06_a_rerun_changes_nothing():
    before = pids(HOSTS)
    assert changes(run(TARGET)) == 0
    assert pids(HOSTS) == before


@pytest.mark.parametrize("target,expected", [
    (newest("3.5"), "etcd's downgrade goes back one minor version at a time: roll back to 3.6 first"),
    ("3.4.23", "etcd has no downgrade below 3.5"),
])
def test_07_a_rollback_of_more_than_one_minor_is_refused(target, expected):
    before = pids(HOSTS)
    out = " ".join(run(target, fail=True).split())
    assert expected in out and "restore a snapshot into a new cluster" in out
    assert "Nothing was changed" in out and changes(out) == 0
    assert pids(HOSTS) == before
    assert versions(HOSTS) == ({h: TARGET for h in HOSTS}, {h: TARGET for h in HOSTS})


def test_08_the_rollback_to_3_6_killed_after_its_first_restart_is_finished_by_the_same_command():
    """etcd_archive_src one minor lower rolls the cluster back with etcd's downgrade: validated and enabled, every
    member's storage version 3.6 before the first binary is replaced, then one member at a time, the leader last,
    with the config 3.6 reads. The controller dies once the first member runs 3.6 (the others still run 3.7 on
    replaced binaries); the same command finishes, though the etcd of the member rolled back first is killed
    meanwhile (issue 21's faults)."""
    version = newest("3.6")
    inv = inventory(HOSTS, etcd_archive_src=str(archive(version)))

    def killed_then_again():
        first = interrupted(inv, "Wait for a healthy cluster and the catch-up of *")
        left = versions(HOSTS)
        back = next(h for h, v in left[0].items() if v == version)
        rc, out = faulted(inv, "Wait for a healthy cluster and the catch-up of *", member_fault(back, "kill"))
        return first, left, rc, out

    (first, left, rc, out), report = run_under_load(HOSTS, killed_then_again)
    assert rc == 0, out[-4000:]
    running, installed = left
    assert installed == {h: version for h in HOSTS} and sorted(running.values()) == [version, TARGET, TARGET], left
    assert "Enable or cancel etcd's downgrade (etcdctl downgrade validate, enable, cancel) - 3.6" in first
    assert report["lost"] == {} and report["acknowledged"] > 50, report
    record("rollback %s -> %s killed after its first restart, run again, an etcd killed" % (TARGET, version),
           dict(report, gaps=[]))
    assert versions(HOSTS) == ({h: version for h in HOSTS}, {h: version for h in HOSTS})
    status = endpoint_status(HOSTS)
    assert {h: st.get("storageVersion") for h, st in status.items()} == {h: "3.6.0" for h in HOSTS}
    assert all(not (st.get("downgradeInfo") or {}).get("enabled") for st in status.values()), status
    for host in HOSTS:
        config = ssh(host, "cat /etc/etcd/etcd.conf")
        assert 'feature-gates: "InitialCorruptCheck=true"' in config and "experimental-" not in config
    before = pids(HOSTS)
    assert changes(playbook(inv)) == 0
    assert pids(HOSTS) == before


def test_09_the_rollback_to_3_5_under_load():
    """3.6 to 3.5: etcd's downgrade to the lowest line it goes back to; 3.5 reads the experimental key again."""
    version = newest("3.5")
    first_leader = leader(HOSTS)
    out, report = run_under_load(HOSTS, lambda: run(version))
    assert report["lost"] == {} and report["acknowledged"] > 50, report
    record("rollback %s -> %s" % (newest("3.6"), version), dict(report, gaps=[]))
    assert versions(HOSTS) == ({h: version for h in HOSTS}, {h: version for h in HOSTS})
    assert sorted(HOSTS, key=started_at(HOSTS).get)[-1] == first_leader
    for host in HOSTS:
        config = ssh(host, "cat /etc/etcd/etcd.conf")
        assert "experimental-initial-corrupt-check: true" in config and "feature-gates" not in config
    assert changes(run(version)) == 0


def test_10_the_ladder_killed_in_a_rung_then_a_host_cut_is_finished_by_the_same_command():
    """3.5 -> 3.6 -> 3.7 again: the first run is killed before the rung's leader restarts (the followers run 3.6);
    the second loses a follower's host (cut off as by a power cut) and fails naming it; once the host is back,
    the same command resumes the rung where it stopped and climbs on to 3.7.4."""
    rung = newest("3.6")
    inv = inventory(HOSTS, etcd_archive_src=str(archive(TARGET)))
    first_leader = leader(HOSTS)
    cut = next(h for h in HOSTS if h != first_leader)
    left = {}

    def climb():
        first = interrupted(inv, "Move leadership away if it leads - *", nth=3)
        left["followers"] = versions(HOSTS)
        _rc, second = faulted(inv, "Restart the members one at a time, the leader last - rung %s" % rung, member_fault(cut, "cut"),
                              "-e", "etcd_health_timeout=20", fail=True)
        power_on(cut)
        return first + second, playbook(inv)

    (failed, out), report = run_under_load(HOSTS, climb)
    assert left["followers"][0] == dict({h: rung for h in HOSTS}, **{first_leader: newest("3.5")}), left
    assert names_lost_host(failed, cut), failed[-3000:]
    assert "one guarded rolling upgrade per rung: %s -> %s" % (rung, TARGET) in " ".join(out.split())
    assert report["lost"] == {} and report["acknowledged"] > 100, report
    record("ladder %s -> %s -> %s killed in its rung, a follower's host cut off" % (newest("3.5"), rung, TARGET),
           dict(report, gaps=[]))
    assert versions(HOSTS) == ({h: TARGET for h in HOSTS}, {h: TARGET for h in HOSTS})
    assert {h: st.get("storageVersion") for h, st in endpoint_status(HOSTS).items()} == {h: "3.7.0" for h in HOSTS}
    before = pids(HOSTS)
    assert changes(playbook(inv)) == 0
    assert pids(HOSTS) == before
