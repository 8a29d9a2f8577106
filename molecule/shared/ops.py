"""Operator-side helpers for the scenarios that drive ./etcd.yml themselves (rolling, upgrade): an
inventory of the scenario's hosts, the playbook run as an operator types it, SSH to a member, and the
load harness (tests/load.py) pointed at the members. Traffic goes only to the scenario's containers."""
import base64
import json
import os
import pathlib
import re
import signal
import subprocess
import ssl
import sys
import time
import urllib.error
import urllib.request

ROOT = pathlib.Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
WORK = pathlib.Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
PKI = WORK / "pki"
KEY = ROOT / ".cache" / "ssh" / "id_ed25519"
ARCHIVES = ROOT / ".cache" / "archives"
# tests/testbed/testbed.py, as the scenarios call it (stop and start a member host).
TESTBED = [sys.executable, str(ROOT / "tests" / "testbed" / "testbed.py")]
SSH = ["ssh", "-q", "-i", str(KEY), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]

sys.path.insert(0, str(ROOT / "tests"))
from load import LoadWriter  # noqa: E402,F401  (re-exported for the scenarios)


def archive(version):
    return ARCHIVES / ("etcd-v%s-linux-amd64.tar.gz" % version)


def inventory(hosts, name=None, **group_vars):
    """The operator's inventory: the hosts with etcd_seq 1..n, an archive install, the scenario's PKI (written
    to its own file when named)."""
    data = {"all": {"vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(KEY),
                             "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"},
                    "children": {"etcd": {"hosts": {h: {"etcd_seq": i + 1} for i, h in enumerate(hosts)},
                                          "vars": dict({"etcd_install_method": "archive", "etcd_pki_dir": str(PKI)},
                                                       **group_vars)}}}}
    path = WORK / ("operator-inventory-%s.json" % (name or len(hosts)))
    path.write_text(json.dumps(data))
    return path


def timed_run(argv, env, **kwargs):
    """(the finished process, its wall time in seconds, its stdout and stderr) of argv run from the project."""
    started = time.monotonic()
    res = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False, env=env, **kwargs)
    return res, round(time.monotonic() - started, 1), res.stdout + res.stderr


def keep_log(argv, note, out):
    """The whole output of a run, for a failure's post-mortem (an assertion shows only its end), with a note
    of its wall time and exit status (where a scenario's time goes), in .cache/playbook-logs/SCENARIO/NNN.log."""
    logs = ROOT / ".cache" / "playbook-logs" / WORK.name
    logs.mkdir(parents=True, exist_ok=True)
    (logs / ("%03d.log" % len(list(logs.iterdir())))).write_text("%s\n# %s\n%s" % (" ".join(argv), note, out))


def playbook(inv, *args, fail=False, background=False, log=None):
    """./etcd.yml -i inv args...; the output (asserting the exit status), or the running process. With log
    (a list), appends the run's arguments, wall time and exit status to it."""
    argv = [str(ROOT / "etcd.yml"), "-i", str(inv)] + [str(a) for a in args]
    env = dict(os.environ, ANSIBLE_NOCOLOR="1")
    if background:
        return subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    res, seconds, out = timed_run(argv, env)
    if log is not None:
        log.append({"args": [str(a) for a in args], "seconds": seconds, "rc": res.returncode})
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0].rsplit("::", 1)[-1]
    keep_log(argv, "%s s, exit status %d, test %s" % (seconds, res.returncode, test), out)
    if fail:
        assert res.returncode != 0, out[-4000:]
    else:
        assert res.returncode == 0, out[-6000:]
    return out


def interrupted(inv, task, *args, nth=1):
    """./etcd.yml -i inv args..., killed (SIGKILL to its process group, as a lost SSH session or a CI timeout
    would) when `task` (its name as printed, without the role; a trailing * matches a prefix) starts the nth
    time: the harness is molecule/shared/callback/kill_at.py. Asserts that the run died there; returns its
    output."""
    argv, env, mark = at_task(inv, task, args, "kill-mark", DCS_KILL_NTH=str(nth))
    # Its own process group: the kill takes the playbook and its workers, not the test.
    res, seconds, out = timed_run(argv, env, start_new_session=True)
    keep_log(argv, "killed at %r #%d: %s s, exit status %d" % (task, nth, seconds, res.returncode), out)
    assert res.returncode == -9 and mark.exists(), "not killed at %r #%d (exit status %d):\n%s" % (
        task, nth, res.returncode, out[-4000:])
    return out


