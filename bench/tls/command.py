"""`python -m bench tls` (make bench-tls): what HTTPS and HTTP/2 at the edge cost, on the cheap job.

One stack, nginx + SCALE replicas (compose's many profile), and only nginx's listener changes:

1. TLS off: the plain HTTP/1.1 keep-alive baseline's capacity (`bench rate`'s search).
2. nginx recreated with NGINX_TLS=on (the replicas stay): the capacity of HTTPS with
   keep-alive, HTTPS with a new connection per request, and HTTP/2; then each one's CPU per
   request at one common rate (half the lowest capacity), and h2load on the keep-alive ones.
3. TLS off again: the baseline's CPU per request at that rate, and h2load on it.

With TLS on, plain HTTP only redirects (308), so the baseline is the same stack with TLS
off, not a redirected path. The bench makes its own throwaway CA and certificate
(scripts/certs.sh), and mounts a copy of nginx's log config with TLS fields in its lines
(modes.py), the same copy for every row, to count connections, resumed sessions and the
TLS version and cipher of each CPU run (k6 sends a User-Agent of its own in each).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import resource
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import machine
from ..backends import probe
from ..backends.docker_stack import DockerBackend
from ..model import Run
from ..profiles import MANY
from ..progress import Progress, note
from ..runner import COOL_DOWN_S, STARTUP_S, Runner, results_dir
from ..settings import ROOT, BenchError, Settings, duration_s
from ..studies.warmup import environment
from . import h2load, modes, report
from .modes import H2, HTTPS, HTTPS_NEW, MODES, PATH, PLAIN, TLS_MODES, Mode
from .resumption import offer_session_again

SCRIPT = ROOT / "k6" / "tls.js"
RECREATE_S = 15          # nginx recreated, for the time-left estimate


def _client_cpu_s() -> float:
    """CPU of this process's finished children so far: k6 or h2load, and a few docker calls."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def make_certs(folder: Path) -> Path:
    """scripts/certs.sh's CA and localhost certificate in folder/certs (nginx reads it as uid
    101, hence 755), its CA key apart in folder/ca. Returns the certificate folder."""
    certs = folder / "certs"
    certs.mkdir()
    certs.chmod(0o755)
    done = subprocess.run(["bash", str(ROOT / "scripts" / "certs.sh"), str(certs)], capture_output=True, text=True,
                          env={**os.environ, "CA_DIR": str(folder / "ca")}, timeout=60)
    if done.returncode != 0:
        raise BenchError(f"scripts/certs.sh failed:\n{done.stdout}{done.stderr}")
    return certs


def log_override(out: Path) -> Path:
    """A compose override that mounts the bench's copy of nginx/conf.d/logging.conf."""
    conf = out / "nginx-logging.conf"
    conf.write_text(modes.logging_conf((ROOT / "nginx" / "conf.d" / "logging.conf").read_text()))
    override = out / "compose-tls.yml"
    override.write_text("# bench tls: nginx's access log with TLS fields (bench/tls/modes.py).\n"
                        "services:\n  nginx:\n    volumes:\n"
                        f"      - {{type: bind, source: {conf}, target: /etc/nginx/conf.d/logging.conf, "
                        "read_only: true}\n")
    return override


