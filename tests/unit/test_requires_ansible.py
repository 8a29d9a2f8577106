"""The requires_ansible floor in meta/runtime.yml is the ansible-core release the tests pin and run."""
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_floor_is_the_tested_release():
    floor = yaml.safe_load((ROOT / "meta/runtime.yml").read_text())["requires_ansible"]
    pinned = re.search(r"^ansible-core==(\S+)$", (ROOT / "tests/requirements.txt").read_text(), re.M).group(1)
    assert floor == ">=" + pinned
