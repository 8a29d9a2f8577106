# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: every cross-host decision of a run of the etcd role, as pure functions
over plain data. The etcd_plan action plugin gathers the inputs (the inventory, the parameters, the run's tags,
what the probes found on each member, the cluster as etcd reported it) and returns make_plan()'s result; the
role's tasks and templates only read it.

A run plans in up to three steps, each with what is known by then, each refusing as early as it can:
  1. the inventory and the parameters (no host has been contacted);
  2. plus what etcd_host_info found on every member (read-only);
  3. plus the cluster as etcd_cluster_info read it through a running member, when the run needs it.

Each refusal names the variable and the host, and no refusal comes after a change. Every rule is here once:
names and URLs, the initial cluster, quorum arithmetic, the leader's successor, the version guard, the
removal and join guards, what restarts and in which order, and what a healthy result must look like."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import ipaddress
import json
import posixpath
import re

from ansible_collections.dcs.etcd.plugins.module_utils._backup import (
    VERSION_RE,
    choose_member,
    parse_duration,
    parse_version,
    restore_flags,
)
from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import defrag_order, defrag_reason, disk_findings
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import MASK as RBAC_MASK
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import NAME_RE as RBAC_NAME_RE
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import ROOT as RBAC_ROOT
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import desired as rbac_desired
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import rbac_problems
from ansible_collections.dcs.etcd.plugins.module_utils._membership import (
    initial_cluster,
    leader_last,
    quorum,
    successor,
)

ARCHIVE_RE = re.compile(r"^etcd-v(\d+\.\d+\.\d+)-linux-([a-z0-9]+)\.tar\.gz$")
CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SEQ_RE = re.compile(r"^[0-9]+$")
SHA256_RE = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")
DNS_RE = re.compile(r"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")
# etcd's 3.5 to 3.6 upgrade guide: every 3.5 member must first run at least this patch release.
LAST_35_BEFORE_36 = (3, 5, 26)
# A systemd unit in one of these states has an etcd process that answers, or soon will.
RUNNING_STATES = ("active", "activating", "reloading")

# The role's stages, as tags. Pigsty's tags that have no stage here stop the run with a hint, rather than
# succeeding without doing anything.
STAGE_TAGS = ("etcd_assert", "etcd_install", "etcd_clean", "etcd_purge", "etcd_dir", "etcd_config", "etcd_cert",
              "etcd_conf", "etcd_launch", "etcd_auth", "etcd_register")
REMOVAL_TAGS = ("etcd_clean", "etcd_purge")
# Operations on the whole cluster, run on their own: -t etcd_backup, -t etcd_restore, -t etcd_recover.
OPERATION_TAGS = ("etcd_backup", "etcd_restore", "etcd_recover", "etcd_maintain", "etcd_ca_rotate")
NOT_HERE_TAGS = {
    "etcd_check": "dcs.etcd checks the inventory, the parameters and the cluster on every run (the etcd_assert stage)",
    "etcd_env": "dcs.etcd writes the etcdctl environment (/etc/profile.d/etcdctl.sh) in the etcd_conf stage",
    "etcd_member": "dcs.etcd adds members with ./etcd.yml -l NEW_HOSTS -e etcd_init=existing",
}
ANSIBLE_TAGS = ("all", "always", "never", "tagged", "untagged")

# Data directories the role refuses: the root, system directories, and anything less than two levels deep
# (/data, /srv, ...) or under a virtual or configuration file system. etcd_clean deletes what etcd keeps in
# the data directory, so the directory must be etcd's own.
SYSTEM_DIRS = frozenset([
    "/usr/bin", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libexec", "/usr/local", "/usr/sbin",
    "/usr/share", "/usr/src", "/usr/local/bin", "/usr/local/etc", "/usr/local/include", "/usr/local/lib",
    "/usr/local/sbin", "/usr/local/share", "/usr/local/src", "/var/backups", "/var/cache", "/var/lib", "/var/local",
    "/var/lock", "/var/log", "/var/mail", "/var/opt", "/var/run", "/var/spool", "/var/tmp", "/var/lib/docker",
    "/var/lib/postgresql", "/var/lib/containers", "/home/etcd", "/root/etcd",
])
SYSTEM_TREES = ("/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64")
# What etcd keeps in its data directory, and what a fresh file system holds.
ETCD_DATA_ENTRIES = ("member",)
IGNORED_DATA_ENTRIES = ("lost+found",)
# What a restore or a recovery sets aside in the data directory (member.before-restore-TIME, ...); etcd ignores it.
SET_ASIDE_PREFIX = "member.before-"

# Parameters that can differ per member (read from each host's inventory variables, else the play's value).
HOST_PARAMS = ("etcd_cluster", "etcd_advertise_address", "etcd_data", "etcd_port", "etcd_peer_port",
               "etcd_safeguard", "etcd_cert_extra_sans", "etcd_pki_dir", "etcd_nofile_limit", "etcd_metrics_url")
METRICS_URL_RE = re.compile(r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:\[\]]+):([0-9]+)/?$")
DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
# A metrics URL listening on every address is scraped on the member's own address.
ANY_ADDRESS = ("0.0.0.0", "[::]", "::")


# Options of dcs.etcd.etcd_plan, shared by its action plugin and its documentation stub module.
ARGUMENT_SPEC = dict(
    scope=dict(type="str", choices=["cluster", "run"], default="cluster"),
    cluster=dict(type="str"),
    probe_var=dict(type="str", default="__etcd_host"),
    others_probe_var=dict(type="str", default="__etcd_others_probe"),
    read_var=dict(type="str"),
    paths=dict(type="dict", default={}),
    rebuilt=dict(type="bool", default=False),
    peers_var=dict(type="str"),
    recovered=dict(type="bool", default=False),
    compacted=dict(type="bool", default=False),
)


# --------------------------------------------------------------------------------------------------------
# Small rules, also used on their own (filters, modules).

# etcd's answer to a request without a user while RBAC is on: a client certificate is no user unless the
# member runs with client-cert-auth.
USER_NAME_EMPTY = "user name is empty"


def certificate_is_user(config):
    """Whether a member's config (etcd_host_info's parsed settings) makes the CN of a client certificate the user
    (client-cert-auth on the client port), as this role's config does. A config whose client TLS section was
    not read (none yet) counts as one."""
    section = [k for k in config or {} if k.startswith("client-transport-security.")]
    if not section:
        return True
    return str(config.get("client-transport-security.client-cert-auth", "")).lower() == "true"


def version_errors(target, current, known_bad, auth_enabled=None, source="etcd_version"):
    """Why installing etcd `target` on a cluster whose members run or hold `current` would be unsafe, one
    message per problem (etcd's upgrade rules); empty when it is safe or the target is unknown."""
    wanted = parse_version(target)
    if wanted is None:
        return []
    errors = []
    if str(target) in [str(v).strip() for v in known_bad or []]:
        errors.append(
            "%s: etcd %s is on the known-bad list (etcd_known_bad_versions: %s). Choose another release; only if "
            "you accept its known problems, remove it from etcd_known_bad_versions. Nothing was changed."
            % (source, target, ", ".join(str(v) for v in known_bad)))
    running = sorted(set(p for p in (parse_version(v) for v in current or []) if p is not None))
    if not running:
        return errors
    lowest, highest = running[0], running[-1]
    have = ", ".join(sorted(set(str(v) for v in current if parse_version(v))))
    if wanted[0] != lowest[0] or wanted[0] != highest[0]:
        errors.append("%s: etcd %s has another major version than the cluster's members (%s); etcd supports no "
                      "such change in place. Nothing was changed." % (source, target, have))
    elif wanted[:2] < highest[:2]:
        errors.append("%s: etcd %s would downgrade the members running %s to minor version %d.%d. A member cannot "
                      "start on data written by a newer minor version; to go back, restore a snapshot into a new "
                      "cluster. Nothing was changed." % (source, target, have, wanted[0], wanted[1]))
    elif wanted[1] > lowest[1] + 1:
        errors.append("%s: etcd %s would skip a minor version: the cluster runs %s. Upgrade one minor version "
                      "at a time (to %d.%d first, then on). Nothing was changed."
                      % (source, target, have, lowest[0], lowest[1] + 1))
    elif wanted[:2] == (3, 6) and lowest[:2] == (3, 5) and lowest < LAST_35_BEFORE_36:
        errors.append("%s: etcd %s needs every 3.5 member on 3.5.%d or later first (the cluster runs %s); "
                      "earlier 3.5 releases cannot run next to 3.6 members. Upgrade to the newest 3.5 release "
                      "first. Nothing was changed." % (source, target, LAST_35_BEFORE_36[2], have))
    elif lowest[:2] == (3, 4) and wanted[:2] == (3, 5) and auth_enabled is not False:
        if auth_enabled:
            reason = "RBAC authentication is enabled on the cluster"
        else:
            reason = "the run could not tell whether RBAC authentication is enabled (the cluster was not read, or did not say)"
        errors.append("%s: etcd %s would upgrade the cluster from 3.4 to 3.5 member by member, but %s: etcd "
                      "does not support a rolling 3.4 to 3.5 upgrade with authentication enabled. Disable it "
                      "(etcdctl auth disable) for the upgrade, and enable it again afterwards. Nothing was "
                      "changed." % (source, target, reason))
    return errors


def tls_min_version_supported(version):
    """Whether an etcd release reads --tls-min-version (3.4.25+, 3.5.8+; a config file's unknown key is ignored
    without a word, so the role writes it only where it is read)."""
    parsed = parse_version(version)
    return bool(parsed) and (parsed >= (3, 5, 8) or (3, 4, 25) <= parsed < (3, 5, 0))


def rotation_steps(phase, all_phases):
    """The steps of dcs.etcd.etcd_ca_rotation one -t etcd_ca_rotate run takes from a phase: one phase per run, so
    that consumers that read their CA file only at start can be restarted in between (all_phases: every one).
    The finish phase and the completion go together: only the controller's files change after it."""
    order = ["begin", "reissue", "finish", "complete"]
    start = {None: 0, "trust": 1, "reissue": 2, "finish": 2}[phase]
    if all_phases:
        return order[start:]
    return order[start:start + 1] if start < 2 else order[2:]


def san_problem(entry):
    """Why an etcd_cert_extra_sans entry is not usable, or None. Accepted: DNS:name, IP:address, or a bare
    name or address (IPv4 or IPv6)."""
    text = str(entry).strip()
    kind, sep, value = text.partition(":")
    if sep and kind.upper() in ("IP", "DNS"):
        kind = kind.upper()
    else:
        kind, value = None, text
    value = value.strip()
    if not value:
        return "empty"
    if kind != "DNS":
        try:
            ipaddress.ip_address(value.strip("[]"))
            return None
        except ValueError:
            if kind == "IP":
                return "not an IP address"
    if DNS_RE.match(value) and len(value) <= 253:
        return None
    return "not a DNS name or an IP address"


def san_entry(entry):
    """An accepted SAN entry in canonical form (DNS:name / IP:address)."""
    text = str(entry).strip()
    kind, sep, value = text.partition(":")
    if sep and kind.upper() in ("IP", "DNS"):
        kind, value = kind.upper(), value.strip()
    else:
        kind, value = None, text
    if kind != "DNS":
        try:
            return "IP:" + ipaddress.ip_address(value.strip("[]")).compressed
        except ValueError:
            pass
    return "DNS:" + value.lower()


def is_ip(text):
    try:
        ipaddress.ip_address(str(text).strip("[]"))
        return True
    except ValueError:
        return False


def is_loopback(address):
    address = str(address).strip("[]")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def url_host(address):
    return "[%s]" % address if ":" in address else address


def data_dir_problem(path):
    """Why a path cannot be an etcd data directory (etcd_data), or None."""
    if not isinstance(path, str) or not path.startswith("/"):
        return "must be an absolute path"
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    depth = len([p for p in norm.split("/") if p])
    if depth < 2:
        return "is the root or a top-level directory (%s); use a directory of its own such as /data/etcd" % norm
    if norm in SYSTEM_DIRS:
        return "is a system directory (%s); use a directory of its own such as /data/etcd" % norm
    for tree in SYSTEM_TREES:
        if norm == tree or norm.startswith(tree + "/"):
            return "is under %s, which is not a place for data; use a directory of its own such as /data/etcd" % tree
    return None


def port_ok(value):
    try:
        return str(value).isdigit() and 1 <= int(value) <= 65535
    except ValueError:
        return False


