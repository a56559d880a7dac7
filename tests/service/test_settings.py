import socket
from dataclasses import fields

import pytest

from app.settings import IGNORED, RENAMED, REPLACED, Settings, SettingsError, ignored
from tests.service.conftest import SERVICE_LINK

pytestmark = pytest.mark.unit

# A valid value other than the default for every setting, under its API_* name.
NON_DEFAULTS = {
    "replica_id": "r7", "host": "127.0.0.2", "port": "9001", "max_n": "1000", "max_wait_s": "0.25",
    "long_job_s": "0.05", "retry_after_s": "4", "limit_concurrency": "9", "keep_alive_s": "31",
    "graceful_shutdown_s": "5", "forwarded_allow_ips": "10.1.2.3", "access_log": "true", "log_level": "debug",
    "warmup_s": "1.5",
    "metrics": "false",
}


def test_defaults_name_the_replica_after_the_host() -> None:
    settings = Settings.from_env({})
    assert settings.replica_id == socket.gethostname()
    assert settings.port == 8000
    assert settings.max_n == 10_000_000
    assert "*" not in settings.forwarded_allow_ips


def test_every_setting_is_read_from_api_and_its_field_name() -> None:
    assert set(NON_DEFAULTS) == {f.name for f in fields(Settings)}, "a new setting needs a value here"
    settings = Settings.from_env({f"API_{name.upper()}": value for name, value in NON_DEFAULTS.items()})
    for name, value in NON_DEFAULTS.items():
        assert str(getattr(settings, name)).lower() == value, name


def test_empty_means_the_default() -> None:
    env = {f"API_{f.name.upper()}": " " for f in fields(Settings)}
    assert Settings.from_env(env) == Settings.from_env({})


@pytest.mark.parametrize(("env", "message"), [
    ({"API_MAX_N": "lots"}, "API_MAX_N='lots' is not a whole number; set it to 0..4000000000"),
    ({"API_MAX_N": "5000000000"}, "API_MAX_N=5000000000 is out of range; set it to 0..4000000000"),
    ({"API_PORT": "0"}, "API_PORT=0 is out of range"),
    ({"API_PORT": "http://10.96.0.12:8000"}, "API_PORT='http://10.96.0.12:8000' is not a whole number"),
    ({"API_PORT": "tcp://10.96.0.12"}, "API_PORT='tcp://10.96.0.12' is not a whole number"),
    ({"API_PORT": "8000/tcp", "PORT": "8080"}, "API_PORT='8000/tcp' is not a whole number"),
    ({"PORT": "x"}, "PORT='x' is not a whole number; set it to 1..65535 or unset it"),
    ({"PORT": "65536"}, "PORT=65536 is out of range; set it to 1..65535 or unset it"),
    ({"API_PORT": "tcp://10.96.0.12:8000", "PORT": "x"}, "PORT='x' is not a whole number"),
    ({"API_MAX_WAIT_S": "half"}, "API_MAX_WAIT_S='half' is not a number; set it to 0..60 or unset it"),
    ({"API_MAX_WAIT_S": "61"}, "API_MAX_WAIT_S=61 is out of range; set it to 0..60 or unset it"),
    ({"API_MAX_WAIT_S": "-0.1"}, "API_MAX_WAIT_S=-0.1 is out of range; set it to 0..60"),
    ({"API_MAX_WAIT_S": "nan"}, "API_MAX_WAIT_S=nan is out of range; set it to 0..60"),
    ({"API_ACCESS_LOG": "maybe"}, "API_ACCESS_LOG='maybe' is not a boolean"),
    ({"API_LOG_LEVEL": "loud"}, "API_LOG_LEVEL='loud' is not one of"),
])
def test_bad_values_say_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        Settings.from_env(env)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_an_old_name_stops_the_replica_and_names_the_new_one(old: str) -> None:
    with pytest.raises(SettingsError, match=f"^{old} is no longer read: rename {old} to API_{old} "):
        Settings.from_env({old: "1", f"API_{old}": "1"})


@pytest.mark.parametrize(("raw", "seconds"), [("0", 0.0), ("0.5", 0.5), (" 2 ", 2.0), ("1e-3", 0.001), ("60", 60.0)])
def test_the_wait_bound_reads_any_decimal_in_range(raw: str, seconds: float) -> None:
    assert Settings.from_env({"API_MAX_WAIT_S": raw}).max_wait_s == seconds


def test_the_job_count_bound_stops_the_replica_and_names_what_replaced_it() -> None:
    expected = (r"^API_MAX_QUEUE is no longer read: set API_MAX_WAIT_S instead \(in \.env, compose or the shell\), "
                r"the seconds a new /api request may wait .* \(default 0\.5\), not a number of jobs\.$")
    with pytest.raises(SettingsError, match=expected):
        Settings.from_env({"API_MAX_QUEUE": "16"})


