"""A multi-node swarm on one host, for trying the swarm path: make lab-up | lab-exec | lab-down.

    scripts/lab.py up      N Docker engines as containers (NODES, default 3) on one network,
                           a swarm of 1 manager + N-1 workers, and a registry they all pull from
    scripts/lab.py exec    a docker command on the manager: scripts/lab.py exec docker node ls
    scripts/lab.py host    the DOCKER_HOST of the manager, for scripts/swarm.py (LAB=1)
    scripts/lab.py down    remove the nodes, the registry, their network and volumes

Each node is a container running its own dockerd (lab/node/), started with the flags that
work without --privileged (docs/several-machines.md). The manager's engine socket is shared
with the host at $LAB_DIR/docker.sock; the registry is published on
127.0.0.1:$LAB_REGISTRY_PORT (default 5000), and every node reaches it at that address too.
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import images
from proc import Failed, Log, lines, output, succeeds
from wait import TimedOut, until

ROOT = Path(__file__).resolve().parents[1]
USAGE = "usage: scripts/lab.py up|exec CMD...|host|down (make lab-up NODES=3)"


log = Log("lab")
die = log.die


@dataclass(frozen=True)
class Lab:
    name: str
    dir: Path
    nodes: str  # as given: checked by `up` only
    registry_port: str
    http_port: str
    http_bind: str
    node_image: str
    timeout_s: float

    @property
    def label(self) -> str:
        return f"pycluster.lab={self.name}"


def settings(environ: Mapping[str, str]) -> Lab:
    name = environ.get("LAB_NAME", "pycluster-lab")
    return Lab(name=name, dir=Path(environ.get("LAB_DIR", f"/tmp/{name}")),  # noqa: S108 (the documented default)
               nodes=environ.get("NODES", "3"), registry_port=environ.get("LAB_REGISTRY_PORT", "5000"),
               http_port=environ.get("HTTP_PORT", "8080"), http_bind=environ.get("HTTP_BIND", "0.0.0.0"),  # noqa: S104
               node_image=environ.get("LAB_NODE_IMAGE", "pycluster-lab-node:local"),
               timeout_s=float(environ.get("LAB_TIMEOUT_S", "120")))


def socket(environ: Mapping[str, str]) -> str:
    """The manager's DOCKER_HOST, for scripts/swarm.py (LAB=1)."""
    return f"unix://{settings(environ).dir}/docker.sock"


def registry(environ: Mapping[str, str]) -> str:
    """The lab's registry, as this host and every node reach it."""
    return f"127.0.0.1:{settings(environ).registry_port}"


def node_count(lab: Lab) -> int:
    if not re.fullmatch(r"[1-9][0-9]*", lab.nodes):
        die(f"NODES={lab.nodes} is not a number of nodes (1 or more)")
    return int(lab.nodes)


def node_args(lab: Lab, i: int) -> list[str]:
    """`docker run` of engine i. The first, the manager, also publishes nginx's port and shares
    its socket. Flags: --privileged fails on these VMs (no CAP_SYS_RESOURCE), so all other
    capabilities, no seccomp/apparmor, writable /sys/fs/cgroup and /proc/sys."""
    manager = i == 1
    publish = ["-p", f"{lab.http_bind}:{lab.http_port}:{lab.http_port}", "-v", f"{lab.dir}:/run/lab"]
    return ["docker", "run", "-d", "--name", f"{lab.name}-{i}", "--hostname", f"lab-{i}", "--label", lab.label,
            "--network", lab.name, "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
            "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
            "-v", f"{lab.name}-{i}:/var/lib/docker", "-v", f"{ROOT}:{ROOT}:ro",
            "-e", f"LAB_REGISTRY={lab.name}-registry", "-e", f"LAB_REGISTRY_PORT={lab.registry_port}",
            *(publish if manager else []), lab.node_image,
            "--host", "unix:///var/run/docker.sock", *(["--host", "unix:///run/lab/docker.sock"] if manager else []),
            "--cgroup-parent", f"/{lab.name}-{i}"]


def on(lab: Lab, i: int, *args: str) -> str:
    """A docker command on node i's own engine."""
    return output(["docker", "exec", f"{lab.name}-{i}", "docker", *args])


