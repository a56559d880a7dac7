"""The stock nginx commands in the running container check and reload the project's config:
`docker compose exec nginx nginx -t` and `docker compose exec nginx nginx -s reload`, and the
make targets built on them.

The config files are edited here, so these tests run a second, small compose project on a
copy of the checkout (its own name and port; the api image the session stack built).
"""

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import ports
from tests.conftest import ROOT
from tests.e2e.conftest import Stack
from tests.wait import until

pytestmark = pytest.mark.e2e

# The shipped `keepalive N;` line, with a value nginx -t must refuse.
SHIPPED = re.search(r"keepalive \d+;", (ROOT / "nginx" / "upstream.conf").read_text())
BROKEN = (SHIPPED[0] if SHIPPED else "keepalive", "keepalive thirty-two;")


@pytest.fixture(scope="module")
def copy_stack(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """`stack` first: it builds the api image this project runs."""
    root = tmp_path_factory.mktemp("checkout")
    shutil.copy(ROOT / "docker-compose.yml", root)
    for folder in ("nginx", "service"):
        shutil.copytree(ROOT / folder, root / folder)
    copy = Stack("pycluster-ops", ports.OPS_HTTP, root=root)
    if (ROOT / ".env").exists():  # the base images compose resolves here (make offline-images)
        shutil.copy(ROOT / ".env", root / ".env")
    copy.compose("down", "--volumes", "--remove-orphans", "-t", "5")
    copy.compose("up", "-d", "--no-build", "--pull", "never", "--wait", "--scale", "api=2")
    copy.wait_serving(copy.replicas())
    yield copy
    copy.compose("down", "--volumes", "--remove-orphans", "-t", "10")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer contains {old!r}"
    path.write_text(text.replace(old, new))


def nginx(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    """The stock command, as an operator types it: no -c, no -e."""
    return stack.run("exec", "-T", "nginx", "nginx", *args, timeout=60)


def make(stack: Stack, target: str) -> subprocess.CompletedProcess[str]:
    compose = f"docker compose --project-directory {stack.root} -p {stack.project}"
    return subprocess.run(["make", "-C", str(ROOT), target, f"COMPOSE={compose}"], capture_output=True,
                          text=True, env=stack.env, timeout=120)


def health_body(stack: Stack) -> str:
    return httpx.get(f"{stack.base_url}/nginx-health", timeout=10).text


def test_stock_nginx_t_checks_the_project_config(copy_stack: Stack) -> None:
    upstream = copy_stack.root / "nginx" / "upstream.conf"
    shipped = nginx(copy_stack, "-t")
    dump = nginx(copy_stack, "-T")
    edit(upstream, *BROKEN)
    try:
        broken = nginx(copy_stack, "-t")
    finally:
        edit(upstream, *reversed(BROKEN))
    assert shipped.returncode == 0, shipped.stderr
    assert "/etc/nginx/nginx.conf test is successful" in shipped.stderr
    assert "server api:8000 resolve" in dump.stdout, "nginx -t tested some other config"
    assert broken.returncode != 0, "nginx -t passed a broken upstream.conf"
    assert 'invalid value "thirty-two" in "keepalive" directive in /etc/nginx/upstream.conf' in broken.stderr


def test_stock_reload_applies_an_edit_and_refuses_a_broken_config(copy_stack: Stack) -> None:
    site = copy_stack.root / "nginx" / "sites" / "api.conf"
    upstream = copy_stack.root / "nginx" / "upstream.conf"
    before = health_body(copy_stack)
    edit(site, """return 200 '{"status":"ok"}';""", """return 200 '{"status":"reloaded"}';""")
    try:
        reload = nginx(copy_stack, "-s", "reload")
        after, _ = until("the reload to apply the edit", lambda: health_body(copy_stack),
                         lambda body: body != before, 10, every_s=0.2,
                         describe=lambda body: f"still {body}; nginx -s reload: {reload.stderr}")
        edit(upstream, *BROKEN)
        try:
            broken_reload = nginx(copy_stack, "-s", "reload")
            broken_make = make(copy_stack, "reload")
            still = health_body(copy_stack)
        finally:
            edit(upstream, *reversed(BROKEN))
        good_make = make(copy_stack, "reload")
    finally:
        edit(site, """return 200 '{"status":"reloaded"}';""", """return 200 '{"status":"ok"}';""")
    assert reload.returncode == 0, reload.stderr
    assert (before, after) == ('{"status":"ok"}', '{"status":"reloaded"}'), "the reload did not apply the edit"
    assert broken_reload.returncode != 0 and "thirty-two" in broken_reload.stderr
    assert broken_make.returncode != 0 and "thirty-two" in broken_make.stderr, "make reload must check first"
    assert still == '{"status":"reloaded"}', "a refused reload must leave the running config serving"
    assert good_make.returncode == 0 and "reload: nginx reloaded" in good_make.stdout, good_make.stderr
