"""The acme image's own code that needs no certbot: its settings, the certificate folder
swap, how it finds nginx, what it judges nginx to serve, and its schedule. The rest runs
for real against pebble: tests/e2e/test_acme.py."""

from __future__ import annotations

import fcntl
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from acme_edge import certfiles, deploy, loop, nginx, served, settings

pytestmark = pytest.mark.unit

GOOD = {"ACME_DOMAINS": "Example.com, www.example.com", "ACME_EMAIL": "ops@example.com"}


def test_settings_default_to_lets_encrypt_production_every_12_hours() -> None:
    loaded = settings.load(GOOD)
    assert loaded.domains == ["example.com", "www.example.com"]
    assert (loaded.server, loaded.renew_interval_s, loaded.ca_bundle) == (settings.PRODUCTION, 12 * 3600, "")
    assert settings.load(GOOD | {"ACME_SERVER": "staging"}).server == settings.STAGING


def test_every_missing_setting_is_named_at_once() -> None:
    with pytest.raises(settings.SettingsError) as error:
        settings.load({"ACME_SERVER": "http://ca.example/dir", "ACME_RENEW_INTERVAL": "soon"})
    for name in ("ACME_DOMAINS", "ACME_EMAIL", "ACME_SERVER", "ACME_RENEW_INTERVAL"):
        assert name in str(error.value)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("30m", 1800), ("12h", 43200), ("1d", 86400)])
def test_renew_interval_units(text: str, seconds: float) -> None:
    assert settings.seconds(text) == seconds


@pytest.mark.parametrize("text", ["0", "-1h", "12 hours", ""])
def test_renew_interval_refuses_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(settings.SettingsError):
        settings.seconds(text)


def test_install_swaps_the_pair_in_one_step_and_keeps_only_the_new_one(tmp_path: Path) -> None:
    assert not certfiles.present(tmp_path)
    certfiles.install(tmp_path, b"chain 1", b"key 1")
    certfiles.install(tmp_path, b"chain 2", b"key 2")
    assert certfiles.present(tmp_path)
    assert (tmp_path / "fullchain.pem").read_bytes() == certfiles.read(tmp_path) == b"chain 2"
    assert (tmp_path / "privkey.pem").read_bytes() == b"key 2"
    (generation,) = tmp_path.glob(".gen-*")
    assert (tmp_path / "live").readlink() == Path(generation.name)
    assert {(path.name, path.stat().st_mode & 0o777) for path in generation.iterdir()} == {
        ("fullchain.pem", 0o600), ("privkey.pem", 0o600)}


def test_nginx_master_is_found_by_its_title(tmp_path: Path) -> None:
    for pid, title in [(7, b"nginx: master process nginx -g daemon off;"), (8, b"nginx: worker process"),
                       (9, b"python\x00-m\x00acme_edge")]:
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "cmdline").write_bytes(title)
    (tmp_path / "self").mkdir()
    assert nginx.masters(tmp_path) == [7]


def test_install_prunes_old_generations_but_never_the_one_live_points_to(tmp_path: Path) -> None:
    for name in (".gen-1", ".gen-2", ".gen-3"):
        (tmp_path / name).mkdir()
    (tmp_path / "live").symlink_to(".gen-2")  # swapped by an installer that took no lock
    certfiles.prune(tmp_path, keep=tmp_path / ".gen-3")
    assert sorted(path.name for path in tmp_path.glob(".gen-*")) == [".gen-2", ".gen-3"]


