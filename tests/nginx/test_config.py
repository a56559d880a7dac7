"""nginx -t on the real config files, exactly as shipped, in the image the stack runs."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.config

NGINX_DIR = ROOT / "nginx"


def nginx(image: str, conf_dir: Path, *args: str, limits: str | None = None, tls: str | None = None,
          certs: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The stock `nginx ARGS` as the stack runs nginx: conf_dir at /etc/nginx (no -c), non-root,
    read-only root, /tmp writable. `limits`, `tls`: mount limits-<limits>.conf over limits.conf
    (tls-<tls>.conf over tls.conf), as compose does; None: the folder as it is, as a plain nginx
    on it would read it. `certs`: the folder mounted at /etc/nginx/certs (TLS_CERTS)."""
    mounts = ["--mount", f"type=bind,source={conf_dir},target=/etc/nginx,readonly"]
    for name, mode in (("limits", limits), ("tls", tls)):
        if mode is not None:
            mounts += ["--mount", f"type=bind,source={conf_dir / f'{name}-{mode}.conf'},target=/etc/nginx/{name}.conf,"
                       "readonly"]
    if certs is not None:
        mounts += ["--mount", f"type=bind,source={certs},target=/etc/nginx/certs,readonly"]
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp",
         "-u", "101:101", *mounts, image, "nginx", *args],
        capture_output=True, text=True, timeout=60)


def directive_lines(dump: str) -> list[str]:
    """The directives of an `nginx -T` dump, comments and the file markers left out."""
    return [line.split("#")[0].strip() for line in dump.splitlines()
            if line.split("#")[0].strip() and not line.startswith("# configuration file")]


@pytest.mark.parametrize("limits", ["off", "on"])
def test_shipped_config_passes_nginx_t_with_either_limits_file(nginx_image: str, limits: str) -> None:
    result = nginx(nginx_image, NGINX_DIR, "-t", limits=limits)
    assert result.returncode == 0, result.stderr
    assert "/etc/nginx/nginx.conf test is successful" in result.stderr


@pytest.mark.parametrize(("limits", "applied"), [(None, False), ("off", False), ("on", True)])
def test_per_client_limits_apply_only_when_switched_on(nginx_image: str, limits: str | None,
                                                       applied: bool) -> None:
    """None is a plain nginx on the nginx/ folder, without compose: limits off."""
    result = nginx(nginx_image, NGINX_DIR, "-T", limits=limits)
    assert result.returncode == 0, result.stderr
    found = [d for d in directive_lines(result.stdout) if re.match(r"limit_(req|conn) ", d)]
    expected = ["limit_req zone=api_per_client burst=100 nodelay;", "limit_conn conn_per_client 128;"]
    assert found == (expected if applied else []), found


def test_nginx_t_catches_a_broken_upstream_file(nginx_image: str, tmp_path: Path) -> None:
    broken = tmp_path / "nginx"
    shutil.copytree(NGINX_DIR, broken)
    upstream = broken / "upstream.conf"
    upstream.write_text(re.sub(r"keepalive \d+;", "keepalive thirty-two;", upstream.read_text()))
    result = nginx(nginx_image, broken, "-t", limits="off")
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
    # One file per readlink: busybox's (alpine) takes one.
    script = "readlink /var/log/nginx/access.log; readlink /var/log/nginx/error.log"
    result = subprocess.run(["docker", "run", "--rm", nginx_image, "sh", "-c", script],
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
