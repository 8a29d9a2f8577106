"""etcd_auth, etcd_role and etcd_user on etcdctl answers recorded from real etcd 3.4.23 and 3.5.16
(tests/unit/fixtures/record_etcdctl_auth.py): what each call sends, and that passwords go to stdin only."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.dcs.etcd.plugins.module_utils import _etcdctl
from ansible_collections.dcs.etcd.plugins.modules import etcd_auth, etcd_role, etcd_user

FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.16", "etcd-3.5.36", "etcd-3.6.17", "etcd-3.7.4"]
CONNECTION = dict(etcdctl_path="/usr/bin/etcdctl", endpoints=["https://h1:2379"], cacert="/etc/etcd/ca.crt",
                  cert="/etc/etcd/root.crt", key="/etc/etcd/root.key")


def recorded(version, name):
    answer = json.loads((FIXTURES / ("%s-auth-%s.json" % (version, name))).read_text())
    return answer["rc"], answer["stdout"], answer["stderr"]


class Script(object):
    """Answers each etcdctl call from (argv words, answer) rules, first match; records argv, env and stdin."""

    def __init__(self, rules):
        self.rules, self.calls = rules, []

    def __call__(self, module, argv, environ_update=None, data=None, **kwargs):
        self.calls.append(dict(argv=argv, env=dict(environ_update or {}), data=data))
        for words, answer in self.rules:
            if all(w in argv or any(w == a.split("=")[0] for a in argv) for w in words):
                return answer
        raise AssertionError("unexpected etcdctl call %s" % argv)


@pytest.fixture
def script(monkeypatch):
    """etcdctl run through module.run_command, and through subprocess.Popen (the auth probe), both scripted."""
    def install(rules):
        fake = Script(rules)

        def run_command(self, argv, **kwargs):
            return fake(self, argv, **kwargs)
        monkeypatch.setattr(AnsibleModule, "run_command", run_command)

        class Proc(object):
            def __init__(self, argv, env=None, **kwargs):
                self.returncode, self.out, self.err = fake(None, argv, environ_update=env)

            def communicate(self):
                return self.out.encode(), self.err.encode()
        monkeypatch.setattr(_etcdctl.subprocess, "Popen", Proc)
        return fake
    return install


def sent(fake, *words):
    return [c for c in fake.calls if all(w in c["argv"] for w in words)]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_role_is_added_with_its_permissions(version, script, run_module):
    fake = script([(["get"], recorded(version, "role-get-missing")), (["add"], recorded(version, "role-add")),
                   (["grant-permission"], recorded(version, "role-grant-prefix"))])
    result = run_module(etcd_role.main, dict(CONNECTION, name="app", permissions=[{"prefix": "/app/", "access": "readwrite"}]))
    assert result["changed"] and result["granted"] == ["readwrite /app/*"]
    assert sent(fake, "grant-permission")[0]["argv"][-4:] == ["app", "readwrite", "/app/", "--prefix"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_role_as_recorded_is_unchanged_and_its_extra_permission_is_drift(version, script, run_module):
    fake = script([(["get"], recorded(version, "role-get"))])
    wanted = [{"prefix": "/app/", "access": "readwrite"}, {"key": "/shared/config", "access": "read"}]
    result = run_module(etcd_role.main, dict(CONNECTION, name="app", permissions=wanted))
    assert not result["changed"] and result["drift"] == ["write [/a, /c)"] and len(fake.calls) == 1
    # With prune, the extra range is revoked; in check mode nothing is sent.
    fake = script([(["get"], recorded(version, "role-get")), (["revoke-permission"], recorded(version, "role-revoke-range"))])
    result = run_module(etcd_role.main, dict(CONNECTION, name="app", permissions=wanted, prune=True), check_mode=True)
    assert result["changed"] and result["revoked"] == ["write [/a, /c)"] and not sent(fake, "revoke-permission")
    result = run_module(etcd_role.main, dict(CONNECTION, name="app", permissions=wanted, prune=True))
    assert sent(fake, "revoke-permission")[0]["argv"][-3:] == ["app", "/a", "/c"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_role_is_deleted_once(version, script, run_module):
    script([(["get"], recorded(version, "role-get")), (["delete"], recorded(version, "role-delete"))])
    assert run_module(etcd_role.main, dict(CONNECTION, name="app", state="absent"))["changed"]
    script([(["get"], recorded(version, "role-get-missing"))])
    assert not run_module(etcd_role.main, dict(CONNECTION, name="app", state="absent"))["changed"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_new_user_gets_its_password_on_stdin_only(version, script, run_module):
    fake = script([(["get"], recorded(version, "user-get-missing")), (["add"], recorded(version, "user-add")),
                   (["grant-role"], recorded(version, "user-grant-role"))])
    result = run_module(etcd_user.main, dict(CONNECTION, name="app", user_password="s3cret", roles=["app"]))
    assert result["changed"] and result["created"] and result["granted"] == ["app"]
    add = sent(fake, "add")[0]
    assert add["data"] == "s3cret" and not [a for a in add["argv"] if "s3cret" in a]
    assert not [c for c in fake.calls if "s3cret" in json.dumps(c["argv"])]
    assert "s3cret" not in json.dumps(result)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_user_password_is_changed_only_when_a_login_fails(version, script, run_module):
    fake = script([(["get"], recorded(version, "user-get")), (["endpoint", "status"], recorded(version, "login-ok"))])
    result = run_module(etcd_user.main, dict(CONNECTION, name="app", user_password="s3cret", roles=["app"]))
    assert not result["changed"] and result["password_checked"]
    login = sent(fake, "endpoint", "status")[0]
    assert login["env"]["ETCDCTL_USER"] == "app:s3cret" and "ETCDCTL_PASSWORD" not in login["env"]
    fake = script([(["get"], recorded(version, "user-get")), (["endpoint", "status"], recorded(version, "login-wrong-password")),
                   (["passwd"], recorded(version, "user-passwd"))])
    result = run_module(etcd_user.main, dict(CONNECTION, name="app", user_password="s3cret", roles=["app"]))
    assert result["changed"] and result["password_changed"] and sent(fake, "passwd")[0]["data"] == "s3cret"


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_is_enabled_with_root_first(version, script, run_module):
    probe_off = recorded(version, "login-auth-off")
    fake = script([(["endpoint", "status"], probe_off), (["user", "list"], recorded(version, "user-list-empty")),
                   (["role", "list"], recorded(version, "role-list-empty")),
                   (["user", "add"], recorded(version, "user-add-root")), (["grant-role"], recorded(version, "user-grant-role-root")),
                   (["auth", "enable"], recorded(version, "auth-enable"))])
    result = run_module(etcd_auth.main, dict(CONNECTION, state="enabled", root_password="rootpw"))
    assert result["changed"] and result["root_created"] and result["auth_enabled"] and not result["auth_was_enabled"]
    order = [" ".join(c["argv"][c["argv"].index("--endpoints=https://h1:2379") + 1:][:2]) for c in fake.calls]
    assert order.index("user add") < order.index("user grant-role") < order.index("auth enable")
    assert sent(fake, "user", "add")[0]["data"] == "rootpw"


@pytest.mark.parametrize("version", VERSIONS)
def test_auth_already_on_changes_nothing_and_disabling_is_explicit(version, script, run_module):
    # The made-up user of the probe is refused while auth is on; root's own login succeeds.
    fake = script([(["endpoint", "status"], recorded(version, "login-ok")),
                   (["user", "list"], recorded(version, "user-list")), (["role", "list"], recorded(version, "role-list")),
                   (["auth", "disable"], recorded(version, "auth-disable"))])
    probe = recorded(version, "login-wrong-password")
    original = fake.__call__

    class Probing(Script):
        def __call__(self, module, argv, environ_update=None, **kwargs):
            if (environ_update or {}).get("ETCDCTL_USER", "").startswith("dcs-etcd-auth-probe"):
                self.calls.append(dict(argv=argv, env=dict(environ_update), data=None))
                return probe
            return original(module, argv, environ_update=environ_update, **kwargs)
    fake.__class__ = Probing
    result = run_module(etcd_auth.main, dict(CONNECTION, state="enabled", root_password="rootpw"))
    assert not result["changed"] and result["auth_enabled"] and result["auth_was_enabled"]
    assert result["users"] == ["app", "root"] and not sent(fake, "auth", "enable")
    result = run_module(etcd_auth.main, dict(CONNECTION, state="present"))
    assert not result["changed"] and result["auth_enabled"]
    result = run_module(etcd_auth.main, dict(CONNECTION, state="disabled"))
    assert result["changed"] and not result["auth_enabled"] and sent(fake, "auth", "disable")
