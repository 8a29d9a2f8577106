#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

DOCUMENTATION = r"""
---
module: etcd_host_info
short_description: Read what an etcd member host already has, in one pass
version_added: 0.1.0
description:
  - Reports the version of the installed C(etcd) binary, whether the data directory already holds a
    member (its write-ahead log or snapshot directory), whether the service user and the systemd unit file
    exist, whether the service is active and enabled, and the highest open-file limit that systemd on the
    host can give a service.
  - Read-only. Uses only the Python standard library on the managed host.
options:
  bin_dir:
    description: Directory that holds the C(etcd) binary.
    type: path
    default: /usr/local/bin
  data_dir:
    description: The member's data directory.
    type: path
    required: true
  unit_path:
    description: Path of the member's systemd unit file.
    type: path
    default: /etc/systemd/system/etcd.service
  service:
    description: Name of the systemd service.
    type: str
    default: etcd
  user:
    description: Name of the service's system user.
    type: str
    default: etcd
  paths:
    description:
      - Paths to report on (existence, type, owner, group, mode, and the sha256 of files), for
        the P(dcs.etcd.etcd_files_differ#filter) filter.
    type: list
    elements: path
    default: []
  disk_check:
    description:
      - Also measure fdatasync latency on the file system of O(data_dir) (see M(dcs.etcd.etcd_disk_check)), in a
        temporary directory that is deleted afterwards; fio is used when installed. V(new) only when the data
        directory holds no etcd data, V(all) always, V(skip) never.
    type: str
    choices: [skip, new, all]
    default: skip
  check_v2store:
    description:
      - When the member holds data and its installed etcd is a 3.5 release, run C(etcdutl check v2store) on it
        (etcd's check before an upgrade to 3.6, from etcdutl 3.5.32) and return its verdict in RV(v2store).
    type: bool
    default: false
  backups:
    description:
      - For a status view (C(-t etcd_check)), what the host holds of a cluster's backups, returned in RV(backups).
      - C(dir), the backup directory; C(cluster), the cluster's name (its backups are C(CLUSTER-TIME.db) with their
        C(.json) sidecar); C(metrics_file), the scheduled backup's node_exporter textfile (optional).
    type: dict
  disk_check_size_mb:
    description: MiB the disk check writes.
    type: int
    default: 1
  config_path:
    description:
      - The member's etcd config file. Its top-level scalar settings are returned in RV(config), so a caller
        can tell what the running member was configured with (name, URLs, data directory).
    type: path
  package:
    description:
      - A Debian/Ubuntu package (such as C(etcd-server)) whose candidate version C(apt-cache policy) reports,
        returned in RV(package_candidate). That is the etcd version an install without a pinned version gets.
    type: str
  restart_paths:
    description:
      - Files the running service reads at start (config, unit, certificates). Any of them modified after
        the service's main process started (as systemd recorded it) is listed in RV(stale_reasons), since
        the process runs older files.
    type: list
    elements: path
    default: []
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Reading twice gives the same answer and changes nothing.
author:
  - dcs.etcd maintainers (@dcs-etcd)
"""

EXAMPLES = r"""
- name: Probe the host
  dcs.etcd.etcd_host_info:
    bin_dir: /usr/local/bin
    data_dir: /data/etcd
  register: probe

- name: Show whether this host already runs a member
  ansible.builtin.debug:
    msg: "{{ probe.version }} / initialized={{ probe.data_initialized }}"
"""

