"""The Prometheus rules the register stage installs, checked and unit-tested with Debian 12's real promtool
(`tests/testbed/testbed.py promtool`): every alert fires after its `for` and stays silent on healthy series
(tests/integration/prometheus/etcd-rules.test.yml). The template is rendered with the role's defaults, as
the role renders it (Jinja with trim_blocks)."""
import pathlib
import shutil
import subprocess
import sys

import jinja2
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "etcd"
HERE = pathlib.Path(__file__).resolve().parent / "prometheus"
ALERTS = ["EtcdMemberDown", "EtcdNoLeader", "EtcdInsufficientMembers", "EtcdFrequentLeaderChanges",
          "EtcdFailedProposals", "EtcdSlowFsync", "EtcdSlowCommit", "EtcdDatabaseQuotaNearlyFull",
          "EtcdFastDatabaseGrowth", "EtcdHighFragmentation", "EtcdNoSpace", "EtcdCertificateExpiring",
          "EtcdBackupTooOld", "EtcdBackupFailed", "EtcdBackupOffsiteFailed", "EtcdBackupOffsiteTooOld"]


def promtool():
    out = subprocess.run([sys.executable, str(ROOT / "tests/testbed/testbed.py"), "promtool"], check=True,
                         capture_output=True, text=True).stdout.split()
    return out[0]


def render_rules(cluster="etcd", certificates=None, **overrides):
    """The rules file as the role writes it for one cluster."""
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(etcd_cluster=cluster, __etcd_certificates=certificates or {}, **overrides)
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "\n".join("# " + line for line in str(text).splitlines())
    return env.from_string((ROLE / "templates" / "etcd.rules.yml.j2").read_text()).render(**variables)


def test_the_rules_pass_promtool_check(tmp_path):
    rules = tmp_path / "etcd-etcd.rules.yml"
    rules.write_text(render_rules(certificates={"etcd-1": 3456000, "ca": 0}))
    res = subprocess.run([promtool(), "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    # 16 alerts and the recording rules (9, and one per certificate that has a time; "ca" has none here).
    assert "SUCCESS: 26 rules found" in res.stdout, res.stdout
    parsed = yaml.safe_load(rules.read_text())
    alerts = [r["alert"] for g in parsed["groups"] for r in g["rules"] if "alert" in r]
    assert alerts == ALERTS
    # Every rule selects this cluster's job and members only.
    for group in parsed["groups"]:
        for rule in group["rules"]:
            if "etcd_" in rule["expr"] or "up{" in rule["expr"]:
                assert 'job="etcd", cls="etcd"' in rule["expr"] or 'cls="etcd"' in rule["expr"], rule


def test_every_alert_fires_after_its_for_and_stays_silent_when_healthy(tmp_path):
    # A member's, the root client's and a consumer's certificate (registration.certificate_files names them all).
    soon = 30 * 86400 + 3600
    (tmp_path / "etcd-etcd.rules.yml").write_text(render_rules(certificates={"etcd-1": soon, "root": soon, "patroni": soon}))
    shutil.copy(HERE / "etcd-rules.test.yml", tmp_path)
    res = subprocess.run([promtool(), "test", "rules", "etcd-rules.test.yml"], cwd=tmp_path, capture_output=True,
                         text=True, check=False)
    assert res.returncode == 0 and "SUCCESS" in res.stdout, res.stdout + res.stderr
    tests = yaml.safe_load((HERE / "etcd-rules.test.yml").read_text())["tests"]
    checked = [t["alertname"] for case in tests for t in case.get("alert_rule_test", []) if t.get("exp_alerts")]
    silent = [t["alertname"] for case in tests[:1] for t in case.get("alert_rule_test", []) if not t.get("exp_alerts")]
    assert sorted(set(checked)) == sorted(ALERTS), "an alert without a test that makes it fire"
    assert sorted(silent) == sorted(ALERTS), "an alert without a test that it is silent on healthy series"


def test_a_threshold_parameter_reaches_the_rules():
    text = render_rules(etcd_alert_quota_percent=95, etcd_alert_member_down_for="10s", etcd_prometheus_job="dcs")
    assert "> 95\n" in text and "for: 10s" in text and 'up{job="dcs", cls="etcd"}' in text
