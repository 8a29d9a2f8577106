"""Backups, restores and recovery of a running 3-member cluster, keys checked with the etcd3 client.

In order, on etcd 3.6.17: the timer's service leaves exactly one verified backup and sidecar (on the first
healthy member in inventory order), every member's textfile metrics; a backup with one byte flipped fails verification; retention prunes
exactly what it should; a backup on demand is fetched and its SHA-256 checked on the controller. Then the keys
change after the backup, and a restore is refused (etcd_safeguard, a corrupt snapshot, an old member outside
the inventory that still runs) without changing anything, then done, by the same command after a first run
killed once every member was stopped: exactly the snapshot's keys on every member, the revision bumped, a
re-run changes nothing. A recovery is refused while the quorum holds; two members are stopped and wiped, and
-t etcd_recover brings back three members with every key. Then the cluster is purged and deployed again on
3.4.23, where the restore cannot bump the revision, and restore and recovery are done again, each by the same
command after a first run killed at its dangerous moment (the data set aside and restored, before the start;
the survivor a new one-member cluster, before the others rejoin)."""
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

# etcd3 0.12's generated protobuf code needs the pure-Python protobuf runtime.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import etcd3  # noqa: E402
import pytest  # noqa: E402
from ops import (PKI, SSH, WORK, ObjectStore, archive, changes, interrupted, inventory, pids, playbook, record,  # noqa: E402
                 replace_hosts, ssh)

HOSTS = ["10.89.81.1%d" % i for i in (1, 2, 3)]
NAMES = ["etcd-1", "etcd-2", "etcd-3"]
GROUP_VARS = dict(etcd_backup=True, etcd_backup_schedule="2099-01-01 03:00:00", etcd_backup_randomized_delay="5m")
# etcd 3.6 (its etcdutl restores, its snapshot status counts live keys only), then 3.4.23.
VERSION = "3.6.17"
INV = inventory(HOSTS, etcd_archive_src=str(archive(VERSION)), **GROUP_VARS)
INV_34 = inventory(HOSTS, name="3.4", etcd_archive_src=str(archive("3.4.23")), **GROUP_VARS)
BACKUPS = "/var/backups/etcd"
PROGRAM = "python3 /usr/local/lib/dcs-etcd/etcd-backup --config /etc/etcd/backup.json"
FETCHED = WORK / "fetched"
# The database of the timing figures: KEYS keys of VALUE_SIZE bytes.
KEYS, VALUE_SIZE = 4000, 1024
STATE = {}


def client(host):
    return etcd3.client(host=host, port=2379, ca_cert=str(PKI / "ca.crt"), timeout=10,
                        cert_cert=str(PKI / "members" / (host + ".crt")), cert_key=str(PKI / "members" / (host + ".key")))


def write_keys(prefix, count, size=16):
    with client(HOSTS[0]) as c:
        for start in range(0, count, 100):
            c.transaction(compare=[], success=[c.transactions.put("%s%05d" % (prefix, i), "v%05d" % i + "x" * (size - 6))
                                               for i in range(start, min(count, start + 100))], failure=[])


# Every key the test writes is under one of these; read prefix by prefix (a gRPC answer is at most 4 MiB).
PREFIXES = ["/base/00", "/base/01", "/base/02", "/base/03", "/after/", "/acked/", "/v34/", "/later/"]


def all_keys(host):
    keys = {}
    with client(host) as c:
        for prefix in PREFIXES:
            keys.update((meta.key.decode(), value.decode()) for value, meta in c.get_prefix(prefix))
        # Nothing outside them: the count of all keys is the count read.
        assert c.get_all_response(keys_only=True).count == len(keys)
    return keys


def endpoint_status(host):
    return json.loads(ssh(host, ". /etc/profile.d/etcdctl.sh && ETCDCTL_ENDPOINTS=https://%s:2379 etcdctl endpoint status -w json"
                          % host))[0]["Status"]


