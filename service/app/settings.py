"""Environment variables, read once into one immutable Settings object.

Every setting is read from API_<FIELD>, e.g. keep_alive_s from API_KEEP_ALIVE_S, and
compose passes each under that same name. The port also from PORT, as platforms set it.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from . import runtime

# Names read before every setting was API_*. A replica that still gets one would ignore
# it without a word and run on a default, so it refuses to start and says what to rename.
RENAMED = {old: f"API_{old}" for old in (
    "REPLICA_ID", "ACCESS_LOG", "LIMIT_CONCURRENCY", "FORWARDED_ALLOW_IPS", "KEEP_ALIVE_S", "GRACEFUL_SHUTDOWN_S",
)}
# Old names that platforms set for their own use, so refusing them would stop the replica
# there. PORT is read below API_PORT: Cloud Run, Heroku, Render, Fly.io and Railway say
# where to listen with it. These two are only warned about.
IGNORED = {
    "HOST": "the replica listens on API_HOST (default {host})",
    "LOG_LEVEL": "the replica logs at API_LOG_LEVEL (default {log_level})",
}
# What Kubernetes service links (and Docker's --link) set <NAME>_PORT to: for a Service
# named api, API_PORT=tcp://10.96.0.12:8000. An IPv6 address comes bracketed or not,
# depending on the Kubernetes version.
SERVICE_LINK = re.compile(r"(tcp|udp|sctp)://\S+:\d+")
# API_MAX_N's own bound: the sum stays within 64 bits, where PyPy's ints stay fast. On PyPy
# (~1 ns a step) that is ~4 s; on CPython (~40 ns) keep API_MAX_N near its default.
MAX_N_CEILING = 4_000_000_000
# Settings replaced by one that means something else, so a rename would not do: the
# message says what the new one holds.
REPLACED = {
    "API_MAX_QUEUE": ("API_MAX_WAIT_S", "the seconds a new /api request may wait behind the work already "
                                        "admitted before the replica sheds it (default {max_wait_s}), "
                                        "not a number of jobs"),
}
N = TypeVar("N", int, float)
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _number(env: Mapping[str, str], name: str, default: N, low: N, high: N, parse: Callable[[str], N],
            kind: str) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not {kind}; set it to {low}..{high} or unset it") from None
    if not low <= value <= high:  # also refuses nan and inf
        raise SettingsError(f"{name}={raw} is out of range; set it to {low}..{high} or unset it")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _number(env, name, default, low, high, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, float, "a number")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean; use true or false")


def _refuse_old_names(env: Mapping[str, str]) -> None:
    problems = []
    found = [old for old in RENAMED if old in env]
    if found:
        renames = ", ".join(f"{old} to {RENAMED[old]}" for old in found)
        problems.append(f"{', '.join(found)} {'is' if len(found) == 1 else 'are'} no longer read: rename "
                        f"{renames} (in .env, compose or the shell). Replica settings are all API_*.")
    problems += [f"{old} is no longer read: set {new} instead (in .env, compose or the shell), "
                 f"{meaning.format(max_wait_s=Settings.max_wait_s)}."
                 for old, (new, meaning) in REPLACED.items() if old in env]
    if problems:
        raise SettingsError(" ".join(problems))


def _service_link(env: Mapping[str, str]) -> str | None:
    raw = env.get("API_PORT", "").strip()
    return raw if SERVICE_LINK.fullmatch(raw) else None


def _port_name(env: Mapping[str, str]) -> str:
    """API_PORT, unless it is unset or a service link: then PORT, as platforms set it."""
    return "API_PORT" if env.get("API_PORT", "").strip() and not _service_link(env) else "PORT"


def ignored(env: Mapping[str, str] | None = None) -> list[str]:
    """What the environment sets that the replica does not read, as warnings to log once
    at startup (from_env, which each worker process calls too, stays quiet)."""
    env = os.environ if env is None else env
    defaults = {"host": Settings.host, "log_level": Settings.log_level}
    warnings = [f"{old} is set but not read (platforms set it for their own use); {instead.format(**defaults)}"
                for old, instead in IGNORED.items() if old in env]
    if link := _service_link(env):
        warnings.append(f"API_PORT={link} looks like a Kubernetes service link for a Service named api, not a "
                        f"port: ignored, the port is PORT if set, else {Settings.port}. Set enableServiceLinks: "
                        f"false in the pod spec, or set API_PORT to a number")
    return warnings


@dataclass(frozen=True)
class Settings:
    replica_id: str
    # Every interface of the container: nginx comes in over the stack's network.
    host: str = "0.0.0.0"  # noqa: S104
    # nginx (upstream.conf), the image's EXPOSE and its healthcheck all use this port:
    # compose leaves it alone. tests/test_rules.py holds them together, and holds
    # healthcheck.sh to the same choice of API_PORT, PORT or this default.
    port: int = 8000
    # Upper bound for /api?n=. 10**7 costs about 0.5 s of CPU on a 2020s core, so one
    # request can never hold a replica for much more than a second.
    max_n: int = 10_000_000
    # Seconds a new /api job may wait behind the work already admitted (the running job in
    # full, plus the waiting ones, each estimated from its n) before the replica sheds it
    # with 503 + Retry-After: ~14 of the article's jobs on CPython, ~600 on PyPy. 0: none wait.
    max_wait_s: float = 0.5
    # Jobs estimated over this many seconds run on a second worker thread, which shares the
    # core with the first (app/jobs.py): a short job that comes in behind a long one starts
    # within the GIL's switch interval (1 ms, app/jobs.py) instead of after it. 0: one thread, all FIFO.
    long_job_s: float = 0.02
    retry_after_s: int = 1
    # Connections uvicorn accepts before it answers 503 itself (--limit-concurrency).
    limit_concurrency: int = 256
    # Must stay above nginx's upstream keepalive_timeout, or nginx reuses a connection
    # uvicorn is closing and the request fails with 502.
    keep_alive_s: int = 15
    # Must stay below compose's stop_grace_period so a drain finishes before SIGKILL.
    graceful_shutdown_s: int = 20
    # Peers whose X-Forwarded-* headers are trusted: the private ranges Docker networks
    # use. The api is only reachable on the stack's internal network, so that is nginx.
    forwarded_allow_ips: str = "127.0.0.1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
    access_log: bool = False
    log_level: str = "info"
    # Prometheus metrics at /metrics (app/metrics.py), scraped on the internal network.
    metrics: bool = True
    # Seconds of requests the replica sends itself before its port opens (app/warmup.py).
    # Unset: 5 on PyPy, whose JIT needs them, 0 on CPython (each route still runs once).
    warmup_s: float = field(default_factory=runtime.default_warmup_s)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        _refuse_old_names(env)
        log_level = _str(env, "API_LOG_LEVEL", cls.log_level).lower()
        if log_level not in LOG_LEVELS:
            raise SettingsError(f"API_LOG_LEVEL={log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        return cls(
            replica_id=_str(env, "API_REPLICA_ID", socket.gethostname()),
            host=_str(env, "API_HOST", cls.host),
            port=_int(env, _port_name(env), cls.port, 1, 65535),
            max_n=_int(env, "API_MAX_N", cls.max_n, 0, MAX_N_CEILING),
            max_wait_s=_float(env, "API_MAX_WAIT_S", cls.max_wait_s, 0, 60),
            long_job_s=_float(env, "API_LONG_JOB_S", cls.long_job_s, 0, 60),
            retry_after_s=_int(env, "API_RETRY_AFTER_S", cls.retry_after_s, 1, 3600),
            limit_concurrency=_int(env, "API_LIMIT_CONCURRENCY", cls.limit_concurrency, 1, 100_000),
            keep_alive_s=_int(env, "API_KEEP_ALIVE_S", cls.keep_alive_s, 1, 3600),
            graceful_shutdown_s=_int(env, "API_GRACEFUL_SHUTDOWN_S", cls.graceful_shutdown_s, 0, 3600),
            forwarded_allow_ips=_str(env, "API_FORWARDED_ALLOW_IPS", cls.forwarded_allow_ips),
            access_log=_bool(env, "API_ACCESS_LOG", cls.access_log),
            log_level=log_level,
            metrics=_bool(env, "API_METRICS", cls.metrics),
            warmup_s=_float(env, "API_WARMUP_S", runtime.default_warmup_s(), 0, 60),
        )
