# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: access to the cluster. Checks the access parameters (RBAC on or off,
the root password, users and roles, certificate lifetimes, TLS, consumer certificates) and decides the consumer
certificates' installs and copies, whether the role's own etcdctl calls log in as root this run, and what the
auth stage does (roles before users, deletions last)."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import posixpath
import re

from ansible_collections.dcs.etcd.plugins.module_utils._rbac import MASK as RBAC_MASK
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import NAME_RE as RBAC_NAME_RE
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import ROOT as RBAC_ROOT
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import desired as rbac_desired
from ansible_collections.dcs.etcd.plugins.module_utils._rbac import rbac_problems
from ansible_collections.dcs.etcd.plugins.module_utils._plan.rules import USER_NAME_EMPTY
from ansible_collections.dcs.etcd.plugins.module_utils._plan.values import SYSTEM_DIRS, as_bool, names


def check_parameters(run):
    """RBAC, consumer certificates, certificate lifetimes and TLS: each problem names its variable. Returns the
    consumer certificates, checked and completed."""
    if as_bool(run.param("etcd_auth")) and as_bool(run.param("etcd_auth_disable")):
        run.refuse("etcd_auth=true and etcd_auth_disable=true contradict each other: set one of them.")
    if as_bool(run.param("etcd_auth")) and not run.param("etcd_root_password"):
        run.refuse("etcd_root_password is empty: etcd_auth=true needs the password of etcd's root user (keep it "
                   "in Ansible Vault); there is no default. Nothing was changed.")
    elif run.param("etcd_root_password") and run.param("etcd_root_password") != RBAC_MASK:
        # The action hands the plan a mask for a usable password, and a description of any other.
        run.refuse("etcd_root_password is not usable (%s): etcdctl reads a password up to its first blank. "
                   "Nothing was changed." % run.param("etcd_root_password"))
    member_names = set(identity_names(run))
    for problem in rbac_problems(run.param("etcd_users") or [], run.param("etcd_roles") or [], member_names):
        run.refuse(problem + " Nothing was changed.")
    days = {}
    for name in ("etcd_cert_renew_days", "etcd_cert_warn_days", "etcd_cert_fail_days"):
        try:
            days[name] = int(run.param(name, 0))
            if days[name] < 0 or isinstance(run.param(name), bool):
                raise ValueError
        except (TypeError, ValueError):
            run.refuse("%s=%s: must be a whole number of days, 0 or more." % (name, run.param(name)))
    try:
        valid = int(run.param("etcd_cert_valid_days", 3650))
    except (TypeError, ValueError):
        valid = None
    if valid and days.get("etcd_cert_renew_days", 0) >= valid:
        run.refuse("etcd_cert_renew_days=%s must be below etcd_cert_valid_days=%s, or every run would issue the "
                   "certificates again." % (days["etcd_cert_renew_days"], valid))
    if days.get("etcd_cert_fail_days", 0) > days.get("etcd_cert_warn_days", 0):
        run.refuse("etcd_cert_fail_days=%s must not exceed etcd_cert_warn_days=%s."
                   % (days.get("etcd_cert_fail_days"), days.get("etcd_cert_warn_days")))
    suites = run.param("etcd_tls_cipher_suites", [])
    if not isinstance(suites, list) or not all(re.match(r"^TLS_[A-Z0-9_]+$", str(x)) for x in suites):
        run.refuse("etcd_tls_cipher_suites=%s: must be a list of Go cipher suite names such as "
                   "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (empty: Go's defaults)." % (suites,))
    return check_client_certs(run, member_names)


def identity_names(run):
    """The etcd member names (CN of the member certificates) the inventory gives."""
    return ["%s-%s" % (run.cluster, run.seqs[h]) for h in run.order if h in run.seqs]


