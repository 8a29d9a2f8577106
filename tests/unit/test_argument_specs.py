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
