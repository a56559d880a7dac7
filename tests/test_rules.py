"""Rules that span files, checked on the real files, without Docker.

Each rule is claimed in a comment somewhere (quoted in the test's docstring); a change on
one side fails here and names the other side that has to follow.
"""

import json
import os
import re
import subprocess
import time
from dataclasses import fields

import pytest
import yaml

import rollout
from app.settings import Settings
from app.work import sum_down
from tests.conftest import ROOT
from tests.rules_kit import API, DEFAULTS, NGINX, SWARM, WORKERS, compose, dockerfile, nginx_one, seconds

pytestmark = pytest.mark.config

# Settings compose must not pass: nginx and the healthcheck rely on the image's port and
# host, and each replica is named after its container.
NOT_FROM_COMPOSE = {"API_PORT", "API_HOST", "API_REPLICA_ID"}
# The CPU one /api job may take at the largest n (settings.py: "never much more than a
# second"); test_the_largest_job_fits_its_ceiling measures it.
JOB_CEILING_S = 1.0
# The longest a replica holds an admitted job: max_wait_s of its lane's work, then the job
# itself, both at half speed while the other lane shares the core (app/jobs.py).
LONGEST_ADMITTED_S = 2 * (DEFAULTS.max_wait_s + JOB_CEILING_S)


# --- rules ---------------------------------------------------------------------------

def test_compose_passes_each_setting_under_its_own_name_and_leaves_the_default_to_settings() -> None:
    """docker-compose.yml: "Each replica setting passed under its own name, with no default
    here ... service/app/settings.py, the one home of every API_* default, applies its own";
    "compose/workers.yml extends this service, so it passes the same block"."""
    expected = {f"API_{f.name.upper()}" for f in fields(Settings)} - NOT_FROM_COMPOSE
    assert set(API["environment"]) == expected
    for name, value in API["environment"].items():
        assert value == f"${{{name}:-}}", f"{name}: {value!r} is not ${{{name}:-}}: no default in compose"
    assert WORKERS["extends"] == {"file": "docker-compose.yml", "service": "api"}
    inherited = {"environment", "healthcheck", "stop_grace_period", "image", "build"}
    assert not inherited & set(WORKERS), "compose/workers.yml must take these from the api service"


def test_nginx_drops_idle_upstream_connections_before_a_replica_does() -> None:
    """upstream.conf: "The timeout must stay below uvicorn's keep-alive, or a closing
    connection gets reused: 502." """
    nginx_idle = seconds(nginx_one("keepalive_timeout", "upstream.conf"))
    keep_alive = DEFAULTS.keep_alive_s
    assert nginx_idle < keep_alive, f"nginx upstream keepalive_timeout {nginx_idle}s vs API_KEEP_ALIVE_S {keep_alive}s"


def test_a_drain_ends_before_the_replica_is_killed() -> None:
    """settings.py: graceful shutdown "must stay below compose's stop_grace_period so a drain
    finishes before SIGKILL"; likewise the rollout's `docker stop -t`."""
    kill_after = {"docker-compose.yml api (and workers, which extends it)": seconds(API["stop_grace_period"]),
                  "scripts/rollout.py STOP_TIMEOUT_S": rollout.STOP_TIMEOUT_S}
    if "stop_grace_period" in SWARM["api"]:
        kill_after["compose/swarm.yml api"] = seconds(SWARM["api"]["stop_grace_period"])
    graceful = DEFAULTS.graceful_shutdown_s
    for killer, limit in kill_after.items():
        assert graceful < limit, f"graceful shutdown {graceful}s vs {killer} {limit}s"


def test_a_full_queue_drains_within_the_graceful_shutdown() -> None:
    """uvicorn waits for in-flight requests up to the graceful timeout (app/server.py); the
    queued jobs are in flight too, so a full queue must fit in it. A job is admitted only
    while the work ahead of it is expected to take at most max_wait_s (app/jobs.py), so a
    full queue is that much work plus the last job's own run, at half speed with two lanes."""
    wait, graceful = DEFAULTS.max_wait_s, DEFAULTS.graceful_shutdown_s
    assert wait + JOB_CEILING_S <= graceful, f"max_wait_s {wait}s + a job vs graceful shutdown {graceful}s"
    assert LONGEST_ADMITTED_S <= graceful, f"two lanes: {LONGEST_ADMITTED_S}s vs graceful shutdown {graceful}s"


