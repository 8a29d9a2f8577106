import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.filter.etcd_version_errors import etcd_version_errors

BAD = ["3.5.0", "3.5.1", "3.5.2"]


def errors(target, current, auth=False, bad=None):
    return etcd_version_errors(target, current, BAD if bad is None else bad, auth, "etcd_version")


@pytest.mark.parametrize("target,current", [
    ("3.4.23", []),  # fresh cluster
    ("3.4.23", ["3.4.23"]),  # no change
    ("3.4.30", ["3.4.23"]),  # patch upgrade
    ("3.4.20", ["3.4.23"]),  # patch downgrade within the minor
    ("3.5.16", ["3.4.23"]),  # one minor up
    ("3.5.16", ["3.4.23", "3.5.16"]),  # resuming an interrupted upgrade
    ("3.6.5", ["3.5.32"]),
    ("3.7.4", ["3.6.11"]),
    ("", ["3.4.23"]),  # unknown target: nothing to check
])
def test_safe_targets(target, current):
    assert errors(target, current) == []


def test_known_bad_is_refused_also_on_a_fresh_cluster_and_the_list_is_overridable():
    assert "known-bad" in errors("3.5.1", [])[0]
    assert "etcd_known_bad_versions" in errors("3.5.1", ["3.4.23"])[0]
    assert errors("3.5.1", [], bad=[]) == []
    assert "known-bad" in errors("3.4.23", [], bad=["3.4.23"])[0]


def test_skipping_a_minor_version_is_refused():
    (msg,) = errors("3.6.0", ["3.4.23"])
    assert "skip a minor version" in msg and "3.5 first" in msg
    (msg,) = errors("3.6.0", ["3.4.23", "3.5.16"])  # the lowest member decides
    assert "skip" in msg


def test_a_minor_upgrade_needs_the_patch_release_etcds_guide_names_first():
    # https://etcd.io/docs/v3.6/upgrades/upgrade_3_6/ (3.5.32 since the floor last moved) and
    # https://etcd.io/docs/v3.7/upgrades/upgrade_3_7/ (3.6.11).
    (msg,) = errors("3.6.5", ["3.5.16", "3.5.26"])
    assert "every 3.5 member on 3.5.32 or later first" in msg and "3.5.16, 3.5.26" in msg and "zombie" not in msg
    (msg,) = errors("3.7.4", ["3.6.10", "3.6.17"])
    assert "every 3.6 member on 3.6.11 or later first" in msg and "rolling upgrade to 3.7" in msg
    assert errors("3.6.17", ["3.5.31"]) and not errors("3.6.17", ["3.5.32", "3.5.36"])


def test_minor_downgrade_is_refused():
    (msg,) = errors("3.4.23", ["3.5.16"])
    assert "downgrade" in msg
    (msg,) = errors("3.4.23", ["3.4.23", "3.5.16"])  # one member already upgraded
    assert "downgrade" in msg


def test_major_change_is_refused():
    assert "major version" in errors("4.0.0", ["3.6.1"])[0]


def test_auth_blocks_only_the_3_4_to_3_5_rolling_upgrade():
    assert "authentication is enabled" in errors("3.5.16", ["3.4.23"], auth=True)[0]
    assert "could not tell" in errors("3.5.16", ["3.4.23"], auth=None)[0]
    assert errors("3.4.30", ["3.4.23"], auth=True) == []
    assert errors("3.6.1", ["3.5.32"], auth=True) == []


def test_message_names_the_source_parameter():
    msg = etcd_version_errors("3.6.0", ["3.4.23"], BAD, False, "etcd_archive_src (etcd 3.6.0)")[0]
    assert msg.startswith("etcd_archive_src (etcd 3.6.0): ")


def test_unparsable_current_versions_are_ignored():
    assert errors("3.5.16", [None, "garbage", "3.4.23"]) == []


def test_wrong_input():
    with pytest.raises(AnsibleFilterError):
        etcd_version_errors("3.5.16", "3.4.23", BAD)
