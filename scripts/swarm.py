"""The same stack on a Docker Swarm: make swarm-up | swarm-scale | swarm-rollout | swarm-down.

    scripts/swarm.py up        build the api image, deploy STACK with SCALE replicas, wait
    scripts/swarm.py scale     change the replica count to SCALE, wait until all serve
    scripts/swarm.py rollout   rebuild, then a rolling update of every api task, wait
    scripts/swarm.py down      remove the stack and wait until its containers are gone
    scripts/swarm.py config    print the stack file that `up` deploys, as swarm reads it

Swarm does the scheduling, service discovery and rolling updates; this only renders the
stack file (scripts/stack.py) and waits, saying what happened. It needs a manager node
(`docker swarm init`) and never creates or leaves the swarm itself.
"""

import os
import subprocess
import sys
from collections.abc import Mapping

import images
import lab
import stack
from proc import Failed, lines, output, succeeds
from swarm_engine import (
    NO_SCALE,
    Settings,
    Swarm,
    die,
    log,
    require_api,
    require_manager,
    update_status,
    updated,
    wait_http,
    wait_replicas,
)
from wait import TimedOut, until

COMMANDS = ("up", "scale", "rollout", "down", "config")
USAGE = "usage: scripts/swarm.py up|scale|rollout|down|config (make swarm-up SCALE=4 HTTP_PORT=8080)"


def parse(argv: list[str], environ: Mapping[str, str]) -> Settings:
    if len(argv) != 1 or argv[0] not in COMMANDS:
        die(USAGE)
    scale = environ.get("SCALE", "")
    if not scale and argv[0] in ("up", "scale"):
        die(NO_SCALE)
    if scale and not scale.isdigit():
        die(f"SCALE={scale} is not a replica count: a whole number, e.g. SCALE=4")
    with_lab = environ.get("LAB", "0") == "1"
    return Settings(command=argv[0], stack=environ.get("STACK", "pycluster-swarm"),
                    scale=int(scale) if scale else None, timeout_s=float(environ.get("SWARM_TIMEOUT_S", "300")),
                    build=environ.get("SWARM_BUILD", "1") == "1",
                    # LAB=1 is the push path of a real cluster: every image through the lab's registry.
                    push=with_lab or environ.get("SWARM_PUSH", "0") == "1", lab=with_lab)


def connect(settings: Settings, environ: Mapping[str, str]) -> Swarm:
    host_env = dict(environ)
    if not settings.lab:
        return Swarm(settings, host_env, host_env)
    socket = lab.socket(environ)
    if not os.path.exists(socket.removeprefix("unix://")):
        die("no lab here: start one with make lab-up NODES=3")
    if not images.variable("API_IMAGE"):
        host_env["API_IMAGE"] = f"{lab.registry(environ)}/pycluster-api:lab"
    log(f"LAB=1: the lab's swarm ({socket}), images through its registry {lab.registry(environ)}")
    return Swarm(settings, host_env, host_env | {"DOCKER_HOST": socket})


def lb_node(swarm: Swarm) -> str:
    """The node nginx runs on: SWARM_LB_NODE as compose reads it (environment, .env), else
    this one; for `config` outside a swarm, a stand-in."""
    this = swarm.docker("info", "--format", "{{.Swarm.NodeID}}")
    return images.variable("SWARM_LB_NODE") or this or "THIS_NODE"


def build_image(swarm: Swarm, image: str) -> None:
    if not swarm.settings.build:
        log(f"SWARM_BUILD=0: using {image} as it is")
        return
    log(f"building {image} with docker compose build")
    build = ["docker", "compose", "--project-directory", str(stack.ROOT), "-f", "docker-compose.yml", "build", "-q"]
    if subprocess.run([*build, "api"], env=swarm.host_env, stdout=sys.stderr).returncode != 0:
        die("the api image did not build; see the output above")
    if swarm.settings.push:
        log(f"pushing {image} (every node pulls it from there)")
        if not succeeds(["docker", "push", "-q", image], env=swarm.host_env):
            die(f"docker push {image} failed: is API_IMAGE in a registry you are logged in to?")
    elif len(lines(swarm.docker("node", "ls", "-q"))) > 1:
        log(f"warning: {image} is only on this node. Other nodes cannot start api tasks unless you")
        log("  push it (SWARM_PUSH=1 API_IMAGE=registry.example:5000/pycluster-api:TAG) or load it there")
        log(f"  (docker save {image} | ssh NODE docker load)")


def mirror(swarm: Swarm, config: stack.Config) -> stack.Config:
    """LAB=1: every other image (pulled here if missing) pushed to the lab's registry, and the
    stack pointed at the copies."""
    def here(*args: str) -> bool:
        return succeeds(["docker", *args], env=swarm.host_env)

    config, copies = stack.mirrored(config, lab.registry(swarm.host_env))
    for image, copy in copies.items():
        if not here("image", "inspect", image) and not here("pull", "-q", image):
            die(f"{image} is neither here nor pullable: make setup builds the stand-ins")
        if not (here("tag", image, copy) and here("push", "-q", copy)):
            die(f"docker push {copy} failed: is the lab's registry up? make lab-up")
    return config