def at_task(inv, task, args, mark_name, **variables):
    """(argv, environment, mark file) of ./etcd.yml -i inv args... with the test-only kill_at callback armed at
    `task` (molecule/shared/callback/kill_at.py; variables: its other DCS_* settings); the mark file is gone."""
    mark = WORK / mark_name
    if mark.exists():
        mark.unlink()
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "molecule" / "shared" / "callback"),
               ANSIBLE_CALLBACKS_ENABLED="kill_at", DCS_KILL_AT=task, DCS_KILL_MARK=str(mark), **variables)
    return [str(ROOT / "etcd.yml"), "-i", str(inv)] + [str(a) for a in args], env, mark


def faulted(inv, task, fault, *args, fail=None):
    """./etcd.yml -i inv args..., with `fault` (an argv: a member's etcd killed, its host cut off) run on the
    controller when `task` (as interrupted() names it) starts for the first time, the run going on meanwhile.
    Asserts that the fault struck, and the exit status when fail is True or False; returns (exit status,
    output)."""
    argv, env, mark = at_task(inv, task, args, "fault-mark", DCS_FAULT_RUN=json.dumps([str(a) for a in fault]))
    res, seconds, out = timed_run(argv, env)
    keep_log(argv, "fault %s at %r: %s s, exit status %d" % (" ".join(map(str, fault)), task, seconds, res.returncode), out)
    assert mark.exists(), "the fault did not strike at %r:\n%s" % (task, out[-4000:])
    if fail is not None:
        assert (res.returncode != 0) == fail, out[-6000:]
    return res.returncode, out


def names_lost_host(out, host):
    """Whether a failed run's output names the member host that was cut off: as the member that is not healthy
    ("member etcd-N on HOST"), or as the host the health wait asks through (the plan's verify host may be it)."""
    said = " ".join(out.split())
    return ("member etcd-%s on %s is not healthy" % (host[-1], host) in said
            or 'Data could not be sent to remote host "%s"' % host in said)


def member_fault(host, what):
    """The argv of a fault on a member host: 'kill' its etcd (SIGKILL; systemd starts it again after
    RestartSec), or 'cut' the host off (its container stopped at once, as a power cut; see power_on())."""
    if what == "kill":
        return SSH + ["root@" + host, "systemctl kill -s KILL etcd"]
    return TESTBED + ["stop"] + testbed_container(host)


def power_on(host):
    """Starts a member host cut off by member_fault(host, 'cut') again, and waits for its SSH."""
    subprocess.run(TESTBED + ["start"] + testbed_container(host), check=True)


def testbed_container(host):
    """The test bed's [name, index] of a member host, from the scenario's name and the host's last octet."""
    return [WORK.name.rsplit(".", 1)[-1], str(int(host.rsplit(".", 1)[1]) % 10)]


def changes(out):
    return sum(int(n) for n in re.findall(r"changed=(\d+)", out))


def ssh(host, command, check=True, stdin=None):
    """command's output on host; stdin (text) is fed to it."""
    return subprocess.run(SSH + ["root@" + host, command], input=stdin, capture_output=True, text=True,
                          check=check).stdout


def gateway(host, ca_file, cert_stem, path, body, token=None):
    """A POST to etcd's HTTP gateway (/v3/..., what Patroni's etcd3 client speaks) on host's client port with a
    client certificate (cert_stem + .crt/.key): (HTTP status, body)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    context.check_hostname = False
    context.load_cert_chain(str(cert_stem) + ".crt", str(cert_stem) + ".key")
    request = urllib.request.Request("https://%s:2379%s" % (host, path), data=json.dumps(body).encode(),
                                     headers=dict({"Authorization": token} if token else {}), method="POST")
    try:
        with urllib.request.urlopen(request, context=context, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def b64(text):
    """A key or value as the gateway's JSON carries it."""
    return base64.b64encode(text.encode()).decode()


