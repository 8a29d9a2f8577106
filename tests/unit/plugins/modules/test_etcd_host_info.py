"""Parsing in etcd_host_info; the inputs are what etcd and Linux print."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import os
import time

from ansible_collections.dcs.etcd.plugins.modules import etcd_host_info
from ansible_collections.dcs.etcd.plugins.modules.etcd_host_info import (
    binary_replaced,
    default_interface,
    first_ipv4,
    has_capability,
    nofile_max,
    parse_nofile_hard,
    version_of_binary,
    bus_unit_path,
    parse_busctl,
    process_start_epoch,
)

# `etcd --version` of etcd 3.4.23 (Debian 12 package) and 3.5.1 (upstream build).
VERSION_34 = "etcd Version: 3.4.23\nGit SHA: Not provided (use ./build instead of go build)\nGo Version: go1.19.8\nGo OS/Arch: linux/amd64\n"
VERSION_35 = "etcd Version: 3.5.1\nGit SHA: e8732fb5f\nGo Version: go1.16.3\nGo OS/Arch: linux/amd64\n"

LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
"""


def test_the_version_of_a_binary_is_read_from_its_output():
    assert version_of_binary(VERSION_34) == "3.4.23"
    assert version_of_binary(VERSION_35) == "3.5.1"
    assert version_of_binary("garbage") is None


def test_nofile_from_pid1():
    assert parse_nofile_hard(LIMITS) == 20000
    assert parse_nofile_hard(LIMITS.replace("20000                20000", "1024 unlimited")) is None


def test_capability_decides_between_nr_open_and_pid1_limit():
    with_resource = "CapEff:\t000001ffffffffff\n"
    without = "CapEff:\t00000000a80425fb\n"
    assert has_capability(with_resource, 24) and not has_capability(without, 24)
    assert nofile_max(LIMITS, with_resource, 1048576) == 1048576
    assert nofile_max(LIMITS, without, 1048576) == 20000


ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_default_ipv4_comes_from_the_lowest_metric_default_route():
    assert default_interface(ROUTES) == "eth0"
    assert default_interface(ROUTES.splitlines()[0] + "\n") is None
    text = "4: eth0    inet 192.0.2.2/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever"
    assert first_ipv4(text) == "192.0.2.2"
    assert first_ipv4("") is None


# /proc/<pid>/stat of an etcd process (the command name may hold spaces and parentheses).
STAT = ("4242 (etcd (x) y) S 1 4242 4242 0 -1 4194560 5000 0 0 0 120 40 0 0 20 0 12 0 "
        "123456 1000000 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0")


def test_process_start_from_proc_stat():
    # Started 1234.56 s after boot; the host has been up 2000 s; it is now 1e9.
    assert abs(process_start_epoch(STAT, 2000.0, 1e9, 100) - (1e9 - (2000.0 - 1234.56))) < 1e-6
    assert process_start_epoch("garbage", 2000.0, 1e9, 100) is None


def test_main_process_from_busctl():
    assert bus_unit_path("etcd.service") == "/org/freedesktop/systemd1/unit/etcd_2eservice"
    assert bus_unit_path("my-etcd@a.service") == "/org/freedesktop/systemd1/unit/my_2detcd_40a_2eservice"
    # busctl 252 (Debian 12) for a running and for a stopped service.
    assert parse_busctl("t 1763796481123456\nu 4242\n") == [1763796481123456, 4242]
    assert parse_busctl("t 0\nu 0\n") == [0, 0]
    assert parse_busctl("Failed to get property") is None


def test_parse_config_reads_what_the_role_writes():
    from ansible_collections.dcs.etcd.plugins.modules.etcd_host_info import parse_config
    text = ('# Ansible managed\nname: "etcd-1"\ndata-dir: "/data/etcd"\n'
            'initial-advertise-peer-urls: "https://10.0.0.11:2380"\nadvertise-client-urls: "https://10.0.0.11:2379"\n'
            'initial-cluster-state: new\nheartbeat-interval: 100\nlog-outputs: [stderr]\n'
            'client-transport-security:\n  cert-file: /etc/etcd/server.crt\n')
    config = parse_config(text)
    assert config == {"name": "etcd-1", "data-dir": "/data/etcd", "initial-advertise-peer-urls": "https://10.0.0.11:2380",
                      "advertise-client-urls": "https://10.0.0.11:2379", "initial-cluster-state": "new",
                      "heartbeat-interval": "100", "client-transport-security.cert-file": "/etc/etcd/server.crt"}
    assert parse_config("") == {} and parse_config(None) == {}


