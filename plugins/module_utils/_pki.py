# -*- coding: utf-8 -*-
# Copyright: dcs.etcd contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE to the dcs.etcd collection: the cluster CA and member certificates, made with the
`cryptography` library on the controller (ansible-core already depends on it).

ECDSA P-256 keys: as strong as RSA-3072 for TLS and about thirty times cheaper to generate."""

from __future__ import (absolute_import, division, print_function)
from __future__ import annotations
__metaclass__ = type

import datetime
import fcntl
import ipaddress
import json
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
    renew_days=dict(type="int", default=0),
    ca_warn_days=dict(type="int", default=0),
    ca_fail_days=dict(type="int", default=0),
)

# Options of dcs.etcd.etcd_ca_rotation.
ROTATION_ARGUMENT_SPEC = dict(
    pki_dir=dict(type="path", required=True),
    step=dict(type="str", choices=["begin", "reissue", "finish", "complete", "installed"], required=True),
    ca_common_name=dict(type="str", default="dcs.etcd CA"),
    ca_valid_days=dict(type="int", default=10950),
)
# Where each kind of certificate lives in the PKI directory.
KIND_DIRS = {"member": "members", "client": "clients"}


class PkiError(Exception):
    pass


def ca_expiry_problem(ca_days_left, warn_days, fail_days):
    """("fail" | "warn", message) when the CA expires too soon, else None. Certificates the role issues are
    renewed by a plain run; the CA is not (a rotation replaces it)."""
    if ca_days_left is None:
        return None
    for level, limit, name in (("fail", fail_days, "etcd_cert_fail_days"), ("warn", warn_days, "etcd_cert_warn_days")):
        if limit and ca_days_left < limit:
            return level, ("the cluster CA expires in %d days (%s=%d): rotate it with ./etcd.yml -t etcd_ca_rotate "
                           "(docs/security.md)" % (ca_days_left, name, limit))
    return None


# --- CA rotation ------------------------------------------------------------------------------------------
# A rotation goes through phases, recorded in ROTATION_STATE in the PKI directory, each one safe for a plain
# run as well (a plain run during a rotation keeps to its phase):
#   trust   - the new CA (ca-next.crt/.key) exists; members and clients trust old and new; the old one signs;
#   reissue - the new CA signs every certificate the role issues; both are still trusted;
#   finish  - only the new CA is trusted.
# Completing it makes the new CA ca.crt/ca.key (the old pair goes to retired/) and ends the rotation.
NEXT_CRT, NEXT_KEY, ROTATION_STATE, TRUST_FILE = "ca-next.crt", "ca-next.key", "ca-rotation.json", "ca-trust.crt"
PHASES = ("trust", "reissue", "finish")
NEXT = {
    "trust": "Phase trust is done: the members and clients trust the old and the new CA. Restart the consumers that "
             "read their CA file only at start, then run ./etcd.yml -t etcd_ca_rotate again (reissue).",
    "reissue": "Phase reissue is done: the new CA issued every certificate. Restart the consumers that read their "
               "certificate only at start, then run ./etcd.yml -t etcd_ca_rotate again (finish: the old CA is no longer "
               "trusted).",
    "finish": "Phase finish is done: only the new CA is trusted. Run ./etcd.yml -t etcd_ca_rotate again to complete.",
    None: "The CA rotation is complete: the new CA is ca.crt, the old one is in retired/. Restart the consumers that "
          "read their CA file only at start.",
}
STEPS = ("begin", "reissue", "finish", "complete", "installed")


def rotation_installed(pki_dir):
    """Whether the phase in progress reached every host: a step records its phase with installed false, and the
    role records it installed once every host holds it and the cluster is healthy again. A run interrupted in
    between leaves it false: the next run installs the same phase again before it takes another step. A state
    of a release that did not record it counts as installed."""
    return rotation_state(pki_dir).get("installed", True) is not False


def rotation_state(pki_dir):
    """The recorded state of a CA rotation in progress ({} when none)."""
    path = os.path.join(pki_dir, ROTATION_STATE)
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        state = json.load(handle)
    return state if isinstance(state, dict) else {"phase": state}


def rotation_phase(pki_dir):
    """The phase of a CA rotation in progress, or None."""
    path = os.path.join(pki_dir, ROTATION_STATE)
    if not os.path.exists(path):
        return None
    phase = rotation_state(pki_dir).get("phase")
    if phase not in PHASES:
        raise PkiError("%s names no phase of a CA rotation (%r): restore it, or see docs/security.md" % (path, phase))
    return phase


def signing_ca_names(phase):
    """The (certificate, key) file names of the CA that signs in a phase."""
    return (NEXT_CRT, NEXT_KEY) if phase in ("reissue", "finish") else ("ca.crt", "ca.key")


def trusted_ca_names(phase):
    """The CA certificates members and clients trust in a phase, in order."""
    return {None: ["ca.crt"], "trust": ["ca.crt", NEXT_CRT], "reissue": ["ca.crt", NEXT_CRT], "finish": [NEXT_CRT]}[phase]


def _pem(path):
    with open(path, "rb") as handle:
        return handle.read().strip()


def ca_file(pki_dir, name):
    """A CA file of the PKI directory; while a rotation completes, the new CA moves from ca-next.* to ca.*: a
    name of the new CA that is gone already means the file it became."""
    path = os.path.join(pki_dir, name)
    retire_as = rotation_state(pki_dir).get("retire_as") if not os.path.exists(path) else None
    if retire_as and name in (NEXT_CRT, NEXT_KEY):
        return os.path.join(pki_dir, "ca.crt" if name == NEXT_CRT else "ca.key")
    if retire_as and name in ("ca.crt", "ca.key"):
        return os.path.join(pki_dir, "retired", name.replace("ca.", "ca-%s." % retire_as))
    return path


def trust_content(pki_dir, phase):
    """The trust bundle of a phase: the PEM certificates, one after the other (bytes)."""
    return b"\n".join(_pem(ca_file(pki_dir, name)) for name in trusted_ca_names(phase)) + b"\n"


def write_trust(pki_dir, phase):
    """Keep ca-trust.crt, the file members and clients receive as their CA file, to the phase. True if written."""
    content = trust_content(pki_dir, phase)
    path = os.path.join(pki_dir, TRUST_FILE)
    if os.path.exists(path) and _pem(path) + b"\n" == content:
        return False
    _write(path, content, 0o644)
    return True


def accepted_trust(pki_dir):
    """Every CA file content a member may hold now (bytes): the current bundle, and during a rotation those of the
    phases either side of it (a member not reached yet, or one an interrupted run already moved on)."""
    if not os.path.exists(os.path.join(pki_dir, "ca.crt")):
        return []
    phase = rotation_phase(pki_dir)
    phases = [phase] if phase is None else [None, "trust", "finish"]
    return [trust_content(pki_dir, p) for p in phases]


def rotate(pki_dir, step, ca_common_name, ca_days, stamp, check_mode=False):
    """One step of a CA rotation; each is a no-op when it is already done, and refused out of order.
    Returns dict(changed, phase_before, phase)."""
    if step not in STEPS:
        raise PkiError("no such step of a CA rotation: %s" % step)
    lock = open(os.path.join(pki_dir, ".lock"), "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(pki_dir, "ca.crt")) and not rotation_state(pki_dir).get("retire_as"):
            raise PkiError("%s holds no CA to rotate" % pki_dir)
        phase = rotation_phase(pki_dir)
        result = dict(changed=False, phase_before=phase, phase=phase, next=NEXT[phase])
        if step == "installed":
            # Records that the phase in progress is on every host; nothing to record outside a rotation.
            if phase is None or rotation_installed(pki_dir):
                return result
            result["changed"] = True
            if not check_mode:
                _write(os.path.join(pki_dir, ROTATION_STATE),
                       (json.dumps(dict(rotation_state(pki_dir), installed=True)) + "\n").encode(), 0o644)
            return result
        order = [None] + list(PHASES)
        target = {"begin": "trust", "reissue": "reissue", "finish": "finish", "complete": None}[step]
        if step == "complete":
            if phase is None:
                return result
            if phase != "finish":
                raise PkiError("the CA rotation is in phase %s: it can be completed only once only the new CA is "
                               "trusted (phase finish)" % phase)
        elif phase is None and step != "begin":
            raise PkiError("no CA rotation is in progress (step %s): begin it first" % step)
        elif order.index(phase) >= order.index(target):
            return result
        elif order.index(target) != order.index(phase) + 1:
            raise PkiError("the CA rotation is in phase %s: step %s comes later" % (phase, step))
        result.update(changed=True, phase=target, next=NEXT[target])
        if check_mode:
            return result
        if step == "begin":
            key, cert = make_ca(ca_common_name, ca_days)
            _write(os.path.join(pki_dir, NEXT_KEY), _key_pem(key), 0o600)
            _write(os.path.join(pki_dir, NEXT_CRT), cert.public_bytes(serialization.Encoding.PEM), 0o644)
        if step == "complete":
            # Resumable: the name the old CA retires under is recorded first, and each move is made only if it is
            # still to be made, so a run interrupted between two of them finishes the others.
            state = rotation_state(pki_dir)
            retire_as = state.get("retire_as") or stamp
            if not state.get("retire_as"):
                _write(os.path.join(pki_dir, ROTATION_STATE),
                       (json.dumps(dict(state, retire_as=retire_as)) + "\n").encode(), 0o644)
            retired = os.path.join(pki_dir, "retired")
            _private_dir(retired)
            swapped = not os.path.exists(os.path.join(pki_dir, NEXT_CRT)) and not os.path.exists(os.path.join(pki_dir, NEXT_KEY))
            for name in ("ca.key", "ca.crt"):
                old_path, kept = os.path.join(pki_dir, name), os.path.join(retired, name.replace("ca.", "ca-%s." % retire_as))
                if not swapped and os.path.exists(old_path) and not os.path.exists(kept):
                    os.rename(old_path, kept)
            for name, new_name in ((NEXT_KEY, "ca.key"), (NEXT_CRT, "ca.crt")):
                if os.path.exists(os.path.join(pki_dir, name)) and not os.path.exists(os.path.join(pki_dir, new_name)):
                    os.rename(os.path.join(pki_dir, name), os.path.join(pki_dir, new_name))
            os.unlink(os.path.join(pki_dir, ROTATION_STATE))
        else:
            _write(os.path.join(pki_dir, ROTATION_STATE),
                   (json.dumps(dict(phase=target, step=step, at=stamp, installed=False)) + "\n").encode(), 0o644)
        write_trust(pki_dir, target)
        return result
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()


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


def subject_of(common_name, unit):
    """A certificate's subject: CN=common_name, or, for an empty common_name, O=dcs.etcd, OU=unit and no CN
    (for clients of etcd's HTTP gateway, which refuses a CN while RBAC is on)."""
    if common_name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dcs.etcd"),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit)])


def common_name_of(cert):
    """A certificate's CN, or "" when it has none."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return values[0].value if values else ""


def authority_key_id(ca_cert):
    """The authority key identifier of certificates ca_cert signs: its subject key identifier, or one derived
    from its public key when it has none (a CA made elsewhere, such as an imported one)."""
    try:
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
            ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key())


def make_member_cert(ca_key, ca_cert, key, common_name, sans, days, client_only=False, unit="client"):
    """A member certificate (serverAuth and clientAuth, with SANs), or with client_only a client certificate
    (clientAuth only, such as the one Prometheus scrapes the members with). An empty common_name gives a
    subject without CN (subject_of)."""
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
        .subject_name(subject_of(common_name, unit))
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
        .add_extension(authority_key_id(ca_cert), critical=False)
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


def days_left(cert, now=None):
    """Whole days until a certificate expires (negative once it has)."""
    end = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    return int((end - (now or _now())).total_seconds() // 86400)


def member_cert_problem(cert, key, ca_cert, sans, renew_days=0, common_name=None, now=None):
    """Why an existing member certificate must be reissued, or None when it is current."""
    if _public_bytes(cert.public_key()) != _public_bytes(key.public_key()):
        return "certificate does not match the member key"
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except x509.ExtensionNotFound:
        aki = None
    if aki != authority_key_id(ca_cert).key_identifier:
        return "certificate was signed by another CA"
    if cert_sans(cert) != set(sans):
        return "SANs changed"
    if common_name is not None and common_name_of(cert) != common_name:
        return "common name changed"
    left = days_left(cert, now)
    if left < renew_days:
        return "expires in %d days (renewed within etcd_cert_renew_days=%d)" % (left, renew_days)
    return None


def ensure(pki_dir, member, common_name, sans, ca_common_name, days, ca_days, check_mode=False, kind="member",
           ca_must_exist=False, renew_days=0):
    """Ensure the CA (created once when absent) and one member's key and certificate in pki_dir (or, with
    kind="client", a client's in clients/).

    Returns a dict: changed, ca_created, key_created, cert_issued, reason."""
    if CRYPTOGRAPHY_IMPORT_ERROR is not None:
        raise PkiError("the cryptography Python library is needed on the controller: %s" % CRYPTOGRAPHY_IMPORT_ERROR)
    if not common_name and kind != "client":
        raise PkiError("common_name is empty: only a client certificate (kind=client) may have no CN")
    sans = sorted(set(normalize_san(s) for s in sans))
    members = os.path.join(pki_dir, KIND_DIRS[kind])
    ca_key_path, ca_crt_path = os.path.join(pki_dir, "ca.key"), os.path.join(pki_dir, "ca.crt")
    key_path, crt_path = os.path.join(members, member + ".key"), os.path.join(members, member + ".crt")
    result = dict(changed=False, ca_created=False, key_created=False, cert_issued=False, reason=None,
                  ca_cert=ca_crt_path, cert=crt_path, key=key_path, days_left=days, ca_days_left=ca_days, serial=None)
    if not check_mode:
        _private_dir(pki_dir)
        _private_dir(members)
    lock_path = os.path.join(pki_dir, ".lock")
    lock = open(lock_path, "a") if not check_mode else None
    try:
        if lock:
            # Members are handled by parallel workers; only one may create the CA.
            fcntl.flock(lock, fcntl.LOCK_EX)
        rotating = bool(rotation_state(pki_dir))
        # During a CA rotation the CA files are the rotation's (and move while it completes): never made here.
        have_crt = rotating or os.path.exists(ca_crt_path)
        have_key = rotating or os.path.exists(ca_key_path)
        if have_crt and not have_key:
            raise PkiError("%s exists but %s does not: put the CA key beside its certificate, or move both "
                           "away to have a new CA made" % (ca_crt_path, ca_key_path))
        if have_key and not have_crt:
            raise PkiError("%s exists but %s does not: restore the CA certificate, or move the key away to "
                           "have a new CA made" % (ca_key_path, ca_crt_path))
        # In check mode, the CA a real run would have made earlier in the run is not there yet.
        if not have_crt and ca_must_exist and not check_mode:
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
            phase = None
        else:
            # During a CA rotation, the CA of its phase signs.
            phase = rotation_phase(pki_dir)
            crt_name, key_name = signing_ca_names(phase)
            ca_key = _load_key(ca_file(pki_dir, key_name))
            ca_cert = _load_cert(ca_file(pki_dir, crt_name))
            result["ca_days_left"] = days_left(ca_cert)
        result["rotation_phase"] = phase
        if not check_mode:
            write_trust(pki_dir, phase)
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
    reason, cert = "no certificate yet", None
    if os.path.exists(crt_path):
        cert = _load_cert(crt_path)
        reason = member_cert_problem(cert, key, ca_cert, sans, renew_days, common_name if kind == "client" else None)
    if reason:
        result.update(changed=True, cert_issued=True, reason=reason)
        if not check_mode:
            cert = make_member_cert(ca_key, ca_cert, key, common_name, sans, days, client_only=kind == "client",
                                    unit=member)
            _write(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    if cert is not None and not (reason and check_mode):
        result.update(days_left=days_left(cert), serial="%x" % cert.serial_number)
    return result
