"""`make bench-runtimes`: profiles pinned to a runtime, the Runtimes model, its ratio rules,
and the tables that put the article's published rows beside ours.

The fixture is the summary.json of a real short run (DURATION=5s, SWEEP_DURATION=3s,
SWEEP_RUNS=3 on a busy 2-core VM): its numbers say nothing about speed, and nothing here
asserts one; they are checked only against each other and against the rules.
"""

import contextlib
import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from bench import k6
from bench import runner as runner_module
from bench.backends import docker_stack, host
from bench.model import Run
from bench.profiles import MANY, NODE, ONE, PROFILES, RUNTIME_PROFILES, WORKERS, Profile
from bench.progress import Progress
from bench.report import markdown
from bench.runtimes import chart, command, report
from bench.runtimes.summary import ARTICLE_ROWS, RATIO_RULES, RuntimeResult, Runtimes
from bench.settings import BenchError, Settings
from tests import ports
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

FIXTURE = Path(__file__).parent / "data" / "runtimes-short.json"


@pytest.fixture
def data() -> dict:
    return json.loads(FIXTURE.read_text())


@pytest.fixture
def summary(data: dict) -> Runtimes:
    return Runtimes.from_dict(data)


# ---- profiles and the Docker backend's compose calls -------------------------------------


def test_runtime_profiles_pin_the_runtime_on_the_same_layouts() -> None:
    assert [p.name for p in RUNTIME_PROFILES] == ["cpython-one", "cpython-many", "pypy-one", "pypy-many", "node"]
    pypy_one = ONE.on("pypy")
    assert (pypy_one.runtime, pypy_one.shape, pypy_one.fixed_replicas) == ("pypy", "one", 1)
    assert pypy_one.behind_nginx
    assert MANY.on("cpython").replicas(6) == 6 and NODE.replicas(6) == 6
    assert (ONE.runtime, MANY.runtime, WORKERS.runtime) == (None, None, None), "make bench keeps RUNTIME from the env"
    assert PROFILES["pypy-many"].label(2) == "PyPy, 2 replicas + nginx"
    assert PROFILES["cpython-one"].label(1) == "CPython, 1 replica + nginx"
    assert NODE.label(4) == "Node cluster, 4 workers"
    with pytest.raises(ValueError, match="node"):
        ONE.on("node")


def test_compose_files_and_ports_per_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_PORT", str(ports.RUNTIMES_NODE))
    monkeypatch.setenv("HTTP_PORT", str(ports.RUNTIMES_HTTP))
    s = Settings.from_env()
    assert docker_stack.compose_files(NODE) == [str(ROOT / "reference" / "node-cluster" / "compose.yml")]
    assert docker_stack.compose_files(ONE.on("pypy"))[-1] == str(ROOT / "compose" / "one.yml")
    assert docker_stack.compose_files(MANY)[-1] == str(ROOT / "compose" / "many.yml")
    assert docker_stack.port_of(s, NODE) == ports.RUNTIMES_NODE
    assert docker_stack.port_of(s, MANY.on("pypy")) == ports.RUNTIMES_HTTP
    assert docker_stack.port_of(s, WORKERS) == s.workers_port