class Edge:
    """The stack that is up, its nginx switched between TLS off and on."""

    def __init__(self, settings: Settings, runner: Runner, backend: DockerBackend, ca_file: Path) -> None:
        self.settings, self.runner, self.backend, self.ca_file = settings, runner, backend, ca_file
        self.n = settings.scale
        self.address = ""
        self.tls = False

    def serving(self, tls: bool) -> None:
        """nginx's address, once it answers the path on the listener this phase measures."""
        self.tls = tls
        self.address = self.backend.address(MANY, self.n, "nginx", "edge")
        deadline = time.monotonic() + 60
        while not self._answers():
            if time.monotonic() > deadline:
                raise BenchError(f"nginx at {self.address} does not answer {PATH} with TLS {'on' if tls else 'off'} "
                                 f"after 60 s: see `docker compose -p {self.settings.project} logs nginx`")
            time.sleep(1)

    def _answers(self) -> bool:
        conn: http.client.HTTPConnection
        if self.tls:
            # Only "is it up": the chain is checked, the name is not (the address is no name of
            # the certificate). k6's runs check both.
            context = ssl.create_default_context(cafile=str(self.ca_file))
            context.check_hostname = False
            conn = http.client.HTTPSConnection(self.address, modes.TLS_PORT, timeout=5, context=context)
        else:
            conn = http.client.HTTPConnection(self.address, modes.PLAIN_PORT, timeout=5)
        try:
            conn.request("GET", PATH, headers={"Host": modes.HOST})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def switch(self, tls: bool) -> None:
        files, env = self.backend.variant
        self.backend.variant = (files, {**env, "NGINX_TLS": "on" if tls else "off"})
        self.runner.progress.say(f"recreating nginx with TLS {'on' if tls else 'off'} (the replicas stay)")
        self.backend.recreate(MANY, self.n, "nginx")
        self.serving(tls)

    @contextlib.contextmanager
    def client(self, mode: Mode, user_agent: str | None = None) -> Iterator[None]:
        """k6's environment for the mode (k6 inherits this process's)."""
        if mode.tls != self.tls:
            raise BenchError(f"{mode.label} needs TLS {'on' if mode.tls else 'off'}; nginx has it the other way")
        with contextlib.ExitStack() as stack:
            for name, value in mode.k6_env(self.address, str(self.ca_file), user_agent).items():
                stack.enter_context(environment(name, value))
            yield

    def capacity(self, mode: Mode, start: float) -> dict[str, Any]:
        s = self.settings
        self.runner.progress.label = f"capacity: {mode.label}"
        with self.client(mode):
            found = self.runner.capacity(mode.base_url(), MANY, self.n, start, tag=f"capacity-{mode.key}",
                                         duration=s.sweep_duration, p95_ms=s.rate_p95_ms, path=PATH, script=SCRIPT)
        for run in found.runs:
            self._expect_protocol(mode, f"capacity-{mode.key}-{run.offered_rate:g}")
        best = found.best(s.rate_p95_ms)
        note(f"{mode.label}: {found.capacity:g} req/s at p95 < {s.rate_p95_ms} ms")
        return {"key": mode.key, "label": mode.label, "tls": mode.tls, "protocol": mode.protocol,
                "new_connections": mode.new_connections, "capacity": found.capacity,
                "p50_ms": best.p50_ms if best else None, "p95_ms": best.p95_ms if best else None,
                "search": [r.to_dict() for r in found.runs]}

    def _k6_summary(self, name: str) -> dict[str, Any]:
        return json.loads((self.runner.out / f"k6-{name}.json").read_text())  # type: ignore[no-any-return]

    def _expect_protocol(self, mode: Mode, name: str) -> None:
        seen = {p: n for p, n in self._k6_summary(name)["protocols"].items() if n}
        if set(seen) - {mode.protocol}:
            raise BenchError(f"{mode.label}: k6 spoke {seen} in k6-{name}, not only {mode.protocol} "
                             f"(is GODEBUG=http2client=0 still honoured by this k6?)")

    def _nginx_log(self, since: float, served: int, user_agent: str) -> dict[str, object]:
        """What nginx logged since then for the run's user agent, read until it counts every
        request k6 saw answered ("complete"), or until it stops growing short of that (Docker
        keeps docker-compose.yml's max-size x max-file of it) or a deadline."""
        nginx = self.backend.container(MANY, self.n, "nginx")

        def read() -> modes.Seen:
            done = subprocess.run(["docker", "logs", "--since", f"{since:.3f}", nginx], capture_output=True,
                                  text=True, timeout=60)
            return modes.tally((done.stdout + done.stderr).splitlines(), user_agent=user_agent)
        seen, complete = modes.settled(read, served)
        if not complete:
            note(f"nginx's log of {user_agent} is incomplete: {seen.requests} of the {served} requests k6 saw "
                 "answered (Docker keeps docker-compose.yml's max-size x max-file of it)")
        cut = "" if complete else f" (log incomplete: {seen.requests} of {served})"
        return {**seen.to_dict(), "complete": complete, "text": seen.text() + cut}

    def cpu(self, mode: Mode, rate: float) -> dict[str, Any]:
        """One k6 run at `rate`: CPU per request of nginx, the replicas and k6."""
        s = self.settings
        self.runner.progress.label = f"CPU per request: {mode.label}"
        name = f"cpu-{mode.key}"
        user_agent = f"bench-tls/{name}"  # marks this run's lines in nginx's log
        with self.client(mode, user_agent):
            since, before = time.time(), _client_cpu_s()
            run: Run = self.runner.run(mode.base_url(), MANY, self.n, rate, name=name, duration=s.duration,
                                       path=PATH, p95_ms=s.rate_p95_ms, html=False, script=SCRIPT)
            used = _client_cpu_s() - before
        if run.completed == 0:
            raise BenchError(f"{mode.label}: k6 completed no request: see {self.runner.out}/k6-{name}.log")
        self._expect_protocol(mode, name)
        k6 = self._k6_summary(name)
        measured: dict[str, Any] = {"rate": rate, "requests": run.completed, "failed": run.failed, "client_cpu_s": used,
                    "resources": run.resources.to_dict() if run.resources else None,
                    "k6": {k: k6[k] for k in ("protocols", "tls_handshaking_ms", "connecting_ms")},
                    "nginx_log": self._nginx_log(since, run.completed, user_agent), "run": run.to_dict()}
        us = report.cpu_us(measured)
        note(f"{mode.label} at {rate:g} req/s: nginx {us['nginx'] or 0:.0f} us, replicas {us['replicas'] or 0:.0f} us, "
             f"k6 {us['client'] or 0:.0f} us of CPU per request; nginx saw {measured['nginx_log']['text']}")
        return measured

    def resumption(self, folder: Path) -> dict[str, dict[str, str]]:
        """Does nginx resume a session a client offers? k6 offers none (Go's client keeps no
        session cache), so openssl s_client asks (offer_session_again)."""
        found = offer_session_again(self.address, modes.TLS_PORT, self.ca_file, folder)
        note(f"a session offered again: {found}")
        return found

    def h2load(self, mode: Mode) -> dict[str, Any]:
        """h2load's run, with the containers' CPU over it. (No log tally here: at h2load's rates
        nginx writes more log than Docker keeps, docker-compose.yml's max-size x max-file.)"""
        total = h2load.requests(duration_s(self.settings.duration))
        cmd = h2load.command(h2load.find(), mode, self.address, total)
        self.runner.progress.label = f"h2load: {mode.label}"
        self.runner.progress.say(f"h2load, {total} requests: {' '.join(cmd[1:])}")
        meter = self.backend.meter(MANY, self.n)
        meter.start()
        before = _client_cpu_s()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        used = _client_cpu_s() - before
        (self.runner.out / f"h2load-{mode.key}.log").write_text(" ".join(cmd) + "\n" + done.stdout + done.stderr)
        if done.returncode != 0:
            raise BenchError(f"h2load exited with {done.returncode}:\n{done.stderr[-1500:]}")
        result = h2load.parse(done.stdout)
        resources = meter.stop(result.done)
        shape = (f"{h2load.H2_CONNECTIONS} connections x {h2load.H2_STREAMS} streams" if mode.protocol == "HTTP/2.0"
                 else f"{h2load.CONNECTIONS} connections")
        measured = {"key": mode.key, "label": mode.label, "tls": mode.tls, "in_flight": shape, "command": cmd[1:],
                    "requests": result.done, "client_cpu_s": used, "resources": resources.to_dict(),
                    "result": result.to_dict()}
        note(f"h2load, {mode.label}: {result.rps:.0f} answers/s, mean {result.mean_ms:.1f} ms, {result.failed} failed")
        return measured


