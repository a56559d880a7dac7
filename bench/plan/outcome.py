"""What one simulation gives: each job class's latencies, and the requests shed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Outcome:
    """Latencies (seconds, client-side) of the jobs that arrived after the warm-up."""

    latencies: dict[str, list[float]]
    shed: dict[str, int]     # 503 to the client: every replica tried refused
    retried: int = 0         # requests nginx sent again after a replica shed them
    work_s: float = 0.0      # the CPU seconds of the served jobs

    @property
    def offered(self) -> int:
        return sum(len(v) for v in self.latencies.values()) + sum(self.shed.values())

    def served(self, label: str | None = None) -> list[float]:
        if label is not None:
            return self.latencies.get(label, [])
        return [x for values in self.latencies.values() for x in values]

    def percentiles_ms(self, qs: tuple[float, ...], label: str | None = None) -> list[float]:
        """Several percentiles of one list in one pass (a sort), in ms; NaN when none was served."""
        values = self.served(label)
        if not values:
            return [float("nan")] * len(qs)
        return [float(v) * 1000 for v in np.percentile(values, qs)]

    def percentile_ms(self, q: float, label: str | None = None) -> float:
        return self.percentiles_ms((q,), label)[0]

    @property
    def shed_share(self) -> float:
        return sum(self.shed.values()) / self.offered if self.offered else 0.0

    def merge(self, other: Outcome) -> Outcome:
        return Outcome({k: self.latencies.get(k, []) + other.latencies.get(k, [])
                        for k in {*self.latencies, *other.latencies}},
                       {k: self.shed.get(k, 0) + other.shed.get(k, 0) for k in {*self.shed, *other.shed}},
                       self.retried + other.retried, self.work_s + other.work_s)

    def mean_wait_s(self) -> float:
        """Mean time in the system less mean demand: the wait, where jobs run alone at full speed."""
        served = self.served()
        return (sum(served) - self.work_s) / len(served) if served else float("nan")
