"""The Kubernetes manifests (deploy/kubernetes/base) as pods, emulated in Docker (tests/e2e/kube.py):
2 api pods behind 2 nginx pods, under load, counting every request.

The client stands in for the nginx Service: it sends each request to a ready nginx pod
picked at random, as kube-proxy does. Besides their own env, the api pods get what a
cluster or a platform could set: service links for each Service as if it had a cluster
address (here enableServiceLinks is false and api's Service is headless, so a real
cluster sets none), and PORT. The container's own env wins, as in Kubernetes: API_PORT=8000.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.deploy.manifests import port, rendered, upstream_path
from tests.e2e.kube import RESOLVER, Cluster, Pod, cli, service_links
from tests.e2e.load import Result, ServiceLoad
from tests.wait import until

pytestmark = pytest.mark.e2e

LIGHT = "/api?n=20000"
# Half the largest job the pods admit (API_MAX_N): ~0.1 s of a core here, ~0.25 s on the CI box,
# so one is in flight when a pod stops, and one waiting behind another stays under API_MAX_WAIT_S.
HEAVY = "/api?n=5000000"
PLATFORM = {"PORT": "8080"}


@pytest.fixture(scope="module")
def cluster(api_image: str, nginx_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    manifests = rendered()
    # By id: a build elsewhere may move the tag while the pods start.
    images = {manifests.container("api")["image"]: cli("image", "inspect", "-f", "{{.Id}}", api_image),
              manifests.container("nginx")["image"]: nginx_image}
    cluster = Cluster(manifests, images, tmp_path_factory.mktemp("kpod"))
    try:
        yield cluster
    finally:
        cluster.delete()


def up(cluster: Cluster) -> tuple[list[Pod], list[Pod]]:
    """2 api pods (the autoscaler's minimum), then 2 nginx pods (its Deployment's), all ready."""
    env = {**service_links(cluster.manifests.all("Service")), **PLATFORM}
    return cluster.scale("api", 2, env), cluster.scale("nginx", 2)


def service_load(nginx: list[Pod], path: str, **options: object) -> ServiceLoad:
    return ServiceLoad(path, endpoints=[pod.url() for pod in nginx], **options)  # type: ignore[arg-type]


def explain(cluster: Cluster, failed: list[Result]) -> str:
    logs = "\n".join(f"--- {p.name}\n{p.logs()[-1500:]}" for p in cluster.pods)
    return f"{len(failed)} failed: {failed[:5]}\n{logs}"


def test_both_nginx_pods_reach_every_api_pod(cluster: Cluster, tally) -> None:
    api, nginx = up(cluster)
    server = re.search(r"(?m)^\s*server\s+([^\s:]+):", upstream_path().read_text())[1]  # type: ignore[index]
    with service_load(nginx, LIGHT, threads=2) as load:
        load.wait_reaches({pod.name for pod in api})
        load.wait_for(len(load.results) + 20)
    tally(f"2 nginx pods, 2 api pods: {load.summary()}, per nginx pod {dict(load.sent)}")
    (edit,) = cluster.edits  # the emulation's one change to the rendered ConfigMap
    assert edit[0] == "upstream.conf" and edit[1].strip().startswith("resolver kube-dns.") and \
        edit[2].strip() == RESOLVER, edit
    assert cluster.dns_names({"app.kubernetes.io/name": "api"}) == [server], "nginx asks for another name"
    assert load.failed == [], explain(cluster, load.failed)
    assert set(load.per_replica()) == {pod.name for pod in api}
    assert all(load.sent[pod.url()] > 0 for pod in nginx), load.sent
    links = service_links(cluster.manifests.all("Service"))
    assert links["API_PORT"].startswith("tcp://") and "API_PORT_8000_TCP_ADDR" in links
    (declared,) = api[0].container["ports"]
    for pod in api:
        env = dict(var.split("=", 1) for var in pod.inspect()["Config"]["Env"])
        assert {**links, **PLATFORM, "API_PORT": "8000"}.items() <= env.items()
        assert f"ready on port {declared['containerPort']}" in pod.logs()
        assert httpx.get(pod.url("/healthz"), timeout=5).status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(pod.url("/healthz", int(PLATFORM["PORT"])), timeout=5)
    cluster.assert_alive()


def work_left_s(pod: Pod) -> float:
    """The seconds of work a replica has admitted and not done, from its /readyz."""
    response = httpx.get(pod.url("/readyz"), timeout=5)
    return float(response.json().get("wait_s") or 0) if response.status_code == 200 else 0


def test_stopping_an_api_pod_under_load_fails_no_request(cluster: Cluster, tally) -> None:
    """The kubelet's stop: the preStop pause, then SIGTERM with the rest of the grace
    period. Docker's DNS cannot drop one alias of a running container, so the endpoint
    removal that the preStop pause waits for does not happen here: nginx keeps sending to
    the draining pod, is refused, and must try the other (harder than in a cluster)."""
    api, nginx = up(cluster)
    with service_load(nginx, LIGHT, threads=2) as light, service_load(nginx, HEAVY, threads=2) as heavy:
        light.wait_reaches({pod.name for pod in api})
        heavy.wait_for(20)
        victim, other = api
        victim.pre_stop()
        # SIGTERM while a job has work left there (more than `docker stop` takes to send
        # it), or nothing would be proven.
        until(f"a job in flight on {victim.name}", lambda: work_left_s(victim), lambda s: s >= 0.05, 10)
        sigterm_at = time.monotonic()
        drain_s = victim.stop()
        light.wait_for(len(light.results) + 20)
        heavy.wait_for(len(heavy.results) + 10)
    results = light.results + heavy.results
    late = [r for r in results if r.replica == victim.name and r.started + r.seconds > sigterm_at]
    after = [r for r in results if r.replica == other.name and r.started > sigterm_at]
    state, logs = victim.inspect()["State"], victim.logs()
    refused = sum(f"{victim.ip}:" in line and "[error]" in line for pod in nginx for line in pod.logs().splitlines())
    tally(f"stop api pod {victim.name} of 2 (preStop {victim.pre_stop_s:.1f} s, exited {drain_s:.2f} s after "
          f"SIGTERM, code {state['ExitCode']}): light {light.summary()}; heavy {heavy.summary()}; "
          f"{len(late)} answered by it after SIGTERM, {len(after)} by the other after; nginx logged {refused} "
          f"errors for it (tried the draining pod, then the other)")
    assert light.failed + heavy.failed == [], explain(cluster, light.failed + heavy.failed)
    assert state["ExitCode"] == 0 and not state["OOMKilled"], f"not a clean drain: {state}\n{logs[-2000:]}"
    assert "got SIGTERM: finishing in-flight requests" in logs and f"replica={victim.name} stopped" in logs
    assert late, "no response of the stopped pod came after SIGTERM: nothing was proven"
    assert after, "the other replica did not serve after the stop"
    cluster.assert_alive()


def quit_watch(pod: Pod) -> list[float]:
    """An idle keep-alive connection to nginx, which nginx closes the moment it is told to
    quit: the time it closed, once it has (the quit itself is not visible from outside)."""
    sock = socket.create_connection((pod.ip, port(pod.container, "http")), timeout=5)
    sock.sendall(b"GET /nginx-health HTTP/1.1\r\nHost: kpod\r\n\r\n")
    answer = b" "
    while answer and b'{"status":"ok"}' not in answer:
        answer += sock.recv(4096)
    closed: list[float] = []

    def wait() -> None:
        sock.settimeout(60)
        with sock, sock.makefile("rb") as stream, contextlib.suppress(OSError):
            if stream.read() == b"":
                closed.append(time.monotonic())
    threading.Thread(target=wait, daemon=True).start()
    return closed


def pinned(leaving: Pod, service: str, results: list[Result], connected: threading.Event) -> None:
    """A client's keep-alive connection opened before the pod left the Service, which
    kube-proxy keeps on that pod: heavy requests on it until nginx closes it. The request
    that then needs a new connection goes through the Service, to `service`."""
    with httpx.Client(timeout=httpx.Timeout(30, connect=2), limits=httpx.Limits(max_connections=1)) as client:
        while True:
            started = time.monotonic()
            try:
                response = client.get(leaving.url(HEAVY))
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                # New connection, or a GET on one nginx closed as idle: real clients resend it.
                response = httpx.get(service + HEAVY, timeout=30)
                results.append(Result(started, response.status_code, response.headers.get("x-replica"),
                                      type(exc).__name__, retried=True, seconds=time.monotonic() - started))
                return
            results.append(Result(started, response.status_code, response.headers.get("x-replica"),
                                  None if response.status_code == 200 else response.text[:200],
                                  seconds=time.monotonic() - started))
            connected.set()


def test_stopping_an_nginx_pod_lets_its_requests_finish(cluster: Cluster, tally) -> None:
    """The Service drops the pod (the client stops opening connections to it); kept
    connections stay on it, as through kube-proxy. Then its preStop: sleep 5 s, SIGQUIT
    (graceful), wait for nginx to exit. That wait ends with the container, which kills
    the hook's shell (status 137): a kubelet reports such a hook as failed (FailedPreStopHook)."""
    _, nginx = up(cluster)
    keep, leaving = nginx
    kept: list[Result] = []
    with service_load(nginx, LIGHT, threads=2) as load:
        load.wait_for(10)
        connected = [threading.Event() for _ in range(2)]
        clients = [threading.Thread(target=pinned, args=(leaving, keep.url(), kept, c), daemon=True)
                   for c in connected]
        for client in clients:
            client.start()
        until("kept connections to the nginx pod", lambda: all(c.is_set() for c in connected), bool, 15)
        quit_at = quit_watch(leaving)
        load.drop(leaving.url())
        leaving.pre_stop()
        # Before any SIGTERM (a fast shutdown): the quit alone ends nginx.
        until("nginx to exit after its quit", lambda: leaving.inspect()["State"]["Running"], lambda up: not up, 5)
        stop_s = leaving.stop()
        for client in clients:
            client.join(60)
        load.wait_for(len(load.results) + 20)
    in_flight = [r for r in kept if r.replica and not r.retried and quit_at and r.started + r.seconds > quit_at[0]]
    state = leaving.inspect()["State"]
    tally(f"stop 1 of 2 nginx pods: {load.summary()}; kept connections: {len(kept)} requests, "
          f"{sum(r.status != 200 for r in kept)} failed, {len(in_flight)} in flight at the quit, "
          f"resent through the Service: {[r.error for r in kept if r.retried]}; preStop {leaving.pre_stop_s:.1f} s "
          f"(exec status {leaving.hook_rc}), then {stop_s:.2f} s to stop, exit code {state['ExitCode']}")
    assert load.failed == [] and [r for r in kept if r.status != 200] == [], explain(cluster, load.failed + kept)
    assert quit_at, "nginx never closed its idle connection: did it quit?"
    assert in_flight, "no request was in flight on the nginx pod when it quit: nothing was proven"
    assert state["ExitCode"] == 0, f"nginx did not quit cleanly: {state}"
    assert load.sent[leaving.url()] > 0 and all(not t.is_alive() for t in clients)
    cluster.assert_alive()
