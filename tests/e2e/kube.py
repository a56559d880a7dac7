"""Pods of the rendered Kubernetes manifests as Docker containers, run as the kubelet would.

No Kubernetes engine runs here. Each pod is one container started from its Deployment's
container spec (image, command, env, user, read-only root, capabilities, limits, volumes)
on a bridge network of its own, where Docker's DNS answers a headless Service's name with
its pods' addresses, as the cluster DNS would. The probes go from the host to the pod's
address; the preStop hook and the grace period run as the kubelet runs them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import proc
from tests.deploy.manifests import Manifests, env, port, quantity, write_configmap
from tests.e2e.conftest import inspect, logs
from tests.wait import until

# The characters Kubernetes draws generated names from (no vowels: no words).
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
LABEL = "pycluster.kpod"
# Docker's embedded DNS stands in for the cluster DNS: the one line the emulation changes.
RESOLVER = "resolver 127.0.0.11 valid=2s ipv6=off;"
# The API server's Service, whose variables every pod gets.
MASTER = {"metadata": {"name": "kubernetes"}, "spec": {"ports": [{"name": "https", "port": 443}]}}


def cli(*args: str, timeout: float = 120) -> str:
    return proc.output(["docker", *args], timeout=timeout)


def service_links(services: list[dict[str, Any]]) -> dict[str, str]:
    """The variables the kubelet gives a pod for each Service (and the API server's), as if
    each had a cluster address: 10.96.0.1, .2... in order."""
    links: dict[str, str] = {}
    for index, service in enumerate([MASTER, *services], start=1):
        addr, name = f"10.96.0.{index}", service["metadata"]["name"].upper().replace("-", "_")
        for rank, entry in enumerate(service["spec"]["ports"]):
            proto, number = entry.get("protocol", "TCP"), entry["port"]
            url, prefix = f"{proto.lower()}://{addr}:{number}", f"{name}_PORT_{number}_{proto}"
            if rank == 0:  # the first port also names the Service's own
                links |= {f"{name}_SERVICE_HOST": addr, f"{name}_SERVICE_PORT": str(number), f"{name}_PORT": url}
            if "name" in entry:
                links[f"{name}_SERVICE_PORT_{entry['name'].upper().replace('-', '_')}"] = str(number)
            links |= {prefix: url, f"{prefix}_PROTO": proto.lower(), f"{prefix}_PORT": str(number),
                      f"{prefix}_ADDR": addr}
    return links


def pod_name(deployment: dict[str, Any]) -> str:
    """DEPLOYMENT-TEMPLATEHASH-XXXXX, as a ReplicaSet names its pods."""
    digest = int(hashlib.sha256(json.dumps(deployment["spec"]["template"], sort_keys=True).encode()).hexdigest(), 16)
    template = "".join(ALPHABET[digest // len(ALPHABET) ** i % len(ALPHABET)] for i in range(10))
    return f"{deployment['metadata']['name']}-{template}-{''.join(secrets.choice(ALPHABET) for _ in range(5))}"


def run_args(pod: dict[str, Any], container: dict[str, Any]) -> list[str]:
    """The container's securityContext (over the pod's) and limits as `docker run` flags."""
    context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
    args = ["--user", f"{context['runAsUser']}:{context.get('runAsGroup', context['runAsUser'])}"]
    args += ["--read-only"] if context.get("readOnlyRootFilesystem") else []
    args += [arg for cap in context.get("capabilities", {}).get("drop", []) for arg in ("--cap-drop", cap)]
    args += ["--security-opt", "no-new-privileges"] if context.get("allowPrivilegeEscalation") is False else []
    # seccompProfile RuntimeDefault is Docker's default profile: nothing to add.
    assert context.get("seccompProfile", {}).get("type", "RuntimeDefault") == "RuntimeDefault"
    limits = container.get("resources", {}).get("limits", {})
    args += ["--cpus", f"{quantity(limits['cpu']):g}"] if "cpu" in limits else []
    memory = [str(int(quantity(limits["memory"])))] if "memory" in limits else []
    args += [a for m in memory for a in ("--memory", m, "--memory-swap", m)]  # no swap, as on a kubelet's node
    return args


@dataclass(eq=False)
class Pod:
    name: str
    container_id: str
    ip: str
    spec: dict[str, Any]  # the pod's spec, with its one container
    ready: bool = False
    startup_failed: bool = False
    worst_liveness: int = 0  # the longest run of liveness failures while it was not terminating
    terminating: bool = False
    pre_stop_s: float = 0.0
    hook_rc: int | None = None  # an exec preStop's exit status
    gone: threading.Event = field(default_factory=threading.Event)

    @property
    def container(self) -> dict[str, Any]:
        (container,) = self.spec["containers"]
        return container  # type: ignore[no-any-return]

    def url(self, path: str = "", name: str | int = "http") -> str:
        return f"http://{self.ip}:{port(self.container, name)}{path}"

    def inspect(self) -> dict[str, Any]:
        return inspect(self.container_id)

    def logs(self) -> str:
        return logs(self.container_id)

    def probe(self, spec: dict[str, Any]) -> bool:
        get = spec["httpGet"]
        try:
            response = httpx.get(self.url(get["path"], get["port"]), timeout=spec.get("timeoutSeconds", 1),
                                 headers={"User-Agent": "kube-probe/1.30"})
        except httpx.HTTPError:
            return False
        return 200 <= response.status_code < 400

    def run_probes(self, kind: str = "startup") -> None:
        """The kubelet's loop for one probe: startupProbe first, then readiness and liveness."""
        spec = self.container.get(f"{kind}Probe")
        failures = 0
        while spec is not None:
            ok = self.probe(spec)
            failures = 0 if ok else failures + 1
            if kind == "startup" and (ok or failures >= spec.get("failureThreshold", 3)):
                self.startup_failed = not ok
                break
            if kind == "readiness" and (ok or failures >= spec.get("failureThreshold", 3)):
                self.ready = ok
            if kind == "liveness" and not self.terminating:  # the kubelet restarts it at the threshold
                self.worst_liveness = max(self.worst_liveness, failures)
            if self.gone.wait(spec.get("periodSeconds", 10)):  # the probe's own period
                return
        if kind == "startup" and not self.startup_failed:
            for then in ("readiness", "liveness"):
                threading.Thread(target=self.run_probes, args=(then,), daemon=True).start()

    def pre_stop(self) -> float:
        """The preStop hook, as the kubelet runs it before SIGTERM: its seconds."""
        self.terminating = True
        hook, started = self.container.get("lifecycle", {}).get("preStop", {}), time.monotonic()
        if "sleep" in hook:
            time.sleep(hook["sleep"]["seconds"])  # the spec's own pause, not a wait of the test's
        elif "exec" in hook:
            self.hook_rc = subprocess.run(["docker", "exec", self.container_id, *hook["exec"]["command"]],
                                          capture_output=True, timeout=self.grace_s).returncode
        self.pre_stop_s = time.monotonic() - started
        return self.pre_stop_s

    @property
    def grace_s(self) -> int:
        return int(self.spec.get("terminationGracePeriodSeconds", 30))

    def stop(self) -> float:
        """SIGTERM, then SIGKILL when the grace period is over; the preStop counts inside it
        (and the kubelet allows 2 s more after a long hook). The seconds it took to exit."""
        started = time.monotonic()
        cli("stop", "-t", str(max(math.ceil(self.grace_s - self.pre_stop_s), 2)), self.container_id, timeout=60)
        self.gone.set()
        return time.monotonic() - started


