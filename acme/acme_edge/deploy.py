"""certbot's deploy hook: after each issuance or renewal, the new certificate into the
folder nginx reads, then a graceful nginx reload. certbot stores the hook in the lineage's
renewal config, so `certbot renew` run by hand does the same.
https://eff-certbot.readthedocs.io/en/stable/using.html#renewing-certificates
"""

from __future__ import annotations

import os
from pathlib import Path

from acme_edge import certfiles, nginx, pki
from acme_edge.log import log
from acme_edge.settings import CERT_NAME, CERTS, STATE

LINEAGE = STATE / "live" / CERT_NAME


def deploy(lineage: Path) -> None:
    fullchain = (lineage / "fullchain.pem").read_bytes()
    certfiles.install(CERTS, fullchain, (lineage / "privkey.pem").read_bytes())
    log.info("installed %s's certificate in %s: %s", lineage.name, CERTS, pki.describe(fullchain))
    pid = nginx.reload()
    log.info("sent SIGHUP to nginx's master (pid %d): new connections get the new certificate,"
             " old workers finish their requests first", pid)


def pending() -> bool | None:
    """None: nothing issued yet; True: nginx's folder holds another certificate than the
    lineage (the placeholder, or a wiped volume beside a kept lineage); False: in place."""
    if not (LINEAGE / "fullchain.pem").is_file():
        return None
    return certfiles.read(CERTS) != (LINEAGE / "fullchain.pem").read_bytes()


def sync() -> None:
    if pending():
        deploy(LINEAGE)


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
