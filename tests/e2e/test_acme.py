"""The acme profile for real: certbot gets nginx's certificate from pebble (Let's Encrypt's
ACME test server) by HTTP-01 through nginx, then the stock `certbot renew --force-renewal`
swaps it under a steady HTTPS load: nginx reloads (same container), no request fails."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import images
from acme_edge import deploy, loop, served
from tests import ports
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.e2e.load import LoadLoop
from tests.wait import until

pytestmark = pytest.mark.e2e

PROJECT = "pycluster-e2e-acme"
DOMAIN = "edge.pycluster.test"  # nginx's alias on the edge network (tests/e2e/acme/compose.yml)
OVERRIDE = "tests/e2e/acme/compose.yml"


@dataclass
class AcmeStack:
    stack: Stack
    https_port: int
    root: Path  # pebble's root CA, from its management API

    def trust(self) -> ssl.SSLContext:
        """Pebble's root alone. No name check here: the load dials 127.0.0.1 (served() checks it)."""
        context = ssl.create_default_context(cafile=str(self.root))
        context.check_hostname = False
        return context

    def served(self) -> dict:
        """The certificate a new HTTPS connection gets for DOMAIN, verified up to pebble's root."""
        context = ssl.create_default_context(cafile=str(self.root))
        with socket.create_connection(("127.0.0.1", self.https_port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
            return tls.getpeercert()  # type: ignore[return-value]


@pytest.fixture(scope="module")
def acme(docker: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AcmeStack]:
    image = images.images(["PEBBLE_IMAGE"])["PEBBLE_IMAGE"]
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
        pytest.fail(f"the pebble image {image} is missing: scripts/setup.sh images PEBBLE_IMAGE builds it",
                    pytrace=False)
    stack = Stack(PROJECT, ports.ACME_HTTP, files=(OVERRIDE,))
    stack.env.update(COMPOSE_PROFILES="acme", NGINX_TLS="on", TLS_CERTS="acme-certs", PEBBLE_IMAGE=image,
                     ACME_DOMAINS=DOMAIN, ACME_EMAIL="ops@pycluster.test", ACME_SERVER="https://pebble:14000/dir",
                     ACME_CA_BUNDLE="/pebble/pebble.minica.pem")
    stack.compose("down", "--volumes", "--remove-orphans", "-t", "5")
    try:
        # pebble first, waited for from here (it has no healthcheck: tests/e2e/acme/compose.yml),
        # so that certbot's first try finds it.
        stack.compose("up", "-d", "pebble")
        folder = tmp_path_factory.mktemp("pebble")
        api_ca = folder / "api-ca.pem"
        stack.compose("cp", "pebble:/test/certs/pebble.minica.pem", str(api_ca))
        trust_api = ssl.create_default_context(cafile=str(api_ca))
        directory = f"https://localhost:{port(stack, 'pebble', 14000)}/dir"
        until("pebble to answer its ACME directory", lambda: status(directory, trust_api), lambda code: code == 200,
              60, every_s=0.2)
        # --wait: the acme service is healthy once nginx serves pebble's certificate.
        stack.compose("up", "-d", "--build", "--wait", "--scale", "api=2", timeout=600)
        management = port(stack, "pebble", 15000)
        root = folder / "root.pem"
        root.write_text(httpx.get(f"https://localhost:{management}/roots/0", verify=trust_api).text)
        yield AcmeStack(stack, port(stack, "nginx", 8443), root)
    finally:
        log = ROOT / "results" / "e2e" / f"{PROJECT}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(stack.run("logs", "--no-color", "--timestamps").stdout)
        stack.compose("down", "--volumes", "--remove-orphans", "-t", "10")


def port(stack: Stack, service: str, inside: int) -> int:
    """The host port compose published for a service's port."""
    return int(stack.compose("port", service, str(inside)).strip().rsplit(":", 1)[1])


def status(url: str, verify: ssl.SSLContext) -> int | str:
    """GET url's status, or why there is none (not listening yet: Docker's proxy accepts
    and closes the connection)."""
    try:
        return httpx.get(url, verify=verify, timeout=2).status_code
    except httpx.HTTPError as exc:
        return repr(exc)


def issuer(cert: dict) -> str:
    return dict(pair for rdn in cert["issuer"] for pair in rdn)["commonName"]


def test_nginx_serves_a_certificate_from_pebble(acme: AcmeStack) -> None:
    cert = acme.served()  # a placeholder or another CA's would fail the handshake here
    assert issuer(cert).startswith("Pebble Intermediate CA"), cert
    assert ("DNS", DOMAIN) in cert["subjectAltName"], cert
    mode = acme.stack.compose("exec", "-T", "acme", "stat", "-L", "-c", "%u:%g %a", "/certs/privkey.pem").split()
    assert mode == ["101:101", "600"], "the key is nginx's user's alone"


def test_forced_renewal_under_load_reloads_nginx_and_fails_no_request(acme: AcmeStack, tally) -> None:
    before = acme.served()
    nginx = acme.stack.nginx_fingerprint()
    load = LoadLoop(f"https://127.0.0.1:{acme.https_port}/api", verify=acme.trust(), retry_closed_idle=True)
    with load:
        load.wait_for(20)
        # The stock command, no flags of ours: the deploy hook comes from the renewal config.
        renewal = acme.stack.run("exec", "-T", "acme", "certbot", "renew", "--force-renewal", timeout=300)
        assert renewal.returncode == 0, renewal.stdout + renewal.stderr
        after, waited = until("a new connection to get the renewed certificate", acme.served,
                              lambda cert: cert["serialNumber"] != before["serialNumber"], 30)
        count = len(load.results)
        load.wait_for(count + 20)  # and the load goes on over the new one
    tally(f"{load.summary()}; serial {before['serialNumber']} -> {after['serialNumber']}, served {waited:.1f} s"
          " after certbot returned")
    assert not load.failed, acme.stack.explain(load.failed)
    assert "sent SIGHUP to nginx's master" in renewal.stdout, "certbot ran the stored deploy hook"
    cid, started, pids = acme.stack.nginx_fingerprint()
    assert (cid, started) == nginx[:2], "nginx was reloaded, not restarted"
    assert pids != nginx[2], "a reload replaces nginx's workers"


# Run in a one-off acme container (its user, volumes, network and nginx's process namespace):
# nginx made to serve a placeholder, then the lineage's files put back with no SIGHUP, as
# after a lost or refused reload. Then the healthcheck's verdict.
LOSE_A_RELOAD = """
import time
from acme_edge import certfiles, deploy, loop, nginx, pki, served
chain, key = ((deploy.LINEAGE / name).read_bytes() for name in certfiles.FILES)
certfiles.install(deploy.CERTS, *pki.placeholder(["edge.pycluster.test"]))
nginx.reload()
deadline = time.monotonic() + 15
while served.fetch(deploy.NGINX_HTTPS, "edge.pycluster.test") == served.leaf(chain):
    if time.monotonic() > deadline:
        raise SystemExit("nginx did not reload to the placeholder")
    time.sleep(0.1)
certfiles.install(deploy.CERTS, chain, key)
raise SystemExit(loop.check())
"""


def test_a_lost_reload_is_unhealthy_and_the_service_sends_sighup_again(acme: AcmeStack, tally) -> None:
    lineage = served.leaf(acme.stack.compose("exec", "-T", "acme", "cat", "/etc/letsencrypt/live/edge/fullchain.pem")
                          .encode())

    def serving() -> bytes:
        return served.fetch(("127.0.0.1", acme.https_port), DOMAIN)

    # The service paused meanwhile, so that its own sync cannot step in between.
    acme.stack.compose("pause", "acme")
    try:
        lost = acme.stack.run("run", "--rm", "--no-deps", "-T", "acme", "python", "-c", LOSE_A_RELOAD, timeout=120)
    finally:
        acme.stack.compose("unpause", "acme")
    assert lost.returncode == 1 and served.State.NOT_SERVED.value in lost.stdout, lost.stdout + lost.stderr
    assert serving() != lineage, "nginx still serves the placeholder, with the lineage's files in its folder"
    _, waited = until("the acme service to make nginx serve the lineage again", serving, lambda der: der == lineage,
                      loop.SYNC_S + deploy.SETTLE_S + 30, every_s=0.5)
    tally(f"a lost reload: nginx served the lineage again {waited:.1f} s later (sync every {loop.SYNC_S:.0f} s)")
    assert "sent SIGHUP again" in acme.stack.compose("logs", "--no-color", "acme")
    assert acme.stack.run("exec", "-T", "acme", "acme-edge", "check").returncode == 0
