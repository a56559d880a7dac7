"""The acme image's own code that needs no certbot: its settings, the certificate folder
swap and how it finds nginx. The rest runs for real against pebble: tests/e2e/test_acme.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from acme_edge import certfiles, nginx, settings

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
