"""`python -m bench warmup`: the first seconds of a PyPy replica, cold and warmed up.

One PyPy replica behind nginx is brought up twice: with API_WARMUP_S=0 (it opens its port
at once, its JIT cold) and with the default warm-up (app/warmup.py: it sends itself
requests for 5 s first). Each time, as soon as it is healthy, k6 offers the article's rate
for WARMUP_DURATION, and the first seconds' latencies are compared.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from .. import machine, report
from ..backends.docker_stack import DockerBackend
from ..model import ARTICLE_RATE
from ..profiles import ONE
from ..progress import Progress, note
from ..runner import Runner, results_dir
from ..settings import Settings

DURATION = "5s"


@dataclass(frozen=True)
class Start:
    warmup: str  # what API_WARMUP_S was: "0" or "default"
    replica_log: str  # the replica's own "warmed up: ..." line
    completed: int
    failed: int
    dropped: int
    mean_ms: float
    p95_ms: float
    max_ms: float


def _set(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


@contextlib.contextmanager
def environment(name: str, value: str | None) -> Iterator[None]:
    """name=value (None: unset) for what compose interpolates, put back afterwards."""
    before = os.environ.get(name)
    _set(name, value)
    try:
        yield
    finally:
        _set(name, before)


def first_seconds(runner: Runner, backend: DockerBackend, warmup: str | None) -> Start:
    profile = ONE.on("pypy")
    with environment("API_WARMUP_S", warmup), backend.stack(profile, 1) as url:
        run = runner.run(url, profile, 1, ARTICLE_RATE, name=f"warmup-{warmup or 'default'}",
                         duration=DURATION, html=False)
        logs = backend.logs(profile, 1, "api")
    line = next((ln.split("warmed up: ", 1)[1] for ln in logs.splitlines() if "warmed up: " in ln), "(no line)")
    start = Start(warmup or "default", line, run.completed, run.failed, run.dropped, run.mean_ms, run.p95_ms,
                  run.max_ms)
    note(f"API_WARMUP_S={start.warmup}: mean {run.mean_ms:.1f} ms, p95 {run.p95_ms:.1f} ms, "
         f"max {run.max_ms:.0f} ms; the replica said: {line}")
    return start


def table(starts: list[Start]) -> list[list[str]]:
    rows = [["First 5 s after the replica is healthy", *(f"API_WARMUP_S={s.warmup}" for s in starts)]]
    for label, value in (("completed / failed / dropped", lambda s: f"{s.completed} / {s.failed} / {s.dropped}"),
                         ("mean latency", lambda s: f"{s.mean_ms:.1f} ms"),
                         ("p95 latency", lambda s: f"{s.p95_ms:.1f} ms"),
                         ("longest request", lambda s: f"{s.max_ms:.0f} ms"),
                         ("the replica's warm-up log line", lambda s: s.replica_log)):
        rows.append([label, *(value(s) for s in starts)])
    return rows


def warmup(settings: Settings) -> None:
    progress = Progress(2 * 45)
    out, started = results_dir(settings)
    backend = DockerBackend(settings, progress)
    runner = Runner(settings, backend, out, progress)
    starts = [first_seconds(runner, backend, value) for value in ("0", None)]
    rows = table(starts)
    described = machine.describe()
    summary = {"started": started, "machine": described, "rate": ARTICLE_RATE, "duration": DURATION,
               "starts": [asdict(s) for s in starts]}
    (out / "warmup.json").write_text(json.dumps(summary, indent=2) + "\n")
    md = [f"# PyPy cold and warm {started}", "", *report.machine_lines(described), "",
          f"One PyPy replica behind nginx, k6 at {ARTICLE_RATE:g} req/s for {DURATION} from the moment it is "
          "healthy.", "", report.markdown(rows), ""]
    (out / "report.md").write_text("\n".join(md))
    print("\n" + report.text(rows) + f"\n\nResults: {out}/ (warmup.json, report.md, k6-*.log)", flush=True)
