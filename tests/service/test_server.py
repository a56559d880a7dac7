"""app.server: the one uvicorn config, shared by the replica, the workers profile and bench-cost."""

import signal

import pytest
from fastapi import FastAPI

from app.main import create_app
from app.server import APP_FACTORY, DrainingServer, log_config, uvicorn_config
from app.settings import Settings
from tests.service.conftest import SHELL_NAMES

pytestmark = [pytest.mark.unit, pytest.mark.usefixtures("keep_logging")]

SETTINGS = Settings(replica_id="r1", host="127.0.0.1", port=9001, keep_alive_s=31, graceful_shutdown_s=7,
                    limit_concurrency=99, forwarded_allow_ips="10.9.9.9", access_log=True, log_level="debug")
# uvicorn.Config fields that come from Settings: the replica and the workers must agree on all.
SHARED = ("host", "port", "proxy_headers", "forwarded_allow_ips", "timeout_keep_alive",
          "timeout_graceful_shutdown", "limit_concurrency", "access_log", "log_level", "log_config",
          "server_header")


@pytest.fixture
def app() -> FastAPI:
    return create_app(SETTINGS)


def test_the_replica_and_the_workers_get_the_same_settings(app: FastAPI) -> None:
    replica = uvicorn_config(SETTINGS, app)
    workers = uvicorn_config(SETTINGS, workers=4)
    assert {name: getattr(replica, name) for name in SHARED} == {name: getattr(workers, name) for name in SHARED}
    assert (replica.app, replica.factory, replica.workers) == (app, False, 1)
    assert (workers.app, workers.factory, workers.workers) == (APP_FACTORY, True, 4)


def test_the_config_carries_every_setting_uvicorn_uses(app: FastAPI) -> None:
    config = uvicorn_config(SETTINGS, app)
    assert (config.host, config.port) == ("127.0.0.1", 9001)
    assert (config.timeout_keep_alive, config.timeout_graceful_shutdown) == (31, 7)
    assert config.limit_concurrency == 99
    assert config.forwarded_allow_ips == "10.9.9.9"
    assert config.proxy_headers is True
    assert config.access_log is True
    assert config.server_header is False
    assert config.log_level == "debug"


def test_the_factory_builds_a_replica_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SHELL_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("API_REPLICA_ID", "from-env")
    config = uvicorn_config(SETTINGS, workers=2)
    config.load()
    assert config.loaded_app is not None
    assert isinstance(config.loaded_app.app, FastAPI)  # under uvicorn's proxy-headers wrapper
    assert config.loaded_app.app.state.settings.replica_id == "from-env"


def test_an_app_object_cannot_be_shared_by_worker_processes(app: FastAPI) -> None:
    with pytest.raises(ValueError, match="pass app=None"):
        uvicorn_config(SETTINGS, app, workers=2)


def test_app_lines_go_to_stdout_at_the_configured_level() -> None:
    config = log_config("warning")
    assert config["root"] == {"handlers": ["app"], "level": "WARNING"}
    assert config["handlers"]["app"]["stream"] == "ext://sys.stdout"
    assert "uvicorn" in config["loggers"], "uvicorn's own loggers stay configured"


def test_sigterm_drains_first_then_exits_cleanly(app: FastAPI) -> None:
    drained: list[bool] = []
    server = DrainingServer(uvicorn_config(SETTINGS, app), on_drain=lambda: drained.append(True))
    server.handle_exit(signal.SIGTERM, None)
    assert drained == [True]
    assert server.should_exit
    assert signal.SIGTERM not in server._captured_signals, "a finished drain exits 0, not 143"
    server.handle_exit(signal.SIGINT, None)
    assert signal.SIGINT in server._captured_signals, "Ctrl-C still ends the process as usual"