def build_node_image(lab: Lab) -> None:
    base = images.images(["PYTHON_IMAGE"])["PYTHON_IMAGE"]
    log(f"building the node image {lab.node_image} (Debian's docker.io on {base})")
    # Its errors, if any, go to stderr as they come.
    build = ["docker", "build", "-q", "-t", lab.node_image, "--build-arg", f"BASE_IMAGE={base}", "lab/node"]
    if subprocess.run(build, stdout=subprocess.DEVNULL).returncode != 0:
        die("the node image did not build; see the output above: docker build lab/node")


def start_registry(lab: Lab) -> None:
    image = images.images(["REGISTRY_IMAGE"])["REGISTRY_IMAGE"]
    log(f"registry {image} on 127.0.0.1:{lab.registry_port}, and at {lab.name}-registry:5000 for the nodes")
    output(["docker", "run", "-d", "--name", f"{lab.name}-registry", "--label", lab.label, "--network", lab.name,
            "--restart", "unless-stopped", "-p", f"127.0.0.1:{lab.registry_port}:5000",
            "-v", f"{lab.name}-registry:/var/lib/registry", image])


def wait_engine(lab: Lab, i: int) -> None:
    until(lambda: succeeds(["docker", "exec", f"{lab.name}-{i}", "docker", "info"]), lab.timeout_s,
          f"the engine of node {i} to start", f"See: docker logs {lab.name}-{i}")


def form_swarm(lab: Lab, nodes: int) -> None:
    ip = output(["docker", "inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{lab.name}").IPAddress}}}}',
                 f"{lab.name}-1"])
    on(lab, 1, "swarm", "init", "--advertise-addr", ip)
    token = on(lab, 1, "swarm", "join-token", "-q", "worker")
    for i in range(2, nodes + 1):
        on(lab, i, "swarm", "join", "--token", token, f"{ip}:2377")
    ready = [0]

    def all_ready() -> bool:
        ready[0] = lines(on(lab, 1, "node", "ls", "--format", "{{.Status}}")).count("Ready")
        return ready[0] == nodes

    until(all_ready, lab.timeout_s, lambda: f"every node to be Ready ({ready[0]} of {nodes} are)",
          "See: make lab-exec CMD='docker node ls'")


def cmd_up(lab: Lab) -> None:
    nodes = node_count(lab)
    if output(["docker", "ps", "-aq", "--filter", f"label={lab.label}"]):
        die("a lab is already up: make lab-down first")
    build_node_image(lab)
    lab.dir.mkdir(parents=True, exist_ok=True)
    output(["docker", "network", "create", "--label", lab.label, lab.name])
    start_registry(lab)
    for i in range(1, nodes + 1):
        output(node_args(lab, i))
    for i in range(1, nodes + 1):
        wait_engine(lab, i)
    form_swarm(lab, nodes)
    log(f"up: {nodes} nodes (lab-1 manages), registry 127.0.0.1:{lab.registry_port}")
    log("  try: make lab-exec CMD='docker node ls'; deploy: make swarm-up LAB=1 SCALE=6")


def cmd_down(lab: Lab) -> None:
    label = f"label={lab.label}"
    containers = lines(output(["docker", "ps", "-aq", "--filter", label]))
    if containers:
        output(["docker", "rm", "-f", "-v", *containers])
    networks = lines(output(["docker", "network", "ls", "-q", "--filter", label]))
    if networks:
        output(["docker", "network", "rm", *networks])
    volumes = lines(output(["docker", "volume", "ls", "-q", "--filter", f"name=^{lab.name}-"]))
    if volumes:
        output(["docker", "volume", "rm", *volumes])
    if lab.dir.exists():
        shutil.rmtree(lab.dir)
    log(f"down: nodes, registry, network and volumes of {lab.name} removed")


def cmd_exec(lab: Lab, command: list[str]) -> int:
    return subprocess.run(["docker", "exec", "-i", f"{lab.name}-1", *command]).returncode


def parse(argv: list[str]) -> tuple[str, list[str]]:
    """The command and, for exec, what to run on the manager."""
    match argv:
        case ["up" | "down" | "host" as command]:
            return command, []
        case ["exec", first, *rest]:
            return "exec", [first, *rest]
        case ["exec"]:
            die("usage: scripts/lab.py exec COMMAND...")
        case _:
            die(USAGE)


def main(argv: list[str]) -> int:
    os.chdir(ROOT)
    command, rest = parse(argv)
    lab = settings(os.environ)
    if command == "exec":
        return cmd_exec(lab, rest)
    if command == "host":
        print(socket(os.environ))
    else:
        {"up": cmd_up, "down": cmd_down}[command](lab)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (Failed, TimedOut) as exc:
        die(str(exc))