def revision(host):
    return int(endpoint_status(host)["header"]["revision"])


def backups_on(host):
    out = ssh(host, "ls -1 %s 2>/dev/null || true" % BACKUPS)
    return sorted(f for f in out.split() if f.startswith("etcd-2") and f.endswith((".db", ".json")))


def timed(log, *args, **kwargs):
    out = playbook(kwargs.pop("inv", INV), *args, log=log, **kwargs)
    return out, log[-1]["seconds"]


def test_01_the_timer_runs_on_every_member_and_one_member_takes_the_backup():
    for host in HOSTS:
        assert ssh(host, "systemctl is-enabled etcd-backup.timer").strip() == "enabled"
        assert ssh(host, "systemctl is-active etcd-backup.timer").strip() == "active"
        timer = ssh(host, "cat /etc/systemd/system/etcd-backup.timer")
        assert "OnCalendar=2099-01-01 03:00:00" in timer and "RandomizedDelaySec=300" in timer and "Persistent=true" in timer
    write_keys("/base/", KEYS, VALUE_SIZE)
    for host in HOSTS:
        ssh(host, "rm -rf %s/etcd-2* /var/lib/prometheus/node-exporter/etcd_backup_etcd.prom" % BACKUPS)
    started = time.monotonic()
    for host in HOSTS:
        ssh(host, "systemctl start etcd-backup.service")
    STATE["timer_seconds"] = round(time.monotonic() - started, 1)
    # The first healthy member in inventory order takes it, whoever leads.
    taker = HOSTS[0]
    other = next(h for h in HOSTS if h != taker)
    for host in HOSTS:
        assert ssh(host, "systemctl show -p Result --value etcd-backup.service").strip() == "success"
        files = backups_on(host)
        assert len(files) == (2 if host == taker else 0), (host, files)
    db = next(f for f in backups_on(taker) if f.endswith(".db"))
    sidecar = json.loads(ssh(taker, "cat %s/%s" % (BACKUPS, db[:-3] + ".json")))
    assert sidecar["keys"] == KEYS and sidecar["sha256"] == ssh(taker, "sha256sum %s/%s" % (BACKUPS, db)).split()[0]
    assert sidecar["etcd_version"] == VERSION and sidecar["revision"] > KEYS // 100
    assert sorted(m["name"] for m in sidecar["members"]) == NAMES and sidecar["cluster"] == "etcd"
    assert ssh(taker, "stat -c %a " + BACKUPS).strip() == "700" and ssh(taker, "stat -c %%a %s/%s" % (BACKUPS, db)).strip() == "600"
    assert "verifies" in ssh(taker, "%s --verify %s/%s" % (PROGRAM, BACKUPS, db))
    journal = ssh(other, "journalctl -u etcd-backup.service --no-pager -n 20")
    assert "member %s takes the backup" % NAMES[HOSTS.index(taker)] in journal
    for host in HOSTS:
        prom = ssh(host, "cat /var/lib/prometheus/node-exporter/etcd_backup_etcd.prom")
        ins = NAMES[HOSTS.index(host)]
        assert 'etcd_backup_last_run_success{cls="etcd",ins="%s"} 1' % ins in prom
        assert ('etcd_backup_last_run_taken{cls="etcd",ins="%s"} %d' % (ins, host == taker)) in prom
        assert ("etcd_backup_last_success_timestamp_seconds" in prom) == (host == taker)
    STATE.update(taker=taker, db=db, sidecar=sidecar)


