"""NGINX_TLS=on on a Docker Swarm (one node): the certificate and key reach nginx as Docker
secrets (compose/swarm-tls.yml), and HTTPS answers with the local CA's certificate.

Short on purpose (2 replicas, one request): tests/e2e/test_swarm.py covers the swarm itself,
tests/e2e/test_tls.py and test_testssl.py the TLS settings.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import ports
from tests.conftest import dev_certs
from tests.e2e.load import wait_serving
from tests.e2e.test_swarm import Swarm, deployed

pytestmark = pytest.mark.e2e

STACK = "pycluster-swarm-tls-e2e"
HTTPS = ports.SWARM_TLS_HTTPS


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return dev_certs(tmp_path_factory.mktemp("swarm-tls") / "certs")


@pytest.fixture(scope="module")
def swarm_tls(docker: None, certs: Path) -> Iterator[Swarm]:
    swarm = Swarm(STACK, ports.SWARM_TLS_HTTP, NGINX_TLS="on", TLS_CERTS=str(certs), HTTPS_PORT=str(HTTPS))
    with deployed(swarm, SCALE="2") as up:
        # As a client would: over HTTPS, trusting the local CA. Plain HTTP only redirects.
        wait_serving(f"https://localhost:{HTTPS}", up.tasks(), verify=ssl.create_default_context(
            cafile=str(certs / "dev-ca.pem")))
        yield up


def test_https_answers_with_the_certificate_from_the_secrets(swarm_tls: Swarm, certs: Path) -> None:
    curl = subprocess.run(["curl", "-sS", "--fail", "--http2", "--cacert", str(certs / "dev-ca.pem"),
                           "-w", "\\n%{http_version}", f"https://localhost:{HTTPS}/api"],
                          capture_output=True, text=True, timeout=30)
    assert curl.returncode == 0, curl.stderr
    body, version = curl.stdout.rsplit("\n", 1)
    assert body == "Result number is 339111948196"
    assert version == "2", "HTTP/2, by ALPN"


def test_the_key_is_a_secret_of_nginx_alone(swarm_tls: Swarm) -> None:
    nginx = swarm_tls.service("nginx")["Spec"]
    secrets = {s["File"]["Name"]: s for s in nginx["TaskTemplate"]["ContainerSpec"]["Secrets"]}
    assert set(secrets) == {"/etc/nginx/certs/fullchain.pem", "/etc/nginx/certs/privkey.pem"}
    key = secrets["/etc/nginx/certs/privkey.pem"]["File"]
    assert (key["UID"], key["GID"], key["Mode"]) == ("101", "101", 0o400)
    assert [(p["TargetPort"], p["PublishedPort"], p["PublishMode"]) for p in nginx["EndpointSpec"]["Ports"]] \
        == [(8080, ports.SWARM_TLS_HTTP, "host"), (8443, HTTPS, "host")]
    assert not swarm_tls.service("api")["Spec"]["TaskTemplate"]["ContainerSpec"].get("Secrets"), \
        "the replicas get no key"


def test_plain_http_redirects_to_https(swarm_tls: Swarm) -> None:
    curl = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                           f"http://localhost:{ports.SWARM_TLS_HTTP}/api"], capture_output=True, text=True, timeout=30)
    assert curl.stdout == "308 https://localhost:8443/api", curl.stderr
