"""deploy/kubernetes as kubectl would send it: each kustomization rendered once, then read."""

from __future__ import annotations

import functools
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import k8s_check
from tests.conftest import IN_CI, ROOT

KUBE = ROOT / "deploy" / "kubernetes"
OVERLAYS = [d.relative_to(KUBE).as_posix() for d in k8s_check.kustomizations(KUBE)]


@dataclass(frozen=True)
class Manifests:
    """One rendered kustomization: its objects, looked up by kind and name."""

    docs: tuple[dict[str, Any], ...]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.all(kind) if d["metadata"]["name"] == name]
        assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
        return found[0]

    def configmap(self, prefix: str) -> dict[str, Any]:
        """A generated ConfigMap, whose name kustomize ends with a hash of its data."""
        [found] = [d for d in self.all("ConfigMap") if d["metadata"]["name"].startswith(f"{prefix}-")]
        return found

    def pod(self, deployment: str) -> dict[str, Any]:
        return self.get("Deployment", deployment)["spec"]["template"]["spec"]  # type: ignore[no-any-return]

    def container(self, deployment: str) -> dict[str, Any]:
        [only] = self.pod(deployment)["containers"]
        return only  # type: ignore[no-any-return]


@functools.cache
def _render(overlay: str) -> Manifests:
    return Manifests(tuple(d for d in yaml.safe_load_all(k8s_check.render(KUBE / overlay)) if d))


def rendered(overlay: str = "base") -> Manifests:
    """The overlay rendered by kustomize: a failure in CI, a loud skip where it is missing."""
    try:
        return _render(overlay)
    except k8s_check.CheckFailed as problem:
        if IN_CI or "is missing" not in str(problem):
            raise
        pytest.skip(f"SKIPPED, NOT PASSED: {problem}")


def env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", [])}


def port(container: dict[str, Any], name: str | int) -> int:
    """A probe's or a Service's port: a number, or the name of one of the container's ports."""
    if isinstance(name, int):
        return name
    [number] = [p["containerPort"] for p in container["ports"] if p["name"] == name]
    return number  # type: ignore[no-any-return]


def quantity(value: str) -> float:
    """A Kubernetes quantity in base units: "1" and "250m" CPUs, "256Mi" bytes."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in sorted(units.items(), key=lambda u: -len(u[0])):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def upstream_path() -> Path:
    return KUBE / "base" / "nginx" / "upstream.conf"


def write_configmap(manifests: Manifests, deployment: str, volume: str, dest: Path) -> Path:
    """A ConfigMap volume as the kubelet lays it out: each item's key at its path under dest."""
    [spec] = [v for v in manifests.pod(deployment)["volumes"] if v["name"] == volume]
    data = manifests.configmap(spec["configMap"]["name"].rsplit("-", 1)[0])["data"]
    for item in spec["configMap"].get("items") or [{"key": k, "path": k} for k in data]:
        path = dest / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[item["key"]])
    return dest


def nginx_t(manifests: Manifests, conf: Path, image: str) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on the config folder `conf` as the nginx pods run it: their user, and the
    cluster DNS name their upstream's resolver names, which nginx resolves at start
    (--add-host stands in for the cluster's DNS)."""
    resolver = re.search(r"(?m)^\s*resolver (\S+)", (conf / "upstream.conf").read_text())
    assert resolver, "the Kubernetes upstream.conf names its resolver"
    user = manifests.pod("nginx")["securityContext"]
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-u", f"{user['runAsUser']}:{user['runAsGroup']}", "--add-host", f"{resolver[1]}:127.0.0.1",
         "--mount", f"type=bind,source={conf},target=/etc/nginx,readonly", image, "nginx", "-t"],
        capture_output=True, text=True, timeout=60)

