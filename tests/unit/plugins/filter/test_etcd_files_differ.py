import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.dcs.etcd.plugins.filter.etcd_files_differ import etcd_files_differ
from ansible_collections.dcs.etcd.plugins.module_utils._files import stat_path


def test_filter_agrees_with_what_is_on_disk(tmp_path):
    path = tmp_path / "f"
    path.write_text("x\n")
    probed = {str(path): stat_path(str(path))}
    assert not etcd_files_differ([{"path": str(path), "content": "x"}], probed)
    assert etcd_files_differ([{"path": str(path), "content": "y"}], probed)
    assert etcd_files_differ([{"path": str(tmp_path / "unprobed"), "content": "y"}], probed)


def test_filter_rejects_wrong_input():
    with pytest.raises(AnsibleFilterError):
        etcd_files_differ("not a list", {})