def test_compose_env_pins_the_runtime_and_names_its_image(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings.from_env()
    environ = {"RUNTIME": "pypy", "PATH": "/bin"}
    # A profile without a runtime keeps the caller's RUNTIME: `make bench RUNTIME=pypy` as before.
    assert docker_stack.compose_env(s, ONE, 1, environ)["RUNTIME"] == "pypy"
    assert docker_stack.compose_env(s, ONE.on("cpython"), 1, environ)["RUNTIME"] == "cpython"
    node = docker_stack.compose_env(s, NODE, 3, environ)
    assert (node["SCALE"], node["NODE_PORT"]) == ("3", str(s.node_port))
    assert "WORKERS" not in node, "compose reads SCALE alone (compose/workers.yml, the Node reference)"
    monkeypatch.setenv("API_IMAGE", "pycluster-api:bench-{runtime}")
    s = Settings.from_env()
    assert docker_stack.compose_env(s, MANY.on("pypy"), 2, environ)["API_IMAGE"] == "pycluster-api:bench-pypy"
    assert docker_stack.compose_env(s, ONE.on("cpython"), 1, environ)["API_IMAGE"] == "pycluster-api:bench-cpython"


def test_one_image_name_for_two_runtimes_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_IMAGE", "pycluster-api:mine")
    s = Settings.from_env()
    with pytest.raises(BenchError, match=r"\{runtime\}"):
        command.check_image(s, list(RUNTIME_PROFILES))
    command.check_image(s, [ONE.on("pypy"), MANY.on("pypy"), NODE])  # one Python runtime: no clash


def test_the_host_backend_refuses_pypy_and_node() -> None:
    backend = host.HostBackend(Settings.from_env(), Progress(0))
    for profile in (ONE.on("pypy"), NODE):
        with pytest.raises(BenchError, match="Docker"), backend.stack(profile, 1):
            pass


def test_runtimes_profiles_parse() -> None:
    assert command.parse("") == list(RUNTIME_PROFILES)
    assert [p.name for p in command.parse("node, pypy-one")] == ["node", "pypy-one"]
    with pytest.raises(ValueError, match="unknown runtime profile"):
        command.parse("one")


def test_the_search_starts_from_the_probed_job_time() -> None:
    assert command.start_rate(40, replicas=1, cores=2) == pytest.approx(0.8 * 25)
    assert command.start_rate(40, replicas=8, cores=2) == pytest.approx(0.8 * 50)


def test_the_committed_short_run_round_trips(data: dict, summary: Runtimes) -> None:
    assert Runtimes.from_dict(summary.to_dict()) == summary
    written = json.loads(json.dumps(summary.to_dict()))
    assert {**written, "ratios": None} == {**data, "ratios": None}, "the fixture is not what this code writes"
    assert [r["value"] for r in data["ratios"]] == [r.value for r in summary.ratios()]
    with pytest.raises(ValueError, match="runtimes"):
        Runtimes.from_dict({**data, "kind": "compare"})


def test_every_capacity_step_ran_at_the_same_fixed_vus(summary: Runtimes) -> None:
    assert summary.results
    for r in summary.results:
        assert r.article.concurrency == summary.vus, r.profile
        assert r.capacity_runs, f"{r.profile}: no capacity step"
        assert {run.concurrency for run in r.capacity_runs} == {summary.capacity_vus}, r.profile
        assert {run.profile for run in [r.article, *r.capacity_runs]} == {r.profile}
        assert r.runtime == PROFILES[r.profile].runtime
        # The capacity is the highest sustained step: Run.sustained's rules, nothing else.
        sustained = [run.offered_rate for run in r.capacity_runs if run.sustained(summary.p95_bound_ms)]
        assert r.capacity == max(sustained, default=0)


def result(profile: str, capacity: float, refused_above: bool = True) -> RuntimeResult:
    """A profile whose search sustained `capacity` and, unless told, was refused above it."""
    template = Run.from_dict(json.loads(FIXTURE.read_text())["results"][0]["article"])
    def step(rate: float, ok: bool) -> Run:
        return Run.from_dict({**template.to_dict(), "profile": profile, "offered_rate": rate, "failed": 0,
                              "dropped": 0 if ok else 3, "p95_ms": 10.0, "completed": 100})
    runs = ([step(capacity, True)] if capacity else []) + ([step(capacity + 5, False)] if refused_above else [])
    return RuntimeResult(profile, PROFILES[profile].runtime or "cpython", "v", 1, template, capacity, runs)


def runtimes_of(*results: RuntimeResult, base: Runtimes) -> Runtimes:
    return Runtimes.from_dict({**base.to_dict(), "results": [asdict(r) for r in results]})


def test_ratio_rules_are_the_issues_three() -> None:
    assert [(num, den) for _, num, den, _ in RATIO_RULES] == [("pypy-one", "cpython-one"), ("pypy-many", "node"),
                                                              ("cpython-many", "cpython-one")]


def test_ratios_are_capacity_over_capacity(summary: Runtimes) -> None:
    s = runtimes_of(result("cpython-one", 20), result("cpython-many", 36), result("pypy-one", 500),
                    result("pypy-many", 900), result("node", 1200), base=summary)
    ratios = {r.label: r for r in s.ratios()}
    assert ratios["PyPy one / CPython one"].value == pytest.approx(25)
    assert ratios["PyPy many / Node cluster"].value == pytest.approx(0.75)
    assert ratios["CPython many / CPython one"].value == pytest.approx(1.8)
    assert ratios["CPython many / CPython one"].text() == "1.80x"
    assert {r.bound for r in ratios.values()} == {"="}


def test_a_ratio_without_its_profiles_or_a_denominator_is_not_a_number(summary: Runtimes) -> None:
    s = runtimes_of(result("cpython-one", 0), result("pypy-one", 50), result("pypy-many", 0), base=summary)
    ratios = {r.label: r for r in s.ratios()}
    assert ratios["PyPy one / CPython one"].value is None, "CPython one sustained nothing: no ratio"
    assert ratios["PyPy many / Node cluster"].value is None, "node was not run"
    assert (ratios["PyPy many / Node cluster"].numerator, ratios["PyPy many / Node cluster"].denominator) == (
        "pypy-many", "node")
    assert ratios["CPython many / CPython one"].text() == "-"


def test_a_capacity_never_refused_makes_the_ratio_a_bound(summary: Runtimes) -> None:
    s = runtimes_of(result("cpython-one", 20), result("pypy-one", 400, refused_above=False),
                    result("pypy-many", 800, refused_above=False), result("node", 900, refused_above=False),
                    result("cpython-many", 30), base=summary)
    ratios = {r.label: r for r in s.ratios()}
    assert not s.result("pypy-one").bounded(s.p95_bound_ms)
    assert (ratios["PyPy one / CPython one"].bound, ratios["PyPy one / CPython one"].text()) == (">=", ">= 20.00x")
    assert ratios["PyPy many / Node cluster"].text().startswith("~")
    s = runtimes_of(result("cpython-one", 20, refused_above=False), result("cpython-many", 30), base=summary)
    assert s.ratios()[2].text() == "<= 1.50x"


# ---- the tables and the chart -------------------------------------------------------------------


def test_the_main_table_puts_the_articles_rows_before_ours(summary: Runtimes) -> None:
    rows = report.runtimes_table(summary)
    header, article, ours = rows[0], rows[1:3], rows[3:]
    for column in ("Completed requests", "Total Errors", "Mean Latency", "Longest Request", "Requests Per Second",
                   "p95"):
        assert column in header
    col = {name: header.index(name) for name in header}
    assert [r[col["Completed requests"]] for r in article] == ["2717", "2931"]
    assert [r[col["Total Errors"]] for r in article] == ["629", "0"]
    assert [r[col["Mean Latency"]] for r in article] == ["1342.7 ms", "32.4 ms"]
    assert [r[col["Longest Request"]] for r in article] == ["2336.0 ms", "239.0 ms"]
    assert all("article" in r[0] and "article's machine" in r[1] for r in article)
    assert [r[0] for r in ours] == [PROFILES[x.profile].label(x.replicas) for x in summary.results]
    for row, x in zip(ours, summary.results, strict=True):
        assert row[1] == x.version
        assert row[col["Completed requests"]] == str(x.article.completed)
        assert row[col["Total Errors"]] == str(x.article.failed)
        assert row[col["Mean Latency"]] == f"{x.article.mean_ms:.1f} ms"
        assert row[col["p95"]] == f"{x.article.p95_ms:.1f} ms"
    assert all(len(r) == len(header) for r in rows)
    assert len(ARTICLE_ROWS) == 2


def test_capacity_and_ratio_tables(summary: Runtimes) -> None:
    s = runtimes_of(result("cpython-one", 20), result("pypy-one", 400, refused_above=False), base=summary)
    cap = report.capacity_table(s)
    assert cap[0][1] == f"Capacity at {s.capacity_vus} VUs (req/s)"
    assert cap[1][1] == "20" and cap[2][1].startswith("400+")
    ratios = report.ratios_table(s)
    assert [r[0] for r in ratios[1:]] == [rule[0] for rule in RATIO_RULES]
    assert [r[1] for r in ratios[1:]] == [">= 20.00x", "-", "-"]
    md = markdown(ratios).splitlines()
    assert md[2] == f"| PyPy one / CPython one | >= 20.00x | {RATIO_RULES[0][3]} |"


def test_report_md_summary_json_and_chart(summary: Runtimes, tmp_path: Path) -> None:
    report.write_runtimes(tmp_path, summary)
    chart.runtimes(tmp_path, summary)
    assert Runtimes.from_dict(json.loads((tmp_path / "summary.json").read_text())) == summary
    md = (tmp_path / "report.md").read_text()
    assert "| article: without cluster |" in md and "## Capacity at" in md
    for name in ("chart.png", "chart.svg"):
        assert (tmp_path / name).stat().st_size > 1000


# ---- the command, with k6 and Docker faked ---------------------------------------------------


class FakeBackend:
    """Brings nothing up; says which profiles it was asked for."""

    name = "fake"

    def __init__(self) -> None:
        self.stacks: list[tuple[str, int]] = []

    @contextlib.contextmanager
    def stack(self, profile: Profile, replicas: int) -> Iterator[str]:
        self.stacks.append((profile.name, replicas))
        yield f"http://fake/{profile.name}"

    def runtime_version(self, profile: Profile, url: str) -> str:
        return f"{profile.runtime} 1.0"

    def meter(self, profile: Profile, replicas: int) -> None:
        return None

    def prometheus_url(self) -> str | None:
        return None


def test_the_command_runs_the_articles_test_then_a_fixed_vus_search(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Each fake server sustains up to its capacity; k6 is asked what the command asks.
    capacities = {"cpython-one": 20, "cpython-many": 36, "pypy-one": 300, "pypy-many": 500, "node": 700}
    template = Run.from_dict(json.loads(FIXTURE.read_text())["results"][0]["article"])
    loads: list[tuple[str, k6.Load]] = []

    def fake_k6(_k6: str, load: k6.Load, context: k6.Context, *_args: object, **_kw: object) -> Run:
        loads.append((context.profile, load))
        ok = load.rate <= capacities[context.profile]
        return Run.from_dict({**template.to_dict(), "profile": context.profile, "replicas": context.replicas,
                              "offered_rate": load.rate, "concurrency": load.vus, "failed": 0,
                              "dropped": 0 if ok else 7, "p95_ms": 20.0, "thresholds_passed": ok})

    backend = FakeBackend()
    monkeypatch.setattr(k6, "run", fake_k6)
    monkeypatch.setattr(command.backends, "pick", lambda *_args: backend)
    monkeypatch.setattr(command.probe, "job_ms", lambda url: 1000 / capacities[url.rsplit("/", 1)[1]])
    monkeypatch.setattr(command.time, "sleep", lambda _s: None)
    monkeypatch.setattr(runner_module.time, "sleep", lambda _s: None)
    for name, value in {"RESULTS_DIR": str(tmp_path), "SCALE": "2", "RUNTIMES_VUS": "24", "VUS": "10",
                        "SWEEP_RUNS": "8", "DURATION": "20s"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RATE", raising=False)
    monkeypatch.delenv("API_IMAGE", raising=False)

    out = command.runtimes(Settings.from_env(), "docker", list(RUNTIME_PROFILES))

    assert backend.stacks == [("cpython-one", 1), ("cpython-many", 2), ("pypy-one", 1), ("pypy-many", 2),
                              ("node", 2)]
    for profile in capacities:
        article, *steps = [load for name, load in loads if name == profile]
        assert (article.rate, article.vus, article.duration) == (150, 10, "20s"), "not the article's test"
        assert steps and {s.vus for s in steps} == {24}, f"{profile}: the search did not hold RUNTIMES_VUS"
    summary = Runtimes.from_dict(json.loads((out / "summary.json").read_text()))
    for r in summary.results:
        # Within the search's 5%: what the fake server sustains, never more.
        assert 0.95 * capacities[r.profile] - 1 <= r.capacity <= capacities[r.profile], r.profile
        assert r.version == f"{r.runtime} 1.0"
    printed = capsys.readouterr().out
    for text in ("article: without cluster", "PyPy, 2 replicas + nginx", "Node cluster, 2 workers",
                 "PyPy one / CPython one", "Capacity at 24 VUs"):
        assert text in printed
    for name in ("report.md", "chart.png", "chart.svg"):
        assert (out / name).stat().st_size > 0
