"""RBAC rules (module_utils/_rbac.py) on etcdctl answers recorded from real etcd 3.4.23 and 3.5.16
(tests/unit/fixtures/record_etcdctl_auth.py); the plan's checks and auth stage are in plan/test_access.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _rbac
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import auth_from_answer, login_result, parse_json_output


FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"
VERSIONS = ["etcd-3.4.23", "etcd-3.5.16"]


FIXTURES = pathlib.Path(__file__).resolve().parents[3] / "unit" / "fixtures" / "etcdctl"


VERSIONS = ["etcd-3.4.23", "etcd-3.5.16"]


def recorded(version, name):
    return json.loads((FIXTURES / ("%s-auth-%s.json" % (version, name))).read_text())


@pytest.mark.parametrize("version", VERSIONS)
def test_a_role_reads_as_etcd_holds_it(version):
    perms = _rbac.parse_role(parse_json_output(recorded(version, "role-get")["stdout"]))
    # READ is left out of the JSON (type 0); keys are base64; a prefix's range end is the prefix incremented.
    assert perms == [("READ", "/shared/config", ""), ("READWRITE", "/app/", "/app0"), ("WRITE", "/a", "/c")]
    assert _rbac.permission_of({"prefix": "/app/", "access": "readwrite"}) == ("READWRITE", "/app/", "/app0")
    assert _rbac.permission_of({"key": "/shared/config", "access": "read"}) == ("READ", "/shared/config", "")
    assert [_rbac.describe(p) for p in perms] == ["read /shared/config", "readwrite /app/*", "write [/a, /c)"]


@pytest.mark.parametrize("version", VERSIONS)
def test_names_and_missing_entities(version):
    assert _rbac.parse_names(parse_json_output(recorded(version, "user-list")["stdout"]), "users") == ["app", "root"]
    assert _rbac.parse_names(parse_json_output(recorded(version, "user-get")["stdout"]), "roles") == ["app"]
    # An empty list is left out of the JSON.
    assert _rbac.parse_names(parse_json_output(recorded(version, "role-list-empty")["stdout"]), "roles") == []
    for name in ("role-get-missing", "user-get-missing", "user-delete-missing"):
        answer = recorded(version, name)
        assert answer["rc"] != 0 and _rbac.missing(answer["stderr"])
    assert not _rbac.missing(recorded(version, "put-denied")["stderr"])


@pytest.mark.parametrize("version", VERSIONS)
def test_a_login_tells_a_wrong_password_only_while_auth_is_on(version):
    class Ctl(object):
        def __init__(self, name):
            self.answer = recorded(version, name)

        def run(self, args, endpoints=None, login=None):
            assert args == ["endpoint", "status"] and login == ("app", "pw")
            return self.answer["rc"], self.answer["stdout"], self.answer["stderr"]
    assert login_result(Ctl("login-ok"), "app", "pw") is True
    assert login_result(Ctl("login-wrong-password"), "app", "pw") is False
    # With auth off, etcd takes any password: the login tells nothing.
    assert login_result(Ctl("login-auth-off"), "app", "pw") is None
    # The auth probe's reading of the same answers: a refused made-up user means auth is on.
    wrong = recorded(version, "login-wrong-password")
    assert auth_from_answer(wrong["rc"], wrong["stderr"]) is True


def test_auth_status_does_not_exist_on_3_4():
    # 3.4.23 prints the help of `auth` with rc 0: the role never relies on it (it logs in with a made-up user).
    assert "Enable or disable authentication" in recorded("etcd-3.4.23", "auth-status-off")["stdout"]
    assert "authRevision" in recorded("etcd-3.5.16", "auth-status-off")["stdout"]


@pytest.mark.parametrize("current,wanted,prune,expected", [
    ([], [("READ", "/a", "")], False, ([("READ", "/a", "")], [], [])),
    ([("READ", "/a", "")], [("READ", "/a", "")], False, ([], [], [])),
    # An extra permission is drift unless pruned.
    ([("READ", "/a", ""), ("WRITE", "/b", "")], [("READ", "/a", "")], False, ([], [], [("WRITE", "/b", "")])),
    ([("READ", "/a", ""), ("WRITE", "/b", "")], [("READ", "/a", "")], True, ([], [("WRITE", "/b", "")], [])),
    # Another access on the same key: granted again (etcd replaces the type), never revoked.
    ([("READ", "/a", "")], [("READWRITE", "/a", "")], True, ([("READWRITE", "/a", "")], [], [])),
])
def test_role_changes(current, wanted, prune, expected):
    assert _rbac.role_changes(current, wanted, prune) == expected


def test_user_changes_and_unmanaged():
    assert _rbac.user_changes(["a", "b"], ["a", "c"], False) == (["c"], [], ["b"])
    assert _rbac.user_changes(["a", "b"], ["a", "c"], True) == (["c"], ["b"], [])
    assert _rbac.unmanaged_names(["root", "app", "old"], ["root", "app", "r"], ["app"], ["app"]) == (["old"], ["r"])


def test_prefix_end():
    assert _rbac.prefix_end("/pg/") == "/pg0"
    assert _rbac.prefix_end("a") == "b"


@pytest.mark.parametrize("users,roles,expected", [
    ([{"name": "root"}], [], "root is managed by the role"),
    ([{"name": "etcd-1"}], [], "a member's certificate carries that name"),
    ([{"name": "a b"}], [], "etcd_users[0].name='a b'"),
    ([{"name": "app", "password": "has space"}], [], "etcd_users[0].password is empty or contains whitespace"),
    ([{"name": "app", "password": ""}], [], "etcd_users[0].password is empty"),
    ([{"name": "app", "permissions": [{"prefix": "/a/", "key": "/b", "access": "read"}]}], [], "exactly one of prefix and key"),
    ([{"name": "app", "permissions": [{"prefix": "/a/", "access": "all"}]}], [], "access=all: must be read, write or readwrite"),
    ([{"name": "app", "permissions": [{"prefix": "", "access": "read"}]}], [], "an empty prefix would cover every key"),
    ([{"name": "app", "roles": ["nosuch"]}], [], "nosuch is not a present role"),
    ([{"name": "app", "roles": ["root"]}], [], "root gives every right"),
    ([{"name": "app"}, {"name": "app"}], [], "app is listed twice"),
])
def test_rbac_problems_name_the_entry(users, roles, expected):
    problems = _rbac.rbac_problems(users, roles, ["etcd-1", "etcd-2"])
    assert any(expected in p for p in problems), problems


def test_desired_gives_a_user_with_permissions_a_role_of_its_own():
    roles, users = _rbac.desired([{"name": "pg", "password": "x", "permissions": [{"prefix": "/pg/", "access": "readwrite"}],
                                   "roles": ["shared"]}],
                                 [{"name": "shared", "permissions": [{"key": "/cfg", "access": "read"}]}])
    assert users["pg"]["roles"] == ["pg", "shared"] and roles["pg"]["permissions"] == [("READWRITE", "/pg/", "/pg0")]
    assert not _rbac.rbac_problems([{"name": "pg", "permissions": [{"prefix": "/pg/", "access": "readwrite"}],
                                     "roles": ["shared"]}], [{"name": "shared"}])