def deploy(swarm: Swarm, config: stack.Config) -> None:
    resolve = "always" if swarm.settings.push else "never"  # a local image has no digest to pin
    args = ["docker", "stack", "deploy", "--detach=true", "--prune", "--resolve-image", resolve,
            *swarm.registry_auth(), "-c", "-", swarm.settings.stack]
    # Swarm's progress to stderr, with the log lines; stdout stays for `config`.
    done = subprocess.run(args, input=stack.stack_file(config), text=True, env=swarm.swarm_env,
                          stdout=sys.stderr)
    if done.returncode != 0:
        die("docker stack deploy failed; the stack file it read: scripts/swarm.py config")


def cmd_up(swarm: Swarm) -> None:
    node = lb_node(swarm)
    config = swarm.render(node)
    build_image(swarm, config["services"]["api"]["image"])
    if swarm.settings.lab:
        config = mirror(swarm, config)
    port = config["services"]["nginx"]["ports"][0]["published"]
    scale = swarm.scale()
    log(f"deploying stack {swarm.settings.stack}: {scale} api replicas, nginx on node {node} port {port} (host mode)")
    deploy(swarm, config)
    wait_replicas(swarm, "api", scale)
    wait_replicas(swarm, "nginx", 1)
    wait_http(swarm, node, port)


def cmd_scale(swarm: Swarm) -> None:
    require_api(swarm)
    scale = swarm.scale()
    log(f'scaling {swarm.name("api")} to {scale} (nginx re-resolves "api" every 2 s: no reload)')
    swarm.docker("service", "scale", "--detach", f"{swarm.name('api')}={scale}")
    wait_replicas(swarm, "api", scale)


def cmd_rollout(swarm: Swarm) -> None:
    _, want = require_api(swarm)
    image = swarm.render(lb_node(swarm))["services"]["api"]["image"]
    build_image(swarm, image)
    api = swarm.name("api")
    before = update_status(swarm)
    log(f"rolling update of {api} ({want} tasks, start-first, 2 at a time): docker service update --force")
    pin = [] if swarm.settings.push else ["--no-resolve-image"]  # a local image has no digest to pin
    swarm.docker("service", "update", "--detach", "--force", "--image", image, *swarm.registry_auth(), *pin, api)
    until(lambda: updated(before, update_status(swarm), api), swarm.settings.timeout_s,
          lambda: f"the update of {api} to complete (now: {update_status(swarm) or 'not started'})",
          f"See: docker service ps {api}")
    wait_replicas(swarm, "api", want)
    log("rollout done: every api task was replaced")


def cmd_down(swarm: Swarm) -> None:
    name = swarm.settings.stack
    if name not in lines(swarm.docker("stack", "ls", "--format", "{{.Name}}")):
        log(f"no stack {name}: nothing to remove")
        return
    log(f"removing stack {name} (replicas drain on SIGTERM first)")
    # --detach=false waits for the tasks; a network still held by a stopping task can
    # outlive it, so gone() removes what is left.
    succeeds(["docker", "stack", "rm", "--detach=false", name], env=swarm.swarm_env)
    label = f"label=com.docker.stack.namespace={name}"

    def gone() -> bool:
        containers = lines(swarm.docker("ps", "-aq", "--filter", label))
        networks = lines(swarm.docker("network", "ls", "-q", "--filter", label))
        if networks and not containers:
            succeeds(["docker", "network", "rm", *networks], env=swarm.swarm_env)
        return not containers and not networks

    until(gone, swarm.settings.timeout_s, f"the containers and networks of {name} to go",
          f"See: docker ps -a --filter {label}; docker network ls --filter {label}")
    log(f"stack {name} removed (the swarm itself stays; leave it with: docker swarm leave --force)")


def cmd_config(swarm: Swarm) -> None:
    """No swarm needed: nginx's node is a stand-in outside one."""
    config = swarm.render(lb_node(swarm))
    print(output(["docker", "stack", "config", "-c", "-"], stdin=stack.stack_file(config), env=swarm.swarm_env))


def main(argv: list[str]) -> None:
    os.chdir(stack.ROOT)
    settings = parse(argv, os.environ)
    swarm = connect(settings, os.environ)
    if settings.command != "config":
        require_manager(swarm)
    {"up": cmd_up, "scale": cmd_scale, "rollout": cmd_rollout, "down": cmd_down, "config": cmd_config}[
        settings.command](swarm)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (Failed, TimedOut, ValueError) as exc:
        die(str(exc))