RETURN = r"""
v2store:
  description:
    - The verdict of C(etcdutl check v2store) (O(check_v2store)), or null when it did not run. C(clean) is true when
      etcd found no custom content in the v2 store and the WAL, false when it did (or the check failed), null when
      this etcdutl has no such check; C(answer) is what it printed.
  returned: always
  type: dict
backups:
  description:
    - With O(backups), the host's backups of the cluster, or null without it. C(count), the verified backups
      (snapshot and sidecar); C(newest), C(newest_created) (seconds since the epoch) and C(newest_size) (bytes) of
      the newest; C(metrics), the values of the scheduled backup's textfile by metric name.
  returned: always
  type: dict
  sample: {count: 3, newest: etcd-20261207T031502Z, newest_created: 1796613302, newest_size: 2134016, metrics: {}}
version:
  description: Version printed by C(etcd --version), or null when the binary is absent or does not run.
  returned: always
  type: str
  sample: 3.5.16
disk:
  description:
    - The disk check (O(disk_check)), or null when it did not run. C(fdatasync_p99_ms), C(method) (C(fio) or
      C(builtin)), C(samples), C(fs_bytes), C(used_percent), C(directory); C(error) when fio gave no figure.
  returned: always
  type: dict
data_initialized:
  description: The data directory holds a member (C(member/wal) or C(member/snap) exists).
  returned: always
  type: bool
data_dir_exists:
  description: The data directory exists.
  returned: always
  type: bool
unit_exists:
  description: The unit file exists.
  returned: always
  type: bool
user_exists:
  description: The service user exists.
  returned: always
  type: bool
service_active:
  description: C(systemctl is-active) says the service is active.
  returned: always
  type: bool
service_state:
  description:
    - What C(systemctl is-active) says, such as C(active), C(activating) (starting, or waiting to be
      restarted by systemd), C(inactive) or C(failed).
  returned: always
  type: str
  sample: active
data_dir_entries:
  description: Names in the data directory (its top level, sorted, at most 50); empty when it does not exist.
  returned: always
  type: list
  elements: str
  sample: [member]
package_candidate:
  description:
    - The upstream version (X.Y.Z) of O(package)'s candidate in the host's package lists, or null (no such
      package, or O(package) not given).
  returned: always
  type: str
  sample: 3.5.16
config:
  description:
    - Scalar settings of O(config_path) (etcd's flag names), values as written (JSON strings are decoded);
      top-level ones by name, those one level down in a section as C(section.key) (for example
      C(client-transport-security.client-cert-auth)); empty when the file does not exist or O(config_path)
      is not given.
  returned: always
  type: dict
  sample: {name: etcd-1, initial-advertise-peer-urls: "https://10.0.0.11:2380", data-dir: /data/etcd}
service_enabled:
  description: C(systemctl is-enabled) says the service is enabled.
  returned: always
  type: bool
paths:
  description: For each path of O(paths), what exists there.
  returned: always
  type: dict
  sample:
    /etc/etcd/etcd.conf: {exists: true, type: file, owner: root, group: etcd, mode: "0640", sha256: "9f86d0..."}
    /data/etcd: {exists: false}
default_ipv4:
  description:
    - Primary IPv4 address of the interface that holds the default IPv4 route (lowest metric), or null.
      Read from C(/proc/net/route) and C(ip -4 -o addr); no packet is sent.
  returned: always
  type: str
  sample: 10.0.0.11
service_stale:
  description:
    - The service is active but its main process runs outdated files, for example after a run that wrote
      them was interrupted before the restart. See RV(stale_reasons).
  returned: always
  type: bool
stale_reasons:
  description:
    - Why the running process is outdated, one entry each, for example C(binary replaced) (its executable
      was replaced or deleted since it started, as C(/proc/PID/exe) tells, or where that cannot be read, as in
      a container without C(CAP_SYS_PTRACE), the inode change time of C(bin_dir/etcd)) or
      C(/etc/etcd/etcd.conf modified after start).
  returned: always
  type: list
  elements: str
nofile_max:
  description:
    - Highest C(LimitNOFILE) systemd can set for a service. Where the service manager may raise limits
      (it holds CAP_SYS_RESOURCE) this is the kernel's C(fs.nr_open); otherwise its own hard limit.
  returned: always
  type: int
  sample: 1048576
"""

import json
import os
import pwd
import re
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils._backup import summary
from ansible_collections.dcs.etcd.plugins.module_utils._maintenance import measure_disk
from ansible_collections.dcs.etcd.plugins.module_utils._files import stat_path

CAP_SYS_RESOURCE = 24
VERSION_RE = re.compile(r"^etcd Version:\s*v?(\d+\.\d+\.\d+\S*)", re.MULTILINE)


