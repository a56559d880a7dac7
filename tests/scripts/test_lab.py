"""scripts/lab.py: its arguments, settings and the docker run of each node."""

import pytest

from lab import ROOT, node_args, node_count, parse, registry, settings, socket

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("argv", "parsed"), [
    (["up"], ("up", [])), (["down"], ("down", [])), (["host"], ("host", [])),
    (["exec", "docker", "node", "ls"], ("exec", ["docker", "node", "ls"])),
    (["exec", "docker", "up"], ("exec", ["docker", "up"])),
])
def test_commands(argv: list[str], parsed: tuple[str, list[str]]) -> None:
    assert parse(argv) == parsed


@pytest.mark.parametrize(("argv", "message"), [
    ([], "usage: scripts/lab.py up|exec CMD...|host|down"), (["start"], "usage:"), (["up", "now"], "usage:"),
    (["exec"], "usage: scripts/lab.py exec COMMAND..."),
])
def test_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as raised:
        parse(argv)
    assert str(raised.value.code).startswith(f"lab: ERROR: {message}")


def test_the_manager_socket_and_registry_follow_the_lab_settings() -> None:
    assert socket({}) == "unix:///tmp/pycluster-lab/docker.sock"
    assert socket({"LAB_NAME": "x"}) == "unix:///tmp/x/docker.sock"
    assert socket({"LAB_NAME": "x", "LAB_DIR": "/run/y"}) == "unix:///run/y/docker.sock"
    assert registry({}) == "127.0.0.1:5000"
    assert registry({"LAB_REGISTRY_PORT": "15000"}) == "127.0.0.1:15000"


@pytest.mark.parametrize(("nodes", "count"), [("1", 1), ("3", 3), ("12", 12)])
def test_node_count(nodes: str, count: int) -> None:
    assert node_count(settings({"NODES": nodes})) == count


@pytest.mark.parametrize("nodes", ["0", "", "three", "-1", "03"])
def test_a_node_count_must_be_one_or_more(nodes: str) -> None:
    with pytest.raises(SystemExit, match=f"NODES={nodes} is not a number of nodes"):
        node_count(settings({"NODES": nodes}))


def test_the_manager_publishes_nginx_and_shares_its_socket() -> None:
    lab = settings({"LAB_NAME": "t", "HTTP_PORT": "18590", "HTTP_BIND": "127.0.0.1"})
    args = node_args(lab, 1)
    assert args[:6] == ["docker", "run", "-d", "--name", "t-1", "--hostname"]
    assert "127.0.0.1:18590:18590" in args and "/tmp/t:/run/lab" in args
    assert args[args.index("pycluster-lab-node:local") + 1:] == [
        "--host", "unix:///var/run/docker.sock", "--host", "unix:///run/lab/docker.sock", "--cgroup-parent", "/t-1"]


def test_a_worker_publishes_nothing() -> None:
    args = node_args(settings({"LAB_NAME": "t"}), 2)
    assert "-p" not in args and "/tmp/t:/run/lab" not in args
    assert args[args.index("pycluster-lab-node:local") + 1:] == [
        "--host", "unix:///var/run/docker.sock", "--cgroup-parent", "/t-2"]
    assert {"--label", "pycluster.lab=t", "--network", "t", f"{ROOT}:{ROOT}:ro", "t-2:/var/lib/docker",
            "LAB_REGISTRY=t-registry"} <= set(args)
    assert "--privileged" not in args, "fails on VMs without CAP_SYS_RESOURCE"
