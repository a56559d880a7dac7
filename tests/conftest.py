"""Shared fixtures: the repo layout and the Docker gate used by config and e2e tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# `app` is installed into .venv (scripts/setup.sh); the scripts and the log exporter are
# on the path through pytest.ini's pythonpath.
ROOT = Path(__file__).resolve().parents[1]

IN_CI = os.environ.get("CI", "").lower() == "true"
# A host name for the TLS tests' certificate (dev_certs), reached on 127.0.0.1 (curl --resolve):
# nginx sends HSTS to a name, never to localhost or an address.
TLS_NAME = "api.pycluster.test"

# Every compose stack the tests start publishes nginx's HTTPS port too (docker-compose.yml),
# TLS on or off; empty picks a free one, so that stacks side by side never both ask for
# 8443. A test that needs a known HTTPS port sets its own.
os.environ["HTTPS_PORT"] = ""


def docker_problem() -> str | None:
    """Why Docker cannot be used here, or None when it can."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if info.returncode != 0:
        return f"the Docker engine does not answer: {info.stderr.strip()[-300:]}"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if compose.returncode != 0 or " v2." not in compose.stdout:
        return "docker compose v2 is missing"
    return None


@pytest.fixture(scope="session")
def docker() -> None:
    """Gate for tests that need Docker: a failure in CI, a loud skip on a laptop."""
    problem = docker_problem()
    if problem is None:
        return
    message = f"{problem}. Run `make setup` (installs and starts Docker, compose v2 and k6)."
    if IN_CI:
        pytest.fail(f"CI needs Docker and it is not usable: {message}", pytrace=False)
    pytest.skip(f"SKIPPED, NOT PASSED: {message}")


@pytest.fixture(scope="session")
def nginx_image(docker: None) -> str:
    """The nginx image the stack runs, as compose resolves it (.env included): scripts/images.py."""
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "images.py"), "NGINX_IMAGE"],
                            capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def dev_certs(folder: Path) -> Path:
    """What `make certs` makes (scripts/certs.sh), in `folder`, its CA in folder/ca:
    fullchain.pem and privkey.pem for localhost and TLS_NAME, and dev-ca.pem for clients."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)  # nginx runs as uid 101 (tmp_path folders are 0700)
    env = {**os.environ, "CA_DIR": str(folder / "ca"),
           "CERT_NAMES": f"DNS:localhost,DNS:{TLS_NAME},IP:127.0.0.1,IP:::1"}
    subprocess.run(["bash", str(ROOT / "scripts" / "certs.sh"), str(folder)], check=True, env=env,
                   capture_output=True, timeout=60)
    return folder
