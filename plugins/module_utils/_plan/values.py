# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: what a single value given to the role may be. Pure functions over one
value each (a name, an address, a port, a path, a SAN entry, a boolean); the checks of the inputs apply them
and name the variable and the host."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import ipaddress
import posixpath
import re

from ansible.module_utils.parsing.convert_bool import boolean

ARCHIVE_RE = re.compile(r"^etcd-v(\d+\.\d+\.\d+)-linux-([a-z0-9]+)\.tar\.gz$")
CLUSTER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
SEQ_RE = re.compile(r"^[0-9]+$")
SHA256_RE = re.compile(r"^(sha256:)?[0-9a-fA-F]{64}$")
DNS_RE = re.compile(r"^(\*\.)?[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$")
METRICS_URL_RE = re.compile(r"^(https?)://(\[[0-9A-Fa-f:.]+\]|[^/:\[\]]+):([0-9]+)/?$")
DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
# A metrics URL listening on every address is scraped on the member's own address.
ANY_ADDRESS = ("0.0.0.0", "[::]", "::")

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
    """Whether the text is an IPv4 or IPv6 address (brackets allowed)."""
    try:
        ipaddress.ip_address(str(text).strip("[]"))
        return True
    except ValueError:
        return False


def is_loopback(address):
    """Whether the address is localhost or a loopback address."""
    address = str(address).strip("[]")
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def url_host(address):
    """An address as the host part of a URL (an IPv6 address in brackets)."""
    return "[%s]" % address if ":" in address else address


def data_dir_problem(path):
    """Why a path cannot be an etcd data directory (etcd_data), or None."""
    if not isinstance(path, str) or not path.startswith("/"):
        return "must be an absolute path"
    norm = posixpath.normpath(path)
    if norm.startswith("//"):
        norm = "/" + norm.lstrip("/")
    depth = len([part for part in norm.split("/") if part])
    if depth < 2:
        return "is the root or a top-level directory (%s); use a directory of its own such as /data/etcd" % norm
    if norm in SYSTEM_DIRS:
        return "is a system directory (%s); use a directory of its own such as /data/etcd" % norm
    for tree in SYSTEM_TREES:
        if norm == tree or norm.startswith(tree + "/"):
            return "is under %s, which is not a place for data; use a directory of its own such as /data/etcd" % tree
    return None


def port_ok(value):
    """Whether the value is a TCP port (1-65535)."""
    try:
        return str(value).isdigit() and 1 <= int(value) <= 65535
    except ValueError:
        return False


def as_bool(value):
    """A boolean parameter as Ansible reads one: its truth table, the one the role's argument spec checked the
    value against (a value it does not know is false)."""
    return boolean(value, strict=False)


def names(hosts):
    """Hosts as a message lists them."""
    return ", ".join(hosts)
