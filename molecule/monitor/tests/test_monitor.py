"""The members, registered by ./etcd.yml, as a real Prometheus sees them (Debian 12's package, on the
scenario's monitoring host): every member scraped (over mutual TLS, and member 2 over its own HTTP metrics
listener), the rules loaded, the member-down alert firing while a member is stopped and resolved once it
is back, a re-run that changes nothing, and a removed member's target gone from Prometheus."""
import json
import os
import pathlib
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "shared"))

from ops import changes, playbook, ssh  # noqa: E402

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
MEMBERS = ["10.89.79.1%d" % i for i in (1, 2, 3)]
PROMETHEUS = "http://10.89.79.14:9090"


def api(path, **params):
    url = "%s/api/v1/%s?%s" % (PROMETHEUS, path, urllib.parse.urlencode(params))
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())["data"]


def wait(what, check, timeout=90):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "still not the case after %ss: %s" % (timeout, what)
        time.sleep(2)


def up():
    return {r["metric"]["ins"]: (r["metric"]["instance"], r["value"][1])
            for r in api("query", query='up{job="etcd", cls="etcd"}')["result"]}


def firing(alertname):
    return [a["labels"].get("ins") for a in api("alerts")["alerts"]
            if a["labels"]["alertname"] == alertname and a["state"] == "firing"]


def all_up():
    seen = up()
    return seen if len(seen) == 3 and all(value == "1" for _instance, value in seen.values()) else None


def test_01_every_member_is_scraped():
    seen = wait("every member up", all_up)
    assert seen["etcd-1"][0] == "10.89.79.11:2379" and seen["etcd-3"][0] == "10.89.79.13:2379"
    # Member 2 serves its metrics on its own plain-HTTP listener, on the member's address.
    assert seen["etcd-2"][0] == "10.89.79.12:2381"


def test_02_the_rules_are_loaded_and_evaluate():
    groups = wait("the rules evaluated", lambda: [g for g in api("rules")["groups"] if g["name"].startswith("etcd-etcd")
                                                  and all(r.get("health") == "ok" for r in g["rules"])])
    assert sorted(g["name"] for g in groups) == ["etcd-etcd-alerts", "etcd-etcd-records"]
    alerts = [r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"]
    assert len(alerts) == 16 and "EtcdNoLeader" in alerts and "EtcdBackupOffsiteFailed" in alerts
    # The rules may first evaluate before every member was scraped once: wait for the count of all three.
    members_up = wait("the recording rule counting 3 members", lambda: [
        r for r in api("query", query="etcd_cluster:members_up:count")["result"] if r["value"][1] == "3"])
    assert members_up[0]["value"][1] == "3"
    # --metrics extensive: the gRPC handling-time histograms are there.
    assert api("query", query='count(grpc_server_handling_seconds_bucket{job="etcd"})')["result"]


def test_03_the_scrape_key_is_readable_by_prometheus_only():
    assert ssh("10.89.79.14", "stat -c '%a %U %G' /etc/prometheus/etcd/etcd/client.key").strip() == "640 root prometheus"
    subject = ssh("10.89.79.14", "openssl x509 -noout -subject -ext extendedKeyUsage -in /etc/prometheus/etcd/etcd/client.crt",
                  check=False)
    assert "prometheus-etcd" in subject and "TLS Web Client Authentication" in subject
    assert "Server" not in subject


def test_04_a_stopped_member_raises_the_member_down_alert_until_it_is_back():
    ssh(MEMBERS[2], "systemctl stop etcd")
    try:
        assert wait("EtcdMemberDown firing", lambda: firing("EtcdMemberDown")) == ["etcd-3"]
        assert not firing("EtcdNoLeader") and not firing("EtcdInsufficientMembers")
    finally:
        ssh(MEMBERS[2], "systemctl start etcd")
    wait("EtcdMemberDown resolved", lambda: not firing("EtcdMemberDown"))


def test_05_a_rerun_changes_nothing():
    assert changes(playbook(INVENTORY)) == 0


def test_06_a_removed_member_is_no_longer_a_target():
    playbook(INVENTORY, "-l", MEMBERS[2], "-t", "etcd_clean")
    assert ssh("10.89.79.14", "ls /etc/prometheus/targets/etcd").split() == ["etcd-1.yml", "etcd-2.yml"]
    wait("etcd-3 gone from the targets", lambda: sorted(t["labels"]["ins"] for t in api("targets")["activeTargets"])
         == ["etcd-1", "etcd-2"])
