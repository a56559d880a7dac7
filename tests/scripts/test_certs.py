"""scripts/certs.sh (make certs): a local CA kept across runs, a fresh localhost certificate."""

import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


def make_certs(out: Path, ca: Path) -> str:
    done = subprocess.run(["bash", str(ROOT / "scripts" / "certs.sh"), str(out)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "CA_DIR": str(ca)}, timeout=60, check=True)
    return done.stdout


def openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def test_the_certificate_is_for_localhost_and_verifies_against_the_dev_ca(tmp_path: Path) -> None:
    out = make_certs(tmp_path / "certs", tmp_path / "ca")
    certs = tmp_path / "certs"
    assert "signed by" in out and "curl --cacert" in out
    chain = str(certs / "fullchain.pem")
    assert openssl("verify", "-CAfile", str(certs / "dev-ca.pem"), chain).strip() == f"{chain}: OK"
    text = openssl("x509", "-in", chain, "-noout", "-ext", "subjectAltName,extendedKeyUsage")
    assert "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1" in text
    assert "TLS Web Server Authentication" in text
    # The key matches the certificate: the same public key from both.
    assert openssl("pkey", "-in", str(certs / "privkey.pem"), "-pubout") == openssl("x509", "-in", chain, "-noout",
                                                                                      "-pubkey")
    assert (certs / "privkey.pem").stat().st_mode & 0o044 == 0o044, "nginx (uid 101) must read the dev key"


def test_a_second_run_keeps_the_ca_and_makes_a_new_certificate(tmp_path: Path) -> None:
    make_certs(tmp_path / "one", tmp_path / "ca")
    make_certs(tmp_path / "two", tmp_path / "ca")
    assert (tmp_path / "one" / "dev-ca.pem").read_bytes() == (tmp_path / "two" / "dev-ca.pem").read_bytes()

    def serial(folder: str) -> str:
        return openssl("x509", "-in", str(tmp_path / folder / "fullchain.pem"), "-noout", "-serial")

    assert serial("one") != serial("two")
    assert (tmp_path / "ca" / "ca-key.pem").stat().st_mode & 0o077 == 0, "the CA key is its owner's alone"
    assert not (tmp_path / "two" / "ca-key.pem").exists(), "the CA key never goes where nginx reads"