def test_renamed_and_replaced_names_are_refused_together() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"ACCESS_LOG": "true", "API_MAX_QUEUE": "0"})
    message = str(error.value)
    assert message.startswith("ACCESS_LOG is no longer read: rename ACCESS_LOG to API_ACCESS_LOG ")
    assert "are all API_*. API_MAX_QUEUE is no longer read: set API_MAX_WAIT_S instead" in message


def test_every_old_name_is_listed_at_once() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"KEEP_ALIVE_S": "30", "ACCESS_LOG": "true", "API_MAX_N": "5", "HOST": "h"})
    assert str(error.value).startswith("ACCESS_LOG, KEEP_ALIVE_S are no longer read: rename "
                                       "ACCESS_LOG to API_ACCESS_LOG, KEEP_ALIVE_S to API_KEEP_ALIVE_S ")


def test_each_old_name_points_at_a_setting_that_exists() -> None:
    assert len(RENAMED) == 6
    assert set(REPLACED) == {"API_MAX_QUEUE"}
    assert set(IGNORED) == {"HOST", "LOG_LEVEL"}
    new_names = [*RENAMED.values(), *(new for new, _ in REPLACED.values()), *(f"API_{old}" for old in IGNORED)]
    assert {new.removeprefix("API_").lower() for new in new_names} <= {f.name for f in fields(Settings)}
    assert not {old.removeprefix("API_").lower() for old in REPLACED} & {f.name for f in fields(Settings)}


# --- what platforms set ------------------------------------------------------------------

@pytest.mark.parametrize(("env", "port"), [
    ({"PORT": "8080"}, 8080),
    ({"PORT": " 9000 ", "API_PORT": " "}, 9000),
    ({"PORT": ""}, 8000),
    ({"API_PORT": "9001", "PORT": "8080"}, 9001),
    ({"API_PORT": "9001", "PORT": "not read"}, 9001),
    (SERVICE_LINK | {"PORT": "8080"}, 8080),
    (SERVICE_LINK, 8000),
    ({"API_PORT": "udp://10.96.0.12:53", "PORT": "8080"}, 8080),
    ({"API_PORT": "tcp://[fd00:10:96::c]:8000"}, 8000),
    ({"API_PORT": "sctp://fd00:10:96::c:8000", "PORT": "8080"}, 8080),  # Kubernetes before brackets
    ({"API_PORT": "tcp://172.17.0.2:8000", "API_NAME": "/web/api"}, 8000),  # docker run --link
])
def test_the_port_is_api_port_else_port_else_the_default(env: dict[str, str], port: int) -> None:
    assert Settings.from_env(env).port == port


@pytest.mark.parametrize("old", sorted(IGNORED))
def test_a_platform_name_is_warned_about_and_changes_nothing(old: str) -> None:
    env = {old: "nonsense"}
    assert Settings.from_env(env) == Settings.from_env({})
    [warning] = ignored(env)
    assert warning.startswith(f"{old} is set but not read (platforms set it for their own use); ")
    assert f"API_{old} (default " in warning


def test_the_host_warning_says_where_the_replica_listens() -> None:
    assert ignored({"HOST": "0.0.0.0", "LOG_LEVEL": "info"}) == [  # noqa: S104
        "HOST is set but not read (platforms set it for their own use); "
        "the replica listens on API_HOST (default 0.0.0.0)",
        "LOG_LEVEL is set but not read (platforms set it for their own use); "
        "the replica logs at API_LOG_LEVEL (default info)",
    ]


@pytest.mark.parametrize("port", [{"PORT": "8080"}, {}])
def test_a_service_link_is_warned_about_with_what_to_do(port: dict[str, str]) -> None:
    [warning] = ignored(SERVICE_LINK | port)
    assert warning.startswith("API_PORT=tcp://10.96.0.12:8000 looks like a Kubernetes service link for a "
                              "Service named api, not a port: ignored")
    assert "Set enableServiceLinks: false in the pod spec, or set API_PORT to a number" in warning


@pytest.mark.parametrize("env", [{}, {"API_PORT": "9001", "PORT": "8080"}, {"PORT": "8080"},
                                 {f"API_{name.upper()}": value for name, value in NON_DEFAULTS.items()}])
def test_nothing_to_warn_about_without_platform_names(env: dict[str, str]) -> None:
    assert ignored(env) == []


def test_platform_names_are_not_refused() -> None:
    assert not {"PORT", *IGNORED} & set(RENAMED)
    Settings.from_env({"PORT": "8080", "HOST": "0.0.0.0", "LOG_LEVEL": "debug", **SERVICE_LINK})  # noqa: S104