def version_of_binary(output):
    """The version `etcd --version` printed (X.Y.Z and any suffix), or None; _backup.parse_version compares
    versions as tuples."""
    match = VERSION_RE.search(output or "")
    return match.group(1) if match else None


def parse_nofile_hard(limits_text):
    """Hard 'Max open files' from a /proc/<pid>/limits text, or None when unlimited or absent."""
    for line in (limits_text or "").splitlines():
        if line.startswith("Max open files"):
            fields = line.split()
            hard = fields[4] if len(fields) > 4 else ""
            return int(hard) if hard.isdigit() else None
    return None


def has_capability(status_text, cap):
    """Whether the CapEff line of a /proc/<pid>/status text has capability number cap."""
    for line in (status_text or "").splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> cap & 1)
    return False


def nofile_max(pid1_limits, pid1_status, nr_open):
    """Highest open-file limit the service manager (PID 1) can give a service."""
    if has_capability(pid1_status, CAP_SYS_RESOURCE) and nr_open:
        return nr_open
    hard = parse_nofile_hard(pid1_limits)
    if hard is None:
        return nr_open or 1048576
    return min(hard, nr_open) if nr_open else hard


def default_interface(route_text):
    """Interface of the default IPv4 route with the lowest metric, from a /proc/net/route text."""
    best = None
    for line in (route_text or "").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 6 and fields[1] == "00000000" and fields[7:8] == ["00000000"] and int(fields[3], 16) & 1:
            metric = int(fields[6])
            if best is None or metric < best[0]:
                best = (metric, fields[0])
    return best[1] if best else None


def first_ipv4(ip_addr_text):
    """First address of `ip -4 -o addr show dev X` output."""
    match = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", ip_addr_text or "")
    return match.group(1) if match else None


def default_ipv4(module):
    iface = default_interface(_read("/proc/net/route"))
    ip = module.get_bin_path("ip")
    if not iface or not ip:
        return None
    rc, out, err = module.run_command([ip, "-4", "-o", "addr", "show", "dev", iface])
    return first_ipv4(out) if rc == 0 else None


def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def user_exists(name):
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def systemctl_answer(module, verb, service):
    """What `systemctl VERB SERVICE` prints (is-active: active, activating, inactive, failed, ...)."""
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return ""
    rc, out, err = module.run_command([systemctl, verb, service])
    return out.strip()


CONFIG_LINE = re.compile(r"^([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)[ \t]*$")


NESTED_LINE = re.compile(r"^[ \t]+([A-Za-z][A-Za-z0-9-]*):[ \t]*(.*?)[ \t]*$")


def parse_config(text):
    """Scalar `key: value` lines of an etcd YAML config (as the role writes it, or another tool such as Pigsty):
    top-level ones by name, those of a section one level down as `section.key` (for example
    `client-transport-security.client-cert-auth`); lists are skipped. Values written as JSON strings are
    decoded."""
    config = {}
    section = None
    for line in (text or "").splitlines():
        match = CONFIG_LINE.match(line)
        nested = NESTED_LINE.match(line) if not match and section else None
        if match:
            section = match.group(1) if not match.group(2) else None
        if nested:
            match, prefix = nested, section + "."
        else:
            prefix = ""
        if not match or not match.group(2) or match.group(2).startswith(("#", "[", "{")):
            continue
        value = match.group(2)
        if value.startswith('"'):
            try:
                value = json.loads(value)
            except ValueError:
                pass
        config[prefix + match.group(1)] = value
    return config


CANDIDATE_RE = re.compile(r"^\s*Candidate:\s*(\S+)", re.MULTILINE)
UPSTREAM_RE = re.compile(r"^(?:\d+:)?(\d+\.\d+\.\d+)")


def parse_candidate(policy_text):
    """The upstream X.Y.Z of the candidate in `apt-cache policy PACKAGE` output, or None."""
    match = CANDIDATE_RE.search(policy_text or "")
    if not match or match.group(1) == "(none)":
        return None
    upstream = UPSTREAM_RE.match(match.group(1))
    return upstream.group(1) if upstream else None


