"""What nginx serves, judged against certbot's lineage: the certificate a new TLS connection
to nginx gets, not just the files in its folder. A SIGHUP that never arrived, or a reload
nginx refused (it keeps its old config then), leaves the right files and the old certificate.

Standard library only: the unit tests (tests/acme/) run it without certbot's cryptography.
"""

from __future__ import annotations

import enum
import socket
import ssl
from pathlib import Path

from acme_edge import certfiles


class State(enum.Enum):
    NOT_ISSUED = "no certificate issued yet: `docker compose logs acme` says why"
    NOT_INSTALLED = "nginx's folder holds another certificate than the lineage: the deploy hook failed (see the logs)"
    NOT_SERVED = ("nginx serves another certificate than the lineage: it has not reloaded, or refused to"
                  " (`docker compose logs nginx`); the acme service sends SIGHUP again")
    SERVED = "nginx serves the lineage's certificate"


def leaf(pem: bytes) -> bytes:
    """The first certificate of a PEM chain (fullchain.pem's leaf), in DER."""
    text = pem.decode("ascii")
    start = text.index(ssl.PEM_HEADER)
    end = text.index(ssl.PEM_FOOTER, start) + len(ssl.PEM_FOOTER)
    return ssl.PEM_cert_to_DER_cert(text[start:end])


def fetch(address: tuple[str, int], server_name: str, timeout: float = 5) -> bytes:
    """The leaf certificate a new TLS connection to `address` gets, in DER. Not verified:
    it is compared byte for byte with the lineage's, which is the check."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(address, timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=server_name) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError(f"{address[0]}:{address[1]} sent no certificate")
    return der


def state(lineage: Path, certs: Path, address: tuple[str, int], server_name: str) -> State:
    """Where the lineage's certificate stands. OSError: nginx does not answer TLS at
    `address`; ValueError: the lineage's fullchain.pem holds no certificate."""
    try:
        chain = (lineage / "fullchain.pem").read_bytes()
    except FileNotFoundError:
        return State.NOT_ISSUED
    if certfiles.read(certs) != chain:
        return State.NOT_INSTALLED
    return State.SERVED if fetch(address, server_name) == leaf(chain) else State.NOT_SERVED
