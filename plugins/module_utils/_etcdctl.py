# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: run etcdctl with the shared connection options and parse its
JSON output. etcd IDs exceed 2**53; Python's json keeps them exact as ints."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import binascii
import json
import os
import subprocess

try:
    from ansible.module_utils.basic import env_fallback
except ImportError:  # The scheduled backup on a member (_backup.py) runs this runner without Ansible.
    env_fallback = None

CONNECTION_ARGSPEC = dict(
    etcdctl_path=dict(type="path", default="etcdctl"),
    endpoints=dict(type="list", elements="str", fallback=(env_fallback, ["ETCDCTL_ENDPOINTS"])),
    cacert=dict(type="path", fallback=(env_fallback, ["ETCDCTL_CACERT"])),
    cert=dict(type="path", fallback=(env_fallback, ["ETCDCTL_CERT"])),
    key=dict(type="path", no_log=False, fallback=(env_fallback, ["ETCDCTL_KEY"])),
    user=dict(type="str", fallback=(env_fallback, ["ETCDCTL_USER"])),
    password=dict(type="str", no_log=True, fallback=(env_fallback, ["ETCDCTL_PASSWORD"])),
    command_timeout=dict(type="int", default=5),
)


# What to do next, by what etcd (or gRPC, or Go's TLS) says when a request fails: the first match wins.
ADVICE = (
    (("database space exceeded", "NOSPACE"),
     "The cluster is out of space (NOSPACE alarm): run ./etcd.yml -t etcd_maintain, which compacts, defragments "
     "and disarms it (docs/maintenance.md)."),
    (("certificate signed by unknown authority", "bad certificate", "unknown certificate authority",
      "certificate required", "x509:"),
     "The certificates of this host and the members' CA do not match: run ./etcd.yml -t etcd_cert to install "
     "those of etcd_pki_dir; during a CA rotation, finish it with -t etcd_ca_rotate (docs/security.md)."),
    (("root user does not exist",),
     "Authentication needs etcd's root user first: set etcd_root_password, and the role creates root before it "
     "enables authentication (docs/security.md)."),
    (("user name is empty", "authentication failed", "invalid auth token", "invalid auth management"),
     "RBAC authentication is on and the request is not made as a user of it: use the root client certificate "
     "(the etcdctl profile /etc/profile.d/etcdctl.sh) or set etcd_root_password (docs/security.md)."),
    (("user name not found",),
     "No such etcd user: the request names a user, or presents a client certificate whose common name is one, "
     "that etcd's RBAC does not hold; create it through etcd_users, or use the root client certificate."),
    (("role name not found",),
     "No such etcd role: create it through etcd_roles."),
    (("permission denied",),
     "The user lacks a role for this request: grant it through etcd_users and etcd_roles, or use root."),
    (("cluster has a downgrade job in progress",),
     "etcd already runs a downgrade: run the same command again, which leaves one to the same minor release as it "
     "is, or cancel it (etcdctl downgrade cancel) before another (docs/upgrade.md)."),
    (("invalid downgrade target version",),
     "etcd's downgrade goes to the minor release right below the cluster version only, from 3.6 on: roll back one "
     "minor release at a time (docs/upgrade.md)."),
    (("too many learner members",),
     "Another learner is still joining: run the same command again, which finishes that join first, or remove "
     "the learner (etcdctl member remove ID)."),
    (("member ID already exist", "Peer URLs already exists"),
     "The member is already in the membership: run the same command again, which resumes a join it finds."),
    (("member not found",),
     "The member is not in the membership (any more): run ./etcd.yml again, so that the plan reads the "
     "membership as it is now."),
    (("learner member which is in sync with leader",),
     "The learner has not caught up with the leader yet: run the same command again."),
    (("can only promote a learner member",),
     "The member is a voter already: run the same command again, which reads the membership as it is now."),
    (("unhealthy cluster", "re-configuration failed due to not enough started members"),
     "etcd reports the cluster unhealthy (a member down, or no quorum) and refuses what would weaken it: start "
     "the members that are down (journalctl -u etcd on them), then run the same command again."),
    (("leader changed", "no leader", "request timed out", "election in progress"),
     "The cluster is electing a leader: run the same command again once it has one (etcdctl endpoint status "
     "--cluster)."),
    (("connection refused",),
     "No etcd answers at that address: check that the member runs (systemctl status etcd, journalctl -u etcd on "
     "it) and that its client port is reachable from this host."),
    (("context deadline exceeded", "i/o timeout", "DeadlineExceeded", "no route to host", "connection reset"),
     "etcd did not answer in time: check that the members run and keep a quorum (journalctl -u etcd on them) "
     "and that this host reaches their client port."),
    (("required revision has been compacted",),
     "The revision asked for is compacted already: run the same command again, which reads the current one."),
    (("invalid database", "snapshot file integrity check failed", "checksum mismatch"),
     "The snapshot file is damaged: take a new one (./etcd.yml -t etcd_backup) or use an older one."),
    (("unknown flag",),
     "This etcd release does not know that flag: check the version on the member (etcd --version) against the "
     "versions the collection supports (docs/upgrade.md)."),
)
DEFAULT_ADVICE = "See journalctl -u etcd on the members, and run the same command again once the cause is fixed."


