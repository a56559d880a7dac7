import pytest

from app.work import DEFAULT_N, sum_down

pytestmark = pytest.mark.unit


def test_default_job_is_the_articles_sum() -> None:
    assert DEFAULT_N == 823543
    assert sum_down() == 339111948196


@pytest.mark.parametrize("n", [0, 1, 2, 10, 12345])
def test_loop_agrees_with_gauss(n: int) -> None:
    assert sum_down(n) == n * (n + 1) // 2
