"""The acme service: the first certificate (certbot certonly), then `certbot renew` every
ACME_RENEW_INTERVAL, which renews only what is due (30 days before expiry, or when the
CA's renewal info says so). The deploy hook installs what either one issues; between
certbot runs the loop checks every SYNC_S that nginx serves it (deploy.sync).
https://eff-certbot.readthedocs.io/en/stable/using.html#automated-renewals
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

from acme_edge import deploy, nginx, served
from acme_edge.log import log
from acme_edge.settings import CERT_NAME, NGINX_HTTPS, WEBROOT, Settings, SettingsError, load

HOOK = "acme-edge deploy"  # on PATH in the image; certbot stores it with the lineage
# Before the first certificate, a failed try is retried after 5 min, then 10, 20, 40, then
# every hour, instead of ACME_RENEW_INTERVAL (12 h) with the placeholder served all along.
# Not faster: Let's Encrypt allows 5 failed validations per name per hour
# (https://letsencrypt.org/docs/rate-limits/); this schedule makes at most 4 in any hour.
FIRST_RETRY_S = 300.0
MOST_RETRY_S = 3600.0
# How often the loop checks that nginx serves the lineage's certificate (one TLS handshake);
# while it does not, again after 30 s, doubling up to an hour.
SYNC_S = 60.0
RESYNC_S = 30.0


def certonly(settings: Settings) -> list[str]:
    # --keep-until-expiring: a lineage that is not due is kept, so a restart asks for nothing.
    return ["certbot", "certonly", "--non-interactive", "--agree-tos", "--email", settings.email,
            "--server", settings.server, "--cert-name", CERT_NAME, "--webroot", "--webroot-path", str(WEBROOT),
            "--keep-until-expiring", "--deploy-hook", HOOK, *(a for d in settings.domains for a in ("-d", d))]


def certbot_delay(failures: int, issued: bool, interval_s: float) -> float:
    """Seconds to the next certbot run, after `failures` failed runs in a row. Once a first
    run succeeded: the renewal interval. Before: FIRST_RETRY_S doubling to MOST_RETRY_S."""
    if issued or failures == 0:
        return interval_s
    return min(FIRST_RETRY_S * 2.0 ** (failures - 1), MOST_RETRY_S, interval_s)


def sync_delay(misses: int) -> float:
    """Seconds to the next sync, after `misses` syncs in a row that found nginx not serving
    the lineage's certificate (and acted, or could not reach nginx)."""
    if misses == 0:
        return SYNC_S
    return min(RESYNC_S * 2.0 ** (misses - 1), MOST_RETRY_S)


def check() -> int:
    """The healthcheck: healthy once nginx serves the lineage's certificate, as a new TLS
    connection to nginx sees it."""
    try:
        found = deploy.state(load().domains[0])
    except SettingsError as exc:
        print(exc)
        return 1
    except (OSError, ValueError) as exc:
        print(f"cannot compare the certificate nginx serves with the lineage's: {exc}")
        return 1
    if found is not served.State.SERVED:
        print(found.value)
        return 1
    return 0


def sync(settings: Settings) -> bool:
    """deploy.sync, logged: whether nginx served the lineage's certificate (or none is issued)."""
    try:
        found = deploy.sync(settings.domains[0])
    except (OSError, ValueError, nginx.NoNginx) as exc:
        log.error("cannot check or make nginx serve the issued certificate: %s. nginx's HTTPS is"
                  " %s:%d on the edge network (NGINX_TLS=on, TLS_CERTS=acme-certs)", exc, *NGINX_HTTPS)
        return False
    return found in (served.State.SERVED, served.State.NOT_ISSUED)


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
    issued, failures, misses = False, 0, 0
    next_certbot = next_sync = time.monotonic()
    while not stop.is_set():
        if time.monotonic() >= next_certbot:
            command = ["certbot", "renew", "--non-interactive"] if issued else certonly(settings)
            code = subprocess.run(command, check=False).returncode
            issued, failures = (True, 0) if code == 0 else (issued, failures + 1)
            delay = certbot_delay(failures, issued, settings.renew_interval_s)
            if code != 0:
                log.error("`%s` failed (exit %d, its reasons above); nginx keeps the certificate it has (the"
                          " placeholder before a first issuance). Check that each name resolves here and port 80"
                          " reaches nginx: curl http://NAME/.well-known/acme-challenge/x answers nginx's 404."
                          " Next try in %.0f s%s, or now: docker compose restart acme", " ".join(command[:2]), code,
                          delay, "" if issued else f" (try {failures + 1}: before a first certificate, 5 min doubling"
                          " to 1 h, as Let's Encrypt allows 5 failed validations per name per hour)")
            next_certbot = time.monotonic() + delay
            next_sync = time.monotonic()  # what certbot issued, checked now
        if time.monotonic() >= next_sync:
            was = misses
            misses = 0 if sync(settings) else misses + 1
            if was and not misses:
                log.info("nginx serves %s's certificate now", CERT_NAME)
            next_sync = time.monotonic() + sync_delay(misses)
        stop.wait(max(0.0, min(next_certbot, next_sync) - time.monotonic()))
    log.info("stopping (SIGTERM)")
    return 0
