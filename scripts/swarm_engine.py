"""The swarm as scripts/swarm.py sees it: the engine that runs its commands (this host's,
or the lab's manager with LAB=1), what it reports about the stack's services, and the waits
on that, each saying what did not happen and where to look."""

import urllib.error
import urllib.request
from dataclasses import dataclass

import stack
from proc import Failed, Log, lines, output
from wait import until

NO_SCALE = "set SCALE, the api replica count (make swarm-up sets one per core)"


log = Log("swarm")
die = log.die


@dataclass(frozen=True)
class Settings:
    command: str
    stack: str
    scale: int | None
    timeout_s: float
    build: bool  # `docker compose build` the api image first (up, rollout)
    push: bool  # push the api image (a name in a registry every node can reach), pin its digest
    lab: bool  # the swarm of scripts/lab.py: its manager runs the swarm commands


@dataclass(frozen=True)
class Swarm:
    settings: Settings
    # compose and builds run on this host's engine, also when LAB=1 points the swarm
    # commands at the lab's manager (swarm_env's DOCKER_HOST).
    host_env: dict[str, str]
    swarm_env: dict[str, str]

    def docker(self, *args: str) -> str:
        return output(["docker", *args], env=self.swarm_env)

    def name(self, service: str) -> str:
        return f"{self.settings.stack}_{service}"

    def render(self, lb_node: str) -> stack.Config:
        rendered = stack.render(self.settings.stack, self.host_env | {"SWARM_LB_NODE": lb_node})
        return stack.for_swarm(rendered, self.settings.scale)

    def scale(self) -> int:
        if self.settings.scale is None:
            die(NO_SCALE)
        return self.settings.scale

    def registry_auth(self) -> list[str]:
        """A pushed image goes with the registry login, so that every node can pull it."""
        return ["--with-registry-auth"] if self.settings.push else []


def require_manager(swarm: Swarm) -> None:
    state, manager = swarm.docker("info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}").split()
    if state != "active":
        die(f"this engine is not in a swarm (state: {state}). Start one:\n"
            "    docker swarm init --advertise-addr <this node's IP>   (127.0.0.1 for a single node)")
    if manager != "true":
        die("this node is a swarm worker; run this on a manager (docker node ls there)")


def replicas(swarm: Swarm, service: str) -> tuple[int, int] | None:
    """(running, desired) tasks of a service, None if there is no such service. Running means
    started and healthy. From the tasks swarm wants running: `docker service ls` also counts
    the tasks of a node that went down, which it has already replaced (9/6)."""
    try:
        desired = int(swarm.docker("service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}",
                                   swarm.name(service)))
        states = lines(swarm.docker("service", "ps", "--filter", "desired-state=running",
                                    "--format", "{{.CurrentState}}", swarm.name(service)))
    except Failed:
        return None
    return sum(state.startswith("Running") for state in states), desired


def wait_replicas(swarm: Swarm, service: str, want: int) -> None:
    seen: list[tuple[int, int] | None] = [None]

    def all_running() -> bool:
        seen[0] = replicas(swarm, service)
        return seen[0] == (want, want)

    until(all_running, swarm.settings.timeout_s,
          lambda: f"{swarm.name(service)} to run {want} healthy tasks (running/desired: {seen[0]})",
          f"Why: docker service ps --no-trunc {swarm.name(service)}")
    log(f"{swarm.name(service)}: {want}/{want} tasks running and healthy")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer: with NGINX_TLS=on, plain HTTP redirects to HTTPS (308)."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def answers(url: str) -> bool:
    try:
        # Only the http://127.0.0.1 URL that wait_http built.
        with urllib.request.build_opener(NoRedirect).open(url, timeout=5):
            return True
    except urllib.error.HTTPError as error:
        return 300 <= error.code < 400
    except OSError:
        return False


def wait_http(swarm: Swarm, node: str, port: int) -> None:
    # Only on the node nginx runs on, which is this one unless SWARM_LB_NODE says otherwise.
    if node != swarm.docker("info", "--format", "{{.Swarm.NodeID}}"):
        return
    url = f"http://127.0.0.1:{port}/"
    until(lambda: answers(url), swarm.settings.timeout_s, f"nginx to answer {url}",
          f"See: docker service logs {swarm.name('nginx')}")
    log(f"serving: {url} (through nginx, least_conn over every api task)")


def require_api(swarm: Swarm) -> tuple[int, int]:
    found = replicas(swarm, "api")
    if found is None:
        die(f"no service {swarm.name('api')}; deploy first: make swarm-up")
    return found


def update_status(swarm: Swarm) -> str:
    """"<started at> <state>" of the api service's last update, empty before the first one."""
    return swarm.docker("service", "inspect", "--format", "{{with .UpdateStatus}}{{.StartedAt}} {{.State}}{{end}}",
                        swarm.name("api"))


def updated(before: str, status: str, api: str) -> bool:
    """Whether swarm reports THIS update (a new start time, not `before`) as completed."""
    state = status.rsplit(" ", 1)[-1]
    if state.startswith("rollback_") or state == "paused":
        die(f"the update did not complete (state: {state}); swarm rolled back or stopped. Why:\n"
            f"    docker service inspect --format '{{{{json .UpdateStatus}}}}' {api}; docker service ps {api}")
    return status != before and state == "completed"
