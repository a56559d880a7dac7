"""The acme services' settings, from the environment that docker-compose.yml passes."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Let's Encrypt's production directory. Try its staging one first (ACME_SERVER=STAGING):
# production allows 5 failed validations per name an hour and 50 certificates a week.
# https://letsencrypt.org/docs/rate-limits/ https://letsencrypt.org/docs/staging-environment/
PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory"
STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
# certbot's lineage name, fixed: the deploy hook and `certbot renew` find it by this name.
CERT_NAME = "edge"
# Where docker-compose.yml mounts the volumes in both services.
CERTS = Path("/certs")  # acme-certs: what nginx serves (/etc/nginx/certs there)
STATE = Path("/etc/letsencrypt")  # acme-state: certbot's account, lineage, renewal config
WEBROOT = Path("/var/www/acme")  # acme-webroot: HTTP-01 tokens, which nginx serves
NGINX_UID = 101  # nginx's user in docker-compose.yml, and the acme service's
# nginx's HTTPS on the edge network (docker-compose.yml's service, nginx/tls-on.conf's
# listen): where the acme service checks which certificate nginx really serves.
NGINX_HTTPS = ("nginx", 8443)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class SettingsError(Exception):
    """A setting is missing or wrong: the message says which and what to set."""


@dataclass(frozen=True)
class Settings:
    domains: list[str]
    email: str
    server: str
    ca_bundle: str  # empty: the public CAs (certifi's); else a PEM file in the container
    renew_interval_s: float


def seconds(text: str) -> float:
    """'12h', '30m', '90s', '1d' or a plain number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match[1]) <= 0:
        raise SettingsError(f"ACME_RENEW_INTERVAL={text!r} is not a duration: write it as 12h, 30m, 90s or 1d")
    return float(match[1]) * UNITS[match[2] or "s"]


def load(env: Mapping[str, str] = os.environ) -> Settings:
    """Every problem at once, so that one look at the log fixes them all."""
    problems = []
    domains = [name.strip().lower() for name in env.get("ACME_DOMAINS", "").split(",") if name.strip()]
    if not domains:
        problems.append("ACME_DOMAINS is not set: the names to certify, comma-separated (example.com,www.example.com);"
                        " each must resolve to this host, and its port 80 reach nginx")
    email = env.get("ACME_EMAIL", "").strip()
    if "@" not in email:
        problems.append(f"ACME_EMAIL={email!r} is not an address: set the account's contact address")
    server = env.get("ACME_SERVER", "").strip() or PRODUCTION
    server = STAGING if server.upper() == "STAGING" else server
    if not server.startswith("https://"):
        problems.append(f"ACME_SERVER={server!r} is not an https:// ACME directory URL (default: {PRODUCTION})")
    try:
        interval = seconds(env.get("ACME_RENEW_INTERVAL", "").strip() or "12h")
    except SettingsError as exc:
        problems.append(str(exc))
        interval = 0
    if problems:
        raise SettingsError("; ".join(problems))
    return Settings(domains, email, server, env.get("ACME_CA_BUNDLE", "").strip(), interval)