def test_install_waits_for_the_lock_another_installer_holds(tmp_path: Path) -> None:
    """certbot's deploy hook and the loop's sync may install at once: one waits for the other."""
    with open(tmp_path / certfiles.LOCK, "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        other = threading.Thread(target=certfiles.install, args=(tmp_path, b"chain", b"key"))
        other.start()
        other.join(0.3)
        assert other.is_alive() and not certfiles.present(tmp_path), "install went on under another's lock"
    other.join(10)
    assert certfiles.read(tmp_path) == b"chain"


def test_first_issuance_is_retried_soon_then_every_hour_and_renewals_on_the_interval() -> None:
    twelve_hours = 12 * 3600.0
    schedule = [loop.certbot_delay(failures, False, twelve_hours) for failures in range(1, 8)]
    assert schedule == [300, 600, 1200, 2400, 3600, 3600, 3600]
    # Let's Encrypt: 5 failed validations per name per hour. Tries at 0, 5, 15, 35, 75... min.
    tries = [0.0]
    for delay in schedule:
        tries.append(tries[-1] + delay)
    assert max(sum(start <= t < start + 3600 for t in tries) for start in tries) == 4
    assert loop.certbot_delay(0, False, twelve_hours) == twelve_hours  # the run after a success
    assert loop.certbot_delay(3, True, twelve_hours) == twelve_hours  # a failed renewal: 30 days to go
    assert loop.certbot_delay(5, False, 600) == 600  # never later than a short interval asks


def test_a_sync_that_finds_the_wrong_certificate_served_looks_again_soon_then_less_often() -> None:
    assert [loop.sync_delay(misses) for misses in range(8)] == [60, 30, 60, 120, 240, 480, 960, 1920]
    assert loop.sync_delay(20) == 3600


def make_pair(folder: Path, name: str) -> tuple[bytes, bytes]:
    """A self-signed certificate and its key, in PEM (openssl, as scripts/certs.sh)."""
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert.read_bytes(), key.read_bytes()


class FakeNginx:
    """A TLS listener on 127.0.0.1 that serves one certificate, as nginx's 8443 does."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()[:2]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            try:
                with self.context.wrap_socket(conn, server_side=True):
                    pass
            except OSError:
                continue

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)  # wakes accept(), which close() alone does not
        self.sock.close()
        self.thread.join(10)


@pytest.fixture
def edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """The acme container's paths in tmp_path, nginx serving an old certificate, and the
    lineage holding a new one; reloads are counted, not sent."""
    old, new = make_pair(tmp_path, "old"), make_pair(tmp_path, "new")
    fake = FakeNginx(tmp_path / "old.crt", tmp_path / "old.key")
    lineage, certs = tmp_path / "state" / "live" / "edge", tmp_path / "certs"
    lineage.mkdir(parents=True)
    certs.mkdir()
    reloads: list[int] = []

    def reload() -> int:
        reloads.append(1)
        return 7
    monkeypatch.setattr(deploy, "LINEAGE", lineage)
    monkeypatch.setattr(deploy, "CERTS", certs)
    monkeypatch.setattr(deploy, "NGINX_HTTPS", fake.address)
    monkeypatch.setattr(deploy, "SETTLE_S", 0.2)
    monkeypatch.setattr(nginx, "reload", reload)
    monkeypatch.setenv("ACME_DOMAINS", "edge.test")
    monkeypatch.setenv("ACME_EMAIL", "ops@edge.test")
    yield SimpleNamespace(old=old, new=new, lineage=lineage, certs=certs, reloads=reloads)
    fake.close()


def test_health_and_sync_judge_what_nginx_serves_not_its_files(edge: SimpleNamespace,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy.state("edge.test") is served.State.NOT_ISSUED
    (edge.lineage / "fullchain.pem").write_bytes(edge.new[0])
    (edge.lineage / "privkey.pem").write_bytes(edge.new[1])
    assert deploy.state("edge.test") is served.State.NOT_INSTALLED
    # The new pair in nginx's folder, and nginx still on the old one: a lost or refused reload.
    certfiles.install(edge.certs, *edge.new)
    assert deploy.state("edge.test") is served.State.NOT_SERVED
    assert loop.check() == 1
    assert "nginx serves another certificate" in capsys.readouterr().out
    assert deploy.sync("edge.test") is served.State.NOT_SERVED
    assert edge.reloads == [1], "SIGHUP sent again"


def test_health_is_good_once_nginx_serves_the_lineages_leaf(edge: SimpleNamespace) -> None:
    (edge.lineage / "fullchain.pem").write_bytes(edge.old[0] + edge.new[0])  # leaf first, then the chain
    (edge.lineage / "privkey.pem").write_bytes(edge.old[1])
    certfiles.install(edge.certs, edge.old[0] + edge.new[0], edge.old[1])
    assert loop.check() == 0
    assert deploy.sync("edge.test") is served.State.SERVED
    assert edge.reloads == []


def test_health_fails_when_nginx_does_not_answer_tls(edge: SimpleNamespace, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (edge.lineage / "fullchain.pem").write_bytes(edge.old[0])
    certfiles.install(edge.certs, edge.old[0], edge.old[1])
    closed = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setattr(deploy, "NGINX_HTTPS", closed.getsockname()[:2])
    closed.close()
    assert loop.check() == 1
    assert "cannot compare" in capsys.readouterr().out