def etcd_answer(stderr, stdout=""):
    """What etcd answered, without etcdctl's JSON log lines: its `Error:` lines (etcdctl prints the failure
    there), else the last line that is not a log line, else the output as it is."""
    text = (stderr or stdout or "").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line[len("Error:"):].strip() for line in lines if line.startswith("Error:")]
    if errors:
        return "; ".join(errors)
    plain = [line for line in lines if not (line.startswith("{") and line.endswith("}"))]
    if plain:
        return plain[-1]
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and (entry.get("error") or entry.get("msg")):
            return str(entry.get("error") or entry.get("msg"))
    return text or "no output"


def advice(text):
    """What to do next about a failed request, from etcd's answer."""
    lowered = (text or "").lower()
    for needles, what in ADVICE:
        if any(needle.lower() in lowered for needle in needles):
            return what
    return DEFAULT_ADVICE


def version_endpoint(ctl, endpoint, timeout=5):
    """What a member's /version answers ({"etcdserver": ..., "etcdcluster": ...}; 3.6 adds "storage"): the cluster
    version, which etcdctl prints nowhere. Over TLS with the runner's CA, certificate and key; no user needed.
    Raises OSError, ValueError (or http.client's HTTPException) when it cannot be read."""
    from ansible.module_utils.urls import open_url
    if not endpoint:
        raise ValueError("no endpoint to ask")
    params = ctl.module.params
    answer = open_url(endpoint.rstrip("/") + "/version", timeout=timeout, ca_path=params.get("cacert") or None,
                      client_cert=params.get("cert") or None, client_key=params.get("key") or None,
                      validate_certs=True, use_proxy=False)
    return json.loads(answer.read().decode("utf-8"))


class EtcdctlError(Exception):
    """A failed etcdctl call. Its message: the command, etcd's answer and what to do next (the whole output
    stays in stdout and stderr)."""

    def __init__(self, args, rc, stdout, stderr):
        self.args_used, self.rc, self.stdout, self.stderr = args, rc, stdout, stderr
        self.answer = etcd_answer(stderr, stdout)
        super(EtcdctlError, self).__init__("etcdctl %s failed (rc=%s): %s. %s" % (
            " ".join(args), rc, self.answer.rstrip("."), advice(self.answer + "\n" + (stderr or ""))))


TLS_FLAGS = (("cacert", "--cacert"), ("cert", "--cert"), ("key", "--key"))


class Etcdctl(object):
    def __init__(self, module, endpoints=None):
        self.module = module
        params = module.params
        self.binary = params["etcdctl_path"]
        if "/" not in self.binary:
            self.binary = module.get_bin_path(self.binary, required=True)
        self.endpoints = endpoints if endpoints is not None else params.get("endpoints")
        self.tls = ["%s=%s" % (flag, params[option]) for option, flag in TLS_FLAGS if params.get(option)]
        # etcdctl aborts when a flag shadows an ETCDCTL_* variable (and 3.5.1's move-leader reads the
        # variables twice): the options were read above (env_fallback), so the variables go.
        for variable in [v for v in os.environ if v.startswith("ETCDCTL_")]:
            del os.environ[variable]
        # No ETCDCTL_API: every supported etcdctl speaks the v3 API by default (3.4 on), and 3.6's warns on stderr
        # about the variable ("unrecognized environment variable").
        self.environ = {}
        # The password goes through the environment, not argv, so `ps` never shows it.
        if params.get("user"):
            self.environ["ETCDCTL_USER"] = params["user"]
        if params.get("password"):
            self.environ["ETCDCTL_PASSWORD"] = params["password"]
        self.timeout = params.get("command_timeout") or 5

    def argv(self, args, endpoints=None):
        argv = [self.binary, "--command-timeout=%ds" % self.timeout] + self.tls
        endpoints = endpoints if endpoints is not None else self.endpoints
        if endpoints:
            argv.append("--endpoints=%s" % ",".join(endpoints))
        return argv + list(args)

    def run(self, args, endpoints=None, data=None, login=None):
        """Run etcdctl; `data` goes to its stdin (a password, never argv); `login` is a (user, password) pair
        that replaces the connection's own credentials for this call (through the environment)."""
        environ = dict(self.environ)
        if login is not None:
            environ.pop("ETCDCTL_PASSWORD", None)
            environ["ETCDCTL_USER"] = "%s:%s" % login
        extra = dict(data=data) if data is not None else {}
        rc, out, err = self.module.run_command(self.argv(args, endpoints), environ_update=environ, **extra)
        return rc, out, err

    def check(self, args, endpoints=None, data=None):
        """Run etcdctl; return its output, or raise EtcdctlError when it fails."""
        rc, out, err = self.run(args, endpoints, data=data)
        if rc != 0:
            raise EtcdctlError(list(args), rc, out, err)
        return out

    def json(self, args, endpoints=None):
        """Run etcdctl ... -w json; return the parsed output, or raise EtcdctlError."""
        rc, out, err = self.run(list(args) + ["-w", "json"], endpoints)
        parsed = parse_json_output(out)
        if rc != 0 and parsed is None:
            raise EtcdctlError(list(args), rc, out, err)
        return rc, parsed, err


