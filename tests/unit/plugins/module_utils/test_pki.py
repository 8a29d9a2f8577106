"""The controller PKI, with real keys and certificates in a temporary directory."""
import os

import pytest
from cryptography import x509

from ansible_collections.dcs.etcd.plugins.module_utils._pki import PkiError, cert_sans, ensure, normalize_san

SANS = ("IP:10.0.0.11", "DNS:localhost", "127.0.0.1", "IP:::1", "etcd-1")


def load(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def make(tmp_path, sans=SANS, **kwargs):
    return ensure(str(tmp_path), "10.0.0.11", "etcd-1", list(sans), "test CA", 30, 90, **kwargs)


def test_normalize_san():
    assert normalize_san("IP:0:0:0:0:0:0:0:1") == "IP:::1"
    assert normalize_san("10.0.0.1") == "IP:10.0.0.1"
    assert normalize_san("Etcd-1.Example") == "DNS:etcd-1.example"
    with pytest.raises(PkiError):
        normalize_san("IP:not-an-ip")


def test_first_run_creates_ca_key_and_certificate(tmp_path):
    result = make(tmp_path)
    assert result["changed"] and result["ca_created"] and result["key_created"] and result["cert_issued"]
    cert = load(result["cert"])
    assert cert_sans(cert) == {"IP:10.0.0.11", "DNS:localhost", "IP:127.0.0.1", "IP:::1", "DNS:etcd-1"}
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {u.dotted_string for u in usages} == {"1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"}
    assert oct(os.stat(result["key"]).st_mode & 0o777) == "0o600"
    assert oct(os.stat(tmp_path / "ca.key").st_mode & 0o777) == "0o600"
    ca = load(tmp_path / "ca.crt")
    cert.verify_directly_issued_by(ca)


def test_second_run_changes_nothing(tmp_path):
    first = make(tmp_path)
    before = open(first["cert"], "rb").read(), open(tmp_path / "ca.crt", "rb").read()
    second = make(tmp_path)
    assert not second["changed"]
    assert (open(first["cert"], "rb").read(), open(tmp_path / "ca.crt", "rb").read()) == before


def test_san_change_reissues_certificate_but_keeps_key_and_ca(tmp_path):
    first = make(tmp_path)
    key, ca = open(first["key"], "rb").read(), open(tmp_path / "ca.crt", "rb").read()
    second = make(tmp_path, sans=SANS + ("DNS:etcd-1.example",))
    assert second["cert_issued"] and second["reason"] == "SANs changed"
    assert not second["ca_created"] and not second["key_created"]
    assert open(first["key"], "rb").read() == key and open(tmp_path / "ca.crt", "rb").read() == ca


def test_certificate_from_another_ca_is_reissued(tmp_path, tmp_path_factory):
    make(tmp_path)
    other = tmp_path_factory.mktemp("other")
    make(other)
    os.replace(other / "members" / "10.0.0.11.crt", tmp_path / "members" / "10.0.0.11.crt")
    result = make(tmp_path)
    assert result["cert_issued"]
    assert result["reason"] in ("certificate was signed by another CA", "certificate does not match the member key")


def test_ca_certificate_without_key_is_refused(tmp_path):
    make(tmp_path)
    os.unlink(tmp_path / "ca.key")
    with pytest.raises(PkiError, match="ca.key does not"):
        make(tmp_path)


def test_check_mode_writes_nothing(tmp_path):
    result = make(tmp_path / "pki", check_mode=True)
    assert result["changed"] and result["ca_created"]
    assert not (tmp_path / "pki").exists()


def test_the_pki_directory_is_private(tmp_path):
    """Before the fix, the CA directory itself was created with the default 0755 (only members/ was 0700)."""
    pki = tmp_path / "pki" / "etcd"
    make(pki)
    assert oct(os.stat(pki).st_mode & 0o777) == "0o700"
    assert oct(os.stat(pki / "members").st_mode & 0o777) == "0o700"
    os.chmod(pki, 0o755)
    make(pki)
    assert oct(os.stat(pki).st_mode & 0o777) == "0o700"


def test_a_new_key_is_written_0600_from_its_first_byte(tmp_path, monkeypatch):
    import ansible_collections.dcs.etcd.plugins.module_utils._pki as pki_module
    seen = []
    real_rename = os.rename

    def rename(src, dst):
        seen.append((str(dst), os.stat(src).st_mode & 0o777))
        return real_rename(src, dst)

    monkeypatch.setattr(pki_module.os, "rename", rename)
    make(tmp_path)
    assert dict(seen)[str(tmp_path / "ca.key")] == 0o600 and dict(seen)[str(tmp_path / "members" / "10.0.0.11.key")] == 0o600


def test_a_client_certificate_is_client_only_and_has_no_sans(tmp_path):
    from ansible_collections.dcs.etcd.plugins.module_utils._pki import not_after
    make(tmp_path)
    result = ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client")
    assert result["cert_issued"] and result["cert"] == str(tmp_path / "clients" / "prometheus.crt")
    cert = load(result["cert"])
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert [u.dotted_string for u in usages] == ["1.3.6.1.5.5.7.3.2"]
    assert cert_sans(cert) == set()
    cert.verify_directly_issued_by(load(tmp_path / "ca.crt"))
    assert oct(os.stat(tmp_path / "clients").st_mode & 0o777) == "0o700"
    assert not ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client")["changed"]
    import time
    assert 29 * 86400 < not_after(result["cert"]) - time.time() <= 30 * 86400
    assert not_after(str(tmp_path / "absent.crt")) is None


def test_a_certificate_that_needs_the_existing_ca_never_makes_one(tmp_path):
    with pytest.raises(PkiError, match="has no CA"):
        ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client", ca_must_exist=True)
    assert not (tmp_path / "ca.crt").exists() and not (tmp_path / "ca.key").exists()
    make(tmp_path)
    assert ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client",
                  ca_must_exist=True)["cert_issued"]
