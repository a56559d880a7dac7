"""deploy/kubernetes, rendered by kustomize, against the app, nginx/ and compose.

No cluster runs here (docs/kubernetes.md says what that leaves unverified): these rules,
make k8s-check (schemas, checkov) and tests/e2e/test_kubernetes.py (pods emulated in Docker)
are what stands in for one. Each rule quotes the comment that claims it.
"""

import math
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from app.main import create_app
from tests.conftest import ROOT
from tests.deploy.manifests import (
    KUBE,
    OVERLAYS,
    env,
    nginx_t,
    port,
    quantity,
    rendered,
    upstream_path,
    write_configmap,
)
from tests.rules_kit import API, DEFAULTS, NGINX, nginx_one, seconds

pytestmark = pytest.mark.config

ROUTES = {r.path for r in create_app(DEFAULTS).routes if isinstance(r, APIRoute)}
# How long CoreDNS may answer for a pod the endpoints dropped: kubeadm's Corefile has
# `kubernetes ... { ttl 30 }` and `cache 30`. Plus the endpoints' own propagation.
COREDNS_CACHE_S, PROPAGATION_S = 30, 2


def directives(text: str) -> list[str]:
    """An nginx file's directives, one per item, comments and spacing left out."""
    body = re.sub(r"#.*", "", text)
    return [" ".join(d.split()) for d in re.split(r"[;{}]", body) if d.strip()]


def setting(container: dict[str, Any], field: str) -> float:
    """An API_* setting as the pod gets it: its env, else settings.py's default."""
    raw = env(container).get(f"API_{field.upper()}")
    return float(raw) if raw is not None else float(getattr(DEFAULTS, field))


def test_the_api_probes_ask_routes_the_app_has_on_the_port_it_listens_on() -> None:
    """api-deployment.yaml: probes on /healthz and /readyz, port http; the env pins API_PORT."""
    api = rendered().container("api")
    assert env(api)["API_PORT"] == str(DEFAULTS.port) == str(port(api, "http"))
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = api[probe]["httpGet"]
        assert get["path"] in ROUTES, f"{probe} asks {get['path']}, which the app does not serve"
        assert port(api, get["port"]) == DEFAULTS.port
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz", "readiness must see the drain (503)"


def test_the_nginx_probes_and_ports_are_the_ones_nginx_listens_on() -> None:
    """nginx-deployment.yaml: probes on /nginx-health; ports http (sites/api.conf), status (sites/status.conf)."""
    box = rendered().container("nginx")
    assert port(box, "http") == int(nginx_one("listen", "sites/api.conf").split()[0])
    assert port(box, "status") == int(nginx_one("listen", "sites/status.conf").split()[0])
    api_conf = (ROOT / "nginx" / "sites" / "api.conf").read_text()
    for probe in ("readinessProbe", "livenessProbe"):
        get = box[probe]["httpGet"]
        assert f"location = {get['path']} " in api_conf and port(box, get["port"]) == port(box, "http")


