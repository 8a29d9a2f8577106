"""Patroni end to end: our 3-member etcd cluster is the DCS of a PostgreSQL cluster that Patroni manages, and
our operations on etcd cost Patroni neither its primary nor a write.

PostgreSQL 15 comes from Debian's packages (in the test bed's image) and Patroni from PyPI (fetched on the
controller, installed offline on the hosts); the first two hosts run a Patroni node each and connect to etcd with
the consumer certificate the role issues for them (etcd_client_certs, without CN: Patroni speaks etcd's HTTP
gateway), logged in as an RBAC user whose role reaches its own prefix (RBAC on, as on the releases users run: etcd
3.6 with its rules for non-root users). In order: the clusters come up; then, each while a client writes to
PostgreSQL through the primary from the other node and Patroni's REST API is polled twice a second, a rolling
restart (-t etcd_launch), the rolling upgrade from etcd 3.6.17 to 3.7.4, and -t etcd_maintain. After each: the same primary, never demoted (its role,
timeline and postmaster start time never changed), the replica still streaming, every write committed, and no DCS
error in Patroni's log. The longest time between two successful HA loops of the primary (each one refreshes the
leader key), and the longest interval in which a Patroni-like client could not renew a lease through etcd's gateway
(LeaseProbe), are recorded for docs/benchmark.md."""
import datetime
import json
import pathlib
import re
import ssl
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

import ops  # noqa: E402
from ops import ROOT, SSH, changes, record, ssh  # noqa: E402

HOSTS = ["10.89.86.1%d" % i for i in (1, 2, 3)]
PG = HOSTS[:2]
NAMES = dict(zip(PG, ["pg1", "pg2"]))
SCOPE = "pg-test"
PATRONI = "patroni[etcd3,psycopg2-binary]==4.1.5"
WHEELS = ROOT / ".cache" / "wheels" / "patroni"
# Test-bed values only; a real deployment keeps them in a vault.
SUPERUSER_PASSWORD = "molecule-Pg-Super-1"
REPLICATION_PASSWORD = "molecule-Pg-Repl-1"
CERTS = [{"name": "patroni", "cn": "", "hosts": PG, "dir": "/etc/patroni/etcd", "owner": "postgres",
          "group": "postgres", "mode": "0600"}]
# RBAC on, as docs/patroni.md sets it up: Patroni logs in as a user whose role reaches its own prefix only (etcd 3.6
# and 3.7 answer member list and status to such a user since 3.6.10/3.6.12).
ROOT_PASSWORD = "molecule-Root-1"
PATRONI_USER = {"name": "patroni-pg-test", "password": "molecule-Patroni-1", "roles": ["pg-test"]}
RBAC = dict(etcd_auth=True, etcd_root_password=ROOT_PASSWORD, etcd_users=[PATRONI_USER],
            etcd_roles=[{"name": "pg-test", "permissions": [{"prefix": "/service/%s/" % SCOPE, "access": "readwrite"}]}])
VERSION, UPGRADE = "3.6.17", "3.7.4"
# Patroni's defaults, which fit etcd's election timeout of 1 s (docs/patroni.md).
TTL, LOOP_WAIT, RETRY_TIMEOUT = 30, 10, 10
TROUBLE = re.compile(r"Error communicating with DCS|failed to update leader lock|refresh_lease|[Dd]emot|"
                     r"promoted self|acquired session lock|Lost lock|not owner of the lease")
# The line the primary logs at each HA loop in which it refreshed its leader key.
LOOP = "the leader with the lock"
FIGURES = {}


def run(version, *args, fail=False):
    inv = ops.inventory(HOSTS, name="patroni", etcd_archive_src=str(ops.archive(version)), etcd_client_certs=CERTS, **RBAC)
    return ops.playbook(inv, *args, fail=fail)


def rest(host, path="/patroni"):
    with urllib.request.urlopen("http://%s:8008%s" % (host, path), timeout=2) as response:
        return json.loads(response.read())


