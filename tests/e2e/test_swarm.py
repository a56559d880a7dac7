"""The same docker-compose.yml on a Docker Swarm (one node): deploy, an even spread, scale and a
rolling update under load, through the make targets' script (scripts/swarm.py).

The swarm is created here when the engine has none, and left again afterwards; an existing
swarm (this node a manager) is used and kept. Either way the engine ends as it started.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests import ports
from tests.conftest import ROOT
from tests.e2e.load import LoadLoop, wait_serving
from tests.wait import until

pytestmark = pytest.mark.e2e

STACK = os.environ.get("SWARM_E2E_STACK", "pycluster-swarm-e2e")
PORT = ports.SWARM_HTTP
NEW_TASK_DEADLINE_S = 20


def docker_out(*args: str, check: bool = True, timeout: float = 120) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    assert not check or result.returncode == 0, f"docker {' '.join(args)} failed:\n{result.stderr[-2000:]}"
    return result.stdout.strip()


def networks() -> set[str]:
    return set(docker_out("network", "ls", "--format", "{{.Name}}").split())


class Swarm:
    def __init__(self, stack: str = STACK, port: int = PORT, **env: str) -> None:
        """The stack `stack` with nginx on `port`; `env` for every scripts/swarm.py command."""
        self.stack, self.env = stack, {"STACK": stack, "HTTP_PORT": str(port), **env}
        self.base_url = f"http://127.0.0.1:{port}"

    def script(self, command: str, **env: str) -> str:
        """scripts/swarm.py as `make swarm-<command>` runs it; returns its log lines."""
        result = subprocess.run(
            [sys.executable, str(ROOT / "scripts" / "swarm.py"), command], capture_output=True, text=True,
            timeout=600, env={**os.environ, **self.env, **env})
        print(result.stderr)
        assert result.returncode == 0, f"scripts/swarm.py {command} failed:\n{result.stderr[-3000:]}"
        return result.stderr

    def service(self, name: str) -> dict:
        return json.loads(docker_out("service", "inspect", f"{self.stack}_{name}"))[0]

    def tasks(self) -> set[str]:
        """The api tasks that run and pass their healthcheck, as X-Replica names them
        (the container's hostname: its short id)."""
        return set(docker_out("ps", "--filter", f"label=com.docker.swarm.service.name={self.stack}_api",
                          "--filter", "health=healthy", "--format", "{{.ID}}").split())

    def scale(self, replicas: int) -> set[str]:
        if len(self.tasks()) != replicas:
            self.script("scale", SCALE=str(replicas))
        tasks = self.tasks()
        assert len(tasks) == replicas, tasks
        return tasks

    def wait_serving(self, tasks: set[str], timeout: float = 30) -> None:
        wait_serving(self.base_url, tasks, timeout)

    def logs(self, service: str) -> str:
        """Every container's log, stopped ones too. From `docker logs`: `docker service logs`
        was seen to hang on tasks that a rolling update had shut down."""
        out = []
        for line in docker_out("ps", "-a", "--filter", f"label=com.docker.swarm.service.name={self.stack}_{service}",
                               "--format", "{{.ID}} {{.Names}}").splitlines():
            cid, name = line.split()
            logs = subprocess.run(["docker", "logs", "--timestamps", cid], capture_output=True, text=True, timeout=30)
            out += [f"{name} | {entry}" for entry in (logs.stdout + logs.stderr).splitlines()]
        return "\n".join(out)

    def explain(self, failed: list) -> str:
        errors = [line for line in self.logs("nginx").splitlines() if "[error]" in line or "[warn]" in line]
        return f"{len(failed)} failed: {failed[:5]}\nnginx errors (last 30):\n" + "\n".join(errors[-30:])


def swarm_state() -> list[str]:
    return docker_out("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").split()


@contextlib.contextmanager
def deployed(swarm: Swarm, **env: str) -> Iterator[Swarm]:
    """`swarm` deployed with SCALE=4 (and `env`) on this engine's swarm, made here when it has
    none; afterwards removed, and the engine left as it was found."""
    networks_before = networks()
    state, manager = swarm_state()
    created = state == "inactive"
    if created:
        init = subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"],
                              capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            pytest.fail(f"docker swarm init failed, so the swarm test cannot run: {init.stderr.strip()}",
                        pytrace=False)
    elif state != "active" or manager != "true":
        pytest.fail(f"this engine is in swarm state {state!r} (manager: {manager}); the test needs no "
                    "swarm or a manager node. See: docker info", pytrace=False)
    try:
        swarm.script("down")  # the leftovers of an aborted run, if any
        swarm.script("up", **{"SCALE": "4", **env})
        yield swarm
    finally:
        # Each step runs even when an earlier one failed: the engine must end as it started.
        problems = []
        try:
            logs = ROOT / "results" / "e2e" / f"{swarm.stack}.log"
            logs.parent.mkdir(parents=True, exist_ok=True)
            logs.write_text(swarm.logs("nginx") + "\n" + swarm.logs("api"))
            print(f"\ncontainer logs of the swarm e2e stack: {logs}")
        except (AssertionError, subprocess.SubprocessError, OSError) as exc:
            problems.append(f"could not save the logs: {exc}")
        try:
            swarm.script("down")
        except (AssertionError, subprocess.SubprocessError) as exc:
            problems.append(str(exc))
        # docker_gwbridge: made by swarm for its containers' egress, left behind by `swarm leave`;
        # in a swarm that stays, swarm itself owns it (and makes it again if removed).
        ignore = set() if created else {"docker_gwbridge"}
        if created:
            docker_out("swarm", "leave", "--force", check=False)
            if "docker_gwbridge" not in networks_before:
                docker_out("network", "rm", "docker_gwbridge", check=False)
        if swarm_state()[0] != state:
            problems.append(f"swarm state is {swarm_state()[0]}, was {state}")
        if networks() - ignore != networks_before - ignore:
            problems.append(f"networks differ: now {sorted(networks())}, were {sorted(networks_before)}")
        assert not problems, "the engine was not left as found:\n" + "\n".join(problems)


@pytest.fixture(scope="module")
def swarm(docker: None) -> Iterator[Swarm]:
    with deployed(Swarm()) as swarm:
        yield swarm


def test_the_stack_deploys_as_the_compose_file_says(swarm: Swarm) -> None:
    api = swarm.service("api")["Spec"]
    assert api["EndpointSpec"]["Mode"] == "dnsrr", "nginx must see every task, not one VIP"
    assert api["UpdateConfig"]["Order"] == "start-first"
    assert api["UpdateConfig"]["FailureAction"] == "rollback"
    assert api["RollbackConfig"]["Order"] == "start-first"
    assert api["TaskTemplate"]["Placement"]["MaxReplicas"] > 0
    assert api["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    assert api["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] == 256 * 2**20
    container = api["TaskTemplate"]["ContainerSpec"]
    assert container["Healthcheck"]["Test"][0] == "CMD"
    assert container["ReadOnly"] is True and container["Init"] is True
    assert container["CapabilityDrop"] == ["ALL"]
    nginx = swarm.service("nginx")["Spec"]
    assert [(p["TargetPort"], p["PublishedPort"], p["PublishMode"]) for p in nginx["EndpointSpec"]["Ports"]] \
        == [(8080, PORT, "host")]
    assert nginx["TaskTemplate"]["Placement"]["Constraints"][0].startswith("node.id == ")


def test_100_requests_are_spread_evenly_over_4_tasks(swarm: Swarm, tally) -> None:
    tasks = swarm.scale(4)
    swarm.wait_serving(tasks)
    with httpx.Client(base_url=swarm.base_url, timeout=10) as client:
        served = [client.get("/api") for _ in range(100)]
    assert [r.status_code for r in served] == [200] * 100, served[0].text
    assert served[0].text == "Result number is 339111948196"
    counts = collections.Counter(r.headers["x-replica"] for r in served)
    tally(f"swarm: 100 sequential /api requests over 4 tasks: {dict(counts)}")
    assert set(counts) == tasks
    assert all(23 <= c <= 27 for c in counts.values()), counts


def test_scale_4_to_6_under_load_new_tasks_get_traffic(swarm: Swarm, tally) -> None:
    before = swarm.scale(4)
    with LoadLoop(f"{swarm.base_url}/api?n=1000") as load:
        load.wait_for(50)
        swarm.script("scale", SCALE="6")  # returns once 6 tasks run and are healthy
        new = swarm.tasks() - before
        load.wait_reaches(new, NEW_TASK_DEADLINE_S)
    tally(f"swarm: scale 4 -> 6: {load.summary()}")
    assert len(new) == 2, new
    assert new <= set(load.per_replica()), f"new tasks got no traffic within {NEW_TASK_DEADLINE_S} s"
    assert load.failed == [], swarm.explain(load.failed)


def test_rolling_update_under_load_fails_no_get(swarm: Swarm, tally) -> None:
    before = swarm.scale(6)
    with LoadLoop(f"{swarm.base_url}/api?n=1000", max_seconds=400) as load:
        load.wait_for(50)
        log = swarm.script("rollout", SWARM_BUILD="0")  # docker service update --force
        # An old task may still be draining as the update ends.
        after, _ = until("the update to replace every task", swarm.tasks,
                         lambda now: len(now) == 6 and not now & before, 30, every_s=0.5,
                         describe=lambda now: f"every task must be replaced: {before} -> {now}")
        done_at = len(load.results)
        load.wait_for(done_at + 100)
    tally(f"swarm: docker service update --force of 6 tasks: {load.summary()}")
    assert "docker service update --force" in log
    assert swarm.service("api")["UpdateStatus"]["State"] == "completed"
    assert len(after) == 6 and not after & before, f"every task must be replaced: {before} -> {after}"
    assert load.failed == [], swarm.explain(load.failed)
    assert {r.replica for r in load.results[done_at + 20:] if r.status == 200} == after, \
        "after the update, traffic goes to the new tasks only"
