"""The exporter against a fake containers dir (tests/conftest.py makes its package importable)."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from nginx_log_exporter.exporter import Exporter
from nginx_log_exporter.metrics import Metrics
from nginx_log_exporter.settings import Settings
from tests.monitoring.fakes import SELF_ID, add_container


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "containers"
    add_container(root, SELF_ID, "nginx-log-exporter")
    return root


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def exporter(root: Path, registry: CollectorRegistry, tmp_path: Path) -> Iterator[Exporter]:
    mountinfo = tmp_path / "mountinfo"
    # The line Docker's bind mount of our own hostname file leaves in /proc/self/mountinfo.
    mountinfo.write_text(f"1201 1190 8:1 /var/lib/docker/containers/{SELF_ID}/hostname /etc/hostname "
                         "rw,relatime - ext4 /dev/sda1 rw\n")
    made = Exporter(Settings(containers_dir=root), Metrics(registry, upstream_limit=3), mountinfo, hostname="x")
    yield made
    made.close()
