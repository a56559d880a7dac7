"""The acme service: the first certificate (certbot certonly), then `certbot renew` every
ACME_RENEW_INTERVAL, which renews only what is due (30 days before expiry, or when the
CA's renewal info says so). The deploy hook installs what either one issues.
https://eff-certbot.readthedocs.io/en/stable/using.html#automated-renewals
"""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path

from acme_edge import deploy, nginx
from acme_edge.log import log
from acme_edge.settings import CERT_NAME, WEBROOT, Settings, SettingsError, load

HOOK = "acme-edge deploy"  # on PATH in the image; certbot stores it with the lineage


def certonly(settings: Settings) -> list[str]:
    # --keep-until-expiring: a lineage that is not due is kept, so a restart asks for nothing.
    return ["certbot", "certonly", "--non-interactive", "--agree-tos", "--email", settings.email,
            "--server", settings.server, "--cert-name", CERT_NAME, "--webroot", "--webroot-path", str(WEBROOT),
            "--keep-until-expiring", "--deploy-hook", HOOK, *(a for d in settings.domains for a in ("-d", d))]


def check() -> int:
    """The healthcheck: healthy once nginx's folder holds the lineage's certificate."""
    try:
        served = deploy.pending()
    except OSError as exc:
        print(f"cannot compare the certificates: {exc}")
        return 1
    if served is None:
        print("no certificate issued yet: `docker compose logs acme` says why")
        return 1
    if served:
        print("nginx's folder has another certificate than the lineage: the deploy hook failed (see the logs)")
        return 1
    return 0


def run() -> int:
    try:
        settings = load()
        if settings.ca_bundle and not Path(settings.ca_bundle).is_file():
            raise SettingsError(f"ACME_CA_BUNDLE={settings.ca_bundle!r} is not a file in this container:"
                                " mount the ACME server's CA certificate there, or leave it empty")
    except SettingsError as exc:
        log.error("%s. Set them in .env or the environment (docker-compose.yml, acme services)", exc)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("certifying %s with %s, then renewing what is due every %.0f s",
             ", ".join(settings.domains), settings.server, settings.renew_interval_s)
    issued = False
    while not stop.is_set():
        command = ["certbot", "renew", "--non-interactive"] if issued else certonly(settings)
        code = subprocess.run(command, check=False).returncode
        if code == 0:
            issued = True
            try:
                deploy.sync()
            except (OSError, nginx.NoNginx) as exc:
                log.error("the certificate is issued but not served: %s", exc)
        else:
            log.error("`%s` failed (exit %d, its reasons above); nginx keeps the certificate it has (the placeholder"
                      " before a first issuance). Check that each name resolves here and port 80 reaches nginx:"
                      " curl http://NAME/.well-known/acme-challenge/x answers nginx's 404. Next try in %.0f s,"
                      " or now: docker compose restart acme", " ".join(command[:2]), code, settings.renew_interval_s)
        stop.wait(settings.renew_interval_s)
    log.info("stopping (SIGTERM)")
    return 0
