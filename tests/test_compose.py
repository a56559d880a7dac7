"""docker compose config: the compose file and the benchmark profiles are valid and scalable."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from app.settings import Settings
from tests import ports
from tests.conftest import ROOT

pytestmark = pytest.mark.config


def config(*files: str, env: dict[str, str] | None = None) -> dict:
    args = ["docker", "compose", "--project-directory", str(ROOT)]
    for name in ("docker-compose.yml", *files):
        args += ["-f", str(ROOT / name)]
    result = subprocess.run([*args, "config", "--format", "json"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_api_can_be_scaled(docker: None) -> None:
    api = config()["services"]["api"]
    assert "container_name" not in api, "a fixed name breaks --scale"
    assert not api.get("ports"), "host ports on api break --scale; nginx is the only way in"
    assert api["init"] is True
    assert api["healthcheck"]["test"][0] == "CMD"
    assert api["stop_grace_period"] == "30s"


def test_an_empty_environment_leaves_every_api_setting_to_the_replica(docker: None, tmp_path: Path) -> None:
    """No API_* default in compose: each reaches the replica empty, and settings.py decides."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("API_")}
    (tmp_path / "empty.env").write_text("")
    args = ["docker", "compose", "--project-directory", str(ROOT), "--env-file", str(tmp_path / "empty.env")]
    for files in (["docker-compose.yml"], ["docker-compose.yml", "compose/workers.yml"]):
        paths = [arg for name in files for arg in ("-f", str(ROOT / name))]
        result = subprocess.run([*args, *paths, "config", "--format", "json"], capture_output=True, text=True,
                                timeout=60, env={**env, "SCALE": "2"})
        assert result.returncode == 0, result.stderr
        for name, service in json.loads(result.stdout)["services"].items():
            settings = {k: v for k, v in service.get("environment", {}).items() if k.startswith("API_")}
            assert not name.startswith(("api", "workers")) or settings, f"{name} passes no API_* setting"
            assert all(v == "" for v in settings.values()), f"{name} sets a default of its own: {settings}"


def test_nginx_waits_for_a_healthy_api_and_publishes_the_port(docker: None) -> None:
    nginx = config()["services"]["nginx"]
    assert nginx["depends_on"]["api"]["condition"] == "service_healthy"
    assert [p["target"] for p in nginx["ports"]] == [8080, 8443]


def test_profiles_set_the_replica_count(docker: None) -> None:
    assert config("compose/one.yml")["services"]["api"]["deploy"]["replicas"] == 1
    many = config("compose/many.yml", env={**os.environ, "SCALE": "5"})
    assert many["services"]["api"]["deploy"]["replicas"] == 5


def test_swarm_stack_file_is_read_by_docker_stack(docker: None) -> None:
    """What make swarm-up deploys: docker-compose.yml + compose/swarm.yml, as swarm reads it."""
    env = {**os.environ, "SWARM_LB_NODE": "node-1", "SCALE": "3", "HTTP_PORT": str(ports.SWARM_CONFIG_HTTP)}
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "swarm.py"), "config"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    api, nginx = services["api"], services["nginx"]
    assert api["deploy"]["replicas"] == 3
    assert api["deploy"]["endpoint_mode"] == "dnsrr", "nginx must see every task, not one VIP"
    assert api["deploy"]["update_config"]["order"] == "start-first"
    assert api["deploy"]["update_config"]["failure_action"] == "rollback"
    assert "build" not in api and "mem_limit" not in api
    assert nginx["ports"] == [{"mode": "host", "target": 8080, "published": ports.SWARM_CONFIG_HTTP, "protocol": "tcp"}]
    assert nginx["deploy"]["placement"]["constraints"] == ["node.id == node-1"]


LIMITS_TARGET = "/etc/nginx/limits.conf"


