"""Rolling restarts of a running 3-member cluster while the load harness writes 20 keys/s through it.

In order: a requested rolling restart (-t etcd_launch); a config change during which the leader's etcd
is killed with SIGKILL; the refusal to restart a cluster that is not healthy; the benchmark of our
rolling restart against a naive restart of every member at once; a config change whose controller is
killed after the first member's restart, finished by the same command; one that loses the leader's host
(cut off) after the first restart, failing with its name, finished by the same command once the host is
back. After each: no acknowledged write is
missing on any member, and a plain re-run changes and restarts nothing. Then what the plan refuses or must
not miss: a member's port changed in place, a CA directory that is not the members', a member that is still
starting when the run probes it, extra certificate names in their documented forms."""
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from cryptography import x509  # noqa: E402
from ops import (PKI, archive, changes, faulted, interrupted, inventory, leader, member_fault,  # noqa: E402
                 names_lost_host, pids, playbook, power_on, record, run_under_load, ssh, ssh_background, started_at)

HOSTS = ["10.89.76.1%d" % i for i in (1, 2, 3)]
INV = inventory(HOSTS, etcd_archive_src=str(archive("3.6.17")))
# Target on the test bed: at most 2 s of write stall for a member restart.
MAX_STALL = 2.0


def assert_nothing_lost(report):
    assert report["acknowledged"] > 100, report
    assert report["lost"] == {}, report


def assert_rerun_changes_nothing(*args):
    before = pids(HOSTS)
    assert changes(playbook(INV, *args)) == 0
    assert pids(HOSTS) == before


def test_01_rolling_restart_on_request_leader_last():
    first_leader = leader(HOSTS)
    before = pids(HOSTS)
    _out, report = run_under_load(HOSTS, lambda: playbook(INV, "-t", "etcd_launch"))
    after = pids(HOSTS)
    assert all(after[h] != before[h] for h in HOSTS), (before, after)
    order = sorted(HOSTS, key=started_at(HOSTS).get)
    assert order[-1] == first_leader, "the leader was not restarted last: %s" % order
    assert_nothing_lost(report)
    assert report["max_stall_s"] <= MAX_STALL, report
    record("rolling restart (-t etcd_launch)", report)
    assert_rerun_changes_nothing()


def test_02_config_change_survives_a_sigkill_during_the_rolling_restart():
    args = ["-e", "etcd_heartbeat_interval=150", "-e", "etcd_election_timeout=1500"]
    # The worst case, the same on every run: the leader crashes. It is restarted last, so it still runs
    # its old process when the first follower has been restarted: its etcd is killed (SIGKILL) as the run
    # starts to wait for that follower's catch-up.
    victim = leader(HOSTS)

    def change_and_kill():
        return faulted(INV, "Wait for a healthy cluster and the catch-up of *", member_fault(victim, "kill"), *args)

    (rc, out), report = run_under_load(HOSTS, change_and_kill)
    # Either the run rode it out (systemd restarts the killed member, the health gate waits for it), or it
    # stopped naming the member and its host; the same command converges.
    if rc != 0:
        assert "on %s is not healthy" % victim in " ".join(out.split()), out[-4000:]
        playbook(INV, *args)
    assert_nothing_lost(report)
    # No bound on the stall here: a crashed leader costs an election (etcd_election_timeout and its
    # detection), which no restart order can avoid. The figure is recorded for the benchmark page.
    record("config change with SIGKILL of the leader %s" % victim, dict(report, first_run_rc=rc))
    for host in HOSTS:
        assert "heartbeat-interval: 150" in ssh(host, "cat /etc/etcd/etcd.conf")
        # Every member runs the new config: its etcd started (as systemd recorded it) after the config was written.
        started = int(ssh(host, 'date -d "$(systemctl show -p ExecMainStartTimestamp --value etcd)" +%s').strip())
        written = int(ssh(host, "stat -c %Y /etc/etcd/etcd.conf").strip())
        assert started >= written, host
    assert_rerun_changes_nothing(*args)