def package_candidate(module, package):
    apt_cache = module.get_bin_path("apt-cache")
    if not package or not apt_cache:
        return None
    rc, out, err = module.run_command([apt_cache, "policy", package], environ_update={"LC_ALL": "C"})
    return parse_candidate(out) if rc == 0 else None


def directory_entries(path, limit=50):
    try:
        return sorted(os.listdir(path))[:limit]
    except OSError:
        return []


def process_start_epoch(stat_text, boot_seconds_now, now, ticks_per_second):
    """Wall-clock start time of a process from its /proc/<pid>/stat text, or None."""
    try:
        fields = stat_text.rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5); fields[0] is field 3
    except (IndexError, ValueError):
        return None
    return now - (boot_seconds_now - start_ticks / float(ticks_per_second))


def bus_unit_path(unit):
    """systemd's D-Bus object path of a unit (every byte but [A-Za-z0-9] escaped as _xx)."""
    return "/org/freedesktop/systemd1/unit/" + "".join(
        c if c.isascii() and c.isalnum() else "_%02x" % ord(c) for c in unit)


def parse_busctl(out):
    """Values of `busctl get-property ... ExecMainStartTimestamp MainPID` ("t 1700000000123456", "u 42")."""
    values = []
    for line in (out or "").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].isdigit():
            values.append(int(fields[1]))
    return values if len(values) == 2 else None


def main_process(module, service):
    """(PID, wall-clock start) of the service's main process, or (None, None). The start time is the one
    systemd recorded when it started the process, so a later step of the clock does not move it."""
    busctl = module.get_bin_path("busctl")
    if busctl:
        rc, out, err = module.run_command([busctl, "get-property", "org.freedesktop.systemd1",
                                           bus_unit_path(service + ".service"), "org.freedesktop.systemd1.Service",
                                           "ExecMainStartTimestamp", "MainPID"])
        values = parse_busctl(out) if rc == 0 else None
        if values:
            started_us, pid = values[0], values[1]
            return (pid, started_us / 1e6) if pid and started_us else (None, None)
    systemctl = module.get_bin_path("systemctl")
    if not systemctl:
        return None, None
    rc, out, err = module.run_command([systemctl, "show", "-p", "MainPID", "--value", service])
    pid = out.strip()
    if rc != 0 or not pid.isdigit() or pid == "0":
        return None, None
    return int(pid), process_start_epoch(_read("/proc/%s/stat" % pid), time.clock_gettime(time.CLOCK_BOOTTIME),
                                         time.time(), os.sysconf("SC_CLK_TCK"))


def binary_replaced(pid, started, binary):
    """Whether the process runs an executable that was replaced since it started. /proc/PID/exe tells it
    (" (deleted)") where this user may read it; without CAP_SYS_PTRACE (a container's root, a hardened host) it
    may not, and then the binary's inode change time does: installing one (written beside it, renamed over it)
    sets it, and nothing else the role does to the binary changes it once installed."""
    try:
        return os.readlink("/proc/%d/exe" % pid).endswith(" (deleted)")
    except OSError:
        pass
    if started is None or not binary:
        return False
    try:
        return os.stat(binary).st_ctime > started
    except OSError:
        return False


def stale_reasons(module, service, restart_paths, binary=None):
    """Why the service's running main process is older than its binary or the files it read at start."""
    pid, started = main_process(module, service)
    if pid is None:
        return []
    reasons = []
    if binary_replaced(pid, started, binary):
        reasons.append("binary replaced")
    if started is None:
        return reasons
    for path in restart_paths:
        try:
            if os.stat(path).st_mtime > started:
                reasons.append("%s modified after start" % path)
        except OSError:
            pass
    return reasons


V2STORE_CLEAN = "No custom content found"