def fetch_wheels():
    """Patroni and what it needs, as wheels for the hosts' Python 3.11, fetched once on the controller."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", str(WHEELS),
                    PATRONI, "setuptools", "wheel"], check=True)


# Debian's PostgreSQL 15 (without a cluster or service of its own) and python3-venv are in the image
# bookworm-postgresql (tests/testbed/testbed.py FLAVORS); Patroni goes into a virtualenv from the wheels.
INSTALL = """set -e
mkdir -p /tmp/wheels && tar -C /tmp/wheels -xf -
test -x /usr/lib/postgresql/15/bin/postgres
systemd-tmpfiles --create /usr/lib/tmpfiles.d/postgresql-common.conf
python3 -m venv /opt/patroni
/opt/patroni/bin/pip install -q --disable-pip-version-check --no-index --find-links /tmp/wheels '%s'
""" % PATRONI

UNIT = """[Unit]
Description=Patroni (PostgreSQL HA)
After=network-online.target
[Service]
Type=simple
User=postgres
Group=postgres
ExecStart=/opt/patroni/bin/patroni /etc/patroni/patroni.yml
ExecReload=/bin/kill -s HUP $MAINPID
KillMode=process
TimeoutSec=30
Restart=on-failure
[Install]
WantedBy=multi-user.target
"""


def patroni_config(host):
    return {
        "scope": SCOPE, "namespace": "/service/", "name": NAMES[host],
        "restapi": {"listen": "0.0.0.0:8008", "connect_address": "%s:8008" % host},
        "etcd3": {"hosts": ["%s:2379" % h for h in HOSTS], "protocol": "https",
                  "cacert": "/etc/patroni/etcd/ca.crt", "cert": "/etc/patroni/etcd/patroni.crt",
                  "key": "/etc/patroni/etcd/patroni.key",
                  "username": PATRONI_USER["name"], "password": PATRONI_USER["password"]},
        "bootstrap": {
            "dcs": {"ttl": TTL, "loop_wait": LOOP_WAIT, "retry_timeout": RETRY_TIMEOUT,
                    "maximum_lag_on_failover": 1048576,
                    "postgresql": {"use_pg_rewind": False,
                                   "parameters": {"wal_level": "replica", "hot_standby": "on",
                                                  "max_wal_senders": 10, "max_replication_slots": 10}}},
            "initdb": [{"encoding": "UTF8"}, "data-checksums"]},
        "postgresql": {
            "listen": "0.0.0.0:5432", "connect_address": "%s:5432" % host,
            "data_dir": "/var/lib/postgresql/15/main", "bin_dir": "/usr/lib/postgresql/15/bin",
            "pgpass": "/var/lib/postgresql/.pgpass_patroni",
            "authentication": {"superuser": {"username": "postgres", "password": SUPERUSER_PASSWORD},
                               "replication": {"username": "replicator", "password": REPLICATION_PASSWORD}},
            "parameters": {"unix_socket_directories": "/var/run/postgresql"},
            "pg_hba": ["local all all peer", "host all all 127.0.0.1/32 scram-sha-256",
                       "host replication replicator 10.89.86.0/24 scram-sha-256",
                       "host all all 10.89.86.0/24 scram-sha-256"]},
    }


def start_patroni(host):
    ssh(host, "install -d -o postgres -g postgres -m 0750 /etc/patroni && cat > /etc/patroni/patroni.yml && "
              "chown postgres:postgres /etc/patroni/patroni.yml && chmod 0600 /etc/patroni/patroni.yml",
        stdin=json.dumps(patroni_config(host), indent=1))
    ssh(host, "cat > /etc/systemd/system/patroni.service && systemctl daemon-reload && systemctl enable --now patroni",
        stdin=UNIT)


def wait_for(check, seconds=180, what=""):
    deadline = time.monotonic() + seconds
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as exc:  # noqa: BLE001  (not up yet)
            last = exc
        time.sleep(1)
    raise AssertionError("timed out waiting for %s: %r" % (what, last))


def cluster_ready():
    members = rest(PG[0], "/cluster")["members"]
    roles = {m["name"]: (m["role"], m["state"]) for m in members}
    return roles if roles.get("pg1") == ("leader", "running") and roles.get("pg2", ("", ""))[1] == "streaming" else None


class LeaseProbe(object):
    """What Patroni does to keep its leader key, as a client of its own: a lease renewed through etcd's HTTP
    gateway with Patroni's consumer certificate every 0.2 s, each request given Patroni's per-member share of
    retry_timeout and moved to the next member on a failure. The longest interval between two successful
    renewals is the longest time Patroni could not have renewed its leader key."""

    def __init__(self):
        self.context = ssl.create_default_context(cafile=str(ops.PKI / "ca.crt"))
        self.context.check_hostname = False
        self.context.load_cert_chain(str(ops.PKI / "clients" / "patroni.crt"), str(ops.PKI / "clients" / "patroni.key"))
        self.timeout = RETRY_TIMEOUT / len(HOSTS)
        self.stop = threading.Event()
        self.max_gap, self.renewals, self.failures = 0.0, 0, 0

    def post(self, host, path, body):
        request = urllib.request.Request("https://%s:2379%s" % (host, path), data=json.dumps(body).encode(),
                                         method="POST")
        with urllib.request.urlopen(request, context=self.context, timeout=self.timeout) as response:
            return json.loads(response.read())

    def __enter__(self):
        self.lease = self.post(HOSTS[0], "/v3/lease/grant", {"TTL": TTL})["ID"]
        self.thread = threading.Thread(target=self.run)
        self.thread.start()
        return self

    def run(self):
        index, last = 0, time.monotonic()
        while not self.stop.is_set():
            try:
                answer = self.post(HOSTS[index % len(HOSTS)], "/v3/lease/keepalive", {"ID": self.lease})
                assert int(answer["result"]["TTL"]) > 0, answer
            except Exception:  # noqa: BLE001  (counted: the next member is tried, as Patroni does)
                self.failures += 1
                index += 1
                self.stop.wait(0.05)
                continue
            now = time.monotonic()
            self.max_gap, last = max(self.max_gap, now - last), now
            self.renewals += 1
            self.stop.wait(0.2)

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        return False


class Observed(object):
    """While an operation runs: a client writing through the primary (psql on the other node, over TCP, stopping at
    the first error) and Patroni's REST API polled twice a second on both nodes."""

    def __init__(self, primary, replica, first_id):
        self.primary, self.replica, self.first_id = primary, replica, first_id
        self.samples, self.failures, self.sent = [], [], 0
        self.stop = threading.Event()

    def __enter__(self):
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.writer = subprocess.Popen(
            SSH + ["root@" + self.replica, "PGPASSWORD=%s psql -h %s -U postgres -d postgres -q -v ON_ERROR_STOP=1"
                   % (SUPERUSER_PASSWORD, self.primary)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.threads = [threading.Thread(target=self.write), threading.Thread(target=self.poll)]
        for thread in self.threads:
            thread.start()
        # Writes and samples are flowing before the operation starts.
        try:
            wait_for(lambda: self.sent >= 5 and len(self.samples) >= 2, seconds=60, what="the writer and the poller")
        except BaseException:
            self.stop.set()
            self._close()
            raise
        return self

    def journal(self, since):
        """The primary's Patroni log lines since `since` (UTC), each as (its time, naive UTC; the line). The
        continuation lines of a multi-line message carry the time of its first line."""
        log = ssh(self.primary, "journalctl -u patroni -o short-iso-precise --since '%s UTC' --no-pager"
                  % since.strftime("%Y-%m-%d %H:%M:%S"))
        lines, moment = [], since.replace(tzinfo=None)
        for line in log.splitlines():
            # short-iso-precise: 2026-12-03T13:20:35.123456+0000 host patroni[pid]: ...
            if line[:1].isdigit():
                moment = datetime.datetime.fromisoformat(line.split()[0][:26])
            lines.append((moment, line))
        return lines

    def loop_after(self, moment):
        """Whether the primary ran an HA loop as the leader (refreshing its leader key) after moment."""
        return any(t > moment.replace(tzinfo=None) for t, line in self.journal(moment) if LOOP in line)

    def write(self):
        while not self.stop.is_set():
            try:
                self.writer.stdin.write("INSERT INTO writes (id) VALUES (%d);\n" % (self.first_id + self.sent))
                self.writer.stdin.flush()
                self.sent += 1
            except (BrokenPipeError, OSError) as exc:
                self.failures.append("writer: %s" % exc)
                return
            time.sleep(0.2)

    def poll(self):
        while not self.stop.is_set():
            sample = {"t": time.monotonic()}
            for host in (self.primary, self.replica):
                try:
                    state = rest(host)
                    sample[host] = (state.get("role"), state.get("timeline"), state.get("postmaster_start_time"),
                                    state.get("state"))
                except Exception as exc:  # noqa: BLE001  (recorded: the REST API must answer throughout)
                    sample[host] = ("unreachable", str(exc))
            self.samples.append(sample)
            time.sleep(0.5)

    def __exit__(self, *exc):
        # The window closes once the primary has refreshed its leader key after the operation (its HA loop runs
        # every loop_wait), so the longest gap between two loops spans the operation's end.
        ended = datetime.datetime.now(datetime.timezone.utc)
        try:
            wait_for(lambda: self.loop_after(ended), seconds=3 * LOOP_WAIT, what="an HA loop of the primary")
        finally:
            self.stop.set()
            self._close()
        return False

    def _close(self):
        for thread in self.threads:
            thread.join()
        try:
            self.writer.stdin.close()
        except BrokenPipeError:  # psql ended early: its output says why
            pass
        output = self.writer.stdout.read()
        self.rc = self.writer.wait(timeout=30)
        if self.rc != 0 or output.strip():
            self.failures.append("psql ended with %s: %s" % (self.rc, output.strip()[-500:]))

    def report(self):
        """Checks and figures of the window."""
        primaries = set(s[self.primary] for s in self.samples)
        replicas = set(s[self.replica][0] for s in self.samples)
        since = self.started.strftime("%Y-%m-%d %H:%M:%S")
        # From the primary's last HA loop before the window: an operation shorter than loop_wait may see only the
        # loop after it, and the gap that spans it starts before the window (2026-12-06, -t etcd_maintain).
        lines = self.journal(self.started - datetime.timedelta(seconds=3 * LOOP_WAIT))
        start = self.started.replace(tzinfo=None)
        every = [t for t, line in lines if LOOP in line]
        loops = [t for t in every if t <= start][-1:] + [t for t in every if t > start]
        gaps = [round((b - a).total_seconds(), 1) for a, b in zip(loops, loops[1:])]
        trouble = [line for t, line in lines if t > start and TROUBLE.search(line)]
        for host in PG:
            trouble += [line for line in ssh(host, "journalctl -u patroni --since '%s UTC' --no-pager" % since)
                        .splitlines() if TROUBLE.search(line) and host != self.primary]
        return {"primary_states": sorted(map(str, primaries)), "replica_roles": sorted(replicas),
                "samples": len(self.samples), "writes": self.sent, "failures": self.failures,
                "leader_loops": len(loops), "max_loop_gap_s": max(gaps) if gaps else None,
                "dcs_trouble": trouble}


def rows(primary):
    out = ssh(primary, "runuser -u postgres -- psql -tAc 'SELECT count(*), max(id) FROM writes'").strip()
    return tuple(int(v or 0) for v in out.split("|"))


def observe(name, action):
    primary, replica = PG
    before = rest(primary)
    start = rows(primary)
    with LeaseProbe() as lease, Observed(primary, replica, start[1] + 1) as window:
        started = time.monotonic()
        out = action()
        seconds = round(time.monotonic() - started, 1)
    report = window.report()
    after = rest(primary)
    end = rows(primary)
    FIGURES[name] = {"seconds": seconds, "writes": window.sent, "max_loop_gap_s": report["max_loop_gap_s"],
                     "leader_loops": report["leader_loops"], "rest_samples": report["samples"],
                     "dcs_trouble_lines": len(report["dcs_trouble"]),
                     "lease_renewals": lease.renewals, "lease_failed_requests": lease.failures,
                     "longest_without_lease_renewal_s": round(lease.max_gap, 3)}
    record("patroni", FIGURES)
    assert report["failures"] == [], report["failures"]
    # Never demoted: one state of the primary throughout (role, timeline, postmaster start, running).
    expected = ("primary", before["timeline"], before["postmaster_start_time"], "running")
    assert report["primary_states"] == [str(expected)], report["primary_states"]
    assert report["replica_roles"] == ["replica"], report["replica_roles"]
    assert (after["role"], after["timeline"], after["postmaster_start_time"]) == (
        "primary", before["timeline"], before["postmaster_start_time"])
    # Every write committed, through the same primary.
    assert end[0] == start[0] + window.sent, (start, end, window.sent)
    assert report["dcs_trouble"] == [], report["dcs_trouble"]
    # The primary kept refreshing its leader key: no HA loop gap close to the TTL.
    assert report["max_loop_gap_s"] is not None and report["max_loop_gap_s"] < TTL - RETRY_TIMEOUT, report
    # A Patroni-like client could always renew its lease well within one request deadline.
    assert lease.renewals > 0 and lease.max_gap < RETRY_TIMEOUT, FIGURES[name]
    return out


def test_01_etcd_and_patroni_come_up():
    fetch_wheels()
    archive = subprocess.Popen(["tar", "-C", str(WHEELS), "-cf", "-", "."], stdout=subprocess.PIPE)
    data = archive.communicate()[0]
    installs = [subprocess.Popen(SSH + ["root@" + h, INSTALL], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for h in PG]
    for proc in installs:
        out = proc.communicate(data)[0]
        assert proc.returncode == 0, out.decode()[-3000:]
    # etcd 3.6 with RBAC on and the consumer certificate installed for the postgres user on the Patroni hosts.
    run(VERSION)
    assert changes(run(VERSION)) == 0
    assert ssh(PG[0], "stat -c '%U %a' /etc/patroni/etcd/patroni.key").strip() == "postgres 600"
    start_patroni(PG[0])
    wait_for(lambda: rest(PG[0]).get("role") == "primary", what="pg1 primary")
    start_patroni(PG[1])
    wait_for(cluster_ready, what="pg2 streaming")
    ssh(PG[0], "runuser -u postgres -- psql -q -c 'CREATE TABLE writes (id int PRIMARY KEY, at timestamptz "
               "DEFAULT now())'")
    leader = ops.etcdctl_json(HOSTS[2], "get /service/%s/leader" % SCOPE)
    assert leader["kvs"], "Patroni's leader key is in etcd"


def test_02_rolling_restart_keeps_the_primary():
    out = observe("rolling restart (-t etcd_launch)", lambda: run(VERSION, "-t", "etcd_launch"))
    assert out


def test_03_rolling_upgrade_to_3_7_keeps_the_primary():
    observe("rolling upgrade %s -> %s" % (VERSION, UPGRADE), lambda: run(UPGRADE))
    running, _installed = ops.versions(HOSTS)
    assert set(running.values()) == {UPGRADE}


def test_04_maintenance_keeps_the_primary():
    observe("maintenance (-t etcd_maintain)", lambda: run(UPGRADE, "-t", "etcd_maintain"))
    assert changes(run(UPGRADE)) == 0
