"""nginx -t on the real config files, exactly as shipped, in the image the stack runs."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.config

NGINX_DIR = ROOT / "nginx"
CONF = "/etc/nginx/lb/nginx.conf"


def nginx_t(image: str, conf_dir: Path) -> subprocess.CompletedProcess[str]:
    """Run `nginx -t` as the stack runs nginx: non-root, read-only root, /tmp writable."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-u", "101:101", "-v", f"{conf_dir}:/etc/nginx/lb:ro", image,
         "nginx", "-t", "-e", "stderr", "-c", CONF],
        capture_output=True, text=True, timeout=60)


def test_shipped_config_passes_nginx_t(nginx_image: str) -> None:
    result = nginx_t(nginx_image, NGINX_DIR)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_nginx_t_catches_a_broken_upstream_file(nginx_image: str, tmp_path: Path) -> None:
    broken = tmp_path / "nginx"
    shutil.copytree(NGINX_DIR, broken)
    upstream = broken / "upstream.conf"
    upstream.write_text(upstream.read_text().replace("keepalive 32;", "keepalive thirty-two;"))
    result = nginx_t(nginx_image, broken)
    assert result.returncode != 0
    assert 'invalid value "thirty-two"' in result.stderr


def test_the_image_nginx_supports_resolve(nginx_image: str) -> None:
    result = subprocess.run(["docker", "run", "--rm", nginx_image, "nginx", "-v"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    version = result.stderr
    major, minor, patch = (int(x) for x in version.split("/")[1].split()[0].split("."))
    assert (major, minor, patch) >= (1, 27, 3), f"`server ... resolve` needs nginx >= 1.27.3: {version}"


def test_upstream_file_stays_small_and_commented() -> None:
    lines = (NGINX_DIR / "upstream.conf").read_text().splitlines()
    directives = [line for line in lines if line.strip() and not line.strip().startswith("#")]
    comments = [line for line in lines if line.strip().startswith("#")]
    assert len(lines) <= 40, "ops edit this file: keep it short, move other settings to conf.d/"
    assert len(comments) >= len(directives), "each setting here needs its why for ops"
    assert any("resolve" in line for line in directives), "replicas must be re-resolved at run time"
