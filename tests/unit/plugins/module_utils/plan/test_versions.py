# -*- coding: utf-8 -*-
"""module_utils/_plan/versions.py: which release reads which setting."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import pytest

from ansible_collections.dcs.etcd.plugins.module_utils._plan.versions import tls_min_version_supported


@pytest.mark.parametrize("version,supported", [("3.4.23", False), ("3.4.25", True), ("3.5.7", False),
                                               ("3.5.8", True), ("3.5.16", True), ("3.6.0", True), (None, False)])
def test_tls_min_version_is_written_where_etcd_reads_it(version, supported):
    assert tls_min_version_supported(version) is supported
