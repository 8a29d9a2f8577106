# -*- coding: utf-8 -*-
# Copyright: dcs.etcd collection contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the rules of etcd's RBAC as the role manages it. What etcd_users and
etcd_roles ask for, checked before any host is touched; what a role's permissions and a user's roles must
become (grants, revocations, drift); how etcdctl's JSON answers read. Pure functions: no etcdctl call here."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import base64
import re

# etcd's built-in administrator: the role manages it through etcd_root_password, never through etcd_users.
ROOT = "root"
ACCESS = {"read": "READ", "write": "WRITE", "readwrite": "READWRITE"}
# `role get -w json` gives the permission type as a number (authpb.Permission.Type); 0 (READ) is left out.
PERM_TYPES = {0: "READ", 1: "WRITE", 2: "READWRITE"}
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$")
# What the etcd_plan action hands the plan instead of a usable password.
MASK = "********"


def prefix_end(key):
    """etcd's range end of a prefix (clientv3.GetPrefixRangeEnd): the key with its last byte below 0xff
    incremented and what follows dropped; "\\0" (every key) when there is none."""
    data = bytearray(key.encode("utf-8"))
    for index in range(len(data) - 1, -1, -1):
        if data[index] < 0xFF:
            data[index] += 1
            return bytes(data[:index + 1]).decode("utf-8", "surrogateescape")
    return "\0"


def permission_of(entry):
    """One permission as the inventory gives it ({prefix: P} or {key: K}, access) -> (TYPE, key, range_end)."""
    access = ACCESS[str(entry.get("access", "read")).lower()]
    if entry.get("prefix") is not None:
        key = str(entry["prefix"])
        return (access, key, prefix_end(key))
    return (access, str(entry["key"]), "")


def describe(permission):
    kind, key, end = permission
    if not end:
        return "%s %s" % (kind.lower(), key)
    if end == prefix_end(key):
        return "%s %s*" % (kind.lower(), key)
    return "%s [%s, %s)" % (kind.lower(), key, end)


def _text(value):
    if not value:
        return ""
    try:
        return base64.b64decode(value).decode("utf-8", "surrogateescape")
    except (ValueError, TypeError):
        return str(value)


def parse_role(answer):
    """`role get NAME -w json` -> sorted list of (TYPE, key, range_end); keys are base64 in the JSON."""
    perms = []
    for raw in (answer or {}).get("perm") or []:
        kind = raw.get("permType", 0)
        kind = PERM_TYPES.get(kind, kind) if isinstance(kind, int) else str(kind).upper()
        perms.append((kind, _text(raw.get("key")), _text(raw.get("range_end"))))
    return sorted(perms)


def parse_names(answer, field):
    """`user list` / `role list` / `user get` -w json -> the sorted names in `field` (users, roles)."""
    return sorted(str(name) for name in ((answer or {}).get(field) or []))


def missing(stderr):
    """Whether etcdctl's error says the user or role does not exist."""
    return "not found" in (stderr or "")


def role_changes(current, wanted, prune):
    """What turns a role's permissions `current` into `wanted`: (grant, revoke, drift). A permission that is
    not wanted is revoked with prune, else reported as drift. A wanted permission held with another type is
    granted again (etcd replaces the type of a key and range it already has)."""
    current, wanted = set(map(tuple, current)), set(map(tuple, wanted))
    grant = sorted(wanted - current)
    granted_ranges = set((key, end) for _kind, key, end in grant)
    extra = sorted(p for p in current - wanted if (p[1], p[2]) not in granted_ranges)
    return grant, (extra if prune else []), ([] if prune else extra)


def user_changes(current, wanted, prune):
    """What turns a user's roles `current` into `wanted`: (grant, revoke, drift)."""
    current, wanted = set(current), set(wanted)
    extra = sorted(current - wanted)
    return sorted(wanted - current), (extra if prune else []), ([] if prune else extra)