class Cluster:
    """The rendered objects, and the pods started from them on a Docker network of their own."""

    def __init__(self, manifests: Manifests, images: dict[str, str], workdir: Path) -> None:
        self.manifests, self.images, self.workdir = manifests, images, workdir
        self.session = secrets.token_hex(4)
        self.network = f"kpod-{self.session}"
        self.pods: list[Pod] = []
        self.edits: list[tuple[str, str, str]] = []  # (file, rendered line, emulated line)
        cli("network", "create", "--label", f"{LABEL}={self.session}", self.network)

    def dns_names(self, labels: dict[str, str]) -> list[str]:
        """The headless Services selecting these labels: their names resolve to the pods."""
        return [f"{s['metadata']['name']}.{s['metadata']['namespace']}.svc.cluster.local"
                for s in self.manifests.all("Service")
                if s["spec"].get("clusterIP") == "None" and s["spec"]["selector"].items() <= labels.items()]

    def running(self, app: str) -> list[Pod]:
        return [p for p in self.pods if p.name.startswith(f"{app}-") and not p.terminating]

    def scale(self, app: str, count: int, platform: dict[str, str] | None = None) -> list[Pod]:
        """Start pods until `count` run (a ReplicaSet's job), then wait until all are ready."""
        while len(self.running(app)) < count:
            self.start(app, platform or {})
        for pod in self.running(app):
            probes = [p for p in (pod.container.get("startupProbe"), pod.container.get("readinessProbe")) if p]
            deadline = sum(p.get("periodSeconds", 10) * p.get("failureThreshold", 3) for p in probes) + 10
            until(f"pod {pod.name} to be ready", lambda p=pod: p.ready or p.startup_failed, bool, deadline,
                  describe=lambda _, p=pod: f"its log:\n{p.logs()[-2000:]}")
            assert not pod.startup_failed, f"{pod.name} failed its startupProbe:\n{pod.logs()[-2000:]}"
        return self.running(app)

    def start(self, app: str, platform: dict[str, str]) -> Pod:
        """One pod of Deployment `app`. `platform`: what the cluster sets (service links...);
        the container's own env: overrides it, as in Kubernetes."""
        deployment = self.manifests.get("Deployment", app)
        spec, container, name = self.manifests.pod(app), self.manifests.container(app), pod_name(deployment)
        args = ["--name", f"kpod-{self.session}-{name}", "--hostname", name, "--network", self.network,
                "--label", f"{LABEL}={self.session}", "--no-healthcheck", "--pull", "never"]
        args += [a for alias in self.dns_names(deployment["spec"]["template"]["metadata"]["labels"])
                 for a in ("--network-alias", alias)]
        args += run_args(spec, container) + self.volume_args(app, name)
        args += [a for key, value in {**platform, **env(container)}.items() for a in ("-e", f"{key}={value}")]
        command = container.get("command", [])
        args += ["--entrypoint", command[0]] if command else []
        image = self.images[container["image"]]
        container_id = cli("run", "-d", *args, image, *command[1:], *container.get("args", []))
        ip = cli("inspect", "-f", f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}', container_id)
        pod = Pod(name, container_id, ip, spec)
        self.pods.append(pod)
        threading.Thread(target=pod.run_probes, daemon=True).start()
        return pod

    def volume_args(self, app: str, pod: str) -> list[str]:
        volumes, args = {v["name"]: v for v in self.manifests.pod(app).get("volumes", [])}, []
        for mount in self.manifests.container(app).get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if volume.get("emptyDir", {}).get("medium") == "Memory":
                limit = volume["emptyDir"].get("sizeLimit")
                size = f"size={int(quantity(limit))}," if limit else ""
                args += ["--tmpfs", f"{mount['mountPath']}:{size}mode=777"]
            elif "configMap" in volume:
                folder = self.config_map(app, mount["name"], self.workdir / pod / mount["name"])
                args += ["--mount", f"type=bind,src={folder},dst={mount['mountPath']},readonly"]
            else:
                raise AssertionError(f"volume {volume} is not emulated")
        return args

    def config_map(self, app: str, volume: str, folder: Path) -> Path:
        """The ConfigMap volume as the kubelet lays it out (files 0644), with the cluster DNS
        in upstream.conf's resolver line made Docker's, each changed line kept in `edits`."""
        write_configmap(self.manifests, app, volume, folder)
        self.edits.clear()
        for path in sorted(folder.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
            if path.is_file():
                lines = path.read_text().splitlines(keepends=True)
                emulated = [re.sub(r"resolver kube-dns\S* .*;", RESOLVER, line) for line in lines]
                self.edits += [(path.relative_to(folder).as_posix(), old, new)
                               for old, new in zip(lines, emulated, strict=True) if old != new]
                path.write_text("".join(emulated))
        folder.chmod(0o755)
        return folder

    def assert_alive(self) -> None:
        """No pod's liveness probe reached its failureThreshold (the kubelet would restart it)."""
        for pod in self.pods:
            limit = pod.container.get("livenessProbe", {}).get("failureThreshold", 3)
            assert pod.worst_liveness < limit, f"{pod.name}: liveness failed {pod.worst_liveness} times in a row"

    def delete(self) -> None:
        for pod in self.pods:
            pod.gone.set()
        ids = cli("ps", "-aq", "--filter", f"label={LABEL}={self.session}").split()
        if ids:
            cli("rm", "-f", *ids)
        cli("network", "rm", self.network)