LEARNER_REFUSES = "not supported for learner"
# `alarm list -w json` gives the alarm type as a number (etcdserverpb.AlarmType).
ALARM_NAMES = {0: "NONE", 1: "NOSPACE", 2: "CORRUPT"}


def alarm_name(value):
    """An alarm type as etcd names it (NOSPACE, CORRUPT), from the number `-w json` prints or a name."""
    try:
        return ALARM_NAMES.get(int(value), str(value))
    except (TypeError, ValueError):
        return str(value)


def alarm_view(raw):
    """One alarm of `alarm list -w json`: the member ID in hexadecimal and the alarm's name."""
    return dict(member_id=hex_id(raw.get("memberID", 0)), alarm=alarm_name(raw.get("alarm", "")))


def hex_id(value):
    """An etcd ID as etcdctl prints it (hexadecimal)."""
    return "%x" % int(value)


def member_view(raw):
    """One member of `member list -w json`: ID in hexadecimal, name (empty until it has started), URLs,
    whether it is a learner."""
    return dict(id=hex_id(raw["ID"]), name=raw.get("name", ""), peer_urls=list(raw.get("peerURLs") or []),
                client_urls=list(raw.get("clientURLs") or []), is_learner=bool(raw.get("isLearner", False)))


def member_list(ctl, endpoints=None):
    """`member list` as parsed JSON. A learner among the endpoints answers most requests with "rpc not
    supported for learner", and a member that is down does not answer; etcdctl picks one endpoint: when the
    request fails, ask the endpoints one by one."""
    endpoints = endpoints if endpoints is not None else ctl.endpoints
    args = ["member", "list", "-w", "json"]
    rc, out, err = ctl.run(args, endpoints)
    # A learner, or a member that is down, among several endpoints: ask them one at a time.
    if rc != 0 and len(endpoints or []) > 1:
        for endpoint in endpoints or []:
            rc, out, err = ctl.run(args, [endpoint])
            if rc == 0:
                break
    parsed = parse_json_output(out) if rc == 0 else None
    if not isinstance(parsed, dict):
        # Without a quorum a linearizable member list fails. etcdctl 3.6 and later can ask for a serializable one,
        # each member answering from its own view (--consistency=s); 3.4 and 3.5 refuse the flag, and their
        # failure stands. The answer is marked, so that nobody takes it for a cluster that has its quorum.
        for endpoint in endpoints or [None]:
            rc_s, out_s, _err = ctl.run(args + ["--consistency=s"], [endpoint] if endpoint else None)
            serial = parse_json_output(out_s) if rc_s == 0 else None
            if isinstance(serial, dict):
                serial["serializable"] = True
                return serial
        raise EtcdctlError(["member", "list"], rc, out, err)
    return parsed