def test_parse_config_reads_the_tls_sections_of_a_pigsty_config():
    # Pigsty v4.5's etcd.conf (its template's keys): TLS on both ports without client-cert-auth.
    from ansible_collections.dcs.etcd.plugins.modules.etcd_host_info import parse_config
    text = ('name: etcd-1\ndata-dir: /data/etcd\ninitial-cluster-token: "etcd"\nquota-backend-bytes: 8589934592\n'
            'client-transport-security:\n  cert-file: /etc/etcd/server.crt\n  key-file: /etc/etcd/server.key\n'
            '  trusted-ca-file: /etc/etcd/ca.crt\npeer-transport-security:\n  cert-file: /etc/etcd/server.crt\n'
            '#enable-v2: true\n')
    config = parse_config(text)
    assert config["client-transport-security.trusted-ca-file"] == "/etc/etcd/ca.crt"
    assert config["peer-transport-security.cert-file"] == "/etc/etcd/server.crt"
    assert "client-transport-security.client-cert-auth" not in config and config["quota-backend-bytes"] == "8589934592"
    ours = parse_config("client-transport-security:\n  client-cert-auth: true\nname: etcd-1\n  stray: 1\n")
    assert ours == {"client-transport-security.client-cert-auth": "true", "name": "etcd-1"}


def test_parse_candidate_of_apt_cache_policy():
    from ansible_collections.dcs.etcd.plugins.modules.etcd_host_info import parse_candidate
    # Debian 12's and Debian 13's etcd-server, as `apt-cache policy` prints them.
    bookworm = ("etcd-server:\n  Installed: (none)\n  Candidate: 3.4.23-4+b5\n  Version table:\n"
                "     3.4.23-4+b5 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n")
    trixie = "etcd-server:\n  Installed: 3.5.16-4\n  Candidate: 3.5.16-4\n"
    assert parse_candidate(bookworm) == "3.4.23"
    assert parse_candidate(trixie) == "3.5.16"
    assert parse_candidate("etcd-server:\n  Installed: (none)\n  Candidate: (none)\n") is None
    assert parse_candidate("1:3.5.9+dfsg-1") is None and parse_candidate("  Candidate: 1:3.5.9+dfsg-1") == "3.5.9"
    assert parse_candidate("") is None


def test_a_replaced_binary_is_found_where_proc_exe_cannot_be_read(tmp_path, monkeypatch):
    """Issue 21: a patch upgrade killed after its first restart left two members running the old process of a
    replaced binary. In a container without CAP_SYS_PTRACE, root may not read /proc/PID/exe of etcd's process
    (another user): the probe found no reason to restart them, and no later run finished the upgrade."""
    binary = tmp_path / "etcd"
    binary.write_text("new etcd")
    installed = os.stat(str(binary)).st_ctime

    def refused(path):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(etcd_host_info.os, "readlink", refused)
    # Started before the binary was installed: an upgrade in progress.
    assert binary_replaced(4242, installed - 60, str(binary))
    # Started after it: the process runs that binary.
    assert not binary_replaced(4242, installed + 1, str(binary))
    # Nothing to compare with: no start time, no binary.
    assert not binary_replaced(4242, None, str(binary))
    assert not binary_replaced(4242, installed - 60, str(tmp_path / "missing"))


def test_proc_exe_decides_where_it_can_be_read(tmp_path, monkeypatch):
    binary = tmp_path / "etcd"
    binary.write_text("etcd")
    monkeypatch.setattr(etcd_host_info.os, "readlink", lambda path: "/usr/local/bin/etcd (deleted)")
    assert binary_replaced(4242, time.time() + 60, str(binary))
    monkeypatch.setattr(etcd_host_info.os, "readlink", lambda path: "/usr/local/bin/etcd")
    assert not binary_replaced(4242, os.stat(str(binary)).st_ctime - 60, str(binary))