def limits_file(*files: str, limits: str | None = None) -> str:
    """Which nginx/limits-*.conf compose mounts at limits.conf, with NGINX_LIMITS=limits (None:
    unset). Neither the caller's environment nor .env may choose it: an empty env file."""
    env = {k: v for k, v in os.environ.items() if k != "NGINX_LIMITS"}
    env["SCALE"] = "2"  # compose/many.yml requires it
    if limits is not None:
        env["NGINX_LIMITS"] = limits
    args = ["docker", "compose", "--project-directory", str(ROOT), "--env-file", os.devnull]
    for name in ("docker-compose.yml", *files):
        args += ["-f", str(ROOT / name)]
    result = subprocess.run([*args, "config", "--format", "json"], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    mounts = json.loads(result.stdout)["services"]["nginx"]["volumes"]
    (mount,) = [m for m in mounts if m["target"] == LIMITS_TARGET]
    assert mount["type"] == "bind" and mount["read_only"] is True
    assert not mount.get("bind", {}).get("create_host_path"), "a typo must not create a directory"
    return mount["source"].removeprefix(str(ROOT / "nginx") + "/")


def test_nginx_config_is_mounted_at_the_default_path(docker: None) -> None:
    """So that the stock `nginx -t` and `nginx -s reload` in the container use it."""
    nginx = config()["services"]["nginx"]
    assert {"type": "bind", "source": str(ROOT / "nginx"), "target": "/etc/nginx", "read_only": True} \
        .items() <= next(m for m in nginx["volumes"] if m["target"] == "/etc/nginx").items()
    assert nginx["command"] == ["nginx", "-g", "daemon off;"], "no -c: the default path is ours"


def test_per_client_limits_are_off_by_default_and_on_with_the_switch(docker: None) -> None:
    assert limits_file() == "limits-off.conf"
    assert limits_file(limits="off") == "limits-off.conf"
    assert limits_file(limits="on") == "limits-on.conf"


@pytest.mark.parametrize("profile", ["compose/one.yml", "compose/many.yml"])
def test_benchmark_profiles_keep_limits_off_even_when_switched_on(docker: None, profile: str) -> None:
    assert limits_file(profile, limits="on") == "limits-off.conf"


@pytest.mark.parametrize(("limits", "expected"), [(None, "limits-off.conf"), ("on", "limits-on.conf")])
def test_swarm_stack_mounts_the_same_limits_file(docker: None, limits: str | None, expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NGINX_LIMITS"}
    env.update({"SWARM_LB_NODE": "node-1"} | ({"NGINX_LIMITS": limits} if limits else {}))
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "swarm.py"), "config"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    mounts = yaml.safe_load(result.stdout)["services"]["nginx"]["volumes"]
    assert {(m["target"], m.get("source")) for m in mounts} == {
        ("/etc/nginx", str(ROOT / "nginx")), (LIMITS_TARGET, str(ROOT / "nginx" / expected)), ("/tmp", None)}


def test_a_typo_in_the_switch_is_an_error_not_a_new_directory(nginx_image: str) -> None:
    project = "pycluster-typo-check"
    env = {**os.environ, "NGINX_LIMITS": "of", "NGINX_IMAGE": nginx_image, "HTTP_PORT": str(ports.TYPO_CHECK_HTTP)}
    compose = ["docker", "compose", "--project-directory", str(ROOT), "-p", project]
    try:
        # Creating the container is where Docker would make the missing source a directory.
        result = subprocess.run([*compose, "up", "--no-start", "--no-deps", "--no-build", "--pull", "never",
                                 "nginx"], capture_output=True, text=True, timeout=120, env=env)
    finally:
        subprocess.run([*compose, "down", "--volumes", "--remove-orphans"], capture_output=True, timeout=120, env=env)
    assert result.returncode != 0
    assert f"bind source path does not exist: {ROOT / 'nginx' / 'limits-of.conf'}" in result.stderr
    assert not (ROOT / "nginx" / "limits-of.conf").exists()


def swarm_services(**env: str) -> dict:
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "swarm.py"), "config"], capture_output=True,
                            text=True, timeout=60, env={**os.environ, "SWARM_LB_NODE": "node-1", **env})
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


MONITORING = {"prometheus", "nginx-exporter", "nginx-log-exporter"}


def test_monitoring_runs_only_with_its_profile_and_stays_local(docker: None) -> None:
    assert MONITORING.isdisjoint(config()["services"])
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_BIND"} | {"COMPOSE_PROFILES": "monitoring"}
    services = config(env=env)["services"]
    assert MONITORING <= services.keys()
    prometheus, exporter = services["prometheus"], services["nginx-exporter"]
    assert [(p["host_ip"], p["target"]) for p in prometheus["ports"]] == [("127.0.0.1", 9090)]
    assert "--web.enable-remote-write-receiver" in prometheus["command"], "k6 writes its metrics there"
    assert set(exporter["networks"]) == {"backend"} and not exporter.get("ports")


def test_swarm_deploys_monitoring_only_with_the_profile(docker: None) -> None:
    assert MONITORING.isdisjoint(swarm_services())
    services = swarm_services(COMPOSE_PROFILES="monitoring")
    assert MONITORING - services.keys() == {"nginx-log-exporter"}, "it reads the local engine's logs"
    assert services["prometheus"]["deploy"]["placement"]["constraints"] == ["node.id == node-1"]
    assert services["api"]["deploy"]["endpoint_mode"] == "dnsrr", "Prometheus finds each task by the name api"


