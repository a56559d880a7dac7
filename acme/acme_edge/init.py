"""acme-init, once before nginx starts: the volumes made nginx's user's, then a placeholder
certificate where there is none yet (the chicken and egg: the ACME server validates
through the nginx that needs a certificate to start with TLS on).

It starts as root with CHOWN, SETUID and SETGID only (docker-compose.yml), takes the
volumes, then drops to nginx's user for the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

from acme_edge import certfiles, pki
from acme_edge.log import log
from acme_edge.settings import CERTS, NGINX_UID, STATE, WEBROOT, SettingsError, load


def take(path: Path) -> None:
    """Root's files from `path` down given to nginx's user: a new volume is root's. What
    is nginx's user's already is left unread (root without DAC_OVERRIDE may not read it)."""
    if path.lstat().st_uid != 0:
        return
    if path.is_dir() and not path.is_symlink():
        for child in path.iterdir():
            take(child)
    os.lchown(path, NGINX_UID, NGINX_UID)


def main() -> int:
    try:
        settings = load()
    except SettingsError as exc:
        log.error("%s. Set them in .env or the environment (docker-compose.yml, acme services);"
                  " nginx waits for this one", exc)
        return 2
    for volume in (CERTS, STATE, WEBROOT):
        take(volume)
    os.setgroups([])
    os.setgid(NGINX_UID)
    os.setuid(NGINX_UID)
    if certfiles.present(CERTS):
        log.info("%s has a certificate, kept: %s", CERTS, pki.describe(certfiles.read(CERTS)))
        return 0
    fullchain, privkey = pki.placeholder(settings.domains)
    certfiles.install(CERTS, fullchain, privkey)
    log.warning("no certificate in %s yet: wrote a self-signed placeholder for %s (%s), so that nginx starts;"
                " the acme service replaces it once %s issues one", CERTS, ", ".join(settings.domains),
                pki.describe(fullchain), settings.server)
    return 0