def check_v2store(module, etcdutl, data_dir):
    """etcd's check before 3.6 (`etcdutl check v2store`, 3.5.32 and later; it reads the v2 snapshot and the WAL
    of the data directory, also while etcd runs): dict(clean=True/False, or None when it could not tell, answer)."""
    if not os.access(etcdutl, os.X_OK):
        return dict(clean=None, answer="%s does not exist" % etcdutl)
    rc, out, err = module.run_command([etcdutl, "check", "v2store", "--data-dir", data_dir])
    answer = (out or err or "").strip()
    if rc == 0 and V2STORE_CLEAN in out:
        return dict(clean=True, answer=answer)
    if "unknown command" in (err or "") or "unknown flag" in (err or ""):
        return dict(clean=None, answer="this etcdutl has no `check v2store` (3.5.32 and later have): %s" % answer)
    return dict(clean=False, answer=answer or "exit status %d" % rc)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            bin_dir=dict(type="path", default="/usr/local/bin"),
            data_dir=dict(type="path", required=True),
            unit_path=dict(type="path", default="/etc/systemd/system/etcd.service"),
            service=dict(type="str", default="etcd"),
            user=dict(type="str", default="etcd"),
            paths=dict(type="list", elements="path", default=[]),
            restart_paths=dict(type="list", elements="path", default=[]),
            config_path=dict(type="path"),
            package=dict(type="str"),
            disk_check=dict(type="str", choices=["skip", "new", "all"], default="skip"),
            disk_check_size_mb=dict(type="int", default=1),
            check_v2store=dict(type="bool", default=False),
            backups=dict(type="dict"),
        ),
        supports_check_mode=True,
    )
    etcd = os.path.join(module.params["bin_dir"], "etcd")
    version = None
    if os.access(etcd, os.X_OK):
        rc, out, err = module.run_command([etcd, "--version"])
        if rc == 0:
            version = version_of_binary(out)
    data_dir = module.params["data_dir"]
    member = os.path.join(data_dir, "member")
    nr_open = _read("/proc/sys/fs/nr_open").strip()
    state = systemctl_answer(module, "is-active", module.params["service"])
    # A starting member (activating) has a process to compare too.
    reasons = stale_reasons(module, module.params["service"], module.params["restart_paths"], etcd) \
        if state in ("active", "activating", "reloading") else []
    initialized = os.path.isdir(os.path.join(member, "wal")) or os.path.isdir(os.path.join(member, "snap"))
    disk = None
    # Before etcd lands on a disk (in the same module run, no round trip of its own): never on a member that
    # holds data unless asked (its disk is busy with etcd).
    if module.params["disk_check"] == "all" or (module.params["disk_check"] == "new" and not initialized):
        disk = measure_disk(module, data_dir, module.params["disk_check_size_mb"], module.get_bin_path("fio"))
    v2store = None
    # Only etcd 3.5's etcdutl has the check (3.5.32 and later); 3.6 dropped it.
    if module.params["check_v2store"] and initialized and str(version or "").startswith("3.5."):
        v2store = check_v2store(module, os.path.join(module.params["bin_dir"], "etcdutl"), data_dir)
    backups = module.params["backups"]
    module.exit_json(
        backups=summary(str(backups.get("dir") or ""), str(backups.get("cluster") or ""), backups.get("metrics_file") or None)
        if backups else None,
        disk=disk,
        v2store=v2store,
        changed=False,
        version=version,
        data_dir_exists=os.path.isdir(data_dir),
        data_initialized=initialized,
        unit_exists=os.path.exists(module.params["unit_path"]),
        user_exists=user_exists(module.params["user"]),
        service_active=state == "active",
        service_state=state or "unknown",
        service_stale=bool(reasons),
        stale_reasons=reasons,
        service_enabled=systemctl_answer(module, "is-enabled", module.params["service"]) == "enabled",
        data_dir_entries=directory_entries(data_dir),
        config=parse_config(_read(module.params["config_path"])) if module.params["config_path"] else {},
        package_candidate=package_candidate(module, module.params["package"]),
        paths=dict((path, stat_path(path)) for path in module.params["paths"]),
        default_ipv4=default_ipv4(module),
        nofile_max=nofile_max(_read("/proc/1/limits"), _read("/proc/1/status"),
                              int(nr_open) if nr_open.isdigit() else None),
    )


if __name__ == "__main__":
    main()
