"""The nginx log exporter reading a log that grows, rotates, restarts: nothing lost or counted twice."""

import os
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from nginx_log_exporter.exporter import Exporter
from tests.monitoring.fakes import NGINX_ID, access, add_container, append, docker_line, value

pytestmark = pytest.mark.unit


def rotate(log: Path, keep: int) -> None:
    """What dockerd does with max-file=keep+1: .1 to .2 and so on, the oldest deleted."""
    log.with_name(f"{log.name}.{keep}").unlink(missing_ok=True)
    for n in range(keep - 1, 0, -1):
        if log.with_name(f"{log.name}.{n}").exists():
            log.with_name(f"{log.name}.{n}").rename(log.with_name(f"{log.name}.{n + 1}"))
    log.rename(log.with_name(f"{log.name}.1"))


def test_starts_at_the_end_of_an_existing_log(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    append(log, docker_line(access()), docker_line(access()))
    exporter.scan()
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 0
    append(log, docker_line(access(status=404)))
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="404") == 1
    assert value(registry, "nginx_log_lines_total") == 1


def test_recreated_nginx_is_read_from_its_start(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    old = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(old, docker_line(access()))
    exporter.poll()
    for path in sorted(old.parent.iterdir()):
        path.unlink()
    old.parent.rmdir()
    new = add_container(root, "f" * 64, "nginx")
    append(new, docker_line(access()), docker_line(access()))
    exporter.scan()
    exporter.poll()
    assert list(exporter.logs) == ["f" * 64]
    assert value(registry, "nginx_log_requests_total", status="200") == 3


def test_a_new_container_is_read_with_what_it_rotated_before_we_saw_it(
        root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    exporter.scan()  # no nginx yet
    log = add_container(root, NGINX_ID, "nginx")
    append(log, docker_line(access(status=201)))
    rotate(log, keep=2)
    append(log, docker_line(access(status=202)))
    rotate(log, keep=2)
    append(log, docker_line(access(status=203)))
    exporter.scan()
    exporter.poll()
    assert [value(registry, "nginx_log_requests_total", status=s) for s in ("201", "202", "203")] == [1, 1, 1]


def test_a_container_stopped_when_we_started_is_read_from_its_end(
        root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx", running=False)
    append(log, docker_line(access()))  # from before we started
    exporter.scan()
    config = log.parent / "config.v2.json"
    config.write_text(config.read_text().replace('"Running": false', '"Running": true'))
    append(log, docker_line(access(status=404)))
    exporter.scan()
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 1
    assert value(registry, "nginx_log_requests_total", status="404") == 1


def test_restart_goes_on_where_it_left_off(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, docker_line(access()))
    config = log.parent / "config.v2.json"
    stopped = config.read_text().replace('"Running": true', '"Running": false')
    config.write_text(stopped)
    exporter.scan()  # stopped, still followed: a restart must not read the file again
    config.write_text(stopped.replace('"Running": false', '"Running": true'))
    exporter.scan()
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 1


def test_rotation_loses_and_repeats_nothing(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, docker_line(access()))
    exporter.poll()
    append(log, docker_line(access()))  # written before the rename, read after it
    log.rename(log.with_name(log.name + ".1"))
    append(log, docker_line(access()), docker_line(access()))
    exporter.poll()
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 4


@pytest.mark.parametrize("rotations", [2, 3, 4])
def test_several_rotations_between_reads(root: Path, exporter: Exporter, registry: CollectorRegistry,
                                         rotations: int) -> None:
    """max-file=3 keeps .1 and .2: the file we were reading is gone after 3 rotations, and
    from 4 on, lines are lost that no one can read any more."""
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, docker_line(access()))
    for batch in range(rotations):
        rotate(log, keep=2)
        append(log, *[docker_line(access(status=210 + batch))] * 2)
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 1 + 2 * min(rotations, 3)
    assert value(registry, "nginx_log_requests_total", status="200") == 1
    for batch in range(max(0, rotations - 3), rotations):
        assert value(registry, "nginx_log_requests_total", status=str(210 + batch)) == 2


def test_truncated_log_is_read_from_its_start(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    append(log, docker_line(access()), docker_line(access()))
    exporter.poll()
    log.write_bytes(docker_line(access(status=500)))
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="500") == 1
    assert value(registry, "nginx_log_lines_total") == 3


def test_partial_last_line_waits_for_its_newline(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    line = docker_line(access())
    append(log, line[:40])
    exporter.poll()
    assert value(registry, "nginx_log_lines_total") == 0
    append(log, line[40:])
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="200") == 1
    assert value(registry, "nginx_log_parse_errors_total") == 0


def test_message_split_by_docker_is_joined(root: Path, exporter: Exporter, registry: CollectorRegistry) -> None:
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    message = access()
    append(log, docker_line(message[:30], newline=False), docker_line(message[30:]))
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="200") == 1
    assert value(registry, "nginx_log_lines_total") == 1


def test_lines_written_just_before_the_rename_are_read(root: Path, exporter: Exporter, registry: CollectorRegistry,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """dockerd writes and rotates between our read of the old file and our look at the path."""
    log = add_container(root, NGINX_ID, "nginx")
    exporter.scan()
    real_stat = os.stat

    def rotate_then_stat(path: Path) -> os.stat_result:
        monkeypatch.setattr(os, "stat", real_stat)
        append(log, docker_line(access(status=201)))
        log.rename(log.with_name(log.name + ".1"))
        append(log, docker_line(access()))
        return real_stat(path)

    monkeypatch.setattr(os, "stat", rotate_then_stat)
    exporter.poll()
    assert value(registry, "nginx_log_requests_total", status="201") == 1
    assert value(registry, "nginx_log_lines_total") == 2
