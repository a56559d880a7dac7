"""make bench-cost's metrics part: the ratio of CPU with metrics on to off, and its line."""

import math

import pytest

from bench.studies.metrics_cost import TARGET, MetricsCost, implied_ratio, line, ratio_of

pytestmark = pytest.mark.unit


def test_the_ratio_is_of_totals_and_each_round_is_kept() -> None:
    ratio, rounds = ratio_of([1.0, 1.2, 1.1], [1.0, 1.0, 1.0])
    assert ratio == 1.1 and rounds == [1.0, 1.2, 1.1]
    ratio, rounds = ratio_of([1.0], [0.0])
    assert math.isnan(ratio) and math.isnan(rounds[0]), "no CPU off (too few requests for a tick): no ratio"


def test_the_target_is_named_for_the_articles_job_only() -> None:
    article = MetricsCost("article's job", "/api", 300, 36.0, 35.0, 1.029, [1.0, 1.05])
    cheap = MetricsCost("cheap job", "/api?n=1000", 12000, 0.6, 0.5, 1.2, [1.1, 1.3])
    assert line(article).endswith(f"(rounds 1.0-1.05); target <= {TARGET}")
    assert "target" not in line(cheap) and "= 1.2 " in line(cheap)


def test_the_fixed_cost_of_the_cheap_job_applies_to_the_articles() -> None:
    article = MetricsCost("article's job", "/api", 300, 33.0, 30.0, 1.1, [1.1])
    cheap = MetricsCost("cheap job", "/api?n=1000", 12000, 0.43, 0.40, 1.075, [1.075])
    assert cheap.fixed_ms == pytest.approx(0.03)
    assert implied_ratio(article, cheap) == 1.001
