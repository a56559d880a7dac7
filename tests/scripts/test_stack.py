"""scripts/stack.py: compose's render of the two files, made into what the stack loader takes."""

import copy
import json
from pathlib import Path

import pytest

from stack import copy_name, for_swarm, mirrored, stack_file

pytestmark = pytest.mark.unit

TMPFS = {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": "16777216"}}


def rendered() -> dict:
    """The shape of `docker compose -f docker-compose.yml -f compose/swarm.yml config --format json`."""
    return {
        "name": "pycluster-swarm",
        "services": {
            "api": {"image": "pycluster-api:local", "command": None, "entrypoint": None,
                    "deploy": {"replicas": 1, "endpoint_mode": "dnsrr"}, "volumes": [TMPFS]},
            "nginx": {"image": "local/nginx-base:sid-2", "command": ["nginx", "-g", "daemon off;"],
                      "ports": [{"mode": "host", "target": 8080, "published": "18701", "protocol": "tcp"}],
                      "volumes": [{"type": "bind", "source": "/repo/nginx", "target": "/etc/nginx"}, TMPFS]},
            "prometheus": {"image": "prom/prometheus:v3.5.0", "profiles": ["monitoring"],
                           "volumes": [{"type": "volume", "source": "prometheus-data", "target": "/prometheus"}]},
            "nginx-log-exporter": {"image": "pycluster-nginx-log-exporter:local", "profiles": ["monitoring"]},
            "grafana": {"image": "grafana/grafana-oss:12.2.0", "profiles": ["grafana"],
                        "volumes": [{"type": "volume", "source": "grafana-data", "target": "/var/lib/grafana"}]},
        },
        "networks": {"backend": {"name": "pycluster-swarm_backend", "internal": True}},
        "volumes": {"prometheus-data": {"name": "pycluster-swarm_prometheus-data"},
                    "grafana-data": {"name": "pycluster-swarm_grafana-data"}},
    }


def test_drops_what_the_stack_loader_refuses() -> None:
    config = for_swarm(rendered(), 4)
    assert "name" not in config, "the stack name comes from docker stack deploy"
    assert set(config["services"]) == {"api", "nginx", "prometheus"}, "compose-only services stay out"
    assert all("profiles" not in service for service in config["services"].values())
    assert {"command", "entrypoint"}.isdisjoint(config["services"]["api"]), "null is no string"
    assert config["services"]["nginx"]["command"] == ["nginx", "-g", "daemon off;"]
    assert config["networks"] == rendered()["networks"]


def test_types_ports_and_tmpfs_sizes_as_the_loader_wants() -> None:
    services = for_swarm(rendered(), 4)["services"]
    assert services["nginx"]["ports"] == [{"mode": "host", "target": 8080, "published": 18701, "protocol": "tcp"}]
    assert services["api"]["volumes"] == [{"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 16777216}}]
    assert services["nginx"]["volumes"][0] == {"type": "bind", "source": "/repo/nginx", "target": "/etc/nginx"}


def test_keeps_only_the_volumes_a_deployed_service_uses() -> None:
    assert set(for_swarm(rendered(), 4)["volumes"]) == {"prometheus-data"}


@pytest.mark.parametrize("scale", [0, 3, 12])
def test_scale_sets_the_api_replicas_over_the_compose_file(scale: int) -> None:
    deploy = for_swarm(rendered(), scale)["services"]["api"]["deploy"]
    assert deploy == {"replicas": scale, "endpoint_mode": "dnsrr"}


def test_without_scale_no_replica_count_is_set() -> None:
    config = rendered()
    del config["services"]["api"]["deploy"]["replicas"]
    assert for_swarm(config, None)["services"]["api"]["deploy"] == {"endpoint_mode": "dnsrr"}
    assert "replicas" not in for_swarm(rendered(), None)["services"]["api"]["deploy"]


def test_leaves_its_input_as_it_was() -> None:
    config = rendered()
    for_swarm(config, 4)
    mirrored(config, "127.0.0.1:5000")
    assert config == rendered()


def test_mirrors_every_image_but_the_api_to_the_registry() -> None:
    config, copies = mirrored(for_swarm(rendered(), 4), "127.0.0.1:15000")
    assert copies == {"local/nginx-base:sid-2": "127.0.0.1:15000/nginx-base:sid-2",
                      "prom/prometheus:v3.5.0": "127.0.0.1:15000/prometheus:v3.5.0"}
    assert {name: s["image"] for name, s in config["services"].items()} == {
        "api": "pycluster-api:local", "nginx": "127.0.0.1:15000/nginx-base:sid-2",
        "prometheus": "127.0.0.1:15000/prometheus:v3.5.0"}


@pytest.mark.parametrize(("image", "copy"), [
    ("nginx:1.30-alpine", "r:5000/nginx:1.30-alpine"),
    ("registry.example:5000/team/nginx:1", "r:5000/nginx:1"),
])
def test_a_copy_keeps_the_last_part_of_the_name(image: str, copy: str) -> None:
    assert copy_name(image, "r:5000") == copy


def test_the_stack_file_escapes_dollars_the_loader_would_interpolate() -> None:
    config = copy.deepcopy(for_swarm(rendered(), 2))
    config["services"]["api"]["environment"] = {"PRICE": "$5", "REF": "${HOME}"}
    text = stack_file(config)
    assert '"$$5"' in text and '"$${HOME}"' in text
    assert json.loads(text.replace("$$", "$")) == config


def with_tls(folder: Path) -> dict:
    """The render with NGINX_TLS=on: compose/swarm-tls.yml's secrets and port added."""
    config = rendered()
    (folder / "fullchain.pem").write_text("CERT")
    (folder / "privkey.pem").write_text("KEY")
    nginx = config["services"]["nginx"]
    nginx["ports"].append({"mode": "host", "target": 8443, "published": "18702", "protocol": "tcp"})
    nginx["secrets"] = [{"source": "tls-fullchain", "target": "/etc/nginx/certs/fullchain.pem", "mode": "0444"},
                        {"source": "tls-privkey", "target": "/etc/nginx/certs/privkey.pem", "mode": "0400"}]
    config["secrets"] = {name: {"name": f"pycluster-swarm_{name}", "file": str(folder / file)}
                         for name, file in (("tls-fullchain", "fullchain.pem"), ("tls-privkey", "privkey.pem"))}
    return config | {"x-nginx-tls": "on"}


def test_secret_modes_are_numbers_and_the_switch_is_left_out(tmp_path: Path) -> None:
    config = for_swarm(with_tls(tmp_path), 2)
    assert "x-nginx-tls" not in config, "compose/swarm.yml's switch is for scripts/stack.py only"
    assert [s["mode"] for s in config["services"]["nginx"]["secrets"]] == [0o444, 0o400]
    assert [p["published"] for p in config["services"]["nginx"]["ports"]] == [18701, 18702]
    assert "secrets" not in for_swarm(rendered(), 2), "TLS off: no secret at all"


def test_a_secret_is_named_after_its_bytes_so_a_renewal_is_a_new_secret(tmp_path: Path) -> None:
    """Swarm refuses to change a secret: a renewed certificate under the same name would fail the deploy."""
    config = with_tls(tmp_path)
    before = {k: s["name"] for k, s in for_swarm(config, 2)["secrets"].items()}
    assert before["tls-fullchain"].startswith("pycluster-swarm_tls-fullchain-")
    assert for_swarm(config, 2)["secrets"]["tls-fullchain"]["name"] == before["tls-fullchain"], "same bytes, same name"
    (tmp_path / "fullchain.pem").write_text("RENEWED")
    after = {k: s["name"] for k, s in for_swarm(config, 2)["secrets"].items()}
    assert after["tls-fullchain"] != before["tls-fullchain"] and after["tls-privkey"] == before["tls-privkey"]
    assert for_swarm(config, 2)["secrets"]["tls-fullchain"]["file"] == str(tmp_path / "fullchain.pem")


def test_a_missing_certificate_file_is_named_with_what_to_do(tmp_path: Path) -> None:
    config = with_tls(tmp_path)
    (tmp_path / "privkey.pem").unlink()
    with pytest.raises(ValueError, match=r"cannot read .*privkey.pem for the secret pycluster-swarm_tls-privkey: "
                                         r"No such file or directory\. With NGINX_TLS=on: make certs"):
        for_swarm(config, 2)