def ssh_background(host, command):
    """Start command on host; the caller waits for the process."""
    return subprocess.Popen(SSH + ["root@" + host, command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def etcdctl_json(host, args):
    return json.loads(ssh(host, ". /etc/profile.d/etcdctl.sh && etcdctl %s -w json" % args))


def pids(hosts):
    return {h: ssh(h, "systemctl show -p MainPID --value etcd").strip() for h in hosts}


def started_at(hosts):
    """Monotonic start time (microseconds) of each member's etcd: orders restarts."""
    return {h: int(ssh(h, "systemctl show -p ExecMainStartTimestampMonotonic --value etcd").strip() or 0) for h in hosts}


def endpoint_status(hosts):
    """Each member's endpoint status, by host, asked through the first host."""
    return {e["Endpoint"].split("//")[1].split(":")[0]: e["Status"]
            for e in etcdctl_json(hosts[0], "endpoint status --cluster")}


def leader(hosts):
    return next((h for h, st in endpoint_status(hosts).items() if st["leader"] == st["header"]["member_id"]), None)


def versions(hosts):
    """What each member runs (endpoint status) and has installed (etcd --version)."""
    running = {h: st["version"] for h, st in endpoint_status(hosts).items()}
    installed = {h: re.search(r"etcd Version: (\S+)", ssh(h, "/usr/local/bin/etcd --version")).group(1) for h in hosts}
    return running, installed


def load_members(hosts):
    return [(h, str(PKI / "members" / h)) for h in hosts]


def run_under_load(hosts, action, rate=20):
    """Start the load harness, wait until it writes, run action(), wait until writes flow again (any stall the
    action caused has then ended); return (action's result, report with lost keys per member)."""
    with LoadWriter(load_members(hosts), str(PKI), rate=rate) as load:
        load.settle()
        started = time.monotonic()
        result = action()
        seconds = round(time.monotonic() - started, 1)
        load.settle()
    report = load.report()
    report["seconds"] = seconds
    report["lost"] = {h: len(keys) for h, keys in load.verify(load_members(hosts)).items()}
    return result, report


def record(name, data):
    """Figures for docs/benchmark.md, in .cache/restart-figures.json (locked: scenarios may run side by side)."""
    import fcntl
    path = ROOT / ".cache" / "restart-figures.json"
    with open(ROOT / ".cache" / ".restart-figures.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        figures = json.loads(path.read_text()) if path.exists() else {}
        figures[name] = data
        path.write_text(json.dumps(figures, indent=1) + "\n")


def replace_hosts(hosts, image="bookworm", subnet_id=None):
    """New hosts in place of the scenario's (a total loss): their containers removed and created anew from the
    image, with the same addresses and SSH key, nothing of the old ones kept."""
    name = testbed_container(hosts[0])[0]
    for host in hosts:
        subprocess.run(["podman", "rm", "-f", "-t", "0", "dcs-etcd-%s-%s" % tuple(testbed_container(host))],
                       check=True, capture_output=True)
    subnet = subnet_id or int(hosts[0].split(".")[2])
    subprocess.run(TESTBED + ["up", name, str(len(hosts)), "--image", image, "--subnet-id", str(subnet)], check=True,
                   capture_output=True)


class ObjectStore(object):
    """A real S3-compatible server for the off-host backups: moto's server (PyPI moto[server], in .venv), run by
    the test on the scenario network's gateway address (the members reach it there; nothing else does), with
    signature checking on: an IAM user with an access key and an S3 policy, and a bucket. Ended by its PID."""

    def __init__(self, gateway, bucket="etcd-backups"):
        import socket
        probe = socket.socket()
        probe.bind((gateway, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.gateway, self.bucket = gateway, bucket
        self.endpoint = "http://%s:%d" % (gateway, self.port)
        server = pathlib.Path(sys.executable).parent / "moto_server"
        # The first four requests (the user, its key, its policy, the bucket) go without a signature; every
        # later one must carry a valid one.
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT="4")
        self.log = open(WORK / "moto.log", "w")
        self.process = subprocess.Popen([str(server), "-H", gateway, "-p", str(self.port)], stdout=self.log,
                                        stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((gateway, self.port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and self.process.poll() is None, "moto_server did not start"
                time.sleep(0.2)
        import boto3
        open_kw = dict(endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="bootstrap",
                       aws_secret_access_key="bootstrap")
        iam = boto3.client("iam", **open_kw)
        iam.create_user(UserName="etcd-backup")
        key = iam.create_access_key(UserName="etcd-backup")["AccessKey"]
        iam.put_user_policy(UserName="etcd-backup", PolicyName="s3", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        self.client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                                   aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key)
        self.client.create_bucket(Bucket=bucket)

    def url(self, prefix):
        return "%s/%s/%s" % (self.endpoint, self.bucket, prefix)

    def objects(self, prefix):
        """{name under prefix: bytes} of what the store holds, read with boto3."""
        listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix + "/").get("Contents") or []
        return dict((o["Key"][len(prefix) + 1:], self.client.get_object(Bucket=self.bucket, Key=o["Key"])["Body"].read())
                    for o in listed)

    def pause(self):
        """The store stops answering (its process stopped: connections wait, then time out)."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)

    def stop(self):
        self.process.kill()
        self.process.wait()
        self.log.close()