def _entry_problems(kind, index, entry, member_names):
    where = "%s[%d]" % (kind, index)
    problems = []
    if not isinstance(entry, dict):
        return ["%s must be a mapping with a name (got %r)." % (where, entry)]
    name = entry.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        problems.append("%s.name=%r: must be a name of letters, digits, '_', '.', '@' or '-'." % (where, name))
    elif name == ROOT:
        problems.append("%s.name=root: root is managed by the role (etcd_root_password), not through %s."
                        % (where, kind))
    elif kind == "etcd_users" and name in member_names:
        problems.append("%s.name=%s: a member's certificate carries that name as its CN, so etcd would take the "
                        "member certificate for this %s; choose another name." % (where, name, "user"))
    perms = entry.get("permissions") or []
    if not isinstance(perms, list):
        problems.append("%s.permissions must be a list." % where)
        perms = []
    for number, perm in enumerate(perms):
        at = "%s.permissions[%d]" % (where, number)
        if not isinstance(perm, dict) or (perm.get("prefix") is None) == (perm.get("key") is None):
            problems.append("%s: give exactly one of prefix and key, and access (read, write or readwrite)." % at)
            continue
        if str(perm.get("access", "")).lower() not in ACCESS:
            problems.append("%s.access=%s: must be read, write or readwrite." % (at, perm.get("access")))
        if not str(perm.get("prefix") if perm.get("prefix") is not None else perm.get("key")):
            problems.append("%s: an empty %s would cover every key; give the consumer's own prefix."
                            % (at, "prefix" if perm.get("prefix") is not None else "key"))
    if kind == "etcd_users":
        password = entry.get("password")
        if password is not None and not isinstance(password, str):
            problems.append("%s.password must be a string (a Vault-encrypted one)." % where)
        elif password is not None and (password == "" or re.search(r"\s", password)):
            # etcdctl reads a password from stdin up to the first blank (--interactive=false).
            problems.append("%s.password is empty or contains whitespace, which etcdctl cannot pass on." % where)
        roles = entry.get("roles") or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            problems.append("%s.roles must be a list of role names." % where)
        elif ROOT in roles:
            problems.append("%s.roles: root gives every right; consumers get least privilege." % where)
    return problems


def rbac_problems(users, roles, member_names=()):
    """Everything wrong with etcd_users and etcd_roles, each naming its entry (empty: fine)."""
    problems = []
    for kind, entries in (("etcd_users", users), ("etcd_roles", roles)):
        if entries in (None, ""):
            continue
        if not isinstance(entries, list):
            problems.append("%s must be a list." % kind)
            continue
        seen = set()
        for index, entry in enumerate(entries):
            problems.extend(_entry_problems(kind, index, entry, set(member_names)))
            name = entry.get("name") if isinstance(entry, dict) else None
            if name in seen:
                problems.append("%s: %s is listed twice." % (kind, name))
            seen.add(name)
    if problems:
        return problems
    role_names = set(r["name"] for r in roles or [] if (r.get("state") or "present") == "present")
    own_roles = set(u["name"] for u in users or [] if u.get("permissions") and (u.get("state") or "present") == "present")
    for role in roles or []:
        if role["name"] in set(u["name"] for u in users or [] if u.get("permissions")):
            problems.append("etcd_roles: %s is also the own role of the user %s (made from its permissions); "
                            "rename one of them." % (role["name"], role["name"]))
    for index, user in enumerate(users or []):
        if (user.get("state") or "present") != "present":
            continue
        for role in user.get("roles") or []:
            if role not in role_names and role not in own_roles:
                problems.append("etcd_users[%d].roles: %s is not a present role of etcd_roles." % (index, role))
    return problems


def desired(users, roles):
    """The roles and users the inventory asks for. A user with permissions gets a role of its own name.
    Returns (roles, users): {name: {state, permissions}} and {name: {state, roles, password_set}}."""
    want_roles, want_users = {}, {}
    for role in roles or []:
        want_roles[role["name"]] = dict(state=role.get("state") or "present",
                                        permissions=sorted(permission_of(p) for p in role.get("permissions") or []))
    for user in users or []:
        state = user.get("state") or "present"
        names = list(user.get("roles") or [])
        if user.get("permissions"):
            want_roles[user["name"]] = dict(state=state, permissions=sorted(
                permission_of(p) for p in user["permissions"]))
            if state == "present":
                names.append(user["name"])
        want_users[user["name"]] = dict(state=state, roles=sorted(set(names)),
                                        password_set=user.get("password") is not None)
    return want_roles, want_users


def unmanaged_names(current_users, current_roles, managed_users, managed_roles):
    """Users and roles etcd holds that the inventory does not name at all (root aside): drift to report, or
    to delete with etcd_rbac_prune."""
    return (sorted(u for u in current_users if u != ROOT and u not in set(managed_users)),
            sorted(r for r in current_roles if r != ROOT and r not in set(managed_roles)))