def test_prometheus_finds_the_replicas_by_service_name_and_port() -> None:
    jobs = yaml.safe_load((ROOT / "monitoring" / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    (api,) = [job["dns_sd_configs"] for job in jobs if job["job_name"] == "api"]
    assert api == [{"names": ["api"], "type": "A", "port": Settings.port, "refresh_interval": "5s"}]
    assert "api" in yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def swarm_config(**env: str) -> subprocess.CompletedProcess[str]:
    """`scripts/swarm.py config` with NGINX_TLS and the certificate variables only as given."""
    unset = {"NGINX_TLS", "TLS_CERTS", "TLS_CERT", "TLS_KEY", "HTTPS_PORT"}
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "swarm.py"), "config"], capture_output=True,
                          text=True, timeout=60, env=base | {"SWARM_LB_NODE": "node-1", **env})


def test_swarm_with_tls_gets_the_certificate_as_secrets_and_publishes_8443(tmp_path: Path) -> None:
    """compose/swarm-tls.yml: NGINX_TLS=on adds HTTPS on 8443 (host mode), tls-on.conf, and the
    certificate and key as secrets where tls-on.conf reads them, nginx's own (uid 101)."""
    (tmp_path / "fullchain.pem").write_text("not read by the config")
    (tmp_path / "privkey.pem").write_text("nor this")
    result = swarm_config(NGINX_TLS="on", TLS_CERTS=str(tmp_path), HTTPS_PORT=str(ports.SWARM_CONFIG_HTTPS))
    assert result.returncode == 0, result.stderr
    stack = yaml.safe_load(result.stdout)
    nginx = stack["services"]["nginx"]
    assert [(p["target"], p["published"], p["mode"]) for p in nginx["ports"]] == \
        [(8080, 8080, "host"), (8443, ports.SWARM_CONFIG_HTTPS, "host")]
    mounts = {m["target"]: m for m in nginx["volumes"]}
    assert mounts["/etc/nginx/tls.conf"]["source"] == str(ROOT / "nginx" / "tls-on.conf")
    assert mounts["/etc/nginx/certs"]["type"] == "tmpfs", "the secrets' mount points, not in the checkout"
    tls_on = (ROOT / "nginx" / "tls-on.conf").read_text()
    secrets = {s["target"]: s for s in nginx["secrets"]}
    assert set(secrets) == {"/etc/nginx/certs/fullchain.pem", "/etc/nginx/certs/privkey.pem"}
    for target in secrets:
        assert f" certs/{Path(target).name};" in tls_on, f"tls-on.conf reads {target}"
    key = secrets["/etc/nginx/certs/privkey.pem"]
    assert (key["uid"], key["gid"], key["mode"]) == ("101", "101", 0o400)
    assert secrets["/etc/nginx/certs/fullchain.pem"]["mode"] in (0o440, 0o444)
    files = {s["source"]: stack["secrets"][s["source"]]["file"] for s in nginx["secrets"]}
    assert sorted(files.values()) == [str(tmp_path / "fullchain.pem"), str(tmp_path / "privkey.pem")]


def test_swarm_with_tls_takes_explicit_certificate_and_key_paths(tmp_path: Path) -> None:
    (tmp_path / "site.crt").write_text("c")
    (tmp_path / "site.key").write_text("k")
    result = swarm_config(NGINX_TLS="on", TLS_CERT=str(tmp_path / "site.crt"), TLS_KEY=str(tmp_path / "site.key"))
    assert result.returncode == 0, result.stderr
    secrets = yaml.safe_load(result.stdout)["secrets"]
    assert sorted(s["file"] for s in secrets.values()) == [str(tmp_path / "site.crt"), str(tmp_path / "site.key")]


def test_swarm_with_tls_off_needs_no_certificate_and_a_typo_is_an_error(tmp_path: Path) -> None:
    off = swarm_config(TLS_CERTS=str(tmp_path / "none-here"))
    assert off.returncode == 0, off.stderr
    assert "secrets" not in yaml.safe_load(off.stdout)
    typo = swarm_config(NGINX_TLS="of")
    assert typo.returncode != 0 and "NGINX_TLS=of is not a switch" in typo.stderr
    missing = swarm_config(NGINX_TLS="on", TLS_CERTS=str(tmp_path / "none-here"))
    assert missing.returncode != 0 and "fullchain.pem" in missing.stderr
