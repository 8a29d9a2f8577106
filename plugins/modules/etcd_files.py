#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_files
short_description: Write a member's directories and files in one pass
version_added: 0.1.0
description:
  - Ensures directories and files with the given content, owner, group and mode, all in one module run,
    so that converging a member costs one round trip instead of one or two per file.
  - A file is rewritten (atomically, through a temporary file in the same directory) only when its content
    differs; ownership and mode are corrected only when they differ.
  - The content of O(secret_files) is never logged or shown in a diff.
  - A file is written to a temporary file that has its final owner, group and mode before it replaces the
    old one, so a private key never exists with a wider mode, not even for a moment.
  - Entries with empty content are refused before anything is written (a certificate or key that could not
    be read on the controller must not reach a member as an empty file).
options:
  directories:
    description: Directories to create, with their ownership and mode. Missing parents are created C(0755).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owner name.
        type: str
      group:
        description: Group name.
        type: str
      mode:
        description: Mode, as an octal string such as C("0750").
        type: raw
  files:
    description: Files whose content may be shown in a diff.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path. The parent directory must exist (list it in O(directories) if needed).
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      owner:
        description: Owner name.
        type: str
      group:
        description: Group name.
        type: str
      mode:
        description: Mode, as an octal string such as C("0640").
        type: raw
  secret_files:
    description: Files such as private keys; as O(files), but their content is kept out of logs and diffs.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      owner:
        description: Owner name.
        type: str
      group:
        description: Group name.
        type: str
      mode:
        description: Mode, as an octal string such as C("0600").
        type: raw
  lines:
    description:
      - Lines to set in files that already exist, keeping the rest of each file, its owner and its mode.
        Every line matching O(lines[].regexp) is replaced by O(lines[].line). A file that does not exist, or
        has no matching line, is left alone.
      - Applied after O(directories), O(files) and O(secret_files).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      regexp:
        description: Python regular expression matched against each line (without its newline).
        type: str
        required: true
      line:
        description: The line that replaces each matching line.
        type: str
        required: true
  absent:
    description:
      - Paths to remove, files or whole directory trees, before anything else is written. A path that
        does not exist is left alone.
    type: list
    elements: path
    default: []
  rmdir:
    description:
      - Directories to remove after O(absent), only when they are empty. A directory that still holds
        anything is kept, and listed in RV(kept). Lets a caller delete what it owns inside a directory (for
        example etcd's C(member) directory) without ever deleting what others put beside it.
    type: list
    elements: path
    default: []
  exclusive:
    description:
      - Directories in which this call's O(files) are the only files whose names match a pattern. After the
        writes, every other file there whose name matches is removed; other files are left alone. Keeps, for
        example, one file per member of a cluster in a Prometheus target directory, and nothing for the
        members that left.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The directory (it may not exist, then there is nothing to remove).
        type: path
        required: true
      regexp:
        description: Python regular expression matched against the file names in O(exclusive[].path).
        type: str
        required: true
      keep:
        description: Paths that stay although this call does not write them (files it does not know the content of).
        type: list
        elements: path
        default: []
  restart_paths:
    description:
      - Files the program that reads them loads only at start (config, unit, certificates). RV(restart_needed)
        tells whether one of them changed in a way that matters to the running program (not only in
        O(minor_lines)).
    type: list
    elements: path
    default: []
  minor_lines:
    description:
      - Regular expressions for lines whose change does not matter to the program that reads the file.
        A changed file whose changed lines all match one of them is listed in RV(minor_paths), so the
        caller can skip a restart, and keeps its modification time, so it does not look newer than the
        running program either (see the O(dcs.etcd.etcd_host_info#module:restart_paths) option).
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    description: Reports what would change and writes nothing.
  diff_mode:
    support: full
    description: Content diffs for O(files), and owner, group and mode changes.
    details: Secret files show only that they changed.
  idempotent:
    support: full
    description: A second run with the same arguments changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Write the member config and key
  dcs.etcd.etcd_files:
    directories:
      - {path: /etc/etcd, owner: root, group: etcd, mode: "0750"}
    files:
      - path: /etc/etcd/etcd.conf
        content: "{{ lookup('ansible.builtin.template', 'etcd.conf.j2') }}"
        owner: root
        group: etcd
        mode: "0640"
    secret_files:
      - path: /etc/etcd/server.key
        content: "{{ lookup('ansible.builtin.file', 'pki/members/' ~ inventory_hostname ~ '.key') }}"
        owner: etcd
        group: etcd
        mode: "0600"
"""

RETURN = r"""
minor_paths:
  description: Changed paths whose changed lines all match O(minor_lines).
  returned: always
  type: list
  elements: str
restart_needed:
  description: A path of O(restart_paths) changed in more than its O(minor_lines).
  returned: always
  type: bool
kept:
  description: Directories of O(rmdir) that were not removed because they are not empty, with what they hold.
  returned: always
  type: list
  elements: dict
  sample: [{path: /data/etcd, entries: [notes.txt]}]
changed_paths:
  description: Paths created or changed (content, owner, group or mode), in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/etcd/etcd.conf]
"""

import difflib
import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._files import normalize, write_atomically

_ENTRY = dict(
    path=dict(type="path", required=True),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw"),
)


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def ensure_attributes(module, entry, diff):
    args = module.load_file_common_arguments(dict(path=entry["path"], owner=entry.get("owner"),
                                                  group=entry.get("group"), mode=entry.get("mode")))
    return module.set_fs_attributes_if_different(args, False, diff)


def ensure_directory(module, entry, diffs):
    path = entry["path"]
    changed = False
    diff = dict(before=dict(path=path), after=dict(path=path))
    if not os.path.isdir(path):
        if os.path.exists(path):
            module.fail_json(msg="%s exists and is not a directory" % path)
        changed = True
        diff["before"]["state"], diff["after"]["state"] = "absent", "directory"
        if module.check_mode:
            diffs.append(diff)
            return True
        os.makedirs(path, 0o755)
    changed = ensure_attributes(module, entry, diff) or changed
    if changed:
        diffs.append(diff)
    return changed


def only_minor_lines(before, after, patterns):
    """Whether every line removed or added between two texts matches one of patterns."""
    if before is None or not patterns:
        return False
    old, new = before.splitlines(), after.splitlines()
    changed = [line for line in difflib.ndiff(old, new) if line[:2] in ("- ", "+ ")]
    return all(any(re.search(p, line[2:]) for p in patterns) for line in changed)


def ensure_file(module, entry, secret, diffs, minor):
    path = entry["path"]
    wanted = normalize(entry["content"])
    current = read_bytes(path)
    label = dict(before_header=path, after_header=path)
    changed = current != wanted
    if changed and not secret and only_minor_lines(
            None if current is None else current.decode("utf-8", "replace"), wanted.decode("utf-8", "replace"),
            module.params["minor_lines"]):
        minor.append(path)
    if changed:
        if secret:
            diffs.append(dict(label, before="(secret content)\n" if current is not None else "",
                              after="(new secret content)\n"))
        else:
            diffs.append(dict(label, before=(current or b"").decode("utf-8", "replace"),
                              after=wanted.decode("utf-8", "replace")))
        if module.check_mode:
            return True
        if not os.path.isdir(os.path.dirname(path)):
            module.fail_json(msg="directory of %s does not exist" % path)
        write_keeping_mtime(module, path, wanted, path in minor, entry)
    attr_diff = dict(before=dict(path=path), after=dict(path=path))
    if current is None and module.check_mode:
        return changed
    if ensure_attributes(module, entry, attr_diff):
        diffs.append(attr_diff)
        changed = True
    return changed


def ensure_absent(module, path, diffs):
    if not os.path.lexists(path):
        return False
    is_dir = os.path.isdir(path) and not os.path.islink(path)
    diffs.append(dict(before=dict(path=path, state="directory" if is_dir else "file"), after=dict(path=path, state="absent")))
    if not module.check_mode:
        if is_dir:
            shutil.rmtree(path)
        else:
            os.unlink(path)
    return True


def ensure_rmdir(module, path, diffs, kept):
    """Remove a directory only when it is empty; a directory that holds anything is kept and reported."""
    if not os.path.isdir(path) or os.path.islink(path):
        return False
    left = sorted(os.listdir(path))
    if left:
        kept.append(dict(path=path, entries=left[:20]))
        return False
    diffs.append(dict(before=dict(path=path, state="directory"), after=dict(path=path, state="absent")))
    if not module.check_mode:
        os.rmdir(path)
    return True


def ensure_exclusive(module, spec, written, diffs):
    """Remove the files of a directory whose names match spec's pattern, except those written."""
    directory, pattern = spec["path"], re.compile(spec["regexp"])
    if not os.path.isdir(directory):
        return []
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if pattern.search(name) and path not in written and path not in (spec.get("keep") or []) \
                and os.path.isfile(path) and not os.path.islink(path):
            diffs.append(dict(before=dict(path=path, state="file"), after=dict(path=path, state="absent")))
            if not module.check_mode:
                os.unlink(path)
            removed.append(path)
    return removed


def empty_entries(entries):
    """Paths of file entries whose content is empty or blank."""
    return [e["path"] for e in entries if not (e.get("content") or "").strip()]


def edit_lines(text, edits):
    """text with every line matching an edit's regexp replaced by its line."""
    out = []
    for line in text.split("\n"):
        for edit in edits:
            if re.search(edit["regexp"], line):
                line = edit["line"]
        out.append(line)
    return "\n".join(out)


def write_keeping_mtime(module, path, data, keep, entry=None):
    """Write path (with the entry's owner, group and mode from the start); when keep, give it back its
    modification time (a minor change)."""
    before = os.stat(path) if keep else None
    entry = entry or {}
    write_atomically(module, path, data, mode=entry.get("mode"), owner=entry.get("owner"), group=entry.get("group"))
    if before is not None:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def ensure_lines(module, path, edits, diffs, minor):
    current = read_bytes(path)
    if current is None:
        return False
    before = current.decode("utf-8", "replace")
    after = edit_lines(before, edits)
    if after == before:
        return False
    diffs.append(dict(before_header=path, after_header=path, before=before, after=after))
    is_minor = only_minor_lines(before, after, module.params["minor_lines"])
    if is_minor and path not in minor:
        minor.append(path)
    if not module.check_mode:
        write_keeping_mtime(module, path, after.encode("utf-8"), is_minor)
    return True


def main():
    file_entry = dict(_ENTRY, content=dict(type="str", required=True))
    secret_entry = dict(_ENTRY, content=dict(type="str", required=True, no_log=True))
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="dict", default=[], options=_ENTRY),
            files=dict(type="list", elements="dict", default=[], options=file_entry),
            # Only the content of a secret file is secret (its sub-option has no_log).
            secret_files=dict(type="list", elements="dict", default=[], options=secret_entry, no_log=False),
            lines=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True), regexp=dict(type="str", required=True),
                line=dict(type="str", required=True))),
            minor_lines=dict(type="list", elements="str", default=[]),
            absent=dict(type="list", elements="path", default=[]),
            rmdir=dict(type="list", elements="path", default=[]),
            exclusive=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True), regexp=dict(type="str", required=True),
                keep=dict(type="list", elements="path", default=[]))),
            restart_paths=dict(type="list", elements="path", default=[]),
        ),
        supports_check_mode=True,
    )
    # A certificate or key that could not be read on the controller arrives empty: never write it.
    empty = empty_entries(module.params["files"] + module.params["secret_files"])
    if empty:
        module.fail_json(msg="refusing to write empty content to %s (was a certificate or key missing on the "
                             "controller?); nothing was changed" % ", ".join(empty))
    diffs = []
    kept = []
    changed_paths = []
    minor_paths = []
    for path in module.params["absent"]:
        if ensure_absent(module, path, diffs):
            changed_paths.append(path)
    for path in module.params["rmdir"]:
        if ensure_rmdir(module, path, diffs, kept):
            changed_paths.append(path)
    for entry in module.params["directories"]:
        if ensure_directory(module, entry, diffs):
            changed_paths.append(entry["path"])
    for key, secret in (("files", False), ("secret_files", True)):
        for entry in module.params[key]:
            if ensure_file(module, entry, secret, diffs, minor_paths):
                changed_paths.append(entry["path"])
    by_path = {}
    for edit in module.params["lines"]:
        by_path.setdefault(edit["path"], []).append(edit)
    for path, edits in by_path.items():
        if ensure_lines(module, path, edits, diffs, minor_paths) and path not in changed_paths:
            changed_paths.append(path)
    written = set(entry["path"] for entry in module.params["files"] + module.params["secret_files"])
    for spec in module.params["exclusive"]:
        changed_paths.extend(ensure_exclusive(module, spec, written, diffs))
    restart_paths = set(module.params["restart_paths"])
    restart_needed = bool([p for p in changed_paths if p in restart_paths and p not in minor_paths])
    result = dict(changed=bool(changed_paths), changed_paths=changed_paths, minor_paths=minor_paths,
                  restart_needed=restart_needed, kept=kept)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
