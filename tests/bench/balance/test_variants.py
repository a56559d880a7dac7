"""The stacks bench balance compares: the shipped upstream.conf with only its method line swapped."""

import json
import subprocess
from pathlib import Path

import pytest

from bench.balance.variants import SHIPPED, UPSTREAM, VARIANTS, shipped_method, with_method
from bench.settings import BenchError
from tests.conftest import ROOT

pytestmark = pytest.mark.unit

METHOD_LINES = ("least_conn;", "random two least_conn;", "")


@pytest.mark.parametrize("method", METHOD_LINES)
def test_a_variant_changes_the_method_line_and_nothing_else(method: str) -> None:
    shipped = UPSTREAM.read_text()
    swapped = with_method(shipped, method)
    assert shipped_method(swapped) == method
    # Every other line stays: the two files less their method lines (and blank lines) are the same.
    def rest(text: str) -> list[str]:
        return [line for line in text.splitlines() if line.strip() and line.strip() != shipped_method(text)]
    assert rest(swapped) == rest(shipped)


def test_round_robin_is_one_line_away_in_the_shipped_file() -> None:
    """upstream.conf's header: "delete that line for the article's round-robin"."""
    shipped = UPSTREAM.read_text()
    assert shipped_method(shipped) == "least_conn;"
    assert "delete that line for the article's round-robin" in shipped


def test_a_second_method_line_is_refused() -> None:
    with pytest.raises(BenchError, match="2 balancing methods"):
        shipped_method("upstream api {\n    least_conn;\n    ip_hash;\n}\n")


def test_every_variant_is_named_once_and_the_shipped_one_says_what_it_runs() -> None:
    assert len({v.slug for v in VARIANTS}) == len(VARIANTS)
    assert SHIPPED.label == "shipped: least_conn, two lanes"


@pytest.mark.config
def test_the_override_mounts_the_swapped_file_over_the_shipped_one(tmp_path: Path) -> None:
    variant = VARIANTS[0]
    files = variant.files(tmp_path)
    done = subprocess.run(["docker", "compose", "-f", "docker-compose.yml", "-f", "compose/many.yml",
                           *(a for f in files for a in ("-f", f)), "config", "--format", "json"],
                          cwd=ROOT, env={"SCALE": "2", "PATH": "/usr/bin:/bin:/usr/local/bin"},
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    mounts = {v["target"]: v["source"] for v in json.loads(done.stdout)["services"]["nginx"]["volumes"]}
    assert mounts["/etc/nginx/upstream.conf"] == str(tmp_path / f"nginx-{variant.slug}" / "upstream.conf")
    assert mounts["/etc/nginx"] == str(ROOT / "nginx"), "the rest of nginx/ is the shipped one"
    assert shipped_method((tmp_path / f"nginx-{variant.slug}" / "upstream.conf").read_text()) == ""
    assert variant.env() == {"API_LONG_JOB_S": "0"}


def test_the_round_robin_stack_comes_first_and_every_variant_sets_its_lanes() -> None:
    """command.py: the first variant's capacity sets every stack's rates: round-robin, one lane.
    An empty API_LONG_JOB_S is the replicas' default, whatever the shell exports."""
    assert VARIANTS[0].label == "round-robin, one lane" and VARIANTS[0].method == ""
    assert all("API_LONG_JOB_S" in v.env() for v in VARIANTS)
    assert SHIPPED.env() == {"API_LONG_JOB_S": ""}