def test_nginx_waits_longer_than_the_longest_admitted_job_takes() -> None:
    """conf.d/proxy.conf: "The read timeout follows the longest job a replica admits": it
    waits for max_wait_s of its lane's work, then runs the largest job, both at half speed
    while the other lane shares the core. All of it must fit in proxy_read_timeout; and the
    timeout no more than twice that, since a lost node stalls a request for all of it."""
    read_timeout = seconds(nginx_one("proxy_read_timeout"))
    longest = LONGEST_ADMITTED_S
    assert longest < read_timeout <= 2 * longest, f"2 x (max_wait_s + a job) = {longest}s vs {read_timeout}s"


def test_the_largest_job_fits_its_ceiling() -> None:
    """settings.py: "10**7 costs about 0.5 s of CPU ... never much more than a second"."""
    started = time.process_time()
    sum_down(DEFAULTS.max_n)
    assert time.process_time() - started < JOB_CEILING_S


def test_the_port_is_one_number_everywhere() -> None:
    """settings.py: nginx, the image's EXPOSE and its healthcheck use Settings' port."""
    port = DEFAULTS.port
    assert dockerfile("EXPOSE") == [str(port)]
    assert [str(p) for p in API["expose"]] == [str(port)]
    assert nginx_one("server", "upstream.conf").split()[0] == f"api:{port}"
    assert WORKERS["ports"][0].endswith(f":{port}")
    env_lines = " ".join(dockerfile("ENV"))
    assert not re.search(r"\b(API_)?(PORT|HOST)=", env_lines), "the port is Settings' default, not the image's"


def healthcheck_port(env: dict[str, str]) -> str:
    """The port service/healthcheck.sh probes with ENV, from its own listen_port()."""
    script = 'source "$1" && listen_port && echo "$port"'
    done = subprocess.run(["bash", "-c", script, "bash", str(ROOT / "service" / "healthcheck.sh")],
                          env={"PATH": os.environ["PATH"], **env}, capture_output=True, text=True, timeout=10)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.parametrize("env", [
    {}, {"API_PORT": "9001"}, {"API_PORT": " 9001 "}, {"PORT": "8080"}, {"PORT": " 8080 "}, {"PORT": ""},
    {"API_PORT": "", "PORT": "8080"}, {"API_PORT": "9001", "PORT": "8080"},
    {"API_PORT": "tcp://10.96.0.12:8000", "PORT": "8080"}, {"API_PORT": "tcp://10.96.0.12:8000"},
    {"API_PORT": "udp://[fd00::c]:53", "PORT": "8080"},
])
def test_the_healthcheck_probes_the_port_settings_listens_on(env: dict[str, str]) -> None:
    """healthcheck.sh: "Settings' choice (app/settings.py): API_PORT when it is a number ...,
    else PORT as platforms set it, else 8000"."""
    assert healthcheck_port(env) == str(Settings.from_env(env).port)


def test_the_healthcheck_is_the_same_in_the_image_and_in_compose() -> None:
    """The image's HEALTHCHECK for plain `docker run`, compose's for the stack: one probe."""
    [line] = dockerfile("HEALTHCHECK")
    options, command = line.split(" CMD ", 1)
    image = {k.replace("-", "_"): v for k, v in re.findall(r"--([\w-]+)=(\S+)", options)}
    check = API["healthcheck"]  # compose/workers.yml inherits it (extends)
    assert check["test"] == ["CMD", *json.loads(command)]
    for key in ("interval", "timeout", "start_period"):
        assert seconds(check[key]) == seconds(image[key]), f"healthcheck {key}"
    assert check["retries"] == int(image["retries"])


def test_a_replica_is_one_process_and_the_workers_profile_uses_the_same_entry() -> None:
    """Dockerfile: "ONE uvicorn process, no --workers"; compose/workers.yml: the same
    uvicorn config as the replicas, through `python -m app --workers N`."""
    [cmd] = dockerfile("CMD")
    assert json.loads(cmd) == ["python", "-m", "app"]
    assert "command" not in API and "entrypoint" not in API
    assert WORKERS["command"][:4] == ["python", "-m", "app", "--workers"]


def test_replicas_are_reachable_only_through_nginx() -> None:
    """settings.py trusts X-Forwarded-* from private ranges because "the api is only
    reachable on the stack's internal network, so that is nginx"."""
    networks = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["networks"]
    assert API["networks"] == ["backend"] and networks["backend"]["internal"] is True
    assert "ports" not in API


def test_swarm_gives_nginx_every_task() -> None:
    """upstream.conf: "Swarm: api has `endpoint_mode: dnsrr`, so "api" again lists every task"."""
    assert API["deploy"]["endpoint_mode"] == "dnsrr"


