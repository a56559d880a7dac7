"""certbot's deploy hook: after each issuance or renewal, the new certificate into the
folder nginx reads, then a graceful nginx reload. certbot stores the hook in the lineage's
renewal config, so `certbot renew` run by hand does the same.
https://eff-certbot.readthedocs.io/en/stable/using.html#renewing-certificates

sync(), the acme service's check of the same, every minute or so: installs what the hook
did not, and sends SIGHUP again while nginx serves another certificate than the lineage.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from acme_edge import certfiles, nginx, served
from acme_edge.log import log
from acme_edge.settings import CERT_NAME, CERTS, NGINX_HTTPS, STATE

LINEAGE = STATE / "live" / CERT_NAME
# A reload already under way (the hook's, just before) gets this long to be served before
# sync() sends another SIGHUP: nginx starts new workers within a second or so.
SETTLE_S = 5.0


def deploy(lineage: Path) -> None:
    # Here, not at the top: certbot's cryptography, which the unit tests' venv lacks.
    from acme_edge import pki

    fullchain = (lineage / "fullchain.pem").read_bytes()
    certfiles.install(CERTS, fullchain, (lineage / "privkey.pem").read_bytes())
    log.info("installed %s's certificate in %s: %s", lineage.name, CERTS, pki.describe(fullchain))
    pid = nginx.reload()
    log.info("sent SIGHUP to nginx's master (pid %d): new connections get the new certificate,"
             " old workers finish their requests first", pid)


def state(server_name: str) -> served.State:
    """Where the lineage stands: issued, in nginx's folder, served by nginx."""
    return served.state(LINEAGE, CERTS, NGINX_HTTPS, server_name)


def sync(server_name: str) -> served.State:
    """The lineage's certificate made nginx's: installed and reloaded when nginx's folder
    holds another one (the placeholder, a failed hook, a wiped volume), SIGHUP again when
    nginx still serves another one after SETTLE_S. What it found: NOT_INSTALLED or
    NOT_SERVED when it acted, which the next sync checks."""
    found = state(server_name)
    if found is served.State.NOT_INSTALLED:
        deploy(LINEAGE)
    elif found is served.State.NOT_SERVED:
        deadline = time.monotonic() + SETTLE_S
        while found is served.State.NOT_SERVED and time.monotonic() < deadline:
            time.sleep(0.5)
            found = state(server_name)
        if found is served.State.NOT_SERVED:
            pid = nginx.reload()
            log.warning("nginx serves another certificate than %s's, with the right files in its folder: sent"
                        " SIGHUP again (pid %d). If this repeats, nginx refuses the reload (`docker compose logs"
                        " nginx`, `docker compose exec nginx nginx -t`), or TLS_CERTS is not acme-certs",
                        LINEAGE.name, pid)
    return found


def main() -> int:
    lineage = os.environ.get("RENEWED_LINEAGE", "")
    if not lineage:
        log.error("RENEWED_LINEAGE is not set: this is certbot's deploy hook, which certbot runs with it")
        return 2
    try:
        deploy(Path(lineage))
    except (OSError, nginx.NoNginx) as exc:
        log.error("the new certificate is issued but not served: %s", exc)
        return 1
    return 0
