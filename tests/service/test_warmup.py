"""app.warmup: real HTTP requests to the app on a private port before the replica takes traffic."""

import asyncio

import pytest
from prometheus_client import generate_latest

from app import runtime
from app.main import create_app
from app.server import uvicorn_config, warm_up_uncounted
from app.settings import Settings
from app.warmup import PATHS, warm_up

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("keep_logging")]


def run(settings: Settings, seconds: float):  # type: ignore[no-untyped-def]
    return asyncio.run(warm_up(uvicorn_config(settings, create_app(settings)), seconds))


def test_zero_seconds_still_sends_every_route_once() -> None:
    report = run(Settings(replica_id="w1", port=0), 0)
    assert report.requests == len(PATHS)
    assert report.first_ms > 0 and report.last_ms == report.first_ms
    assert f"{len(PATHS)} requests in" in str(report)


def test_it_keeps_going_for_the_seconds_asked() -> None:
    report = run(Settings(replica_id="w1", port=0), 0.5)
    assert report.seconds >= 0.5
    assert report.requests > len(PATHS) and report.requests % len(PATHS) == 0


def test_a_route_that_fails_stops_the_replica_from_starting() -> None:
    """A self-test: with API_MAX_N=10, GET /api?n=1000 is a 422, so the replica never opens."""
    with pytest.raises(RuntimeError, match=r"warm-up: GET /api\?n=1000 answered 422"):
        run(Settings(replica_id="w1", port=0, max_n=10), 0)


def test_the_default_warm_up_follows_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings(replica_id="w1").warmup_s == runtime.default_warmup_s()
    monkeypatch.setattr(runtime.sys.implementation, "name", "pypy")
    assert runtime.default_warmup_s() == runtime.PYPY_WARMUP_S > 0
    monkeypatch.setattr(runtime.sys.implementation, "name", "cpython")
    assert runtime.default_warmup_s() == 0


def test_the_runtime_is_named_with_its_version() -> None:
    impl = runtime.platform.python_implementation()
    assert runtime.name().startswith(f"{impl} ")
    assert runtime.platform.python_version() in runtime.name()


def test_the_warm_up_leaves_the_metrics_at_zero() -> None:
    settings = Settings(replica_id="w1", port=0)
    app = create_app(settings)
    report = asyncio.run(warm_up_uncounted(app, settings))
    assert report.requests >= len(PATHS)
    assert app.state.metrics.counting, "clients' requests count again once the port opens"
    exposition = generate_latest(app.state.metrics.registry).decode()
    assert "api_requests_total{" not in exposition
    assert "api_job_run_seconds_count 0.0" in exposition
