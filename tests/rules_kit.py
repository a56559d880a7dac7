"""Readers of the real files for the rules that span them (tests/test_rules.py,
tests/deploy/test_kubernetes.py): compose services, nginx directives, durations, the Dockerfile."""

import re
from typing import Any

import yaml

from app.settings import Settings
from tests.conftest import ROOT

DEFAULTS = Settings(replica_id="rules")


class ComposeLoader(yaml.SafeLoader):
    """PyYAML plus compose's merge tags (!reset, !override), read as plain values."""


def _untag(loader: ComposeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


ComposeLoader.add_multi_constructor("!", _untag)


def compose(path: str) -> dict[str, Any]:
    return yaml.load((ROOT / path).read_text(), Loader=ComposeLoader)["services"]  # noqa: S506 (a SafeLoader)


API = compose("docker-compose.yml")["api"]
NGINX = compose("docker-compose.yml")["nginx"]
WORKERS = compose("compose/workers.yml")["workers"]
SWARM = compose("compose/swarm.yml")


def seconds(duration: str) -> float:
    """A compose or nginx duration: 30s, 1m30s, 500ms; a bare number is seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "": 1}
    parts = re.findall(r"(\d+)(ms|s|m|h|)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"not a duration: {duration!r}"
    return sum(int(n) * units[u] for n, u in parts)


def nginx(name: str, path: str = "**/*.conf") -> list[str]:
    """The arguments of every `name ...;` directive in the nginx files, comments left out."""
    found = []
    for conf in sorted((ROOT / "nginx").glob(path)):
        text = re.sub(r"#.*", "", conf.read_text())
        found += [args.strip() for args in re.findall(rf"(?m)^\s*{name}\s+([^;]*);", text)]
    return found


def nginx_one(name: str, path: str = "**/*.conf") -> str:
    values = nginx(name, path)
    assert len(values) == 1, f"expected one {name} in nginx/{path}, found {values}"
    return values[0]


def dockerfile(instruction: str) -> list[str]:
    """The arguments of each INSTRUCTION in service/Dockerfile, continuation lines joined."""
    text = (ROOT / "service" / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in text.splitlines() if line.split()[:1] == [instruction]]
