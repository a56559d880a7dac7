import socket

import pytest

from app.settings import Settings, SettingsError

pytestmark = pytest.mark.unit


def test_defaults_name_the_replica_after_the_host() -> None:
    settings = Settings.from_env({})
    assert settings.replica_id == socket.gethostname()
    assert settings.port == 8000
    assert settings.max_n == 10_000_000
    assert "*" not in settings.forwarded_allow_ips


def test_values_come_from_the_environment() -> None:
    settings = Settings.from_env({"REPLICA_ID": "r7", "API_MAX_N": "1000", "API_MAX_QUEUE": "3",
                                  "ACCESS_LOG": "true", "LOG_LEVEL": "DEBUG"})
    assert (settings.replica_id, settings.max_n, settings.max_queue) == ("r7", 1000, 3)
    assert settings.access_log is True
    assert settings.log_level == "debug"


@pytest.mark.parametrize(("env", "message"), [
    ({"API_MAX_N": "lots"}, "API_MAX_N='lots' is not a whole number; set it to 0..50000000"),
    ({"API_MAX_N": "60000000"}, "API_MAX_N=60000000 is out of range; set it to 0..50000000"),
    ({"PORT": "0"}, "PORT=0 is out of range"),
    ({"ACCESS_LOG": "maybe"}, "ACCESS_LOG='maybe' is not a boolean"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL='loud' is not one of"),
])
def test_bad_values_say_what_to_set(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        Settings.from_env(env)
