"""meta/argument_specs.yml and defaults/main.yml describe the same parameters with the same defaults."""
import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[2] / "roles"


@pytest.mark.parametrize("role", sorted(p.name for p in ROLES.iterdir() if (p / "meta/argument_specs.yml").exists()))
def test_defaults_match_argument_specs(role):
    defaults = yaml.safe_load((ROLES / role / "defaults/main.yml").read_text()) or {}
    specs = yaml.safe_load((ROLES / role / "meta/argument_specs.yml").read_text())["argument_specs"]
    for entry_point, spec in specs.items():
        options = spec["options"]
        with_default = {k: v for k, v in options.items() if not v.get("required")}
        assert sorted(with_default) == sorted(defaults), f"{role}/{entry_point}: argspec and defaults differ"
        for name, option in with_default.items():
            assert option.get("default") == defaults[name], f"{role}: default of {name} differs"
            assert option.get("description"), f"{role}: {name} has no description"
        for name, option in options.items():
            if option.get("required"):
                assert name not in defaults, f"{role}: required {name} must not have a default"


def test_every_role_has_argument_specs():
    for role in ROLES.iterdir():
        assert (role / "meta/argument_specs.yml").exists(), f"{role.name} has no meta/argument_specs.yml"


def test_the_parameter_reference_matches_the_argument_spec():
    """docs/parameters.md has one row per parameter of the role's spec, none that the spec lacks, and shows each
    default as the spec has it (in backticks; prose only for a required parameter or a non-empty list)."""
    import re

    doc = (ROLES.parent / "docs/parameters.md").read_text()
    rows = re.findall(r"^\| `(etcd_\w+)` \| ([^|]*)\|", doc, re.M)
    names = [row[0] for row in rows]
    options = yaml.safe_load((ROLES / "etcd/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert sorted(set(names)) == sorted(options), "parameters.md and the argument spec name different parameters"
    assert len(names) == len(set(names)), "a parameter has two rows in parameters.md"
    for name, shown in rows:
        shown, option = shown.strip(), options[name]
        literal = re.fullmatch(r"`([^`]*)`", shown)
        if literal:
            assert yaml.safe_load(literal.group(1)) == option["default"], "%s: parameters.md shows %s" % (name, shown)
        else:
            assert option.get("required") or (isinstance(option.get("default"), list) and option["default"]), name


# Types, choices and the keys of list-of-dict parameters are the argument spec's to check (ansible-core validates
# it before any task of the role, on every host); the plan keeps the rules that span fields, hosts and the cluster.
@pytest.mark.parametrize("bad,expected", [
    ({"etcd_init": "fresh"}, "value of etcd_init must be one of: new, existing, got: fresh"),
    ({"etcd_install_method": "docker"}, "value of etcd_install_method must be one of: archive, package, got: docker"),
    ({"etcd_auto_compaction_mode": "sometimes"}, "value of etcd_auto_compaction_mode must be one of: periodic, revision"),
    ({"etcd_disk_check": "never"}, "value of etcd_disk_check must be one of: fail, warn, skip, got: never"),
    ({"etcd_tls_min_version": "TLS1.0"}, "value of etcd_tls_min_version must be one of: TLS1.2, TLS1.3, got: TLS1.0"),
    ({"etcd_backup": "sometimes"}, ("argument 'etcd_backup' is of type", "unable to convert to bool")),
    ({"etcd_auth": "maybe"}, ("argument 'etcd_auth' is of type", "unable to convert to bool")),
    ({"etcd_port": "http"}, ("argument 'etcd_port' is of type", "unable to convert to int")),
    ({"etcd_users": [{"name": "app", "pasword": "x"}]}, "etcd_users.pasword. Supported parameters include: name, password"),
    ({"etcd_users": [{"name": "app", "permissions": "all"}]}, ("option 'permissions' found in 'etcd_users'", "convert to dict")),
    ({"etcd_roles": [{"name": "r", "state": "gone"}]}, "value of state must be one of: present, absent, got: gone found in etcd_roles"),
    ({"etcd_roles": [{"name": "r", "permissions": [{"prefix": "/a/", "acess": "read"}]}]},
     "etcd_roles.permissions.acess. Supported parameters include: access, key, prefix"),
    ({"etcd_client_certs": [{"cn": "patroni", "hosts": ["h1"]}]}, "missing required arguments: name found in etcd_client_certs"),
    ({"etcd_client_certs": [{"name": "patroni", "state": "revoked"}]}, "value of state must be one of: present, absent, got: revoked"),
])
def test_the_argument_spec_refuses_bad_types_and_choices_naming_the_variable(bad, expected):
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = yaml.safe_load((ROLES / "etcd/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLES / "etcd/defaults/main.yml").read_text())
    good = ArgumentSpecValidator(spec).validate(dict(defaults, etcd_seq=1))
    assert not good.error_messages
    found = ArgumentSpecValidator(spec).validate(dict(defaults, etcd_seq=1, **bad))
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert [m for m in found.error_messages if all(e in m for e in expected)], found.error_messages


def test_a_password_in_a_bad_entry_is_not_shown():
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    spec = yaml.safe_load((ROLES / "etcd/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    found = ArgumentSpecValidator(spec).validate({"etcd_seq": 1, "etcd_root_password": "Root-Secret-1",
                                                  "etcd_users": [{"name": "app", "password": "App-Secret-2", "state": "x"}]})
    assert found.error_messages and {"Root-Secret-1", "App-Secret-2"} <= found._no_log_values
    assert not [m for m in found.error_messages if "Secret" in m]
