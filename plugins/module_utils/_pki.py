# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the cluster CA and member certificates, made with the
`cryptography` library on the controller (ansible-core already depends on it).

ECDSA P-256 keys: as strong as RSA-3072 for TLS and about thirty times cheaper to generate."""

from __future__ import annotations

import datetime
import fcntl
import ipaddress
import os
import stat
import tempfile

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as exc:  # reported when used, not when loaded
    CRYPTOGRAPHY_IMPORT_ERROR = exc
else:
    CRYPTOGRAPHY_IMPORT_ERROR = None


# Options of dcs.etcd.etcd_pki, shared by its action plugin and its documentation stub module.
ARGUMENT_SPEC = dict(
    pki_dir=dict(type="path", required=True),
    member=dict(type="str", required=True),
    common_name=dict(type="str", required=True),
    sans=dict(type="list", elements="str", required=True),
    ca_common_name=dict(type="str", default="dcs.etcd CA"),
    valid_days=dict(type="int", default=3650),
    ca_valid_days=dict(type="int", default=10950),
    kind=dict(type="str", choices=["member", "client"], default="member"),
    ca_must_exist=dict(type="bool", default=False),
)
# Where each kind of certificate lives in the PKI directory.
KIND_DIRS = {"member": "members", "client": "clients"}


class PkiError(Exception):
    pass


def normalize_san(entry):
    """'IP:x' / 'DNS:x' / a bare name or address -> canonical 'IP:...' or 'DNS:...'."""
    kind, sep, value = entry.partition(":")
    if sep and kind.upper() in ("IP", "DNS"):
        kind = kind.upper()
    else:
        kind, value = None, entry
    try:
        address = ipaddress.ip_address(value.strip("[]"))
        return "IP:" + address.compressed
    except ValueError:
        if kind == "IP":
            raise PkiError("not an IP address in SAN %r" % entry)
        return "DNS:" + value.lower()


def cert_sans(cert):
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    sans = set("DNS:" + name.lower() for name in ext.get_values_for_type(x509.DNSName))
    sans.update("IP:" + address.compressed for address in ext.get_values_for_type(x509.IPAddress))
    return sans


def _private_dir(path):
    """A directory only its owner can enter (0700): where the CA key and the member keys live."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if stat.S_IMODE(os.stat(path).st_mode) != 0o700:
        os.chmod(path, 0o700)


def _write(path, data, mode):
    """Write path atomically; the temporary file is created 0600 and given its mode before any byte is
    written, so a key is never readable by others, not even for a moment."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _new_key():
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path):
    with open(path, "rb") as handle:
        return serialization.load_pem_private_key(handle.read(), password=None)


def _load_cert(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read())


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _ski(cert):
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _public_bytes(key):
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def make_ca(common_name, days):
    key = _new_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_member_cert(ca_key, ca_cert, key, common_name, sans, days, client_only=False):
    """A member certificate (serverAuth and clientAuth, with SANs), or with client_only a client certificate
    (clientAuth only, such as the one Prometheus scrapes the members with)."""
    general = []
    for san in sans:
        kind, value = san.split(":", 1)
        general.append(x509.IPAddress(ipaddress.ip_address(value)) if kind == "IP" else x509.DNSName(value))
    now = _now()
    # etcd's gRPC gateway dials its own server with a member certificate: clientAuth is needed as well.
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if not client_only:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=not client_only, key_cert_sign=False,
                                     crl_sign=False, content_commitment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value), critical=False)
    )
    if general:
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def not_after(path):
    """The end of a PEM certificate's validity, in seconds since the epoch, or None when there is no file."""
    if not os.path.exists(path):
        return None
    cert = _load_cert(path)
    end = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return int(end.timestamp())


def member_cert_problem(cert, key, ca_cert, sans):
    """Why an existing member certificate must be reissued, or None when it is current."""
    if _public_bytes(cert.public_key()) != _public_bytes(key.public_key()):
        return "certificate does not match the member key"
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    if aki != _ski(ca_cert):
        return "certificate was signed by another CA"
    if cert_sans(cert) != set(sans):
        return "SANs changed"
    return None


def ensure(pki_dir, member, common_name, sans, ca_common_name, days, ca_days, check_mode=False, kind="member",
           ca_must_exist=False):
    """Ensure the CA (created once when absent) and one member's key and certificate in pki_dir (or, with
    kind="client", a client's in clients/).

    Returns a dict: changed, ca_created, key_created, cert_issued, reason."""
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise PkiError("the cryptography Python library is needed on the controller: %s" % CRYPTOGRAPHY_IMPORT_ERROR)
    sans = sorted(set(normalize_san(s) for s in sans))
    members = os.path.join(pki_dir, KIND_DIRS[kind])
    ca_key_path, ca_crt_path = os.path.join(pki_dir, "ca.key"), os.path.join(pki_dir, "ca.crt")
    key_path, crt_path = os.path.join(members, member + ".key"), os.path.join(members, member + ".crt")
    result = dict(changed=False, ca_created=False, key_created=False, cert_issued=False, reason=None,
                  ca_cert=ca_crt_path, cert=crt_path, key=key_path)
    if not check_mode:
        _private_dir(pki_dir)
        _private_dir(members)
    lock_path = os.path.join(pki_dir, ".lock")
    lock = open(lock_path, "a") if not check_mode else None
    try:
        if lock:
            # Members are handled by parallel workers; only one may create the CA.
            fcntl.flock(lock, fcntl.LOCK_EX)
        have_crt, have_key = os.path.exists(ca_crt_path), os.path.exists(ca_key_path)
        if have_crt and not have_key:
            raise PkiError("%s exists but %s does not: put the CA key beside its certificate, or move both "
                           "away to have a new CA made" % (ca_crt_path, ca_key_path))
        if have_key and not have_crt:
            raise PkiError("%s exists but %s does not: restore the CA certificate, or move the key away to "
                           "have a new CA made" % (ca_key_path, ca_crt_path))
        if not have_crt and ca_must_exist:
            raise PkiError("%s has no CA (ca.crt and ca.key), and this certificate must be signed by the cluster's "
                           "CA: run the certificate stage (etcd_cert) first, or point etcd_pki_dir at the cluster's CA"
                           % pki_dir)
        if not have_crt:
            result.update(changed=True, ca_created=True)
            if check_mode:
                result.update(key_created=not os.path.exists(key_path), cert_issued=True, reason="no CA yet")
                return result
            ca_key, ca_cert = make_ca(ca_common_name, ca_days)
            _write(ca_key_path, _key_pem(ca_key), 0o600)
            _write(ca_crt_path, ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
        else:
            ca_key, ca_cert = _load_key(ca_key_path), _load_cert(ca_crt_path)
    finally:
        if lock:
            fcntl.flock(lock, fcntl.LOCK_UN)
            lock.close()
    if os.path.exists(key_path):
        key = _load_key(key_path)
    else:
        result.update(changed=True, key_created=True)
        if check_mode:
            result.update(cert_issued=True, reason="no member key yet")
            return result
        key = _new_key()
        _write(key_path, _key_pem(key), 0o600)
    reason = "no certificate yet"
    if os.path.exists(crt_path):
        reason = member_cert_problem(_load_cert(crt_path), key, ca_cert, sans)
    if reason:
        result.update(changed=True, cert_issued=True, reason=reason)
        if not check_mode:
            cert = make_member_cert(ca_key, ca_cert, key, common_name, sans, days, client_only=kind == "client")
            _write(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return result
