"""A node's TLS identity: a self-signed X.509 certificate for its member Ed25519 key.

There is no certificate authority. The certificate only carries the member key in the form TLS
needs; a peer pins the key, not the certificate. `key_of` checks that a certificate is what
`certificate_for` makes (Ed25519, signed by its own key) and returns the key.
"""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID

from commune.core.errors import CommuneError
from commune.core.keys import SecretKey

#: A certificate larger than this is not one of ours.
MAX_CERTIFICATE_BYTES = 2048
_NOT_BEFORE = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


class CertificateError(CommuneError):
    reason = "bad_certificate"


def certificate_for(key: SecretKey) -> tuple[bytes, bytes]:
    """(certificate DER, certificate and private key as PEM) for `key`.

    The validity spans all time: whether a key may connect is decided by the commune's state,
    never by dates on a certificate.
    """
    private = Ed25519PrivateKey.from_private_bytes(key.seed)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, key.public.hex())])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(int.from_bytes(key.public[:8], "big") | 1)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, None)
    )
    pem = cert.public_bytes(serialization.Encoding.PEM) + private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.DER), pem


def key_of(der: bytes) -> bytes:
    """The Ed25519 key a self-signed certificate is for; CertificateError if it is not one."""
    if not isinstance(der, bytes) or not 0 < len(der) <= MAX_CERTIFICATE_BYTES:
        raise CertificateError("the certificate is empty or too large")
    try:
        cert = x509.load_der_x509_certificate(der)
        public = cert.public_key()
    except Exception:  # the parser raises several kinds on hostile bytes
        raise CertificateError("the certificate cannot be read") from None
    if not isinstance(public, Ed25519PublicKey):
        raise CertificateError("the certificate is not for an Ed25519 key")
    try:
        public.verify(cert.signature, cert.tbs_certificate_bytes)
    except InvalidSignature:
        raise CertificateError("the certificate is not signed by its own key") from None
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
