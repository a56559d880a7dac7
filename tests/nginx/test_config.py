"""nginx -t on the real config files, exactly as shipped, in the image the stack runs."""

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.config

NGINX_DIR = ROOT / "nginx"


def nginx(image: str, conf_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The stock `nginx ARGS` as the stack runs nginx: conf_dir at /etc/nginx (no -c), non-root,
    read-only root, /tmp writable."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-u", "101:101", "--mount", f"type=bind,source={conf_dir},target=/etc/nginx,readonly", image,
         "nginx", *args],
        capture_output=True, text=True, timeout=60)


def test_shipped_config_passes_nginx_t(nginx_image: str) -> None:
    result = nginx(nginx_image, NGINX_DIR, "-t")
    assert result.returncode == 0, result.stderr
    assert "/etc/nginx/nginx.conf test is successful" in result.stderr


def test_nginx_t_catches_a_broken_upstream_file(nginx_image: str, tmp_path: Path) -> None:
    broken = tmp_path / "nginx"
    shutil.copytree(NGINX_DIR, broken)
    upstream = broken / "upstream.conf"
    upstream.write_text(upstream.read_text().replace("keepalive 32;", "keepalive thirty-two;"))
    result = nginx(nginx_image, broken, "-t")
    assert result.returncode != 0
    assert 'invalid value "thirty-two"' in result.stderr


def test_the_image_nginx_supports_resolve(nginx_image: str) -> None:
    result = subprocess.run(["docker", "run", "--rm", nginx_image, "nginx", "-v"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    version = result.stderr
    major, minor, patch = (int(x) for x in version.split("/")[1].split()[0].split("."))
    assert (major, minor, patch) >= (1, 27, 3), f"`server ... resolve` needs nginx >= 1.27.3: {version}"


def test_the_image_sends_its_default_log_files_to_docker(nginx_image: str) -> None:
    """As the official image does; a stand-in from before local/nginx-base:sid-2 did not
    (rebuild it: make setup)."""
    result = subprocess.run(["docker", "run", "--rm", nginx_image, "readlink",
                             "/var/log/nginx/access.log", "/var/log/nginx/error.log"],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.split() == ["/dev/stdout", "/dev/stderr"], result.stdout + result.stderr


def test_the_official_images_entrypoint_finds_nothing_to_edit() -> None:
    """The official image's /docker-entrypoint.d scripts edit conf.d/default.conf (IPv6 listen)
    and render templates/ into conf.d/. With nginx/ at /etc/nginx, neither may exist here."""
    assert not (NGINX_DIR / "conf.d" / "default.conf").exists()
    assert not (NGINX_DIR / "templates").exists()


def test_upstream_file_stays_small_and_commented() -> None:
    lines = (NGINX_DIR / "upstream.conf").read_text().splitlines()
    directives = [line for line in lines if line.strip() and not line.strip().startswith("#")]
    comments = [line for line in lines if line.strip().startswith("#")]
    assert len(lines) <= 40, "ops edit this file: keep it short, move other settings to conf.d/"
    assert len(comments) >= len(directives), "each setting here needs its why for ops"
