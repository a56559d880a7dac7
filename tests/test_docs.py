"""The README stays short and its links lead somewhere: details live in docs/."""

import re

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.config

README = ROOT / "README.md"
# The guide's bound: what, the two commands, layout, run, output, the benchmark table.
README_MAX_CHARS = 10_000


def test_the_readme_is_short() -> None:
    assert len(README.read_text()) <= README_MAX_CHARS, "move details to a docs/ page and link it"


def test_the_readme_opens_with_the_benchmark_and_the_tests() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S)
    assert first_block
    assert [line.split()[:2] for line in first_block[1].splitlines()] == [["make", "bench"], ["make", "test"]]


PAGES = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES)
def test_every_local_link_exists(page: str) -> None:
    path = ROOT / page
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text())
    local = [t for t in targets if not re.match(r"\w+:", t)]
    missing = [t for t in local if not (path.parent / t).exists()]
    assert not missing, f"{page} links to files that do not exist: {missing}"