def check_client_certs(run, member_names):
    """etcd_client_certs, checked and completed: [{name, cn, hosts, dir, owner, group, mode, controller_dir}]."""
    entries = run.param("etcd_client_certs") or []
    if not isinstance(entries, list):
        run.refuse("etcd_client_certs must be a list.")
        return []
    known = set(run.groups.get("all") or [])
    for group, hosts in run.groups.items():
        known.update(hosts or [])
    result, seen = [], set()
    for index, entry in enumerate(entries):
        where = "etcd_client_certs[%d]" % index
        if not isinstance(entry, dict):
            run.refuse("%s must be a mapping with a name." % where)
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not RBAC_NAME_RE.match(name) or name in ("root", "prometheus"):
            run.refuse("%s.name=%r: must be a file name of letters, digits, '_', '.', '@' or '-' (root and "
                       "prometheus are the role's own)." % (where, name))
            continue
        if name in seen:
            run.refuse("etcd_client_certs: %s is listed twice." % name)
        seen.add(name)
        # An empty cn: no CN at all, for clients of etcd's HTTP gateway (Patroni) while RBAC is on.
        cn = name if entry.get("cn") is None else str(entry["cn"])
        if cn == RBAC_ROOT or cn in member_names:
            run.refuse("%s.cn=%s: that CN is %s; a consumer certificate must not carry it." % (
                where, cn, "etcd's root user" if cn == RBAC_ROOT else "a member's"))
        hosts = entry.get("hosts") or []
        if not isinstance(hosts, list) or [h for h in hosts if h not in known]:
            run.refuse("%s.hosts: must be a list of inventory hosts; not in the inventory: %s."
                       % (where, names([h for h in hosts if h not in known]) if isinstance(hosts, list) else hosts))
            hosts = []
        controller_dir = str(entry.get("controller_dir") or "")
        if controller_dir and not controller_dir.startswith("/"):
            run.refuse("%s.controller_dir=%s: must be an absolute directory on the controller." % (where, controller_dir))
        directory = str(entry.get("dir") or "/etc/etcd-client/%s" % run.cluster)
        if not directory.startswith("/") or posixpath.normpath(directory) in SYSTEM_DIRS | set(["/", "/etc"]):
            run.refuse("%s.dir=%s: must be an absolute directory of its own on the consumer hosts." % (where, directory))
        if not hosts and not controller_dir:
            run.refuse("%s: give hosts (consumer hosts to install it on) or controller_dir, or both." % where)
        mode = str(entry.get("mode") or "0600")
        if not re.match(r"^0?[0-7]{3}$", mode) or int(mode, 8) & 0o007:
            run.refuse("%s.mode=%s: the key's mode, such as 0600 or 0640 (never readable by others)." % (where, mode))
        state = entry.get("state") or "present"
        owner, group = str(entry.get("owner") or "root"), str(entry.get("group") or "root")
        for other in result:
            shared = [h for h in hosts if h in other["hosts"]]
            if shared and other["dir"] == directory.rstrip("/") and (other["owner"], other["group"]) != (owner, group):
                run.refuse("%s and %s share the directory %s on %s with different owners (%s:%s, %s:%s): give "
                           "each its own dir." % (where, other["name"], directory, names(shared), owner, group,
                                                  other["owner"], other["group"]))
        result.append(dict(name=name, cn=cn, hosts=hosts, dir=directory.rstrip("/"), owner=str(entry.get("owner") or "root"),
                           group=str(entry.get("group") or "root"), mode=mode.zfill(4), controller_dir=controller_dir,
                           state=state))
    return result


def plan_client_certs(plan, client_certs):
    """The consumer certificates: those present, where each is installed, and what is copied to the controller."""
    plan["client_certs"] = [c for c in client_certs if c["state"] == "present"]
    plan["client_cert_installs"] = [dict(c, host=h) for c in client_certs for h in c["hosts"]]
    plan["client_cert_copies"] = [
        dict(src=src.replace("%s", c["name"]), dest="%s/%s" % (c["controller_dir"].rstrip("/"), dest.replace("%s", c["name"])),
             mode=mode)
        for c in client_certs if c["controller_dir"] and c["state"] == "present"
        for src, dest, mode in (("ca-trust.crt", "ca.crt", "0644"), ("clients/%s.crt", "%s.crt", "0644"),
                                ("clients/%s.key", "%s.key", "0600"))]


