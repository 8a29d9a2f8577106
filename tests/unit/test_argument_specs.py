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