def test_03_a_restart_of_an_unhealthy_cluster_is_refused():
    # etcd-3 is down and outside the run (-l), so the role cannot start it: the health gate, which runs
    # before any restart, refuses, and the members of the run keep running.
    ssh(HOSTS[2], "systemctl stop etcd")
    try:
        before = pids(HOSTS[:2])
        out = playbook(INV, "-l", ",".join(HOSTS[:2]), "-t", "etcd_launch", "-e", "etcd_health_timeout=5", fail=True)
        assert "is not healthy" in out and "etcd-3" in out, out[-3000:]
        assert pids(HOSTS[:2]) == before, "a member was restarted"
    finally:
        ssh(HOSTS[2], "systemctl start etcd")
    assert_rerun_changes_nothing("-e", "etcd_heartbeat_interval=150", "-e", "etcd_election_timeout=1500")


def test_04_benchmark_rolling_against_naive_restart():
    args = ["-e", "etcd_heartbeat_interval=150", "-e", "etcd_election_timeout=1500"]
    _out, ours = run_under_load(HOSTS, lambda: playbook(INV, "-t", "etcd_launch", *args))

    def naive():
        procs = [ssh_background(h, "systemctl restart etcd") for h in HOSTS]
        return [p.wait(timeout=120) for p in procs]

    _rcs, theirs = run_under_load(HOSTS, naive)
    record("benchmark: rolling restart (ours)", ours)
    record("benchmark: naive restart of all members at once", theirs)
    assert_nothing_lost(ours)
    assert ours["max_stall_s"] <= MAX_STALL, ours
    assert ours["max_stall_s"] < theirs["max_stall_s"], (ours, theirs)
    assert_rerun_changes_nothing(*args)


def test_05_a_config_change_killed_inside_the_rolling_restart_is_finished_by_the_same_command():
    # The controller dies once the first member runs the new config: the others hold it on disk and still run
    # the old one. The same command restarts those two, and only them.
    changed = ["-e", "etcd_heartbeat_interval=200", "-e", "etcd_election_timeout=2000"]
    before = pids(HOSTS)

    def killed_then_again():
        interrupted(INV, "Wait for a healthy cluster and the catch-up of *", *changed)
        middle = pids(HOSTS)
        return middle, playbook(INV, *changed)

    (middle, out), report = run_under_load(HOSTS, killed_then_again)
    first = [h for h in HOSTS if middle[h] != before[h]]
    assert len(first) == 1, (before, middle)
    after = pids(HOSTS)
    assert after[first[0]] == middle[first[0]] and all(after[h] != before[h] for h in HOSTS), (before, middle, after)
    assert "modified after start" in out
    assert_nothing_lost(report)
    record("config change killed after the first restart, run again", report)
    assert_rerun_changes_nothing(*changed)
    # Back to the settings the tests below use.
    playbook(INV, *ARGS)
    assert_rerun_changes_nothing(*ARGS)


def test_05b_a_config_change_that_loses_a_member_host_fails_naming_it_and_the_same_command_finishes_it():
    # The leader's host (restarted last, so untouched yet) is cut off, as by a power cut, once the first member
    # runs the new config. The other two keep a quorum; the run fails naming the member and its host. Once the
    # host is back (its etcd starts with the config written before the cut), the same command restarts only the
    # member that still runs the old config.
    changed = ["-e", "etcd_heartbeat_interval=200", "-e", "etcd_election_timeout=2000"]
    cut = leader(HOSTS)
    before = pids(HOSTS)

    def cut_then_again():
        # A shorter health wait than the default 60 s: the failure is the point here.
        _rc, failed = faulted(INV, "Wait for a healthy cluster and the catch-up of *", member_fault(cut, "cut"),
                              *changed, "-e", "etcd_health_timeout=20", fail=True)
        power_on(cut)
        middle = pids(HOSTS)
        return failed, middle, playbook(INV, *changed)

    (failed, middle, out), report = run_under_load(HOSTS, cut_then_again)
    assert names_lost_host(failed, cut), failed[-4000:]
    first = [h for h in HOSTS if h != cut and middle[h] != before[h]]
    after = pids(HOSTS)
    assert len(first) == 1 and after[first[0]] == middle[first[0]] and after[cut] == middle[cut], (before, middle, after)
    assert all(after[h] != before[h] for h in HOSTS), (before, after)
    assert_nothing_lost(report)
    record("config change, the leader's host cut off after the first restart, run again", report)
    assert_rerun_changes_nothing(*changed)
    playbook(INV, *ARGS)
    assert_rerun_changes_nothing(*ARGS)


