"""Prometheus' HTTP API, as the monitoring tests read it. https://prometheus.io/docs/prometheus/latest/querying/api/"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.wait import T, until


class Prometheus:
    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=10)

    def _data(self, path: str, **params: str) -> dict:
        body = self.client.get(path, params=params).json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> dict[str, float]:
        """An instant query's result, by the value of its `instance` label (or "" without one):
        one sample per instance, or the query is not what the caller meant."""
        result = self._data("/api/v1/query", query=promql)["result"]
        values = {sample["metric"].get("instance", ""): float(sample["value"][1]) for sample in result}
        assert len(values) == len(result), f"{promql}: several series per instance: {result}"
        return values

    def series(self, promql: str) -> list[dict[str, str]]:
        """The label sets an instant query returns."""
        return [sample["metric"] for sample in self._data("/api/v1/query", query=promql)["result"]]

    def targets(self, job: str) -> dict[str, str]:
        """The job's active targets: instance -> health ("up", "down" or "unknown")."""
        active = self._data("/api/v1/targets", state="active")["activeTargets"]
        return {t["labels"]["instance"]: t["health"] for t in active if t["labels"]["job"] == job}

    def wait(self, what: str, read: Callable[[], T], done: Callable[[T], bool], timeout: float) -> tuple[T, float]:
        """Poll read() until done(value), on about the scrape's beat."""
        return until(what, read, done, timeout, every_s=0.5)
