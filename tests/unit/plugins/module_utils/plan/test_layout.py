# -*- coding: utf-8 -*-
"""The shape of module_utils/_plan: which module may import which, how long a module may grow, and that each
says what it decides. The step modules exchange results only through the plan (the dict they write), never by
calling each other: a newcomer reads one step without the others."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[5] / "plugins" / "module_utils" / "_plan"
PREFIX = "ansible_collections.dcs.etcd.plugins.module_utils._plan"

# What every step may use: the run's inputs, the cluster's facts, and the pure rules.
SHARED = ("values", "tags", "versions", "rules", "inputs", "facts")
# The steps of a converge (and of the operations that reuse them).
STEPS = ("checks", "identities", "guards", "disk_check", "membership", "upgrade", "convergence", "access", "registration")
OPERATIONS = ("operations.registry", "operations.backup", "operations.restore", "operations.recover", "operations.maintain",
              "operations.ca_rotate", "operations.check")
TOP = ("pipeline",)
MAY_IMPORT = dict([(m, SHARED) for m in SHARED] + [(m, SHARED) for m in STEPS]
                  + [(m, SHARED + STEPS + OPERATIONS) for m in OPERATIONS]
                  + [(m, SHARED + STEPS + OPERATIONS + TOP) for m in TOP])


def modules():
    """The package's modules by dotted name, but for its __init__.py files (empty, see below)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "__init__.py":
            found[".".join(path.relative_to(PACKAGE).with_suffix("").parts)] = path
    return found


def imported(path):
    """The package's modules a module imports (from _plan import guards; from _plan.rules import ...)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and (node.module + ".").startswith(PREFIX + "."):
            module = node.module[len(PREFIX):].lstrip(".")
            for alias in node.names:
                submodule = (module + "." if module else "") + alias.name
                names.add(submodule if submodule in MAY_IMPORT else module or "__init__")
    return names


def test_the_package_s_init_files_are_empty():
    """ansible-test sanity (empty-init) on ansible-core 2.16 requires it: the entry points are pipeline's."""
    assert [p for p in PACKAGE.rglob("__init__.py") if p.read_text()] == []


def test_every_module_of_the_package_has_its_place():
    assert sorted(modules()) == sorted(MAY_IMPORT)


@pytest.mark.parametrize("name", sorted(MAY_IMPORT))
def test_a_module_imports_only_what_its_layer_may(name):
    path = modules()[name]
    wrong = sorted(m for m in imported(path) if m not in MAY_IMPORT[name] and m != name)
    assert not wrong, "%s imports %s" % (name, ", ".join(wrong))


@pytest.mark.parametrize("name", sorted(MAY_IMPORT))
def test_a_module_says_what_it_decides_and_stays_short(name):
    path = modules()[name]
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    assert docstring and docstring.startswith("PRIVATE to the dcs.etcd collection: "), name
    assert len(path.read_text().splitlines()) <= 400, name
