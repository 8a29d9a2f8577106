# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: how member files are hashed, compared and written, shared by the
etcd_files, etcd_binaries and etcd_host_info modules (on the member) and the etcd_files_differ filter and
file_sha256 lookup (on the controller), so that the controller decides exactly as the module would
whether a write is needed."""

from __future__ import annotations

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


def file_sha256(path):
    """Hex SHA-256 of a regular file's content, or None when path is not a regular file."""
    if not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_atomically(module, path, data):
    """Replace path with data: written beside it, then moved over it by the module (keeps SELinux context)."""
    fd, tmp = tempfile.mkstemp(prefix=".", suffix=".tmp", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        module.atomic_move(tmp, path, unsafe_writes=False)
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
