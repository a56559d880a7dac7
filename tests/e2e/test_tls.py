"""NGINX_TLS=on with a certificate from the local CA (`make certs`): HTTPS on HTTP/1.1 and
HTTP/2, plain HTTP redirected, and the replicas told the client's scheme."""

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import TLS_NAME, dev_certs
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

ARTICLE = "Result number is 339111948196"


def test_a_client_cannot_claim_https_over_plain_http(stack: Stack) -> None:
    """TLS off: nginx sets X-Forwarded-Proto from its own listener, over what the client sent."""
    response = httpx.get(f"{stack.base_url}/api/", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert response.status_code == 307, response.text
    assert response.headers["location"] == f"{stack.base_url}/api"


@pytest.fixture(scope="module")
def tls(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The session stack's nginx with TLS on: its HTTPS base URL and the CA to trust."""
    certs = dev_certs(tmp_path_factory.mktemp("certs"))
    with stack.with_tls(certs) as https:
        yield https, certs / "dev-ca.pem"


def curl(*args: str) -> dict[str, str]:
    """curl's view of one request: status, HTTP version, the Location and HSTS headers, body."""
    out = "%{http_code}\\n%{http_version}\\n%header{location}\\n%header{strict-transport-security}\\n"
    done = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\\n" + out, *args],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"curl {' '.join(args)}: {done.stderr}"
    body, status, version, location, hsts = done.stdout.rsplit("\n", 5)[:5]
    return {"status": status, "version": version, "location": location, "hsts": hsts, "body": body}


def by_name(https: str) -> tuple[str, str]:
    """curl's --resolve and the URL that reach this nginx by TLS_NAME, as a real host would be."""
    port = https.rsplit(":", 1)[1]
    return f"{TLS_NAME}:{port}:127.0.0.1", f"https://{TLS_NAME}:{port}"


@pytest.mark.parametrize(("flag", "version"), [("--http1.1", "1.1"), ("--http2", "2")])
def test_https_answers_the_article_on_http1_and_http2(tls: tuple[str, Path], flag: str, version: str) -> None:
    https, ca = tls
    resolve, url = by_name(https)
    got = curl(flag, "--cacert", str(ca), "--resolve", resolve, f"{url}/api")
    assert (got["status"], got["version"], got["body"]) == ("200", version, ARTICLE), got
    assert got["hsts"] == "max-age=31536000", got


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
def test_no_hsts_for_localhost_or_an_address(tls: tuple[str, Path], host: str) -> None:
    """A browser keeps HSTS per host name: a year of it on localhost would send every other
    development server there to HTTPS."""
    https, ca = tls
    got = curl("--cacert", str(ca), https.replace("localhost", host) + "/api")
    assert (got["status"], got["body"], got["hsts"]) == ("200", ARTICLE, ""), got


def test_an_untrusted_certificate_is_refused(tls: tuple[str, Path]) -> None:
    """The check above means something: without the local CA, curl refuses the server."""
    https, _ = tls
    done = subprocess.run(["curl", "-sS", "--max-time", "10", f"{https}/api"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 60, done  # CURLE_PEER_FAILED_VERIFICATION


def test_plain_http_redirects_but_for_acme_and_health(stack: Stack, tls: tuple[str, Path]) -> None:
    """308 to HTTPS's port (8443 in development: the host name's port is not HTTP's default),
    with the path and query kept; the ACME challenge path and nginx's health stay on HTTP."""
    port = stack.base_url.rsplit(":", 1)[1]
    redirect = curl(f"http://localhost:{port}/api?n=5")
    assert (redirect["status"], redirect["location"]) == ("308", "https://localhost:8443/api?n=5"), redirect
    assert redirect["hsts"] == "", "HSTS is for HTTPS responses only"
    default_port = curl("-H", "Host: api.example.com", f"http://localhost:{port}/api")
    assert default_port["location"] == "https://api.example.com/api", default_port
    assert curl(f"http://localhost:{port}/nginx-health")["status"] == "200"
    assert curl(f"http://localhost:{port}/.well-known/acme-challenge/nothing")["status"] == "404"


def test_the_replica_sees_https_as_the_scheme(tls: tuple[str, Path]) -> None:
    """The app's own redirect (/api/ to /api) is an absolute URL built from the scheme and
    host uvicorn believes: https and the client's host and port, as nginx passed them."""
    https, ca = tls
    response = httpx.get(f"{https}/api/", verify=ssl.create_default_context(cafile=ca), timeout=10)
    assert response.status_code == 307, response.text
    assert response.headers["location"] == f"{https}/api"
    assert response.headers["x-replica"]