def test_02_a_backup_with_one_byte_flipped_fails_verification():
    taker, db = STATE["taker"], STATE["db"]
    ssh(taker, "cp %s/%s /root/flipped.db && cp %s/%s.json /root/flipped.json" % (BACKUPS, db, BACKUPS, db[:-3]))
    size = int(ssh(taker, "stat -c %s /root/flipped.db"))
    # Flip the bits of one byte in the middle of the file.
    ssh(taker, "python3 -c \"import sys; f=open('/root/flipped.db','r+b'); f.seek(%d); b=f.read(1); f.seek(%d); "
               "f.write(bytes([b[0] ^ 0xff]))\"" % (size // 2, size // 2))
    res = ssh(taker, "%s --verify /root/flipped.db; echo rc=$?" % PROGRAM, check=False)
    assert "rc=1" in res
    err = ssh(taker, "%s --verify /root/flipped.db 2>&1 >/dev/null || true" % PROGRAM)
    assert "does not verify" in err and "SHA-256" in err, err
    FETCHED.mkdir(exist_ok=True)
    local = FETCHED / "flipped.db"
    local.write_bytes(ssh_bytes(taker, "cat /root/flipped.db"))
    (FETCHED / "flipped.json").write_bytes(ssh_bytes(taker, "cat /root/flipped.json"))


def ssh_bytes(host, command):
    return subprocess.run(SSH + ["root@" + host, command], capture_output=True, check=True).stdout


def test_03_retention_prunes_exactly_what_it_should():
    taker, db = STATE["taker"], STATE["db"]
    now = time.time()

    def fake(days_old, sidecar=True):
        name = "etcd-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now - days_old * 86400))
        ssh(taker, "cp %s/%s %s/%s.db" % (BACKUPS, db, BACKUPS, name))
        if sidecar:
            ssh(taker, "echo '%s' > %s/%s.json" % (json.dumps({"created": now - days_old * 86400}), BACKUPS, name))
        return name
    old = fake(20)           # older than etcd_backup_max_age (14d): deleted
    kept = [fake(d) for d in (2, 3, 4, 5, 6)]
    beyond = fake(7)         # the 8th newest after the next backup: beyond etcd_backup_keep (7)
    orphan = fake(1, sidecar=False)  # a snapshot without its sidecar: never a backup
    ssh(taker, "touch %s/notes.txt %s/etcd-before-%s.db" % (BACKUPS, BACKUPS, VERSION))
    ssh(taker, "systemctl start etcd-backup.service")
    files = backups_on(taker)
    names = sorted(set(f.rsplit(".", 1)[0] for f in files))
    assert old not in names and beyond not in names and orphan not in names
    assert all(k in names for k in kept) and db[:-3] in names and len(names) == 7, names
    assert all(n + ".db" in files and n + ".json" in files for n in names)
    assert "notes.txt" in ssh(taker, "ls %s" % BACKUPS) and "etcd-before-%s.db" % VERSION in ssh(taker, "ls %s" % BACKUPS)
    assert 'etcd_backup_count{cls="etcd",ins="%s"} 7' % NAMES[HOSTS.index(taker)] in ssh(
        taker, "cat /var/lib/prometheus/node-exporter/etcd_backup_etcd.prom")
    ssh(taker, "rm -f %s/notes.txt %s/etcd-before-%s.db" % (BACKUPS, BACKUPS, VERSION))


def test_03b_a_snapshot_that_does_not_verify_fails_the_service_and_is_never_kept():
    taker = STATE["taker"]
    before = backups_on(taker)
    # etcdutl, which reads the new snapshot back, says it is damaged.
    ssh(taker, "mv /usr/local/bin/etcdutl /usr/local/bin/etcdutl.real && printf '#!/bin/sh\\necho damaged >&2\\nexit 1\\n' "
               "> /usr/local/bin/etcdutl && chmod 755 /usr/local/bin/etcdutl")
    try:
        ssh(taker, "systemctl start etcd-backup.service", check=False)
        assert ssh(taker, "systemctl show -p Result --value etcd-backup.service").strip() == "exit-code"
        assert "does not verify" in ssh(taker, "journalctl -u etcd-backup.service --no-pager -n 5")
    finally:
        ssh(taker, "mv /usr/local/bin/etcdutl.real /usr/local/bin/etcdutl")
    assert backups_on(taker) == before
    assert ssh(taker, "ls -A %s/.incoming" % BACKUPS).strip() == ""
    prom = ssh(taker, "cat /var/lib/prometheus/node-exporter/etcd_backup_etcd.prom")
    assert 'etcd_backup_last_run_success{cls="etcd",ins="%s"} 0' % NAMES[HOSTS.index(taker)] in prom
    assert 'etcd_backup_count{cls="etcd",ins="%s"} 7' % NAMES[HOSTS.index(taker)] in prom


def test_04_a_backup_on_demand_is_fetched_and_checked_on_the_controller():
    for path in FETCHED.glob("etcd-2*"):
        path.unlink()
    log = []
    out, seconds = timed(log, "-t", "etcd_backup", "-e", "etcd_backup_fetch_dir=%s" % FETCHED)
    fetched = sorted(p for p in FETCHED.glob("etcd-2*.db"))
    assert len(fetched) == 1
    sidecar = json.loads(fetched[0].with_suffix(".json").read_text())
    assert hashlib.sha256(fetched[0].read_bytes()).hexdigest() == sidecar["sha256"]
    assert sidecar["keys"] == KEYS and "on the controller: sha256 %s" % sidecar["sha256"] in out
    STATE.update(snapshot=fetched[0], snapshot_sidecar=sidecar, backup_seconds=seconds,
                 snapshot_keys=all_keys(HOSTS[0]))
    assert len(STATE["snapshot_keys"]) == KEYS


@pytest.fixture(scope="module", autouse=True)
def object_store():
    """The off-host store of tests 04b to 08b, ended with the module (by its PID)."""
    yield
    if "store" in STATE:
        STATE["store"].stop()


def s3_inventory(store, name="s3", version=VERSION):
    return inventory(HOSTS, name=name, etcd_archive_src=str(archive(version)), **dict(
        GROUP_VARS, etcd_backup_s3_url=store.url("prod"), etcd_backup_s3_access_key=store.access_key,
        etcd_backup_s3_secret_key=store.secret_key, etcd_backup_s3_keep=2, etcd_backup_s3_timeout=5))


def metrics(host):
    text = ssh(host, "cat /var/lib/prometheus/node-exporter/etcd_backup_etcd.prom")
    return dict((line.split("{")[0], float(line.split()[-1])) for line in text.splitlines() if line and not line.startswith("#"))


def in_store(store):
    """{backup name: (db bytes, sidecar)} of the store's copies."""
    objects = store.objects("prod")
    return dict((name[:-3], (objects[name], json.loads(objects[name[:-3] + ".json"])))
                for name in objects if name.endswith(".db") and name[:-3] + ".json" in objects)


def test_04b_backups_are_copied_off_the_cluster_and_verified_there():
    store = STATE["store"] = ObjectStore("10.89.81.1")
    inv = STATE["s3_inv"] = s3_inventory(store)
    before = pids(HOSTS)
    out = playbook(inv)
    # The secret is in a file readable by root only, never in the run's output; no member restarts for it.
    assert store.secret_key not in out and changes(out) > 0 and pids(HOSTS) == before
    for host in HOSTS:
        assert ssh(host, "stat -c '%U %a' /etc/etcd/backup-s3.json").strip() == "root 600"
    before = pids(HOSTS)
    assert changes(playbook(inv)) == 0 and pids(HOSTS) == before
    taker = STATE["taker"]
    for host in HOSTS:
        ssh(host, "systemctl start etcd-backup.service")
    copies = in_store(store)
    assert len(copies) == 1
    name, (db, sidecar) = next(iter(copies.items()))
    local = json.loads(ssh(taker, "cat %s/%s.json" % (BACKUPS, name)))
    assert sidecar == local and hashlib.sha256(db).hexdigest() == local["sha256"] and local["keys"] == KEYS
    values = metrics(taker)
    assert values["etcd_backup_offsite_last_run_success"] == 1 and values["etcd_backup_offsite_count"] == 1
    assert "copied to %s and verified" % store.url("prod") in ssh(taker, "journalctl -u etcd-backup.service --no-pager -n 5")
    # On demand: the store keeps its newest two (etcd_backup_s3_keep), the members their own seven.
    log = []
    out, seconds = timed(log, "-t", "etcd_backup", inv=inv)
    assert "Copied to %s and read back with the same SHA-256" % store.url("prod") in out
    assert "2 kept there, deleted there: nothing" in out
    out, seconds = timed(log, "-t", "etcd_backup", inv=inv)
    copies = in_store(store)
    assert len(copies) == 2 and name not in copies and len(store.objects("prod")) == 4
    assert "2 kept there, deleted there: %s.db, %s.json" % (name, name) in out
    STATE.update(offsite_backup_seconds=seconds, offsite_snapshot_bytes=len(db))


def test_04c_a_store_that_is_down_fails_the_copy_not_the_backup():
    store, inv, taker = STATE["store"], STATE["s3_inv"], STATE["taker"]
    local = len(backups_on(taker))
    store.pause()
    try:
        res = subprocess.run(SSH + ["root@" + taker, "systemctl start etcd-backup.service"], capture_output=True,
                             text=True, check=False)
        assert res.returncode != 0
        journal = ssh(taker, "journalctl -u etcd-backup.service --no-pager -n 8")
        assert "the off-host copy FAILED: upload of etcd-" in journal and "does not answer (timed out)" in journal
        # The local backup was taken, verified and kept.
        assert len(backups_on(taker)) == min(local + 2, 14)
        values = metrics(taker)
        assert values["etcd_backup_last_run_success"] == 1 and values["etcd_backup_offsite_last_run_success"] == 0
        # The last good copy is still known: its time and the count stay.
        assert values["etcd_backup_offsite_last_success_timestamp_seconds"] > 0 and values["etcd_backup_offsite_count"] == 1
        out = playbook(inv, "-t", "etcd_check", fail=True)
        assert "the last off-host copy of cluster etcd failed" in out and changes(out) == 0
        out = playbook(inv, "-t", "etcd_backup", fail=True)
        assert "was taken and verified, but its copy to %s failed" % store.url("prod") in out
    finally:
        store.resume()
    ssh(taker, "systemctl start etcd-backup.service")
    assert metrics(taker)["etcd_backup_offsite_last_run_success"] == 1


def check_table(out):
    """The status table of a -t etcd_check run, as printed."""
    start = out.index('"msg": [', out.index("Show the status of the cluster"))
    return [json.loads(line.strip().rstrip(",")) for line in out[start:out.index("]", start)].splitlines()[1:]
            if line.strip()]


def test_04d_the_status_of_a_healthy_and_of_a_degraded_cluster():
    inv = STATE["s3_inv"]
    before = pids(HOSTS)
    out = playbook(inv, "-t", "etcd_check")
    table = check_table(out)
    assert table[0] == "cluster etcd: OK" and changes(out) == 0, table
    rows = [line.split() for line in table[2:5]]
    assert [r[0] for r in rows] == NAMES and all(r[2] == "active" and r[3] == VERSION and "ok" in r for r in rows)
    assert sum(r[4] == "leader" for r in rows) == 1
    assert any(line.startswith("newest backup: etcd-") for line in table)
    assert any(line.startswith("off-host copy: last run ") and "succeeded" in line for line in table)
    # Check mode and a limit work with it.
    assert check_table(playbook(inv, "-t", "etcd_check", "--check", "-l", HOSTS[1]))[0] == "cluster etcd: OK"
    STATE["check_healthy"] = table
    ssh(HOSTS[2], "systemctl stop etcd")
    try:
        out = playbook(inv, "-t", "etcd_check", fail=True)
        table = check_table(out)
        assert table[0] == "cluster etcd: NEEDS ACTION (1)"
        assert "needs action: member etcd-3 (%s): etcd is inactive. Start it and converge: ./etcd.yml -l %s" % (
            HOSTS[2], HOSTS[2]) in " ".join(table)
        assert "Cluster etcd needs action (1)" in out and changes(out) == 0
        STATE["check_degraded"] = table
    finally:
        ssh(HOSTS[2], "systemctl start etcd")
    assert pids(HOSTS[:2]) == dict((h, before[h]) for h in HOSTS[:2])
    # Back to the converge without a store: its credentials leave the members, nothing restarts.
    before = pids(HOSTS)
    assert changes(playbook(INV)) > 0
    for host in HOSTS:
        assert ssh(host, "ls /etc/etcd/backup-s3.json 2>/dev/null || true").strip() == ""
    assert changes(playbook(INV)) == 0 and pids(HOSTS) == before


def change_keys_after_the_backup():
    write_keys("/after/", 50)
    with client(HOSTS[0]) as c:
        c.delete_prefix("/base/0000")
        c.put("/base/00500", "changed")
    assert all_keys(HOSTS[0]) != STATE["snapshot_keys"]


def assert_untouched(out, before_pids, before_keys):
    assert "Nothing was changed" in out and changes(out) == 0, out[-3000:]
    assert pids(HOSTS) == before_pids
    assert all_keys(HOSTS[1]) == before_keys


def test_05_a_restore_is_refused_under_the_safeguard_for_a_corrupt_snapshot_and_while_an_old_member_runs():
    change_keys_after_the_backup()
    before, keys = pids(HOSTS), all_keys(HOSTS[1])
    snap = "etcd_restore_snapshot=%s" % STATE["snapshot"]
    out = playbook(INV, "-t", "etcd_restore", "-e", snap, "-e", "etcd_safeguard=true", fail=True)
    assert "etcd_safeguard is true for" in out
    assert_untouched(out, before, keys)
    out = playbook(INV, "-t", "etcd_restore", "-e", "etcd_restore_snapshot=%s" % (FETCHED / "flipped.db"), fail=True)
    assert "does not verify: its SHA-256 is" in out
    assert_untouched(out, before, keys)
    # The inventory of an operator who forgot member 3, which still runs.
    two = inventory(HOSTS[:2], name="two", etcd_archive_src=str(archive(VERSION)), **GROUP_VARS)
    out = playbook(two, "-t", "etcd_restore", "-e", snap, fail=True)
    assert "https://%s:2380, a member of the cluster outside the inventory, still answers on its peer port" % HOSTS[2] in out
    assert_untouched(out, before, keys)
    out = playbook(INV, "-t", "etcd_restore", fail=True)
    assert "-t etcd_restore needs etcd_restore_snapshot=PATH" in out
    assert_untouched(out, before, keys)


def assert_every_member_serves(expected):
    for host in HOSTS:
        assert all_keys(host) == expected, host


def test_06_a_restore_killed_after_the_stop_is_finished_and_brings_back_exactly_the_snapshots_keys():
    args = ("-t", "etcd_restore", "-e", "etcd_restore_snapshot=%s" % STATE["snapshot"])
    # The controller dies once every member is stopped, before the data is set aside.
    interrupted(INV, "Set the data directory aside and restore the snapshot into it", *args)
    assert all(ssh(h, "systemctl is-active etcd", check=False).strip() != "active" for h in HOSTS)
    log = []
    out, seconds = timed(log, *args)
    STATE["restore_seconds"] = seconds
    assert_every_member_serves(STATE["snapshot_keys"])
    sidecar = STATE["snapshot_sidecar"]
    # etcd 3.6 (as 3.5) bumps the revision by a billion and marks the old ones compacted.
    assert revision(HOSTS[0]) >= sidecar["revision"] + 1000000000
    assert "revision is bumped by 1000000000" in out
    assert len(set(endpoint_status(h)["header"]["cluster_id"] for h in HOSTS)) == 1
    members = json.loads(ssh(HOSTS[0], ". /etc/profile.d/etcdctl.sh && etcdctl member list -w json"))["members"]
    assert sorted(m["name"] for m in members) == NAMES
    # The old data was set aside, then deleted once the cluster checked out.
    assert ssh(HOSTS[0], "ls -d /data/etcd/member.before-restore-* 2>/dev/null || true").strip() == ""
    before = pids(HOSTS)
    assert changes(playbook(INV)) == 0
    assert pids(HOSTS) == before


def test_07_a_recovery_is_refused_while_the_quorum_holds():
    before, keys = pids(HOSTS), all_keys(HOSTS[1])
    out = playbook(INV, "-t", "etcd_recover", fail=True)
    assert "has its quorum (3 of 3 voting members healthy" in out
    assert_untouched(out, before, keys)


def lose_two_members_and_recover(inv, label, kill_at=None):
    write_keys("/acked/", 200)
    acknowledged = all_keys(HOSTS[0])
    survivor = HOSTS[0]
    for host in HOSTS[1:]:
        ssh(host, "systemctl stop etcd && rm -rf /data/etcd/member")
    first = ""
    if kill_at:
        # The controller dies once the survivor runs as a new one-member cluster, before the others rejoin.
        first = interrupted(inv, kill_at, "-t", "etcd_recover")
        members = json.loads(ssh(survivor, ". /etc/profile.d/etcdctl.sh && ETCDCTL_ENDPOINTS=https://%s:2379 etcdctl "
                                 "member list -w json" % survivor))["members"]
        assert [m["name"] for m in members] == ["etcd-1"], members
    log = []
    out, seconds = timed(log, "-t", "etcd_recover", inv=inv)
    assert "Recovering cluster etcd from %s" % survivor in (first or out)
    if kill_at:
        assert "finishing the recovery" in " ".join(out.split())
    assert_every_member_serves(acknowledged)
    members = json.loads(ssh(HOSTS[0], ". /etc/profile.d/etcdctl.sh && etcdctl member list -w json"))["members"]
    assert sorted(m["name"] for m in members) == NAMES and not any(m.get("isLearner") for m in members)
    # The force-new-cluster start left nothing behind; the config never held it.
    assert ssh(survivor, "ls /run/systemd/system/etcd.service.d/ /run/etcd-force-new-cluster.yml 2>/dev/null || true").strip() == ""
    assert "force-new-cluster" not in ssh(survivor, "cat /etc/etcd/etcd.conf")
    before = pids(HOSTS)
    assert changes(playbook(inv)) == 0
    assert pids(HOSTS) == before
    return seconds


def test_08_lost_quorum_is_recovered_with_every_acknowledged_key():
    STATE["recover_seconds"] = lose_two_members_and_recover(INV, VERSION)


def test_08b_a_total_loss_is_restored_on_new_hosts_from_the_saved_ca_and_the_off_host_copy():
    """docs/backup.md, total loss: every host and the controller's state are gone; the operator kept etcd_pki_dir
    (saved after the deploy) and has the store. New hosts, the saved CA directory, a deploy, a restore of the
    newest off-host copy, every key back."""
    store, inv = STATE["store"], STATE["s3_inv"]
    saved = WORK / "saved-pki"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(PKI, saved)
    playbook(inv, "-t", "etcd_backup")
    expected = all_keys(HOSTS[0])
    newest = sorted(in_store(store))[-1]
    # The loss: new hosts in place of the old, and nothing left on the controller but the inventory.
    replace_hosts(HOSTS)
    shutil.rmtree(PKI)
    fetch = WORK / "restore-cache"
    shutil.rmtree(fetch, ignore_errors=True)
    started = time.monotonic()
    shutil.copytree(saved, PKI)
    log = []
    # The runbook's steps 3 to 5: a deploy without the scheduled backup, the restore, then the backup again.
    timed(log, "-e", "etcd_backup=false", inv=inv)
    out, restore_seconds = timed(log, "-t", "etcd_restore", "-e", "etcd_restore_snapshot=s3:latest",
                                 "-e", "etcd_backup_fetch_dir=%s" % fetch, inv=inv)
    STATE["total_loss"] = dict(deploy_seconds=log[0]["seconds"], restore_seconds=restore_seconds,
                               all_seconds=round(time.monotonic() - started, 1), keys=len(expected),
                               snapshot_bytes=len(store.objects("prod")[newest + ".db"]))
    assert "fetched from %s/%s.db" % (store.url("prod"), newest) in out
    assert_every_member_serves(expected)
    before = pids(HOSTS)
    assert changes(playbook(inv)) > 0 and pids(HOSTS) == before
    # The status: healthy, and the one thing to do is the restored cluster's first backup (runbook, step 5).
    table = check_table(playbook(inv, "-t", "etcd_check", fail=True))
    assert table[0] == "cluster etcd: NEEDS ACTION (1)" and all(r.split()[5] == "ok" for r in table[2:5])
    assert table[-1].startswith("needs action: cluster etcd has no backup in etcd_backup_dir")


def test_09_on_3_4_23_the_restore_cannot_bump_the_revision_and_the_recovery_works():
    playbook(INV, "-t", "etcd_purge")
    # Fresh hosts: no backups, and no binaries of 3.6 (etcdutl would stay beside 3.4.23's etcd and etcdctl).
    for host in HOSTS:
        ssh(host, "rm -rf %s /usr/local/bin/etcd /usr/local/bin/etcdctl /usr/local/bin/etcdutl" % BACKUPS)
    playbook(INV_34)
    write_keys("/v34/", 300)
    for path in FETCHED.glob("etcd-2*"):
        path.unlink()
    playbook(INV_34, "-t", "etcd_backup", "-e", "etcd_backup_fetch_dir=%s" % FETCHED)
    snapshot = sorted(FETCHED.glob("etcd-2*.db"))[0]
    sidecar = json.loads(snapshot.with_suffix(".json").read_text())
    assert sidecar["etcd_version"] == "3.4.23" and sidecar["keys"] == 300
    expected = all_keys(HOSTS[0])
    write_keys("/later/", 20)
    args = ("-t", "etcd_restore", "-e", "etcd_restore_snapshot=%s" % snapshot)
    # The controller dies once every member's data is set aside and the snapshot restored, before they start.
    interrupted(INV_34, "Start every member at once (each reports ready once a quorum is up)", *args)
    assert ssh(HOSTS[0], "ls -d /data/etcd/member.before-restore-*").strip()
    out = playbook(INV_34, *args)
    assert "etcd 3.4.23 has no --bump-revision" in out
    assert_every_member_serves(expected)
    assert revision(HOSTS[0]) >= sidecar["revision"]
    before = pids(HOSTS)
    assert changes(playbook(INV_34)) == 0
    assert pids(HOSTS) == before
    STATE["recover_34_seconds"] = lose_two_members_and_recover(
        INV_34, "3.4.23", kill_at="Plan the re-adding of the other members, as a run with etcd_init=existing")


def test_10_figures():
    size = STATE["snapshot_sidecar"]["total_size"]
    record("backup, restore and recovery (3 members, etcd %s)" % VERSION, {
        "keys": KEYS, "value_bytes": VALUE_SIZE, "snapshot_bytes": size,
        "scheduled_backup_all_three_services_seconds": STATE["timer_seconds"],
        "on_demand_backup_with_fetch_seconds": STATE["backup_seconds"],
        "restore_seconds": STATE["restore_seconds"], "recover_seconds": STATE["recover_seconds"],
        "recover_3_4_23_seconds": STATE["recover_34_seconds"],
        "off_host_backup_on_demand_seconds": STATE["offsite_backup_seconds"],
        "total_loss": STATE["total_loss"]})
    record("status view (-t etcd_check), backup scenario",
           {"healthy": STATE["check_healthy"], "degraded": STATE["check_degraded"]})
