import time

import pytest

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible_collections.dcs.etcd.plugins.module_utils._pki import ensure


def test_expiry_of_real_certificates_and_missing_paths(tmp_path):
    ensure(str(tmp_path), "10.0.0.11", "etcd-1", ["IP:10.0.0.11"], "test CA", 10, 30)
    lookup = lookup_loader.get("dcs.etcd.certificate_expiry")
    member, ca, missing = lookup.run([str(tmp_path / "members" / "10.0.0.11.crt"), str(tmp_path / "ca.crt"),
                                      str(tmp_path / "absent.crt")], variables={})
    assert 9 * 86400 < member - time.time() <= 10 * 86400
    assert 29 * 86400 < ca - time.time() <= 30 * 86400
    assert missing == 0
    junk = tmp_path / "junk.crt"
    junk.write_text("not a certificate")
    with pytest.raises(AnsibleLookupError, match="is not a PEM certificate"):
        lookup.run([str(junk)], variables={})
