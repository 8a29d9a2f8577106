# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: how member files are hashed, compared and written, shared by the
etcd_files, etcd_binaries and etcd_host_info modules (on the member) and the etcd_files_differ filter and
file_sha256 lookup (on the controller), so that the controller decides exactly as the module would
whether a write is needed."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import grp
import hashlib
import os
import pwd
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes


def normalize(content):
    """Content as written: bytes ending with exactly one newline."""
    return to_bytes(content, errors="surrogate_or_strict").rstrip(b"\n") + b"\n"


def content_sha256(content):
    return hashlib.sha256(normalize(content)).hexdigest()


def delivered_sha256(path):
    """SHA-256 of a controller file as a member receives it (read with the file lookup, which strips trailing
    whitespace, then written by etcd_files, which ends it with one newline), or None when it is not a file."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        return content_sha256(handle.read().rstrip())


def file_sha256(path):
    """Hex SHA-256 of a regular file's content, or None when path is not a regular file."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ident(value, lookup, field):
    """A user or group ID from a name (or a number given as one); -1 (leave as is) when unknown or None."""
    if value is None:
        return -1
    try:
        return getattr(lookup(str(value)), field)
    except KeyError:
        return int(value) if str(value).isdigit() else -1


def write_atomically(module, path, data, mode=None, owner=None, group=None):
    """Replace path with data. The data goes into a temporary file beside path, created 0600, which gets its
    final owner, group and mode (those given, else the existing file's, else root and 0644) and is flushed to
    disk before it is renamed over path: the file never exists with other permissions or half written, not
    even for a moment (a private key is never readable by others)."""
    directory = os.path.dirname(path)
    try:
        current = os.stat(path)
    except OSError:
        current = None
    wanted_mode = _mode(mode) if mode is not None else (stat.S_IMODE(current.st_mode) if current else 0o644)
    uid = _ident(owner, pwd.getpwnam, "pw_uid") if owner is not None else (current.st_uid if current else -1)
    gid = _ident(group, grp.getgrnam, "gr_gid") if group is not None else (current.st_gid if current else -1)
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            if uid != -1 or gid != -1:
                os.fchown(handle.fileno(), uid, gid)
            os.fchmod(handle.fileno(), wanted_mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        if module is not None and module.selinux_enabled():
            module.set_context_if_different(path, module.selinux_default_context(path), False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def stat_path(path):
    """What the controller needs to know of a path to decide whether it must be written."""
    try:
        st = os.lstat(path)
    except OSError:
        return dict(exists=False)
    info = dict(
        exists=True,
        type="directory" if stat.S_ISDIR(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other",
        owner=_name(pwd.getpwuid, st.st_uid),
        group=_name(grp.getgrgid, st.st_gid),
        mode="%04o" % stat.S_IMODE(st.st_mode),
    )
    if info["type"] == "file":
        info["sha256"] = file_sha256(path)
    return info


def _mode(value):
    if value is None:
        return None
    return int(str(value), 8) if isinstance(value, str) else int(value)


def entry_differs(entry, probed):
    """Whether writing entry (path, optional content, owner, group, mode) would change what was probed."""
    if not probed or not probed.get("exists"):
        return True
    wanted_type = "file" if "content" in entry and entry["content"] is not None else "directory"
    if probed.get("type") != wanted_type:
        return True
    if wanted_type == "file" and probed.get("sha256") != content_sha256(entry["content"]):
        return True
    for key in ("owner", "group"):
        if entry.get(key) is not None and str(entry[key]) != probed.get(key):
            return True
    if entry.get("mode") is not None and _mode(entry["mode"]) != _mode(probed.get("mode")):
        return True
    return False
