import socket
from dataclasses import fields

import pytest

from app.settings import RENAMED, REPLACED, Settings, SettingsError

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
        Settings.from_env({"LOG_LEVEL": "debug", "API_MAX_QUEUE": "0"})
    message = str(error.value)
    assert message.startswith("LOG_LEVEL is no longer read: rename LOG_LEVEL to API_LOG_LEVEL ")
    assert "are all API_*. API_MAX_QUEUE is no longer read: set API_MAX_WAIT_S instead" in message


def test_every_old_name_is_listed_at_once() -> None:
    with pytest.raises(SettingsError) as error:
        Settings.from_env({"KEEP_ALIVE_S": "30", "LOG_LEVEL": "debug", "API_MAX_N": "5"})
    assert str(error.value).startswith("LOG_LEVEL, KEEP_ALIVE_S are no longer read: rename "
                                       "LOG_LEVEL to API_LOG_LEVEL, KEEP_ALIVE_S to API_KEEP_ALIVE_S ")


def test_each_old_name_points_at_a_setting_that_exists() -> None:
    assert len(RENAMED) == 9
    assert set(REPLACED) == {"API_MAX_QUEUE"}
    new_names = [*RENAMED.values(), *(new for new, _ in REPLACED.values())]
    assert {new.removeprefix("API_").lower() for new in new_names} <= {f.name for f in fields(Settings)}
    assert not {old.removeprefix("API_").lower() for old in REPLACED} & {f.name for f in fields(Settings)}
