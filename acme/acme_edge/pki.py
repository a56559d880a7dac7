"""Certificates in PEM: the placeholder, and one line about a certificate for the log."""

from __future__ import annotations

import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# Short: it is replaced within seconds of a working issuance; a browser rejects it anyway.
VALID = datetime.timedelta(days=1)
ORGANIZATION = "placeholder: no ACME certificate yet"


def placeholder(domains: list[str]) -> tuple[bytes, bytes]:
    """(fullchain, privkey) in PEM, for `domains`."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domains[0]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALID)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in domains]), critical=False)
            .sign(key, hashes.SHA256()))
    pem: bytes = cert.public_bytes(serialization.Encoding.PEM)
    private: bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    return pem, private


def describe(pem: bytes) -> str:
    cert = x509.load_pem_x509_certificate(pem)
    return (f"serial {cert.serial_number:x}, issuer {cert.issuer.rfc4514_string()},"
            f" valid until {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC")