def start_of_search(mode: Mode, found: dict[str, dict[str, Any]], first_guess: float) -> float:
    """Where each search starts: the baseline from one request's time (as `bench rate`), HTTPS
    from the baseline, a new connection per request from half of HTTPS, HTTP/2 from HTTPS."""
    if mode == PLAIN:
        return first_guess
    if mode == HTTPS_NEW:
        return max(float(found[HTTPS.key]["capacity"]) * 0.5, 1.0)
    return max(float(found[PLAIN.key if mode == HTTPS else HTTPS.key]["capacity"]), 1.0)


def planned_s(settings: Settings) -> float:
    search = settings.sweep_runs * (duration_s(settings.sweep_duration) + 4 + COOL_DOWN_S / 2)
    runs = duration_s(settings.duration) + 5
    return STARTUP_S + 2 * RECREATE_S + len(MODES) * (search + runs) + 3 * runs


def tls(settings: Settings) -> Path:
    settings = replace(settings, results_dir=settings.results_dir / "tls")
    progress = Progress(planned_s(settings))
    out, started = results_dir(settings)
    backend = DockerBackend(settings, progress)
    runner = Runner(settings, backend, out, progress)
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as scratch:
        certs = make_certs(Path(scratch))
        # HTTPS_PORT empty: Docker picks a free host port (the bench never uses it).
        backend.variant = ([str(log_override(out))], {"NGINX_TLS": "off", "TLS_CERTS": str(certs), "HTTPS_PORT": ""})
        edge = Edge(settings, runner, backend, certs / "dev-ca.pem")
        found: dict[str, dict[str, Any]] = {}
        h2loads: list[dict[str, Any]] = []
        progress.label = "starting"
        with backend.stack(MANY, settings.scale):
            edge.serving(tls=False)
            one_ms = probe.job_ms(f"http://{edge.address}:{modes.PLAIN_PORT}", PATH)
            guess = 0.5 * 1000 / one_ms * min(settings.scale, runner.cores)
            found[PLAIN.key] = edge.capacity(PLAIN, guess)
            edge.switch(tls=True)
            resumption = edge.resumption(Path(scratch))
            for mode in TLS_MODES:
                found[mode.key] = edge.capacity(mode, start_of_search(mode, found, guess))
            rate = float(max(round(0.5 * min(m["capacity"] for m in found.values())), 1))
            note(f"CPU per request: every row at {rate:g} req/s")
            for mode in TLS_MODES:
                found[mode.key]["cpu"] = edge.cpu(mode, rate)
            h2loads += [edge.h2load(HTTPS), edge.h2load(H2)]
            edge.switch(tls=False)
            found[PLAIN.key]["cpu"] = edge.cpu(PLAIN, rate)
            h2loads.insert(0, edge.h2load(PLAIN))
    summary = {"kind": "tls", "started": started, "machine": machine.describe(), "backend": backend.name,
               "scale": settings.scale, "path": PATH, "p95_bound_ms": settings.rate_p95_ms,
               "search_duration": settings.sweep_duration, "search_runs": settings.sweep_runs,
               "duration": settings.duration, "cpu_rate": rate,
               "h2load_requests": h2load.requests(duration_s(settings.duration)),
               "modes": [found[m.key] for m in MODES], "h2load": h2loads,
               "resumption_offered": resumption}
    (out / "tls.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "report.md").write_text(report.markdown(summary))
    print("\n" + report.text(summary) + f"\n\nResults: {out}/ (tls.json, report.md, k6-*.json, k6-*.log, h2load-*.log)",
          flush=True)
    return out
