"""The acme profile in docker-compose.yml: off unless asked for, and as hardened as the rest."""

from __future__ import annotations

import os

import pytest

from tests.test_compose import config

pytestmark = pytest.mark.config

ACME = {"acme-init", "acme"}


def test_without_the_profile_nothing_of_acme_runs_and_nginx_needs_no_acme_init(docker: None) -> None:
    services = config(env={k: v for k, v in os.environ.items() if k != "COMPOSE_PROFILES"})["services"]
    assert ACME.isdisjoint(services)
    assert services["nginx"]["depends_on"]["acme-init"] == {
        "condition": "service_completed_successfully", "required": False}


def test_acme_services_are_hardened_and_reach_nginx_without_a_docker_socket(docker: None) -> None:
    services = config(env={**os.environ, "COMPOSE_PROFILES": "acme"})["services"]
    init, acme = services["acme-init"], services["acme"]
    for service in (init, acme):
        assert service["read_only"] and service["cap_drop"] == ["ALL"], service
        assert "no-new-privileges:true" in service["security_opt"]
        assert all("docker.sock" not in str(volume) for volume in service["volumes"])
    assert (init["user"], sorted(init["cap_add"]), init["network_mode"]) == ("0:0", ["CHOWN", "SETGID", "SETUID"],
                                                                              "none")
    assert (acme["user"], acme["pid"], acme.get("cap_add")) == ("101:101", "service:nginx", None)
    assert acme["depends_on"]["acme-init"]["condition"] == "service_completed_successfully"