def test_swarm_limits_repeat_the_compose_limits() -> None:
    """docker-compose.yml: deploy.resources "repeat mem_limit and pids_limit"; compose/swarm.yml
    resets those for the stack loader and gives the tmpfs the same size."""
    api_limits = API["deploy"]["resources"]["limits"]
    assert (api_limits["memory"], api_limits["pids"]) == (API["mem_limit"], API["pids_limit"])
    nginx_limits = SWARM["nginx"]["deploy"]["resources"]["limits"]
    assert (nginx_limits["memory"], nginx_limits["pids"]) == (NGINX["mem_limit"], NGINX["pids_limit"])
    [tmpfs] = API["tmpfs"]
    size_mib = int(re.search(r"size=(\d+)m", tmpfs)[1])
    for service in ("api", "nginx"):
        mounts = [v for v in SWARM[service]["volumes"] if v["type"] == "tmpfs"]
        assert [(m["target"], m["tmpfs"]["size"]) for m in mounts] == [("/tmp", size_mib * 2**20)], service


def test_rollout_waits_for_nginx_to_see_the_new_replica() -> None:
    """scripts/rollout.py: SETTLE_S is "longer than nginx's resolver valid=2s"."""
    valid = re.search(r"valid=(\w+)", nginx_one("resolver"))
    assert valid
    assert rollout.SETTLE_S > seconds(valid[1])


def test_nginx_error_messages_quote_the_real_limits() -> None:
    """snippets/json-errors.conf tells clients the body and header limits of conf.d/security.conf."""
    errors = (ROOT / "nginx/snippets/json-errors.conf").read_text()
    body_k = re.fullmatch(r"(\d+)k", nginx_one("client_max_body_size"))
    header_k = re.fullmatch(r"\d+ (\d+)k", nginx_one("large_client_header_buffers"))
    assert body_k and header_k
    assert f"at most {body_k[1]} KiB" in errors
    assert f"a header over {header_k[1]} KiB" in errors


def test_the_benchmark_cools_down_longer_than_nginx_benches_a_replica() -> None:
    """bench/runner.py: "nginx benches no replica (upstream.conf: max_fails=0); a server
    line without it would bench one that failed for fail_timeout": with max_fails=0, the
    503s of shedding must be what nginx retries; without, the pause must outlast the bench."""
    from bench.runner import COOL_DOWN_S

    server = nginx_one("server", "upstream.conf")
    if re.search(r"\bmax_fails=0\b", server):
        assert "http_503" in nginx_one("proxy_next_upstream").split()
        return
    fail_timeout = re.search(r"fail_timeout=(\w+)", server)
    assert COOL_DOWN_S > seconds(fail_timeout[1] if fail_timeout else "10s"), f"cool-down {COOL_DOWN_S}s vs {server}"


def test_a_replica_accepts_more_connections_than_one_nginx_worker_keeps_idle() -> None:
    """upstream.conf: idle connections kept "per worker"; settings.py: connections uvicorn
    accepts before it answers 503 itself. Idle keep-alive connections count against that
    limit, so one nginx worker's pool alone must never reach it."""
    keepalive = int(nginx_one("keepalive", "upstream.conf"))
    limit = DEFAULTS.limit_concurrency
    assert keepalive < limit, f"nginx keepalive {keepalive} per worker vs limit_concurrency {limit}"


@pytest.mark.parametrize(("args", "replicas"), [([], str(len(os.sched_getaffinity(0)))), (["SCALE=3"], "3")])
def test_scale_has_one_default_one_replica_per_core(args: list[str], replicas: str) -> None:
    """Makefile: SCALE's "one default: one replica per core"; make up, make bench and the
    rest read it under that name, exported, and compose/many.yml has no default of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("SCALE", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}
    dry = subprocess.run(["make", "-n", "up", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert f"--scale api={replicas}" in dry.stdout
    # The benchmark reads it from the environment make exports: PY stands in for python,
    # SETUP for the set-up step, and each prints the SCALE it was given.
    for target in ("bench", "bench-workers", "bench-runtimes", "bench-balance"):
        ran = subprocess.run(["make", "--no-print-directory", "-s", target, *args, "SETUP=true",
                              "PY=sh -c 'echo SCALE=$$SCALE' --"],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        assert ran.stdout.split() == [f"SCALE={replicas}"], f"make {target}: {ran.stdout!r}"
    many = compose("compose/many.yml")["api"]["deploy"]["replicas"]
    assert re.fullmatch(r"\$\{SCALE:\?[^}]+\}", many), f"compose/many.yml: {many!r} must require SCALE, not default it"