def test_a_pod_is_killed_only_after_its_pause_and_its_drain() -> None:
    """api-deployment.yaml: the grace period is "above the preStop pause (35 s) plus
    API_GRACEFUL_SHUTDOWN_S", and the pause lasts until "nginx can no longer pick the pod"
    (CoreDNS's cache, then nginx's valid=); nginx-deployment.yaml: above its pause plus the
    longest request nginx waits for (proxy_read_timeout, twice with the second try)."""
    manifests = rendered()
    api, api_pod = manifests.container("api"), manifests.pod("api")
    pause = api["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert api_pod["terminationGracePeriodSeconds"] > pause + setting(api, "graceful_shutdown_s")
    valid = re.search(r"(?m)^\s*resolver .* valid=(\w+)", upstream_path().read_text())
    assert valid and pause >= COREDNS_CACHE_S + seconds(valid[1]) + PROPAGATION_S
    command = " ".join(manifests.container("nginx")["lifecycle"]["preStop"]["exec"]["command"])
    nginx_pause = re.search(r"-c sleep (\d+);", command)
    assert nginx_pause, f"the nginx preStop starts with its pause: {command}"
    longest = 2 * seconds(nginx_one("proxy_read_timeout"))
    assert manifests.pod("nginx")["terminationGracePeriodSeconds"] > int(nginx_pause[1]) + longest


def test_nginx_drops_idle_connections_before_a_replica_does_on_kubernetes_too() -> None:
    """nginx/upstream.conf: "The timeout must stay below the replicas' keep-alive"."""
    idle = [d.split()[1] for d in directives(upstream_path().read_text()) if d.startswith("keepalive_timeout ")]
    assert seconds(idle[0]) < setting(rendered().container("api"), "keep_alive_s")


def test_the_kubernetes_upstream_differs_from_nginx_upstream_only_where_it_must() -> None:
    """base/nginx/upstream.conf: "nginx/upstream.conf, with the two lines that must differ"."""
    ours, theirs = directives(upstream_path().read_text()), directives((ROOT / "nginx" / "upstream.conf").read_text())
    differs = ("server ", "resolver ", "resolver_timeout ")
    assert [d for d in ours if not d.startswith(differs)] == [d for d in theirs if not d.startswith(differs)]
    assert [d.split(None, 2)[2] for d in ours if d.startswith("server ")] == \
        [d.split(None, 2)[2] for d in theirs if d.startswith("server ")], "the same server parameters"
    assert [d for d in ours if d.startswith("resolver_timeout ")] == [nginx_one("resolver_timeout").join(
        ["resolver_timeout ", ""])]


def test_nginx_finds_the_headless_service_by_its_whole_name() -> None:
    """base/kustomization.yaml: the namespace is "also in nginx/upstream.conf's server name
    ... nginx's resolver has no search path"; api-service.yaml: headless, one record per pod."""
    manifests = rendered()
    [server] = [d.split()[1] for d in directives(upstream_path().read_text()) if d.startswith("server ")]
    host, number = server.split(":")
    service = manifests.get("Service", "api")
    assert host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert service["spec"]["clusterIP"] == "None"
    assert int(number) == service["spec"]["ports"][0]["port"] == DEFAULTS.port
    assert service["spec"]["selector"] == manifests.get("Deployment", "api")["spec"]["selector"]["matchLabels"]


def test_the_nginx_configmap_holds_the_very_files_of_nginx() -> None:
    """nginx/kustomization.yaml: "the same bytes nginx reads under compose"; nginx-deployment.yaml
    mounts each key back at its path. Only the files of base/nginx/ are Kubernetes' own."""
    manifests = rendered()
    data = manifests.configmap("nginx-conf")["data"]
    [conf] = [v for v in manifests.pod("nginx")["volumes"] if v["name"] == "conf"]
    items = {i["key"]: i["path"] for i in conf["configMap"]["items"]}
    assert set(items) == set(data), "every key mounted, and only those"
    wanted = {p.relative_to(ROOT / "nginx").as_posix() for p in (ROOT / "nginx").rglob("*.conf")}
    assert set(items.values()) == wanted
    own = {p.name for p in upstream_path().parent.iterdir()}
    assert own == {"upstream.conf", "worker-processes.conf"}, "the files that must differ, and only those"
    for key, path in items.items():
        source = upstream_path().parent / path if path in own else ROOT / "nginx" / path
        assert data[key] == source.read_text(), f"{key} is not the bytes of {source.relative_to(ROOT)}"


def test_nginx_runs_one_worker_per_cpu_of_its_limit() -> None:
    """base/nginx/worker-processes.conf: "one worker per CPU of the pod's limit", since
    `auto` counts the node's cores; compose's nginx has no CPU limit, so `auto` is right there."""
    limit = quantity(rendered().container("nginx")["resources"]["limits"]["cpu"])
    [workers] = [d.split()[1] for d in directives((upstream_path().parent / "worker-processes.conf").read_text())]
    assert int(workers) == math.ceil(limit)
    assert nginx_one("worker_processes") == "auto" and "cpus" not in NGINX and "deploy" not in NGINX


def test_the_images_are_the_ones_compose_builds_and_runs() -> None:
    """api-deployment.yaml: the image is "built by compose"; nginx runs compose's nginx image."""
    manifests = rendered()
    default = re.fullmatch(r"\$\{\w+:-(.+)\}", API["image"])
    assert default and manifests.container("api")["image"] == default[1]
    nginx_default = re.fullmatch(r"\$\{\w+:-(.+)\}", NGINX["image"])
    assert nginx_default and manifests.container("nginx")["image"] == nginx_default[1]
    assert rendered("overlays/pypy").container("api")["image"] == default[1].split(":")[0] + ":pypy"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_locked_down_as_under_compose(overlay: str) -> None:
    """The issue's hardening: non-root, read-only root, no capability, no escalation,
    seccomp RuntimeDefault; the users and memory limits compose gives the same containers."""
    manifests = rendered(overlay)
    compose_user = {"api": "10001", "nginx": NGINX["user"].split(":")[0]}
    compose_memory = {"api": API["mem_limit"], "nginx": NGINX["mem_limit"]}
    for name in ("api", "nginx"):
        pod, box = manifests.pod(name), manifests.container(name)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert str(pod["securityContext"]["runAsUser"]) == compose_user[name]
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["enableServiceLinks"] is False and pod["automountServiceAccountToken"] is False
        ctx = box["securityContext"]
        assert ctx == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                       "capabilities": {"drop": ["ALL"]}}
        memory = re.fullmatch(r"\$\{\w+:-(\d+)m\}|(\d+)m", compose_memory[name])
        assert memory and quantity(box["resources"]["limits"]["memory"]) == int(memory[1] or memory[2]) * 2**20


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_lands_in_the_namespace_with_the_stack_label(overlay: str) -> None:
    """Overlays' kustomization.yaml: "The base's namespace and labels reach only the base's
    objects: an overlay's own need them too" (a PodMonitor or ScaledObject elsewhere finds no pods)."""
    for doc in rendered(overlay).docs:
        meta = doc["metadata"]
        assert meta["labels"]["app.kubernetes.io/part-of"] == "pycluster", f"{doc['kind']} {meta['name']}"
        if doc["kind"] != "Namespace":
            assert meta.get("namespace") == "pycluster", f"{overlay}: {doc['kind']} {meta['name']} has no namespace"


