"""The nginx log exporter against a fake Docker containers dir: discovery, parsing, metrics."""

import logging
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from nginx_log_exporter.exporter import Exporter
from nginx_log_exporter.metrics import Metrics
from nginx_log_exporter.settings import Settings
from tests.monitoring.fakes import NGINX_ID, PROJECT, SELF_ID, access, add_container, append, docker_line, value

pytestmark = pytest.mark.unit


def test_follows_running_nginx_of_its_own_project_only(root: Path, exporter: Exporter) -> None:
    add_container(root, NGINX_ID, "nginx")
    add_container(root, "b" * 64, "nginx", project="other")
    add_container(root, "c" * 64, "nginx", running=False)
    add_container(root, "d" * 64, "api")
    exporter.scan()
    assert list(exporter.logs) == [NGINX_ID]


def test_finds_itself_by_hostname_without_mountinfo(root: Path, registry: CollectorRegistry,
                                                    tmp_path: Path) -> None:
    add_container(root, NGINX_ID, "nginx")
    exporter = Exporter(Settings(containers_dir=root), Metrics(registry), tmp_path / "none", SELF_ID[:12])
    exporter.scan()
    assert list(exporter.logs) == [NGINX_ID]
    exporter.close()


def test_mountinfo_wins_over_a_hostname_that_names_another_container(root: Path, exporter: Exporter) -> None:
    add_container(root, NGINX_ID, "nginx", hostname="x")  # compose `hostname: x` on nginx
    exporter.scan()
    assert list(exporter.logs) == [NGINX_ID]


def test_missing_dir_says_what_to_mount_and_keeps_going(tmp_path: Path, registry: CollectorRegistry,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    exporter = Exporter(Settings(containers_dir=tmp_path / "absent"), Metrics(registry), tmp_path / "m", "x")
    with caplog.at_level(logging.WARNING):
        exporter.scan()
        exporter.scan()
    assert len(caplog.records) == 1, "a problem is logged once, not on every scan"
    assert "DOCKER_CONTAINERS_DIR" in caplog.text and "read-only" in caplog.text


def test_no_nginx_yet_names_service_and_project(exporter: Exporter, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        exporter.scan()
    assert "'nginx'" in caplog.text and f"'{PROJECT}'" in caplog.text
    assert exporter.logs == {}


def test_retry_counts_one_request_two_tries_by_first_status(root: Path, exporter: Exporter,
                                                            registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    # ", " separates tries in one proxy_pass; " : " the error_page round (@second_try).
    append(log, docker_line(access(addr="172.18.0.3:8000, 172.18.0.4:8000", upstream_status="503, 200",
                                   times="0.001, 0.250")),
           docker_line(access(addr="172.18.0.3:8000 : 172.18.0.5:8000", upstream_status="502 : 200",
                              times="0.002 : 0.040")),
           docker_line(access()))
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="200") == 3
    assert value(registry, "nginx_log_retried_requests_total", first_status="503") == 1
    assert value(registry, "nginx_log_retried_requests_total", first_status="502") == 1
    assert value(registry, "nginx_log_upstream_tries_total", upstream="172.18.0.3:8000") == 3
    assert value(registry, "nginx_log_upstream_tries_total", upstream="172.18.0.4:8000") == 1
    assert value(registry, "nginx_log_upstream_response_seconds_sum", upstream="172.18.0.4:8000") == 0.25
    assert value(registry, "nginx_log_upstream_response_seconds_sum", upstream="172.18.0.3:8000") == 0.007
    assert value(registry, "nginx_log_upstream_response_seconds_bucket", upstream="172.18.0.5:8000",
                 le="0.025") == 0
    assert value(registry, "nginx_log_request_seconds_count") == 3
    assert value(registry, "nginx_log_lines_total") == 3


def test_no_response_and_nginx_only_answers(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, docker_line(access(status=503, addr="172.18.0.3:8000 : api", upstream_status="504 : 502",
                                   times="- : 0.000")),
           docker_line(access(status=429, addr="", upstream_status="", times="")))
    exporter.poll()
    assert value(registry, "nginx_log_retried_requests_total", first_status="504") == 1
    assert value(registry, "nginx_log_upstream_tries_total", upstream="other") == 1  # no live upstream
    assert value(registry, "nginx_log_upstream_response_seconds_count", upstream="172.18.0.3:8000") == 0
    assert value(registry, "nginx_log_requests_total", status="429") == 1
    assert value(registry, "nginx_log_parse_errors_total") == 0


def test_labels_stay_bounded(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, *(docker_line(access(addr=f"172.18.0.{i}:8000")) for i in range(5)),
           docker_line(access(addr="unix:/tmp/x.sock")), docker_line(access(status=999, addr="172.18.0.0:8000")))
    exporter.poll()
    assert value(registry, "nginx_log_upstream_tries_total", upstream="other") == 3  # limit 3, socket
    assert value(registry, "nginx_log_requests_total", status="other") == 1


def test_garbage_is_a_parse_error_and_stderr_is_skipped(root: Path, exporter: Exporter,
                                                         registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, b"not json\n", docker_line("plain text on stdout"), docker_line('{"status": 200}'),
           docker_line("2026/11/29 11:00:00 [error] 7#7: *1 connect() failed", stream="stderr"),
           docker_line(access()))
    exporter.poll()
    assert value(registry, "nginx_log_parse_errors_total") == 3
    assert value(registry, "nginx_log_lines_total") == 4
    assert value(registry, "nginx_log_requests_total", status="200") == 1


def test_settings_from_env() -> None:
    settings = Settings.from_env({"DOCKER_CONTAINERS_DIR": "/mnt/c", "NGINX_SERVICE": "proxy", "EXPORTER_PORT": "9"})
    assert (settings.containers_dir, settings.nginx_service, settings.port) == (Path("/mnt/c"), "proxy", 9)
    with pytest.raises(SystemExit, match="not a number"):
        Settings.from_env({"SCAN_INTERVAL_S": "often"})
