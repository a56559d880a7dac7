"""Every host port the tests publish or put in a config, in one table: each is its own (a
unit test checks), and each is still set by its environment variable, for a host where the
default is taken."""

import os

PORTS: dict[str, int] = {}


def _port(variable: str, default: int) -> int:
    PORTS[variable] = int(os.environ.get(variable, default))
    return PORTS[variable]


# Compose stacks the e2e tests run side by side with a developer's own (8080).
E2E_HTTP = _port("E2E_HTTP_PORT", 18080)  # the session stack, tests/e2e/conftest.py
MON_HTTP = _port("E2E_MON_HTTP_PORT", 18070)
PROMETHEUS = _port("E2E_PROMETHEUS_PORT", 19090)
CHAOS_HTTP = _port("CHAOS_HTTP_PORT", 18600)
SHED_HTTP = _port("SHED_HTTP_PORT", 18800)
OPS_HTTP = _port("OPS_HTTP_PORT", 18900)
ACME_HTTP = _port("ACME_E2E_HTTP_PORT", 18480)  # tests/e2e/test_acme.py, with pebble
SWARM_HTTP = _port("SWARM_E2E_HTTP_PORT", 18700)
SWARM_TLS_HTTP = _port("SWARM_TLS_E2E_HTTP_PORT", 18710)  # tests/e2e/test_swarm_tls.py
SWARM_TLS_HTTPS = _port("SWARM_TLS_E2E_HTTPS_PORT", 18743)
LAB_HTTP = _port("LAB_E2E_HTTP_PORT", 18590)
LAB_REGISTRY = _port("LAB_E2E_REGISTRY_PORT", 15000)
NODE_REFERENCE = _port("E2E_NODE_PORT", 13000)
BENCH_HTTP = _port("BENCH_E2E_HTTP_PORT", 18380)  # make bench, tests/e2e/test_bench.py
BENCH_WORKERS = _port("BENCH_E2E_WORKERS_PORT", 18390)
BENCH_TLS_HTTP = _port("BENCH_TLS_E2E_HTTP_PORT", 18485)  # make bench-tls, tests/e2e/test_bench_tls.py
# The no-Docker backend: host nginx, and replicas on this port and the next (SCALE=2).
HOST_HTTP = _port("BENCH_HOST_HTTP_PORT", 18580)
HOST_REPLICA = _port("BENCH_HOST_REPLICA_PORT", 18601)
# Only written into configs that the tests read back: nothing listens on them.
SWARM_CONFIG_HTTP = _port("COMPOSE_SWARM_HTTP_PORT", 18701)
SWARM_CONFIG_HTTPS = _port("COMPOSE_SWARM_HTTPS_PORT", 18702)
TYPO_CHECK_HTTP = _port("COMPOSE_TYPO_HTTP_PORT", 18998)
RUNTIMES_NODE = _port("RUNTIMES_NODE_PORT", 13300)
RUNTIMES_HTTP = _port("RUNTIMES_HTTP_PORT", 18280)