def test_the_autoscaler_alone_sets_the_replica_count() -> None:
    """api-deployment.yaml: "No `replicas`: the HorizontalPodAutoscaler ... owns the count"."""
    for overlay in OVERLAYS:
        assert "replicas" not in rendered(overlay).get("Deployment", "api")["spec"], overlay


def test_no_service_gives_the_replicas_a_variable_they_read() -> None:
    """api-deployment.yaml: a ClusterIP Service named api "would give API_PORT=tcp://...";
    here none is made at all. Headless Services get no such variables."""
    for overlay in OVERLAYS:
        for service in rendered(overlay).all("Service"):
            if service["spec"].get("clusterIP") == "None":
                continue
            prefix = service["metadata"]["name"].upper().replace("-", "_")
            assert not prefix.startswith("API"), f"{overlay}: Service {prefix.lower()} would inject {prefix}_PORT"


def test_the_api_takes_one_core_and_is_guaranteed_it() -> None:
    """api-deployment.yaml: "One core ... Limits equal to requests make the pod Guaranteed"."""
    resources = rendered().container("api")["resources"]
    assert quantity(resources["requests"]["cpu"]) == 1
    assert resources["requests"] == resources["limits"]


def test_only_nginx_and_prometheus_reach_the_replicas() -> None:
    """api-networkpolicy.yaml: "from nginx and from Prometheus only"."""
    manifests = rendered()
    policy = manifests.get("NetworkPolicy", "api")["spec"]
    assert policy["podSelector"]["matchLabels"] == manifests.get("Deployment", "api")["spec"]["selector"]["matchLabels"]
    [rule] = policy["ingress"]
    nginx_labels = manifests.get("Deployment", "nginx")["spec"]["template"]["metadata"]["labels"]
    assert rule["from"][0] == {"podSelector": {"matchLabels": nginx_labels}}
    assert rule["from"][1]["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    assert len(rule["from"]) == 2 and rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_autoscaling_targets_the_api_and_the_queue_wait_overlay_replaces_the_cpu_one() -> None:
    """api-hpa.yaml scales the api on CPU; overlays/queue-wait: "the base's CPU HPA is removed"
    and KEDA scales on api_job_wait_seconds, below the wait at which replicas shed."""
    hpa = rendered().get("HorizontalPodAutoscaler", "api")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"}
    queue = rendered("overlays/queue-wait")
    assert not queue.all("HorizontalPodAutoscaler")
    scaled = queue.get("ScaledObject", "api")["spec"]
    assert scaled["scaleTargetRef"] == {"name": "api"}
    [trigger] = scaled["triggers"]
    assert "api_job_wait_seconds_sum" in trigger["metadata"]["query"]
    assert 'namespace="pycluster"' in trigger["metadata"]["query"]
    assert 0 < float(trigger["metadata"]["threshold"]) < DEFAULTS.max_wait_s
    assert (scaled["minReplicaCount"], scaled["maxReplicaCount"]) == (hpa["minReplicas"], hpa["maxReplicas"])


def test_prometheus_finds_every_replica_on_a_port_and_path_it_serves() -> None:
    """overlays/monitoring/api-podmonitor.yaml: "Every api pod's /metrics, found by label"."""
    manifests = rendered("overlays/monitoring")
    monitor = manifests.get("PodMonitor", "api")["spec"]
    assert monitor["selector"]["matchLabels"] == manifests.get("Deployment", "api")["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["podMetricsEndpoints"]
    assert port(manifests.container("api"), endpoint["port"]) == DEFAULTS.port
    assert endpoint["path"] == "/metrics" and DEFAULTS.metrics


def test_every_overlay_is_checked() -> None:
    """docs/kubernetes.md lists the overlays; make k8s-check renders each folder it finds."""
    assert OVERLAYS == ["base", "overlays/monitoring", "overlays/pypy", "overlays/queue-wait", "overlays/tls"]
    assert all((KUBE / o / "kustomization.yaml").exists() for o in OVERLAYS)


def test_nginx_accepts_the_rendered_config(nginx_image: str, tmp_path: Path) -> None:
    """`nginx -t` on the files the nginx pods mount, in the image they run, as their user.
    The cluster DNS name the upstream's resolver names is resolved when nginx starts; here
    --add-host stands in for the cluster's DNS."""
    manifests = rendered()
    conf = write_configmap(manifests, "nginx", "conf", tmp_path / "nginx")
    check = nginx_t(manifests, conf, nginx_image)
    assert check.returncode == 0, check.stderr
    assert "test is successful" in check.stderr