# --- Changes the plan refuses, and members it must not miss (issue 9's defects, end to end) ---------------

ARGS = ["-e", "etcd_heartbeat_interval=150", "-e", "etcd_election_timeout=1500"]


def test_06_moving_a_running_member_to_another_port_is_refused():
    # Written silently, the new peer port would have cut each member off at its next restart.
    before = pids(HOSTS)
    config = ssh(HOSTS[0], "md5sum /etc/etcd/etcd.conf")
    out = playbook(INV, *ARGS, "-e", "etcd_peer_port=2480", fail=True)
    assert "etcd_peer_port/etcd_advertise_address of 10.89.76.11 would move member etcd-1 from peer URL" in out
    assert "Nothing was changed" in out and changes(out) == 0
    assert pids(HOSTS) == before and ssh(HOSTS[0], "md5sum /etc/etcd/etcd.conf") == config


def test_07_a_run_with_another_ca_directory_is_refused(tmp_path):
    # A fresh checkout without the PKI, a renamed cluster, or an inventory moved elsewhere: the run would have
    # made a new CA and pushed it to every member.
    other = tmp_path / "pki"
    inv = inventory(HOSTS, name="other-ca", etcd_archive_src=str(archive("3.6.17")), etcd_pki_dir=str(other))
    before = pids(HOSTS)
    out = playbook(inv, *ARGS, fail=True)
    assert "etcd_pki_dir=%s: there is no CA there yet" % other in out and "hold a CA" in out
    assert "Nothing was changed" in out and changes(out) == 0
    assert pids(HOSTS) == before and not other.exists()
    assert changes(playbook(INV, *ARGS)) == 0


def test_08_a_member_that_is_starting_when_the_run_probes_it_is_restarted_in_turn():
    # etcd-2's unit stays "activating" for 15 s after etcd started (a slow start-post step, once), and its
    # config is newer than its process. Before the plan, only "active" members were looked at: this one was
    # neither restarted nor reported, and the run ended with rc=0.
    # The step runs as root ("+"): the unit's User=etcd could not remove the flag in /run.
    ssh(HOSTS[1], "mkdir -p /etc/systemd/system/etcd.service.d && printf '[Service]\\nExecStartPost=+/bin/sh -c "
                  "\"if rm /run/slow-start 2>/dev/null; then sleep 15; fi\"\\n' "
                  "> /etc/systemd/system/etcd.service.d/slow.conf && systemctl daemon-reload && touch /run/slow-start "
                  "&& systemctl restart --no-block etcd")
    try:
        deadline = time.monotonic() + 20
        while ssh(HOSTS[1], "systemctl is-active etcd", check=False).strip() != "activating":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        ssh(HOSTS[1], "touch /etc/etcd/etcd.conf")
        before = pids(HOSTS)
        playbook(INV, *ARGS)
        after = pids(HOSTS)
        assert after[HOSTS[1]] != before[HOSTS[1]]
        assert {h: after[h] for h in (HOSTS[0], HOSTS[2])} == {h: before[h] for h in (HOSTS[0], HOSTS[2])}
        started = int(ssh(HOSTS[1], 'date -d "$(systemctl show -p ExecMainStartTimestamp --value etcd)" +%s').strip())
        assert started >= int(ssh(HOSTS[1], "stat -c %Y /etc/etcd/etcd.conf").strip())
    finally:
        ssh(HOSTS[1], "rm -rf /etc/systemd/system/etcd.service.d && systemctl daemon-reload")
    assert_rerun_changes_nothing(*ARGS)


def test_09_extra_sans_in_their_documented_forms():
    # DNS:name and IP:address were turned into IP:DNS:name and IP:IP:address, which the CA refused.
    sans = ["-e", '{"etcd_cert_extra_sans": ["DNS:etcd.example.com", "IP:192.0.2.7", "etcd-alias"]}']
    playbook(INV, *ARGS, *sans)
    cert = x509.load_pem_x509_certificate((PKI / "members" / (HOSTS[0] + ".crt")).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {"etcd.example.com", "etcd-alias"} <= set(names.get_values_for_type(x509.DNSName))
    assert "192.0.2.7" in {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    assert_rerun_changes_nothing(*ARGS, *sans)
