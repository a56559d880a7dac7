"""NGINX_TLS: nginx -t with HTTPS on and off, and the rules that keep its files agreeing."""

import re
from pathlib import Path

import pytest

from tests import rules_kit
from tests.conftest import ROOT, dev_certs
from tests.nginx.test_config import NGINX_DIR, directive_lines, nginx

pytestmark = pytest.mark.config

HTTPS_LISTEN = "listen 8443 ssl default_server;"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway certificate, as `make certs` makes it."""
    return dev_certs(tmp_path_factory.mktemp("certs"))


@pytest.mark.parametrize("limits", ["off", "on"])
def test_tls_on_passes_nginx_t_and_adds_an_https_http2_listener(nginx_image: str, certs: Path, limits: str) -> None:
    result = nginx(nginx_image, NGINX_DIR, "-T", limits=limits, tls="on", certs=certs)
    assert result.returncode == 0, result.stderr
    directives = directive_lines(result.stdout)
    assert HTTPS_LISTEN in directives
    assert "http2 on;" in directives
    assert "return 308 https://$https_authority$request_uri;" in directives


@pytest.mark.parametrize("tls", [None, "off"])
def test_tls_off_has_no_https_listener_and_needs_no_certificate(nginx_image: str, tls: str | None) -> None:
    """None: a plain nginx on the folder, as shipped (no certificate anywhere)."""
    result = nginx(nginx_image, NGINX_DIR, "-T", tls=tls)
    assert result.returncode == 0, result.stderr
    assert not [d for d in directive_lines(result.stdout) if d.startswith(("listen 8443", "ssl_certificate "))]


def test_tls_on_without_a_certificate_fails_nginx_t_and_says_which_file(nginx_image: str, tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    result = nginx(nginx_image, NGINX_DIR, "-t", tls="on", certs=tmp_path)
    assert result.returncode != 0
    assert 'cannot load certificate "/etc/nginx/certs/fullchain.pem"' in result.stderr


def test_the_https_port_is_8443_in_nginx_compose_and_the_redirect() -> None:
    """The listener, the port compose publishes it from (and its default), and where plain
    HTTP on a development port sends clients must name the same port."""
    assert HTTPS_LISTEN.removesuffix(";").split()[1:] == rules_kit.nginx_one("listen", "tls-on.conf").split()
    ports = rules_kit.NGINX["ports"]
    assert "${HTTPS_BIND:-0.0.0.0}:${HTTPS_PORT-8443}:8443" in ports
    swarm = (ROOT / "compose" / "swarm-tls.yml").read_text()
    assert '{ target: 8443, published: "${HTTPS_PORT:-8443}"' in swarm
    tls_conf = (NGINX_DIR / "conf.d" / "tls.conf").read_text()
    assert re.search(r"~\^\(\?<name>\.\+\):\[0-9\]\+\$\s+\$name:8443;", tls_conf)


def blocks(text: str, opening: str) -> list[tuple[str, str]]:
    """Each `opening ... { body }` in nginx text as (its arguments, the body's own level:
    nested blocks left out), braces matched."""
    found = []
    for match in re.finditer(rf"(?m)^\s*{opening}\s+([^{{;]*)\{{", text):
        depth, own, i = 1, [], match.end()
        while depth:
            char = text[i]
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth == 1 and char != "}":
                own.append(char)
            i += 1
        found.append((match[1].strip(), "".join(own)))
    return found


def test_blocks_reads_a_location_own_level_only() -> None:
    text = "location @a {\n  if ($x) { add_header Y 1; }\n  add_header Z 2;\n}\nlocation /b { return 200; }"
    assert blocks(text, "location") == [("@a", "\n  if ($x) \n  add_header Z 2;\n"), ("/b", " return 200; ")]


def test_every_location_with_headers_of_its_own_repeats_hsts() -> None:
    """add_header in a location (or an `if` in it) drops every add_header of its server there:
    such a block must add HSTS itself, or HTTPS answers from it would lack it."""
    for conf in sorted(NGINX_DIR.glob("**/*.conf")):
        text = re.sub(r"#.*", "", conf.read_text())
        for kind in ("location", "if"):
            for name, own in blocks(text, kind):
                if "add_header" in own:
                    assert "add_header Strict-Transport-Security $hsts always;" in own, f"{conf.name}: {name}"


def test_the_server_sends_hsts_and_includes_the_tls_switch() -> None:
    assert "Strict-Transport-Security $hsts always" in rules_kit.nginx("add_header", "sites/api.conf")
    assert rules_kit.nginx("include", "sites/api.conf")[0] == "tls.conf"
    assert rules_kit.nginx("include", "tls.conf") == ["tls-off.conf"], "plain nginx on nginx/ must get TLS off"
