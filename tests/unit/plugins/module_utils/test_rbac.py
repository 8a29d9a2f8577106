"""RBAC rules (module_utils/_rbac.py) on etcdctl answers recorded from real etcd 3.4.23 and 3.5.16
(tests/unit/fixtures/record_etcdctl_auth.py), and the plan's checks and auth stage (module_utils/_plan.py)."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
import json
import pathlib

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils import _plan, _rbac
from ansible_collections.dcs.etcd.plugins.module_utils._etcdctl import auth_from_answer, login_result, parse_json_output

from .test_plan import CA, healthy, inputs, refused, running

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
    ([{"name": "app", "pasword": "x"}], [], "unknown keys pasword"),
    ([{"name": "app"}, {"name": "app"}], [], "app is listed twice"),
    ([], [{"name": "r", "state": "gone"}], "etcd_roles[0].state=gone"),
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


# === the plan ===========================================================================================

def plan_with(params, **kwargs):
    return _plan.make_plan(inputs(params=params, probes=running(3), cluster=healthy(3), **kwargs), {"ca_sha256": CA})


def test_auth_needs_the_root_password_and_refuses_contradictions():
    assert refused(plan_with({"etcd_auth": True, "etcd_root_password": ""}), "etcd_root_password is empty")
    assert refused(plan_with({"etcd_auth": True, "etcd_root_password": "********", "etcd_auth_disable": True}),
                   "contradict")
    assert not plan_with({"etcd_auth": True, "etcd_root_password": "********"})["refusals"]


def test_rbac_problems_refuse_the_run_before_any_host():
    plan = _plan.make_plan(inputs(params={"etcd_users": [{"name": "etcd-2"}]}), {})
    assert plan["stage"] == "inputs" and refused(plan, "etcd_users[0].name=etcd-2")


def test_the_auth_stage_orders_roles_before_users_and_deletions_last():
    plan = plan_with({"etcd_auth": True, "etcd_root_password": "********", "etcd_users": [
        {"name": "pg", "password": "********", "permissions": [{"prefix": "/pg/", "access": "readwrite"}]},
        {"name": "old", "state": "absent", "permissions": [{"prefix": "/old/", "access": "read"}]}],
        "etcd_roles": [{"name": "gone", "state": "absent"}]})
    access = plan["access"]
    assert access["run"] and access["state"] == "enabled" and access["host"] == plan["verify"]["host"]
    assert [r["name"] for r in access["roles"]] == ["pg"] and access["roles"][0]["permissions"] == [
        {"prefix": "/pg/", "access": "readwrite"}]
    assert [(u["name"], u["index"], u["roles"]) for u in access["users"]] == [("pg", 0, ["pg"])]
    assert [u["name"] for u in access["users_absent"]] == ["old"]
    assert sorted(r["name"] for r in access["roles_absent"]) == ["gone", "old"]


def test_the_auth_stage_runs_only_when_asked_for():
    assert not plan_with({})["access"]["run"]
    assert plan_with({"etcd_auth_disable": True})["access"]["state"] == "disabled"
    assert not plan_with({"etcd_auth": True, "etcd_root_password": "********"}, tags=("etcd_cert",))["access"]["run"]
    assert plan_with({"etcd_auth": True, "etcd_root_password": "********"}, tags=("etcd_auth",))["access"]["run"]


def test_the_role_connects_as_root_once_every_member_holds_the_certificate():
    plain = plan_with({})
    assert plain["root_client"] is False
    paths = dict(_plan_paths(), root_cert="/etc/etcd/root.crt", root_key="/etc/etcd/root.key")
    probes = running(3)
    for p in probes.values():
        p["paths"]["/etc/etcd/root.crt"] = {"exists": True}
        p["paths"]["/etc/etcd/root.key"] = {"exists": True}
    inp = inputs(probes=probes, cluster=healthy(3))
    inp["paths"] = paths
    assert _plan.make_plan(inp, {"ca_sha256": CA})["root_client"] is True
    # One member without it (a cluster deployed by an older release, converging member by member): not yet.
    del probes[list(probes)[1]]["paths"]["/etc/etcd/root.key"]
    assert _plan.make_plan(inp, {"ca_sha256": CA})["root_client"] is False


def _plan_paths():
    from .test_plan import PATHS
    return dict(PATHS)


@pytest.mark.parametrize("entry,expected", [
    ({"name": "patroni"}, "give hosts"),
    ({"name": "patroni", "hosts": ["nosuch"]}, "not in the inventory: nosuch"),
    ({"name": "patroni", "cn": "root", "controller_dir": "/srv/x"}, "cn=root"),
    ({"name": "patroni", "cn": "etcd-1", "controller_dir": "/srv/x"}, "a member's"),
    ({"name": "root", "controller_dir": "/srv/x"}, "root and prometheus are the role's own"),
    ({"name": "p", "controller_dir": "rel"}, "must be an absolute directory on the controller"),
    ({"name": "p", "controller_dir": "/srv/x", "mode": "0644"}, "never readable by others"),
])
def test_consumer_certificates_are_checked(entry, expected):
    plan = _plan.make_plan(inputs(params={"etcd_client_certs": [entry]}), {})
    assert refused(plan, expected), plan["refusals"]


def test_consumer_certificates_are_planned():
    plan = plan_with({"etcd_client_certs": [{"name": "patroni", "hosts": ["10.0.0.11"], "controller_dir": "/srv/c"}]})
    assert plan["client_certs"][0]["cn"] == "patroni" and plan["client_certs"][0]["dir"] == "/etc/etcd-client/etcd"
    assert [i["host"] for i in plan["client_cert_installs"]] == ["10.0.0.11"]
    assert [c["dest"] for c in plan["client_cert_copies"]] == ["/srv/c/ca.crt", "/srv/c/patroni.crt", "/srv/c/patroni.key"]
    # cn: "" is a certificate without CN (etcd's HTTP gateway refuses one with a CN while RBAC is on).
    gateway = plan_with({"etcd_client_certs": [{"name": "patroni", "cn": "", "controller_dir": "/srv/c"}]})
    assert gateway["refusals"] == [] and gateway["client_certs"][0]["cn"] == ""


@pytest.mark.parametrize("params,expected", [
    ({"etcd_cert_renew_days": 4000}, "etcd_cert_renew_days=4000 must be below etcd_cert_valid_days"),
    ({"etcd_cert_fail_days": 100, "etcd_cert_warn_days": 10}, "must not exceed etcd_cert_warn_days"),
    ({"etcd_tls_min_version": "TLS1.0"}, "etcd_tls_min_version=TLS1.0"),
    ({"etcd_tls_cipher_suites": ["RC4"]}, "etcd_tls_cipher_suites"),
])
def test_certificate_and_tls_parameters(params, expected):
    assert refused(_plan.make_plan(inputs(params=params), {}), expected)


@pytest.mark.parametrize("version,supported", [("3.4.23", False), ("3.4.25", True), ("3.5.7", False),
                                               ("3.5.8", True), ("3.5.16", True), ("3.6.0", True), (None, False)])
def test_tls_min_version_is_written_where_etcd_reads_it(version, supported):
    assert _plan.tls_min_version_supported(version) is supported


# === CA rotation (-t etcd_ca_rotate) =======================================================================

def test_a_ca_rotation_needs_the_whole_healthy_cluster():
    plan = _plan.make_plan(inputs(tags=("etcd_ca_rotate",), probes=running(3), cluster=healthy(3)),
                           {"ca_sha256": CA, "ca_rotation": "trust", "stamp": "T"})
    assert not plan["refusals"] and plan["operation"] == "ca_rotate"
    assert plan["ca_rotation"] == {"phase": "trust", "ca_common_name": "dcs.etcd CA (etcd) T", "steps": ["reissue"]}
    assert _plan.rotation_steps(None, False) == ["begin"] and _plan.rotation_steps("reissue", False) == ["finish", "complete"]
    assert _plan.rotation_steps(None, True) == ["begin", "reissue", "finish", "complete"]
    assert _plan.rotation_steps("finish", False) == ["finish", "complete"]
    assert plan["verify"]["host"] and plan["register"]["mode"] == "converge"
    limited = _plan.make_plan(inputs(tags=("etcd_ca_rotate",), play=["10.0.0.11"], probes=running(3), cluster=healthy(3)),
                              {"ca_sha256": CA})
    assert refused(limited, "run it without -l (left out: 10.0.0.12, 10.0.0.13)")
    probes = running(3)
    probes["10.0.0.13"] = dict(probes["10.0.0.13"], service_state="inactive", service_active=False)
    down = _plan.make_plan(inputs(tags=("etcd_ca_rotate",), probes=probes, cluster=healthy(3)), {"ca_sha256": CA})
    assert refused(down, "Refusing to rotate the CA", "10.0.0.13 not running")


def test_members_holding_a_bundle_of_the_rotation_are_not_strangers():
    other = "e" * 64
    probes = running(3)
    probes["10.0.0.12"]["paths"]["/etc/etcd/ca.crt"] = {"exists": True, "sha256": other}
    assert refused(_plan.make_plan(inputs(probes=probes, cluster=healthy(3)), {"ca_sha256": CA}), "Pushing another CA")
    assert not _plan.make_plan(inputs(probes=probes, cluster=healthy(3)), {"ca_sha256": CA, "ca_sha256s": [CA, other]})[
        "refusals"]
