"""The controller PKI, with real keys and certificates in a temporary directory."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type
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
    # In check mode, the run's earlier task would have made it: reported, nothing written.
    checked = ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client", ca_must_exist=True,
                     check_mode=True)
    assert checked["changed"] and checked["cert_issued"] and not (tmp_path / "ca.crt").exists()
    make(tmp_path)
    assert ensure(str(tmp_path), "prometheus", "prometheus", [], "test CA", 30, 90, kind="client",
                  ca_must_exist=True)["cert_issued"]


# --- renewal, expiry, CA rotation --------------------------------------------------------------------------

from ansible_collections.dcs.etcd.plugins.module_utils import _pki  # noqa: E402


def test_a_certificate_within_the_renewal_window_is_issued_again(tmp_path):
    first = make(tmp_path)
    assert first["days_left"] in (29, 30) and first["ca_days_left"] in (89, 90) and first["serial"]
    # 30-day certificates, renewed within 20 days: nothing yet.
    assert not make(tmp_path, renew_days=20)["changed"]
    renewed = make(tmp_path, renew_days=31)
    assert renewed["cert_issued"] and renewed["reason"].split(" (")[0] in ("expires in 29 days", "expires in 30 days") and not renewed["key_created"]
    assert renewed["serial"] != first["serial"]


def test_a_client_certificate_with_another_common_name_is_issued_again(tmp_path):
    ensure(str(tmp_path), "patroni", "patroni-a", [], "test CA", 30, 90, kind="client")
    again = ensure(str(tmp_path), "patroni", "patroni-b", [], "test CA", 30, 90, kind="client")
    assert again["cert_issued"] and again["reason"] == "common name changed"


def test_a_client_certificate_without_common_name(tmp_path):
    # For etcd's HTTP gateway (Patroni), which refuses a client certificate with a CN while RBAC is on.
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    ensure(str(tmp_path), "patroni", "patroni-a", [], "test CA", 30, 90, kind="client")
    moved = ensure(str(tmp_path), "patroni", "", [], "test CA", 30, 90, kind="client")
    assert moved["cert_issued"] and moved["reason"] == "common name changed"
    cert = load(tmp_path / "clients" / "patroni.crt")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME) == []
    assert cert.subject.rfc4514_string() == "OU=patroni,O=dcs.etcd"
    assert list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not ensure(str(tmp_path), "patroni", "", [], "test CA", 30, 90, kind="client")["changed"]
    # A member certificate always names its member.
    with pytest.raises(PkiError, match="only a client certificate"):
        ensure(str(tmp_path), "10.0.0.11", "", list(SANS), "test CA", 30, 90)


@pytest.mark.parametrize("days,expected", [(100, None), (50, "warn"), (10, "fail")])
def test_the_ca_expiry_warns_then_fails(days, expected):
    problem = _pki.ca_expiry_problem(days, 90, 14)
    assert (problem[0] if problem else None) == expected
    if problem:
        name = "etcd_cert_fail_days" if expected == "fail" else "etcd_cert_warn_days"
        assert "etcd_ca_rotate" in problem[1] and name in problem[1]


def test_a_ca_rotation_goes_through_its_phases(tmp_path):
    pki = str(tmp_path)
    make(tmp_path)
    old = load(tmp_path / "ca.crt")
    trust = (tmp_path / "ca-trust.crt").read_bytes()
    assert trust.count(b"BEGIN CERTIFICATE") == 1 and _pki.accepted_trust(pki) == [trust]
    # Out of order: refused.
    for step in ("reissue", "finish"):
        with pytest.raises(PkiError, match="no CA rotation is in progress"):
            _pki.rotate(pki, step, "new CA", 90, "T1")
    assert not _pki.rotate(pki, "complete", "new CA", 90, "T1")["changed"]
    # begin: both trusted, the old one still signs (the member certificate stays).
    begun = _pki.rotate(pki, "begin", "new CA", 90, "T1")
    assert (begun["changed"], begun["phase_before"], begun["phase"]) == (True, None, "trust") and "reissue" in begun["next"]
    assert not _pki.rotate(pki, "begin", "new CA", 90, "T1")["changed"]
    assert (tmp_path / "ca-trust.crt").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    assert not make(tmp_path)["changed"]
    with pytest.raises(PkiError, match="step finish comes later"):
        _pki.rotate(pki, "finish", "new CA", 90, "T1")
    # Every CA file a member may hold meanwhile is accepted by the plan: the old alone, both, the new alone.
    assert len(_pki.accepted_trust(pki)) == 3 and trust in _pki.accepted_trust(pki)
    # Each phase is recorded as not on every host yet, until the role records it installed (once only).
    assert not _pki.rotation_installed(pki)
    assert _pki.rotate(pki, "installed", "new CA", 90, "T1", check_mode=True)["changed"] and not _pki.rotation_installed(pki)
    marked = _pki.rotate(pki, "installed", "new CA", 90, "T1")
    assert (marked["changed"], marked["phase"]) == (True, "trust") and "reissue" in marked["next"]
    assert _pki.rotation_installed(pki) and not _pki.rotate(pki, "installed", "new CA", 90, "T1")["changed"]
    # reissue: the new CA signs.
    assert _pki.rotate(pki, "reissue", "new CA", 90, "T1")["phase"] == "reissue"
    assert not _pki.rotation_installed(pki)
    reissued = make(tmp_path)
    assert reissued["cert_issued"] and reissued["reason"] == "certificate was signed by another CA"
    new = load(tmp_path / "ca-next.crt")
    load(tmp_path / "members" / "10.0.0.11.crt").verify_directly_issued_by(new)
    with pytest.raises(PkiError, match="can be completed only once"):
        _pki.rotate(pki, "complete", "new CA", 90, "T1")
    # finish: the new CA alone is trusted; complete: it becomes ca.crt, the old one is retired.
    assert _pki.rotate(pki, "finish", "new CA", 90, "T1")["phase"] == "finish"
    assert (tmp_path / "ca-trust.crt").read_bytes().strip() == (tmp_path / "ca-next.crt").read_bytes().strip()
    done = _pki.rotate(pki, "complete", "new CA", 90, "T2")
    assert (done["changed"], done["phase_before"], done["phase"]) == (True, "finish", None) and "complete" in done["next"]
    assert load(tmp_path / "ca.crt").fingerprint(_hashes()) == new.fingerprint(_hashes())
    assert load(tmp_path / "retired" / "ca-T2.crt").fingerprint(_hashes()) == old.fingerprint(_hashes())
    assert not (tmp_path / "ca-next.key").exists() and _pki.rotation_phase(pki) is None
    assert not _pki.rotate(pki, "installed", "new CA", 90, "T3")["changed"]
    # The next plain run changes nothing: the member certificate is the new CA's already.
    assert not make(tmp_path)["changed"]


def test_check_mode_of_a_rotation_writes_nothing(tmp_path):
    make(tmp_path)
    assert _pki.rotate(str(tmp_path), "begin", "new CA", 90, "T1", check_mode=True)["phase"] == "trust"
    assert not (tmp_path / "ca-next.crt").exists() and _pki.rotation_phase(str(tmp_path)) is None


def _hashes():
    from cryptography.hazmat.primitives import hashes
    return hashes.SHA256()


def test_a_completion_interrupted_between_its_moves_is_finished_by_the_next_run(tmp_path, monkeypatch):
    pki = str(tmp_path)
    make(tmp_path)
    for step in ("begin", "reissue", "finish"):
        _pki.rotate(pki, step, "new CA", 90, "T1")
    new = load(tmp_path / "ca-next.crt")
    real_rename, calls = os.rename, []

    def failing_rename(src, dst):
        calls.append(src)
        if len(calls) == 3:
            raise OSError("interrupted")
        real_rename(src, dst)
    monkeypatch.setattr(_pki.os, "rename", failing_rename)
    with pytest.raises(OSError):
        _pki.rotate(pki, "complete", "new CA", 90, "T2")
    monkeypatch.setattr(_pki.os, "rename", real_rename)
    # Meanwhile the trust bundle and the signing CA still resolve (the plan and a plain run work).
    assert _pki.rotation_phase(pki) == "finish" and len(_pki.accepted_trust(pki)) == 3
    assert make(tmp_path)["ca_days_left"] is not None
    assert _pki.rotate(pki, "complete", "new CA", 90, "T3")["phase"] is None
    assert load(tmp_path / "ca.crt").fingerprint(_hashes()) == new.fingerprint(_hashes())
    assert sorted(p.name for p in (tmp_path / "retired").iterdir()) == ["ca-T2.crt", "ca-T2.key"]
    assert not make(tmp_path)["changed"]


def test_an_imported_rsa_ca_without_key_identifier_signs_and_is_recognised(tmp_path):
    # A CA made elsewhere (Pigsty's is RSA; other tools leave out the subject key identifier): copied into the
    # PKI directory, it signs the member certificate, which a second run keeps.
    import datetime
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pigsty-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=3650))
          .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True).sign(key, hashes.SHA256()))
    (tmp_path / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                                        serialization.NoEncryption()))
    os.chmod(tmp_path / "ca.key", 0o600)
    first = make(tmp_path)
    assert first["cert_issued"] and not first["ca_created"]
    load(first["cert"]).verify_directly_issued_by(ca)
    assert not make(tmp_path)["changed"]