def plan_root_login(run, facts, plan, cert_not_user):
    """Whether the role's etcdctl calls log in as root with etcd_root_password in this run: RBAC is on and members
    take no client certificate as a user (no client-cert-auth in their config: a cluster taken over from Pigsty)
    until they run this role's config. The read that tells whether RBAC is on already logs in when a password is
    given: etcd 3.6 and later answer no member list without a user while RBAC is on (with RBAC off, etcdctl's
    login is ignored). Refused without a password, before any host is changed."""
    if plan["step"] == "probed":
        plan["root_login"] = bool(cert_not_user and run.param("etcd_root_password"))
        return
    # etcd 3.6 and later refuse a member list without a user while RBAC is on: the failed read says RBAC is on.
    said_rbac = bool(facts.read_problem) and USER_NAME_EMPTY in facts.read_problem
    if cert_not_user and facts.read_problem and not said_rbac:
        run.refuse("%s%s. %s %s a config this role did not write (no client-cert-auth), and taking %s over "
                   "needs to know whether RBAC authentication is on. Nothing was changed."
                   % (facts.read_problem[0].upper(), facts.read_problem[1:], names(cert_not_user),
                      "runs" if len(cert_not_user) == 1 else "run", "it" if len(cert_not_user) == 1 else "them"))
    # facts.members is empty unless the read succeeded. A read made without a login tells which members refused
    # the certificate as a user; one made as root (the password was given) cannot, and the run logs in as root.
    refused = [m.get("name") or m.get("id") for m in facts.members
               if USER_NAME_EMPTY in str(m.get("health_error") or "")]
    if facts.read_ok:
        logged_in = bool(run.param("etcd_root_password"))
        plan["root_login"] = bool(cert_not_user and facts.read.get("auth_enabled") and (logged_in or refused))
    else:
        plan["root_login"] = bool(cert_not_user and said_rbac)
    if plan["root_login"] and not run.param("etcd_root_password"):
        refused = ", ".join(sorted(refused or [facts.hosts[h]["name"] for h in cert_not_user]))
        run.refuse("etcd_root_password is empty: RBAC authentication is on in cluster %s and %s %s not take a "
                   "client certificate as a user (no client-cert-auth in the config %s, as Pigsty writes "
                   "it), so this run must log in as root until the members run this role's config. Set "
                   "etcd_root_password to the root password of the cluster (Pigsty: its etcd_root_password). "
                   "Nothing was changed." % (run.cluster, refused, "does" if ", " not in refused else "do",
                                             "it runs" if ", " not in refused else "they run"))


def plan_access(run, facts, plan):
    """The auth stage: RBAC on or off, and the roles and users of etcd_roles and etcd_users, in an order that
    never leaves a user with a role that does not exist (roles first, role deletions last). It runs on one
    member the cluster is verified through, after the launch."""
    users, roles = run.param("etcd_users") or [], run.param("etcd_roles") or []
    enable, disable = as_bool(run.param("etcd_auth")), as_bool(run.param("etcd_auth_disable"))
    wanted_roles, wanted_users = rbac_desired(users, roles)

    def lowered(perms):
        return [dict(perm, access=str(perm.get("access", "read")).lower()) for perm in perms or []]
    given = dict((r["name"], lowered(r.get("permissions"))) for r in roles)
    given.update((u["name"], lowered(u["permissions"])) for u in users if u.get("permissions"))
    role_list = [dict(name=name, state=wanted_roles[name]["state"], permissions=given.get(name) or [])
                 for name in sorted(wanted_roles)]
    user_list = [dict(name=u["name"], index=index, state=wanted_users[u["name"]]["state"],
                      roles=wanted_users[u["name"]]["roles"]) for index, u in enumerate(users)]
    stage_runs = (plan["stages"]["auth"] and not run.removing and (enable or disable or bool(users) or bool(roles))
                  and plan["verify"]["host"] is not None)
    # The auth stage, and every etcdctl call of the role once authentication is on, connect as root: every
    # member that runs must hold the root client certificate, or get it in this run.
    lacking = [h for h in run.order if (facts.states.get(h) or {}).get("has_data")
               and not facts.states[h]["root_cert_exists"] and not (plan["stages"]["cert"] and h in run.play)]
    if stage_runs and lacking:
        run.refuse("The auth stage (etcd_auth, etcd_users, etcd_roles) needs the root client certificate on every "
                   "member, and %s %s none yet: run ./etcd.yml without -l (or with -t etcd_cert) first. Nothing "
                   "was changed." % (names(lacking), "has" if len(lacking) == 1 else "have"))
    plan["access"] = dict(
        run=stage_runs, state="enabled" if enable else ("disabled" if disable else "present"),
        host=plan["verify"]["host"], endpoints=plan["verify"]["endpoints"], prune=as_bool(run.param("etcd_rbac_prune")),
        roles=[r for r in role_list if r["state"] == "present"], users=[u for u in user_list if u["state"] == "present"],
        users_absent=[u for u in user_list if u["state"] == "absent"],
        roles_absent=[r for r in role_list if r["state"] == "absent"])
    older = [h for h in run.play if h in facts.hosts and not facts.hosts[h].get("tls_min_version")]
    if run.param("etcd_tls_min_version") == "TLS1.3" and older:
        run.warn("etcd_tls_min_version=TLS1.3 is not applied on %s: its etcd release does not read tls-min-version "
                 "(3.4.25+, 3.5.8+), so it accepts TLS 1.2 (with Go's cipher suites)." % names(older))