def json_many(ctl, requests, optional=()):
    """Run several `etcdctl ... -w json` requests ((args, endpoints) pairs) at the same time; return
    (rc, parsed) per request, in order, or raise EtcdctlError for one that printed no JSON (one whose index is
    in `optional` gives (rc, None) instead)."""
    env = dict(os.environ)
    env.update(ctl.environ)
    procs = [(args, subprocess.Popen(ctl.argv(list(args) + ["-w", "json"], endpoints), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
             for args, endpoints in requests]
    results = []
    for index, (args, proc) in enumerate(procs):
        out, err = proc.communicate()
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        parsed = parse_json_output(out)
        if proc.returncode != 0 and parsed is None and index not in optional:
            raise EtcdctlError(list(args), proc.returncode, out, err)
        results.append((proc.returncode, parsed))
    return results


# A user name and password that cannot exist: etcd answers a login with them "authentication is not
# enabled" (etcdctl then goes on without a token) or "authentication failed". etcd 3.4 has no auth status.
AUTH_PROBE_USER = "dcs-etcd-auth-probe"
AUTH_FAILED = "authentication failed"
AUTH_NOT_ENABLED = "authentication is not enabled"


def start_auth_probe(ctl, endpoint):
    """Start `etcdctl endpoint status` logged in as AUTH_PROBE_USER against one endpoint; read the answer
    with auth_probe_result()."""
    env = dict(os.environ)
    env.update(ctl.environ)
    env.pop("ETCDCTL_PASSWORD", None)
    env["ETCDCTL_USER"] = "%s:%s" % (AUTH_PROBE_USER, binascii.hexlify(os.urandom(16)).decode())
    return subprocess.Popen(ctl.argv(["endpoint", "status"], [endpoint] if endpoint else None), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def auth_probe_answer(proc):
    """(True when RBAC authentication is enabled, False when not, None when the answer tells neither; etcdctl's
    exit status; its stderr)."""
    out, err = proc.communicate()
    err = err.decode("utf-8", "replace")
    return auth_from_answer(proc.returncode, err), proc.returncode, err


def auth_probe_result(proc):
    """True when RBAC authentication is enabled, False when not, None when the answer tells neither."""
    return auth_probe_answer(proc)[0]


def login_result(ctl, user, password, endpoint=None):
    """Log in as `user` with `password` (through the environment): True when etcd took the password, False when
    it refused it, None when the answer tells neither (with auth off, etcd takes any password)."""
    rc, out, err = ctl.run(["endpoint", "status"], [endpoint] if endpoint else None, login=(user, password))
    if AUTH_NOT_ENABLED in (err or ""):
        return None
    if rc == 0:
        return True
    return False if AUTH_FAILED in (err or "") else None


def auth_from_answer(rc, stderr):
    if rc == 0:
        return False
    if AUTH_FAILED in stderr:
        return True
    return None


def parse_json_output(text):
    """etcdctl prints one JSON document (3.5) or, for some commands, one per line (3.4): accept both."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    docs = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            docs.append(json.loads(line))
        except ValueError:
            return None
    return docs


def with_status(ctl, members):
    """The member views (member_view) with each started member's endpoint status: started, healthy (it
    answered), leader, and status (raft_applied_index, raft_index, version), read in one request."""
    urls = [m["client_urls"][0] for m in members if m["client_urls"]]
    by_url = {}
    if urls:
        rc, parsed, err = ctl.json(["endpoint", "status"], endpoints=urls)
        for entry in (parsed if isinstance(parsed, list) else [parsed or {}]):
            by_url[entry.get("Endpoint")] = entry.get("Status") or {}
    result = []
    for member in members:
        status = by_url.get(member["client_urls"][0]) if member["client_urls"] else None
        view = dict(member, started=bool(member["name"]), healthy=bool(status), leader=False, status=None)
        if status:
            view["status"] = dict(raft_applied_index=status.get("raftAppliedIndex"), raft_index=status.get("raftIndex"),
                                  version=status.get("version"), leader=hex_id(status.get("leader", 0)))
            view["leader"] = int(status.get("leader", 0)) == int(member["id"], 16)
        result.append(view)
    return result


def leader_of(members):
    """The member (with_status view) that the answering members agree leads, or None."""
    leaders = set(m["status"]["leader"] for m in members if m.get("status") and m["status"]["leader"] != "0")
    if len(leaders) != 1:
        return None
    leader_id = leaders.pop()
    return next((m for m in members if m["id"] == leader_id), None)


def move_leader(ctl, leader, target):
    """`etcdctl move-leader` sent to the current leader's endpoint (only the leader serves it; etcdctl stops
    at the first endpoint that does not answer). Raises EtcdctlError when etcd refuses."""
    args = ["move-leader", target["id"]]
    rc, out, err = ctl.run(args, leader["client_urls"][:1])
    if rc != 0:
        raise EtcdctlError(args, rc, out, err)
    return out