def as_bool(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y", "t")


def names(hosts):
    return ", ".join(hosts)


def run_problems(groups, cluster, run_tags, skip_tags=()):
    """What stops a run before any host is considered: the cluster's inventory group and the run's tags."""
    problems = []
    if not isinstance(cluster, str) or not CLUSTER_RE.match(cluster):
        problems.append("etcd_cluster=%s: must be a simple name ([A-Za-z0-9_.-]) of an inventory group listing the "
                        "members. Nothing was changed." % (cluster,))
    elif cluster not in groups or not groups[cluster]:
        problems.append("etcd_cluster=%s names no inventory group with hosts (groups: %s). Add the members to a "
                        "group of that name, or set etcd_cluster to the group's name. Nothing was changed."
                        % (cluster, names(sorted(g for g in groups if g not in ("all", "ungrouped"))) or "none"))
    for option, tags in (("-t", run_tags), ("--skip-tags", skip_tags)):
        for tag in tags or []:
            if tag in STAGE_TAGS or tag in OPERATION_TAGS or tag in ANSIBLE_TAGS or not str(tag).startswith("etcd_"):
                continue
            hint = NOT_HERE_TAGS.get(tag)
            if hint and option == "-t":
                problems.append("-t %s: %s, so this tag would run nothing. Nothing was changed." % (tag, hint))
            elif not hint:
                problems.append("%s %s: no such stage. The stages (tags) are %s; the operations are %s. Nothing was "
                                "changed." % (option, tag, ", ".join(STAGE_TAGS), ", ".join(OPERATION_TAGS)))
    selected = [t for t in run_tags or [] if t in STAGE_TAGS]
    if [t for t in selected if t in REMOVAL_TAGS] and [t for t in selected if t not in REMOVAL_TAGS]:
        problems.append("-t %s: etcd_clean and etcd_purge remove members and cannot be combined with the other "
                        "stages. Run them separately. Nothing was changed." % ",".join(selected))
    operations = [t for t in run_tags or [] if t in OPERATION_TAGS]
    if operations and (len(operations) > 1 or selected):
        problems.append("-t %s: %s runs on its own, combined with no stage or other operation. Nothing was changed."
                        % (",".join(selected + operations), " and ".join(operations)))
    return problems


def peers_answering(results):
    """Which peer URLs answered, from the results of the restore's loop of ansible.builtin.wait_for over them
    (registered with failed_when: false, so `failed` says nothing): a port that opened returns its `state`; a
    timeout returns a `msg` and no state. {url: answered}."""
    answered = {}
    for item in results or []:
        if isinstance(item, dict) and isinstance(item.get("item"), dict) and not item.get("skipped"):
            answered[item["item"].get("url")] = bool(item.get("state")) and not item.get("msg")
    return answered


def operation_of(run_tags):
    """The operation a run performs (backup, restore, recover), or None for a converge or a removal."""
    found = [t for t in run_tags or [] if t in OPERATION_TAGS]
    return found[0][len("etcd_"):] if len(found) == 1 else None


def stages_run(run_tags, skip_tags=()):
    """Which of the file-writing stages this run's --tags/--skip-tags select. When the conf stage runs, it
    writes the directories and certificates of the earlier stages in its own module run (one round trip per
    member for the three); a stage that runs without it writes its own entries."""
    run_tags, skip_tags = set(run_tags or ["all"]), set(skip_tags or [])
    every = bool(run_tags & set(["all", "tagged"]))

    def runs(*tags):
        return (every or bool(run_tags & set(tags))) and not skip_tags & set(tags)

    return dict(install=runs("etcd_install"), dir=runs("etcd_dir"), cert=runs("etcd_config", "etcd_cert"),
                conf=runs("etcd_config", "etcd_conf"), register=runs("etcd_register"), auth=runs("etcd_auth"))


# --------------------------------------------------------------------------------------------------------
# Judging a cluster read (etcd_cluster_info's result) against what the run expects.

def _member_key(member):
    return (member.get("peer_urls") or [None])[0] or member.get("name")


def _expected_match(member, expected):
    urls = set(member.get("peer_urls") or [])
    for exp in expected:
        if exp.get("peer_url") and exp["peer_url"] in urls:
            return exp
        if not exp.get("peer_url") and exp.get("name") and exp["name"] == member.get("name"):
            return exp
    return None


def cluster_problems(read, expect):
    """Why the cluster as read does not meet `expect`, one sentence each (empty: it does).

    expect: members (list of {name, peer_url}: the membership must be exactly these, none a learner; omitted:
    not checked), tolerate_down (peer URLs or names of members the run knows to be down: reported by the plan,
    not a problem here as long as a quorum stays), margin (how many more voting members may go down with a
    quorum still healthy: 1 before a restart), versions ({member name: the etcd version it must run}),
    catch_up ({name, index}: that member has applied at least that raft index), tolerate_alarms (alarm names
    that are not a problem: NOSPACE while maintenance recovers from it)."""
    expect = expect or {}
    if not read or read.get("failed") or "members" not in read:
        return ["the cluster could not be read: %s" % ((read or {}).get("msg") or "no answer")]
    members = read.get("members") or []
    tolerated = set(expect.get("tolerate_down") or [])
    problems = []
    expected = expect.get("members")
    if expected is not None:
        seen = []
        for member in members:
            match = _expected_match(member, expected)
            if match is None:
                problems.append("member %s (%s) is not in the inventory's membership"
                                % (member.get("name") or member["id"], ", ".join(member.get("peer_urls") or [])))
            else:
                seen.append(id(match))
            if member.get("is_learner"):
                problems.append("member %s is still a learner" % (member.get("name") or member["id"]))
        for exp in expected:
            if id(exp) not in seen:
                problems.append("member %s (%s) is missing from the membership" % (exp.get("name"), exp.get("peer_url") or "?"))

    def down_tolerated(member):
        return bool(tolerated & (set(member.get("peer_urls") or []) | set([member.get("name")])))

    tolerated_alarms = set(expect.get("tolerate_alarms") or [])

    def healthy_but_for_alarms(member):
        """etcd 3.5 says a member is unhealthy while an alarm is active: not a problem when the alarm is tolerated."""
        error = str(member.get("health_error") or "")
        named = [a for a in error.replace("Active Alarm(s):", "").split() if a]
        return bool(tolerated_alarms) and error.startswith("Active Alarm(s):") and set(named) <= tolerated_alarms

    for member in members:
        label = member.get("name") or member["id"]
        if not member.get("started"):
            problem = "member %s (%s) was added but has not started" % (member["id"], ", ".join(member.get("peer_urls") or []))
        elif not member.get("status"):
            problem = "member %s is not healthy: it did not answer a status request" % label
        elif not member.get("healthy") and not healthy_but_for_alarms(member):
            problem = "member %s is not healthy" % label
        else:
            continue
        if not down_tolerated(member):
            problems.append(problem)
    if not read.get("leader"):
        problems.append("the members do not agree on one leader")
    for alarm in read.get("alarms") or []:
        if alarm.get("alarm") not in tolerated_alarms:
            problems.append("alarm %s is active on member %s" % (alarm.get("alarm"), alarm.get("member_id")))
    voters = [m for m in members if not m.get("is_learner")]
    healthy = [m for m in voters if m.get("started") and (m.get("healthy") or healthy_but_for_alarms(m)) and m.get("status")]
    margin = int(expect.get("margin") or 0)
    if voters and len(healthy) - margin < quorum(len(voters)):
        down = ", ".join(m.get("name") or m["id"] for m in voters if m not in healthy)
        if margin:
            problems.append("%d of %d voting members are healthy (not: %s): restarting one would leave fewer than a "
                            "quorum (%d)" % (len(healthy), len(voters), down or "none", quorum(len(voters))))
        else:
            problems.append("%d of %d voting members are healthy (not: %s), fewer than a quorum (%d)"
                            % (len(healthy), len(voters), down or "none", quorum(len(voters))))
    versions = expect.get("versions") or {}
    for member in members:
        running = (member.get("status") or {}).get("version")
        wanted = versions.get(member.get("name"))
        if wanted and running and running != wanted:
            problems.append("member %s runs etcd %s, not %s" % (member["name"], running, wanted))
    catch_up = expect.get("catch_up")
    if catch_up:
        member = next((m for m in members if m.get("name") == catch_up["name"]), None)
        applied = int(((member or {}).get("status") or {}).get("raft_applied_index") or -1)
        if applied < int(catch_up["index"]):
            problems.append("member %s has not applied raft index %s yet (applied: %s)"
                            % (catch_up["name"], catch_up["index"], applied if applied >= 0 else "unknown"))
    return problems


def leader_host(plan, read):
    """The inventory host of the leader the read names, or None."""
    leader = next((m for m in (read or {}).get("members") or [] if m.get("leader")), None)
    if leader is None:
        return None
    return plan_host_of(plan, leader)


def plan_host_of(plan, member):
    urls = set(member.get("peer_urls") or [])
    for host, info in plan["hosts"].items():
        if info.get("peer_url") and info["peer_url"] in urls:
            return host
    for host, info in plan["hosts"].items():
        if member.get("name") and info["name"] == member.get("name") and not info.get("peer_url"):
            return host
    return None


def restart_order(hosts, plan, read=None):
    """The members to restart, followers first (in the plan's order), the leader last."""
    order = [h for h in plan["order"] if h in hosts] + [h for h in hosts if h not in plan["order"]]
    return leader_last(order, leader_host(plan, read) if read else plan["restart"].get("leader_host"))


# --------------------------------------------------------------------------------------------------------
# The plan.

def controller_paths(inputs):
    """What the action must look at on the controller before planning: the release archive given by path,
    and the CA certificate in the resolved etcd_pki_dir."""
    planner = Planner(inputs, {})
    return dict(archive=planner.archive_src(), pki_dir=planner.pki_dir(),
                archive_path=planner.archive_path() if planner.p("etcd_install_method") == "archive" else None,
                restore_snapshot=str(planner.p("etcd_restore_snapshot") or "") or None
                if planner.operation == "restore" else None)


def sibling_groups(groups, cluster):
    """The inventory groups that share a host with the cluster's group without being its parent or its part:
    each may be another cluster's group (the plan decides, from which of their hosts have an etcd_seq)."""
    own = set(groups.get(cluster) or []) if isinstance(cluster, str) else set()
    found = {}
    for name, hosts in sorted(groups.items()):
        hosts = set(hosts or [])
        if name in ("all", "ungrouped", cluster) or not (hosts & own) or hosts >= own or hosts <= own:
            continue
        found[name] = sorted(hosts)
    return found


def make_plan(inputs, controller):
    return Planner(inputs, controller).plan()


class Planner(object):
    def __init__(self, inputs, controller):
        self.inputs = inputs
        self.params = inputs.get("params") or {}
        self.groups = inputs.get("groups") or {}
        self.cluster = self.params.get("etcd_cluster")
        self.play = list(inputs.get("play_hosts") or [])
        self.run_tags = list(inputs.get("run_tags") or ["all"])
        self.skip_tags = list(inputs.get("skip_tags") or [])
        self.check_mode = bool(inputs.get("check_mode"))
        self.paths = inputs.get("paths") or {}
        self.host_params = inputs.get("host_params") or {}
        self.host_facts = inputs.get("host_facts") or {}
        self.probes = inputs.get("probes")
        self.read = inputs.get("cluster_read")
        self.rebuilt = bool(inputs.get("rebuilt"))
        # After the first half of a recovery, the run re-adds the other members as a converge does.
        self.recovered = bool(inputs.get("recovered"))
        self.operation = None if self.recovered else operation_of(self.run_tags)
        self.peers = inputs.get("peers")
        # The maintenance's second step: the keyspace is compacted, the cluster read again.
        self.compacted = bool(inputs.get("compacted"))
        self.controller = controller or {}
        self.refusals = []
        self.warnings = []
        group = self.groups.get(self.cluster) if isinstance(self.cluster, str) else None
        self.order = list(group or [])

    # --- parameters -----------------------------------------------------------------------------------
    def p(self, name, default=None):
        return self.params.get(name, default)

    def hp(self, host, name):
        """A per-member parameter: the host's own inventory value, else the play's."""
        own = self.host_params.get(host) or {}
        if name in own:
            return own[name]
        return self.params.get(name)

    def refuse(self, message):
        if message not in self.refusals:
            self.refusals.append(message)

    def warn(self, message):
        if message not in self.warnings:
            self.warnings.append(message)

    def archive_name(self):
        return posixpath.basename(str(self.p("etcd_archive_src") or self.p("etcd_archive_url") or ""))

    def archive_version(self):
        match = ARCHIVE_RE.match(self.archive_name())
        return match.group(1) if match else ""

    def archive_src(self):
        if self.p("etcd_install_method") != "archive":
            return None
        return str(self.p("etcd_archive_src") or "") or None

    def archive_path(self):
        if self.p("etcd_archive_src"):
            return str(self.p("etcd_archive_src"))
        cache = str(self.p("etcd_archive_cache_dir") or "~/.cache/dcs.etcd")
        return posixpath.join(cache, self.archive_name())

    def target_version(self):
        if self.p("etcd_install_method") == "archive":
            return self.archive_version()
        return str(self.p("etcd_version") or "")

    def target_source(self):
        if self.p("etcd_version"):
            return "etcd_version=%s" % self.p("etcd_version")
        if self.p("etcd_archive_src"):
            return "etcd_archive_src=%s (etcd %s)" % (self.p("etcd_archive_src"), self.target_version())
        return "etcd_archive_url=%s (etcd %s)" % (self.p("etcd_archive_url"), self.target_version())

    def pki_dirs(self):
        """The CA directory each member resolves etcd_pki_dir to (None: cannot be resolved)."""
        result = {}
        for host in self.order:
            value = self.hp(host, "etcd_pki_dir")
            if value in (None, ""):
                inventory_dir = (self.host_facts.get(host) or {}).get("inventory_dir")
                if not inventory_dir or str(inventory_dir) == "None":
                    result[host] = None
                    continue
                value = posixpath.join(str(inventory_dir), "pki", str(self.cluster))
            result[host] = str(value)
        return result

    def pki_dir(self):
        dirs = set(self.pki_dirs().values())
        if len(dirs) == 1:
            value = dirs.pop()
            if value and value.startswith("/"):
                return posixpath.normpath(value)
        return None

    # --- step 1: the inventory and the parameters ---------------------------------------------------------
    def check_run(self):
        for problem in run_problems(self.groups, self.cluster, self.run_tags, self.skip_tags):
            self.refuse(problem)
        return not self.refusals

    def check_inventory(self):
        seqs = {}
        for host in self.order:
            seq = (self.host_params.get(host) or {}).get("etcd_seq")
            seqs[host] = seq
        bad = [h for h in self.order if seqs[h] is None or isinstance(seqs[h], bool) or not SEQ_RE.match(str(seqs[h]).strip())]
        if bad:
            self.refuse("etcd_seq must be a non-negative integer on every member; missing or invalid on: %s."
                        % names(bad))
        valid = [(h, int(str(seqs[h]).strip())) for h in self.order if h not in bad]
        dups = [h for h, s in valid if [s2 for _h, s2 in valid].count(s) > 1]
        if dups:
            self.refuse("etcd_seq must be unique in the cluster: %s."
                        % ", ".join("%s has etcd_seq %s" % (h, s) for h, s in valid if h in dups))
        self.seqs = dict(valid)
        for host in self.play:
            if host not in self.order:
                self.refuse("this host (%s) is not in the group etcd_cluster=%s." % (host, self.cluster))
        for host in self.order:
            other = self.hp(host, "etcd_cluster")
            if other != self.cluster:
                self.refuse("%s is in the inventory group %s but has etcd_cluster=%s: a host belongs to one cluster."
                            % (host, self.cluster, other))
        # Another cluster's group (every host of it has an etcd_seq) that shares hosts with this one. With
        # -e etcd_cluster=NAME every host reads the same etcd_cluster, so the groups tell.
        with_seq = set(self.inputs.get("seq_hosts") or [])
        for group, hosts in sibling_groups(self.groups, self.cluster).items():
            shared = [h for h in self.order if h in hosts]
            if all(h in with_seq for h in hosts) and shared:
                self.refuse("%s %s in the inventory groups of two clusters, %s and %s: a host belongs to one cluster "
                            "(its member would be in both). Take it out of one group."
                            % (names(shared), "is" if len(shared) == 1 else "are", self.cluster, group))

    def check_parameters(self):
        p = self.p
        if p("etcd_init") not in ("new", "existing"):
            self.refuse("etcd_init=%s: must be new or existing." % p("etcd_init"))
        hb, et = p("etcd_heartbeat_interval"), p("etcd_election_timeout")
        try:
            hb, et = int(hb), int(et)
        except (TypeError, ValueError):
            self.refuse("etcd_heartbeat_interval and etcd_election_timeout must be numbers of milliseconds.")
        else:
            if hb <= 0:
                self.refuse("etcd_heartbeat_interval=%s: must be a positive number of milliseconds." % hb)
            elif et < hb * 5 or et > 50000:
                self.refuse("etcd_election_timeout=%s: must be at least 5 x etcd_heartbeat_interval (%d) and at most "
                            "50000; etcd refuses to start otherwise." % (et, hb * 5))
        if p("etcd_auto_compaction_mode") not in ("periodic", "revision"):
            self.refuse("etcd_auto_compaction_mode=%s: must be periodic or revision." % p("etcd_auto_compaction_mode"))
        for name in ("etcd_health_timeout", "etcd_cert_valid_days"):
            try:
                if int(p(name)) <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a positive number." % (name, p(name)))
        try:
            if int(p("etcd_start_timeout", 0)) < 0:
                raise ValueError
        except (TypeError, ValueError):
            self.refuse("etcd_start_timeout=%s: must be 0 (no limit) or a number of seconds." % p("etcd_start_timeout"))
        # Prometheus refuses rules with a bad duration or threshold, and keeps its old ones without a word.
        if not DURATION_RE.match(str(p("etcd_alert_member_down_for", "1m"))):
            self.refuse("etcd_alert_member_down_for=%s: must be a Prometheus duration such as 30s, 1m or 1h."
                        % p("etcd_alert_member_down_for"))
        for name in ("etcd_alert_leader_changes", "etcd_alert_failed_proposals", "etcd_alert_fsync_seconds",
                     "etcd_alert_commit_seconds", "etcd_alert_quota_percent", "etcd_alert_growth_hours",
                     "etcd_alert_fragmentation_ratio", "etcd_alert_certificate_days", "etcd_alert_backup_hours"):
            try:
                if float(p(name, 1)) <= 0:
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a positive number." % (name, p(name)))
        cert_dir = str(p("etcd_prometheus_cert_dir") or "")
        if cert_dir and (not cert_dir.startswith("/") or len([x for x in cert_dir.split("/") if x]) < 3
                         or posixpath.normpath(cert_dir) in (str(p("etcd_prometheus_targets_dir") or ""),
                                                             str(p("etcd_prometheus_rules_dir") or ""))):
            self.refuse("etcd_prometheus_cert_dir=%s: must be an absolute directory of this cluster's own, such as "
                        "/etc/prometheus/etcd/%s (a removed cluster's certificate is deleted from it)."
                        % (cert_dir, self.cluster))
        self.check_backup_parameters()
        self.check_access_parameters()
        if as_bool(p("etcd_clean")) and [h for h in self.order if h not in self.play]:
            self.refuse("etcd_clean=true rebuilds the whole cluster %s: run it without -l. To remove some members, "
                        "run -l HOSTS -t etcd_clean." % self.cluster)
        self.check_install()
        self.check_member_parameters()
        self.check_pki()
        if len(self.order) % 2 == 0 and self.order:
            self.warn("Cluster %s has %d members. An even count tolerates no more failures than one member fewer: "
                      "prefer 1, 3 or 5." % (self.cluster, len(self.order)))
        self.input_warnings = len(self.warnings)

    def check_backup_parameters(self):
        p = self.p
        for name in ("etcd_backup", "etcd_restore_keep_old_data"):
            if p(name) is not None and not isinstance(p(name), bool) and str(p(name)).lower() not in (
                    "true", "false", "yes", "no", "1", "0"):
                self.refuse("%s=%s: must be true or false." % (name, p(name)))
        for name, least in (("etcd_backup_keep", 1), ("etcd_restore_bump_revision", 0)):
            try:
                if int(p(name, least)) < least or isinstance(p(name), bool):
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a whole number of at least %d." % (name, p(name), least))
        for name in ("etcd_backup_max_age", "etcd_backup_randomized_delay"):
            if parse_duration(p(name, 0)) is None:
                self.refuse("%s=%s: must be a duration such as 0, 30m, 36h, 14d or 2w." % (name, p(name)))
        for name, low, high in (("etcd_defrag_min_ratio", 0.0, 1.0), ("etcd_nospace_margin", 0.0, 0.9)):
            try:
                if not low <= float(p(name, low)) <= high:
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a number from %s to %s." % (name, p(name), low, high))
        for name in ("etcd_maintain_keep_revisions", "etcd_defrag_min_free_bytes"):
            try:
                if int(p(name, 0)) < 0 or isinstance(p(name), bool):
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a whole number, 0 or more." % (name, p(name)))
        if p("etcd_disk_check", "warn") not in ("fail", "warn", "skip"):
            self.refuse("etcd_disk_check=%s: must be fail, warn or skip." % p("etcd_disk_check"))
        try:
            if float(p("etcd_disk_fsync_p99_max_ms", 10)) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            self.refuse("etcd_disk_fsync_p99_max_ms=%s: must be a positive number of milliseconds." % p("etcd_disk_fsync_p99_max_ms"))
        schedule = str(p("etcd_backup_schedule", "daily") or "")
        if not schedule.strip() or "\n" in schedule or "=" in schedule:
            self.refuse("etcd_backup_schedule=%r: must be a systemd calendar expression such as daily, hourly or "
                        "'*-*-* 02:30:00' (man systemd.time)." % schedule)
        for name in ("etcd_backup_dir", "etcd_backup_textfile_dir"):
            value = str(p(name) or "")
            if value and (not value.startswith("/") or posixpath.normpath(value) in SYSTEM_DIRS | set(["/"])):
                self.refuse("%s=%s: must be an absolute directory of its own (not a system directory)%s."
                            % (name, value, ", or empty for none" if name == "etcd_backup_textfile_dir" else ""))

    def check_access_parameters(self):
        """RBAC, consumer certificates, certificate lifetimes and TLS: each problem names its variable."""
        p = self.p
        for name in ("etcd_auth", "etcd_auth_disable", "etcd_rbac_prune", "etcd_initial_corrupt_check",
                     "etcd_unit_hardening", "etcd_unit_sandbox", "etcd_ca_rotate_all"):
            if p(name) is not None and not isinstance(p(name), bool) and str(p(name)).lower() not in (
                    "true", "false", "yes", "no", "1", "0"):
                self.refuse("%s=%s: must be true or false." % (name, p(name)))
        if as_bool(p("etcd_auth")) and as_bool(p("etcd_auth_disable")):
            self.refuse("etcd_auth=true and etcd_auth_disable=true contradict each other: set one of them.")
        if as_bool(p("etcd_auth")) and not p("etcd_root_password"):
            self.refuse("etcd_root_password is empty: etcd_auth=true needs the password of etcd's root user (keep it "
                        "in Ansible Vault); there is no default. Nothing was changed.")
        elif p("etcd_root_password") and p("etcd_root_password") != RBAC_MASK:
            # The action hands the plan a mask for a usable password, and a description of any other.
            self.refuse("etcd_root_password is not usable (%s): etcdctl reads a password up to its first blank. "
                        "Nothing was changed." % p("etcd_root_password"))
        member_names = set(self.identity_names())
        for problem in rbac_problems(p("etcd_users") or [], p("etcd_roles") or [], member_names):
            self.refuse(problem + " Nothing was changed.")
        days = {}
        for name in ("etcd_cert_renew_days", "etcd_cert_warn_days", "etcd_cert_fail_days"):
            try:
                days[name] = int(p(name, 0))
                if days[name] < 0 or isinstance(p(name), bool):
                    raise ValueError
            except (TypeError, ValueError):
                self.refuse("%s=%s: must be a whole number of days, 0 or more." % (name, p(name)))
        try:
            valid = int(p("etcd_cert_valid_days", 3650))
        except (TypeError, ValueError):
            valid = None
        if valid and days.get("etcd_cert_renew_days", 0) >= valid:
            self.refuse("etcd_cert_renew_days=%s must be below etcd_cert_valid_days=%s, or every run would issue the "
                        "certificates again." % (days["etcd_cert_renew_days"], valid))
        if days.get("etcd_cert_fail_days", 0) > days.get("etcd_cert_warn_days", 0):
            self.refuse("etcd_cert_fail_days=%s must not exceed etcd_cert_warn_days=%s."
                        % (days.get("etcd_cert_fail_days"), days.get("etcd_cert_warn_days")))
        if p("etcd_tls_min_version", "TLS1.2") not in ("TLS1.2", "TLS1.3"):
            self.refuse("etcd_tls_min_version=%s: must be TLS1.2 or TLS1.3." % p("etcd_tls_min_version"))
        suites = p("etcd_tls_cipher_suites", [])
        if not isinstance(suites, list) or not all(re.match(r"^TLS_[A-Z0-9_]+$", str(x)) for x in suites):
            self.refuse("etcd_tls_cipher_suites=%s: must be a list of Go cipher suite names such as "
                        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (empty: Go's defaults)." % (suites,))
        self.client_certs = self.check_client_certs(member_names)

    def identity_names(self):
        """The etcd member names (CN of the member certificates) the inventory gives."""
        result = []
        for host in self.order:
            seq = (self.host_params.get(host) or {}).get("etcd_seq")
            if seq is not None and SEQ_RE.match(str(seq).strip()):
                result.append("%s-%s" % (self.cluster, int(str(seq).strip())))
        return result

    def check_client_certs(self, member_names):
        """etcd_client_certs, checked and completed: [{name, cn, hosts, dir, owner, group, mode, controller_dir}]."""
        entries = self.p("etcd_client_certs") or []
        if not isinstance(entries, list):
            self.refuse("etcd_client_certs must be a list.")
            return []
        known = set(self.groups.get("all") or [])
        for group, hosts in self.groups.items():
            known.update(hosts or [])
        result, seen = [], set()
        allowed = ("name", "cn", "hosts", "dir", "owner", "group", "mode", "controller_dir", "state")
        for index, entry in enumerate(entries):
            where = "etcd_client_certs[%d]" % index
            if not isinstance(entry, dict):
                self.refuse("%s must be a mapping with a name." % where)
                continue
            unknown = sorted(set(entry) - set(allowed))
            if unknown:
                self.refuse("%s has unknown keys %s (allowed: %s)." % (where, ", ".join(unknown), ", ".join(allowed)))
            name = entry.get("name")
            if not isinstance(name, str) or not RBAC_NAME_RE.match(name) or name in ("root", "prometheus"):
                self.refuse("%s.name=%r: must be a file name of letters, digits, '_', '.', '@' or '-' (root and "
                            "prometheus are the role's own)." % (where, name))
                continue
            if name in seen:
                self.refuse("etcd_client_certs: %s is listed twice." % name)
            seen.add(name)
            # An empty cn: no CN at all, for clients of etcd's HTTP gateway (Patroni) while RBAC is on.
            cn = name if entry.get("cn") is None else str(entry["cn"])
            if cn == RBAC_ROOT or cn in member_names:
                self.refuse("%s.cn=%s: that CN is %s; a consumer certificate must not carry it." % (
                    where, cn, "etcd's root user" if cn == RBAC_ROOT else "a member's"))
            hosts = entry.get("hosts") or []
            if not isinstance(hosts, list) or [h for h in hosts if h not in known]:
                self.refuse("%s.hosts: must be a list of inventory hosts; not in the inventory: %s."
                            % (where, names([h for h in hosts if h not in known]) if isinstance(hosts, list) else hosts))
                hosts = []
            controller_dir = str(entry.get("controller_dir") or "")
            if controller_dir and not controller_dir.startswith("/"):
                self.refuse("%s.controller_dir=%s: must be an absolute directory on the controller." % (where, controller_dir))
            directory = str(entry.get("dir") or "/etc/etcd-client/%s" % self.cluster)
            if not directory.startswith("/") or posixpath.normpath(directory) in SYSTEM_DIRS | set(["/", "/etc"]):
                self.refuse("%s.dir=%s: must be an absolute directory of its own on the consumer hosts." % (where, directory))
            if not hosts and not controller_dir:
                self.refuse("%s: give hosts (consumer hosts to install it on) or controller_dir, or both." % where)
            mode = str(entry.get("mode") or "0600")
            if not re.match(r"^0?[0-7]{3}$", mode) or int(mode, 8) & 0o007:
                self.refuse("%s.mode=%s: the key's mode, such as 0600 or 0640 (never readable by others)." % (where, mode))
            state = entry.get("state", "present")
            if state not in ("present", "absent"):
                self.refuse("%s.state=%s: must be present or absent." % (where, state))
            owner, group = str(entry.get("owner") or "root"), str(entry.get("group") or "root")
            for other in result:
                shared = [h for h in hosts if h in other["hosts"]]
                if shared and other["dir"] == directory.rstrip("/") and (other["owner"], other["group"]) != (owner, group):
                    self.refuse("%s and %s share the directory %s on %s with different owners (%s:%s, %s:%s): give "
                                "each its own dir." % (where, other["name"], directory, names(shared), owner, group,
                                                       other["owner"], other["group"]))
            result.append(dict(name=name, cn=cn, hosts=hosts, dir=directory.rstrip("/"), owner=str(entry.get("owner") or "root"),
                               group=str(entry.get("group") or "root"), mode=mode.zfill(4), controller_dir=controller_dir,
                               state=state))
        return result

    def on(self, name, value):
        """' (on h1, h2)' when only some members have this value of a per-member parameter, else ''."""
        having = [h for h in self.order if self.hp(h, name) == value]
        return "" if len(having) == len(self.order) else " (on %s)" % names(having)

    def check_member_parameters(self):
        """Per-member parameters, each distinct value checked once and reported with the hosts that have it."""
        def distinct(name):
            values = []
            for host in self.order:
                value = self.hp(host, name)
                if value not in values:
                    values.append(value)
            return values

        for name in ("etcd_port", "etcd_peer_port"):
            for value in distinct(name):
                if not port_ok(value):
                    self.refuse("%s=%s%s: must be a port number (1-65535)." % (name, value, self.on(name, value)))
        for host in self.order:
            port, peer = self.hp(host, "etcd_port"), self.hp(host, "etcd_peer_port")
            if port_ok(port) and port_ok(peer) and int(port) == int(peer):
                self.refuse("etcd_port and etcd_peer_port must differ (both %s)%s." % (port, self.on("etcd_port", port)))
        for value in distinct("etcd_data"):
            problem = data_dir_problem(value)
            if problem:
                self.refuse("etcd_data=%s%s: %s. Nothing was changed." % (value, self.on("etcd_data", value), problem))
        for value in distinct("etcd_metrics_url"):
            if not value:
                continue
            match = METRICS_URL_RE.match(str(value))
            if not match:
                self.refuse("etcd_metrics_url=%s%s: must be http://ADDRESS:PORT or https://ADDRESS:PORT (etcd's "
                            "--listen-metrics-urls), or empty." % (value, self.on("etcd_metrics_url", value)))
                continue
            for host in self.order:
                if self.hp(host, "etcd_metrics_url") == value and int(match.group(3)) in (
                        int(self.hp(host, "etcd_port")) if port_ok(self.hp(host, "etcd_port")) else None,
                        int(self.hp(host, "etcd_peer_port")) if port_ok(self.hp(host, "etcd_peer_port")) else None):
                    self.refuse("etcd_metrics_url=%s (on %s): its port is the member's client or peer port; give the "
                                "metrics listener a port of its own." % (value, host))
        for value in distinct("etcd_advertise_address"):
            if value and not (is_ip(value) or DNS_RE.match(str(value))):
                self.refuse("etcd_advertise_address=%s%s: must be an IP address or a host name."
                            % (value, self.on("etcd_advertise_address", value)))
        for value in distinct("etcd_cert_extra_sans"):
            on = self.on("etcd_cert_extra_sans", value)
            if not isinstance(value, list):
                self.refuse("etcd_cert_extra_sans=%s%s: must be a list of names or addresses (DNS:name, IP:address, "
                            "or bare)." % (value, on))
                continue
            for entry in value:
                problem = san_problem(entry)
                if problem:
                    self.refuse("etcd_cert_extra_sans%s: %r is %s; entries are DNS:name, IP:address, or a bare name "
                                "or address. Nothing was changed." % (on, entry, problem))

    def check_install(self):
        p = self.p
        method = p("etcd_install_method")
        if method not in ("archive", "package"):
            self.refuse("etcd_install_method=%s: must be archive or package." % method)
        version = str(p("etcd_version") or "")
        if version and not VERSION_RE.match(version):
            self.refuse("etcd_version=%s: must be X.Y.Z or empty." % version)
        checksum = str(p("etcd_archive_checksum") or "")
        if checksum and not SHA256_RE.match(checksum):
            self.refuse("etcd_archive_checksum=%s: must be 64 hex digits, optionally prefixed sha256:." % checksum)
        if method == "archive":
            src, url = str(p("etcd_archive_src") or ""), str(p("etcd_archive_url") or "")
            if bool(src) == bool(url):
                self.refuse("etcd_install_method=archive needs exactly one of etcd_archive_src (a release tarball on the "
                            "controller) and etcd_archive_url.")
            name = self.archive_name()
            if name and not ARCHIVE_RE.match(name):
                self.refuse("etcd_archive_src/etcd_archive_url must name an official release file "
                            "etcd-vX.Y.Z-linux-ARCH.tar.gz, got %s." % name)
            if src and not src.startswith("/") and not src.startswith("~"):
                self.refuse("etcd_archive_src=%s: must be an absolute path on the controller." % src)
            elif src and not self.controller.get("archive_exists"):
                self.refuse("etcd_archive_src=%s: no such file on the controller." % src)
            elif src and checksum and SHA256_RE.match(checksum) and self.controller.get("archive_sha256") \
                    and self.controller["archive_sha256"] != checksum.lower().replace("sha256:", ""):
                self.refuse("etcd_archive_src=%s has sha256 %s but etcd_archive_checksum=%s. Nothing was installed."
                            % (src, self.controller["archive_sha256"], checksum))
            if url and not checksum:
                self.refuse("etcd_archive_url needs etcd_archive_checksum (the sha256 of the file).")
            if version and ARCHIVE_RE.match(name) and version != self.archive_version():
                self.refuse("etcd_version=%s but the archive %s holds etcd %s." % (version, name, self.archive_version()))
        for message in version_errors(self.target_version(), [], p("etcd_known_bad_versions") or [], False,
                                      self.target_source()):
            self.refuse(message)

    def check_pki(self):
        dirs = self.pki_dirs()
        unresolved = [h for h, d in dirs.items() if d is None]
        if unresolved:
            self.refuse("etcd_pki_dir is not set and the inventory of %s has no directory (an inventory given as a "
                        "host list, such as -i h1,h2,): set etcd_pki_dir to the absolute path of the cluster's CA "
                        "directory on the controller. Nothing was changed." % names(unresolved))
            return
        relative = sorted(set(d for d in dirs.values() if not d.startswith("/")))
        if relative:
            self.refuse("etcd_pki_dir=%s: must be an absolute path on the controller (a relative path depends on "
                        "the directory the playbook is started from). Nothing was changed." % relative[0])
            return
        distinct = sorted(set(posixpath.normpath(d) for d in dirs.values()))
        if len(distinct) > 1:
            by_dir = dict((d, [h for h in self.order if posixpath.normpath(dirs[h]) == d]) for d in distinct)
            self.refuse("etcd_pki_dir resolves to different directories for the members of cluster %s (%s): the "
                        "members would get certificates from different CAs. Set etcd_pki_dir to one absolute path "
                        "for the whole cluster. Nothing was changed."
                        % (self.cluster, "; ".join("%s for %s" % (d, names(h)) for d, h in by_dir.items())))

    # --- identities ------------------------------------------------------------------------------------
    def identities(self):
        """Name, address and URLs of every member; the address from the inventory, or the probe."""
        hosts = {}
        for host in self.order:
            seq = self.seqs.get(host)
            probe = (self.probes or {}).get(host) or {}
            address = str(self.hp(host, "etcd_advertise_address") or "")
            if not address:
                if is_ip(host):
                    address = host.strip("[]")
                else:
                    address = str(probe.get("default_ipv4") or "")
            port, peer = self.hp(host, "etcd_port"), self.hp(host, "etcd_peer_port")
            info = dict(
                name="%s-%s" % (self.cluster, seq if seq is not None else "?"),
                seq=seq,
                address=address,
                url_host=url_host(address) if address else "",
                peer_url="https://%s:%s" % (url_host(address), peer) if address and port_ok(peer) else "",
                client_url="https://%s:%s" % (url_host(address), port) if address and port_ok(port) else "",
                port=int(port) if port_ok(port) else None,
                peer_port=int(peer) if port_ok(peer) else None,
                data_dir=posixpath.normpath(str(self.hp(host, "etcd_data") or "")) if self.hp(host, "etcd_data") else "",
                in_run=host in self.play,
                safeguard=as_bool(self.hp(host, "etcd_safeguard")),
                metrics_url=str(self.hp(host, "etcd_metrics_url") or ""),
            )
            hosts[host] = info
        return hosts

    def cert_sans(self, host, info):
        facts = self.host_facts.get(host) or {}
        entries = [info["address"], host, facts.get("ansible_host") or host, info["name"], "localhost", "127.0.0.1", "::1"]
        entries += list(self.hp(host, "etcd_cert_extra_sans") or [])
        sans = []
        for entry in entries:
            if entry and san_problem(entry) is None:
                canonical = san_entry(entry)
                if canonical not in sans:
                    sans.append(canonical)
        return sans

    # --- step 2: what the probes found -----------------------------------------------------------------------
    def probe_of(self, host):
        return (self.probes or {}).get(host)

    def reachable(self, host):
        probe = self.probe_of(host)
        return probe is not None and not probe.get("unreachable") and not probe.get("failed")

    def state_of(self, host):
        """What is on a member's disk and in its service manager, as probed (None: not known)."""
        probe = self.probe_of(host)
        if probe is None or not self.reachable(host):
            return None
        paths = probe.get("paths") or {}
        conf = paths.get(self.paths.get("conf_file")) or {}
        permit = paths.get(self.paths.get("permit")) or {}
        ca = paths.get(self.paths.get("ca_file")) or {}
        timer = paths.get(self.paths.get("backup_timer")) or {}
        state = probe.get("service_state") or ("active" if probe.get("service_active") else "inactive")
        has_data = bool(probe.get("data_initialized"))
        entries = list(probe.get("data_dir_entries") or [])
        return dict(
            has_data=has_data,
            running=state in RUNNING_STATES,
            service_state=state,
            enabled=bool(probe.get("service_enabled")),
            unit_exists=bool(probe.get("unit_exists")),
            user_exists=bool(probe.get("user_exists")),
            conf_exists=bool(conf.get("exists")),
            permit_exists=bool(permit.get("exists")),
            backup_timer_exists=bool(timer.get("exists")),
            root_cert_exists=all((paths.get(self.paths.get(name)) or {}).get("exists") for name in ("root_cert", "root_key")),
            ca_sha256=ca.get("sha256") if ca.get("exists") else None,
            version=probe.get("version"),
            stale_reasons=list(probe.get("stale_reasons") or []),
            nofile_max=probe.get("nofile_max"),
            config=probe.get("config") or {},
            foreign_entries=[e for e in entries if e not in ETCD_DATA_ENTRIES and e not in IGNORED_DATA_ENTRIES
                             and not e.startswith(SET_ASIDE_PREFIX)],
            data_dir_exists=bool(probe.get("data_dir_exists")),
            candidate=probe.get("package_candidate"),
        )

    # --- the whole plan ------------------------------------------------------------------------------------
    def plan(self):
        plan = dict(cluster=self.cluster, stage="inputs", refusals=self.refusals, warnings=self.warnings,
                    order=self.order, hosts={}, run_hosts=[h for h in self.order if h in self.play], others=[],
                    read=None, stages=stages_run(self.run_tags, self.skip_tags))
        if not self.check_run():
            return plan
        self.check_inventory()
        self.check_parameters()
        plan["others"] = [h for h in self.order if h not in self.play]
        plan["pki_dir"] = self.pki_dir()
        plan["target_version"] = self.target_version()
        if self.refusals:
            return plan
        hosts = self.identities()
        plan["hosts"] = hosts
        self.hosts = hosts
        plan["install"] = dict(
            method=self.p("etcd_install_method"),
            archive_path=(self.controller.get("archive_path") or self.archive_path())
            if self.p("etcd_install_method") == "archive" else "",
            archive_members=(["etcd", "etcdctl"] + (["etcdutl"] if parse_version(self.archive_version()) >= (3, 5, 0) else []))
            if parse_version(self.archive_version()) else ["etcd", "etcdctl"],
            download=False,
            # Without a pinned version, the package's version is the repository's: probed, as the target of the
            # hosts that have no etcd yet.
            probe_package="etcd-server" if self.p("etcd_install_method") == "package" and not self.p("etcd_version") else None,
        )
        plan["backup"] = self.backup_settings(hosts)
        plan["access"] = dict(run=False, state="present", host=None, endpoints=[], roles=[], users=[], prune=False,
                              users_absent=[], roles_absent=[])
        plan["root_client"] = False
        plan["root_login"] = False
        plan["client_certs"] = [c for c in self.client_certs if c["state"] == "present"]
        plan["client_cert_installs"] = [dict(c, host=h) for c in self.client_certs for h in c["hosts"]]
        plan["client_cert_copies"] = [
            dict(src=src.replace("%s", c["name"]), dest="%s/%s" % (c["controller_dir"].rstrip("/"), dest.replace("%s", c["name"])),
                 mode=mode)
            for c in self.client_certs if c["controller_dir"] and c["state"] == "present"
            for src, dest, mode in (("ca-trust.crt", "ca.crt", "0644"), ("clients/%s.crt", "%s.crt", "0644"),
                                    ("clients/%s.key", "%s.key", "0600"))]
        if self.probes is None:
            return plan
        self.plan_with_probes(plan)
        plan["new_warnings"] = self.warnings[self.input_warnings:]
        return plan

    def plan_with_probes(self, plan):
        hosts = self.hosts
        states = dict((h, self.state_of(h)) for h in self.order)
        self.states = states
        removing = bool(set(self.run_tags) & set(REMOVAL_TAGS)) or (as_bool(self.p("etcd_clean")) and not self.rebuilt)
        rebuild = as_bool(self.p("etcd_clean")) and not self.rebuilt
        purging = "etcd_purge" in self.run_tags
        plan.update(removing=removing, rebuild=rebuild, purging=purging, rebuilt=self.rebuilt, operation=self.operation)
        unreachable = [h for h in self.order if self.probe_of(h) is not None and not self.reachable(h)]
        # Not "unreachable": Ansible would take a result with that key for an unreachable host.
        plan["unreachable_hosts"] = unreachable
        read_ok = bool(self.read) and not self.read.get("failed") and "members" in self.read
        members = list(self.read.get("members") or []) if read_ok else []
        self.members = members

        # A probe that failed (not one that could not reach its host) says nothing we may carry on without.
        for host in self.order:
            probe = self.probe_of(host)
            if probe is not None and probe.get("failed") and not probe.get("unreachable"):
                self.refuse("Probing %s failed: %s. Nothing was changed." % (host, probe.get("msg") or "no message"))
        self.plan_disks(plan)
        # Addresses: a member must have one (the probe found its default IPv4, or the inventory names it).
        for host in self.order:
            info = hosts[host]
            if not info["address"] and (host in self.play and self.reachable(host)):
                self.refuse("No address to advertise for %s: it is not an IP address and has no default IPv4 route. "
                            "Set etcd_advertise_address for this host. Nothing was changed." % host)
        for host in self.order:
            info = hosts[host]
            info["reachable"] = self.reachable(host) if self.probe_of(host) is not None else None
            state = states[host] or {}
            info["running"] = bool(state.get("running"))
            info["has_data"] = bool(state.get("has_data"))
            info["cert_sans"] = self.cert_sans(host, info)
            nofile = int(self.hp(host, "etcd_nofile_limit") or 65536)
            if state.get("nofile_max"):
                nofile = min(nofile, int(state["nofile_max"]))
            info["nofile_limit"] = nofile

        # The membership as etcd sees it, matched to the inventory by peer URL (or name).
        in_membership = {}
        for host in self.order:
            info = hosts[host]
            match = None
            for member in members:
                if info["peer_url"] and info["peer_url"] in (member.get("peer_urls") or []):
                    match = member
                    break
            if match is None and not info["peer_url"]:
                match = next((m for m in members if m.get("name") == info["name"]), None)
            in_membership[host] = match
        self.in_membership = in_membership
        voters = [m for m in members if not m.get("is_learner")]

        # --- removal --------------------------------------------------------------------------------------
        removed = [h for h in self.order if h in self.play] if removing and not rebuild else []
        settled = [h for h in self.order if h not in removed]
        plan["removed_hosts"] = removed

        def is_member(host):
            """Whether a host that stays holds a member: on disk, in service, or in etcd's membership. Not
            knowing (unreachable, cluster not read) counts as holding one."""
            state = states.get(host)
            if in_membership.get(host):
                return True
            if state is None:
                return not read_ok
            return state["has_data"] or state["running"] or state["unit_exists"] or state["conf_exists"]

        partial = bool(removed) and any(is_member(h) for h in settled)
        plan["partial_removal"] = partial
        self.plan_safeguard(plan, removed if not rebuild else [h for h in self.order if h in self.play], purging, rebuild)
        # A restore or a recovery is what a member that lost its data needs: not a reason to refuse.
        self.plan_disk(plan, removing, rebuild, data_lost_ok=bool(self.operation))

        # --- what this run reads -------------------------------------------------------------------------------
        running = [h for h in self.order if states[h] and states[h]["running"] and states[h]["has_data"]]
        read_hosts = [h for h in running if h not in removed] + [h for h in running if h in removed]
        joining_run = self.p("etcd_init") == "existing" and not removing
        with_data = [h for h in self.order if states[h] and states[h]["has_data"]]
        strangers_possible = (self.p("etcd_init") == "new" and not removing
                              and any(states[h] and not states[h]["has_data"] for h in self.play if h in hosts)
                              and bool(with_data))
        target = self.target_version()
        upgrade_hosts = []
        if VERSION_RE.match(target or "") and not removing:
            upgrade_hosts = [h for h in self.order if h in self.play and states[h] and states[h]["has_data"]
                             and states[h]["version"] and states[h]["version"] != target]
        restart_requested = [h for h in self.play if h in hosts and states[h] and states[h]["running"]
                             and ("etcd_launch" in self.run_tags or states[h]["stale_reasons"])]
        # Members whose config makes no user of a client certificate (no client-cert-auth, as Pigsty writes it), or
        # may still run such a config: with RBAC on, the role's calls log in as root until they run this role's.
        cert_not_user = [h for h in running if not certificate_is_user(states[h]["config"])
                         or "%s modified after start" % self.paths.get("conf_file") in states[h]["stale_reasons"]]
        needs_read = bool(read_hosts) and not (removing and not partial) and not rebuild and (
            bool(self.operation) or joining_run or partial or strangers_possible or bool(upgrade_hosts)
            or bool(restart_requested) or bool([h for h in self.order if h not in self.play]) or bool(unreachable)
            or bool(cert_not_user))
        if needs_read:
            # Whether RBAC is on matters to a 3.4 to 3.5 upgrade (etcd does not support it then), also to one
            # that was interrupted: its binaries are installed, but members still run 3.4.
            # The read runs etcdctl from etcd_bin_dir, or, where this role has installed none yet (a cluster
            # deployed by another tool, such as Pigsty's /usr/bin), the one on the member's PATH.
            plan["read"] = dict(host=read_hosts[0], check_auth=True,
                                endpoints=[hosts[h]["client_url"] for h in read_hosts if hosts[h]["client_url"]],
                                etcdctl_from_path=not states[read_hosts[0]]["version"])
        plan["stage"] = "probed" if self.read is None and needs_read else "final"
        self.read_ok = read_ok
        self.read_problem = None
        if needs_read and self.read is not None and not read_ok:
            self.read_problem = "cannot read cluster %s through %s: %s" % (
                self.cluster, read_hosts[0], (self.read or {}).get("msg") or "no answer")
        self.plan_root_login(plan, cert_not_user)
        if plan["stage"] == "probed":
            # The read comes first; the rest is planned with it.
            self.plan_basics(plan, removed, settled, [], upgrade_hosts)
            return
        if self.operation:
            # An operation registers nothing (the register stage's tasks, tagged always, find no host).
            plan["register"] = dict(hosts=[], mode="none", group=str(self.p("etcd_prometheus_group") or ""), rules_file="")
            self.plan_basics(plan, [], list(self.order), [], [])
            getattr(self, "plan_" + self.operation)(plan, running, voters)
            return
        if removing:
            self.plan_removal(plan, removed, settled, partial, voters, read_ok, rebuild)

        # --- joins ---------------------------------------------------------------------------------------------
        joiners = self.plan_joins(plan, joining_run, running, members, voters, read_ok)
        # --- strangers -----------------------------------------------------------------------------------------
        if self.p("etcd_init") == "new" and not removing:
            self.plan_strangers(plan, members, read_ok, with_data)
        # --- bootstrap with hosts out of reach -----------------------------------------------------------
        if not removing and not with_data and not members and [h for h in unreachable if h in self.play]:
            self.refuse("Cannot bootstrap cluster %s: %s %s unreachable. Every member must take part in the "
                        "bootstrap; fix the connection, or take the host out of the group. Nothing was changed."
                        % (self.cluster, names([h for h in unreachable if h in self.play]),
                           "is" if len([h for h in unreachable if h in self.play]) == 1 else "are"))
        if plan["rebuild"] and [h for h in unreachable if h in self.play]:
            self.refuse("Cannot rebuild cluster %s (etcd_clean=true): %s cannot be reached, so it could be neither "
                        "wiped nor part of the new cluster. Nothing was changed."
                        % (self.cluster, names([h for h in unreachable if h in self.play])))
        if not removing and self.play and all(h in unreachable for h in self.play):
            self.refuse("No host of this run is reachable (%s). Nothing was changed." % names(self.play))
        for host in unreachable:
            if host in self.play and not removing:
                self.warn("%s (%s) is unreachable: it is left out of this run%s." % (
                    host, hosts[host]["name"],
                    "; the others carry on as long as they keep a quorum" if with_data else ""))
            elif host in self.play:
                self.warn("%s (%s) is unreachable: %s. Its etcd, data and config stay on it: wipe the host (or run -t "
                          "etcd_purge on it once it is back) before it is used again, and never start that etcd "
                          "again." % (host, hosts[host]["name"],
                                      "it is removed from the membership only" if plan.get("partial_removal")
                                      else "it can be neither stopped nor wiped"))
            elif host not in self.play:
                self.warn("%s (%s), outside this run, is unreachable: its config and etcdctl profile are not refreshed."
                          % (host, hosts[host]["name"]))
        # --- identity changes of members that hold data -----------------------------------------------------
        if not removing:
            self.plan_identity_changes(plan, in_membership)
        # --- upgrade -------------------------------------------------------------------------------------------
        self.plan_upgrade(plan, upgrade_hosts, running, read_ok, voters)
        # --- the rest ------------------------------------------------------------------------------------------
        self.plan_basics(plan, removed, settled, joiners, upgrade_hosts)
        self.plan_restarts(plan, joiners, removed, read_ok)
        self.plan_verify(plan, settled, joiners, removed, in_membership, read_ok)
        self.plan_access(plan)

    def plan_disks(self, plan):
        """The disk check's figures (etcd_disk_check on hosts without data): a slow fdatasync fails the run
        (etcd_disk_check=fail) or warns (warn); a full or small file system warns."""
        mode = self.p("etcd_disk_check", "warn")
        plan["disks"] = {}
        for host in self.order:
            found = (self.probe_of(host) or {}).get("disk") if self.reachable(host) else None
            if not found:
                continue
            if found.get("error"):
                self.warn("The disk check on %s gave no figure: %s." % (host, found["error"]))
                continue
            problems, warnings = disk_findings(found.get("fdatasync_p99_ms"), self.p("etcd_disk_fsync_p99_max_ms", 10),
                                               found.get("used_percent"), found.get("fs_bytes"),
                                               self.int_param("etcd_quota_backend_bytes", 2147483648))
            plan["disks"][host] = dict(p99_ms=found.get("fdatasync_p99_ms"), method=found.get("method"),
                                       directory=found.get("directory"), problems=problems, warnings=warnings)
            where = "%s (%s, on the file system of %s)" % (host, found.get("method"), found.get("directory"))
            if problems and mode == "fail":
                self.refuse("etcd_disk_check=fail: %s: %s. etcd needs a disk whose fdatasync p99 stays under "
                            "etcd_disk_fsync_p99_max_ms, or it misses heartbeats and elects leaders over and over. Give "
                            "etcd a faster disk, or set etcd_disk_check=warn to deploy anyway. Nothing was changed."
                            % (where, "; ".join(problems)))
            elif problems:
                self.warn("Disk check %s: %s (etcd_disk_check=warn)." % (where, "; ".join(problems)))
            for warning in warnings:
                self.warn("Disk check %s: %s." % (where, warning))

    # --- operations: backup, restore, recovery ------------------------------------------------------------
    def backup_settings(self, hosts):
        """What the scheduled and the on-demand backup use: where backups go, how many are kept, which member
        is preferred (the inventory's order), and the endpoints a member asks about the others."""
        return dict(
            enabled=as_bool(self.p("etcd_backup")), dir=str(self.p("etcd_backup_dir") or "/var/backups/etcd").rstrip("/"),
            keep=self.int_param("etcd_backup_keep", 7), max_age=parse_duration(self.p("etcd_backup_max_age", 0)) or 0,
            randomized_delay=parse_duration(self.p("etcd_backup_randomized_delay", 0)) or 0,
            preference=[hosts[h]["name"] for h in self.order],
            endpoints=[hosts[h]["client_url"] for h in self.order if hosts[h]["client_url"]],
            fetch_dir=str(self.p("etcd_backup_fetch_dir") or ""), host=None, endpoint=None)

    def int_param(self, name, default):
        try:
            return int(self.p(name, default))
        except (TypeError, ValueError):
            return default

    def host_of_member(self, name):
        return next((h for h in self.order if self.hosts[h]["name"] == name), None)

    def plan_backup(self, plan, running, voters):
        """-t etcd_backup: the member that takes the backup now, chosen as the scheduled backup chooses it."""
        if not self.read_ok:
            self.refuse("Cannot back up cluster %s: %s. Nothing was changed." % (
                self.cluster, self.read_problem or "no member of it is running"))
            return
        chosen = choose_member(self.members, plan["backup"]["preference"])
        host = self.host_of_member(chosen) if chosen else None
        if host is None or not self.reachable(host):
            self.refuse("Cannot back up cluster %s: no healthy voting member of the inventory to take the backup "
                        "from (chosen: %s). Nothing was changed." % (self.cluster, chosen or "none"))
            return
        plan["backup"].update(host=host, endpoint=self.hosts[host]["client_url"])

    def plan_restore(self, plan, running, voters):
        """-t etcd_restore: every member restored from the same snapshot, with a new cluster token. Refused under
        etcd_safeguard, with -l, for a snapshot that does not verify, and while a member outside the inventory
        still answers on its peer port."""
        hosts = self.hosts
        snapshot = str(self.p("etcd_restore_snapshot") or "")
        # The snapshot as the action found it on the controller: path, SHA-256, sidecar.
        found = self.controller.get("restore") or {}
        if not snapshot:
            self.refuse("-t etcd_restore needs etcd_restore_snapshot=PATH, a snapshot file on the controller (a backup "
                        "fetched with etcd_backup_fetch_dir, for example). Nothing was changed.")
            return
        if not found.get("exists"):
            self.refuse("etcd_restore_snapshot=%s: no such file on the controller. Nothing was changed." % snapshot)
            return
        sidecar = found.get("sidecar")
        if found.get("sidecar_error"):
            self.refuse("etcd_restore_snapshot=%s: its sidecar %s cannot be read: %s. Nothing was changed."
                        % (snapshot, found.get("sidecar_path"), found["sidecar_error"]))
        elif sidecar is not None and sidecar.get("sha256") != found.get("sha256"):
            self.refuse("etcd_restore_snapshot=%s does not verify: its SHA-256 is %s, its sidecar %s records %s. It is "
                        "damaged or not the backup the sidecar describes. Nothing was changed."
                        % (snapshot, found.get("sha256"), found.get("sidecar_path"), sidecar.get("sha256")))
        elif sidecar is None:
            self.warn("etcd_restore_snapshot=%s has no sidecar (%s): the snapshot is checked with snapshot status "
                      "alone, and the restored key count is not compared with a record."
                      % (snapshot, found.get("sidecar_path")))
        guarded = [h for h in self.order if hosts[h]["safeguard"]]
        if guarded:
            self.refuse("etcd_safeguard is true for %s: a restore replaces the data of every member of cluster %s. "
                        "Set etcd_safeguard=false for the restore. Nothing was changed." % (names(guarded), self.cluster))
        outside = [h for h in self.order if h not in self.play]
        if outside:
            self.refuse("A restore rebuilds every member of cluster %s, but %s %s outside this run (-l). Run it without "
                        "-l. Nothing was changed." % (self.cluster, names(outside), "is" if len(outside) == 1 else "are"))
        unreachable = [h for h in self.order if not self.reachable(h)]
        if unreachable:
            self.refuse("Cannot restore cluster %s: %s cannot be reached. Every member is restored at once; fix the "
                        "connection, or take the host out of the inventory. Nothing was changed."
                        % (self.cluster, names(unreachable)))
        missing = [h for h in self.order if self.reachable(h) and not (self.states[h]["version"] and self.states[h]["unit_exists"])]
        if missing:
            self.refuse("Cannot restore cluster %s: %s %s no etcd deployed (binaries and unit). Deploy the cluster "
                        "first (./etcd.yml), then restore into it. Nothing was changed."
                        % (self.cluster, names(missing), "has" if len(missing) == 1 else "have"))
        # Members of the cluster as it was that the inventory does not list: from the running cluster and the
        # sidecar. One that still runs would keep the old cluster alive next to the restored one.
        ours = set(hosts[h]["peer_url"] for h in self.order)
        urls = []
        for member in list(self.members or []) + list((sidecar or {}).get("members") or []):
            for url in member.get("peer_urls") or []:
                if url not in ours and url not in urls:
                    urls.append(url)
        outsiders = []
        for url in urls:
            match = re.match(r"^https?://(\[[^\]]+\]|[^:/]+):([0-9]+)", url)
            if match:
                outsiders.append(dict(url=url, host=match.group(1).strip("[]"), port=int(match.group(2))))
        answering = [o["url"] for o in outsiders if (self.peers or {}).get(o["url"])]
        if answering:
            self.refuse("Refusing to restore cluster %s: %s, a member of the cluster outside the inventory, still "
                        "answers on its peer port. Stop its etcd (and wipe it) first, or add its host to the inventory: "
                        "a running old member next to the restored cluster splits it. Nothing was changed."
                        % (self.cluster, ", ".join(answering)))
        bump = int(self.p("etcd_restore_bump_revision", 0) or 0)
        stamp = str(self.controller.get("stamp") or "")
        sha = str(found.get("sha256") or "")
        notes = {}
        for host in self.order:
            flags, note = restore_flags((self.states.get(host) or {}).get("version"), bump)
            hosts[host]["restore_flags"] = flags
            notes.setdefault(note, []).append(host)
        bumped = all(hosts[h]["restore_flags"] for h in self.order)
        if not bumped:
            for note, where in sorted(notes.items()):
                if "not bumped" in note:
                    self.warn("%s (%s)." % (note[0].upper() + note[1:], names(where)))
        if len(set(tuple(hosts[h]["restore_flags"]) for h in self.order)) > 1:
            self.refuse("Cannot restore cluster %s: its members run etcd versions that do not all support "
                        "--bump-revision (%s). Every member must be restored the same way: upgrade them to one version "
                        "first, or set etcd_restore_bump_revision=0. Nothing was changed."
                        % (self.cluster, "; ".join("%s: %s" % (names(w), n) for n, w in sorted(notes.items()))))
        if sidecar is not None and sidecar.get("cluster") not in (None, self.cluster):
            self.warn("etcd_restore_snapshot=%s is a backup of cluster %s, restored into cluster %s: its keys replace "
                      "this cluster's." % (snapshot, sidecar.get("cluster"), self.cluster))
        revision = int((sidecar or {}).get("revision") or 0)
        dirname = "%s/restore" % plan["backup"]["dir"]
        base = posixpath.basename(snapshot)
        plan["restore"] = dict(
            src=str(found.get("path") or snapshot), sha256=sha, sidecar=sidecar, sidecar_src=found.get("sidecar_path") if sidecar is not None else None,
            dir=dirname, file="%s/%s" % (dirname, base), sidecar_file="%s/%s.json" % (dirname, base[:-3] if base.endswith(".db") else base),
            token="%s-restore-%s-%s" % (self.cluster, stamp, sha[:8]), suffix="before-restore-%s" % stamp,
            initial_cluster=initial_cluster([dict(name=hosts[h]["name"], peer_urls=[hosts[h]["peer_url"]]) for h in self.order]),
            outsiders=outsiders, bumped=bumped,
            note=sorted(notes)[0] if len(notes) == 1 else "; ".join(sorted(notes)),
            # What the restored cluster must hold: the sidecar's keys, read at the revision the restore starts
            # at (the snapshot's, bumped when etcd can), and no lower a revision than the snapshot's.
            expect=dict(keys=(sidecar or {}).get("keys"), revision=revision + (bump if bumped else 0) if sidecar else None,
                        min_revision=revision),
            keep_old_data=as_bool(self.p("etcd_restore_keep_old_data")))
        plan["verify"] = dict(host=self.order[0] if self.order else None, expect=self.expect_all(),
                              endpoints=[hosts[h]["client_url"] for h in self.order])

    def plan_maintain(self, plan, running, voters):
        """-t etcd_maintain: compact once, then defragment the members that need it (the rule of
        _maintenance.defrag_reason), one at a time, followers first, the leader last after handing leadership to a
        member already done; with the NOSPACE alarm, every member, then disarm once the data fits, and prove a write.
        Refused for a cluster that is not healthy (but for the NOSPACE alarm) or has another alarm."""
        hosts = self.hosts
        read = self.read or {}
        if not self.read_ok:
            self.refuse("Cannot maintain cluster %s: %s. Nothing was changed." % (
                self.cluster, self.read_problem or "no member of it is running"))
            return
        alarms = list(read.get("alarms") or [])
        nospace = any(a.get("alarm") == "NOSPACE" for a in alarms)
        other = ["%s on member %s" % (a.get("alarm"), a.get("member_id")) for a in alarms if a.get("alarm") != "NOSPACE"]
        expect = dict(members=None, tolerate_down=[], margin=0, versions={}, tolerate_alarms=["NOSPACE"])
        problems = cluster_problems(read, expect)
        if other:
            problems.append("alarm %s is active: not a matter for maintenance (see docs/maintenance.md)" % ", ".join(other))
        if problems:
            self.refuse("Refusing to maintain cluster %s: it is not healthy (%s). Nothing was changed."
                        % (self.cluster, "; ".join(problems)))
            return
        members = [m for m in self.members if m.get("status")]
        preference = [hosts[h]["name"] for h in self.order]
        reasons = {}
        if self.compacted:
            for member in members:
                why = defrag_reason(member["status"], self.p("etcd_defrag_min_ratio", 0.25),
                                    self.int_param("etcd_defrag_min_free_bytes", 33554432), nospace)
                if why:
                    reasons[member["name"]] = why
        order = defrag_order(members, set(reasons), preference)
        by_name = dict((m["name"], m) for m in members)
        defrag = []
        for index, name in enumerate(order):
            member = by_name[name]
            defrag.append(dict(name=name, host=self.host_of_member(name), endpoint=(member.get("client_urls") or [None])[0],
                               reason=reasons[name], leader=bool(member.get("leader")),
                               # The leader goes last, after leadership moved to a member already done.
                               move_to=order[index - 1] if member.get("leader") and index > 0 else None))
        voter_endpoints = [(m.get("client_urls") or [None])[0] for m in members if not m.get("is_learner")]
        plan["maintain"] = dict(
            nospace=nospace, compacted=self.compacted,
            keep=0 if nospace else self.int_param("etcd_maintain_keep_revisions", 1000),
            endpoints=[e for e in voter_endpoints if e], defrag=defrag,
            quota=self.int_param("etcd_quota_backend_bytes", 2147483648),
            margin=float(self.p("etcd_nospace_margin", 0.2)), timeout=self.int_param("etcd_maintain_timeout", 300))
        via = [h for h in self.order if self.reachable(h) and (self.states.get(h) or {}).get("running")]
        plan["verify"] = dict(host=via[0] if via else None, endpoints=[hosts[h]["client_url"] for h in self.order],
                              expect=dict(expect, members=[dict(name=hosts[h]["name"], peer_url=hosts[h]["peer_url"])
                                                           for h in self.order if self.in_membership.get(h)]))

    def plan_ca_rotate(self, plan, running, voters):
        """-t etcd_ca_rotate: a new CA in three phases, each installed on every member (a rolling restart for each
        change of the trusted CAs; none for the reissued certificates, which etcd reads for every new connection)
        and on the consumers and monitoring hosts. Refused unless every member of the cluster is in the run and the
        cluster is healthy: a member left out would stop trusting, or being trusted by, the others."""
        hosts = self.hosts
        left_out = [h for h in self.order if h not in self.play]
        if left_out:
            self.refuse("-t etcd_ca_rotate rotates the CA of every member of %s: run it without -l (left out: %s). "
                        "Nothing was changed." % (self.cluster, names(left_out)))
            return
        if not self.read_ok:
            self.refuse("Cannot rotate the CA of cluster %s: %s. Nothing was changed." % (
                self.cluster, self.read_problem or "no member of it is running"))
            return
        expect = self.expect_all()
        problems = cluster_problems(self.read, expect)
        down = [h for h in self.order if not (self.states.get(h) or {}).get("running")]
        if down:
            problems.append("%s not running" % names(down))
        if problems:
            self.refuse("Refusing to rotate the CA of cluster %s: it is not healthy (%s). Nothing was changed."
                        % (self.cluster, "; ".join(problems)))
            return
        # A member that runs with files older than those on disk (a rotation interrupted during its restarts) is
        # restarted first, before any certificate of another CA reaches the members.
        self.plan_restarts(plan, [], [], True)
        self.plan_verify(plan, list(self.order), [], [], self.in_membership, True)
        phase = self.controller.get("ca_rotation")
        plan["ca_rotation"] = dict(phase=phase, steps=rotation_steps(phase, as_bool(self.p("etcd_ca_rotate_all"))
                                                                     and not self.check_mode),
                                   ca_common_name="dcs.etcd CA (%s) %s" % (self.cluster, self.controller.get("stamp", "")))

    def expect_all(self):
        """What a restored or recovered cluster must be: every inventory host a healthy member, one leader."""
        members = [dict(name=self.hosts[h]["name"], peer_url=self.hosts[h]["peer_url"] or None) for h in self.order]
        return dict(members=members, tolerate_down=[], margin=0, versions={})

    def plan_recover(self, plan, running, voters):
        """-t etcd_recover: a cluster that lost its quorum restarted from its most advanced surviving member as a
        one-member cluster; the other members re-added through the scale-out path. Refused unless the run can see
        that the quorum is lost: no member knows a leader, and every member that runs answered with its own status."""
        hosts = self.hosts
        # Without a quorum, etcdctl 3.5 cannot list the members: the read then has each member's own status.
        statuses = {} if self.read_ok else dict((self.read or {}).get("statuses") or {})

        def status_of(host):
            member = self.in_membership.get(host) or {}
            found = dict(member.get("status") or statuses.get(hosts[host]["client_url"]) or {})
            if member.get("is_learner"):
                found["is_learner"] = True
            return found

        healthy = [m for m in voters if m.get("started") and m.get("healthy")]
        leading = sorted(set(s.get("leader") for s in statuses.values() if s.get("leader") not in (None, "0")))
        if self.read_ok and (self.read or {}).get("leader"):
            self.refuse("Cluster %s has its quorum (%d of %d voting members healthy, leader %s): a recovery would throw "
                        "away the members that work. Replace a failed member with -l HOST -t etcd_clean, then -l HOST "
                        "-e etcd_init=existing. Nothing was changed."
                        % (self.cluster, len(healthy), len(voters), (self.read or {}).get("leader_name") or "known"))
            return
        if leading:
            self.refuse("Cannot recover cluster %s: the member list could not be read, but a member knows a leader "
                        "(%s); the cluster may still have its quorum. Try again. Nothing was changed."
                        % (self.cluster, ", ".join(leading)))
            return
        named = len(self.play) == 1 and len(self.order) > 1
        # A member that runs but did not answer may be part of a quorum this run cannot see (a partition).
        silent = [h for h in self.order if (self.states.get(h) or {}).get("running") and status_of(h).get("raft_index") is None]
        unknown = [h for h in self.order if self.probe_of(h) is not None and not self.reachable(h)]
        if silent or unknown:
            self.refuse("Cannot recover cluster %s: %s. It may be part of a quorum that this run cannot see. Fix the "
                        "connection, or stop that etcd if the member is lost. Nothing was changed." % (self.cluster, "; ".join(
                            ["%s runs etcd but did not answer with its status" % h for h in silent]
                            + ["%s cannot be reached to tell whether its etcd runs" % h for h in unknown])))
            return
        if named:
            survivor = self.play[0]
            if not (self.states.get(survivor) or {}).get("has_data"):
                self.refuse("Cannot recover cluster %s from %s (-l): it holds no member data. Nothing was changed."
                            % (self.cluster, survivor))
                return
            outside_running = [h for h in self.order if h != survivor and (self.states.get(h) or {}).get("running")]
            if outside_running:
                self.refuse("Cannot recover cluster %s from %s alone: %s, outside this run, runs etcd. Stop it first (or "
                            "recover without -l, which re-adds it). Nothing was changed."
                            % (self.cluster, survivor, names(outside_running)))
                return
        else:
            stopped = [h for h in self.order if h in self.play and (self.states.get(h) or {}).get("has_data")
                       and not (self.states.get(h) or {}).get("running")]
            if stopped:
                self.refuse("Cannot recover cluster %s: %s %s member data but %s etcd does not run. Start it: it may bring "
                            "the quorum back, or be the most advanced survivor. Or name the survivor with -l HOST. Nothing "
                            "was changed." % (self.cluster, names(stopped), "holds" if len(stopped) == 1 else "hold",
                                              "its" if len(stopped) == 1 else "their"))
                return
            candidates = [(-int(status_of(h)["raft_index"] or 0), self.order.index(h), h) for h in self.order
                          if h in self.play and (self.states.get(h) or {}).get("has_data")
                          and status_of(h).get("raft_index") is not None and not status_of(h).get("is_learner")]
            if not candidates:
                self.refuse("Cannot recover cluster %s: no voting member of the run holds data and answers with its raft "
                            "index (%s). Start the surviving member with the most recent data, or name it with -l HOST. "
                            "Nothing was changed." % (self.cluster, self.read_problem or "read: %d members" % len(self.members or [])))
                return
            survivor = sorted(candidates)[0][2]
        others = [h for h in self.order if h != survivor and h in self.play]
        stamp = str(self.controller.get("stamp") or "")
        status = status_of(survivor)
        outside = [h for h in self.order if h not in self.play]
        plan["recover"] = dict(
            survivor=survivor, name=hosts[survivor]["name"], raft_index=status.get("raft_index"), others=others,
            outside=outside, suffix="before-recover-%s" % stamp,
            force_config="/run/etcd-force-new-cluster.yml",
            dropin="/run/systemd/system/etcd.service.d/50-force-new-cluster.conf")
        # The first half ends with the survivor alone in its cluster, healthy.
        plan["verify"] = dict(host=survivor, endpoints=[hosts[survivor]["client_url"]], expect=dict(
            members=[dict(name=hosts[survivor]["name"], peer_url=hosts[survivor]["peer_url"])], tolerate_down=[],
            margin=0, versions={}))
        self.warn("Recovering cluster %s from %s (%s, raft index %s)%s." % (
            self.cluster, survivor, hosts[survivor]["name"], status.get("raft_index", "unknown"),
            "; the data of %s is set aside and %s re-added as new members" % (names(others), "it is" if len(others) == 1 else "they are")
            if others else "; %s outside this run: wipe %s with -l %s -t etcd_purge, then add %s with -l %s -e etcd_init=existing"
            % (names(outside), "them" if len(outside) > 1 else "it", ",".join(outside), "them" if len(outside) > 1 else "it",
               ",".join(outside))))

    # --- pieces ----------------------------------------------------------------------------------------------
    def voter_problems(self, voters):
        """What a membership change or an upgrade cannot go on with: a voting member (of those given) that is
        not started and healthy, or no leader."""
        problems = ["voting member %s is not healthy" % (m.get("name") or m["id"]) for m in voters
                    if not (m.get("started") and m.get("healthy"))]
        if not (self.read or {}).get("leader"):
            problems.append("no leader")
        return problems

    def member_on_disk(self, host):
        state = self.states.get(host) or {}
        what = []
        info = self.hosts[host]
        if state.get("has_data"):
            what.append("data in %s" % info["data_dir"])
        if state.get("unit_exists"):
            what.append("unit %s" % self.paths.get("unit_file"))
        if state.get("conf_exists"):
            what.append("config %s" % self.paths.get("conf_file"))
        return what

    def plan_safeguard(self, plan, wiped, purging, rebuild):
        if purging:
            return
        for host in wiped:
            if not self.hosts[host]["safeguard"]:
                continue
            action = "rebuild the cluster (etcd_clean=true)" if rebuild else "remove it"
            if self.states.get(host) is None:
                self.refuse("etcd_safeguard is true for %s, which cannot be reached to tell whether it holds etcd "
                            "member %s: refusing to %s. Nothing was changed. Set etcd_safeguard=false for this host, "
                            "or force the removal with -t etcd_purge." % (host, self.hosts[host]["name"], action))
                continue
            what = self.member_on_disk(host)
            if what:
                self.refuse("etcd_safeguard is true for %s, which holds etcd member %s (%s): refusing to %s. Nothing "
                            "was changed. Set etcd_safeguard=false for this host, or force the removal with -t "
                            "etcd_purge." % (host, self.hosts[host]["name"], ", ".join(what), action))

    def plan_disk(self, plan, removing, rebuild, data_lost_ok=False):
        """Data lost since a member ran, data directories that hold something else, and a CA that is not the
        controller's."""
        ca_sha = self.controller.get("ca_sha256")
        other_ca = []
        for host in self.order:
            state = self.states.get(host)
            if state is None:
                continue
            info = self.hosts[host]
            in_run = host in self.play
            if in_run and not removing and not data_lost_ok and not state["has_data"] and state["conf_exists"] \
                    and not state["permit_exists"]:
                old_dir = (state.get("config") or {}).get("data-dir")
                if old_dir and posixpath.normpath(str(old_dir)) != info["data_dir"]:
                    self.refuse("etcd_data=%s on %s, but its member %s keeps its data in %s: etcd would start it "
                                "without its data. Changing a member's data directory in place is not supported: set "
                                "etcd_data back, or move the data there first. Nothing was changed."
                                % (info["data_dir"], host, info["name"], old_dir))
                else:
                    self.refuse("%s ran as an etcd member (%s exists and its one-time bootstrap permit was used) but "
                                "its data directory %s holds no member data. Starting it again would create a new, "
                                "empty member%s. Restore the data directory from a backup, or remove this member from "
                                "the cluster and delete %s before adding it again. Nothing was changed."
                                % (host, self.paths.get("conf_file"), info["data_dir"],
                                   " and a new, empty cluster" if len(self.order) == 1 else "",
                                   self.paths.get("conf_file")))
            if in_run and not removing and not state["has_data"] and state["foreign_entries"]:
                self.refuse("etcd_data=%s on %s holds files that are not etcd data (%s): refusing to use it as a data "
                            "directory. Choose an empty directory of its own. Nothing was changed."
                            % (info["data_dir"], host, ", ".join(sorted(state["foreign_entries"])[:5])))
            wiped = removing and (rebuild or host in self.play)
            accepted = self.controller.get("ca_sha256s") or [ca_sha]
            if state["ca_sha256"] and not wiped and state["ca_sha256"] not in accepted:
                other_ca.append(host)
        # An operation writes no certificate (but a CA rotation): a CA that is not the controller's is for a
        # converge or a rotation to refuse.
        if other_ca and not removing and self.operation in (None, "ca_rotate"):
            held = sorted(set(self.states[h]["ca_sha256"] for h in other_ca))
            self.refuse("etcd_pki_dir=%s: %s, but %s %s a CA with sha256 %s in %s. Pushing another CA would cut the "
                        "members off from each other and from their clients. Point etcd_pki_dir at the directory "
                        "that holds the cluster's ca.crt and ca.key (for example after a move of the inventory, a "
                        "renamed cluster, or a fresh checkout). Nothing was changed."
                        % (self.pki_dir(), "its CA has sha256 %s" % ca_sha[:16] if ca_sha
                           else "there is no CA there yet, so this run would create a new one",
                           names(other_ca), "holds" if len(other_ca) == 1 else "hold",
                           ", ".join(s[:16] for s in held), self.paths.get("ca_file")))

    def plan_removal(self, plan, removed, settled, partial, voters, read_ok, rebuild):
        hosts = self.hosts
        plan["removals"] = []
        plan["removal_via"] = dict(host=None, endpoints=[])
        if rebuild or not partial:
            return
        # The members that leave, as etcd knows them (matched by peer URL, or by name for a host whose
        # address is unknown: a DNS-named host that cannot be reached).
        removed_ids = set(self.in_membership[h]["id"] for h in removed if self.in_membership.get(h))

        def leaving(member):
            return member["id"] in removed_ids

        if not read_ok:
            staying = [h for h in settled if self.states.get(h) and (self.states[h]["has_data"] or self.states[h]["running"])]
            self.refuse("Refusing to remove %s from cluster %s: the members that stay (%s) hold or may hold etcd data, but the "
                        "cluster could not be read (%s), so its quorum cannot be judged. Start the members that stay, "
                        "or remove the whole cluster (without -l). Nothing was changed."
                        % (names(removed), self.cluster, names(staying) or names(settled),
                           self.read_problem or "no member of the cluster is running"))
            return
        staying_voters = [m for m in voters if not leaving(m)]
        problems = self.voter_problems(staying_voters)
        if problems:
            self.refuse("Refusing to remove %s from cluster %s: the members that stay are not healthy (%s). Nothing "
                        "was changed." % (names(removed), self.cluster, "; ".join(problems)))
        if len(staying_voters) < quorum(len(voters)):
            self.refuse("Refusing to remove %s from cluster %s: %d of its %d voting members would stay, fewer than a "
                        "quorum (%d). Remove fewer members at a time. Nothing was changed."
                        % (names(removed), self.cluster, len(staying_voters), len(voters), quorum(len(voters))))
        for host in removed:
            member = self.in_membership.get(host)
            if member:
                plan["removals"].append(dict(host=host, name=hosts[host]["name"], id=member["id"],
                                             peer_urls=list(member.get("peer_urls") or [])))
        via = [h for h in settled if self.states.get(h) and self.states[h]["running"] and self.states[h]["has_data"]]
        endpoints = [(m.get("client_urls") or [None])[0] for m in staying_voters if m.get("started")]
        plan["removal_via"] = dict(host=via[0] if via else (self.read or {}).get("host"),
                                   endpoints=[e for e in endpoints if e])

    def plan_joins(self, plan, joining_run, running, members, voters, read_ok):
        hosts = self.hosts
        plan["joiners"] = []
        plan["voter_endpoints"] = [(m.get("client_urls") or [None])[0] for m in voters if m.get("started")]
        plan["voter_endpoints"] = [e for e in plan["voter_endpoints"] if e]
        if not joining_run:
            return []
        if not running:
            self.refuse("etcd_init=existing adds members to a running cluster, but no member of %s is running (probed: "
                        "%s). To create the cluster, use etcd_init=new without -l." % (self.cluster, names(self.order)))
            return []
        if not read_ok:
            self.refuse("Cannot add members to cluster %s: %s. Nothing was changed." % (self.cluster, self.read_problem))
            return []
        voter_urls = set(u for m in voters for u in m.get("peer_urls") or [])
        joiners = [h for h in self.order if h in self.play and hosts[h]["peer_url"] not in voter_urls]
        if not joiners:
            return []
        unreachable = [h for h in joiners if not self.reachable(h)]
        if unreachable:
            self.refuse("Cannot add %s to cluster %s: unreachable. Nothing was changed." % (names(unreachable), self.cluster))
        problems = self.voter_problems(voters)
        if problems:
            self.refuse("Refusing to add %s to cluster %s: it is not healthy (%s). Nothing was changed."
                        % (names(joiners), self.cluster, "; ".join(problems)))
        joiner_urls = set(hosts[h]["peer_url"] for h in joiners)
        foreign = [m for m in members if m.get("is_learner") and not set(m.get("peer_urls") or []) & joiner_urls]
        if foreign:
            self.refuse("Member(s) %s of cluster %s are learners outside this run; etcd allows one learner at a time. "
                        "Promote or remove them first (or include their hosts in -l). Nothing was changed."
                        % (", ".join("%s (%s)" % (m.get("name") or m["id"], ", ".join(m.get("peer_urls") or []))
                                     for m in foreign), self.cluster))
        names_by_url = dict((hosts[h]["peer_url"], hosts[h]["name"]) for h in self.order if hosts[h]["peer_url"])
        member_urls = set(u for m in members for u in m.get("peer_urls") or [])
        pending = list(members)
        for host in joiners:
            info = hosts[host]
            if info["peer_url"] not in member_urls:
                pending.append(dict(id="", name=info["name"], peer_urls=[info["peer_url"]]))
            cluster = initial_cluster(pending, names_by_url)
            plan["joiners"].append(dict(
                host=host, name=info["name"], peer_url=info["peer_url"], initial_cluster=cluster,
                membership_peer_urls=sorted(u for m in pending for u in m["peer_urls"]),
                started=bool(self.states[host] and self.states[host]["has_data"])))
        return joiners

    def plan_strangers(self, plan, members, read_ok, with_data):
        hosts = self.hosts
        member_urls = set(u for m in members for u in m.get("peer_urls") or [])
        strangers = []
        for host in self.order:
            state = self.states.get(host)
            if host not in self.play or not state or state["has_data"] or state["running"]:
                continue
            if hosts[host]["peer_url"] in member_urls:
                continue
            if read_ok and members:
                strangers.append(host)
            elif with_data and not state["conf_exists"]:
                # Never configured for this cluster, while other members hold its data.
                strangers.append(host)
        if strangers:
            self.refuse("Cluster %s is running and %s would start without data but %s not a member. To add members, "
                        "run ./etcd.yml -l %s -e etcd_init=existing. Nothing was changed."
                        % (self.cluster, names(strangers), "is" if len(strangers) == 1 else "are", ",".join(strangers)))

    def plan_identity_changes(self, plan, in_membership):
        hosts = self.hosts
        for host in self.order:
            state = self.states.get(host)
            info = hosts[host]
            config = (state or {}).get("config") or {}
            if state and state["has_data"] and config:
                old_name = config.get("name")
                if old_name and old_name != info["name"]:
                    self.refuse("etcd_seq of %s would rename its member %s to %s (etcd_cluster-etcd_seq); a member's "
                                "name cannot change in place. Set etcd_seq back, or remove the member and add it "
                                "again. Nothing was changed." % (host, old_name, info["name"]))
                old_peer = str(config.get("initial-advertise-peer-urls") or "").split(",", maxsplit=1)[0]
                if old_peer and info["peer_url"] and old_peer != info["peer_url"]:
                    self.refuse("etcd_peer_port/etcd_advertise_address of %s would move member %s from peer URL %s to "
                                "%s; the other members would no longer reach it after its next restart. Changing a "
                                "member's address in place is not supported: set them back, or remove the member "
                                "(-l %s -t etcd_clean) and add it again (-e etcd_init=existing). Nothing was changed."
                                % (host, info["name"], old_peer, info["peer_url"], host))
                old_client = str(config.get("advertise-client-urls") or "").split(",", maxsplit=1)[0]
                if old_client and info["client_url"] and old_client != info["client_url"]:
                    self.refuse("etcd_port/etcd_advertise_address of %s would move member %s from client URL %s to %s; "
                                "its clients and the other members' etcdctl profiles still use the old one. Set them "
                                "back, or remove the member and add it again. Nothing was changed."
                                % (host, info["name"], old_client, info["client_url"]))
            member = in_membership.get(host)
            if member is None and self.members:
                named = next((m for m in self.members if m.get("name") == info["name"]), None)
                if named and info["peer_url"] and info["peer_url"] not in (named.get("peer_urls") or []):
                    self.refuse("Member %s of cluster %s has peer URL %s in etcd, but the inventory gives %s %s "
                                "(etcd_advertise_address, etcd_peer_port). Changing a member's address in place is not "
                                "supported. Nothing was changed."
                                % (info["name"], self.cluster, ", ".join(named.get("peer_urls") or []), host,
                                   info["peer_url"]))

    def plan_upgrade(self, plan, upgrade_hosts, running, read_ok, voters):
        target = self.target_version()
        removing = plan["removing"]
        plan["upgrade"] = None
        current = []
        if not (removing and plan["rebuild"]):
            current = [self.states[h]["version"] for h in self.order
                       if self.states.get(h) and self.states[h]["has_data"] and self.states[h]["version"]]
            current += [(m.get("status") or {}).get("version") for m in self.members if (m.get("status") or {}).get("version")]
        if plan["rebuild"]:
            current = []
        if not (removing and not plan["rebuild"]):
            auth = (self.read or {}).get("auth_enabled") if read_ok else None
            for message in version_errors(target, current, self.p("etcd_known_bad_versions") or [], auth,
                                          self.target_source()):
                self.refuse(message)
            # Without a pinned version, the hosts that have no etcd get the repository's: the same guard.
            if not VERSION_RE.match(target or "") and self.p("etcd_install_method") == "package":
                for host in self.order:
                    state = self.states.get(host)
                    if host in self.play and state and not state["version"] and state["candidate"]:
                        for message in version_errors(
                                state["candidate"], current, self.p("etcd_known_bad_versions") or [], auth,
                                "the etcd-server package that the repositories of %s offer (etcd %s; pin another "
                                "with etcd_version)" % (host, state["candidate"])):
                            self.refuse(message)
        if not upgrade_hosts:
            return
        versions = sorted(set(self.states[h]["version"] for h in upgrade_hosts))
        if not running:
            self.refuse("Refusing to upgrade %s of cluster %s to etcd %s: no member is running, so no snapshot can be "
                        "taken first. Start the cluster with its current version (the version installed now: %s), then "
                        "upgrade. Nothing was changed." % (names(upgrade_hosts), self.cluster, target, ", ".join(versions)))
            return
        if not read_ok:
            self.refuse("Refusing to upgrade %s of cluster %s to etcd %s: %s. Nothing was changed."
                        % (names(upgrade_hosts), self.cluster, target, self.read_problem or "the cluster was not read"))
            return
        problems = self.voter_problems(voters)
        if problems:
            self.refuse("Refusing to upgrade %s of cluster %s to etcd %s: the cluster is not healthy (%s). Nothing was "
                        "changed." % (names(upgrade_hosts), self.cluster, target, "; ".join(problems)))
            return
        leader = leader_host(dict(hosts=self.hosts, order=self.order), self.read)
        backup_dir = str(self.p("etcd_backup_dir") or "/var/backups/etcd").rstrip("/")
        plan["upgrade"] = dict(
            hosts=upgrade_hosts, target=target, from_versions=versions,
            snapshot_host=leader, snapshot_endpoint=self.hosts[leader]["client_url"] if leader else None,
            snapshot_file="%s/%s-before-%s.db" % (backup_dir, self.cluster, target))
        if leader is None or not self.reachable(leader):
            self.refuse("Refusing to upgrade %s of cluster %s to etcd %s: the leader's host is %s, so no snapshot can be "
                        "taken there first. Nothing was changed."
                        % (names(upgrade_hosts), self.cluster, target,
                           "not in the inventory" if leader is None else "unreachable (%s)" % leader))

    def plan_basics(self, plan, removed, settled, joiners, upgrade_hosts):
        """What each member of the run writes and starts: its membership lines, profile, install, start."""
        hosts = self.hosts
        target = self.target_version()
        settled_pairs = [dict(name=hosts[h]["name"], peer_urls=[hosts[h]["peer_url"]]) for h in settled if hosts[h]["peer_url"]]
        settled_cluster = initial_cluster(settled_pairs)
        client_now = [hosts[h]["client_url"] for h in settled if h not in joiners and hosts[h]["client_url"]]
        client_settled = [hosts[h]["client_url"] for h in settled if hosts[h]["client_url"]]
        plan["settled"] = dict(hosts=settled, initial_cluster=settled_cluster, initial_cluster_state="new",
                               client_endpoints=",".join(client_settled))
        joiner_info = dict((j["host"], j) for j in plan.get("joiners") or [])
        method = self.p("etcd_install_method")
        any_install = False
        for host in self.order:
            info = hosts[host]
            state = self.states.get(host)
            joining = host in joiner_info and not (state and state["has_data"])
            info["joining"] = host in joiner_info
            info["initial_cluster"] = joiner_info[host]["initial_cluster"] if joining else settled_cluster
            info["initial_cluster_state"] = "existing" if joining else "new"
            info["client_endpoints"] = ",".join(client_now)
            bootstrapping = bool(state) and not state["has_data"] and (not state["conf_exists"] or state["permit_exists"])
            info["bootstrapping"] = bootstrapping
            info["write_permit"] = bootstrapping
            active = host in self.play and host not in removed and bool(state)
            info["install"] = info["binaries"] = info["create_user"] = False
            if active and not plan["removing"]:
                # No etcd, or another version than the target (the archive's, or the pinned package version).
                info["binaries"] = state["version"] is None or bool(VERSION_RE.match(target or "")) and state["version"] != target
                info["install"] = info["binaries"] or not state["user_exists"]
                info["create_user"] = method == "package" and not state["user_exists"]
                any_install = any_install or info["install"]
            info["remove"] = host in removed or (plan["rebuild"] and host in self.play)
            info["stop"] = info["remove"] and bool(state) and state["unit_exists"]
            info["wipe"] = info["remove"] and bool(state)
            info["start"] = (active and not plan["removing"] and not info["joining"]
                             and not (state["running"] and state["enabled"]))
            info["start_no_block"] = bool(state) and not state["has_data"]
            info["daemon_reload"] = bool(state) and (state["unit_exists"] or method == "package")
            info["upgrade"] = host in upgrade_hosts
            info["backup_timer_exists"] = bool(state) and state["backup_timer_exists"]
            # The files that name a client certificate (etcdctl profile, backup settings) name the root one once it
            # is on the member, or when this run's cert stage puts it there.
            info["root_client_files"] = bool(plan["stages"]["cert"]) or bool(state and state["root_cert_exists"])
            info["tls_min_version"] = tls_min_version_supported(self.version_after(host, plan))
            info.setdefault("restart_reasons", [])
        # The role's own etcdctl calls connect as root (its client certificate, CN root, which RBAC maps to the root
        # user) once every running member holds it; before (a cluster deployed by an older release), with the
        # member certificate, which does as long as authentication is off.
        with_data = [h for h in self.order if self.states.get(h) and self.states[h]["has_data"]]
        plan["root_client"] = bool(with_data) and all(self.states[h]["root_cert_exists"] for h in with_data)
        plan["install"]["download"] = bool(self.p("etcd_archive_url")) and method == "archive" and any_install

    def plan_root_login(self, plan, cert_not_user):
        """Whether the role's etcdctl calls log in as root with etcd_root_password in this run: RBAC is on and a
        member refused the connection's certificate as a user (etcd: "user name is empty"), which is what a
        member answers whose config has no client-cert-auth (a cluster taken over from Pigsty) until it runs
        this role's config. Refused without a password, before any host is changed."""
        if cert_not_user and self.read_problem:
            self.refuse("%s%s. %s %s a config this role did not write (no client-cert-auth), and taking %s over "
                        "needs to know whether RBAC authentication is on. Nothing was changed."
                        % (self.read_problem[0].upper(), self.read_problem[1:], names(cert_not_user),
                           "runs" if len(cert_not_user) == 1 else "run", "it" if len(cert_not_user) == 1 else "them"))
        # self.members is empty unless the read succeeded.
        refused = [m.get("name") or m.get("id") for m in self.members
                   if USER_NAME_EMPTY in str(m.get("health_error") or "")]
        plan["root_login"] = bool(cert_not_user and refused and self.read.get("auth_enabled"))
        if plan["root_login"] and not self.p("etcd_root_password"):
            self.refuse("etcd_root_password is empty: RBAC authentication is on in cluster %s and %s %s not take a "
                        "client certificate as a user (no client-cert-auth in the config %s, as Pigsty writes "
                        "it), so this run must log in as root until the members run this role's config. Set "
                        "etcd_root_password to the root password of the cluster (Pigsty: its etcd_root_password). "
                        "Nothing was changed." % (self.cluster, ", ".join(sorted(refused)),
                                                  "does" if len(refused) == 1 else "do",
                                                  "it runs" if len(refused) == 1 else "they run"))

    def plan_access(self, plan):
        """The auth stage: RBAC on or off, and the roles and users of etcd_roles and etcd_users, in an order that
        never leaves a user with a role that does not exist (roles first, role deletions last). It runs on one
        member the cluster is verified through, after the launch."""
        users, roles = self.p("etcd_users") or [], self.p("etcd_roles") or []
        enable, disable = as_bool(self.p("etcd_auth")), as_bool(self.p("etcd_auth_disable"))
        wanted_roles, wanted_users = rbac_desired(users, roles)

        def lowered(perms):
            return [dict(p, access=str(p.get("access", "read")).lower()) for p in perms or []]
        given = dict((r["name"], lowered(r.get("permissions"))) for r in roles)
        given.update((u["name"], lowered(u["permissions"])) for u in users if u.get("permissions"))
        role_list = [dict(name=name, state=wanted_roles[name]["state"], permissions=given.get(name) or [])
                     for name in sorted(wanted_roles)]
        user_list = [dict(name=u["name"], index=index, state=wanted_users[u["name"]]["state"],
                          roles=wanted_users[u["name"]]["roles"]) for index, u in enumerate(users)]
        run = (plan["stages"]["auth"] and not plan["removing"] and (enable or disable or bool(users) or bool(roles))
               and plan["verify"]["host"] is not None)
        # The auth stage, and every etcdctl call of the role once authentication is on, connect as root: every
        # member that runs must hold the root client certificate, or get it in this run.
        lacking = [h for h in self.order if (self.states.get(h) or {}).get("has_data")
                   and not self.states[h]["root_cert_exists"] and not (plan["stages"]["cert"] and h in self.play)]
        if run and lacking:
            self.refuse("The auth stage (etcd_auth, etcd_users, etcd_roles) needs the root client certificate on every "
                        "member, and %s %s none yet: run ./etcd.yml without -l (or with -t etcd_cert) first. Nothing "
                        "was changed." % (names(lacking), "has" if len(lacking) == 1 else "have"))
        plan["access"] = dict(
            run=run, state="enabled" if enable else ("disabled" if disable else "present"),
            host=plan["verify"]["host"], endpoints=plan["verify"]["endpoints"], prune=as_bool(self.p("etcd_rbac_prune")),
            roles=[r for r in role_list if r["state"] == "present"], users=[u for u in user_list if u["state"] == "present"],
            users_absent=[u for u in user_list if u["state"] == "absent"],
            roles_absent=[r for r in role_list if r["state"] == "absent"])
        older = [h for h in self.play if h in self.hosts and not self.hosts[h].get("tls_min_version")]
        if self.p("etcd_tls_min_version") == "TLS1.3" and older:
            self.warn("etcd_tls_min_version=TLS1.3 is not applied on %s: its etcd release does not read tls-min-version "
                      "(3.4.25+, 3.5.8+), so it accepts TLS 1.2 (with Go's cipher suites)." % names(older))

    def plan_restarts(self, plan, joiners, removed, read_ok):
        hosts = self.hosts
        for host in self.order:
            info = hosts[host]
            state = self.states.get(host)
            reasons = []
            if host in self.play and state and state["running"] and host not in joiners and host not in removed \
                    and not plan["removing"]:
                if "etcd_launch" in self.run_tags:
                    reasons.append("restart requested (-t etcd_launch)")
                reasons += ["running process older than its files: %s" % r for r in state["stale_reasons"]]
                member = self.in_membership.get(host)
                running_version = ((member or {}).get("status") or {}).get("version")
                if running_version and state["version"] and running_version != state["version"]:
                    reasons.append("runs etcd %s, etcd %s is installed" % (running_version, state["version"]))
            info["restart_reasons"] = reasons
        runners = [h for h in self.order if h in self.play and hosts[h].get("running") and h not in removed]
        leader = leader_host(dict(hosts=hosts, order=self.order), self.read) if read_ok else None
        follower_first = leader_last(runners, leader)
        succ = None
        if read_ok and leader:
            lead_member = self.in_membership.get(leader)
            chosen = successor(self.members, lead_member["id"]) if lead_member else None
            succ = chosen.get("name") if chosen else None
        plan["restart"] = dict(order=follower_first, leader_host=leader, successor=succ)
        requested = [h for h in self.order if hosts[h]["restart_reasons"]]
        if requested and read_ok:
            expect = dict(tolerate_down=self.tolerated_down(plan), margin=1)
            problems = cluster_problems(self.read, expect)
            if problems and "etcd_launch" in self.run_tags:
                self.refuse("Refusing to restart %s of cluster %s: %s. Nothing was changed. The cluster is not healthy "
                            "enough to lose a member for a restart." % (names(requested), self.cluster, "; ".join(problems)))

    def tolerated_down(self, plan):
        """Members the run knows to be down and cannot bring back: unreachable hosts, and members outside the
        run (-l) that are not running. A converged cluster may lack them as long as it keeps a quorum."""
        result = []
        for host in self.order:
            info = self.hosts[host]
            state = self.states.get(host)
            if host in (plan.get("removed_hosts") or []):
                continue
            down = self.probe_of(host) is not None and not self.reachable(host)
            if host not in self.play and state is not None and not state["running"]:
                down = True
            if down:
                result.append(info["peer_url"] or info["name"])
        return result

    def version_after(self, host, plan):
        """The etcd version a member of the run runs after this run, when known: the target the install stage
        installs (the archive's or the pinned one), else what is installed on it, or what the repository
        installs on a host that has none."""
        state = self.states.get(host)
        if not state:
            return None
        target = self.target_version()
        if plan["stages"]["install"] and VERSION_RE.match(target or ""):
            return target
        if state["version"]:
            return state["version"]
        return state["candidate"] if plan["stages"]["install"] else None

    def scrape_target(self, host, address):
        """Where Prometheus scrapes a member: its client URL (HTTPS, with the scrape job's client certificate),
        or etcd_metrics_url when set (its scheme; the member's own address when it listens on all). A loopback
        listener serves agents on the member itself: Prometheus scrapes the client URL then."""
        info = self.hosts[host]
        url_address = url_host(address)
        url = self.hp(host, "etcd_metrics_url")
        match = METRICS_URL_RE.match(str(url)) if url else None
        if not match or is_loopback(match.group(2)):
            return "https", "%s:%s" % (url_address, info["port"])
        listen = match.group(2)
        if listen in ANY_ADDRESS:
            listen = url_address
        return match.group(1), "%s:%s" % (listen, match.group(3))

    def plan_register(self, plan, expected):
        """The members Prometheus scrapes: one file_sd target file per member that the run expects, on every
        host of the monitoring group; none after a removal of the whole cluster. mode says what the register
        stage does: converge (targets, rules, scrape certificate), prune (a partial removal: the removed members'
        targets only, nothing else is touched, no certificate made) or remove (the whole cluster's files)."""
        group = str(self.p("etcd_prometheus_group") or "")
        monitors = list(self.groups.get(group) or []) if group else []
        targets = {}
        members = []
        keep = []
        targets_dir = str(self.p("etcd_prometheus_targets_dir") or "/etc/prometheus/targets/etcd").rstrip("/")
        for host in expected:
            info = self.hosts[host]
            name = "%s-%s.yml" % (self.cluster, info["seq"])
            address = info["address"]
            member = self.in_membership.get(host)
            if not address and member and member.get("peer_urls"):
                # A DNS-named host that cannot be reached: its address as etcd knows it.
                address = member["peer_urls"][0].split("//", 1)[-1].rsplit(":", 1)[0].strip("[]")
            members.append(dict(host=host, name=info["name"]))
            if not address:
                # Not known this run: the member's target stays as it is (its alert keeps firing if it is down).
                keep.append("%s/%s" % (targets_dir, name))
                continue
            scheme, target = self.scrape_target(host, address)
            labels = dict(cls=self.cluster, ins=info["name"], ip=address)
            if scheme != "https":
                labels["__scheme__"] = scheme
            targets[name] = [dict(labels=labels, targets=[target])]
        cert_dir = (str(self.p("etcd_prometheus_cert_dir") or "") or "/etc/prometheus/etcd/%s" % self.cluster).rstrip("/")
        # file_sd reads YAML, and JSON is YAML.
        target_files = [dict(path="%s/%s" % (targets_dir, name),
                             content="# etcd member %s of cluster %s (written by dcs.etcd)\n%s" % (
                                 entries[0]["labels"]["ins"], self.cluster, json.dumps(entries, indent=2, sort_keys=True)))
                        for name, entries in sorted(targets.items())]
        if plan["removing"] and not plan["rebuild"]:
            mode = "prune" if plan["partial_removal"] else "remove"
        else:
            mode = "converge"
        plan["register"] = dict(
            group=group, hosts=monitors, mode=mode, targets=targets, target_files=target_files, keep_files=keep,
            targets_dir=targets_dir, members=members, cert_dir=cert_dir,
            rules_file="%s/etcd-%s.rules.yml" % (str(self.p("etcd_prometheus_rules_dir") or "/etc/prometheus/rules")
                                                 .rstrip("/"), self.cluster),
            # The certificates whose expiry the rules record: each member's, the CA's, the scrape certificate's.
            certificates=[dict(name=m["name"], path="%s/members/%s.crt" % (self.pki_dir(), m["host"])) for m in members]
            + [dict(name="ca", path="%s/ca.crt" % self.pki_dir()),
               dict(name="prometheus", path="%s/clients/prometheus.crt" % self.pki_dir())],
            # This cluster's target files, and no other cluster's ("etcd-1.yml", not "etcd-meta-1.yml").
            target_pattern="^%s-[0-9]+\\.yml$" % re.escape(str(self.cluster)),
            remove_cluster=mode == "remove")

    def plan_verify(self, plan, settled, joiners, removed, in_membership, read_ok):
        hosts = self.hosts
        expected = []
        for host in settled:
            state = self.states.get(host)
            if host in self.play and self.reachable(host):
                expected.append(host)
            elif in_membership.get(host):
                expected.append(host)
            elif state is not None and state["unit_exists"]:
                expected.append(host)
            elif state is None and self.probe_of(host) is not None and not read_ok:
                expected.append(host)
        plan["expected_hosts"] = expected
        tolerate = self.tolerated_down(plan)
        members = [dict(name=hosts[h]["name"], peer_url=hosts[h]["peer_url"] or None) for h in expected]
        # After a run that converges (not one that only removes), each member of the run runs the version it
        # is meant to run; a member still on another one fails the run, named.
        versions = {}
        if not plan["removing"]:
            for host in self.play:
                if host in hosts and self.reachable(host) and self.version_after(host, plan):
                    versions[hosts[host]["name"]] = self.version_after(host, plan)
        expect = dict(members=members, tolerate_down=tolerate, margin=0, versions=versions)
        via = [h for h in expected if self.reachable(h) and (h in self.play or (self.states.get(h) or {}).get("unit_exists"))]
        endpoints = [hosts[h]["client_url"] for h in expected if hosts[h]["client_url"]
                     and (hosts[h]["peer_url"] not in tolerate)]
        plan["verify"] = dict(host=via[0] if via else None, endpoints=endpoints, expect=expect,
                              restart_expect=dict(members=members, tolerate_down=tolerate, margin=1))
        self.plan_register(plan, expected)
        # Refresh the membership recorded by members outside the run (config lines, etcdctl profile).
        plan["settle"] = dict(
            run_hosts=[h for h in expected if h in self.play] if joiners else [],
            others=[h for h in self.order if h not in self.play and h not in removed and self.reachable(h)
                    and (self.states.get(h) or {}).get("unit_exists")])
